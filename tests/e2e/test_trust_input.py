"""Bounded input and fair use, end to end: oversized bodies, where the bot token
may go, one outsider against the RapidWorkers budget, one sync per burst of
"Post pending" clicks, who may post the digest or look up a Wonolo worker,
links that cannot be disguised, owner-only database files."""

from __future__ import annotations

import io
import os
import re
import select
import socket
import sqlite3
import stat
import threading
from urllib.parse import urlsplit

import pytest
import requests
import sqlite_utils
from werkzeug.wrappers import Response

from bot.app import MAX_BODY_BYTES, create_bolt_app, create_wsgi_app
from bot.rw.fair_use import USER_CALLS_PER_MINUTE
from bot.slack import ids
from sandbox.loopback import LoopbackServer
from sandbox.rapidworkers import Sandbox
from sandbox.slack_workspace.server import SlackStandin
from storage import submissions as subs
from storage.db import migrate
from tests.bot.rw.test_rw_command import PNG, RW, _number, _value, open_view, text_of
from tests.bot.rw.test_rw_command import ui as rw_ui
from tests.bot.wonolo_desk.test_wonolo_desk import command as wonolo_command
from tests.bot.wonolo_desk.test_wonolo_desk import wbot, wposter  # noqa: F401  (fixtures; `wonolo` is tests/conftest.py's)
from tests.support.harness import BotProcess, bot_env, wait_for
from tests.support.mrkdwn_check import parsed_text
from tests.support.slack_requests import SlackPoster, block_actions_body, sign, slash_command_body

BIG = 20 * 1024 * 1024
OUTSIDER = "U_MALLORY"  # not in the review channel, not in GIGDESK_ALLOWED_USERS


# --------------------------------------------------------------------------- stand-ins


class FileOriginStandin(SlackStandin):
    """The Slack stand-in, plus files whose url_private is on another origin
    (ids starting FFOREIGN), on http://files.slack.com (FPLAINHTTP), or that
    redirect to another origin from Slack's (FREDIRECT)."""

    foreign: str = ""

    def _file_urls(self, file_id: str, name: str) -> tuple[str, str]:
        if file_id.startswith("FPLAINHTTP"):  # Slack's file host, but over plain http
            base = f"http://files.slack.com/files-pri/{self.team_id}-{file_id}"
            return f"{base}/{name}", f"{base}/download/{name}"
        if file_id.startswith("FFOREIGN"):
            return f"{self.foreign}/files-pri/{file_id}/{name}", f"{self.foreign}/files-pri/{file_id}/download/{name}"
        return super()._file_urls(file_id, name)

    def _download(self, request, rest: str):
        if "FREDIRECT" in rest:
            return Response(status=302, headers={"Location": f"{self.foreign}/files-pri/{rest}"})
        return super()._download(request, rest)


class HostileImageSandbox(Sandbox):
    """RapidWorkers whose image URLs carry a `|` and a `>` when hostile_images is set."""

    hostile_images = False

    def _submission_json(self, s):
        data = super()._submission_json(s)
        if self.hostile_images:
            for n, image in enumerate(data.get("images") or [], 1):
                url = f"https://evil.example/{n}.png|Claim your payout here>"
                image.update({k: url for k in image if k in ("url", "thumbnailUrl", "thumbnail_url")})
        return data


class RecordingServer:
    """Another origin on loopback: records each request's headers, serves a PNG."""

    def __init__(self):
        self.requests: list[dict] = []
        self._loop = LoopbackServer(self._app, name="foreign-origin")
        self.url = ""

    def _app(self, environ, start_response):
        self.requests.append({k: v for k, v in environ.items() if k.startswith("HTTP_")})
        start_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(PNG)))])
        return [PNG]

    def __enter__(self):
        self.url = self._loop.start("127.0.0.1", 0)
        return self

    def __exit__(self, *exc):
        self._loop.stop()


@pytest.fixture
def slack():
    standin = FileOriginStandin()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def sandbox():
    sim = HostileImageSandbox(demo_data=False)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def rw(bot, slack):
    driver = RW(bot, slack)
    yield driver
    driver.poster.session.close()


# --------------------------------------------------------------------------- 1. request bodies over 1 MiB


def _raw_request(port: int, path: str, headers: dict[str, str]) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode("ascii"))
    return sock


def _status_of(sock: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1])


