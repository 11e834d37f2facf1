"""The stand-in's record of Block Kit payloads (GIGDESK_BLOCK_KIT_RECORD): one file per shape."""

from __future__ import annotations

import json

import pytest

from sandbox.slack_workspace.block_kit import RECORD_ENV, block_kit_types, record_block_kit

pytestmark = pytest.mark.unit

CARD = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "x"},
     "accessory": {"type": "image", "image_url": "https://example.com/a.png", "alt_text": "a"}},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "y"}]},
    {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Go"}},
                                     {"type": "timepicker", "action_id": "t"}]},
    {"type": "input", "label": {"type": "plain_text", "text": "When"}, "element": {"type": "datepicker"}},
]


def test_the_types_of_a_payload_name_blocks_elements_and_context_parts():
    assert set(block_kit_types(CARD)) == {
        "block:section", "block:context", "block:actions", "block:input", "element:image", "element:button",
        "element:timepicker", "element:datepicker", "context:mrkdwn"}
    assert set(block_kit_types("not blocks")) == set()


def test_one_file_per_shape_and_nothing_without_the_setting(tmp_path, monkeypatch):
    monkeypatch.delenv(RECORD_ENV, raising=False)
    record_block_kit(CARD, "blocks")
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv(RECORD_ENV, str(tmp_path / "record"))
    record_block_kit(CARD, "blocks")
    record_block_kit(CARD[::-1], "view")  # the same shape: kept once
    record_block_kit(CARD[:1], "blocks")
    files = sorted((tmp_path / "record").glob("*.json"))
    assert len(files) == 2
    kept = [json.loads(f.read_text()) for f in files]
    assert {len(k["blocks"]) for k in kept} == {1, 4} and all(k["types"] == sorted(k["types"]) for k in kept)
