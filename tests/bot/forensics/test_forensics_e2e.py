"""Proof forensics end to end: the simulator serves real PNG/JPEG proof images; the bot's sync posts
each card, then its proof check downloads and hashes them beside posting and rebuilds the card,
which names the evidence. Over real HTTP: bot <-> RapidWorkers simulator, bot <-> Slack stand-in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.slack import ids
from storage import forensics as proof_store
from storage import submissions as subs
from tests.support.harness import wait_for
from tests.support.mrkdwn_check import parsed_text

COPIED = "Left a five star review on the listing, my name there is Sam."


@pytest.fixture
def campaign(sandbox):
    return sandbox.add_campaign("Review our cafe", status="Active", pay="0.40", total=50)


def synced(bot):
    """One sync, and the proof checks of what it posted (their cards rebuilt)."""
    report = bot.review.sync()
    assert bot.review.checks is None or bot.review.checks.wait(20)
    return report


def card(slack, bot, sid):
    row = wait_for(lambda: (r := subs.get(bot.db, sid)) and r.ts and r)
    return slack.message("C_REVIEW", row.ts)


def flag_text(message) -> str:
    """The card's flags block ('' when it has none): a section near the top of the card."""
    for block in message.blocks:
        if block["type"] == "section" and "text" in block:
            text = block["text"]["text"]
            if text.startswith((":warning:", ":rotating_light:", ":grey_question:")):
                return text
    return ""


def test_a_screenshot_shared_between_workers_is_flagged_with_the_evidence(bot, sandbox, slack, campaign):
    maria = sandbox.add_worker("maria.k")
    omar = sandbox.add_worker("omar_z")
    first = sandbox.add_submission(campaign, worker_id=maria, pictures=[7000], proof_text="Reviewed it as maria k, thanks")
    # omar sends maria's screenshot as a JPEG near-duplicate, as his image 2
    second = sandbox.add_submission(campaign, worker_id=omar, pictures=[7002, (7000, 1)], proof_text="My review is up, name Omar Z")
    report = synced(bot)
    assert report.posted == 2 and not report.errors
    assert flag_text(card(slack, bot, first)) == ""
    text = flag_text(card(slack, bot, second))
    first_row = subs.get(bot.db, first)
    assert ":rotating_light: *duplicate screenshot* (another worker): image 2 matches image 1 of submission " f"`{first}` by maria.k (`{maria}`), pending" in text
    link = slack.calls_to("chat.getPermalink")[-1]
    assert link.args["message_ts"] == first_row.ts and f"/archives/C_REVIEW/p{first_row.ts.replace('.', '')}|message>" in text
    assert "same worker" not in text and "copied proof text" not in text
    # both images were downloaded from the simulator and stored hashed
    assert [p for p, _ in sandbox.image_requests] == [f"/_images/{first}/1.png", f"/_images/{second}/1.png", f"/_images/{second}/2.jpg"]


def test_a_worker_reusing_their_own_screenshot_is_told_apart(bot, sandbox, slack, campaign):
    other_campaign = sandbox.add_campaign("Follow our page", status="Active", total=10)
    worker = sandbox.add_worker("repeat_rita")
    first = sandbox.add_submission(campaign, worker_id=worker, pictures=[7100])
    second = sandbox.add_submission(other_campaign, worker_id=worker, pictures=[(7100, 3)])
    synced(bot)
    text = flag_text(card(slack, bot, second))
    assert f"*duplicate screenshot* (same worker): image 1 matches image 1 of their submission `{first}`, pending" in text
    assert "another worker" not in text


def test_distinct_screenshots_of_the_same_app_screen_are_not_flagged(bot, sandbox, slack, campaign):
    # Keys with the same remainder mod 5 share a template: same app, theme and layout.
    sids = [sandbox.add_submission(campaign, pictures=[7200 + 5 * n]) for n in range(6)]
    synced(bot)
    for sid in sids:
        assert "duplicate" not in flag_text(card(slack, bot, sid))
    assert wait_for(lambda: len(proof_store.hashes_since(bot.db, 0)) == 6)


