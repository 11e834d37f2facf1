"""Money, end to end over real HTTP: approve-all pays only what it offered, flagged
submissions are left out by default, who may spend is explicit, spending limits.

Signed requests to the running bot, replies in the Slack stand-in, money in the
RapidWorkers simulator. The harness makes U_ALICE and U_BOB spenders; tests of the
product default pass GIGDESK_SPENDERS="" (unset).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from bot.config import ConfigError, load_settings
from bot.slack import ids
from bot.spending.rules import local_day
from storage import audit as audit_store
from storage import offers as offer_store
from storage import rows as row_types
from storage import submissions as subs
from tests.bot.rw.test_rw_command import RW, buttons, text_of
from tests.support.harness import wait_for
from tests.support.sqlite_lock import sessions_waiting_to_write, threads_waiting_to_write, write_lock_held

REASON = {ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: {"type": "plain_text_input", "value": "Cropped screenshot"}},
          ids.REJECT_PRESET_BLOCK: {ids.REJECT_PRESET_INPUT: {"type": "static_select", "selected_option": None}}}
JOB_5 = "job youtube-likes https://www.youtube.com/watch?v=1 100"  # $5.00
JOB_250 = "job youtube-likes https://www.youtube.com/watch?v=2 50"  # $2.50


@pytest.fixture
def drive(make_bot, slack):
    """drive(**env) -> an RW driver for a bot started with those settings."""
    drivers = []

    def make(**env):
        # Proof checks off: approve-all would leave out what a sync just posted until its check is
        # done (tests/bot/forensics/test_checks_beside_posting.py); here only the money rules count.
        env.setdefault("GIGDESK_FORENSICS", "off")
        driver = RW(make_bot(**env), slack)
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        driver.poster.session.close()


def in_parallel(*calls):
    """Run the calls at once on threads (real concurrent requests); return their results."""
    results = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(n, call):
        start.wait()
        results[n] = call()

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def approve_calls(sandbox, sid: int) -> int:
    return sandbox.count(path_contains=f"/submissions/{sid}/approve")


def reject_calls(sandbox, sid: int) -> int:
    return sandbox.count(path_contains=f"/submissions/{sid}/reject")


def audit(bot) -> list[row_types.AuditEntry]:
    return audit_store.audit_since(bot.db, "2000")


def three_posted_and_offered(rw, sandbox, title: str) -> tuple[str, list[int], dict]:
    """A campaign paying $1.00 with three submissions posted for review, and its approve-all offer."""
    campaign = sandbox.add_campaign(title, pay="1.00", total=10)
    sids = [sandbox.add_submission(campaign) for _ in range(3)]
    assert rw.bot.review.sync().posted == 3
    offer = rw.command(f"approve-all {campaign}")
    assert "*3*" in text_of(offer) and "$3.00" in text_of(offer)
    return campaign, sids, offer


# --- approve-all pays only for what was offered ----------------------------------------------


@pytest.mark.usefixtures("db_backend")  # on SQLite and PostgreSQL
def test_approve_all_pays_only_for_the_submissions_it_offered(drive, sandbox):
    rw = drive()
    campaign = sandbox.add_campaign("Survey", pay="2.00", total=100)
    offered = [sandbox.add_submission(campaign) for _ in range(2)]
    rw.bot.review.sync()  # approve-all offers only what was posted for review
    offer = rw.command(f"approve-all {campaign}")
    assert "*2*" in text_of(offer) and "$4.00" in text_of(offer)
    arrived_later = [sandbox.add_submission(campaign) for _ in range(40)]

    done = text_of(rw.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM]))
    assert "Approved 2 of the 2" in done and "paid $4.00" in done
    assert sandbox.balance == Decimal("996.00")  # $4.00 spent, not $84.00
    assert [sandbox.submission(s)["status"] for s in offered] == ["Approved"] * 2
    assert {sandbox.submission(s)["status"] for s in arrived_later} == {"Pending"}
    assert sandbox.count(path_contains="bulk_action") == 0
    assert rw.bot.review.sync().posted == 40  # the unseen ones still go to review; the approved two do not


def test_approve_all_leaves_out_submissions_never_posted_for_review(drive, sandbox):
    """Approve-all offers only what a reviewer could have seen: pending submissions that no sync
    has posted to the review channel yet are left out, the offer says so, and Confirm pays none
    of them (they go to review as usual)."""
    rw = drive()
    campaign = sandbox.add_campaign("Half seen", pay="1.00", total=100)
    seen = [sandbox.add_submission(campaign) for _ in range(2)]
    assert rw.bot.review.sync().posted == 2
    unseen = [sandbox.add_submission(campaign) for _ in range(3)]  # pending on RapidWorkers, never posted

    offer = text_of(rw.command(f"approve-all {campaign}"))
    assert "*2* unflagged" in offer and "$2.00" in offer, offer
    assert "*3* not yet posted to the review channel are left out" in offer
    done = text_of(rw.click(ids.SPEND_CONFIRM, buttons(rw.command(f"approve-all {campaign}"))[ids.SPEND_CONFIRM]))
    assert "Approved 2 of the 2" in done and sandbox.balance == Decimal("998.00"), done
    assert [sandbox.submission(s)["status"] for s in seen] == ["Approved"] * 2
    assert {sandbox.submission(s)["status"] for s in unseen} == {"Pending"}
    assert all(approve_calls(sandbox, s) == 0 for s in unseen)
    assert rw.bot.review.sync().posted == 3  # they still come to review


@pytest.mark.usefixtures("db_backend")  # on SQLite and PostgreSQL
def test_approve_all_never_pays_a_blocked_worker(drive, sandbox):
    """A worker blocked through gigdesk is never paid by approve-all: their pending submission is
    left out of the offer (which says so), and one whose worker is blocked between the offer and
    Confirm is left out at Confirm."""
    rw = drive()
    campaign = sandbox.add_campaign("Blocked ones", pay="1.00", total=100)
    good, spammer, late = sandbox.add_worker("Good"), sandbox.add_worker("Spammer"), sandbox.add_worker("Late")
    paid = sandbox.add_submission(campaign, worker_id=good)
    of_spammer = sandbox.add_submission(campaign, worker_id=spammer)
    of_late = sandbox.add_submission(campaign, worker_id=late)
    assert rw.bot.review.sync().posted == 3
    assert "Blocked worker" in text_of(rw.command(f"block {spammer}"))

    offer = rw.command(f"approve-all {campaign}")
    said = text_of(offer)
    assert "*2* unflagged" in said and "$2.00" in said, said
    assert "*1* from blocked workers are left out" in said, said
    assert "Blocked worker" in text_of(rw.command(f"block {late}"))  # blocked after the offer, before Confirm

    done = text_of(rw.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM]))
    assert "Approved 1 of the 2" in done and "paid $1.00" in done, done
    assert "1 left out: their worker was blocked after the offer" in done, done
    assert sandbox.balance == Decimal("999.00")
    assert [sandbox.submission(s)["status"] for s in (paid, of_spammer, of_late)] == ["Approved", "Pending", "Pending"]
    assert approve_calls(sandbox, of_spammer) == approve_calls(sandbox, of_late) == 0


def test_approve_all_spends_no_request_on_a_submission_decided_on_the_website(drive, sandbox):
    """Confirm re-reads only the submissions still pending (status=Pending): one decided
    on the RapidWorkers website after the offer costs no money request at all, rather
    than one that RapidWorkers refuses with "already processed"."""
    rw = drive()
    campaign, sids, offer = three_posted_and_offered(rw, sandbox, "Decided elsewhere")
    sandbox.decide_on_website(sids[0], "Approved")
    sandbox.decide_on_website(sids[1], "Rejected")
    sandbox.reset_log()

    done = text_of(rw.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM]))
    assert "Approved 1 of the 3" in done and "2 skipped" in done, done
    money = [r.path for r in sandbox.requests if r.method == "POST" and "/submissions/" in r.path]
    assert money == [f"/api/campaigns/{campaign}/submissions/{sids[2]}/approve/"], money
    assert sandbox.balance == Decimal("998.00")  # the website's approval and ours


def test_a_server_error_stops_approve_all_without_retrying(drive, sandbox):
    rw = drive()
    campaign = sandbox.add_campaign("Flaky", pay="1.00", total=10)
    sids = [sandbox.add_submission(campaign) for _ in range(4)]
    rw.bot.review.sync()
    cid = buttons(rw.command(f"approve-all {campaign}"))[ids.SPEND_CONFIRM]
    sandbox.fail_next(1, status=500, path_contains=f"/submissions/{sids[1]}/approve")
    done = text_of(rw.click(ids.SPEND_CONFIRM, cid))
    assert "Approved 1 of the 4" in done and "1 failed" in done and "2 not attempted" in done
    assert f"/rw campaign {campaign}" in done and "will not retry" in done
    assert sandbox.count(path_contains="/approve") == 2 and sandbox.balance == Decimal("999.00")
    assert subs.get(rw.bot.db, sids[1]).state == "posted"  # still actionable: a new click tries again
    # Partly done: the offer is closed, counting what was paid and what may have been paid against the day.
    row = offer_store.get_confirmation(rw.bot.db, cid)
    assert row.state == "done" and row.spent_cents == 200 and row.result["approved"] == [sids[0]]
    assert "already" in text_of(rw.click(ids.SPEND_CONFIRM, cid))


def test_an_approve_all_that_approved_nothing_and_surely_spent_nothing_stands_again(drive, sandbox):
    rw = drive()
    campaign = sandbox.add_campaign("Refused", pay="1.00", total=10)
    sids = [sandbox.add_submission(campaign) for _ in range(2)]
    rw.bot.review.sync()
    cid = buttons(rw.command(f"approve-all {campaign}"))[ids.SPEND_CONFIRM]
    sandbox.fail_next(1, status=403, path_contains="/approve")  # a refusal the next one would meet too
    refused = text_of(rw.click(ids.SPEND_CONFIRM, cid))
    assert "Nothing was approved" in refused and "the offer above still stands" in refused, refused
    row = offer_store.get_confirmation(rw.bot.db, cid)
    assert row.state == "offered" and not row.spent_cents and sandbox.balance == Decimal("1000.00")
    assert "Approved 2 of the 2" in text_of(rw.click(ids.SPEND_CONFIRM, cid))
    assert {sandbox.submission(s)["status"] for s in sids} == {"Approved"}


def test_an_offer_that_cannot_run_is_withdrawn_without_a_money_call(drive, sandbox):
    """An approve-all offer that does not list its submissions (made before an upgrade) never
    approves blindly: Confirm cancels it, and says to run the command again."""
    rw = drive()
    campaign = sandbox.add_campaign("Old offer", pay="1.00", total=10)
    sandbox.add_submission(campaign)
    rw.bot.review.sync()
    cid = buttons(rw.command(f"approve-all {campaign}"))[ids.SPEND_CONFIRM]
    row = offer_store.get_confirmation(rw.bot.db, cid)
    old_params = {k: v for k, v in row.params.items() if k != "submission_ids"}
    rw.bot.db.execute("UPDATE confirmations SET params = ? WHERE id = ?", [json.dumps(old_params), cid])
    rw.bot.db.conn.commit()
    sandbox.reset_log()
    said = text_of(rw.click(ids.SPEND_CONFIRM, cid))
    assert "made before an upgrade" in said and f"/rw approve-all {campaign}" in said, said
    assert offer_store.get_confirmation(rw.bot.db, cid).state == "cancelled"
    assert sandbox.count(path_contains="/approve") == 0 and sandbox.balance == Decimal("1000.00")
    assert ("withdrawn", cid[:8]) in [(a.outcome, a.target) for a in audit(rw.bot)]


def test_a_reject_under_way_is_not_paid_by_approve_all(drive, sandbox, slack):
    rw = drive()
    _, sids, offer = three_posted_and_offered(rw, sandbox, "Follow us")

    sandbox.set_latency(1.5, path_contains="/reject")  # Bob's reject is on its way to RapidWorkers...
    rw.poster.submit_view(ids.REVIEW_REJECT_MODAL, REASON, private_metadata=str(sids[0]), user_id="U_BOB")
    wait_for(lambda: subs.get(rw.bot.db, sids[0]).state == "rejecting")
    done = text_of(rw.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM]))  # ...when Alice confirms

    assert "Approved 2 of the 3" in done and "1 skipped" in done
    wait_for(lambda: subs.get(rw.bot.db, sids[0]).state == "rejected")
    assert sandbox.submission(sids[0])["status"] == "Rejected" and approve_calls(sandbox, sids[0]) == 0
    assert sandbox.balance == Decimal("998.00")
    for sid in sids[1:]:  # the bulk's decisions rebuild their review messages like a click does
        row = subs.get(rw.bot.db, sid)
        assert row.state == "approved" and row.decided_by == "U_ALICE" and row.decided_via == "bulk"
        message = slack.message(row.channel, row.ts)
        assert not [b for b in message.blocks if b["type"] == "actions"] and "<@U_ALICE>" in text_of(message.to_dict())


@pytest.mark.usefixtures("db_backend")  # on SQLite and PostgreSQL
def test_rejects_racing_a_bulk_approve_never_both_reach_rapidworkers(drive, sandbox):
    rw = drive()
    campaign = sandbox.add_campaign("Race", pay="0.10", total=50)
    sids = [sandbox.add_submission(campaign) for _ in range(12)]
    rw.bot.review.sync()
    cid = buttons(rw.command(f"approve-all {campaign}"))[ids.SPEND_CONFIRM]
    sandbox.set_latency(0.05, path_contains="/approve")
    sandbox.set_latency(0.05, path_contains="/reject")
    rejects = [lambda s=s: rw.poster.submit_view(ids.REVIEW_REJECT_MODAL, REASON, private_metadata=str(s), user_id="U_BOB")
               for s in sids[::2]]
    in_parallel(lambda: rw.click(ids.SPEND_CONFIRM, cid), *rejects)
    wait_for(lambda: all(subs.get(rw.bot.db, s).state in ("approved", "rejected") for s in sids))

    approved = 0
    for sid in sids:
        assert approve_calls(sandbox, sid) + reject_calls(sandbox, sid) == 1, sid  # one decision reached the API
        state = subs.get(rw.bot.db, sid).state
        assert sandbox.submission(sid)["status"].lower() == state
        approved += state == "approved"
    assert sandbox.balance == Decimal("1000.00") - Decimal("0.10") * approved
    assert sandbox.count(path_contains="bulk_action") == 0


@pytest.mark.usefixtures("db_backend")  # on SQLite and PostgreSQL
def test_twenty_concurrent_confirms_of_approve_all_pay_once(drive, sandbox):
    rw = drive()
    campaign = sandbox.add_campaign("Clicky", pay="0.50", total=20)
    sids = [sandbox.add_submission(campaign) for _ in range(4)]
    rw.bot.review.sync()  # approve-all offers only what was posted for review
    cid = buttons(rw.command(f"approve-all {campaign}"))[ids.SPEND_CONFIRM]
    sandbox.set_latency(0.1, path_contains="/approve")
    replies = in_parallel(*[lambda: rw.click(ids.SPEND_CONFIRM, cid)] * 20)
    assert sum("Approved 4 of the 4" in text_of(r) for r in replies) == 1
    assert sandbox.count(path_contains="/approve") == 4 and sandbox.balance == Decimal("998.00")
    assert all(approve_calls(sandbox, s) == 1 for s in sids)


def test_long_approve_all_shows_progress_and_stops_within_the_hourly_budget(drive, sandbox, slack):
    rw = drive()
    campaign = sandbox.add_campaign("Big", pay="0.05", total=100)
    sids = [sandbox.add_submission(campaign) for _ in range(12)]
    rw.bot.review.sync()  # approve-all offers only what was posted for review
    cid = buttons(rw.command(f"approve-all {campaign}"))[ids.SPEND_CONFIRM]
    budget = rw.bot.services.rw.budget
    keep_free = 2 * budget.interactive_reserve
    while budget.remaining() > keep_free + 1 + 5:  # room for the pending list and 5 approvals
        budget.try_acquire()

    name = "confirm-big"
    url = slack.response_url(name, channel="C_REVIEW", user="U_ALICE")
    rw.poster.click(ids.SPEND_CONFIRM, cid, message_ts="1700000000.000100", is_ephemeral=True, response_url=url)
    final = wait_for(lambda: [r for r in slack.responses(name) if "Approved" in r["payload"]["text"]])[-1]["payload"]
    posts = [r["payload"] for r in slack.responses(name)]
    assert "Approving" in posts[0]["text"] and posts[0]["replace_original"] is True  # progress replaced the offer
    assert len(posts) <= 5  # Slack accepts 5 uses of a response_url
    assert "Approved 5 of the 12" in final["text"]
    assert "7 not attempted" in text_of(final) and "hourly RapidWorkers request budget" in text_of(final)
    assert keep_free - 1 <= budget.remaining() <= keep_free  # (+ one balance read for the result)
    assert sum(sandbox.submission(s)["status"] == "Approved" for s in sids) == 5


# --- flagged submissions are left out by default -----------------------------------------------


def test_flagged_submissions_are_left_out_unless_included_explicitly(drive, sandbox):
    rw = drive()
    campaign = sandbox.add_campaign("Mixed", pay="1.00", total=20)
    clean = [sandbox.add_submission(campaign) for _ in range(3)]
    newbie = sandbox.add_worker("Newbie", account_age_days=2)
    shady = sandbox.add_worker("Shady", approval_rate=30)
    flagged = [sandbox.add_submission(campaign, worker_id=newbie), sandbox.add_submission(campaign, worker_id=shady)]

    rw.bot.review.sync()  # approve-all offers only what was posted for review
    offer = rw.command(f"approve-all {campaign}")
    text = text_of(offer)
    assert "*3* unflagged" in text and "$3.00" in text and "*2* flagged" in text
    assert "new account" in text and "low approval rate" in text
    assert set(buttons(offer)) == {ids.SPEND_CONFIRM, ids.SPEND_INCLUDE_FLAGGED, ids.SPEND_CANCEL}
    done = text_of(rw.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM]))
    assert "Approved 3 of the 3" in done and sandbox.balance == Decimal("997.00")
    assert {sandbox.submission(s)["status"] for s in clean} == {"Approved"}
    assert {sandbox.submission(s)["status"] for s in flagged} == {"Pending"}

    # including them is a separate choice, with its own offer and Confirm
    offer = rw.command(f"approve-all {campaign}")
    assert ids.SPEND_CONFIRM not in buttons(offer)  # all that is left is flagged: nothing by default
    first = buttons(offer)[ids.SPEND_INCLUDE_FLAGGED]
    assert "Only <@U_ALICE>" in text_of(rw.click(ids.SPEND_INCLUDE_FLAGGED, first, user="U_BOB"))
    including = rw.click(ids.SPEND_INCLUDE_FLAGGED, first)
    assert including["replace_original"] is True
    assert "including 2 flagged" in text_of(including) and "$2.00" in text_of(including)
    assert sandbox.count(path_contains="/approve") == 3  # nothing more until its Confirm
    assert "cancelled" in text_of(rw.click(ids.SPEND_INCLUDE_FLAGGED, first))  # the first offer is gone
    done = text_of(rw.click(ids.SPEND_CONFIRM, buttons(including)[ids.SPEND_CONFIRM]))
    assert "Approved 2 of the 2" in done and sandbox.balance == Decimal("995.00")
    assert {sandbox.submission(s)["status"] for s in flagged} == {"Approved"}


# --- who may spend is explicit ---------------------------------------------------------------------


def test_channel_membership_grants_reviewing_but_never_spending(drive, sandbox, slack):
    rw = drive(GIGDESK_SPENDERS="")  # the product default: neither GIGDESK_SPENDERS nor GIGDESK_ALLOWED_USERS
    campaign = sandbox.add_campaign("Survey", pay="1.00")
    sid = sandbox.add_submission(campaign)
    for text in (JOB_5, f"approve-all {campaign}", "job", "new"):
        reply = text_of(rw.command(text))  # U_ALICE is a member of the review channel
        assert "nobody may spend money yet" in reply and "GIGDESK_SPENDERS" in reply, (text, reply)
    assert slack.views() == [] and sandbox.balance == Decimal("1000.00")
    assert sandbox.count(path_contains="/approve") + sandbox.count(path_contains="/api/jobs/") == 0
    # ...while reviewing by membership still works
    rw.bot.review.sync()
    row = subs.get(rw.bot.db, sid)
    rw.poster.click(ids.REVIEW_APPROVE, str(sid), message_ts=row.ts, user_id="U_ALICE")
    wait_for(lambda: subs.get(rw.bot.db, sid).state == "approved")
    refused = [a for a in audit(rw.bot) if a.outcome == "refused"]
    assert len(refused) == 4 and {a.detail for a in refused} == {"not a spender"}


def test_spenders_setting_and_its_fallback(drive, sandbox):
    only_bob = drive(GIGDESK_SPENDERS="U_BOB")
    refused = text_of(only_bob.command(JOB_5))  # Alice is a member, but not a spender
    assert "only the people in GIGDESK_SPENDERS" in refused and "`U_ALICE`" in refused
    assert "Confirm" in text_of(only_bob.command(JOB_5, user="U_BOB"))

    fallback = drive(GIGDESK_SPENDERS="", GIGDESK_ALLOWED_USERS="U_ALICE")
    assert "Confirm" in text_of(fallback.command(JOB_5))
    assert "not allowed" in text_of(fallback.command(JOB_5, user="U_BOB"))


def test_guests_in_the_review_channel_may_not_review(drive, sandbox, slack):
    slack.set_members("C_REVIEW", ["U_ALICE", "U_BOB", "U_GUEST", "U_SOLO", "UBOT"])
    slack.add_user("U_GUEST", guest="multi")
    slack.add_user("U_SOLO", guest="single")
    rw = drive()
    campaign = sandbox.add_campaign("Survey", pay="1.00")
    sids = [sandbox.add_submission(campaign) for _ in range(2)]
    rw.bot.review.sync()
    for sid, guest in zip(sids, ("U_GUEST", "U_SOLO"), strict=False):
        rw.poster.click(ids.REVIEW_APPROVE, str(sid), message_ts=subs.get(rw.bot.db, sid).ts, user_id=guest)
        [refusal] = wait_for(lambda g=guest: [e for e in slack.ephemerals(g) if "not allowed" in e["text"]])
        assert "Guests of <#C_REVIEW> may not review: ask an admin to add you to GIGDESK_ALLOWED_USERS" in refusal["text"]
    assert sandbox.count(path_contains="/approve") == 0
    assert {subs.get(rw.bot.db, s).state for s in sids} == {"posted"}
    assert slack.calls_to("users.info")  # guests are told apart with users:read
    rw.poster.click(ids.REVIEW_APPROVE, str(sids[0]), message_ts=subs.get(rw.bot.db, sids[0]).ts, user_id="U_BOB")
    wait_for(lambda: subs.get(rw.bot.db, sids[0]).state == "approved")


@pytest.mark.parametrize("allowed, says", [
    ("", "Join <#C_REVIEW> (non-guests of the review channel may review)."),
    ("U_BOB", "Ask an admin to add you to GIGDESK_ALLOWED_USERS (your member ID is `U_CAROL`)."),
])
def test_review_and_block_refusals_say_what_grants_the_right(drive, sandbox, slack, allowed, says):
    rw = drive(GIGDESK_ALLOWED_USERS=allowed)
    sid = sandbox.add_submission(sandbox.add_campaign("Survey", pay="1.00"))
    rw.bot.review.sync()
    ts = subs.get(rw.bot.db, sid).ts
    for action in (ids.REVIEW_APPROVE, ids.REVIEW_BLOCK):  # U_CAROL is not in the review channel
        rw.poster.click(action, str(sid), message_ts=ts, user_id="U_CAROL")
    refusals = wait_for(lambda: [e["text"] for e in slack.ephemerals("U_CAROL") if "not allowed" in e["text"]] if
                        len(slack.ephemerals("U_CAROL")) == 2 else None)
    assert sorted(refusals) == sorted([f":warning: You are not allowed to review submissions. {says}",
                                       f":warning: You are not allowed to block workers. {says}"])
    assert subs.get(rw.bot.db, sid).state == "posted" and sandbox.count(path_contains="/approve") == 0


# --- spending limits ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("db_backend")  # on SQLite and PostgreSQL
def test_daily_limit_is_shown_in_the_offer_and_enforced(drive, sandbox):
    rw = drive(GIGDESK_DAILY_SPEND_LIMIT="7.50", GIGDESK_TZ="Pacific/Kiritimati")
    offer = rw.command(JOB_5)
    assert "Daily limit $7.50 per person: $0.00 spent today, $7.50 left." in text_of(offer)
    earlier = rw.command(JOB_5.replace("v=1", "v=9"))  # also within the limit when offered...
    assert "Created" in text_of(rw.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM]))
    late = text_of(rw.click(ids.SPEND_CONFIRM, buttons(earlier)[ids.SPEND_CONFIRM]))  # ...but not at its Confirm
    assert "go over the daily spending limit of $7.50" in late and "$5.00 already spent today" in late
    assert "$5.00 spent today, $2.50 left" in text_of(rw.command(JOB_250))
    over = rw.command(JOB_5)
    assert "go over your daily spending limit" in text_of(over) and ids.SPEND_CONFIRM not in buttons(over)
    assert "Confirm" in text_of(rw.command(JOB_5, user="U_BOB"))  # per person
    assert sandbox.count(path_contains="/api/jobs/") == 1
    assert any(a.detail == "over the daily spend limit" for a in audit(rw.bot))


def test_daily_limit_counts_the_local_day_in_gigdesk_tz(drive, sandbox):
    rw = drive(GIGDESK_DAILY_SPEND_LIMIT="10.00", GIGDESK_TZ="Pacific/Kiritimati")  # UTC+14
    start, _ = local_day(rw.bot.settings.tz)
    moment = datetime.fromisoformat(start)
    for cid, at in (("yesterday-local-0000000", moment - timedelta(minutes=1)), ("today-local-00000000000", moment)):
        offer_store.create_confirmation(rw.bot.db, cid, "U_ALICE", "prefilled", {}, "4.00", "2999-01-01T00:00:00+00:00")
        assert offer_store.take_confirmation(rw.bot.db, cid, at.isoformat(timespec="microseconds"), cost_cents=400) == "taken"
        offer_store.finish_confirmation(rw.bot.db, cid, "done", {}, spent_cents=400)
    assert "$4.00 spent today, $6.00 left" in text_of(rw.command(JOB_5))


def test_confirm_counts_the_local_day_at_23_30_when_utc_is_already_tomorrow(drive, sandbox):
    """The daily limit at Confirm (not only in the offer text) is the day in GIGDESK_TZ.
    New York, limit $10: $5 spent at 15:00 (20:00 UTC). At 23:25 (04:25 UTC, the next
    UTC day) $4 and $1.50 are offered (each fits: $5 left); $1.50 is confirmed; at 23:30
    the $4 would make $10.50 on the local day: refused. The UTC day holds only $1.50."""
    rw = drive(GIGDESK_DAILY_SPEND_LIMIT="10.00", GIGDESK_TZ="America/New_York")
    with time_machine.travel(datetime(2026, 11, 2, 20, 0, tzinfo=UTC), tick=True) as clock:  # 15:00 EST
        assert "Created" in text_of(rw.click(ids.SPEND_CONFIRM, buttons(rw.command(JOB_5))[ids.SPEND_CONFIRM]))
        rw.poster.session.close()  # a kept-alive connection idle for hours would be closed under it
        clock.move_to(datetime(2026, 11, 3, 4, 25, tzinfo=UTC))  # 23:25 EST, Nov 2
        four = rw.command("job youtube-likes https://www.youtube.com/watch?v=4 80")
        assert "$5.00 spent today, $5.00 left" in text_of(four), text_of(four)
        one_fifty = rw.command("job youtube-likes https://www.youtube.com/watch?v=5 30")
        assert "Created" in text_of(rw.click(ids.SPEND_CONFIRM, buttons(one_fifty)[ids.SPEND_CONFIRM]))
        clock.move_to(datetime(2026, 11, 3, 4, 30, tzinfo=UTC))  # 23:30 EST, Nov 2
        late = text_of(rw.click(ids.SPEND_CONFIRM, buttons(four)[ids.SPEND_CONFIRM]))
        assert "go over the daily spending limit of $10.00" in late and "$6.50 already spent today" in late, late
        assert offer_store.spent_cents(rw.bot.db, "U_ALICE", local_day(rw.bot.settings.tz)) == 650
    assert sandbox.count(path_contains="/api/jobs/") == 2 and sandbox.balance == Decimal("993.50")


def confirmed_at_once(rw, sandbox, *jobs: str, times: int) -> list[dict]:
    """Offer each job, then click every offer's Confirm `times` times, all at once (jobs take 0.2 s)."""
    confirms = [buttons(rw.command(job))[ids.SPEND_CONFIRM] for job in jobs]
    sandbox.set_latency(0.2, path_contains="/api/jobs/")
    return in_parallel(*[lambda c=c: rw.click(ids.SPEND_CONFIRM, c) for c in confirms * times])


