"""Slack, as Slack documents it, end to end over real HTTP: argument limits,
App Home work off Bolt's listener threads, retried events, old response
URLs, and Wonolo time zones that are not zones."""

from __future__ import annotations

import json

import pytest

from bot import ids
from storage import submissions as subs
from tests.support.harness import wait_for


@pytest.fixture
def campaign(sandbox):
    return sandbox.add_campaign("Like our page", status="Active", pay="0.50", total=20)


def posted_row(bot, sid):
    return wait_for(lambda: (r := subs.get(bot.db, sid)) and r["ts"] and r)


# --------------------------------------------------------------------------- conversations.members


def test_reviewer_on_the_second_page_of_members_can_approve(bot, sandbox, slack, poster, campaign):
    """GIGDESK_ALLOWED_USERS empty: the review channel's members decide, read
    with a documented limit (under 1000) and every cursor page followed."""
    assert not bot.settings.allowed_users
    crowd = [f"U_M{n:04d}" for n in range(250)]
    slack.set_members("C_REVIEW", ["UBOT", *crowd[:230], "U_ALICE", *crowd[230:]])
    sid = sandbox.add_submission(campaign, proof_text="done")
    bot.review.sync()
    row = posted_row(bot, sid)

    assert poster.click(ids.REVIEW_APPROVE, str(sid), message_ts=row["ts"], user_id="U_ALICE").status_code == 200
    wait_for(lambda: subs.get(bot.db, sid)["state"] == "approved")
    assert sandbox.submission(sid)["status"] == "Approved"
    member_calls = slack.calls_to("conversations.members")
    assert [c.error for c in member_calls] == [None, None]  # two pages, none refused
    assert all(int(c.args["limit"]) < 1000 for c in member_calls)
    assert member_calls[1].args.get("cursor")
