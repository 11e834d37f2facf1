"""The storage functions on both backends: a temp-file SQLite (unit tier) and a new PostgreSQL database
(decisions, spending offers, routes, forensics)."""

from __future__ import annotations

import pytest

from storage import campaigns as campaign_store
from storage import forensics, leases, routes, submissions, wonolo
from storage import offers as offer_store
from storage.db import Store

pytestmark = pytest.mark.unit_on_sqlite  # both backends; the SQLite run is unit tier

DAY = ("2026-01-02T00:00:00.000000+00:00", "2026-01-03T00:00:00.000000+00:00")
NOW = "2026-01-02T10:00:00.000000+00:00"
LATER = "2026-01-02T11:00:00.000000+00:00"
EXPIRES = "2026-01-02T12:00:00.000000+00:00"


@pytest.fixture
def db(tmp_path, database_url):
    store = Store(str(tmp_path / "unit.db"), url=database_url)
    yield store.db
    store.close()


def posted(db, sid: int, worker: str = "W1", channel: str = "C0REVIEW", ts: str | None = None) -> None:
    assert submissions.claim(db, sid, "camp1", worker, {"worker_name": f"name {worker}", "campaign_title": "T"})
    submissions.mark_posted(db, sid, channel, ts or f"1.{sid}")


# --- submissions ------------------------------------------------------------------------


def test_claim_is_once_and_release_lets_it_be_claimed_again(db):
    assert submissions.claim(db, 1, "camp1", "W1", {})
    assert not submissions.claim(db, 1, "camp1", "W1", {})
    assert [r.submission_id for r in submissions.unposted(db)] == [1]
    submissions.release_claim(db, 1)
    assert submissions.get(db, 1) is None
    assert submissions.claim(db, 1, "camp1", "W1", {})


def test_begin_decision_only_one_caller_wins_and_only_from_posted(db):
    assert submissions.claim(db, 1, "camp1", "W1", {})
    assert not submissions.begin_decision(db, 1, "approving", "U1")  # claimed, not yet posted
    submissions.mark_posted(db, 1, "C0REVIEW", "1.1")
    assert submissions.begin_decision(db, 1, "approving", "U1")
    assert not submissions.begin_decision(db, 1, "rejecting", "U2")
    row = submissions.get(db, 1)
    assert row.state == "approving" and row.acting_user == "U1"
    assert [r.submission_id for r in submissions.in_flight(db)] == [1]


def test_revert_makes_it_actionable_again(db):
    posted(db, 1)
    assert submissions.begin_decision(db, 1, "rejecting", "U1")
    submissions.revert_decision(db, 1)
    row = submissions.get(db, 1)
    assert row.state == "posted" and row.acting_user is None
    assert submissions.begin_decision(db, 1, "approving", "U2")


def test_finish_decision_stores_the_outcome_once(db):
    posted(db, 1)
    assert submissions.begin_decision(db, 1, "approving", "U1")
    submissions.finish_decision(db, 1, "approved", decided_by="U1", amount_paid="0.10")
    submissions.finish_decision(db, 1, "rejected", decided_by="U2")  # a decided submission stays decided
    row = submissions.get(db, 1)
    assert (row.state, row.decided_by, row.amount_paid) == ("approved", "U1", "0.10")
    assert not submissions.begin_decision(db, 1, "rejecting", "U2")
    assert submissions.posted(db) == []


def test_batch_rows_come_back_in_row_order(db):
    for sid in (30, 10, 20):
        assert submissions.claim(db, sid, "camp1", "W1", {}, batch_row=0)
    submissions.mark_batch_posted(db, [30, 10, 20], "C0REVIEW", "9.9")
    assert [r.submission_id for r in submissions.batch_rows(db, "C0REVIEW", "9.9")] == [30, 10, 20]
    assert submissions.batch_rows(db, "C0REVIEW", "other") == []


def test_bulk_approval_leaves_a_reviewers_click_alone_and_undo_forgets_the_unposted(db):
    posted(db, 1)
    assert submissions.begin_decision(db, 1, "rejecting", "U1")
    assert not submissions.begin_bulk_approval(db, 1, "camp1", "W1", {}, "U2")
    assert submissions.begin_bulk_approval(db, 2, "camp1", "W1", {}, "U2")  # never posted
    submissions.undo_bulk_approval(db, 2)
    assert submissions.get(db, 2) is None
    assert submissions.get(db, 1).state == "rejecting"