@pytest.mark.usefixtures("db_backend")  # on SQLite and PostgreSQL
def test_concurrent_confirms_cannot_both_pass_the_daily_limit(drive, sandbox):
    """Limit $6, two $5 offers, both Confirms at once. The test holds SQLite's write lock
    until both Confirms wait for it, so both have done everything they do before their
    write transaction: if the "spent today" check ran outside the transaction that
    reserves, both would have read $0 and both would pass. In one transaction, the
    second to get the lock sees the first's reservation: one job, one refusal."""
    rw = drive(GIGDESK_DAILY_SPEND_LIMIT="6.00")
    first = buttons(rw.command(JOB_5))[ids.SPEND_CONFIRM]
    second = buttons(rw.command(JOB_5.replace("v=1", "v=3")))[ids.SPEND_CONFIRM]
    replies = []
    url = rw.bot.settings.database_url
    with write_lock_held(rw.bot.settings.db_path, url):
        clicks = [threading.Thread(target=lambda c=c: replies.append(rw.click(ids.SPEND_CONFIRM, c)))
                  for c in (first, second)]
        for click in clicks:
            click.start()
        # both Confirms lined up at the lock (PostgreSQL: the database's sessions waiting for it)
        wait_for(lambda: sessions_waiting_to_write(url) >= 2 if url else threads_waiting_to_write(rw.bot.features.rw) == 2)
    for click in clicks:
        click.join(timeout=20)
    assert sum("Created" in text_of(r) for r in replies) == 1, [text_of(r) for r in replies]
    assert sum("go over the daily spending limit" in text_of(r) for r in replies) == 1
    assert sandbox.count(path_contains="/api/jobs/") == 1 and sandbox.balance == Decimal("995.00")
    assert offer_store.spent_cents(rw.bot.db, "U_ALICE", local_day(rw.bot.settings.tz)) == 500


