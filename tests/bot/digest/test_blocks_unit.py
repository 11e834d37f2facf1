"""Unit tier: the digest and App Home builders (pure Block Kit) on hostile campaign and worker text."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.apiclient.fields import from_api
from bot.digest import blocks as digest
from bot.digest import home
from bot.digest.blocks import DigestData, LowBalance, ReviewerTally, Waiting
from bot.rapidworkers.client import Campaign
from bot.slack import ids
from storage.rows import SubmissionRow
from tests.support.mrkdwn_check import parsed_text

pytestmark = pytest.mark.unit

HOSTILE = "<!channel> <https://evil.example|click> & <@U0BOSS>"
MENTIONS = ("<!channel>", "<https://evil", "<@U0BOSS>")
NOW = 1767348000.0


def campaign(cid: str = "c1", **more) -> Campaign:
    return from_api(Campaign, {"jobId": cid, "jobTitle": HOSTILE, "jobSuccessRate": HOSTILE, "jobInstancesCompleted": 5,
                               "jobTotalAvailabilities": 10, "remainingAvailabilities": 1, "pendingSubmissions": 2, **more})


def no_mentions(text: str, blocks: list) -> str:
    seen = parsed_text(blocks, text)
    for m in MENTIONS:
        assert m not in seen
    return seen


def test_campaign_lines_escape_and_count():
    line = digest.campaign_lines(campaign())
    assert "<!channel>" not in line and "&lt;!channel&gt;" in line
    assert "`▓▓▓▓▓░░░░░` 5/10 done · 1 slot left" in line
    assert "success rate n/a" in digest.campaign_lines(campaign(jobSuccessRate=""))


@pytest.mark.parametrize(("balance", "previous", "expected"), [
    (Decimal("12"), Decimal("10"), "up $2.00 since the last digest"), (Decimal("8"), Decimal("10.50"), "down $2.50 since the last digest"),
    (Decimal("5"), Decimal("5"), "unchanged since the last digest"), (Decimal("5"), None, None), (None, Decimal("5"), None)])
def test_balance_change(balance, previous, expected):
    assert digest.balance_change(balance, previous) == expected


def test_low_balance_line_names_each_reason():
    both = LowBalance(threshold=Decimal("10"), waiting_count=1, waiting_cost=Decimal("3"), below_threshold=True, below_waiting=True)
    line = digest.low_balance_line(both)
    assert "below the alert threshold of $10.00" in line and "the 1 waiting submission ($3.00)" in line
    fine = LowBalance(threshold=Decimal("10"), waiting_count=0, waiting_cost=Decimal("0"), below_threshold=False, below_waiting=False)
    assert digest.low_balance_line(fine) is None and digest.low_balance_line(None) is None


def test_waiting_text_escapes_the_title_and_refuses_a_bad_link():
    text = digest.waiting_text(Waiting(count=2, oldest_id=7, oldest_title=HOSTILE, oldest_since="2026-01-02T10:00:00Z",
                                       oldest_link="javascript:alert(1)", flagged=1))
    assert "*Waiting for review:* 2 submissions (:rotating_light: 1 flagged" in text
    assert "<!channel>" not in text and "javascript" not in text and "open it" in text


def test_quiet_digest_says_so_and_a_busy_one_has_every_section():
    quiet_text, quiet = digest.digest_message(DigestData(day_label="Friday", now_epoch=NOW, balance=Decimal("50")))
    assert "Nothing else to report" in parsed_text(quiet)
    assert "balance $50.00" in quiet_text and "0 active campaigns" in quiet_text and "0 waiting for review" in quiet_text
    busy = DigestData(day_label="Friday", now_epoch=NOW, kind="scheduled", balance=Decimal("50"), rw_error=HOSTILE,
                      jobs_count=1, jobs_cost=Decimal("3"), approvals_count=2, approvals_paid=Decimal("0.50"),
                      active=[campaign(f"c{n}") for n in range(digest.MAX_CAMPAIGNS + 2)],
                      reviewers=[ReviewerTally("U0REV", approved=2, rejected=1), ReviewerTally(None, approved=1)],
                      waiting=Waiting(count=3), completed=[campaign("done")])
    text, blocks = digest.digest_message(busy)
    seen = no_mentions(text, blocks)
    assert blocks[0]["text"]["text"] == "Daily digest · Friday"
    assert "*Spent in the last 24 h:* $3.50" in seen and "…and 2 more" in seen
    assert "*Decisions in the last 24 h (4)*" in seen and "<@U0REV>: 2 approved, 1 rejected" in seen
    assert "On RapidWorkers (outside Slack): 1 approved" in seen and "Nothing else to report" not in seen
    assert len(blocks) <= 50


def test_low_balance_alert():
    low = LowBalance(threshold=Decimal("10"), waiting_count=0, waiting_cost=Decimal("0"), below_threshold=True, below_waiting=False)
    text, blocks = digest.low_balance_alert(Decimal("4.5"), low)
    assert "$4.50" in text and "below the alert threshold of $10.00" in parsed_text(blocks)


def decided(sid: int, outcome: str, by: str | None) -> SubmissionRow:
    return SubmissionRow(submission_id=sid, campaign_id="c1", worker_id="W1", state=outcome, data={"campaign_title": HOSTILE, "worker_name": HOSTILE},
                         channel=None, ts=None, claimed_at="", posted_at=None, acting_user=None, acting_since=None, decided_by=by,
                         decided_at="2026-01-02T10:00:00Z", outcome=outcome, amount_paid="0.20", notes=None, decided_via=None,
                         target_channel=None, batch_row=None)


def test_decision_line():
    line = home.decision_line(decided(5, "approved", "U0DEC"))
    assert line.startswith("✅ Approved `5`") and "by <@U0DEC>" in line and "paid $0.20" in line and "<!channel>" not in line
    line = home.decision_line(decided(6, "rejected", None))
    assert line.startswith("❌ Rejected `6`") and "on RapidWorkers" in line and "paid" not in line


def test_home_view_sections_buttons_and_caps():
    view = home.home_view(home.HomeData(now_epoch=NOW, balance=Decimal("9"), rw_error=HOSTILE,
                                        active=[campaign(f"c{n}") for n in range(home.MAX_CAMPAIGNS + 3)],
                                        decisions=[decided(n, "approved", "U0DEC") for n in range(home.MAX_DECISIONS + 4)]))
    assert view["type"] == "home"
    seen = no_mentions("", view["blocks"])
    assert "RapidWorkers unavailable: &lt;!channel&gt;" in seen and "…and 3 more" in seen
    assert seen.count("✅ Approved") == home.MAX_DECISIONS
    assert [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
        ids.HOME_NEW_JOB, ids.HOME_POST_DIGEST, ids.HOME_REFRESH]
    assert len(view["blocks"]) <= 100
    empty = parsed_text(home.home_view(home.HomeData(now_epoch=NOW))["blocks"])
    assert "*Active campaigns:* none" in empty and "*Needs action:* nothing" in empty and "*Last decisions:* none yet" in empty


def test_what_needs_action_comes_first_in_the_digest_and_the_home():
    from datetime import UTC, datetime

    from bot.wonolo.client import JobRequest
    from bot.wonolo_desk.blocks import RECRUITING_STATES, WonoloSummary
    from storage.rows import Offer

    shift = from_api(JobRequest, {"id": "jr1", "state": sorted(RECRUITING_STATES)[0], "request_name": HOSTILE, "slots": 3,
                                  "slots_filled": 1, "timezone": "UTC", "start_time": datetime(2026, 1, 3, 9, tzinfo=UTC).isoformat()})

    offer = Offer(id="o1", user_id="U0ASK", action="custom", params={"summary": HOSTILE}, cost="120.00", state="awaiting_second",
                  created_at="2026-01-02T09:00:00+00:00", expires_at="2026-01-03T09:00:00+00:00", finished_at=None, result=None,
                  taken_at=None, spent_cents=None, asked_at="2026-01-02T09:00:00+00:00", second_by=None)
    waiting = Waiting(count=3, oldest_id=7, oldest_since="2026-01-02T07:00:00+00:00")  # NOW is 2026-01-02 10:00 UTC
    wonolo = WonoloSummary(upcoming=[shift], tomorrow=[shift])
    text, blocks = digest.digest_message(DigestData(day_label="Fri", now_epoch=NOW, balance=Decimal("5"), waiting=waiting,
                                                    wonolo=wonolo, second_approvals=[offer], active=[campaign()]))
    seen = no_mentions(text, blocks)
    needs = seen.index("*Needs action*")
    assert needs < seen.index("*Balance:*") < seen.index("Active campaigns")
    assert "*Waiting for review:* 3 submissions" in seen and "(the oldest for 3 h)" in seen
    assert "*Unfilled shifts:* 1" in seen and "2 open" in seen
    assert "*Waiting for a second approval:* 1" in seen and "$120.00" in seen and "asked by <@U0ASK>" in seen
    view = home.home_view(home.HomeData(now_epoch=NOW, waiting=waiting, wonolo=wonolo, second_approvals=[offer], active=[campaign()]))
    home_seen = no_mentions("", view["blocks"])
    assert home_seen.index("*Needs action*") < home_seen.index("Active campaigns")
    assert "*Unfilled shifts:* 1" in home_seen and "*Waiting for a second approval:* 1" in home_seen