# Simulator pictures (key, variant) whose hashes lie at the duplicate thresholds. pHash
# distances are always even (every pHash has 32 of its 64 bits set: the median split),
# so the pHash boundary is 10 (a match) against 12; dHash's is 10 against 11.
AT_BOTH_LIMITS = ((60, 0), (60, 11))  # pHash 10, dHash 10: a duplicate
PHASH_PAST = ((14, 0), (14, 3))  # pHash 12, dHash 7: not one
DHASH_PAST = ((9, 0), (9, 10))  # pHash 10, dHash 11: not one


def test_the_duplicate_thresholds_sit_at_distance_ten(bot, sandbox, slack, campaign):
    """A pair at pHash 10 and dHash 10 is flagged; one at pHash 12 (the next possible
    distance) or at dHash 11 is not, whatever the other distance."""
    from bot.forensics.hashing import hamming, hash_bytes
    from sandbox.images import proof_image

    def distances(pair):
        a, b = (hash_bytes(proof_image(*picture)[0]) for picture in pair)
        return hamming(a.phash, b.phash), hamming(a.dhash, b.dhash)

    assert [distances(p) for p in (AT_BOTH_LIMITS, PHASH_PAST, DHASH_PAST)] == [(10, 10), (12, 7), (10, 11)]
    pairs = {}
    for name, (original, copy) in (("at", AT_BOTH_LIMITS), ("phash", PHASH_PAST), ("dhash", DHASH_PAST)):
        first = sandbox.add_submission(campaign, worker_id=sandbox.add_worker(f"{name}_first"), pictures=[original])
        second = sandbox.add_submission(campaign, worker_id=sandbox.add_worker(f"{name}_second"), pictures=[copy])
        pairs[name] = (first, second)
    assert bot.review.sync().posted == 6
    wait_for(lambda: all(proof_store.stored_flags(bot.db, sid) is not None for pair in pairs.values() for sid in pair))
    first, second = pairs["at"]
    text = wait_for(lambda: flag_text(card(slack, bot, second)))
    assert f"*duplicate screenshot* (another worker): image 1 matches image 1 of submission `{first}`" in text, text
    for name in ("phash", "dhash"):
        for sid in pairs[name]:
            assert "duplicate" not in flag_text(card(slack, bot, sid)), name
            assert not [f for f in proof_store.stored_flags(bot.db, sid) if "duplicate" in f["kind"]], name


def test_evidence_shows_the_other_submissions_status_as_it_is_now(bot, sandbox, slack, poster, campaign):
    first = sandbox.add_submission(campaign, pictures=[7300])
    second = sandbox.add_submission(campaign, pictures=[(7300, 1)])
    synced(bot)
    assert "pending" in flag_text(card(slack, bot, second))
    poster.click(ids.REVIEW_APPROVE, str(first), message_ts=subs.get(bot.db, first).ts)
    wait_for(lambda: subs.get(bot.db, first).state == "approved")
    poster.click(ids.REVIEW_BLOCK, str(second), message_ts=subs.get(bot.db, second).ts)  # rebuilds its card
    wait_for(lambda: "Worker blocked" in json.dumps(card(slack, bot, second).blocks))
    assert f"submission `{first}`" in flag_text(card(slack, bot, second)) and ", approved" in flag_text(card(slack, bot, second))


def test_copied_proof_text_across_workers_is_flagged_but_not_template_text(bot, sandbox, slack, campaign):
    a = sandbox.add_submission(campaign, proof_text=COPIED)
    b = sandbox.add_submission(campaign, proof_text="  left a FIVE-star review on the listing... my name there is sam!")
    own = "Subscribed with my own address, confirmation mail attached"
    writer = sandbox.add_worker("writes_the_same")
    c1 = sandbox.add_submission(campaign, worker_id=writer, proof_text=own)
    c = sandbox.add_submission(campaign, worker_id=writer, proof_text=own)  # their own words again
    d = sandbox.add_submission(campaign, proof_text="Done!")
    e = sandbox.add_submission(campaign, proof_text="done")
    f = sandbox.add_submission(campaign, proof_text="Task completed successfully!")
    g = sandbox.add_submission(campaign, proof_text="task completed successfully")  # a template, not a copy
    synced(bot)
    assert flag_text(card(slack, bot, a)) == ""
    text = flag_text(card(slack, bot, b))
    assert f":rotating_light: *copied proof text*: same as submission `{a}`" in text
    assert flag_text(card(slack, bot, c1)) == "" and flag_text(card(slack, bot, c)) == ""
    assert flag_text(card(slack, bot, d)) == "" and flag_text(card(slack, bot, e)) == ""
    assert flag_text(card(slack, bot, f)) == "" and flag_text(card(slack, bot, g)) == ""


