"""The card's flag buttons and lines (pure builders) and the button value they carry."""

from __future__ import annotations

import pytest

from bot.errors import UserError
from bot.forensics.blocks import MAX_DISMISS_BUTTONS, flag_actions, flag_lines
from bot.forensics.flags import BURST, COPIED_TEXT, DISMISSED, DUPLICATE_OTHER_WORKER, TRUSTED, UNCHECKED, Evidence, Flag, flag_value, parse_flag_value
from bot.slack import ids

pytestmark = pytest.mark.unit

COPIED = Flag(COPIED_TEXT, evidence=(Evidence(7, worker_id="W7"),))
SHARED = Flag(DUPLICATE_OTHER_WORKER, image_no=2, evidence=(Evidence(8, worker_id="W8", image_no=1),))


def elements(flags, sid=42):
    blocks = [b.to_dict() for b in flag_actions(sid, flags)]
    return [(e["action_id"], e["text"]["text"], e["value"]) for b in blocks for e in b["elements"]]


def test_each_suspicious_flag_gets_not_a_problem_and_a_soft_one_offers_trust():
    assert elements([COPIED, SHARED, Flag(UNCHECKED, image_no=3, detail="404")]) == [
        (f"{ids.FLAG_DISMISS}-1", "Not a problem: copied text", "42:copied_text:0"),
        (f"{ids.FLAG_DISMISS}-2", "Not a problem: shared screenshot (image 2)", "42:duplicate_other_worker:2"),
        (ids.FLAG_TRUST_WORKER, "Trust worker", "42"),
    ]


def test_hard_evidence_alone_offers_no_trust_and_a_trusted_worker_is_offered_untrust():
    assert [a for a, _, _ in elements([SHARED])] == [f"{ids.FLAG_DISMISS}-1"]
    assert elements([SHARED, Flag(TRUSTED, by="U1")])[-1] == (ids.FLAG_UNTRUST_WORKER, "Untrust worker", "42")
    assert elements([Flag(TRUSTED, by="U1")]) == [(ids.FLAG_UNTRUST_WORKER, "Untrust worker", "42")]


def test_no_flags_no_buttons_and_at_most_four_dismiss_buttons():
    assert flag_actions(42, []) == [] and flag_actions(42, [Flag(UNCHECKED, image_no=1)]) == []
    many = [Flag(DUPLICATE_OTHER_WORKER, image_no=n, evidence=(Evidence(n),)) for n in range(1, 7)] + [Flag(BURST, detail="9")]
    dismiss = [a for a, _, _ in elements(many) if a.startswith(ids.FLAG_DISMISS)]
    assert len(dismiss) == MAX_DISMISS_BUTTONS == 4 and len(set(dismiss)) == 4  # unique within the block


def test_dismissed_and_trusted_lines_name_who_decided():
    lines = flag_lines([Flag(DISMISSED, detail=COPIED_TEXT, by="U_ANA"), Flag(TRUSTED, by="U_BO")])
    assert lines == [":heavy_check_mark: ~copied proof text~: not a problem (<@U_ANA>)",
                     ":handshake: trusted worker (<@U_BO>): copied-text and burst flags are not shown"]


def test_the_button_value_reads_back_and_nothing_else_does():
    assert parse_flag_value(flag_value(42, SHARED)) == (42, DUPLICATE_OTHER_WORKER, 2)
    assert parse_flag_value(flag_value(42, COPIED)) == (42, COPIED_TEXT, 0)
    for bad in ("", "42", "42:copied_text", "42:unchecked:0", "42:checking:0", "-1:burst:0", "4 2:burst:0",
                "42:burst:0:0", "４２:burst:0", "1" * 19 + ":burst:0", "42:burst:" + "9" * 200, None, 42):
        with pytest.raises(UserError):
            parse_flag_value(bad)