def test_a_claim_names_its_owner_whose_heartbeat_only_touches_its_own_claims(db):
    assert submissions.claim(db, 1, "camp1", "W1", {}, owner="h/1/a")
    assert submissions.claim(db, 2, "camp1", "W1", {}, owner="h/2/b")
    posted(db, 3)
    submissions.beat_claims(db, "h/1/a", LATER)
    rows = {r.submission_id: r for r in submissions.unposted(db)}
    assert set(rows) == {1, 2} and rows[1].claimed_by == "h/1/a" and rows[1].claim_heartbeat == LATER
    assert rows[2].claim_heartbeat != LATER


def test_taking_over_a_claim_is_guarded_by_its_previous_owner(db):
    assert submissions.claim(db, 1, "camp1", "W1", {}, owner="h/1/a")
    assert not submissions.take_over_claim(db, 1, "h/3/c", "h/2/b")  # not b's
    assert submissions.take_over_claim(db, 1, "h/3/c", "h/1/a")
    assert not submissions.take_over_claim(db, 1, "h/4/d", "h/1/a")  # c got there first
    assert submissions.get(db, 1).claimed_by == "h/3/c"
    assert submissions.claim(db, 2, "camp1", "W1", {})  # a claim made before owners were recorded
    assert submissions.take_over_claim(db, 2, "h/3/c", None)


def test_campaign_keys_name_one_campaign_each(db):
    campaign_store.remember_campaign_keys(db, {"~k1": "long-1", "~k2": "long-2"})
    campaign_store.remember_campaign_keys(db, {"~k1": "something-else"})  # a key, once stored, keeps its campaign
    assert campaign_store.campaign_of_key(db, "~k1") == "long-1" and campaign_store.campaign_of_key(db, "~k2") == "long-2"
    assert campaign_store.campaign_of_key(db, "~unknown") is None


# --- leases -------------------------------------------------------------------------------


def test_a_lease_has_one_holder_until_it_expires_or_is_released(db):
    take = lambda owner, now=NOW, **kw: leases.take(db, "sync", owner, "h", 1, now, LATER, **kw)  # noqa: E731
    assert take("a") is None
    assert take("a") is None  # already ours
    assert take("b").owner == "a"
    assert take("b", replacing="c").owner == "a"  # only the holder named gone may be replaced
    assert take("b", now=LATER) is None  # expires_at == now: expired
    assert not leases.renew(db, "sync", "a", LATER, EXPIRES)
    assert leases.renew(db, "sync", "b", LATER, EXPIRES)
    leases.release(db, "sync", "a")  # not a's to release
    assert leases.holder(db, "sync").owner == "b"
    leases.release(db, "sync", "b")
    assert leases.holder(db, "sync") is None
    assert take("a", replacing=None) is None


def test_a_lease_held_by_an_owner_found_gone_is_replaced(db):
    assert leases.take(db, "sync", "a", "h", 1, NOW, EXPIRES) is None
    assert leases.take(db, "sync", "b", "h", 2, NOW, EXPIRES, replacing="a") is None
    assert leases.holder(db, "sync").owner == "b"


# --- spending offers: take_confirmation and the daily limit -------------------------------


def offer(db, cid: str, user: str = "U1", cost: str = "5.00", expires: str = EXPIRES) -> None:
    offer_store.create_confirmation(db, cid, user, "job-prefilled", {"kind": "x"}, cost, expires)


def test_take_confirmation_is_once_and_not_after_expiry(db):
    offer(db, "c-1")
    offer(db, "c-2", expires=NOW)
    assert offer_store.take_confirmation(db, "c-1", NOW, cost_cents=500) == "taken"
    assert offer_store.take_confirmation(db, "c-1", NOW, cost_cents=500) == "gone"
    assert offer_store.take_confirmation(db, "c-2", NOW, cost_cents=500) == "gone"  # expires_at == now: expired
    assert offer_store.take_confirmation(db, "missing", NOW) == "gone"
    assert offer_store.get_confirmation(db, "c-1").state == "executing"