def test_second_approval_only_above_the_threshold_not_at_it(drive, sandbox, slack):
    """GIGDESK_SECOND_APPROVAL_ABOVE=5.00, one offer each on a fresh day: exactly $5.00
    is carried out at its requester's Confirm; $5.01 (one cent above) only asks a second
    spender and calls nothing."""
    rw = drive(GIGDESK_SECOND_APPROVAL_ABOVE="5.00")
    at = sandbox.add_campaign("At the threshold", pay="5.00", total=10)
    above = sandbox.add_campaign("A cent above", pay="5.01", total=10)
    at_sid, above_sid = sandbox.add_submission(at), sandbox.add_submission(above)

    rw.bot.review.sync()  # approve-all offers only what was posted for review
    offer = rw.command(f"approve-all {at}")  # Alice's first spend today
    assert "$5.00" in text_of(offer) and "second" not in text_of(offer), text_of(offer)
    done = text_of(rw.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM]))
    assert "Approved 1 of the 1" in done and approve_calls(sandbox, at_sid) == 1, done

    offer = rw.command(f"approve-all {above}", user="U_BOB")  # Bob's first spend today
    assert "Above $5.00 a day: after your Confirm, a second, different spender must confirm too" in text_of(offer)
    asked = text_of(rw.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM], user="U_BOB"))
    assert "I asked in <#C_REVIEW>" in asked, asked
    assert approve_calls(sandbox, above_sid) == 0 and sandbox.submission(above_sid)["status"] == "Pending"
    assert [m for m in slack.messages("C_REVIEW") if "<@U_BOB> asks to spend $5.01" in m.text]
    assert sandbox.balance == Decimal("995.00")