@pytest.mark.parametrize("path", ["/slack/events", "/wonolo/webhook"])
def test_declared_oversized_body_is_refused_before_any_of_it_is_sent(make_bot, path):
    """Content-Length 20 MiB: 413 right after the headers; 0 body bytes were read."""
    bot = make_bot(WONOLO_API_KEY="pk_test_x", WONOLO_SECRET_KEY="sk_test_x", WONOLO_BASE_URL="http://127.0.0.1:9")
    sock = _raw_request(bot.server.effective_port, path, {"Content-Type": "application/json", "Content-Length": str(BIG)})
    with sock:
        readable, _, _ = select.select([sock], [], [], 5)  # old code: waits for the whole body
        assert readable, "no answer before the body was sent"
        assert _status_of(sock) == 413
    # The figure: the answer came with 0 of the 20 MiB sent.


def test_chunked_oversized_body_is_refused_near_the_cap(bot):
    """No Content-Length (chunked): the 413 comes once the cap is passed, not after 20 MiB."""
    sock = _raw_request(bot.server.effective_port, "/slack/events",
                        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    piece = b"x" * 65536
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    sent = 0
    status = None
    with sock:
        while sent < BIG:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(frame)
            except OSError:  # the server closed the connection after its answer
                break
            sent += len(piece)
        if select.select([sock], [], [], 5)[0]:
            status = _status_of(sock)
    assert status == 413
    assert sent < BIG // 2, f"{sent} bytes were sent before the refusal"
    print(f"chunked: refused after the client had sent {sent:,} of {BIG:,} bytes")


class CountingInput(io.RawIOBase):
    """A wsgi.input of `size` bytes that counts what the app reads."""

    def __init__(self, size: int):
        self.size, self.read_bytes = size, 0

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.read_bytes
        n = left if n is None or n < 0 else min(n, left)
        self.read_bytes += n
        return b"x" * n


@pytest.mark.parametrize("declared", [True, False])
def test_the_wsgi_app_reads_at_most_the_cap(bot, declared):
    """Behind any WSGI server (waitress refuses earlier): with Content-Length
    over the cap nothing is read; without one, at most cap + 1 bytes."""
    app = create_wsgi_app(bot.gigdesk, create_bolt_app(bot.gigdesk))
    stream = CountingInput(BIG)
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "wsgi.input": stream,
               "CONTENT_TYPE": "application/json"}
    if declared:
        environ["CONTENT_LENGTH"] = str(BIG)
    statuses = []
    app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    assert statuses[0].startswith("413")
    assert stream.read_bytes == (0 if declared else MAX_BODY_BYTES + 1)


def test_body_of_exactly_the_cap_is_still_read(bot):
    """The cap is 1 MiB inclusive: such a body is read and judged by its signature (401 unsigned)."""
    poster = SlackPoster(bot.events_url)
    try:
        body = b'{"pad":"' + b"x" * (MAX_BODY_BYTES - 10) + b'"}'
        assert len(body) == MAX_BODY_BYTES
        assert poster.post(body, "application/json", sign_it=False).status_code == 401
        assert poster.post(body + b" ", "application/json", sign_it=False).status_code == 413
    finally:
        poster.session.close()


def test_signed_command_is_answered_while_big_bodies_arrive(bot, slack):
    """Oversized unsigned bodies sent at the same time do not hold up a signed command."""
    stop = threading.Event()
    refused = []

    def flood():
        while not stop.is_set():
            sock = _raw_request(bot.server.effective_port, "/slack/events",
                                {"Content-Type": "application/json", "Content-Length": str(BIG)})
            with sock:
                try:
                    sock.sendall(b"x" * 65536)
                    refused.append(_status_of(sock))
                except OSError:
                    refused.append("closed")

    floods = [threading.Thread(target=flood, daemon=True) for _ in range(4)]
    for t in floods:
        t.start()
    try:
        wait_for(lambda: len(refused) >= 4)
        poster = SlackPoster(bot.events_url, standin=slack)
        url = slack.response_url("help-during-flood", channel="C_REVIEW", user="U_ALICE")
        r = poster.post(slash_command_body("/rw", "help", response_url=url))
        assert r.status_code == 200
        assert "/rw balance" in text_of(wait_for(lambda: slack.responses("help-during-flood"))[-1]["payload"])
        poster.session.close()
    finally:
        stop.set()
        for t in floods:
            t.join(timeout=10)
    assert 413 in refused


def test_waitress_limits(bot):
    """Connections, idle time, header and body size are bounded (see README: Limits and fair use)."""
    adj = bot.server.adj
    assert adj.max_request_body_size == MAX_BODY_BYTES + 1
    assert adj.connection_limit <= 200 and adj.channel_timeout <= 15 and adj.max_request_header_size <= 65536