def test_daily_limit_counts_the_days_spends_and_allows_exactly_the_limit(db):
    for cid in ("a", "b", "c"):
        offer(db, cid)
    take = lambda cid, cents: offer_store.take_confirmation(db, cid, NOW, cost_cents=cents, daily_limit_cents=1000, day=DAY)  # noqa: E731
    assert take("a", 600) == "taken"
    assert take("b", 401) == "over-limit"
    assert offer_store.get_confirmation(db, "b").state == "offered"  # refused: nothing reserved
    assert take("b", 400) == "taken"  # 600 + 400 == the limit
    assert offer_store.spent_cents(db, "U1", DAY) == 1000
    assert take("c", 1) == "over-limit"


def test_daily_limit_is_per_user_and_per_day(db):
    offer(db, "mine")
    offer(db, "theirs", user="U2")
    assert offer_store.take_confirmation(db, "mine", NOW, cost_cents=900, daily_limit_cents=1000, day=DAY) == "taken"
    assert offer_store.take_confirmation(db, "theirs", NOW, cost_cents=900, daily_limit_cents=1000, day=DAY) == "taken"
    assert offer_store.spent_cents(db, "U1", ("2026-01-03T00:00:00.000000+00:00", "2026-01-04T00:00:00.000000+00:00")) == 0


def test_released_reservation_no_longer_counts_and_a_real_spend_replaces_it(db):
    offer(db, "a")
    offer(db, "b")
    assert offer_store.take_confirmation(db, "a", NOW, cost_cents=800, daily_limit_cents=1000, day=DAY) == "taken"
    offer_store.finish_confirmation(db, "a", "offered")  # nothing was spent
    assert offer_store.spent_cents(db, "U1", DAY) == 0
    assert offer_store.take_confirmation(db, "a", NOW, cost_cents=800, daily_limit_cents=1000, day=DAY) == "taken"
    offer_store.finish_confirmation(db, "a", "done", {"job": "J1"}, spent_cents=300)
    assert offer_store.spent_cents(db, "U1", DAY) == 300
    assert offer_store.take_confirmation(db, "b", LATER, cost_cents=700, daily_limit_cents=1000, day=DAY) == "taken"


def test_second_approval_threshold_counts_the_days_spends_and_allows_exactly_it(db):
    for cid in ("a", "b", "c"):
        offer(db, cid)
    take = lambda cid, cents, **kw: offer_store.take_confirmation(db, cid, NOW, cost_cents=cents, second_above_cents=3000, day=DAY, **kw)  # noqa: E731
    assert take("a", 2000) == "taken"
    assert take("b", 1001) == "needs-second"
    assert offer_store.get_confirmation(db, "b").state == "offered"  # nothing reserved
    assert take("b", 1000) == "taken"  # 2000 + 1000 == the threshold: not above it
    assert take("c", 1) == "needs-second"
    assert offer_store.take_confirmation(db, "c", NOW, cost_cents=1, day=DAY) == "taken"  # a second spender's take passes no threshold


def test_second_approval_and_cancel_states(db):
    offer(db, "a")
    assert offer_store.request_second_approval(db, "a", NOW, EXPIRES)
    assert not offer_store.request_second_approval(db, "a", NOW, EXPIRES)
    assert offer_store.take_confirmation(db, "a", NOW, cost_cents=1) == "gone"  # waits for the second spender
    assert offer_store.take_confirmation(db, "a", NOW, from_state="awaiting_second", second_by="U2", cost_cents=1) == "taken"
    assert offer_store.get_confirmation(db, "a").second_by == "U2"
    assert not offer_store.cancel_confirmation(db, "a")  # executing cannot be cancelled
    offer(db, "b")
    assert offer_store.cancel_confirmation(db, "b")
    assert offer_store.take_confirmation(db, "b", NOW) == "gone"


# --- routes and reminders ---------------------------------------------------------------


def test_routes_set_replace_remove(db):
    assert routes.set_route(db, "camp1", "C0ONE", "U1") is None
    assert routes.set_route(db, "camp1", "C0TWO", "U2") == "C0ONE"
    assert routes.all_routes(db) == {"camp1": "C0TWO"}
    assert routes.route_rows(db)[0]["set_by"] == "U2"
    assert routes.remove_route(db, "camp1") == "C0TWO"
    assert routes.remove_route(db, "camp1") is None and routes.all_routes(db) == {}


