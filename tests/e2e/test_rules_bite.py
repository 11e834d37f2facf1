"""Tests that bite: each money and safety rule has a test that fails the moment it breaks.

Every test here was checked by breaking its rule on purpose (the one-line
edit a tired developer makes), watching it fail, and restoring the code.
The rules are stated in each test's docstring.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
import time_machine

from bot.app import Background, build
from bot.config import load_settings
from bot.digest.service import CATCH_UP_JOB_ID
from bot.rw import blocks as ui
from bot.slack import ids
from storage import offers as offer_store
from storage import submissions as subs
from storage.db import connect, migrate
from tests.support.harness import BotProcess, bot_env, free_port, wait_for
from tests.support.mrkdwn_check import parsed_text
from tests.support.slack_requests import SlackPoster, block_actions_body, sign, slash_command_body

HOSTILE = "<!channel> Free <@U0BOSS> money <https://evil.example|click> & more"
MONEY_PATHS = ("/api/jobs/", "/jobs/add", "bulk_action", "/approve", "/reject")
_names = itertools.count(1)


# --- helpers --------------------------------------------------------------------------


def text_of(payload: dict) -> str:
    return (payload.get("text") or "") + json.dumps(payload.get("blocks") or [], ensure_ascii=False)


def buttons(payload: dict) -> dict[str, str]:
    return {e["action_id"]: e.get("value") for b in payload.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]}


def money_requests(sandbox) -> int:
    return sum(sandbox.count(path_contains=p) for p in MONEY_PATHS)


def command(poster, slack, text: str, *, user: str = "U_ALICE", channel: str = "C_REVIEW") -> dict:
    """/rw <text> as Slack sends it; the reply posted to its response URL."""
    name = f"bite-{next(_names)}"
    url = slack.response_url(name, channel=channel, user=user)
    r = poster.command("/rw", text, user_id=user, channel_id=channel, response_url=url, trigger_id=f"trig-{name}")
    assert r.status_code == 200
    return wait_for(lambda: slack.responses(name))[-1]["payload"]


def click(poster, slack, action_id: str, value: str, *, user: str = "U_ALICE", channel: str = "C_REVIEW") -> dict:
    """A click on a button of an ephemeral reply; the reply to it."""
    name = f"bite-click-{next(_names)}"
    url = slack.response_url(name, channel=channel, user=user)
    r = poster.click(action_id, value, user_id=user, channel_id=channel, message_ts="1700000000.000100",
                     is_ephemeral=True, response_url=url)
    assert r.status_code == 200
    return wait_for(lambda: slack.responses(name))[-1]["payload"]


def offer(poster, slack, text="job instagram-likes https://www.instagram.com/p/abc 50", user="U_ALICE") -> str:
    """Ask for a spend; the confirmation id its Confirm button carries."""
    payload = command(poster, slack, text, user=user)
    assert ids.SPEND_CONFIRM in buttons(payload), text_of(payload)
    return buttons(payload)[ids.SPEND_CONFIRM]


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused


# --- decisions --------------------------------------------------------------------------


def test_a_second_begin_decision_on_the_same_submission_returns_false(tmp_path):
    """The guarded UPDATE: only one caller moves posted -> approving/rejecting."""
    db = connect(str(tmp_path / "gigdesk.db"))
    migrate(db)
    assert subs.claim(db, 1001, "camp-1", "W1", {"pay": "0.50"})
    subs.mark_posted(db, 1001, "C_REVIEW", "1700000000.000100")
    assert subs.begin_decision(db, 1001, "approving", "U_ALICE") is True
    assert subs.begin_decision(db, 1001, "rejecting", "U_BOB") is False
    assert subs.begin_decision(db, 1001, "approving", "U_ALICE") is False
    row = subs.get(db, 1001)
    assert row.state == "approving" and row.acting_user == "U_ALICE"
    subs.finish_decision(db, 1001, "approved", decided_by="U_ALICE")
    assert subs.begin_decision(db, 1001, "approving", "U_BOB") is False
    assert subs.get(db, 1001).state == "approved"


@pytest.mark.parametrize("how", ["connection-dropped", "503"])
def test_in_flight_decision_stays_in_flight_when_rapidworkers_is_unreachable_at_start(make_bot, sandbox, slack, tmp_path, how):
    """A decision in flight at the last stop whose upstream status cannot be read
    at start stays in flight: reopening it invites a second payment."""
    cid = sandbox.add_campaign("In flight", status="Active", pay="0.50")
    sid = sandbox.add_submission(cid)
    first = make_bot()
    assert first.review.sync().posted == 1
    # What a crash mid-approval leaves behind: the row taken, no outcome recorded.
    assert subs.begin_decision(first.db, sid, "approving", "U_ALICE")
    first.stop()
    db_path = str(tmp_path / "gigdesk.db")

    # Every read of the campaign's submissions (where the status would come from) fails.
    sandbox.reset_log()
    if how == "503":
        sandbox.fail_next(1000, status=503, path_contains="/submissions")
    else:
        sandbox.fail_next(1000, mode="close", path_contains="/submissions")
    env = bot_env(slack, sandbox, db_path, PORT=str(free_port()), GIGDESK_POLL_SECONDS="3600")
    restarted = BotProcess(env, "serve", workdir=tmp_path).wait_healthy()
    try:
        # At start the bot settles decisions, then syncs: once the campaign list
        # is asked for, settling is over.
        wait_for(lambda: any(r.path.rstrip("/") == "/api/campaigns" for r in sandbox.requests), timeout=30)
    finally:
        restarted.stop()
    assert sandbox.count(path_contains="/submissions") >= 1  # it did try to read the status
    row = subs.get(connect(db_path), sid)
    assert row.state == "approving" and row.acting_user == "U_ALICE", row
    assert money_requests(sandbox) == 0
    assert sandbox.submission(sid)["status"] == "Pending"


# --- spending ------------------------------------------------------------------------------


def test_a_spend_offer_expires_ten_minutes_after_it_was_made(bot, sandbox, slack, poster):
    """Moving the clock: an offer confirmed at 9 min 50 s spends, one at 10 min 1 s does not."""
    start = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=True) as clock:
        early = offer(poster, slack)
        late = offer(poster, slack)
        clock.move_to(start + timedelta(minutes=9, seconds=50))
        assert "Created" in text_of(click(poster, slack, ids.SPEND_CONFIRM, early))
        assert sandbox.count(path_contains="/api/jobs/") == 1
        clock.move_to(start + timedelta(minutes=10, seconds=1))
        refused = text_of(click(poster, slack, ids.SPEND_CONFIRM, late))
    assert "expired" in refused
    assert sandbox.count(path_contains="/api/jobs/") == 1
    assert offer_store.get_confirmation(bot.db, late).state == "offered"


def test_confirm_rechecks_at_the_click_that_the_user_may_still_spend(make_bot, sandbox, slack):
    """An offer made while Alice could spend; she is removed (config change and
    restart) before she clicks Confirm: refused, nothing spent."""
    before = make_bot(GIGDESK_SPENDERS="U_ALICE,U_BOB")
    poster = SlackPoster(before.events_url, standin=slack)
    try:
        confirmation = offer(poster, slack, user="U_ALICE")
    finally:
        poster.session.close()
    before.stop()

    after = make_bot(GIGDESK_SPENDERS="U_BOB")
    poster = SlackPoster(after.events_url, standin=slack)
    try:
        refused = text_of(click(poster, slack, ids.SPEND_CONFIRM, confirmation, user="U_ALICE"))
    finally:
        poster.session.close()
    assert "not allowed" in refused
    assert money_requests(sandbox) == 0
    assert sandbox.balance == Decimal("1000.00")
    assert offer_store.get_confirmation(after.db, confirmation).state == "offered"


def test_rw_new_refuses_more_tasks_than_the_upper_bound(bot, sandbox, slack, poster):
    """/rw new: 100,000 tasks is the most a campaign may ask for; 100,001 is refused in the form."""
    sandbox.balance = Decimal("10000000")
    before = len(slack.views())
    poster.command("/rw", "new", user_id="U_ALICE", channel_id="C_REVIEW",
                   response_url=slack.response_url("new"), trigger_id="trig-new")
    view = wait_for(lambda: slack.views()[before:])[0]["view"]

    def values(availabilities: str) -> dict:
        def text(v):
            return {ui.INPUT: {"type": "plain_text_input", "value": v}}

        def number(v):
            return {ui.INPUT: {"type": "number_input", "value": v}}

        return {
            ui.NEW_TITLE_BLOCK: text("Rate our app"),
            ui.NEW_DESCRIPTION_BLOCK: text("Install and rate"),
            ui.NEW_PAY_BLOCK: number("0.05"),
            ui.NEW_AVAILABILITIES_BLOCK: number(availabilities),
            ui.NEW_PROOF_BLOCK: text("Screenshot"),
            ui.NEW_CATEGORY_BLOCK: text("Apps"),
        }

    for too_many in ("100001", "1000000", "999999999999"):
        r = poster.submit_view(ids.NEW_CAMPAIGN_MODAL, values(too_many), private_metadata=view.get("private_metadata", ""),
                               user_id="U_ALICE", view=view)
        assert r.status_code == 200 and r.json().get("response_action") == "errors", (too_many, r.text)
        assert set(r.json()["errors"]) == {ui.NEW_AVAILABILITIES_BLOCK}, r.json()
    assert bot.db.execute("SELECT count(*) FROM confirmations").fetchone()[0] == 0

    # The same form with the bound itself is offered: only the count was wrong above.
    r = poster.submit_view(ids.NEW_CAMPAIGN_MODAL, values("100000"), private_metadata=view.get("private_metadata", ""),
                           user_id="U_ALICE", view=view)
    assert r.status_code == 200 and not r.content.strip(), r.text
    wait_for(lambda: bot.db.execute("SELECT count(*) FROM confirmations").fetchone()[0] == 1)
    assert money_requests(sandbox) == 0


def test_rw_job_refuses_more_than_the_upper_bound_even_with_money_to_pay_for_it(bot, sandbox, slack, poster):
    """/rw job: 100,000 is the most; 100,001 gets no offer however large the balance."""
    sandbox.balance = Decimal("10000000")
    refused = command(poster, slack, "job instagram-likes https://www.instagram.com/p/abc 100001")
    assert ids.SPEND_CONFIRM not in buttons(refused) and "100,000" in text_of(refused), text_of(refused)
    assert bot.db.execute("SELECT count(*) FROM confirmations").fetchone()[0] == 0
    offer(poster, slack, "job instagram-likes https://www.instagram.com/p/abc 100000")
    assert money_requests(sandbox) == 0


# --- escaping ------------------------------------------------------------------------------


def test_campaign_title_is_escaped_in_the_approved_all_notice_and_campaign_fallback_text(bot, sandbox, slack, poster):
    """Campaign titles are untrusted: escaped in the public notice and in the fallback `text`."""
    cid = sandbox.add_campaign(HOSTILE, status="Active", pay="0.50")
    for _ in range(2):
        sandbox.add_submission(cid)

    detail = command(poster, slack, f"campaign {cid}")
    assert "&lt;!channel&gt;" in detail["text"], detail["text"]
    assert "<!channel>" not in parsed_text(detail.get("blocks") or [], detail["text"])

    bot.review.sync()  # approve-all offers only what was posted for review and checked
    assert bot.review.checks is None or bot.review.checks.wait(20)
    confirmation = offer(poster, slack, f"approve-all {cid}")
    assert "Approved 2" in text_of(click(poster, slack, ids.SPEND_CONFIRM, confirmation))
    notices = wait_for(lambda: [m for m in slack.messages("C_REVIEW") if "approved" in m.text and "pending submission" in m.text])
    for notice in notices:
        shown = parsed_text(notice.blocks or [], notice.text)
        assert "&lt;!channel&gt;" in shown, shown
        assert "<!channel>" not in shown and "<@U0BOSS>" not in shown and "<https://evil.example" not in shown


# --- signatures and tokens -------------------------------------------------------------------


def test_the_signature_check_before_bolt_refuses_a_stale_timestamp_on_its_own(bot, slack, monkeypatch):
    """A correctly signed request with a 10-minute-old timestamp is refused
    before Bolt sees it (Bolt's own check is a second layer, not the only one)."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    reached_bolt = []
    real_call = SlackRequestHandler.__call__

    def spy(self, environ, start_response):
        reached_bolt.append(environ.get("PATH_INFO"))
        return real_call(self, environ, start_response)

    monkeypatch.setattr(SlackRequestHandler, "__call__", spy)
    body = slash_command_body("/rw", "help", response_url=slack.response_url("stale"))
    with requests.Session() as session:
        stale = session.post(bot.events_url, data=body, headers=sign(body, timestamp=int(time.time()) - 600), timeout=10)
        assert stale.status_code == 401
        assert reached_bolt == []
        fresh = session.post(bot.events_url, data=body, headers=sign(body), timeout=10)
    assert fresh.status_code == 200 and reached_bolt == ["/slack/events"]


def test_bolts_own_signature_check_refuses_a_stale_timestamp_on_its_own(slack, sandbox, tmp_path):
    """The second layer alone: the Bolt app as gigdesk builds it, served without
    the check in front of it, still refuses a correctly signed stale request."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    from bot.app import create_bolt_app
    from sandbox.loopback import LoopbackServer

    gigdesk = build(load_settings(bot_env(slack, sandbox, str(tmp_path / "gigdesk.db")), dotenv_path=""))
    server = LoopbackServer(SlackRequestHandler(create_bolt_app(gigdesk), path="/slack/events"), name="bolt-alone")
    url = server.start() + "/slack/events"
    try:
        body = slash_command_body("/rw", "help", response_url=slack.response_url("bolt-alone"))
        with requests.Session() as session:
            stale = session.post(url, data=body, headers=sign(body, timestamp=int(time.time()) - 600), timeout=10)
            forged = session.post(url, data=body, headers={**sign(body), "X-Slack-Signature": "v0=" + "0" * 64}, timeout=10)
            fresh = session.post(url, data=body, headers=sign(body), timeout=10)
    finally:
        server.stop()
        gigdesk.services.work.shutdown(wait=False)
    assert (stale.status_code, forged.status_code, fresh.status_code) == (401, 401, 200)


def documented_wonolo_token(body: bytes, secret_key: str) -> str:
    """DESIGN.md: the SHA-256 hex digest of the raw body bytes followed by WONOLO_SECRET_KEY."""
    return hashlib.sha256(body + secret_key.encode("utf-8")).hexdigest()


def test_wonolo_webhook_token_is_compared_in_constant_time(make_bot, monkeypatch):
    """The token check goes through hmac.compare_digest (a spy that still compares)."""
    from bot.wonolo import webhook as wonolo_webhook

    secret = "sk_test_bite_secret_0123"
    bot = make_bot(WONOLO_API_KEY="pk_test_bite", WONOLO_SECRET_KEY=secret, WONOLO_BASE_URL=closed_port_url(),
                   WONOLO_CHANNEL="C_WONOLO")
    bot.features.wonolo_desk.retry_delays = ()  # Wonolo itself is not running: no retries after the test
    compared = []
    real_compare = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(wonolo_webhook.hmac, "compare_digest", spy)
    body = json.dumps({"type": "job_request", "id": 4242, "state": "posted"}).encode()
    url = bot.url + "/wonolo/webhook"
    wrong = requests.post(url, data=body, headers={"X-Wonolo-Webhook-Token": documented_wonolo_token(body, "sk_other")}, timeout=5)
    assert wrong.status_code == 401
    assert len(compared) == 1
    right = requests.post(url, data=body, headers={"X-Wonolo-Webhook-Token": documented_wonolo_token(body, secret)}, timeout=5)
    assert right.status_code == 200, right.text
    assert len(compared) == 2
    token = documented_wonolo_token(body, secret).encode()
    assert token in compared[1]


# --- background work ------------------------------------------------------------------------


def test_an_idle_background_cycle_costs_one_rapidworkers_request_balance_check_included(make_bot, sandbox):
    """Several idle sync cycles: one campaign list each, and the balance at most once."""
    sandbox.add_campaign("Quiet", status="Active", pay="0.50")
    bot = make_bot(GIGDESK_POLL_SECONDS="1")
    background = Background(bot.gigdesk)
    background.start()
    try:
        wait_for(lambda: sandbox.count(path_contains="/api/campaigns") >= 4, timeout=30)
    finally:
        background.stop()
    time.sleep(0.3)  # a cycle that had started finishes its requests
    cycles = sandbox.count(path_contains="/api/campaigns")
    others = [r.path for r in sandbox.requests if "/api/campaigns" not in r.path]
    assert cycles >= 4
    assert len(others) <= 1 and all("get_balance" in p for p in others), others


def test_one_scheduled_digest_per_local_day_across_a_restart_in_auckland(slack, sandbox, tmp_path):
    """Pacific/Auckland, digest at 09:00: started at 10:00 local (the previous
    UTC day) and again at 13:00 local (UTC has moved to the next day) — one digest."""
    env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), GIGDESK_TZ="Pacific/Auckland",
                  GIGDESK_DIGEST_AT="09:00", GIGDESK_DIGEST_CHANNEL="C_DIGEST", GIGDESK_POLL_SECONDS="3600")

    def digests():
        return [m for m in slack.messages("C_DIGEST") if m.blocks and m.blocks[0]["type"] == "header"]

    def start():
        gigdesk = build(load_settings(env, dotenv_path=""), post_interval=0)
        background = Background(gigdesk)
        background.start()
        return gigdesk, background

    def stop(background):
        # Let the scheduler finish with its start-up job before shutting it down.
        wait_for(lambda: background.scheduler.get_job(CATCH_UP_JOB_ID) is None, timeout=20)
        background.stop()

    migrate(connect(env["GIGDESK_DB"]))  # installed earlier: the first start of an install has no catch-up
    # 2026-06-01 22:00 UTC is 2026-06-02 10:00 in Auckland (NZST, UTC+12).
    with time_machine.travel(datetime(2026, 6, 1, 22, 0, tzinfo=UTC), tick=True):
        gigdesk, background = start()
        try:
            wait_for(digests, timeout=20)
        finally:
            stop(background)
    # 2026-06-02 01:00 UTC is 13:00 the same Auckland day.
    with time_machine.travel(datetime(2026, 6, 2, 1, 0, tzinfo=UTC), tick=True):
        gigdesk, background = start()
        try:
            # The start-up catch-up and this call take the same lock: when this
            # returns, the start-up run has decided too.
            gigdesk.features.digest.catch_up()
        finally:
            stop(background)
    assert len(digests()) == 1
    days = gigdesk.services.store.db.execute("SELECT day FROM digests WHERE kind = 'scheduled'").fetchall()
    assert days == [("2026-06-02",)]


def test_work_after_the_ack_runs_on_the_work_pool_in_a_burst(make_bot, sandbox, slack, monkeypatch):
    """24 concurrent Approve clicks with a slow RapidWorkers: all answered 200,
    and every approve call made by a work-pool thread, none by Bolt's listener threads."""
    import requests.adapters

    clickers = [f"U_CLICK{n:02d}" for n in range(24)]  # one click each: no per-person limit gets in the way
    slack.set_members("C_REVIEW", [*clickers, "U_ALICE", "U_BOB", slack.bot_user_id])
    bot = make_bot()
    cid = sandbox.add_campaign("Burst", status="Active", pay="0.10")
    sids = [sandbox.add_submission(cid) for _ in range(24)]
    assert bot.review.sync().posted == 24
    rows = {sid: subs.get(bot.db, sid) for sid in sids}

    callers: list[tuple[str, str]] = []
    real_send = requests.adapters.HTTPAdapter.send

    def spy(self, request, *args, **kwargs):
        if request.url.startswith(sandbox.url):
            callers.append((threading.current_thread().name, request.url))
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", spy)
    sandbox.set_latency(0.4, path_contains="/approve")
    bodies = [block_actions_body(ids.REVIEW_APPROVE, str(sid), message_ts=rows[sid].ts, user_id=user,
                                 response_url=slack.response_url(f"burst-{sid}", user=user))
              for sid, user in zip(sids, clickers, strict=False)]

    def send(body):
        return requests.post(bot.events_url, data=body, headers=sign(body), timeout=10).status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(send, bodies))
    assert statuses == [200] * 24
    wait_for(lambda: all(subs.get(bot.db, sid).state == "approved" for sid in sids), timeout=30)
    approvals = [name for name, url in callers if "/approve" in url]
    assert len(approvals) == 24
    assert all(name.startswith("work") for name in approvals), sorted(set(approvals))
