"""The review card v2 end to end: what it shows, the instant in-progress state, the collapse."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bot.slack import ids
from storage import campaigns as campaign_store
from storage import submissions as subs
from tests.support.harness import wait_for
from tests.support.mrkdwn_check import parsed_text

REQUIREMENT = "Screenshot of the review <!channel> showing *your* name & the 5 stars"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def bot(make_bot):
    """Proof checks off: every chat.update counted here is a click's (the check's own update of the
    card is tested in tests/bot/forensics/test_checks_beside_posting.py)."""
    return make_bot(GIGDESK_FORENSICS="off")


@pytest.fixture
def campaign(sandbox):
    return sandbox.add_campaign("Review our shop", status="Active", pay="0.75", total=20,
                                proof_required_description=REQUIREMENT)


def posted(bot, sid) -> subs.SubmissionRow:
    return wait_for(lambda: (r := subs.get(bot.db, sid)) and r.ts and r)


def card(bot, slack, sid):
    return slack.message("C_REVIEW", posted(bot, sid).ts)


def mrkdwn_of(block: dict) -> str:
    return parsed_text([block])


def actions(message) -> list[str]:
    return [e["action_id"] for b in message.blocks or [] if b["type"] == "actions" for e in b["elements"]]


def image_blocks(message) -> list[dict]:
    return [b for b in message.blocks or [] if b["type"] == "image"]


def updates_of(slack, ts: str) -> list[dict]:
    return [c.args for c in slack.calls_to("chat.update") if c.args.get("ts") == ts and c.ok]


def click(poster, bot, sid, action_id, user="U_ALICE"):
    return poster.click(action_id, str(sid), message_ts=posted(bot, sid).ts, user_id=user)


REASON = {ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: {"type": "plain_text_input", "value": "Cropped <@U0BOSS> screenshot"}},
          ids.REJECT_PRESET_BLOCK: {ids.REJECT_PRESET_INPUT: {"type": "static_select", "selected_option": None}}}


# --- the card -----------------------------------------------------------------------------


def test_top_of_the_card_is_title_pay_and_the_campaigns_proof_requirement(bot, sandbox, slack, campaign):
    sid = sandbox.add_submission(campaign, proof_text="Left 5 stars")
    bot.review.sync()
    top = card(bot, slack, sid).blocks[0]
    text = mrkdwn_of(top)
    assert top["type"] == "section" and "*Review our shop*" in text and "*$0.75*" in text
    assert "Proof required:" in text
    # escaped, so it can neither ping the channel nor break the formatting
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text and "&amp; the 5 stars" in text
    # cached with the campaign, where the sync read it
    assert campaign_store.campaign_requirement(bot.db, campaign) == REQUIREMENT


def test_cached_requirement_is_shown_when_the_submission_has_none(bot, sandbox, slack, campaign):
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    row = posted(bot, sid)
    data = dict(row.data, proof_required_description=None)  # a row posted before the requirement was stored with it
    bot.db.execute("UPDATE submissions SET data = ? WHERE submission_id = ?", [json.dumps(data), sid])
    bot.review.refresh_message(sid)
    assert "5 stars" in mrkdwn_of(card(bot, slack, sid).blocks[0])


def test_requirement_given_in_rw_new_is_shown_when_listings_leave_it_out(bot, sandbox, slack):
    from bot.rw import blocks as ui
    from tests.bot.rw.test_rw_command import RW, _number, _value, buttons, open_view, text_of

    sandbox.echo_proof_requirement = False  # as the doc's list and detail examples: no requirement
    rw = RW(bot, slack)
    view = open_view(rw, slack, "new")
    values = {ui.NEW_TITLE_BLOCK: _value("Rate our app"), ui.NEW_DESCRIPTION_BLOCK: _value("Install and rate"),
              ui.NEW_PAY_BLOCK: _number("0.5"), ui.NEW_AVAILABILITIES_BLOCK: _number("4"),
              ui.NEW_PROOF_BLOCK: _value("Screenshot of <b>your</b> 5-star rating"), ui.NEW_CATEGORY_BLOCK: _value("Apps")}
    assert rw.submit(ids.NEW_CAMPAIGN_MODAL, values, view).status_code == 200
    offer = wait_for(lambda: [e for e in slack.ephemerals("U_ALICE") if e["via"] == "postEphemeral"])[0]
    created = text_of(rw.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM]))
    rw.poster.session.close()
    assert "Created" in created
    campaign = UUID_RE.search(created).group()  # the reply names the new job
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    top = mrkdwn_of(card(bot, slack, sid).blocks[0])
    assert "Proof required:* Screenshot of &lt;b&gt;your&lt;/b&gt; 5-star rating" in top


def test_flags_are_a_prominent_section_near_the_top(bot, sandbox, slack, campaign):
    worker = sandbox.add_worker("Fresh", account_age_days=1, approval_rate=20)
    sid = sandbox.add_submission(campaign, worker_id=worker)
    bot.review.sync()
    blocks = card(bot, slack, sid).blocks
    flagged = [n for n, b in enumerate(blocks) if "new account" in mrkdwn_of(b)]
    assert flagged == [1] and blocks[1]["type"] == "section"  # not small grey context text
    assert "low approval rate" in mrkdwn_of(blocks[1])


def test_five_images_one_large_full_size_image_the_rest_in_one_compact_row(bot, sandbox, slack, campaign):
    sid = sandbox.add_submission(campaign, images=5)
    bot.review.sync()
    message = card(bot, slack, sid)
    images = image_blocks(message)
    assert len(images) == 1
    assert images[0]["image_url"].endswith(f"/{sid}/1.png") or images[0]["image_url"].endswith(f"/{sid}/1.jpg")
    assert "_thumb" not in images[0]["image_url"] and images[0]["alt_text"] == "Proof image 1 of 5"
    rows = [b for b in message.blocks if b["type"] == "context" and any(e["type"] == "image" for e in b["elements"])]
    assert len(rows) == 1
    small = [e for e in rows[0]["elements"] if e["type"] == "image"]
    assert [e["alt_text"] for e in small] == [f"Proof image {n} of 5" for n in range(2, 6)]
    assert all("_thumb" in e["image_url"] for e in small)
    links = mrkdwn_of(rows[0])
    for n in range(2, 6):
        assert re.search(rf"<[^|>]*/{sid}/{n}\.(png|jpg)\|{n}>", links)
    print(f"card height: {len(message.blocks)} blocks, {len(images)} image block(s) for a 5-image submission")


def test_without_images_every_image_is_a_numbered_link(bot, sandbox, slack, campaign):
    sid = sandbox.add_submission(campaign, images=3)
    slack.fail_next("chat.postMessage", error="invalid_blocks")  # Slack could not fetch an image
    bot.review.sync()
    message = card(bot, slack, sid)
    assert image_blocks(message) == []
    text = parsed_text(message.blocks)
    assert all(re.search(rf"/{sid}/{n}\.(png|jpg)\|{n}>", text) for n in (1, 2, 3))


def test_the_thumbnail_is_the_large_image_when_there_is_no_full_size_url(bot, sandbox, slack, campaign):
    sid = sandbox.add_submission(campaign, images=2)
    bot.review.sync()
    row = posted(bot, sid)
    images = [dict(i, url="") for i in row.data["images"]]  # an API answer with thumbnails only
    bot.db.execute("UPDATE submissions SET data = ? WHERE submission_id = ?", [json.dumps(dict(row.data, images=images)), sid])
    bot.review.refresh_message(sid)
    large = image_blocks(card(bot, slack, sid))
    assert len(large) == 1 and large[0]["image_url"] == images[0]["thumbnail_url"]


def test_submitted_time_is_relative_and_from_the_workers_submission(bot, sandbox, slack, campaign):
    submitted = datetime.now(UTC) - timedelta(hours=3, minutes=5)
    sid = sandbox.add_submission(campaign, submitted_at=submitted)
    bot.review.sync()
    text = parsed_text(card(bot, slack, sid).blocks)
    token = f"<!date^{int(submitted.timestamp())}^submitted {{ago}}|submitted 3 h ago>"
    assert token in text


def test_cards_name_the_campaign_by_its_title_not_its_id(bot, sandbox, slack, campaign):
    worker = sandbox.add_worker("Uma", worker_id=str(uuid.uuid4()))
    sid = sandbox.add_submission(campaign, worker_id=worker)
    bot.review.sync()
    message = card(bot, slack, sid)
    main = [b for b in message.blocks if b["type"] != "context"]
    assert campaign not in parsed_text(message.blocks, message.text)  # not in anything read, ids line included
    assert not UUID_RE.search(json.dumps([b for b in main if b["type"] != "actions"]))
    assert "Review our shop" in parsed_text(main)
    ids_line = [mrkdwn_of(b) for b in message.blocks if b["type"] == "context" and f"`{sid}`" in mrkdwn_of(b)]
    assert len(ids_line) == 1 and worker in ids_line[0]


# --- feedback and collapse ----------------------------------------------------------------


def test_approve_shows_in_progress_naming_the_clicker_before_the_api_answers(bot, sandbox, slack, poster, campaign):
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    ts = posted(bot, sid).ts
    sandbox.set_latency(3.0, path_contains="/approve")
    assert click(poster, bot, sid, ids.REVIEW_APPROVE).status_code == 200
    progress = wait_for(lambda: (m := slack.message("C_REVIEW", ts)) and "Approving…" in parsed_text(m.blocks) and m)
    # shown while RapidWorkers is still working on it
    assert sandbox.submission(sid)["status"] == "Pending" and subs.get(bot.db, sid).state == "approving"
    assert actions(progress) == [] and "<@U_ALICE>" in parsed_text(progress.blocks)
    wait_for(lambda: subs.get(bot.db, sid).state == "approved")
    final = wait_for(lambda: (m := slack.message("C_REVIEW", ts)) and "Approved" in parsed_text(m.blocks) and m)
    assert "Approving" not in parsed_text(final.blocks)
    # the updates went in order: in progress first, the decided message last
    sent = [parsed_text(u["blocks"]) for u in updates_of(slack, ts)]
    assert "Approving…" in sent[0] and "Approved" in sent[-1] and len(sent) == 2


def test_a_stale_in_progress_rebuild_never_lands_after_the_final_state(bot, sandbox, slack, poster, campaign):
    worker = sandbox.add_worker("Twice")
    first, second = sandbox.add_submission(campaign, worker_id=worker), sandbox.add_submission(campaign, worker_id=worker)
    bot.review.sync()
    ts = posted(bot, first).ts
    sandbox.set_latency(2.0, path_contains="/approve")
    click(poster, bot, first, ids.REVIEW_APPROVE)
    wait_for(lambda: "Approving…" in parsed_text(slack.message("C_REVIEW", ts).blocks))
    # Blocking the worker (from the other message) rebuilds both their messages while the
    # approval is in flight: that rebuild reads "approving" and reaches Slack slowly.
    slack.hold("chat.update", 3.0, after_store=False, skip=1)  # skip: the block's own in-progress update
    click(poster, bot, second, ids.REVIEW_BLOCK)
    wait_for(lambda: subs.get(bot.db, first).state == "approved")
    wait_for(lambda: slack.holding("chat.update") == 0 and len(updates_of(slack, ts)) >= 3, timeout=15)
    wait_for(lambda: subs.get(bot.db, first).state == "approved" and slack.holding() == 0)
    final = slack.message("C_REVIEW", ts)
    assert "Approved" in parsed_text(final.blocks) and "Approving" not in parsed_text(final.blocks)
    sent = [parsed_text(u["blocks"]) for u in updates_of(slack, ts)]
    assert "Approved" in sent[-1]


def test_reject_shows_in_progress_on_modal_submit(bot, sandbox, slack, poster, campaign):
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    ts = posted(bot, sid).ts
    sandbox.set_latency(3.0, path_contains="/reject")
    click(poster, bot, sid, ids.REVIEW_REJECT)
    wait_for(lambda: slack.views())
    assert updates_of(slack, ts) == []  # opening the modal decides nothing
    assert poster.submit_view(ids.REVIEW_REJECT_MODAL, REASON, private_metadata=str(sid), user_id="U_BOB").status_code == 200
    progress = wait_for(lambda: (m := slack.message("C_REVIEW", ts)) and "Rejecting…" in parsed_text(m.blocks) and m)
    assert sandbox.submission(sid)["status"] == "Pending"
    assert actions(progress) == [] and "<@U_BOB>" in parsed_text(progress.blocks)
    wait_for(lambda: subs.get(bot.db, sid).state == "rejected")


def test_failed_decision_brings_the_buttons_back_with_the_reason(bot, sandbox, slack, poster, campaign):
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    ts = posted(bot, sid).ts
    sandbox.fail_next(1, status=500, path_contains="/approve")
    click(poster, bot, sid, ids.REVIEW_APPROVE)
    message = wait_for(lambda: (m := slack.message("C_REVIEW", ts)) and "failed" in parsed_text(m.blocks) and m)
    assert actions(message) == [ids.REVIEW_APPROVE, ids.REVIEW_REJECT, ids.REVIEW_BLOCK]
    text = parsed_text(message.blocks)
    assert "Approve by <@U_ALICE> failed" in text and "RapidWorkers had an error" in text and "Traceback" not in text
    assert subs.get(bot.db, sid).state == "posted"
    sent = [parsed_text(u["blocks"]) for u in updates_of(slack, ts)]
    assert "Approving…" in sent[0] and "failed" in sent[-1]


def test_block_worker_shows_in_progress_then_stays_reviewable(bot, sandbox, slack, poster, campaign):
    worker = sandbox.add_worker("Spammy")
    sid = sandbox.add_submission(campaign, worker_id=worker)
    bot.review.sync()
    ts = posted(bot, sid).ts
    sandbox.set_latency(3.0, path_contains="/workers/block")
    click(poster, bot, sid, ids.REVIEW_BLOCK)
    progress = wait_for(lambda: (m := slack.message("C_REVIEW", ts)) and "Blocking worker…" in parsed_text(m.blocks) and m)
    assert worker not in sandbox.blocked_ids()  # RapidWorkers has not answered yet
    assert actions(progress) == [] and "<@U_ALICE>" in parsed_text(progress.blocks)
    final = wait_for(lambda: (m := slack.message("C_REVIEW", ts)) and "Worker blocked by <@U_ALICE>" in parsed_text(m.blocks) and m)
    assert actions(final) == [ids.REVIEW_APPROVE, ids.REVIEW_REJECT] and "Blocking" not in parsed_text(final.blocks)
    assert subs.get(bot.db, sid).state == "posted"


def test_failed_block_brings_the_buttons_back_with_the_reason(bot, sandbox, slack, poster, campaign):
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    ts = posted(bot, sid).ts
    sandbox.fail_next(1, status=500, path_contains="/workers/block")
    click(poster, bot, sid, ids.REVIEW_BLOCK)
    message = wait_for(lambda: (m := slack.message("C_REVIEW", ts)) and "failed" in parsed_text(m.blocks) and m)
    assert actions(message) == [ids.REVIEW_APPROVE, ids.REVIEW_REJECT, ids.REVIEW_BLOCK]
    assert "Block worker by <@U_ALICE> failed" in parsed_text(message.blocks)
    sent = [parsed_text(u["blocks"]) for u in updates_of(slack, ts)]
    assert "Blocking worker…" in sent[0]


def test_approved_message_collapses_to_two_lines_without_images(bot, sandbox, slack, poster, campaign):
    sid = sandbox.add_submission(campaign, images=5)
    bot.review.sync()
    ts = posted(bot, sid).ts
    before = len(slack.message("C_REVIEW", ts).blocks)
    click(poster, bot, sid, ids.REVIEW_APPROVE)
    wait_for(lambda: subs.get(bot.db, sid).state == "approved")
    message = wait_for(lambda: (m := slack.message("C_REVIEW", ts)) and "Approved" in parsed_text(m.blocks) and m)
    assert len(message.blocks) <= 2 and image_blocks(message) == [] and actions(message) == []
    assert not any(e.get("type") == "image" for b in message.blocks for e in b.get("elements", []))
    text = parsed_text(message.blocks)
    assert "<@U_ALICE>" in text and "<!date^" in text and "$0.75" in text
    assert re.search(rf"<[^|>]*/{sid}/1\.(png|jpg)\|proof image 1 of 5>", text)
    print(f"decided message: {before} blocks before, {len(message.blocks)} after the collapse")


def test_rejected_message_collapses_with_the_escaped_reason(bot, sandbox, slack, poster, campaign):
    sid = sandbox.add_submission(campaign)
    bot.review.sync()
    ts = posted(bot, sid).ts
    click(poster, bot, sid, ids.REVIEW_REJECT)
    wait_for(lambda: slack.views())
    poster.submit_view(ids.REVIEW_REJECT_MODAL, REASON, private_metadata=str(sid))
    wait_for(lambda: subs.get(bot.db, sid).state == "rejected")
    message = wait_for(lambda: (m := slack.message("C_REVIEW", ts)) and "Rejected" in parsed_text(m.blocks) and m)
    assert len(message.blocks) <= 2 and image_blocks(message) == [] and actions(message) == []
    text = parsed_text(message.blocks)
    assert "Cropped &lt;@U0BOSS&gt; screenshot" in text and "<@U0BOSS>" not in text and "<@U_ALICE>" in text