def test_a_burst_of_submissions_is_flagged(make_bot, sandbox, slack, campaign):
    start = datetime.now(UTC) - timedelta(hours=2)
    fast = sandbox.add_worker("speedy")
    steady = sandbox.add_worker("steady")
    burst = [sandbox.add_submission(campaign, worker_id=fast, submitted_at=start + timedelta(minutes=n)) for n in range(7)]
    calm = [sandbox.add_submission(campaign, worker_id=steady, submitted_at=start + timedelta(minutes=15 * n)) for n in range(7)]
    bot = make_bot(GIGDESK_BURST_COUNT="5", GIGDESK_BURST_MINUTES="10")
    synced(bot)
    flags = [flag_text(card(slack, bot, sid)) for sid in burst]
    # the 6th and 7th in ten minutes are over the limit of 5
    assert ["burst" in f for f in flags] == [False] * 5 + [True] * 2
    assert ":rotating_light: *burst*: 7 submissions within 10 min" in flags[6]
    assert not any("burst" in flag_text(card(slack, bot, sid)) for sid in calm)


def test_the_burst_limit_is_a_setting(make_bot, sandbox, slack, campaign):
    start = datetime.now(UTC) - timedelta(hours=1)
    fast = sandbox.add_worker("speedy")
    burst = [sandbox.add_submission(campaign, worker_id=fast, submitted_at=start + timedelta(minutes=n)) for n in range(7)]
    bot = make_bot(GIGDESK_BURST_COUNT="7")
    synced(bot)
    assert not any("burst" in flag_text(card(slack, bot, sid)) for sid in burst)


def test_images_that_cannot_be_checked_are_named_and_the_post_still_happens(bot, sandbox, slack, campaign):
    sid = sandbox.add_submission(campaign, pictures=[7400, -1, -2, -3])
    report = synced(bot)
    assert report.posted == 1 and not report.errors
    text = flag_text(card(slack, bot, sid))
    assert ":grey_question: image 2 could not be checked (not an image (text/html))" in text
    assert ":grey_question: image 3 could not be checked (too large)" in text
    assert ":grey_question: image 4 could not be checked (HTTP 404)" in text
    assert "image 1 could not" not in text
    assert [r["phash"] is not None for r in _images(bot, sid)] == [True, False, False, False]


def _images(bot, sid):
    return [dict(zip(("image_no", "phash", "error"), r, strict=True)) for r in bot.db.execute(
        "SELECT image_no, phash, error FROM proof_images WHERE submission_id = ? ORDER BY image_no", [sid])]


def test_proof_checks_cost_no_rapidworkers_request_and_send_no_secret(make_bot, sandbox, slack, campaign):
    for n in range(3):
        sandbox.add_submission(campaign, pictures=[7500 + n, (7500, 1)])
    off = make_bot(GIGDESK_FORENSICS="off", GIGDESK_DB=str(slack_db_path(make_bot, "off")))
    sandbox.reset_log()
    synced(off)
    without = [(r.method, r.path) for r in sandbox.requests]
    assert sandbox.image_requests == []
    slack_calls = len(slack.calls_to("chat.postMessage"))
    on = make_bot(GIGDESK_DB=str(slack_db_path(make_bot, "on")))
    sandbox.reset_log()
    synced(on)
    assert [(r.method, r.path) for r in sandbox.requests] == without
    assert len(slack.calls_to("chat.postMessage")) == 2 * slack_calls
    assert len(sandbox.image_requests) == 6
    for _, headers in sandbox.image_requests:
        sent = json.dumps(headers).lower()
        assert "authorization" not in sent and "cookie" not in sent
        assert sandbox.api_key.lower() not in sent and "xoxb-" not in sent