@pytest.mark.usefixtures("db_backend")  # on SQLite and PostgreSQL
def test_a_spend_above_the_threshold_waits_for_a_second_spender(drive, sandbox, slack):
    rw = drive(GIGDESK_SECOND_APPROVAL_ABOVE="4.00", GIGDESK_SPENDERS="U_ALICE,U_BOB,U_CAROL")
    small = rw.command(JOB_250)
    assert "second" not in text_of(small)
    offer = rw.command(JOB_5)
    assert "Above $4.00 a day: after your Confirm, a second, different spender must confirm too" in text_of(offer)
    cid = buttons(offer)[ids.SPEND_CONFIRM]

    asked = in_parallel(*[lambda: rw.click(ids.SPEND_CONFIRM, cid)] * 10)  # the requester's Confirm only asks
    assert sum("I asked in <#C_REVIEW>" in text_of(r) for r in asked) == 1
    assert sandbox.count(path_contains="/api/jobs/") == 0
    [request] = [m for m in slack.messages("C_REVIEW") if "asks to spend" in m.text]
    assert "<@U_ALICE> asks to spend $5.00" in request.text
    assert [e["value"] for b in request.blocks if b["type"] == "actions" for e in b["elements"]] == [cid, cid]

    def click_request(user):
        name = f"second-{user}-{threading.get_ident()}"
        url = slack.response_url(name, channel="C_REVIEW", user=user, message_ts=request.ts)
        rw.poster.click(ids.SPEND_CONFIRM, cid, user_id=user, message_ts=request.ts, response_url=url)
        return wait_for(lambda: slack.responses(name))[-1]["payload"]

    assert "a second, different spender must confirm" in text_of(click_request("U_ALICE"))
    assert "not allowed" in text_of(click_request("U_MALLORY"))
    confirmed = in_parallel(*[lambda u=u: click_request(u) for u in ("U_BOB", "U_CAROL") * 10])
    assert sum("Created" in text_of(r) for r in confirmed) == 1
    assert sandbox.count(path_contains="/api/jobs/") == 1 and sandbox.balance == Decimal("995.00")
    done = offer_store.get_confirmation(rw.bot.db, cid)
    assert done.state == "done" and done.user_id == "U_ALICE" and done.second_by in ("U_BOB", "U_CAROL")
    assert "confirmed by" in slack.message("C_REVIEW", request.ts).text or any(
        "confirmed by" in text_of(r) for r in confirmed)
    steps = [(a.user_id, a.outcome) for a in audit(rw.bot) if a.target == cid[:8]]
    assert ("U_ALICE", "second-approval-requested") in steps and (done.second_by, "second-approved") in steps
    assert ("U_ALICE", "refused") in steps and ("U_MALLORY", "refused") in steps