# --------------------------------------------------------------------------- 2. the bot token goes only to Slack


def _campaign_values(file_id: str) -> dict:
    return {
        rw_ui.NEW_TITLE_BLOCK: _value("Rate our app"),
        rw_ui.NEW_DESCRIPTION_BLOCK: _value("Install and rate"),
        rw_ui.NEW_PAY_BLOCK: _number("0.5"),
        rw_ui.NEW_AVAILABILITIES_BLOCK: _number("10"),
        rw_ui.NEW_PROOF_BLOCK: _value("Screenshot of the rating"),
        rw_ui.NEW_CATEGORY_BLOCK: _value("Apps"),
        rw_ui.NEW_IMAGE_BLOCK: {rw_ui.INPUT: {"type": "file_input",
                                              "files": [{"id": file_id, "name": "logo.png", "mimetype": "image/png"}]}},
    }


def _submit_campaign(rw, slack, file_id: str) -> str:
    view = open_view(rw, slack, "new")
    before = len(slack.ephemerals("U_ALICE"))
    assert rw.submit(ids.NEW_CAMPAIGN_MODAL, _campaign_values(file_id), view).status_code == 200
    return text_of(wait_for(lambda: slack.ephemerals("U_ALICE")[before:])[0])


@pytest.mark.parametrize("file_id", ["FFOREIGN1", "FREDIRECT1"])
def test_image_on_another_origin_is_not_fetched_with_the_token(rw, slack, sandbox, file_id):
    """url_private on another origin, or a redirect there from Slack's: that
    origin never sees the token (it is not contacted at all); nothing is offered."""
    with RecordingServer() as foreign:
        slack.foreign = foreign.url
        slack.add_file(file_id, PNG, name="logo.png", mimetype="image/png")
        reply = _submit_campaign(rw, slack, file_id)
        assert [r for r in foreign.requests if "HTTP_AUTHORIZATION" in r] == []
        assert foreign.requests == []  # not even without the token: a redirect elsewhere is refused
    assert "Confirm" not in reply and ("Slack's file server" in reply or "not on Slack" in reply), reply
    assert sandbox.count(path_contains="/jobs/add") == 0


def test_the_token_never_goes_to_slacks_file_host_over_plain_http(rw, slack, sandbox, monkeypatch):
    """https only: url_private on http://files.slack.com (Slack's host, the wrong scheme)
    is refused without contacting it. Plain-http requests of this process go to a
    recording proxy on loopback, so even a broken check stays on this machine, and the
    proxy would see the token."""
    with RecordingServer() as proxy:
        for name in ("HTTP_PROXY", "http_proxy"):
            monkeypatch.setenv(name, proxy.url)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.setenv(name, "127.0.0.1,localhost")  # the bot, the stand-in, the simulator
        slack.add_file("FPLAINHTTP1", PNG, name="logo.png", mimetype="image/png")
        reply = _submit_campaign(rw, slack, "FPLAINHTTP1")
        assert proxy.requests == [], proxy.requests
    assert "Confirm" not in reply and "Slack's file server" in reply, reply
    assert sandbox.count(path_contains="/jobs/add") == 0


def test_image_on_slacks_origin_is_downloaded_with_the_token(rw, slack, sandbox):
    slack.add_file("F0LOGO", PNG, name="logo.png", mimetype="image/png")
    reply = _submit_campaign(rw, slack, "F0LOGO")
    assert "Confirm" in reply
    [download] = slack.calls_to("files.download")
    assert download.token == slack.token


# --------------------------------------------------------------------------- 3. one outsider cannot starve everyone


def _flood(bot, slack, user: str, texts: list[str], prefix: str) -> list[str]:
    """Send each /rw text as `user`; return every reply's text, in order."""
    poster = SlackPoster(bot.events_url, standin=slack)
    try:
        for n, text in enumerate(texts):
            url = slack.response_url(f"{prefix}-{n}", channel="C_REVIEW", user=user)
            assert poster.post(slash_command_body("/rw", text, user_id=user, response_url=url)).status_code == 200
    finally:
        poster.session.close()
    wait_for(lambda: all(slack.responses(f"{prefix}-{n}") for n in range(len(texts))), timeout=60)
    return [text_of(slack.responses(f"{prefix}-{n}")[-1]["payload"]) for n in range(len(texts))]


