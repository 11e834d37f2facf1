"""Unit tier: the review card builders (pure Block Kit), fed hostile worker text."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from bot.forensics.service import Flag
from bot.review import render as ui
from bot.slack import ids
from storage.rows import SubmissionRow
from tests.support.mrkdwn_check import parsed_text

pytestmark = pytest.mark.unit

HOSTILE = "<!channel> <https://evil.example|click here> & <@U0BOSS>"
MENTIONS = ("<!channel>", "<https://evil", "<@U0BOSS>")


def row(state: str = "posted", **data) -> SubmissionRow:
    base = {"campaign_title": HOSTILE, "worker_name": HOSTILE, "worker_id": "<!here>", "pay": "0.25", "proof_text": HOSTILE,
            "country": HOSTILE, "submitted_at": "2026-01-02T10:00:00Z", "proof_required_description": HOSTILE,
            "images": [{"url": "https://img.example/1.png", "thumbnail_url": "https://img.example/1s.png"},
                       {"url": "https://img.example/2.png|<!channel>", "thumbnail_url": None},
                       {"url": "javascript:alert(1)", "thumbnail_url": None}]}
    base.update(data)
    decided = state in ("approved", "rejected")
    return SubmissionRow(
        submission_id=42, campaign_id="camp<1>", worker_id="W1", state=state, data=base, channel="C0REVIEW", ts="1.2",
        claimed_at="2026-01-02T10:00:00Z", posted_at="2026-01-02T10:00:01Z", acting_user="U0ACT" if state in ("approving", "rejecting") else None,
        acting_since=None, decided_by="U0DEC" if decided else None, decided_at="2026-01-02T11:00:00Z" if decided else None,
        outcome=state if decided else None, amount_paid="0.25" if state == "approved" else None,
        notes=HOSTILE if state == "rejected" else None, decided_via="slack" if decided else None, target_channel=None, batch_row=None)


def assert_no_mentions(text: str, blocks: list) -> str:
    seen = parsed_text(blocks, text)
    for mention in MENTIONS:
        assert mention not in seen
    return seen


def buttons(blocks: list) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_review_message_escapes_worker_text_everywhere():
    text, blocks = ui.review_message(row(), now=datetime(2026, 1, 2, 13, 0, tzinfo=UTC))
    seen = assert_no_mentions(text, blocks)
    assert "&lt;!channel&gt;" in seen and "&amp;" in seen
    assert "3 h ago" in seen  # the fallback of the date token, at `now`


def test_review_message_buttons_only_while_waiting():
    _, waiting = ui.review_message(row("posted"))
    assert buttons(waiting) == [ids.REVIEW_APPROVE, ids.REVIEW_REJECT, ids.REVIEW_BLOCK]
    _, blocked = ui.review_message(row("posted"), ui.CardLooks(block={"blocked_by": "U0B", "blocked_at": "2026-01-02T10:00:00Z"}))
    assert buttons(blocked) == [ids.REVIEW_APPROVE, ids.REVIEW_REJECT]
    assert "Worker blocked by <@U0B>" in parsed_text(blocked)
    for state in ("approving", "rejecting", "approved", "rejected"):
        _, blocks = ui.review_message(row(state))
        assert buttons(blocks) == [], state
    _, busy = ui.review_message(row("posted"), progress="blocking…")
    assert buttons(busy) == [] and "blocking…" in parsed_text(busy)


def test_review_message_in_progress_names_who_acts():
    text, blocks = ui.review_message(row("approving"))
    assert text.startswith("Approving: submission 42")
    assert "<@U0ACT>" in parsed_text(blocks)


def test_block_confirmation_is_plain_text():
    _, blocks = ui.review_message(row())
    [block_button] = [e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == ids.REVIEW_BLOCK]
    assert block_button["confirm"]["text"]["type"] == "plain_text"  # parses no mentions


def test_fraud_flags_at_the_thresholds():
    assert ui.fraud_flags({"worker_account_age_days": 6, "worker_approval_rate": 59.5}, new_account_days=7, low_approval_rate=60) == [
        ":warning: new account (6 d)", ":warning: low approval rate (59.5%)"]
    assert ui.fraud_flags({"worker_account_age_days": 7, "worker_approval_rate": 60}, new_account_days=7, low_approval_rate=60) == []


def test_collapsed_message_shows_outcome_and_escaped_reason_without_buttons():
    approved = [b.to_dict() for b in ui.collapsed_message(row("approved"))]
    seen = assert_no_mentions("", approved)
    assert "*Approved* by <@U0DEC>" in seen and "paid $0.25" in seen and "proof image 1 of 2" in seen
    rejected = [b.to_dict() for b in ui.collapsed_message(row("rejected"))]
    seen = assert_no_mentions("", rejected)
    assert "reason: &lt;!channel&gt;" in seen and buttons(rejected) == []
    outside = dataclasses.replace(row("approved"), decided_by=None)
    assert "on RapidWorkers (outside Slack)" in parsed_text([b.to_dict() for b in ui.collapsed_message(outside)])


def test_batch_row_waiting_and_decided():
    waiting = [b.to_dict() for b in ui.batch_row_blocks(row(), ui.CardLooks(forensics=[Flag("copied_text"), Flag("unchecked")]))]
    seen = assert_no_mentions("", waiting)
    assert "copied proof text" in seen and "image not checked" not in seen  # only suspicious flags are shown
    assert buttons(waiting) == [ids.REVIEW_BATCH_APPROVE, ids.REVIEW_BATCH_REJECT, ids.REVIEW_BATCH_BLOCK]
    assert waiting[0]["accessory"]["image_url"] == "https://img.example/1s.png"
    assert "javascript" not in seen
    decided = [b.to_dict() for b in ui.batch_row_blocks(row("rejected"))]
    assert buttons(decided) == [] and "accessory" not in decided[0]


def test_batch_message_counts_waiting_rows():
    rows = [row("posted"), row("approved"), row("posted")]
    text, blocks = ui.batch_message(rows, ui.batch_row_blocks)
    assert text.startswith("2 of 3 submissions to review")
    assert sum(1 for b in blocks if b["type"] == "divider") == 3
    assert ui.batch_metadata(rows)["event_payload"]["submission_ids"] == [42, 42, 42]


def test_reject_modal_and_reason_from_view():
    view = ui.reject_modal(row())
    assert view["callback_id"] == ids.REVIEW_REJECT_MODAL and view["private_metadata"] == "42"
    assert_no_mentions("", view["blocks"])
    preset = {ids.REJECT_PRESET_BLOCK: {ids.REJECT_PRESET_INPUT: {"selected_option": {"value": "1"}}}}
    typed = {ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: {"value": "  blurry  "}}}
    assert ui.reason_from_view(preset) == ui.PRESET_REASONS[1]
    assert ui.reason_from_view(typed) == "blurry"
    assert ui.reason_from_view({**preset, **typed}) == f"{ui.PRESET_REASONS[1]}: blurry"
    forged = {ids.REJECT_PRESET_BLOCK: {ids.REJECT_PRESET_INPUT: {"selected_option": {"value": str(len(ui.PRESET_REASONS))}}}}
    assert ui.reason_from_view(forged) == "" and ui.reason_from_view(None) == ""


def test_reject_modal_says_which_field_is_required():
    """Both fields are optional to Slack (either will do): the text above them and the typed
    field's hint say that one of them is required."""
    view = ui.reject_modal(row())
    hints = {b["block_id"]: (b.get("hint") or {}).get("text", "") for b in view["blocks"] if b["type"] == "input"}
    assert hints[ids.REJECT_REASON_BLOCK].startswith("Required unless you pick a common reason")
    assert "*A reason is required:*" in parsed_text(view["blocks"])