def slack_db_path(make_bot, name):
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp(prefix="gigdesk-forensics-")) / f"{name}.db"


def test_a_failed_post_is_retried_with_the_stored_check_not_a_second_one(make_bot, sandbox, slack, campaign):
    first = sandbox.add_submission(campaign, pictures=[7600])
    second = sandbox.add_submission(campaign, pictures=[(7600, 2)])
    bot = make_bot()
    slack.fail_next("chat.postMessage", error="internal_error", status=500)  # may or may not be posted
    report = synced(bot)  # a Slack 5xx stops this run's posting (nothing more is posted)
    assert report.failed == 1 and report.posted == 0 and subs.get(bot.db, first).state == "claimed"
    again = synced(bot)
    assert again.recovered == 1 and again.posted == 1
    posted = [m.metadata["event_payload"]["submission_id"] for m in slack.messages("C_REVIEW", include_replies=False)
              if (m.metadata or {}).get("event_type") == ids.SUBMISSION_EVENT]
    assert sorted(posted) == [first, second]  # each once
    assert "duplicate screenshot" in flag_text(card(slack, bot, second))
    assert len(sandbox.image_requests) == 2  # the re-post did not download again
    counts = bot.db.execute("SELECT (SELECT count(*) FROM proof_checks), (SELECT count(*) FROM proof_images)").fetchone()
    assert tuple(counts) == (2, 2)


def test_hostile_worker_names_in_evidence_are_escaped(bot, sandbox, slack, campaign):
    hostile = sandbox.add_worker("<!channel> <https://evil.example|bank>")
    first = sandbox.add_submission(campaign, worker_id=hostile, pictures=[7700], proof_text=COPIED)
    second = sandbox.add_submission(campaign, pictures=[(7700, 1)], proof_text=COPIED)
    synced(bot)
    message = card(slack, bot, second)
    text = parsed_text(message.blocks, message.text)
    assert "<!channel>" not in text and "<https://evil.example" not in text
    assert "&lt;!channel&gt; &lt;https://evil.example|bank&gt;" in flag_text(message)
    assert f"submission `{first}`" in flag_text(message)


def test_forensics_off_adds_no_flags_and_fetches_nothing(make_bot, sandbox, slack, campaign):
    sandbox.add_submission(campaign, pictures=[7800], proof_text=COPIED)
    second = sandbox.add_submission(campaign, pictures=[(7800, 1)], proof_text=COPIED)
    bot = make_bot(GIGDESK_FORENSICS="off")
    assert synced(bot).posted == 2
    assert flag_text(card(slack, bot, second)) == "" and sandbox.image_requests == []


def test_the_demo_simulator_shows_planted_reuse(make_bot, slack, tmp_path):
    from sandbox.rapidworkers import Sandbox
    from tests.support.harness import RunningBot, bot_env

    with Sandbox() as demo:
        bot = RunningBot(bot_env(slack, demo, str(tmp_path / "demo.db"))).start()
        try:
            synced(bot)
            texts = [flag_text(m) for m in slack.messages("C_REVIEW", include_replies=False)]
        finally:
            bot.stop()
    assert sum("(another worker)" in t for t in texts) == 1
    assert sum("(same worker)" in t for t in texts) == 1
    assert sum("copied proof text" in t for t in texts) == 1


def test_flagged_submissions_are_known_for_approve_all_and_the_digest(bot, sandbox, slack, campaign):
    clean = sandbox.add_submission(campaign, pictures=[7900])
    shared = sandbox.add_submission(campaign, pictures=[(7900, 1)])
    unchecked = sandbox.add_submission(campaign, pictures=[-1])  # a notice, not a suspicion
    synced(bot)
    assert bot.review.forensics.suspicious_ids([clean, shared, unchecked]) == {shared}
    assert proof_store.suspicious_waiting_count(bot.db) == 1