JOB_20 = "job youtube-likes https://www.youtube.com/watch?v=20 400"  # $20.00
JOB_10 = "job youtube-likes https://www.youtube.com/watch?v=10 200"  # $10.00


def test_second_approval_counts_the_day_so_two_offers_cannot_split_around_it(drive, sandbox, slack):
    rw = drive(GIGDESK_SECOND_APPROVAL_ABOVE="30.00", GIGDESK_TZ="Pacific/Kiritimati")
    first, second = rw.command(JOB_20), rw.command(JOB_20.replace("v=20", "v=21"))  # offered before either is confirmed
    assert "second" not in text_of(first) + text_of(second)  # each alone is under $30
    assert "Created" in text_of(rw.click(ids.SPEND_CONFIRM, buttons(first)[ids.SPEND_CONFIRM]))
    asked = text_of(rw.click(ids.SPEND_CONFIRM, buttons(second)[ids.SPEND_CONFIRM]))
    assert "With the $20.00 spent today this comes to $40.00, above $30.00 a day, a second spender must confirm" in asked
    assert sandbox.count(path_contains="/api/jobs/") == 1  # the second waits for another spender
    assert "With the $20.00 spent today this comes to $40.00, above $30.00 a day" in text_of(rw.command(JOB_20))
    [request] = [m for m in slack.messages("C_REVIEW") if "asks to spend" in m.text]
    url = slack.response_url("bob", channel="C_REVIEW", user="U_BOB", message_ts=request.ts)
    rw.poster.click(ids.SPEND_CONFIRM, buttons(second)[ids.SPEND_CONFIRM], user_id="U_BOB", message_ts=request.ts, response_url=url)
    assert "Created" in text_of(wait_for(lambda: slack.responses("bob"))[-1]["payload"])
    assert sandbox.count(path_contains="/api/jobs/") == 2
    assert "second" not in text_of(rw.command(JOB_10, user="U_BOB"))  # per person: Bob spent nothing


