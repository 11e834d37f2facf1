"""Socket Mode end to end: the real `gigdesk serve` (SLACK_APP_TOKEN set) against the Slack
stand-in's Socket Mode server, plus the serve path in-process (SocketBot) where a test needs
many envelopes. The flows shared with HTTP mode run over both transports in their own files
(the `transport` fixture); here: what only Socket Mode has.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import threading
import time

import pytest
import requests

from bot.slack import ids
from tests.support.harness import BotProcess, SocketBot, bot_env, free_port, wait_for
from tests.support.slack_requests import SIGNING_SECRET, SocketPoster, envelope_of, slash_command_body


def socket_env(slack, sandbox, tmp_path, **overrides: str) -> dict[str, str]:
    env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), SLACK_APP_TOKEN=slack.app_token, PORT=str(free_port()),
                  GIGDESK_POLL_SECONDS="1", GIGDESK_FORENSICS="off", **overrides)
    del env["SLACK_SIGNING_SECRET"]  # Socket Mode needs none
    return env


def serve(env: dict[str, str], tmp_path) -> BotProcess:
    return BotProcess(env, "serve", workdir=tmp_path).wait_healthy()


def review_messages(slack) -> list:
    return [m for m in slack.messages("C_REVIEW", include_replies=False) if m.metadata]


def listening_addresses(port: int) -> set[str]:
    """The local addresses something listens on at `port` (from /proc/net/tcp, IPv4)."""
    found = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


def balance(poster: SocketPoster, slack, name: str):
    """`/rw balance` as an envelope; (the envelope, the reply once it has come)."""
    url = slack.response_url(name, channel="C_REVIEW", user="U_ALICE")
    answer = poster.command("/rw", "balance", response_url=url)
    assert answer.status_code == 200
    return answer.envelope, wait_for(lambda: slack.responses(name))


def test_serve_posts_once_and_serves_health_and_webhooks_beside_the_socket(slack, sandbox, wonolo, tmp_path):
    campaign = sandbox.add_campaign("Like our page", status="Active", pay="0.50", total=20)
    for n in range(3):
        sandbox.add_submission(campaign, proof_text=f"proof {n}")
    env = socket_env(slack, sandbox, tmp_path, WONOLO_API_KEY=wonolo.api_key, WONOLO_SECRET_KEY=wonolo.secret_key,
                     WONOLO_BASE_URL=wonolo.url, WONOLO_CHANNEL="C_WONOLO")
    bot = serve(env, tmp_path)
    try:
        connection = slack.socket_mode.wait_connected()
        wait_for(lambda: len(review_messages(slack)) == 3)
        syncs = sandbox.count(path_contains="/api/campaigns")
        wait_for(lambda: sandbox.count(path_contains="/api/campaigns") >= syncs + 2, timeout=15)  # two more syncs
        assert len(review_messages(slack)) == 3  # each submission posted once

        # Health, readiness and Wonolo webhooks on HOST:PORT, loopback only by default.
        assert listening_addresses(bot.port) == {"127.0.0.1"}
        assert requests.get(bot.url + "/healthz", timeout=5).json() == {"ok": True}
        ready = wait_for(lambda: (r := requests.get(bot.url + "/readyz", timeout=5)).status_code == 200 and r.json())
        assert ready["checks"]["socket_mode"] == "ok: connected" and ready["checks"]["slack_auth"] == "ok"
        jr = wonolo.add_job_request(request_name="Dock crew", venue="Pier 9", city="Oakland", slots=2)
        assert wonolo.send_webhook(bot.url + "/wonolo/webhook", "job_request", jr).status_code == 200
        wait_for(lambda: slack.messages("C_WONOLO", include_replies=False))

        # Slack's requests come over the socket only: a signed request to /slack/events here is not taken.
        body = slash_command_body("/rw", "balance", response_url=slack.response_url("http"), channel_id="C_REVIEW")
        stamp = str(int(time.time()))
        signature = "v0=" + hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        refused = requests.post(bot.url + "/slack/events", data=body, timeout=5, headers={
            "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})
        assert refused.status_code == 404
        time.sleep(0.5)
        assert slack.responses("http") == []

        started = time.monotonic()
        bot.proc.send_signal(signal.SIGTERM)
        assert bot.wait(10) == 0 and time.monotonic() - started < 10
        assert connection.close_code == 1000  # closed with a close frame, not dropped
    finally:
        bot.stop()
    assert "Traceback" not in bot.output()[1]


@pytest.mark.parametrize("case", ["refresh", "reset", "quiet"])
def test_reconnects_within_10s_and_an_envelope_resent_after_it_is_handled_once(slack, sandbox, tmp_path, case):
    bot = serve(socket_env(slack, sandbox, tmp_path), tmp_path)
    try:
        sm = slack.socket_mode
        first = sm.wait_connected()
        poster = SocketPoster(sm, standin=slack)
        # Handled, but its ack is lost on the way: Slack sends it again after the reconnect.
        sm.lose_acks(1)
        url = slack.response_url("lost-ack", channel="C_REVIEW", user="U_ALICE")
        envelope = sm.send_envelope(*envelope_of(slash_command_body("/rw", "balance", response_url=url)))
        wait_for(lambda: slack.responses("lost-ack"))
        assert not envelope.acked.is_set()

        dropped_at = time.monotonic()
        if case == "refresh":
            sm.disconnect("refresh_requested")
        else:
            sm.drop(case)
        second = sm.wait_connected(10, after=first.number)
        assert time.monotonic() - dropped_at < 10
        assert envelope.acked.wait(10) and envelope.retry_attempt >= 1 and envelope.retry_reason == "timeout"
        time.sleep(0.5)
        assert len(slack.responses("lost-ack")) == 1  # the copy was acknowledged, not handled again

        _, reply = balance(poster, slack, "after")  # and the new connection works
        assert "$1,000.00" in json.dumps(reply[0]["payload"])
        assert second.open
    finally:
        bot.stop()
    assert "Traceback" not in bot.output()[1]


def test_a_redelivered_envelope_is_handled_once(slack, sandbox, tmp_path):
    bot = SocketBot(socket_env(slack, sandbox, tmp_path), slack).start()
    try:
        poster = bot.poster(standin=slack)
        envelope, replies = balance(poster, slack, "once")
        slack.socket_mode.redeliver(envelope.envelope_id)  # Slack's retry: same id, retry_attempt 1
        wait_for(lambda: envelope.acks == 2)  # acknowledged again, so Slack stops
        time.sleep(0.5)
        assert envelope.retry_attempt == 1 and len(slack.responses("once")) == 1
        # An event no listener takes is acknowledged all the same (else Slack retries it for nothing).
        unhandled = {"type": "event_callback", "event_id": "Ev0UNHANDLED", "team_id": "T0GIGDESK", "api_app_id": "A0GIGDESK",
                     "event": {"type": "reaction_added", "user": "U_ALICE", "reaction": "eyes"}}
        ack = slack.socket_mode.deliver("events_api", unhandled, timeout=5)
        assert ack is not None and set(ack) == {"envelope_id"}
        # A click redelivered too: one approval.
        campaign = sandbox.add_campaign("Like our page", status="Active", pay="0.50", total=20)
        sid = sandbox.add_submission(campaign)
        bot.review.sync()
        from storage import submissions as subs

        row = wait_for(lambda: (r := subs.get(bot.db, sid)) and r.ts and r)
        click = poster.click(ids.REVIEW_APPROVE, str(sid), message_ts=row.ts)
        slack.socket_mode.redeliver(click.envelope.envelope_id)
        wait_for(lambda: subs.get(bot.db, sid).state == "approved" and click.envelope.acks == 2)
        time.sleep(0.3)
        assert sandbox.count(method="POST", path_contains="/approve") == 1
    finally:
        bot.stop()


def test_twenty_concurrent_confirms_over_the_socket_make_one_job(slack, sandbox, tmp_path):
    bot = SocketBot(socket_env(slack, sandbox, tmp_path), slack).start()
    try:
        poster = bot.poster(standin=slack)
        url = slack.response_url("offer", channel="C_REVIEW", user="U_ALICE")
        assert poster.command("/rw", "job instagram-likes https://www.instagram.com/p/abc 50", response_url=url).status_code == 200
        offer = wait_for(lambda: slack.responses("offer"))[-1]["payload"]
        [confirm] = [e["value"] for b in offer["blocks"] if b["type"] == "actions" for e in b["elements"]
                     if e["action_id"] == ids.SPEND_CONFIRM]
        sandbox.set_latency(0.3, path_contains="/api/jobs/")
        answers = []

        def click(n: int) -> None:
            name = f"confirm-{n}"
            answers.append(poster.click(ids.SPEND_CONFIRM, confirm, message_ts="1700000000.000100", is_ephemeral=True,
                                        response_url=slack.response_url(name, channel="C_REVIEW", user="U_ALICE")).status_code)

        threads = [threading.Thread(target=click, args=(n,)) for n in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == [200] * 20
        wait_for(lambda: all(slack.responses(f"confirm-{n}") for n in range(20)))
        assert sandbox.count(path_contains="/api/jobs/") == 1
    finally:
        bot.stop()


@pytest.mark.parametrize("how", ["wrong", "revoked"])
def test_a_refused_app_token_stops_serve_at_start_with_one_line(slack, sandbox, tmp_path, how):
    env = socket_env(slack, sandbox, tmp_path)
    if how == "wrong":
        env["SLACK_APP_TOKEN"] = "xapp-1-A0GIGDESK-1-not-the-one"
    else:
        slack.revoke_app_token()
    bot = BotProcess(env, "serve", workdir=tmp_path)
    assert bot.wait(20) == 1
    out, err = bot.output()
    lines = [line for line in err.splitlines() if line.strip() and " INFO " not in line]
    assert len(lines) == 1, err
    assert lines[0].startswith("gigdesk: Slack refused SLACK_APP_TOKEN")
    assert "api.slack.com/apps" in lines[0] and "App-Level Tokens" in lines[0] and "connections:write" in lines[0]
    assert ("invalid_auth" if how == "wrong" else "token_revoked") in lines[0]
    assert "Traceback" not in err and env["SLACK_APP_TOKEN"] not in err + out
    assert slack.socket_mode.connections == []


def test_readyz_names_what_is_wrong_socket_state_included(slack, sandbox, tmp_path):
    bot = serve(socket_env(slack, sandbox, tmp_path), tmp_path)
    try:
        sm = slack.socket_mode
        first = sm.wait_connected()
        ready = wait_for(lambda: (r := requests.get(bot.url + "/readyz", timeout=5)).status_code == 200 and r.json())
        assert ready["ok"] is True and ready["problems"] == []
        assert set(ready["checks"]) == {"database", "review_sync", "slack_auth", "socket_mode"}

        # The token is revoked and the connection drops: not ready, and /readyz says which token and why.
        slack.revoke_app_token()
        sm.drop("reset")
        answer = wait_for(lambda: (r := requests.get(bot.url + "/readyz", timeout=5)).status_code == 503 and r.json())
        assert "SLACK_APP_TOKEN" in answer["checks"]["socket_mode"] and "token_revoked" in answer["checks"]["socket_mode"]
        assert answer["problems"] == [answer["checks"]["socket_mode"]]
        time.sleep(1)
        assert sm.open_connections() == [] and first.close_how == "reset"  # a refused token is asked about once a minute

        # RapidWorkers goes away: after 3 × GIGDESK_POLL_SECONDS (3 s here) the sync is no longer recent.
        sandbox.stop()
        def sync_problem():
            # Not recent and the failed sync's own words in it (under load the first sync may not
            # have finished before RapidWorkers went away: then "never" comes first).
            checks = requests.get(bot.url + "/readyz", timeout=5).json()["checks"]
            failed = not checks["review_sync"].startswith("ok") and "the last one said" in checks["review_sync"]
            return checks["review_sync"] if failed else None

        problem = wait_for(sync_problem, timeout=15)
        assert "GIGDESK_POLL_SECONDS" in problem and "Could not connect to RapidWorkers" in problem
    finally:
        bot.stop()
    assert "Traceback" not in bot.output()[1]


def test_readyz_in_http_mode_names_a_refused_bot_token(slack, sandbox, tmp_path):
    env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), PORT=str(free_port()), GIGDESK_FORENSICS="off")
    slack.fail_next("auth.test", error="invalid_auth")
    bot = serve(env, tmp_path)
    try:
        answer = requests.get(bot.url + "/readyz", timeout=5)
        assert answer.status_code == 503
        body = answer.json()
        assert "socket_mode" not in body["checks"]
        assert body["problems"] == [body["checks"]["slack_auth"]] and "SLACK_BOT_TOKEN" in body["problems"][0]
    finally:
        bot.stop()


@pytest.mark.parametrize("mode", ["http", "socket"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_stop_serve_within_10s(slack, sandbox, tmp_path, mode, sig):
    if mode == "socket":
        env = socket_env(slack, sandbox, tmp_path)
    else:
        env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), PORT=str(free_port()), GIGDESK_POLL_SECONDS="1",
                      GIGDESK_FORENSICS="off")
    bot = serve(env, tmp_path)
    try:
        if mode == "socket":
            slack.socket_mode.wait_connected()
        wait_for(lambda: "review sync:" in bot.output()[1])  # the background jobs run
        started = time.monotonic()
        bot.proc.send_signal(sig)
        code = bot.wait(10)
        assert time.monotonic() - started < 10 and code == 0
    finally:
        bot.stop()
    err = bot.output()[1]
    assert "stopped in" in err and "Traceback" not in err
    if mode == "socket":
        assert [c.close_code for c in slack.socket_mode.connections] == [1000]
