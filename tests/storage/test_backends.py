"""One storage API, two backends: every test here runs on SQLite (unit tier) and on PostgreSQL.

Transactions nest the same way; concurrent writers (threads, each with its own connection as a
serve thread has) keep every once-only rule: one claim, one lease holder, no Confirm past the
daily limit; migrations run once when two processes open a new database together; and the
queries whose SQL needed a portable form (upserts, RETURNING, JSON fields, IS DISTINCT FROM)
answer the same.
"""

from __future__ import annotations

import threading

import pytest

from storage import campaigns, digests, forensics, kv, leases, offers, reports, slack_events, submissions, wonolo_desk
from storage.db import Store, backend_name, ping, write
from storage.migrations import MIGRATIONS

DAY = ("2026-01-02T00:00:00.000000+00:00", "2026-01-03T00:00:00.000000+00:00")
NOW = "2026-01-02T10:00:00.000000+00:00"
EXPIRES = "2026-01-02T12:00:00.000000+00:00"
LATEST = max(version for version, _, _ in MIGRATIONS)

pytestmark = pytest.mark.unit_on_sqlite  # both backends; the SQLite run is unit tier


class Boom(Exception):
    pass


@pytest.fixture
def open_store(tmp_path, database_url):
    """open_store() -> a Store on the test's database (another one: another process's view)."""
    stores: list[Store] = []

    def make() -> Store:
        store = Store(str(tmp_path / "gigdesk.db"), url=database_url)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


def together(count: int, work) -> list:
    """Run work(n) in `count` threads released at once; their results in thread order."""
    results: list = [None] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(n: int) -> None:
        try:
            start.wait(timeout=10)
            results[n] = work(n)
        except BaseException as e:  # reported below, in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


def test_the_backend_is_named_and_answers_with_the_schema_version(open_store, db_backend):
    store = open_store()
    assert backend_name(store) == db_backend
    assert ping(store) == LATEST
    assert store.fresh and not open_store().fresh


def test_two_processes_opening_a_new_database_at_once_migrate_it_once(open_store):
    stores = together(4, lambda n: open_store())
    assert {s.schema_version for s in stores} == {LATEST}
    rows = stores[0].db.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == sorted(v for v, _, _ in MIGRATIONS)


def test_nested_writes_commit_once_and_a_failed_inner_block_rolls_back_only_itself(open_store):
    store, other = open_store(), open_store()
    seen_inside: list = []

    def look() -> None:  # another connection (its own thread) sees committed rows only
        seen_inside.append(kv.kv_get(other.db, "outer"))

    with write(store.db):
        kv.kv_set(store.db, "outer", "1")
        with pytest.raises(Boom):
            with write(store.db):
                kv.kv_set(store.db, "inner", "1")
                raise Boom
        thread = threading.Thread(target=look)
        thread.start()
        thread.join()
    assert seen_inside == [None]
    assert kv.kv_get(other.db, "outer") == "1" and kv.kv_get(other.db, "inner") is None


def test_a_failed_outer_block_rolls_back_everything(open_store):
    store = open_store()
    with pytest.raises(Boom):
        with write(store.db):
            kv.kv_set(store.db, "a", "1")
            with write(store.db):
                kv.kv_set(store.db, "b", "1")
            raise Boom
    assert kv.kv_get(store.db, "a") is None and kv.kv_get(store.db, "b") is None


def test_concurrent_confirms_never_pass_the_daily_limit_together(open_store):
    store = open_store()
    for n in range(8):
        offers.create_confirmation(store.db, f"offer-{n}", "U1", "prefilled", {}, "3.00", EXPIRES)
    results = together(8, lambda n: offers.take_confirmation(store.db, f"offer-{n}", NOW, cost_cents=300,
                                                              daily_limit_cents=1000, day=DAY))
    assert sorted(results).count("taken") == 3 and results.count("over-limit") == 5
    assert offers.spent_cents(store.db, "U1", DAY) == 900


def test_concurrent_confirms_of_one_offer_take_it_once(open_store):
    store = open_store()
    offers.create_confirmation(store.db, "offer", "U1", "prefilled", {}, "3.00", EXPIRES)
    results = together(6, lambda n: offers.take_confirmation(store.db, "offer", NOW, cost_cents=300))
    assert results.count("taken") == 1 and results.count("gone") == 5


def test_concurrent_claims_and_decisions_have_one_winner(open_store):
    store = open_store()
    assert together(6, lambda n: submissions.claim(store.db, 7, "c", "W", {}, owner=f"o{n}")).count(True) == 1
    submissions.mark_posted(store.db, 7, "C", "1.7")
    assert together(6, lambda n: submissions.begin_decision(store.db, 7, "approving", f"U{n}")).count(True) == 1


def test_a_lease_taken_by_many_at_once_has_one_holder(open_store):
    store = open_store()
    refused = together(6, lambda n: leases.take(store.db, "sync", f"owner-{n}", "host", n, NOW, EXPIRES))
    assert refused.count(None) == 1
    holder = leases.holder(store.db, "sync")
    assert holder is not None and all(r is None or r.owner == holder.owner for r in refused)