def test_a_day_exactly_at_the_second_approval_threshold_needs_none(drive, sandbox):
    rw = drive(GIGDESK_SECOND_APPROVAL_ABOVE="30.00")
    assert "Created" in text_of(rw.click(ids.SPEND_CONFIRM, buttons(rw.command(JOB_20))[ids.SPEND_CONFIRM]))
    at_threshold = rw.command(JOB_10)  # $20 + $10 == $30: not above it
    assert "second" not in text_of(at_threshold)
    assert "Created" in text_of(rw.click(ids.SPEND_CONFIRM, buttons(at_threshold)[ids.SPEND_CONFIRM]))
    assert sandbox.count(path_contains="/api/jobs/") == 2


@pytest.mark.usefixtures("db_backend")  # on SQLite and PostgreSQL
def test_concurrent_confirms_cannot_split_around_the_second_approval(drive, sandbox):
    rw = drive(GIGDESK_SECOND_APPROVAL_ABOVE="30.00")
    replies = confirmed_at_once(rw, sandbox, JOB_20, JOB_20.replace("v=20", "v=22"), times=5)
    assert sum("Created" in text_of(r) for r in replies) == 1
    assert sum("a second spender must confirm" in text_of(r) for r in replies) == 1
    assert sandbox.count(path_contains="/api/jobs/") == 1


