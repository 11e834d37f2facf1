"""Faults end to end: crashes (kill -9), API failures, rate limits, a busy database.

Whatever breaks, every pending submission ends up posted exactly once, no
decision is made twice, the person who clicked (or the sync report) is told,
and the next cycle or click recovers.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests

from bot.slack import ids
from storage import submissions as subs
from tests.support.harness import BotProcess, bot_env, free_port, wait_for
from tests.support.postgres import open_database, url_env
from tests.support.slack_requests import SlackPoster, block_actions_body, sign

WENT_WRONG = "went wrong"


def review_messages(slack):
    return [m for m in slack.messages("C_REVIEW", include_replies=False) if (m.metadata or {}).get("event_type") == ids.SUBMISSION_EVENT]


def posted_ids(slack) -> list[int]:
    return sorted(m.metadata["event_payload"]["submission_id"] for m in review_messages(slack))


def buttons(message) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def assert_posted_exactly_once(slack, db, sids):
    """Every submission has exactly one review message, and the database points at it."""
    assert posted_ids(slack) == sorted(sids)
    by_sid = {m.metadata["event_payload"]["submission_id"]: m.ts for m in review_messages(slack)}
    for sid in sids:
        row = subs.get(db, sid)
        assert row is not None and row.state == "posted" and row.ts == by_sid[sid], (sid, row)


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused


# --- kill -9 ------------------------------------------------------------------------


@pytest.mark.parametrize("after_store", [True, False], ids=["killed-after-slack-stored-it", "killed-before-it-reached-slack"])
def test_kill_9_while_posting_then_restart_posts_each_submission_once(sandbox, slack, tmp_path, after_store, database_url):
    cid = sandbox.add_campaign("Crash test", status="Active")
    sids = [sandbox.add_submission(cid, proof_text=f"proof {n}") for n in range(5)]
    db_path = str(tmp_path / "gigdesk.db")
    env = bot_env(slack, sandbox, db_path, **url_env(database_url))
    # The third chat.postMessage is held; the bot is killed while it waits.
    slack.hold("chat.postMessage", 30, after_store=after_store, skip=2)
    poll = BotProcess(env, "poll", workdir=tmp_path)
    wait_for(lambda: slack.holding("chat.postMessage") == 1, timeout=30)
    assert len(review_messages(slack)) == (3 if after_store else 2)
    poll.kill9()
    wait_for(lambda: slack.holding() == 0)  # the stand-in noticed the client is gone
    assert len(review_messages(slack)) == (3 if after_store else 2)
    db = open_database(db_path, database_url)
    assert subs.get(db, sids[2]).state == "claimed"  # posted (or not), never recorded
    assert subs.get(db, sids[3]) is None

    again = BotProcess(env, "poll", workdir=tmp_path)
    assert again.wait() == 0, again.output()
    out = again.output()[0]
    assert "recovered: 1" in out and "posted: 2" in out, out
    assert_posted_exactly_once(slack, db, sids)

    third = BotProcess(env, "poll", workdir=tmp_path)
    assert third.wait() == 0
    assert "posted: 0" in third.output()[0] and "recovered: 0" in third.output()[0]
    assert_posted_exactly_once(slack, db, sids)


@pytest.mark.parametrize("applied", [True, False], ids=["approve-went-through", "approve-never-applied"])
def test_kill_9_during_an_approval_is_settled_from_upstream_at_restart(sandbox, slack, tmp_path, applied, database_url):
    cid = sandbox.add_campaign("Kill mid-approval", status="Active", pay="0.50")
    sid = sandbox.add_submission(cid)
    db_path = str(tmp_path / "gigdesk.db")
    # Proof checks off: the message updates counted are the approval's (a check's own update is
    # tested in tests/bot/forensics/test_checks_beside_posting.py).
    env = bot_env(slack, sandbox, db_path, PORT=str(free_port()), GIGDESK_POLL_SECONDS="3600", GIGDESK_FORENSICS="off",
                  **url_env(database_url))
    balance = sandbox.balance
    bot = BotProcess(env, "serve", workdir=tmp_path).wait_healthy()
    try:
        db = open_database(db_path, database_url)
        row = wait_for(lambda: (r := subs.get(db, sid)) and r.state == "posted" and r, timeout=20)
        if applied:
            sandbox.set_latency(2.0, path_contains="/approve")  # applied after the delay
        else:
            sandbox.fail_next(1, mode="timeout", delay=2.0, path_contains="/approve")  # 500, nothing applied
        poster = SlackPoster(bot.url + "/slack/events", standin=slack)
        assert poster.click(ids.REVIEW_APPROVE, str(sid), message_ts=row.ts).status_code == 200
        wait_for(lambda: sandbox.count(path_contains="/approve") == 1 and subs.get(db, sid).state == "approving")
        bot.kill9()
    finally:
        bot.kill9()
    sandbox.set_latency(0, path_contains="/approve")
    wait_for(lambda: sandbox.submission(sid)["status"] == ("Approved" if applied else "Pending") and sandbox.count(path_contains="/approve") == 1, timeout=10)
    time.sleep(2.2)  # let the sandbox finish the request it was holding
    assert subs.get(db, sid).state == "approving"  # what the crash left behind

    restarted = BotProcess(env, "serve", workdir=tmp_path).wait_healthy()
    try:
        if applied:
            wait_for(lambda: subs.get(db, sid).state == "approved", timeout=20)
            row = subs.get(db, sid)
            assert row.decided_by == "U_ALICE" and row.decided_via == "recovered"
            message = wait_for(lambda: (m := slack.message("C_REVIEW", row.ts)) and m.updates >= 2 and m)  # in progress, then decided
            assert buttons(message) == [] and "Approved" in message.text
        else:
            wait_for(lambda: subs.get(db, sid).state == "posted", timeout=20)
            message = wait_for(lambda: (m := slack.message("C_REVIEW", row.ts)) and m.updates >= 2 and m)  # in progress, then reopened
            assert buttons(message)[:2] == [ids.REVIEW_APPROVE, ids.REVIEW_REJECT]
            poster = SlackPoster(restarted.url + "/slack/events", standin=slack)
            poster.click(ids.REVIEW_APPROVE, str(sid), message_ts=row.ts)
            wait_for(lambda: subs.get(db, sid).state == "approved", timeout=10)
        time.sleep(0.3)
        applied_calls = [r for r in sandbox.requests if f"/submissions/{sid}/approve" in r.path and r.status == 200]
        assert len(applied_calls) == 1  # approved once, never twice
        assert balance - sandbox.balance == Decimal("0.50")
        assert len(review_messages(slack)) == 1  # and the restart did not post it again
    finally:
        restarted.stop()
    assert WENT_WRONG not in restarted.output()[1]


# --- RapidWorkers failures during a sync ---------------------------------------------------


def _break_rapidworkers(bot, sandbox, how: str) -> None:
    rw = bot.services.rw
    if how == "429":
        sandbox.fail_next(1, status=429, retry_after=1, path_contains="/api/campaigns")
    elif how == "429-long":
        sandbox.fail_next(1, status=429, retry_after=600, path_contains="/api/campaigns")
    elif how == "5xx":
        sandbox.fail_next(4, status=503, path_contains="/api/campaigns")
    elif how == "timeout":
        rw.timeout = 0.3
        sandbox.fail_next(4, mode="timeout", delay=1.0, path_contains="/api/campaigns")
    elif how == "refused":
        rw.base_url = closed_port_url()
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["429", "429-long", "5xx", "timeout", "refused"])
def test_rapidworkers_failure_during_sync_is_reported_and_the_next_cycle_recovers(bot, sandbox, slack, how):
    cid = sandbox.add_campaign("Flaky API", status="Active")
    sids = [sandbox.add_submission(cid) for _ in range(3)]
    base_url, timeout = bot.services.rw.base_url, bot.services.rw.timeout
    _break_rapidworkers(bot, sandbox, how)
    started = time.monotonic()
    report = bot.review.sync()
    elapsed = time.monotonic() - started
    if how == "429":  # Retry-After honoured (once), then the cycle goes on
        assert elapsed >= 1.0 and report.posted == 3 and not report.errors
        assert sandbox.count(path_contains="/api/campaigns/") - sandbox.count(path_contains="/submissions") == 2
        assert_posted_exactly_once(slack, bot.db, sids)
        return
    assert report.posted == 0 and len(report.errors) == 1, report.summary()
    expected = {"429-long": "rate limit", "5xx": "http 503", "timeout": "did not answer in time", "refused": "could not connect"}[how]
    assert expected in report.summary().lower(), report.summary()
    assert elapsed < 10  # a long Retry-After is not slept through
    assert subs.unposted(bot.db) == [] and review_messages(slack) == []
    bot.services.rw.base_url, bot.services.rw.timeout = base_url, timeout
    again = bot.review.sync()
    assert again.posted == 3 and not again.errors
    assert_posted_exactly_once(slack, bot.db, sids)


def test_one_campaigns_submissions_failing_does_not_hold_up_the_others(bot, sandbox, slack):
    flaky, fine = sandbox.add_campaign("Flaky", status="Active"), sandbox.add_campaign("Fine", status="Active")
    flaky_ids = [sandbox.add_submission(flaky) for _ in range(2)]
    fine_ids = [sandbox.add_submission(fine) for _ in range(2)]
    sandbox.fail_next(4, status=500, path_contains=f"/{flaky}/submissions")
    report = bot.review.sync()
    assert report.posted == 2 and posted_ids(slack) == sorted(fine_ids)
    assert any(flaky in e and "HTTP 500" in e for e in report.errors), report.summary()
    again = bot.review.sync()  # the flaky campaign's counts were not saved: it is read again
    assert again.posted == 2 and not again.errors
    assert_posted_exactly_once(slack, bot.db, flaky_ids + fine_ids)


# --- RapidWorkers failures during clicks -------------------------------------------------


@pytest.fixture
def one_posted(bot, sandbox):
    cid = sandbox.add_campaign("Clicks", status="Active", pay="0.50")
    sid = sandbox.add_submission(cid)
    bot.review.sync()
    return sid, subs.get(bot.db, sid)


CLICK_FAULTS = {
    # how: (what the person is told, or None when the click simply works)
    "429-retried": None,
    "429-long": "rate limit",
    "timeout": "did not answer in time",
    "dropped": "connection to rapidworkers broke",
    "refused": "could not connect to rapidworkers",
    "5xx-after-applying": "had an error",
}


@pytest.mark.parametrize("how", list(CLICK_FAULTS))
def test_rapidworkers_failure_on_approve_tells_the_user_and_a_new_click_settles_it(bot, sandbox, slack, poster, one_posted, how):
    sid, row = one_posted
    rw = bot.services.rw
    base_url = rw.base_url
    balance = sandbox.balance
    if how == "429-retried":
        sandbox.fail_next(1, status=429, retry_after=1, path_contains="/approve")
    elif how == "429-long":
        sandbox.fail_next(1, status=429, retry_after=900, path_contains="/approve")
    elif how == "timeout":
        rw.timeout = 0.4
        sandbox.fail_next(1, mode="timeout", delay=1.5, path_contains="/approve")
    elif how == "dropped":
        sandbox.fail_next(1, mode="close", path_contains="/approve")
    elif how == "refused":
        rw.base_url = closed_port_url()
    elif how == "5xx-after-applying":
        sandbox.fail_after_commit(1, path_contains="/approve")
    assert poster.click(ids.REVIEW_APPROVE, str(sid), message_ts=row.ts).status_code == 200
    told = CLICK_FAULTS[how]
    if told is None:
        wait_for(lambda: subs.get(bot.db, sid).state == "approved")
        assert sandbox.count(path_contains="/approve") == 2  # the 429, then the retry it allowed
        assert slack.ephemerals("U_ALICE") == []
    else:
        error = wait_for(lambda: slack.ephemerals("U_ALICE"))[0]["text"]
        assert told in error.lower() and "still open" in error, error
        assert WENT_WRONG not in error and "Traceback" not in error
        assert subs.get(bot.db, sid).state == "posted"  # nothing recorded as done
        message = slack.message("C_REVIEW", row.ts)
        assert buttons(message)[:2] == [ids.REVIEW_APPROVE, ids.REVIEW_REJECT]
        rw.base_url, rw.timeout = base_url, 15.0
        poster.click(ids.REVIEW_APPROVE, str(sid), message_ts=row.ts)
        wait_for(lambda: subs.get(bot.db, sid).state == "approved")
        if how == "5xx-after-applying":  # the first click had gone through: found out, not paid again
            wait_for(lambda: any("already approved on RapidWorkers" in e["text"] for e in slack.ephemerals("U_ALICE")))
    assert sandbox.submission(sid)["status"] == "Approved"
    assert balance - sandbox.balance == Decimal("0.50")  # paid exactly once


def test_rapidworkers_failure_on_reject_and_block_leaves_them_open(bot, sandbox, slack, poster, one_posted):
    sid, row = one_posted
    sandbox.fail_next(1, status=502, path_contains="/reject")
    reason = {ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: {"type": "plain_text_input", "value": "Cropped"}},
              ids.REJECT_PRESET_BLOCK: {ids.REJECT_PRESET_INPUT: {"type": "static_select", "selected_option": None}}}
    assert poster.submit_view(ids.REVIEW_REJECT_MODAL, reason, private_metadata=str(sid)).status_code == 200
    error = wait_for(lambda: slack.ephemerals("U_ALICE"))[0]["text"]
    assert "had an error" in error and "still open" in error
    assert subs.get(bot.db, sid).state == "posted" and sandbox.submission(sid)["status"] == "Pending"

    sandbox.fail_next(1, status=500, path_contains="/workers/block")
    poster.click(ids.REVIEW_BLOCK, str(sid), message_ts=row.ts)
    error = wait_for(lambda: len(slack.ephemerals("U_ALICE")) >= 2 and slack.ephemerals("U_ALICE"))[1]["text"]
    assert "could not block the worker" in error.lower() and WENT_WRONG not in error
    worker = row.worker_id
    assert worker not in sandbox.blocked_ids()
    assert buttons(slack.message("C_REVIEW", row.ts)) == [ids.REVIEW_APPROVE, ids.REVIEW_REJECT, ids.REVIEW_BLOCK]

    poster.click(ids.REVIEW_BLOCK, str(sid), message_ts=row.ts)
    wait_for(lambda: worker in sandbox.blocked_ids())
    poster.submit_view(ids.REVIEW_REJECT_MODAL, reason, private_metadata=str(sid))
    wait_for(lambda: subs.get(bot.db, sid).state == "rejected")
    assert sandbox.count(path_contains="/reject") == 2 and sandbox.submission(sid)["status"] == "Rejected"


# --- Slack failures during a sync ------------------------------------------------------------


def test_slack_rate_limit_while_posting_is_waited_out(bot, sandbox, slack):
    cid = sandbox.add_campaign("Busy channel", status="Active")
    sids = [sandbox.add_submission(cid) for _ in range(4)]
    slack.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=0, count=2)
    report = bot.review.sync()
    assert report.posted == 4 and report.failed == 0, report.summary()
    assert len([c for c in slack.calls_to("chat.postMessage") if c.status == 429]) == 2
    assert_posted_exactly_once(slack, bot.db, sids)


def test_slack_rate_limit_that_outlasts_the_retries_is_reported_and_posted_next_cycle(bot, sandbox, slack):
    cid = sandbox.add_campaign("Very busy channel", status="Active")
    sids = [sandbox.add_submission(cid) for _ in range(2)]
    slack.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=0, count=6)
    report = bot.review.sync()
    assert report.failed == 1 and report.posted == 1 and "ratelimited" in report.summary(), report.summary()
    assert subs.get(bot.db, sids[0]) is None  # certainly not posted: the claim was released
    again = bot.review.sync()
    assert again.posted == 1 and not again.errors
    assert_posted_exactly_once(slack, bot.db, sids)


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found"])
def test_slack_channel_errors_while_posting_are_reported_and_recovered(bot, sandbox, slack, error):
    cid = sandbox.add_campaign("Where is the channel", status="Active")
    sids = [sandbox.add_submission(cid) for _ in range(3)]
    if error == "not_in_channel":
        slack.set_members("C_REVIEW", ["U_ALICE", "U_BOB"])  # someone removed the bot
    else:
        slack.fail_next("chat.postMessage", error=error, count=3)
    report = bot.review.sync()
    assert report.posted == 0 and report.failed == 3
    assert f"Slack said {error}" in report.summary()
    assert all(subs.get(bot.db, sid) is None for sid in sids)
    slack.set_members("C_REVIEW", ["U_ALICE", "U_BOB", "UBOT"])
    again = bot.review.sync()  # the campaign's counts were not saved: it is read again
    assert again.posted == 3 and not again.errors
    assert_posted_exactly_once(slack, bot.db, sids)


def test_slack_5xx_then_unreadable_history_never_posts_twice(bot, sandbox, slack):
    cid = sandbox.add_campaign("Slack is down", status="Active")
    first = sandbox.add_submission(cid)
    slack.fail_next("chat.postMessage", error="service_unavailable", status=503)
    assert bot.review.sync().failed == 1
    assert subs.get(bot.db, first).state == "claimed"  # maybe posted: keep the claim
    second = sandbox.add_submission(cid)
    slack.fail_next("conversations.history", error="internal_error", status=500)
    report = bot.review.sync()
    assert "could not read the review channel's history" in report.summary()
    assert report.posted == 1 and posted_ids(slack) == [second]  # new work still flows
    assert subs.get(bot.db, first).state == "claimed"
    third = bot.review.sync()
    assert third.recovered == 1 and not third.errors
    assert_posted_exactly_once(slack, bot.db, [first, second])


def test_slack_stored_the_post_then_the_connection_dropped_the_next_sync_finds_it(bot, sandbox, slack):
    """Slack stored the message, then the connection dropped before the answer: the
    claim is kept (it may be posted), nothing is posted again behind our back, and
    the next sync finds the message by its metadata instead of posting a second one."""
    cid = sandbox.add_campaign("Dropped answer", status="Active")
    sids = [sandbox.add_submission(cid) for _ in range(2)]
    slack.drop_after_store("chat.postMessage")
    report = bot.review.sync()
    assert [c.error for c in slack.calls_to("chat.postMessage")][0] == "connection_dropped"
    assert report.failed == 1 and "connection closed" in report.summary(), report.summary()
    assert posted_ids(slack) == [sids[0]]  # in the channel once; Slack looked down, so the cycle stopped
    assert subs.get(bot.db, sids[0]).state == "claimed"  # maybe posted: the claim is not released
    assert subs.get(bot.db, sids[1]) is None
    again = bot.review.sync()
    assert again.recovered == 1 and again.posted == 1 and not again.errors, again.summary()
    assert_posted_exactly_once(slack, bot.db, sids)


def test_history_answering_ok_false_during_recovery_posts_nothing_again(bot, sandbox, slack):
    """conversations.history answering {"ok": false} (HTTP 200) while claims wait to be
    recovered is "unknown", not "nothing found": the claims stay unposted and nothing is
    posted again in that cycle; a later cycle that can read the history recovers them."""
    cid = sandbox.add_campaign("History says no", status="Active")
    first = sandbox.add_submission(cid)
    slack.drop_after_store("chat.postMessage")  # stored in the channel, the answer lost
    assert bot.review.sync().failed == 1
    assert subs.get(bot.db, first).state == "claimed" and len(review_messages(slack)) == 1
    posts_before = len(slack.calls_to("chat.postMessage"))
    slack.fail_next("conversations.history", error="internal_error", status=200)
    report = bot.review.sync()
    assert [c.status for c in slack.calls_to("conversations.history")] == [200]
    assert "could not read the review channel's history" in report.summary(), report.summary()
    assert report.recovered == 0 and report.posted == 0
    assert len(slack.calls_to("chat.postMessage")) == posts_before  # nothing posted again this cycle
    assert subs.get(bot.db, first).state == "claimed" and len(review_messages(slack)) == 1
    later = bot.review.sync()
    assert later.recovered == 1 and not later.errors, later.summary()
    assert_posted_exactly_once(slack, bot.db, [first])


# --- SQLite under load ------------------------------------------------------------------------


def test_concurrent_clicks_during_a_big_sync_never_hit_a_locked_database(make_bot, sandbox, slack):
    bot = make_bot(GIGDESK_BATCH_ABOVE="1000")  # one message per submission: the most writes
    campaigns = [sandbox.add_campaign(f"Load {n}", status="Active") for n in range(4)]
    first = [sandbox.add_submission(campaigns[n % 4]) for n in range(30)]
    assert bot.review.sync().posted == 30
    rows = {sid: subs.get(bot.db, sid) for sid in first}
    later = [sandbox.add_submission(campaigns[n % 4]) for n in range(100)]
    sandbox.set_latency(0.05, path_contains="/approve")

    bodies = []
    for n, sid in enumerate(first):
        user = ("U_ALICE", "U_BOB")[n % 2]
        for _ in range(2):  # everyone double-clicks
            bodies.append(block_actions_body(ids.REVIEW_APPROVE, str(sid), message_ts=rows[sid].ts, user_id=user,
                                             response_url=slack.response_url(f"load-{sid}", user=user, message_ts=rows[sid].ts)))
    report_box = []
    syncing = threading.Thread(target=lambda: report_box.append(bot.review.sync()))
    session_local = threading.local()

    def send(body):
        session = getattr(session_local, "s", None) or setattr(session_local, "s", requests.Session()) or session_local.s
        return session.post(bot.events_url, data=body, headers=sign(body), timeout=10).status_code

    bot.review.post_interval = 0.02  # a sync of 100 posts takes 2 s or more
    syncing.start()
    wait_for(lambda: len(review_messages(slack)) > 32)  # clicks land while the sync is writing
    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(send, bodies))
    assert syncing.is_alive()  # the clicks overlapped the sync
    syncing.join(timeout=60)
    assert statuses == [200] * len(bodies)
    wait_for(lambda: all(subs.get(bot.db, sid).state == "approved" for sid in first), timeout=20)
    report = report_box[0]
    assert report.posted == 100 and not report.errors, report.summary()
    assert posted_ids(slack) == sorted(first + later)
    for sid in later:
        assert subs.get(bot.db, sid).state == "posted"
    for sid in first:
        assert sandbox.count(method="POST", path_contains=f"/submissions/{sid}/approve") == 1
    refusals = wait_for(lambda: (e := slack.ephemerals()) and len(e) >= 30 and e)
    assert len(refusals) == 30 and all("already" in e["text"] for e in refusals), [e["text"] for e in refusals if "already" not in e["text"]]
    assert not any(WENT_WRONG in e["text"] for e in slack.ephemerals())