def test_the_campaigns_upsert_keeps_what_each_writer_does_not_own(open_store):
    db = open_store().db
    counts = {"campaign_id": "c1", "title": "T", "status": "Active", "pending": 3, "approved": 0, "rejected": 0,
              "completed": 0, "total": 3}
    campaigns.remember_campaign_requirement(db, "c1", "a screenshot")
    campaigns.save_campaign_counts(db, [counts])
    campaigns.mark_completed_seen(db, [{**counts, "pending": 99}])  # the digest never moves the sync's counts
    first = campaigns.campaign_counts(db)["c1"]
    assert first["pending"] == 3 and first["proof_required_description"] == "a screenshot" and first["completed_seen_at"]
    campaigns.save_campaign_counts(db, [{**counts, "pending": 1}])
    campaigns.mark_completed_seen(db, [counts])
    again = campaigns.campaign_counts(db)["c1"]
    assert again["pending"] == 1 and again["completed_seen_at"] == first["completed_seen_at"]
    assert again["proof_required_description"] == "a screenshot"


def test_once_only_inserts_say_whether_they_were_first(open_store):
    db = open_store().db
    assert digests.claim(db, "scheduled", "2026-01-02", "C") is not None
    assert digests.claim(db, "scheduled", "2026-01-02", "C") is None
    assert digests.claim(db, "manual", "2026-01-02", "C") != digests.claim(db, "manual", "2026-01-02", "C")
    assert slack_events.claim_event(db, "Ev1", NOW, DAY[0]) and not slack_events.claim_event(db, "Ev1", NOW, DAY[0])
    assert reports.claim_weekly_picture(db, "2026-01-05", "C") and not reports.claim_weekly_picture(db, "2026-01-05", "C")
    assert kv.kv_change(db, "alert", "alerted") and not kv.kv_change(db, "alert", "alerted")
    assert wonolo_desk.record_delivery(db, "d1", "job", "1", None) and not wonolo_desk.record_delivery(db, "d1", "job", "1", None)


def test_a_wonolo_action_claim_stands_until_released(open_store):
    db = open_store().db
    assert wonolo_desk.claim_action(db, "cancel", "J1", "U1", standing=lambda row: row["state"] == "running") is None
    standing = wonolo_desk.claim_action(db, "cancel", "J1", "U2", standing=lambda row: row["state"] == "running")
    assert standing is not None and standing["user_id"] == "U1"
    wonolo_desk.release_action(db, "cancel", "J1")
    assert wonolo_desk.claim_action(db, "cancel", "J1", "U2", standing=lambda row: True) is None


def test_spends_and_names_read_json_fields_and_format_cents(open_store):
    db = open_store().db
    assert submissions.claim(db, 5, "c1", "W1", {"pay": "0.75", "campaign_title": "Tap", "worker_name": "Ann"})
    submissions.mark_posted(db, 5, "C", "1.5")
    assert submissions.posted_pays(db) == ["0.75"] or submissions.posted_pays(db) == [0.75]
    submissions.finish_decision(db, 5, "approved", decided_by="U1", amount_paid=None)
    offers.create_confirmation(db, "book-1", "U1", "wonolo-book", {"title": "Shift", "city": "Austin"}, "123.05", "2999-01-01")
    assert offers.take_confirmation(db, "book-1", NOW, cost_cents=12305) == "taken"
    offers.finish_confirmation(db, "book-1", "done", {}, spent_cents=12305)
    found = {row.kind: row for row in reports.spends(db, "2000", "3000")}
    assert found["approval"].amount in ("0.75",) and found["approval"].campaign_title == "Tap"
    assert found["wonolo"].amount == "123.05" and found["wonolo"].detail == "Austin"
    assert reports.known_campaigns(db) == {"c1": "Tap"}
    assert reports.worker_names(db, ["W1"]) == {"W1": "Ann"}
    assert reports.offers_named(db, ["book-1"[:8]]) == {"book-1": {"action": "wonolo-book", "params": {"title": "Shift", "city": "Austin"}}}


def test_forensics_keeps_64_bit_hashes_and_finds_the_same_text(open_store):
    db = open_store().db
    for sid, worker in ((1, "W1"), (2, "W2")):
        assert submissions.claim(db, sid, "c1", worker, {"worker_name": worker})
        assert forensics.save_check(db, sid, worker_id=worker, submitted_at=NOW, text_fingerprint="fp",
                                    images=[{"image_no": 1, "phash": -(2**63), "dhash": 2**63 - 1}], flags=[], suspicious=sid == 2)
    assert not forensics.save_check(db, 1, worker_id="W1", submitted_at=NOW, text_fingerprint="fp", images=[], flags=[])
    assert sorted((p, d) for _, p, d in forensics.hashes_since(db, 0)) == [(-(2**63), 2**63 - 1)] * 2
    same = forensics.same_text(db, "fp", other_than_worker="W1")
    assert [(r["submission_id"], r["worker_name"]) for r in same] == [(2, "W2")]
    assert [r["submission_id"] for r in forensics.same_text(db, "fp", other_than_worker=None)] == [1, 2]
    assert forensics.suspicious_ids(db, [1, 2]) == {2}
    assert [r["worker_name"] for r in forensics.worker_history(db, "W2")] == ["W2"]