def test_approve_all_counts_the_days_other_spends_for_the_second_approval(drive, sandbox):
    rw = drive(GIGDESK_SECOND_APPROVAL_ABOVE="30.00")
    assert "Created" in text_of(rw.click(ids.SPEND_CONFIRM, buttons(rw.command(JOB_20))[ids.SPEND_CONFIRM]))
    campaign = sandbox.add_campaign("Survey", pay="6.00", total=10)
    sids = [sandbox.add_submission(campaign) for _ in range(2)]  # $12: $32 today
    rw.bot.review.sync()  # approve-all offers only what was posted for review
    offer = rw.command(f"approve-all {campaign}")
    assert "With the $20.00 spent today this comes to $32.00, above $30.00 a day" in text_of(offer)
    assert "a second spender must confirm" in text_of(rw.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM]))
    assert sandbox.count(path_contains="/approve") == 0 and {sandbox.submission(s)["status"] for s in sids} == {"Pending"}


# --- settings -----------------------------------------------------------------------------------------

BASE = {
    "SLACK_BOT_TOKEN": "xoxb-1-secret",
    "SLACK_SIGNING_SECRET": "signing-secret-value",
    "RAPIDWORKERS_API_KEY": "rw-key-value",
    "GIGDESK_REVIEW_CHANNEL": "C0REVIEW",
}