def _review_and_approve(bot, slack, sandbox, campaign) -> int:
    sid = sandbox.add_submission(campaign)
    assert bot.review.sync().posted == 1
    row = subs.get(bot.db, sid)
    poster = SlackPoster(bot.events_url, standin=slack)
    try:
        assert poster.click(ids.REVIEW_APPROVE, str(sid), message_ts=row.ts, user_id="U_ALICE").status_code == 200
    finally:
        poster.session.close()
    wait_for(lambda: sandbox.submission(sid)["status"] == "Approved")
    return sid


def test_thousand_commands_from_an_outsider_spend_a_handful_of_requests(bot, slack, sandbox):
    campaign = sandbox.add_campaign("Follow us", pay="0.40")
    texts = ["balance", "campaigns", f"campaign {campaign}", "campaigns active"] * 250
    replies = _flood(bot, slack, OUTSIDER, texts, "outsider")
    spent = sandbox.count()
    print(f"1,000 commands from an outsider -> {spent} RapidWorkers requests")
    assert spent <= USER_CALLS_PER_MINUTE
    assert any("try again in" in r and " s." in r for r in replies)
    # cached answers are still given once the allowance is used up, and cost nothing
    assert "$1,000.00" in _flood(bot, slack, OUTSIDER, ["balance"], "outsider-after")[0]
    assert sandbox.count() == spent
    # reviewers and the sync are unaffected
    sandbox.reset_log()
    _review_and_approve(bot, slack, sandbox, campaign)


def test_reserve_is_left_for_decisions_and_the_sync(make_bot, slack, sandbox):
    """A 120/hour budget: commands stop at 96; the sync (108) and decisions (120) go on."""
    bot = make_bot(GIGDESK_RW_HOURLY_LIMIT="120")
    campaign = sandbox.add_campaign("Follow us", pay="0.40")
    replies = []
    for n in range(10):  # ten users, each within their own allowance
        replies += _flood(bot, slack, f"U_OUT{n}", [f"campaign {campaign}"] * 10, f"out{n}")
    assert sandbox.count() == 96
    assert sum("budget used up" in r for r in replies) == 4
    sandbox.reset_log()
    sid = _review_and_approve(bot, slack, sandbox, campaign)  # sync 2 requests, approve 1: into the reserve
    assert sandbox.count(path_contains="/approve/") == 1 and sandbox.submission(sid)["status"] == "Approved"
    sandbox.reset_log()
    bot.review.sync()
    assert sandbox.count() <= 2  # the sync goes on, inside the reserve
    sandbox.reset_log()
    assert bot.review.sync().campaigns_changed == 0 and sandbox.count() == 1  # an idle cycle: exactly one request
    assert "budget used up" in _flood(bot, slack, "U_LATE", [f"campaign {campaign}"], "late")[0]


# --------------------------------------------------------------------------- 4. Post pending for review


