"""The terminal preview of a message (`gigdesk digest --dry-run --format text`): every block kind
the digest uses reads as plain text, in order, with mrkdwn rendered."""

import pytest

from bot.digest.plaintext import blocks_as_text

pytestmark = pytest.mark.unit


def test_every_block_kind_reads_as_plain_text_in_order():
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Daily digest"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Pending* for <@U_ALICE>: <https://x.example/a|the list>"},
         "fields": [{"type": "mrkdwn", "text": "`3` waiting"}, {"type": "plain_text", "text": "*as typed*"}]},
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "image", "image_url": "https://x.example/i.png", "alt_text": "chart"},
                                         {"type": "mrkdwn", "text": "_oldest_ 2 h"}]},
        {"type": "image", "image_url": "https://x.example/p.png", "alt_text": "proof"},
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Approve"}},
                                         {"type": "overflow"}]},
        {"type": "rich_text", "elements": []},  # no preview for it: left out
    ]
    assert blocks_as_text(blocks) == (
        "Daily digest\n============\n\n"
        "Pending for @U_ALICE: the list (https://x.example/a)\n3 waiting\n*as typed*\n\n"
        + "-" * 40 + "\n\n"
        "[chart] · oldest 2 h\n\n"
        "[image: proof]\n\n"
        "[Approve] [overflow]\n"
    )