def settings(**overrides):
    return load_settings({**BASE, **overrides}, dotenv_path="")


def test_spending_settings_and_defaults():
    s = settings()
    assert s.spenders == frozenset() and s.daily_spend_limit is None and s.second_approval_above is None
    assert settings(GIGDESK_ALLOWED_USERS="U01,U02").spenders == {"U01", "U02"}
    s = settings(GIGDESK_ALLOWED_USERS="U01", GIGDESK_SPENDERS="U03, U04",
                 GIGDESK_DAILY_SPEND_LIMIT="$1,500.5", GIGDESK_SECOND_APPROVAL_ABOVE="100")
    assert s.spenders == {"U03", "U04"} and s.allowed_users == {"U01"}
    assert s.daily_spend_limit == Decimal("1500.50") and s.second_approval_above == Decimal("100.00")


@pytest.mark.parametrize("name, value", [
    ("GIGDESK_SPENDERS", "alice"),
    ("GIGDESK_DAILY_SPEND_LIMIT", "lots"),
    ("GIGDESK_DAILY_SPEND_LIMIT", "-5"),
    ("GIGDESK_DAILY_SPEND_LIMIT", "1.005"),
    ("GIGDESK_DAILY_SPEND_LIMIT", "NaN"),
    ("GIGDESK_SECOND_APPROVAL_ABOVE", "ten"),
    ("GIGDESK_SECOND_APPROVAL_ABOVE", "Infinity"),
])
def test_bad_spending_setting_names_the_variable(name, value):
    with pytest.raises(ConfigError) as caught:
        settings(**{name: value})
    assert name in str(caught.value) and "\n" not in str(caught.value)