def _clicks(bot, slack, user: str, campaign: str, n: int, prefix: str) -> list[str]:
    """n "Post pending for review" clicks sent at once, each from its own thread; their replies."""
    bodies = []
    for k in range(n):
        url = slack.response_url(f"{prefix}-{k}", channel="C_REVIEW", user=user)
        bodies.append(block_actions_body(ids.CAMPAIGN_POST_PENDING, campaign, user_id=user, message_ts="1700000000.000100",
                                         response_url=url, is_ephemeral=True))
    threads = [threading.Thread(target=lambda b=b: requests.post(bot.events_url, data=b, headers=sign(b), timeout=10))
               for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_for(lambda: all(slack.responses(f"{prefix}-{k}") for k in range(n)), timeout=30)
    return [text_of(slack.responses(f"{prefix}-{k}")[-1]["payload"]) for k in range(n)]


def test_concurrent_post_pending_clicks_run_one_sync(bot, slack, sandbox):
    campaign = sandbox.add_campaign("Review us", pay="0.30")
    sandbox.add_submission(campaign)
    sandbox.set_latency(0.5, "/api/campaigns/")  # a sync that takes a while: the clicks overlap it
    replies = _clicks(bot, slack, "U_ALICE", campaign, 10, "pp")
    syncs = len([r for r in sandbox.requests if r.path == "/api/campaigns/"])
    print(f"10 concurrent Post pending clicks -> {syncs} sync(s)")
    assert syncs == 1
    assert all("Posted 1 new" in r for r in replies), replies
    assert len([m for m in slack.messages("C_REVIEW") if m.metadata]) == 1


def test_post_pending_is_for_allowed_users(bot, slack, sandbox):
    campaign = sandbox.add_campaign("Review us", pay="0.30")
    sandbox.add_submission(campaign)
    [reply] = _clicks(bot, slack, OUTSIDER, campaign, 1, "pp-out")
    assert "not allowed" in reply and sandbox.count() == 0
    assert bot.db.execute("SELECT outcome FROM audit WHERE user_id = ? AND action = 'post-pending'",
                          [OUTSIDER]).fetchall() == [("refused",)]


# --------------------------------------------------------------------------- 5. digest and /wonolo worker


def test_rw_digest_needs_an_allowed_user_and_is_audited(bot, slack, sandbox):
    before = len(slack.messages("C_REVIEW"))
    [refused] = _flood(bot, slack, OUTSIDER, ["digest"], "digest-out")
    assert "not allowed" in refused and len(slack.messages("C_REVIEW")) == before and sandbox.count() == 0
    [posted] = _flood(bot, slack, "U_ALICE", ["digest"], "digest-in")
    assert "Posted the digest" in posted and len(slack.messages("C_REVIEW")) == before + 1
    audit = bot.db.execute("SELECT user_id, outcome FROM audit WHERE action = 'digest' ORDER BY id").fetchall()
    assert audit == [(OUTSIDER, "refused"), ("U_ALICE", "posted")]


def test_wonolo_worker_lookup_is_for_allowed_users(wbot, wonolo, slack, wposter):  # noqa: F811
    wonolo.add_user(first_name="Tom", last_name="Becker", email="tom@example.com")
    text, _ = wonolo_command(wposter, slack, "worker tom@example.com", user=OUTSIDER)
    assert "allowed users only" in text and "Tom Becker" not in text
    text, _ = wonolo_command(wposter, slack, "worker nobody@example.com", user=OUTSIDER)
    assert "allowed users only" in text and "No worker" not in text  # the same answer either way
    text, _ = wonolo_command(wposter, slack, "worker tom@example.com")
    assert "Tom Becker" in text


# --------------------------------------------------------------------------- 6. no disguised links


LINK = re.compile(r"<([^<>|]*)\|([^<>]*)>")


def test_pipe_or_angle_bracket_in_an_image_url_cannot_disguise_a_link(bot, slack, sandbox):
    sandbox.hostile_images = True
    campaign = sandbox.add_campaign("Follow us")
    sid = sandbox.add_submission(campaign, images=7)  # 1 shown large, 6 as numbered links (and small thumbnails)
    assert bot.review.sync().posted == 1
    message = slack.message("C_REVIEW", subs.get(bot.db, sid).ts)
    links = [(url, label) for url, label in LINK.findall(parsed_text(message.blocks, message.text))
             if not url.startswith("!")]  # date tokens are ours
    assert len(links) == 6
    for url, label in links:
        assert re.fullmatch(r"\d", label), label  # the label is ours, never text from the URL
        assert urlsplit(url).hostname == "evil.example" and "|" not in url and ">" not in url


# --------------------------------------------------------------------------- 7. owner-only database files


def test_database_files_are_owner_only_whatever_the_umask(make_bot, slack, tmp_path):
    old = os.umask(0)
    try:
        bot = make_bot()
        assert "Posted the digest" in _flood(bot, slack, "U_ALICE", ["digest"], "perm")[0]  # writes to the database
        bot.review.sync()
    finally:
        os.umask(old)
    files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir() if p.name.startswith("gigdesk.db")}
    assert set(files) >= {"gigdesk.db", "gigdesk.db-wal", "gigdesk.db-shm"}
    assert files == {name: 0o600 for name in files}, {k: oct(v) for k, v in files.items()}


def test_an_existing_world_readable_database_is_tightened_when_the_bot_starts(slack, sandbox, tmp_path):
    """An install whose gigdesk.db, -wal and -shm are 0644 (made before the rule, or
    copied in): `gigdesk poll` leaves all three 0600."""
    db_path = tmp_path / "gigdesk.db"
    earlier = sqlite3.connect(db_path)  # an earlier install, in WAL mode; kept open so -wal and -shm stay
    try:
        earlier.execute("PRAGMA journal_mode=WAL")
        migrate(sqlite_utils.Database(earlier))
        files = [tmp_path / f"gigdesk.db{suffix}" for suffix in ("", "-wal", "-shm")]
        for path in files:
            os.chmod(path, 0o644)
        poll = BotProcess(bot_env(slack, sandbox, str(db_path)), "poll", workdir=tmp_path)
        assert poll.wait() == 0, poll.output()
        modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    finally:
        earlier.close()
    assert modes == {p.name: oct(0o600) for p in files}, modes
