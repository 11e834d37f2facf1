"""The review loop end to end: sync posts once, clicks decide once, over real HTTP."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal

import pytest
import requests

from bot.slack import ids
from storage import audit as audit_store
from storage import submissions as subs
from tests.support.harness import RunningBot, bot_env, wait_for
from tests.support.mrkdwn_check import parsed_text
from tests.support.slack_requests import block_actions_body, sign

HOSTILE = "<!channel> hi <@U0BOSS> see <https://evil.example|your bank> & <!here>"


def review_messages(slack):
    return [m for m in slack.messages("C_REVIEW", include_replies=False) if (m.metadata or {}).get("event_type") == ids.SUBMISSION_EVENT]


def action_ids(message) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def all_text(message) -> str:
    return json.dumps(message.blocks) + message.text


def message_parsed_text(message) -> str:
    return parsed_text(message.blocks, message.text)


@pytest.fixture
def bot(make_bot):
    """Proof checks off: the message updates counted here are the clicks' (the check's own update
    of a card is tested in tests/bot/forensics/test_checks_beside_posting.py)."""
    return make_bot(GIGDESK_FORENSICS="off")


@pytest.fixture
def campaign(sandbox):
    cid = sandbox.add_campaign("Like our page", status="Active", pay="0.50", total=20)
    return cid


def posted_row(bot, sid):
    return wait_for(lambda: (r := subs.get(bot.db, sid)) and r.ts and r)


@pytest.mark.usefixtures("db_backend")  # on SQLite and PostgreSQL
def test_each_pending_submission_is_posted_once_across_syncs_and_restarts(make_bot, sandbox, slack, campaign):
    ids_ = [sandbox.add_submission(campaign, proof_text=f"proof {n}", images=2) for n in range(3)]
    bot = make_bot()
    first = bot.review.sync()
    assert first.posted == 3
    assert sorted(m.metadata["event_payload"]["submission_id"] for m in review_messages(slack)) == sorted(ids_)
    again = bot.review.sync()
    assert again.posted == 0 and len(review_messages(slack)) == 3
    bot.stop()
    restarted = make_bot()
    sandbox.add_submission(campaign, proof_text="one more")
    report = restarted.review.sync()
    assert report.posted == 1 and len(review_messages(slack)) == 4
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 4  # nothing but review messages was posted by the syncs


def test_message_has_thumbnails_worker_facts_and_exact_buttons(bot, sandbox, slack, campaign):
    worker = sandbox.add_worker("NewbieNick", account_age_days=2, approval_rate=30, completed=1)
    sid = sandbox.add_submission(campaign, worker_id=worker, proof_text="I liked it", images=7)
    bot.review.sync()
    message = slack.message("C_REVIEW", posted_row(bot, sid).ts)
    images = [b for b in message.blocks if b["type"] == "image"]
    assert len(images) == 1 and images[0]["alt_text"] == "Proof image 1 of 7"  # one large image, the rest in a row
    assert all(f"/{sid}/{n}." in all_text(message) for n in range(1, 8))
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == ["Approve", "Reject", "Block worker"]
    assert buttons[0]["style"] == "primary" and buttons[1]["style"] == "danger"
    assert "confirm" in buttons[2]
    text = all_text(message)
    assert "NewbieNick" in text and "new account" in text and "low approval rate" in text
    assert "<!date^" in text and "Like our page" in text


def test_hostile_text_is_escaped(bot, sandbox, slack):
    cid = sandbox.add_campaign("<!everyone> Free money", status="Active")
    worker = sandbox.add_worker("<@U0ADMIN>")
    sid = sandbox.add_submission(cid, worker_id=worker, proof_text=HOSTILE + " x" * 3000)
    bot.review.sync()
    message = slack.message("C_REVIEW", posted_row(bot, sid).ts)
    text = message_parsed_text(message)
    for dangerous in ("<!channel>", "<!here>", "<@U0BOSS>", "<https://evil.example", "<!everyone>", "<@U0ADMIN>"):
        assert dangerous not in text
    assert "&lt;!channel&gt;" in text and "&amp;" in text
    proof = next(b for b in message.blocks if b["type"] == "section" and b.get("text", {}).get("text", "").startswith("*Proof*"))
    assert len(proof["text"]["text"]) <= 3000 and proof["text"]["text"].endswith("…")


def test_idle_sync_costs_one_request_whatever_the_number_of_campaigns(bot, sandbox):
    for n in range(12):
        cid = sandbox.add_campaign(f"Campaign {n}", status="Active")
        sandbox.add_submission(cid)
    bot.review.sync()
    sandbox.reset_log()
    bot.review.sync()
    assert sandbox.count() == 1
    sandbox.add_submission(cid)
    sandbox.reset_log()
    report = bot.review.sync()
    assert report.posted == 1 and sandbox.count() == 2


def test_pagination_posts_every_page(make_bot, slack, tmp_path):
    from sandbox.rapidworkers import Sandbox

    sim = Sandbox(demo_data=False, page_size_default=10)
    sim.start()
    try:
        cid = sim.add_campaign("Big one", status="Active", total=100)
        for n in range(25):
            sim.add_submission(cid, proof_text=f"p{n}")
        bot = RunningBot(bot_env(slack, sim, str(tmp_path / "p.db"))).start()
        try:
            assert bot.review.sync().posted == 25
            assert sim.count(path_contains="/submissions") == 3
        finally:
            bot.stop()
    finally:
        sim.stop()


def click(poster, bot, sid, action_id, user="U_ALICE"):
    row = posted_row(bot, sid)
    return poster.click(action_id, str(sid), message_ts=row.ts, user_id=user)


def test_approve_acks_fast_then_rebuilds_the_message(bot, sandbox, slack, poster, campaign, transport):
    sid = sandbox.add_submission(campaign, proof_text="done")
    bot.review.sync()
    balance = sandbox.balance
    sandbox.set_latency(1.0, path_contains="/approve")
    started = time.monotonic()
    response = click(poster, bot, sid, ids.REVIEW_APPROVE)
    assert response.status_code == 200 and time.monotonic() - started < 0.9
    wait_for(lambda: subs.get(bot.db, sid).state == "approved")
    assert sandbox.submission(sid)["status"] == "Approved"
    assert balance - sandbox.balance == Decimal("0.50")
    row = subs.get(bot.db, sid)
    assert row.decided_by == "U_ALICE" and row.amount_paid is not None
    message = wait_for(lambda: (m := slack.message("C_REVIEW", row.ts)) and m.updates >= 2 and m)  # in progress, then decided
    assert action_ids(message) == []
    assert "Approved" in all_text(message) and "<@U_ALICE>" in all_text(message) and "<!date^" in all_text(message)
    audit = [a for a in audit_store.audit_since(bot.db, "") if a.action == "approve"]
    assert [a.outcome for a in audit] == ["approved"]


@pytest.mark.usefixtures("db_backend")  # on SQLite and PostgreSQL
def test_twenty_concurrent_clicks_reach_the_api_once(bot, sandbox, slack, poster, campaign):
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    row = posted_row(bot, sid)
    sandbox.set_latency(0.5, path_contains="/approve")
    bodies = [block_actions_body(ids.REVIEW_APPROVE, str(sid), message_ts=row.ts, response_url=slack.response_url(f"c{n}"), user_id=("U_ALICE", "U_BOB")[n % 2]) for n in range(20)]
    results = []

    def send(body):
        results.append(requests.post(bot.events_url, data=body, headers=sign(body), timeout=10).status_code)

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 20
    wait_for(lambda: subs.get(bot.db, sid).state == "approved")
    time.sleep(0.3)
    assert sandbox.count(method="POST", path_contains="/approve") == 1
    refusals = wait_for(lambda: len([e for e in slack.ephemerals() if "already" in e["text"]]) >= 19 and slack.ephemerals())
    assert len([e for e in refusals if "already" in e["text"]]) == 19


def test_reject_needs_a_reason_then_rejects_once(bot, sandbox, slack, poster, campaign, transport):
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    assert click(poster, bot, sid, ids.REVIEW_REJECT).status_code == 200
    view = wait_for(lambda: slack.views())[-1]["view"]
    assert view["callback_id"] == ids.REVIEW_REJECT_MODAL and view["private_metadata"] == str(sid)
    blank = {ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: {"type": "plain_text_input", "value": "   "}},
             ids.REJECT_PRESET_BLOCK: {ids.REJECT_PRESET_INPUT: {"type": "static_select", "selected_option": None}}}
    response = poster.submit_view(ids.REVIEW_REJECT_MODAL, blank, private_metadata=str(sid))
    assert response.status_code == 200 and response.json()["response_action"] == "errors"
    assert ids.REJECT_REASON_BLOCK in response.json()["errors"]
    assert sandbox.count(path_contains="/reject") == 0
    reason = {ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: {"type": "plain_text_input", "value": "Screenshot <!channel> is cropped"}},
              ids.REJECT_PRESET_BLOCK: {ids.REJECT_PRESET_INPUT: {"type": "static_select", "selected_option": None}}}
    assert poster.submit_view(ids.REVIEW_REJECT_MODAL, reason, private_metadata=str(sid)).status_code == 200
    wait_for(lambda: subs.get(bot.db, sid).state == "rejected")
    assert sandbox.submission(sid)["status"] == "Rejected"
    assert "cropped" in sandbox.submission(sid)["notes"]
    row = subs.get(bot.db, sid)
    message = wait_for(lambda: (m := slack.message("C_REVIEW", row.ts)) and m.updates >= 2 and m)  # in progress, then decided
    assert action_ids(message) == [] and "Rejected" in all_text(message) and "&lt;!channel&gt;" in all_text(message)
    # a second submit of the same modal changes nothing
    poster.submit_view(ids.REVIEW_REJECT_MODAL, reason, private_metadata=str(sid))
    wait_for(lambda: any("already rejected" in e["text"] for e in slack.ephemerals()))
    assert sandbox.count(path_contains="/reject") == 1


def test_block_worker_keeps_the_submission_reviewable(bot, sandbox, slack, poster, campaign, transport):
    worker = sandbox.add_worker("Spammy")
    first = sandbox.add_submission(campaign, worker_id=worker)
    second = sandbox.add_submission(campaign, worker_id=worker)
    bot.review.sync()
    assert click(poster, bot, first, ids.REVIEW_BLOCK).status_code == 200
    wait_for(lambda: worker in sandbox.blocked_ids())
    for sid in (first, second):
        row = posted_row(bot, sid)
        message = wait_for(lambda: (m := slack.message("C_REVIEW", row.ts)) and m.updates >= (2 if sid == first else 1) and m)  # noqa: B023 (called within this iteration); the clicked one shows "Blocking…" first
        assert "Worker blocked by <@U_ALICE>" in all_text(message)
        assert action_ids(message) == [ids.REVIEW_APPROVE, ids.REVIEW_REJECT]
        assert subs.get(bot.db, sid).state == "posted"
    assert sandbox.submission(first)["status"] == "Pending"


def test_unauthorised_user_is_refused_and_nothing_is_called(bot, sandbox, slack, poster, campaign):
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    for action in (ids.REVIEW_APPROVE, ids.REVIEW_REJECT, ids.REVIEW_BLOCK):
        assert click(poster, bot, sid, action, user="U_MALLORY").status_code == 200
    refusals = wait_for(lambda: [e for e in slack.ephemerals("U_MALLORY") if "not allowed" in e["text"]] if len(slack.ephemerals("U_MALLORY")) >= 3 else None)
    assert len(refusals) == 3
    assert sandbox.count(path_contains="/approve") + sandbox.count(path_contains="/workers/block") == 0
    assert slack.views() == []
    assert subs.get(bot.db, sid).state == "posted"
    refused = [a for a in audit_store.audit_since(bot.db, "") if a.user_id == "U_MALLORY"]
    assert len(refused) == 3 and {a.outcome for a in refused} == {"refused"}


def test_allowed_users_setting_overrides_channel_membership(make_bot, sandbox, slack, campaign):
    from tests.support.slack_requests import SlackPoster

    bot = make_bot(GIGDESK_ALLOWED_USERS="U_BOB")
    poster = SlackPoster(bot.events_url, standin=slack)
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    click(poster, bot, sid, ids.REVIEW_APPROVE, user="U_ALICE")
    wait_for(lambda: slack.ephemerals("U_ALICE"))
    assert sandbox.count(path_contains="/approve") == 0
    click(poster, bot, sid, ids.REVIEW_APPROVE, user="U_BOB")
    wait_for(lambda: subs.get(bot.db, sid).state == "approved")


def test_server_error_leaves_it_actionable_and_a_new_click_retries(bot, sandbox, slack, poster, campaign):
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    sandbox.fail_next(1, status=500, path_contains="/approve")
    click(poster, bot, sid, ids.REVIEW_APPROVE)
    error = wait_for(lambda: [e for e in slack.ephemerals("U_ALICE") if "still open" in e["text"]])
    assert "Traceback" not in error[0]["text"]
    assert subs.get(bot.db, sid).state == "posted"
    assert sandbox.count(path_contains="/approve") == 1  # not retried behind the user's back
    assert sandbox.submission(sid)["status"] == "Pending"
    click(poster, bot, sid, ids.REVIEW_APPROVE)
    wait_for(lambda: subs.get(bot.db, sid).state == "approved")
    assert sandbox.count(path_contains="/approve") == 2


def test_decided_on_the_website_shows_the_real_status(bot, sandbox, slack, poster, campaign):
    from bot.rapidworkers.client import RapidWorkersClient

    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    RapidWorkersClient(sandbox.api_key, sandbox.url).reject(campaign, sid, "done on the website")
    click(poster, bot, sid, ids.REVIEW_APPROVE)
    wait_for(lambda: subs.get(bot.db, sid).state == "rejected")
    assert wait_for(lambda: [e for e in slack.ephemerals("U_ALICE") if "already rejected on RapidWorkers" in e["text"]])
    row = subs.get(bot.db, sid)
    message = wait_for(lambda: (m := slack.message("C_REVIEW", row.ts)) and m.updates >= 2 and m)  # in progress, then settled
    assert action_ids(message) == [] and "outside Slack" in all_text(message)


def test_sync_settles_messages_decided_on_the_website(bot, sandbox, slack, campaign):
    from bot.rapidworkers.client import RapidWorkersClient

    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    RapidWorkersClient(sandbox.api_key, sandbox.url).approve(campaign, sid)
    assert bot.review.sync().settled == 1
    assert subs.get(bot.db, sid).state == "approved"


@pytest.mark.usefixtures("db_backend")  # on SQLite and PostgreSQL
def test_crash_between_posting_and_recording_does_not_post_twice(bot, sandbox, slack, campaign):
    lost, never = sandbox.add_submission(campaign), sandbox.add_submission(campaign)
    # What a kill leaves behind: both claimed; one message reached Slack, one did not.
    for sid in (lost, never):
        upstream = next(s for s in bot.services.rw.list_submissions(campaign) if s.id == sid)
        subs.claim(bot.db, sid, campaign, upstream.worker_id, {**upstream.to_dict(), "pay": "0.50"})
    bot.review.posting._post(subs.get(bot.db, lost), "C_REVIEW")
    assert len(review_messages(slack)) == 1
    report = bot.review.sync()
    assert report.recovered == 2
    by_sid = {m.metadata["event_payload"]["submission_id"]: m for m in review_messages(slack)}
    assert sorted(by_sid) == sorted([lost, never]) and len(review_messages(slack)) == 2
    assert subs.get(bot.db, lost).ts == by_sid[lost].ts
    assert bot.review.sync().posted == 0 and len(review_messages(slack)) == 2


def test_slack_failure_while_posting_is_retried_next_cycle(bot, sandbox, slack, campaign):
    sid = sandbox.add_submission(campaign)
    slack.fail_next("chat.postMessage", error="channel_not_found")
    report = bot.review.sync()
    assert report.failed == 1 and "channel_not_found" in report.summary()
    assert subs.get(bot.db, sid) is None
    assert bot.review.sync().posted == 1 and len(review_messages(slack)) == 1
    slack.fail_next("chat.postMessage", error="internal_error", status=500)
    other = sandbox.add_submission(campaign)
    assert bot.review.sync().failed == 1
    assert subs.get(bot.db, other).state == "claimed"  # may have been posted: look before re-posting
    assert bot.review.sync().recovered == 1 and len(review_messages(slack)) == 2


@pytest.mark.usefixtures("db_backend")  # on SQLite and PostgreSQL
def test_in_flight_approval_is_settled_from_upstream_at_start(make_bot, sandbox, slack, campaign):
    from bot.rapidworkers.client import RapidWorkersClient

    bot = make_bot()
    done, not_done = sandbox.add_submission(campaign), sandbox.add_submission(campaign)
    bot.review.sync()
    for sid in (done, not_done):
        assert subs.begin_decision(bot.db, sid, "approving", "U_ALICE")
    RapidWorkersClient(sandbox.api_key, sandbox.url).approve(campaign, done)
    bot.stop()
    restarted = make_bot()
    assert restarted.review.settle_in_flight() == 2
    assert subs.get(restarted.db, done).state == "approved"
    assert subs.get(restarted.db, not_done).state == "posted"
    assert sandbox.count(path_contains=f"/submissions/{done}/approve") == 1


@pytest.mark.parametrize("how", ["unsigned", "forged", "stale"])
def test_unverified_requests_get_401_and_change_nothing(bot, sandbox, slack, campaign, how):
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    row = posted_row(bot, sid)
    body = block_actions_body(ids.REVIEW_APPROVE, str(sid), message_ts=row.ts, response_url=slack.response_url())
    if how == "unsigned":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    elif how == "forged":
        headers = sign(body, "not-the-secret")
    else:
        headers = sign(body, timestamp=int(time.time()) - 6 * 60)
    assert requests.post(bot.events_url, data=body, headers=headers, timeout=5).status_code == 401
    time.sleep(0.2)
    assert sandbox.count(path_contains="/approve") == 0 and subs.get(bot.db, sid).state == "posted"


def test_tampered_button_values_are_refused(bot, sandbox, slack, poster, campaign):
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    row = posted_row(bot, sid)
    for value in ("999999", "'; DROP TABLE submissions;--", "", "1e9", "-1"):
        assert poster.click(ids.REVIEW_APPROVE, value, message_ts=row.ts).status_code == 200
    wait_for(lambda: len(slack.ephemerals("U_ALICE")) >= 5)
    assert all("submission I know" in e["text"] for e in slack.ephemerals("U_ALICE"))
    assert sandbox.count(path_contains="/approve") == 0


def test_serve_keeps_syncing_on_its_schedule(make_bot, sandbox, slack, campaign):
    from bot.app import Background

    bot = make_bot(GIGDESK_POLL_SECONDS="1")
    background = Background(bot.gigdesk)
    background.start()
    try:
        job = background.scheduler.get_job("review-sync")
        assert job is not None and job.next_run_time is not None  # scheduled, not paused
        first = sandbox.add_submission(campaign)
        wait_for(lambda: subs.get(bot.db, first) and subs.get(bot.db, first).ts, timeout=10)
        later = sandbox.add_submission(campaign)  # only a later cycle can post this one
        wait_for(lambda: subs.get(bot.db, later) and subs.get(bot.db, later).ts, timeout=10)
    finally:
        background.stop()
    assert len(review_messages(slack)) == 2
