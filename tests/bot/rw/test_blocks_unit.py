"""Unit tier: the /rw Block Kit builders (campaign lists, details, spend offers) on hostile text."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.apiclient.fields import from_api
from bot.rapidworkers.client import Campaign
from bot.rw import blocks as ui
from bot.slack import ids
from tests.support.mrkdwn_check import parsed_text

pytestmark = pytest.mark.unit

HOSTILE = "<!channel> <https://evil.example|click> & <@U0BOSS>"
MENTIONS = ("<!channel>", "<https://evil", "<@U0BOSS>")


def campaign(cid: str = "c1", title: str = HOSTILE, pending: int = 3, **more) -> Campaign:
    return from_api(Campaign, {"jobId": cid, "jobTitle": title, "pendingSubmissions": pending, "jobStatus": HOSTILE,
                               "jobInstancesCompleted": 4, "jobTotalAvailabilities": 10, "jobPay": "0.15",
                               "description": HOSTILE, "jobCategory": HOSTILE, "jobSuccessRate": HOSTILE, **more})


def actions(blocks: list) -> list[tuple[str, str]]:
    found = []
    for b in blocks:
        elements = b.get("elements", []) if b["type"] == "actions" else [b["accessory"]] if "accessory" in b else []
        found += [(e["action_id"], e.get("value", "")) for e in elements]
    return found


def no_mentions(text: str, blocks: list) -> str:
    seen = parsed_text(blocks, text)
    for m in MENTIONS:
        assert m not in seen
    return seen


def test_campaigns_message_rows_pager_and_escaping():
    rows = [campaign(f"c{n}", pending=n) for n in range(3)]
    text, blocks = ui.campaigns_message(rows, "Active", page=2, pages=3, sort="newest",
                                        values={"previous": "1|newest|active", "next": "3|newest|active", "sort": "1|most-pending|active"})
    seen = no_mentions(text, blocks)
    assert "&lt;!channel&gt;" in seen and "`▓▓▓▓░░░░░░` 4/10" in seen
    assert blocks[0]["text"]["text"] == "Active campaigns, newest first (page 2 of 3)"
    found = actions(blocks)
    assert [v for a, v in found if a == ids.CAMPAIGN_DETAILS] == ["c0", "c1", "c2"]
    assert (ids.CAMPAIGNS_PAGE_PREVIOUS, "1|newest|active") in found and (ids.CAMPAIGNS_PAGE_NEXT, "3|newest|active") in found
    assert (ids.CAMPAIGNS_SORT, "1|most-pending|active") in found
    menu = next(e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == ids.CAMPAIGN_ROW_MENU)
    assert [o["value"] for o in menu["options"]] == [f"{ui.ROW_APPROVE_ALL}|c0", f"{ui.ROW_POST_PENDING}|c0"]


def test_campaigns_message_caps_rows_and_handles_none():
    rows = [campaign(f"c{n}") for n in range(ui.MAX_PAGE_ROWS + 5)]
    _, blocks = ui.campaigns_message(rows)
    assert sum(1 for a, _ in actions(blocks) if a == ids.CAMPAIGN_DETAILS) == ui.MAX_PAGE_ROWS
    assert len(blocks) <= 50
    text, _ = ui.campaigns_message([], "Pending")
    assert text == "No pending campaigns on RapidWorkers."


def test_candidates_message_lists_escaped_with_details_buttons():
    text, blocks = ui.candidates_message("<!here>", [campaign("a"), campaign("b"), campaign("c")], limit=2)
    seen = no_mentions(text, blocks)
    assert "<!here>" not in seen and "3 campaigns start with `&lt;!here&gt;`" in seen
    assert [v for _, v in actions(blocks)] == ["a", "b"] and "1 more not shown." in seen


def test_campaign_options_fit_slacks_75_characters():
    options = ui.campaign_options([campaign("c1", "x" * 200, pending=12345)])
    assert options[0]["value"] == "c1"
    assert len(options[0]["text"]["text"]) <= 75 and options[0]["text"]["text"].endswith(" · 12345 pending")
    assert options[0]["text"]["type"] == "plain_text"


def test_campaign_message_approve_all_only_with_pending():
    text, blocks = ui.campaign_message(campaign(pending=2))
    no_mentions(text, blocks)
    assert [a for a, _ in actions(blocks)] == [ids.CAMPAIGN_APPROVE_ALL, ids.CAMPAIGN_POST_PENDING]
    _, blocks = ui.campaign_message(campaign(pending=0))
    assert [a for a, _ in actions(blocks)] == [ids.CAMPAIGN_POST_PENDING]


def test_spend_offer_shows_balance_after_and_confirm_only_when_confirmable():
    text, blocks = ui.spend_offer(what="Approve 3", cost=Decimal("12.50"), balance=Decimal("20"), estimate=True,
                                  confirmation_id="conf-1234567890abcdef", terms=["Daily limit"], include_flagged=2)
    seen = parsed_text(blocks, text)
    assert "*Balance after (est.)*\n$7.50" in seen and "Daily limit" in seen
    assert [a for a, _ in actions(blocks)] == [ids.SPEND_CONFIRM, ids.SPEND_INCLUDE_FLAGGED, ids.SPEND_CANCEL]
    assert {v for _, v in actions(blocks)} == {"conf-1234567890abcdef"}
    _, blocks = ui.spend_offer(what="x", cost=Decimal("1"), balance=Decimal("2"), estimate=False, confirmation_id="c", confirmable=False)
    assert [a for a, _ in actions(blocks)] == [ids.SPEND_CANCEL]


def test_refused_and_insufficient_offers_have_no_confirm():
    _, refused = ui.spend_refused(what="x", cost=Decimal("5"), balance=Decimal("9"), estimate=False, reason="Over the limit.")
    _, short = ui.spend_insufficient(what="x", cost=Decimal("12"), balance=Decimal("9.50"), estimate=False)
    assert actions(refused) == [] and actions(short) == []
    assert "You are $2.50 short." in parsed_text(short)


def test_second_approval_request_names_the_requester():
    text, blocks = ui.second_approval_request(requester="U0REQ", what="Approve 3", cost=Decimal("150"), threshold=Decimal("100"),
                                              confirmation_id="conf-x", hours=24)
    seen = parsed_text(blocks, text)
    assert "<@U0REQ> asks to spend *$150.00*" in seen and "above $100.00" in seen
    assert actions(blocks) == [(ids.SPEND_CONFIRM, "conf-x"), (ids.SPEND_CANCEL, "conf-x")]
