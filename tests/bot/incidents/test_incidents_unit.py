"""The incident conditions at their boundaries, and the stored open/announce/close cycle."""

from __future__ import annotations

import time

import pytest

from bot.incidents import conditions
from bot.observability.signals import Signals
from storage import incidents as store
from storage.db import connect, migrate

pytestmark = pytest.mark.unit


def test_credentials_refused_is_the_last_word_and_unknown_before_any():
    s = Signals()
    assert s.credentials_refused("rapidworkers") is None  # after a restart: no word yet, a stored incident stays
    s.answered("rapidworkers", 200)
    assert s.credentials_refused("rapidworkers") is False
    s.answered("rapidworkers", 401)
    assert conditions.credentials(s, "rapidworkers").happening is True
    s.answered("rapidworkers", 500)  # an outage says nothing about the key
    assert s.credentials_refused("rapidworkers") is True
    s.answered("rapidworkers", 200)
    assert conditions.credentials(s, "rapidworkers").happening is False


def test_sync_failing_only_after_five_minutes():
    now = time.monotonic()
    at_limit = conditions.sync_failing(now - conditions.SYNC_FAILING_SECONDS + 2, now - 9999, "RapidWorkers: down")
    assert at_limit.happening is None  # failing, but not for 5 minutes yet
    past = conditions.sync_failing(now - conditions.SYNC_FAILING_SECONDS - 1, now - 9999, "RapidWorkers: <down>")
    assert past.happening is True and "&lt;down&gt;" in past.title
    assert conditions.sync_failing(now, now - 9999, None).happening is False


def test_webhook_signature_spike_at_its_threshold():
    s = Signals()
    for _ in range(conditions.SIGNATURE_SPIKE - 1):
        s.bad_signature()
    assert conditions.webhook_signatures(s).happening is None
    s.bad_signature()
    assert conditions.webhook_signatures(s).happening is True
    assert conditions.webhook_signatures(Signals()).happening is False


def test_budget_used_up_and_room_again():
    assert conditions.budget(lambda: 0, 1000).happening is True
    assert conditions.budget(lambda: 50, 1000).happening is None  # some room: not yet a recovery (no flapping)
    assert conditions.budget(lambda: 100, 1000).happening is False


def test_a_channel_refusal_lasts_until_a_post_there_works():
    s = Signals()
    s.slack_error("chat.postMessage", "not_in_channel", "C_OPS")
    s.slack_error("chat.update", "not_in_channel", "C_OTHER")  # only posts count
    (finding,) = conditions.channel_refusals(s, known=[])
    assert finding.key == "slack_channel:C_OPS" and finding.happening and "not_in_channel" in finding.title
    s.slack_posted("C_OPS")
    (cleared,) = conditions.channel_refusals(s, known=["C_OPS"])
    assert cleared.happening is False
    assert conditions.channel_refusals(Signals(), known=["C_OPS"])[0].happening is None  # restarted: no word yet


def test_stored_incident_opens_once_and_closes_once(tmp_path):
    db = connect(str(tmp_path / "unit.db"))
    migrate(db)
    assert store.open_incident(db, "k", "broke", "2026-01-01T00:00:00+00:00") is True
    assert store.open_incident(db, "k", "broke again", "2026-01-01T00:01:00+00:00") is False
    store.announced(db, "k", "C_OPS", "1.1")
    row = store.get(db, "k")
    assert (row.state, row.detail, row.ts) == ("open", "broke", "1.1")
    assert [r.key for r in store.open_incidents(db)] == ["k"]
    closed = store.close_incident(db, "k", "2026-01-01T00:02:00+00:00")
    assert closed is not None and closed.ts == "1.1"
    assert store.close_incident(db, "k", "2026-01-01T00:03:00+00:00") is None
    assert store.open_incident(db, "k", "again", "2026-01-02T00:00:00+00:00") is True
    assert store.get(db, "k").ts is None  # a new incident: announced afresh
