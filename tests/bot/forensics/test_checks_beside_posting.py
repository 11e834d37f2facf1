"""Proof checks never hold up a card, a shutdown or an approve-all, and cost bounded memory: the
bot over real HTTP, with the RapidWorkers simulator serving hostile images through its knobs
(dripping, silent, 15k x 15k and 20k x 20k PNGs) and a DNS server on loopback that rebinds."""

from __future__ import annotations

import json
import signal
import time

import pytest

from bot.slack import ids
from storage import forensics as proof_store
from storage import submissions as subs
from tests.support.harness import BotProcess, bot_env, free_port, wait_for

DRIP, SILENT, HUGE, HUGE_PALETTE = -4, -5, -6, -7


@pytest.fixture
def campaign(sandbox):
    sandbox.hostile_seconds = 30
    return sandbox.add_campaign("Review our cafe", status="Active", pay="0.40", total=50)


def card_text(slack, bot, sid) -> str:
    row = wait_for(lambda: (r := subs.get(bot.db, sid)) and r.ts and r)
    return json.dumps(slack.message(row.channel, row.ts).blocks)


def checked(bot, sid, timeout: float = 15.0) -> list[dict]:
    """The recorded flags of a submission, once its check is recorded and its card rebuilt."""
    wait_for(lambda: bot.db.execute("SELECT shown FROM proof_checks WHERE submission_id = ?", [sid]).fetchone() == (1,), timeout)
    return proof_store.stored_flags(bot.db, sid)


def test_a_dripping_image_never_holds_up_a_card_and_its_host_is_then_skipped(bot, sandbox, slack, campaign):
    hostile = sandbox.add_submission(campaign, pictures=[DRIP])
    honest = sandbox.add_submission(campaign, pictures=[7400])
    started = time.monotonic()
    report = bot.review.sync()
    assert report.posted == 2 and time.monotonic() - started < 10  # not the 30 s the image drips for
    assert "proof being checked" in card_text(slack, bot, hostile)  # posted first, checked beside
    assert checked(bot, hostile) == [{"kind": "unchecked", "image_no": 1, "detail": "timed out", "evidence": []}]
    assert "image 1 could not be checked (timed out)" in card_text(slack, bot, hostile)
    assert "proof being checked" not in card_text(slack, bot, hostile)
    assert checked(bot, honest) == [] and "could not be checked" not in card_text(slack, bot, honest)
    # The host timed out: it is skipped for a while, without a connection.
    later = sandbox.add_submission(campaign, pictures=[7402])
    asked = len(sandbox.image_requests)
    bot.review.sync()
    assert checked(bot, later)[0]["detail"] == "host skipped"
    assert "image 1 could not be checked (host skipped)" in card_text(slack, bot, later)
    assert len(sandbox.image_requests) == asked


def test_a_silent_image_host_never_holds_up_the_next_cards(bot, sandbox, slack, campaign):
    silent = [sandbox.add_submission(campaign, pictures=[SILENT]) for _ in range(3)]
    honest = sandbox.add_submission(campaign, pictures=[7410])
    started = time.monotonic()
    assert bot.review.sync().posted == 4
    assert time.monotonic() - started < 10
    assert "proof being checked" in card_text(slack, bot, honest)
    assert {checked(bot, sid)[0]["detail"] for sid in silent} <= {"timed out", "host skipped"}


def test_decompression_bombs_are_refused_from_the_header_and_their_cards_posted(bot, sandbox, slack, campaign):
    plain = sandbox.add_submission(campaign, pictures=[HUGE])
    palette = sandbox.add_submission(campaign, pictures=[HUGE_PALETTE, 7420])
    assert bot.review.sync().posted == 2
    assert checked(bot, plain) == [{"kind": "unchecked", "image_no": 1, "detail": "too large", "evidence": []}]
    assert [f["detail"] for f in checked(bot, palette)] == ["too large"]  # its second image was hashed
    assert "image 1 could not be checked (too large)" in card_text(slack, bot, palette)
    hashed = bot.db.execute("SELECT image_no FROM proof_images WHERE submission_id = ? AND phash IS NOT NULL", [palette]).fetchall()
    assert hashed == [(2,)]


@pytest.fixture
def rw(bot, slack):
    from tests.bot.rw.test_rw_command import RW

    driver = RW(bot, slack)
    yield driver
    driver.poster.session.close()


def test_approve_all_leaves_out_submissions_still_being_checked(rw, bot, sandbox, campaign):
    from tests.bot.rw.test_rw_command import buttons, text_of

    honest = [sandbox.add_submission(campaign, pictures=[7430 + n]) for n in range(2)]
    dripping = sandbox.add_submission(campaign, pictures=[DRIP])
    bot.review.sync()
    for sid in honest:
        checked(bot, sid)
    assert proof_store.stored_flags(bot.db, dripping) is None  # its image is still dripping (5 s deadline)
    offer = rw.command(f"approve-all {campaign}")
    text = text_of(offer)
    assert "*2* unflagged" in text and "*1* still being checked are left out" in text, text
    done = text_of(rw.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM]))
    assert "Approved 2 of the 2" in done, done
    assert sandbox.submission(dripping)["status"] == "Pending"
    assert {sandbox.submission(s)["status"] for s in honest} == {"Approved"}