def test_submitted_ago_steps():
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert "just now" in ui.submitted_ago("2026-01-05T11:59:30Z", now)
    assert "5 min ago" in ui.submitted_ago("2026-01-05T11:55:00Z", now)
    assert "47 h ago" in ui.submitted_ago("2026-01-03T13:00:00Z", now)
    assert "2 d ago" in ui.submitted_ago("2026-01-03T12:00:00Z", now)
    assert ui.submitted_ago("garbage", now) == "submitted at an unknown time"


def test_reminder_message_links_each_escaped_and_mentions_the_group():
    text, blocks = ui.reminder_message([row(), row()], {42: "https://slack.example/archives/C1/p1"}, hours=4, group="S0TEAM")
    seen = assert_no_mentions(text, blocks)
    assert blocks[0]["text"]["text"].startswith("<!subteam^S0TEAM> :alarm_clock: 2 submissions waiting more than 4 h")
    assert "<!subteam" not in text
    assert json.dumps(ui.reminder_metadata([row()])["event_payload"]) == '{"submission_ids": [42], "count": 1}'
    assert seen.count("<https://slack.example/archives/C1/p1|") == 2


def test_metadata_lists_are_bounded_whatever_the_backlog():
    many = [dataclasses.replace(row(), submission_id=n) for n in range(1, 500)]
    payload = ui.reminder_metadata(many)["event_payload"]
    assert payload["submission_ids"] == list(range(1, ui.METADATA_IDS_MAX + 1)) and payload["count"] == 499
    assert ui.batch_metadata(many[:ui.BATCH_SIZE])["event_payload"]["submission_ids"] == list(range(1, ui.BATCH_SIZE + 1))
    with pytest.raises(ValueError):
        ui.batch_metadata(many[:ui.BATCH_SIZE + 1])
