"""`/rw next` over real HTTP: who may walk, oldest by the worker's submittedAt, and the same
decided-once guard as the channel cards (the browser walk: test_rw_next_browser.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.slack import ids
from storage import submissions as subs
from tests.support.harness import wait_for
from tests.support.slack_requests import view_block_actions_body


@pytest.fixture
def bot(make_bot):
    return make_bot(GIGDESK_FORENSICS="off")


@pytest.fixture
def campaign(sandbox):
    return sandbox.add_campaign("Like our page", status="Active", pay="0.50", total=20)


def shown_in(view: dict) -> int | None:
    """The submission a walk modal shows (its private_metadata: "<id>:<skipped>")."""
    shown = view["private_metadata"].partition(":")[0]
    return int(shown) if shown else None


def walk_view(slack, opened: int = 1) -> dict:
    views = wait_for(lambda: (v := [x for x in slack.views() if (x["view"] or {}).get("callback_id") == ids.NEXT_MODAL])
                     and len(v) >= opened and v)
    return slack.view(views[-1]["id"])


def press(poster, view: dict, action_id: str, user: str = "U_ALICE"):
    [button] = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action_id]
    return poster.post(view_block_actions_body({**button, "block_id": "b", "type": "button"}, view=view, user_id=user))


def test_rw_next_refuses_who_may_not_review_and_opens_nothing(bot, sandbox, slack, poster, campaign):
    sandbox.add_submission(campaign)
    bot.review.sync()
    assert poster.command("/rw", "next", user_id="U_MALLORY", channel_id="C_REVIEW").status_code == 200
    wait_for(lambda: [e for e in slack.ephemerals("U_MALLORY") if "not allowed" in e["text"]])
    assert [v for v in slack.views() if (v["view"] or {}).get("callback_id") == ids.NEXT_MODAL] == []


def test_rw_next_starts_at_the_oldest_submitted_not_the_first_posted(bot, sandbox, slack, poster, campaign):
    now = datetime.now(UTC)
    newer = sandbox.add_submission(campaign, submitted_at=now - timedelta(hours=1))
    bot.review.sync()
    older = sandbox.add_submission(campaign, submitted_at=now - timedelta(hours=5))  # posted later, submitted earlier
    bot.review.sync()
    assert subs.get(bot.db, older).posted_at > subs.get(bot.db, newer).posted_at
    poster.command("/rw", "next", channel_id="C_REVIEW")
    assert shown_in(walk_view(slack)) == older


def test_a_walk_approve_takes_the_cards_decided_once_guard(bot, sandbox, slack, poster, campaign):
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    poster.command("/rw", "next", channel_id="C_REVIEW")
    view = walk_view(slack)
    assert shown_in(view) == sid
    ts = subs.get(bot.db, sid).ts
    poster.click(ids.REVIEW_APPROVE, str(sid), message_ts=ts, user_id="U_BOB")  # decided on the card first
    wait_for(lambda: subs.get(bot.db, sid).state == "approved")
    press(poster, view, ids.NEXT_APPROVE)  # the walk still shows it: the click is refused, nothing paid twice
    refused = wait_for(lambda: "already approved" in str(slack.view(view["id"])["blocks"]) and slack.view(view["id"]))
    assert sandbox.count(path_contains="/approve") == 1
    assert shown_in(refused) is None  # nothing else waits


def test_a_walk_approve_decides_and_rebuilds_the_channel_card(bot, sandbox, slack, poster, campaign):
    first = sandbox.add_submission(campaign, submitted_at=datetime.now(UTC) - timedelta(hours=2))
    second = sandbox.add_submission(campaign, submitted_at=datetime.now(UTC) - timedelta(hours=1))
    bot.review.sync()
    poster.command("/rw", "next", channel_id="C_REVIEW")
    view = walk_view(slack)
    press(poster, view, ids.NEXT_APPROVE)
    wait_for(lambda: shown_in(slack.view(view["id"])) == second)
    assert sandbox.submission(first)["status"] == "Approved" and subs.get(bot.db, first).decided_by == "U_ALICE"
    card = slack.message("C_REVIEW", subs.get(bot.db, first).ts)
    assert "Approved" in str(card.blocks) and not [b for b in card.blocks if b["type"] == "actions"]


def test_app_homes_next_open_button_opens_the_walk(bot, sandbox, slack, poster, campaign):
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    home = {"id": "V_HOME", "type": "home", "blocks": [], "private_metadata": "", "callback_id": ""}
    button = {"type": "button", "action_id": ids.NEXT_OPEN, "block_id": "home-actions", "value": "next",
              "text": {"type": "plain_text", "text": "Review next"}}
    assert poster.post(view_block_actions_body(button, view=home)).status_code == 200
    assert shown_in(walk_view(slack)) == sid