def test_reminders_are_claimed_once_and_released(db):
    posted(db, 1)
    posted(db, 2)
    assert [r.submission_id for r in routes.unreminded_waiting(db)] == [1, 2]
    assert routes.claim_reminders(db, [1, 2], "C0REVIEW") == [1, 2]
    assert routes.claim_reminders(db, [1, 2], "C0REVIEW") == []
    assert routes.unreminded_waiting(db) == []
    routes.release_reminders(db, [2])
    assert [r.submission_id for r in routes.unreminded_waiting(db)] == [2]


# --- forensics ----------------------------------------------------------------------------


def test_save_check_once_with_images_flags_and_lookups(db):
    posted(db, 1, worker="W1")
    posted(db, 2, worker="W2")
    flags = [{"kind": "duplicate", "of": 1}]
    images = [{"image_no": 0, "url": "https://x/1.png", "phash": -5, "dhash": 7}, {"image_no": 1, "error": "too big"}]
    assert forensics.save_check(db, 1, worker_id="W1", submitted_at=NOW, text_fingerprint="fp", images=images, flags=[])
    assert not forensics.save_check(db, 1, worker_id="W1", submitted_at=NOW, text_fingerprint="fp", images=images, flags=flags)
    assert forensics.save_check(db, 2, worker_id="W2", submitted_at=LATER, text_fingerprint="fp", images=[], flags=flags, suspicious=True)
    assert forensics.stored_flags(db, 1) == [] and forensics.stored_flags(db, 2) == flags
    assert forensics.stored_flags(db, 3) is None
    assert forensics.suspicious_ids(db, [1, 2, 3]) == {2}
    assert forensics.suspicious_waiting_count(db) == 1
    hashes = forensics.hashes_since(db, 0)
    assert [(p, d) for _, p, d in hashes] == [(-5, 7)]  # the image that failed has no hash
    owner = forensics.image_owners(db, [hashes[0][0]])[hashes[0][0]]
    assert (owner["submission_id"], owner["worker_name"], owner["state"]) == (1, "name W1", "posted")
    assert [r["submission_id"] for r in forensics.same_text(db, "fp", other_than_worker="W2")] == [1]
    assert forensics.worker_times(db, "W2", NOW, LATER) == [LATER]
    history = forensics.worker_history(db, "W2")
    assert history[0]["flags"] == flags and history[0]["suspicious"] == 1


# --- wonolo unfilled-shift alerts ----------------------------------------------------------


def test_a_second_alert_claim_is_refused_and_keeps_the_first_rows_values(db):
    """INSERT OR IGNORE, not REPLACE: a second claim of a job request's alert returns False
    and changes nothing, so the posted alert's ts (what later updates edit) is kept."""
    assert wonolo.claim_alert(db, "jr-1", "2026-01-03T08:00:00+00:00", 3, "C0WONOLO")
    wonolo.record_alert(db, "jr-1", "C0WONOLO", "1.100", "rendered once")
    first = wonolo.alert(db, "jr-1")
    assert not wonolo.claim_alert(db, "jr-1", "2026-01-04T09:00:00+00:00", 1, "C0OTHER")
    assert wonolo.alert(db, "jr-1") == first
    assert (first["ts"], first["open_slots"], first["channel"]) == ("1.100", 3, "C0WONOLO")
    assert wonolo.claim_alert(db, "jr-2", None, 1, "C0WONOLO")  # another request has its own


def test_a_released_alert_claim_can_be_taken_again_but_a_posted_one_is_never_released(db):
    assert wonolo.claim_alert(db, "jr-1", None, 2, "C0WONOLO")
    wonolo.release_alert(db, "jr-1")  # the post failed
    assert wonolo.alert(db, "jr-1") is None
    assert wonolo.claim_alert(db, "jr-1", None, 2, "C0WONOLO")
    wonolo.record_alert(db, "jr-1", "C0WONOLO", "1.200", "posted")
    wonolo.release_alert(db, "jr-1")
    assert wonolo.alert(db, "jr-1")["ts"] == "1.200"
    assert not wonolo.claim_alert(db, "jr-1", None, 2, "C0WONOLO")