def test_approve_all_offers_nothing_a_sync_has_not_posted_and_checked(rw, bot, sandbox, campaign):
    from tests.bot.rw.test_rw_command import buttons, text_of

    first = sandbox.add_submission(campaign, pictures=[7440])
    dripping = sandbox.add_submission(campaign, pictures=[DRIP])
    offer = rw.command(f"approve-all {campaign}")  # neither seen by a sync: neither offered
    assert "*0* unflagged" in text_of(offer) and "*2* not yet posted to the review channel" in text_of(offer)
    assert ids.SPEND_CONFIRM not in buttons(offer)
    bot.review.sync()  # both posted; the dripping one's check runs for up to 5 s
    checked(bot, first)
    offer = rw.command(f"approve-all {campaign}")
    assert "*1* unflagged" in text_of(offer) and "*1* still being checked are left out" in text_of(offer), text_of(offer)
    done = text_of(rw.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM]))
    assert "Approved 1 of the 1" in done, done
    assert sandbox.submission(dripping)["status"] == "Pending" and sandbox.submission(first)["status"] == "Approved"


def _serve(slack, sandbox, tmp_path, **extra):
    env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), PORT=str(free_port()), GIGDESK_POLL_SECONDS="3600", **extra)
    return env, BotProcess(env, "serve", workdir=tmp_path).wait_healthy()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_within_ten_seconds_mid_fetch(slack, sandbox, campaign, tmp_path, sig):
    sandbox.hostile_seconds = 60
    sid = sandbox.add_submission(campaign, pictures=[DRIP])
    env, serve = _serve(slack, sandbox, tmp_path)
    try:
        wait_for(lambda: sandbox.image_requests, 15)  # the image is dripping into the check now
        assert slack.calls_to("chat.postMessage")  # and the card was posted before it
        started = time.monotonic()
        serve.proc.send_signal(sig)
        assert serve.wait(timeout=15) == 0
        assert time.monotonic() - started < 10
    finally:
        serve.kill9()
    assert "Traceback" not in serve.output()[1]
    assert sid


def test_a_check_cut_short_by_a_crash_runs_again_at_the_next_start(slack, sandbox, campaign, tmp_path):
    from storage.db import connect

    sid = sandbox.add_submission(campaign, pictures=[DRIP])
    env, serve = _serve(slack, sandbox, tmp_path)
    wait_for(lambda: sandbox.image_requests, 15)
    serve.kill9()  # mid-check: attempt 1 started, nothing recorded
    db = connect(env["GIGDESK_DB"])
    assert proof_store.stored_flags(db, sid) is None and subs.get(db, sid).state == "posted"
    again = BotProcess(env, "serve", workdir=tmp_path).wait_healthy()
    try:
        wait_for(lambda: db.execute("SELECT shown FROM proof_checks WHERE submission_id = ?", [sid]).fetchone() == (1,), 20)
    finally:
        again.stop()
    assert proof_store.stored_flags(db, sid)[0]["detail"] == "timed out"
    assert db.execute("SELECT attempts FROM proof_check_runs WHERE submission_id = ?", [sid]).fetchone() == (2,)
    assert len([m for m in slack.messages("C_REVIEW", include_replies=False) if (m.metadata or {}).get("event_type") == ids.SUBMISSION_EVENT]) == 1


@pytest.fixture
def lookalike(sandbox):
    """A listener on 127.0.0.2 at the simulator's port: where a rebound image host would lead."""
    from sandbox.hostile import recording_listener

    with recording_listener("127.0.0.2", int(sandbox.url.rsplit(":", 1)[1])) as seen:
        yield seen


def test_a_rebinding_image_host_reaches_only_the_address_that_was_vetted(make_bot, sandbox, slack, campaign, lookalike):
    from sandbox.dns import DnsStandin

    dns = DnsStandin()
    host, port = dns.start()
    try:
        # The simulator's images are named img.rebind.test: first the simulator's own address, then 127.0.0.2.
        sandbox.image_host = "img.rebind.test"
        dns.answer("img.rebind.test", ["127.0.0.1"], ["127.0.0.2"])
        first = sandbox.add_submission(campaign, pictures=[7450])
        second = sandbox.add_submission(campaign, pictures=[7452])
        bot = make_bot(GIGDESK_PROOF_DNS=f"{host}:{port}")
        bot.review.sync()
        # Two checks, two look-ups (in either order): one got the simulator's address and hashed
        # the image there, the other got 127.0.0.2 and was refused without a connection.
        outcomes = sorted(str(checked(bot, sid)) for sid in (first, second))
        assert outcomes == ["[]", str([{"kind": "unchecked", "image_no": 1, "detail": "host is on a private network", "evidence": []}])]
    finally:
        dns.stop()
    assert lookalike == []  # never connected to, by either check
    assert [h["Host"] for p, h in sandbox.image_requests] == [f"img.rebind.test:{sandbox.url.rsplit(':', 1)[1]}"]