@pytest.fixture
def rw(bot, slack):
    from tests.bot.rw.test_rw_command import RW

    driver = RW(bot, slack)
    yield driver
    driver.poster.session.close()


def test_rw_worker_shows_history_flags_and_block(rw, bot, sandbox, slack, campaign):
    from tests.bot.rw.test_rw_command import text_of

    other_campaign = sandbox.add_campaign("Follow our page", status="Active", total=10)
    cheat = sandbox.add_worker("<!here> cheater")
    honest = sandbox.add_worker("honest_hana")
    sandbox.add_submission(campaign, worker_id=honest, pictures=[8000], proof_text="Reviewed as Hana, five stars given")
    first = sandbox.add_submission(campaign, worker_id=cheat, pictures=[8002])
    second = sandbox.add_submission(other_campaign, worker_id=cheat, pictures=[(8002, 1), (8000, 2)], proof_text="Reviewed as Hana, five stars given")
    synced(bot)
    before = sandbox.count()
    shown = text_of(rw.command(f"worker {cheat}"))
    assert sandbox.count() == before  # read from gigdesk's own records: no RapidWorkers request
    assert "&lt;!here&gt; cheater" in shown and "<!here>" not in shown
    assert "2 submissions in 2 campaigns" in shown and "2 pending" in shown
    assert "1 flagged" in shown
    assert "screenshot reused: 1" in shown and "screenshot shared with another worker: 1" in shown and "copied proof text: 1" in shown
    assert "Not blocked." in shown and f"`{second}`" in shown and f"`{first}`" in shown
    rw.command(f"block {cheat}")
    assert ":no_entry: Blocked by <@U_ALICE>" in text_of(rw.command(f"worker {cheat}"))
    assert "1 flagged" not in text_of(rw.command(f"worker {honest}"))
    assert "no submission of worker `424242`" in text_of(rw.command("worker 424242"))
    assert "not a valid worker id" in text_of(rw.command("worker <@U0BOSS>"))
    assert "Give one worker id" in text_of(rw.command("worker"))


def test_the_digest_counts_flagged_submissions_waiting(rw, bot, sandbox, slack, campaign):
    sandbox.add_submission(campaign, pictures=[8100])
    shared = sandbox.add_submission(campaign, pictures=[(8100, 1)])
    sandbox.add_submission(campaign, pictures=[-1])  # unchecked: not counted
    synced(bot)

    def digest_text():
        rw.command("digest")
        posted = [m for m in slack.messages("C_REVIEW", include_replies=False) if m.blocks and m.blocks[0]["type"] == "header"
                  and (m.metadata or {}).get("event_type") != ids.SUBMISSION_EVENT]
        return json.dumps(posted[-1].blocks)

    assert "*Waiting for review:* 3 submissions (:rotating_light: 1 flagged by the proof checks)" in digest_text()
    rw.poster.click(ids.REVIEW_APPROVE, str(shared), message_ts=subs.get(bot.db, shared).ts)
    wait_for(lambda: subs.get(bot.db, shared).state == "approved")
    text = digest_text()
    assert "*Waiting for review:* 2 submissions" in text and "flagged by the proof checks" not in text


def test_approve_all_leaves_out_a_reused_screenshot_but_not_an_unchecked_image(rw, bot, sandbox, campaign):
    """A suspicious proof flag keeps a submission out of approve-all by default, like the
    account flags; an image that could not be checked is a notice on the card, not a flag."""
    from tests.bot.rw.test_rw_command import buttons, text_of

    clean = sandbox.add_submission(campaign, pictures=[8100])
    shared = sandbox.add_submission(campaign, pictures=[(8100, 1)])
    unchecked = sandbox.add_submission(campaign, pictures=[-1])
    synced(bot)

    offer = rw.command(f"approve-all {campaign}")
    text = text_of(offer)
    assert "*2* unflagged" in text and "*1* flagged" in text and "duplicate screenshot" in text, text
    done = text_of(rw.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM]))
    assert "Approved 2 of the 2" in done, done
    assert sandbox.submission(shared)["status"] == "Pending"
    assert {sandbox.submission(s)["status"] for s in (clean, unchecked)} == {"Approved"}
