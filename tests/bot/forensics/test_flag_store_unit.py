"""storage/flag_decisions.py on a real SQLite store: text uses, dismissals, trust (migration 14)."""

from __future__ import annotations

import pytest

from storage import flag_decisions as decisions
from storage.db import Store

pytestmark = pytest.mark.unit


@pytest.fixture
def db(tmp_path):
    return Store(str(tmp_path / "gigdesk.db")).db


def test_text_sharers_count_distinct_workers_in_the_campaign_and_anywhere(db):
    uses = [(1, "c1", "W1"), (2, "c1", "W1"), (3, "c1", "W2"), (4, "c2", "W3"), (5, "c2", None)]
    for sid, campaign, worker in uses:
        decisions.record_text_use(db, sid, "fp", campaign_id=campaign, worker_id=worker)
    decisions.record_text_use(db, 1, "fp", campaign_id="c9", worker_id="W9")  # recorded once per submission
    decisions.record_text_use(db, 6, "other", campaign_id="c1", worker_id="W4")
    assert decisions.text_sharers(db, "fp", "c1") == (2, 3)
    assert decisions.text_sharers(db, "fp", "c2") == (1, 3)
    assert decisions.text_sharers(db, "missing", "c1") == (0, 0)
    assert decisions.text_use(db, 1) == ("fp", "c1") and decisions.text_use(db, 99) is None


def test_a_dismissal_is_recorded_once_and_read_back_with_who(db):
    assert decisions.dismiss(db, ["text:fp:W1:W2", "image:1:2"], submission_id=2, kind="copied_text", user_id="U1") == 2
    assert decisions.dismiss(db, ["image:1:2"], submission_id=2, kind="copied_text", user_id="U2") == 0
    found = decisions.dismissals(db, ["image:1:2", "image:1:3"])
    assert list(found) == ["image:1:2"] and found["image:1:2"].by == "U1"
    many = [f"image:{n}:{n + 1}" for n in range(10, 1210)]  # asked in chunks
    assert decisions.dismiss(db, many, submission_id=9, kind="burst", user_id="U3") == 1200
    assert len(decisions.dismissals(db, many)) == 1200


def test_trust_and_untrust_once_each(db):
    assert decisions.trusted(db, "W1") is None and decisions.trusted(db, None) is None
    assert decisions.trust(db, "W1", worker_name="ana", user_id="U1")
    assert not decisions.trust(db, "W1", worker_name="ana", user_id="U2")
    assert decisions.trusted(db, "W1").by == "U1"
    assert decisions.untrust(db, "W1") and not decisions.untrust(db, "W1")
    assert decisions.trusted(db, "W1") is None
