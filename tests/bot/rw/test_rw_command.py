"""/rw end to end: signed requests to the running bot, replies in the Slack
stand-in, API calls in the RapidWorkers simulator."""

from __future__ import annotations

import itertools
import json
import threading
from decimal import Decimal

import pytest

from bot.rw import blocks as ui
from bot.slack import ids
from storage import audit as audit_store
from storage import jobs as job_store
from storage import offers as offer_store
from storage import submissions as subs
from tests.support.harness import wait_for

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MONEY_PATHS = ("/api/jobs/", "/jobs/add", "bulk_action")
_names = itertools.count(1)


class RW:
    """Drive /rw like Slack does and collect what the user sees."""

    def __init__(self, bot, slack):
        self.bot, self.slack = bot, slack
        self.poster = bot.poster(standin=slack)

    def command(self, text: str, *, user: str = "U_ALICE", channel: str = "C_REVIEW", wait: bool = True) -> dict | None:
        name = f"rw-{next(_names)}"
        url = self.slack.response_url(name, channel=channel, user=user)
        r = self.poster.command("/rw", text, user_id=user, channel_id=channel, response_url=url, trigger_id=f"trig-{name}")
        assert r.status_code == 200
        if not wait:
            return None
        return wait_for(lambda: self.slack.responses(name))[-1]["payload"]

    def click(self, action_id: str, value: str, *, user: str = "U_ALICE", channel: str = "C_REVIEW") -> dict:
        name = f"click-{next(_names)}"
        url = self.slack.response_url(name, channel=channel, user=user)
        r = self.poster.click(action_id, value, user_id=user, channel_id=channel, message_ts="1700000000.000100",
                              is_ephemeral=True, response_url=url)
        assert r.status_code == 200
        return wait_for(lambda: self.slack.responses(name))[-1]["payload"]

    def submit(self, callback_id: str, values: dict, view: dict, *, user: str = "U_ALICE"):
        return self.poster.submit_view(callback_id, values, private_metadata=view.get("private_metadata", ""),
                                       user_id=user, view=view)


@pytest.fixture
def rw(bot, slack):
    driver = RW(bot, slack)
    yield driver
    driver.poster.session.close()  # no keep-alive connection left: the bot's server stops at once


def text_of(payload: dict) -> str:
    return (payload.get("text") or "") + json.dumps(payload.get("blocks") or [], ensure_ascii=False)


def buttons(payload: dict) -> dict[str, str]:
    return {e["action_id"]: e.get("value") for b in payload.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]}


def money_requests(sandbox) -> int:
    return sum(sandbox.count(path_contains=p) for p in MONEY_PATHS)


def posted_for_review(bot) -> None:
    """Post the pending submissions to the review channel and let their proof checks finish:
    approve-all offers only what a reviewer could have seen."""
    bot.review.sync()
    assert bot.review.checks is None or bot.review.checks.wait(20)


def offer_job(rw, text="job instagram-likes https://www.instagram.com/p/abc 50", user="U_ALICE") -> str:
    payload = rw.command(text, user=user)
    assert "Confirm" in text_of(payload), text_of(payload)
    return buttons(payload)[ids.SPEND_CONFIRM]


# --- read-only commands -------------------------------------------------------------


def test_help_usage_and_unknown_subcommand(rw):
    for text in ("", "help", "  HeLp  "):
        assert "/rw job &lt;kind&gt;" in text_of(rw.command(text))
    reply = text_of(rw.command("campains"))
    assert "Unknown command" in reply and "Did you mean `campaigns`" in reply and "/rw balance" in reply


def test_balance(rw, sandbox, transport):
    sandbox.balance = Decimal("1234.5")
    assert "$1,234.50" in text_of(rw.command("BALANCE"))
    assert "takes no arguments" in text_of(rw.command("balance now"))


def test_campaigns_table_filter_and_escaping(rw, sandbox):
    active = sandbox.add_campaign("<!channel> Like our page", status="Active", pay="0.50", total=10)
    for _ in range(3):
        sandbox.add_submission(active)
    sandbox.add_submission(active, status="Approved")
    sandbox.add_campaign("Old survey", status="Completed", pay="1.00", total=5)
    table = text_of(rw.command("campaigns"))
    assert "&lt;!channel&gt; Like our page" in table and "<!channel>" not in table
    assert "Old survey" in table and "3 pending" in table and "$0.50" in table
    assert "▓" in table or "░" in table
    only = text_of(rw.command("  Campaigns   COMPLETED "))
    assert "Old survey" in only and "Like our page" not in only
    bad = text_of(rw.command("campaigns finished"))
    assert "Unknown status" in bad and "Usage" in bad


def test_campaign_detail_buttons_and_unknown_id(rw, sandbox):
    cid = sandbox.add_campaign("Watch my video", pay="0.25", total=8, description="Watch & like")
    sandbox.add_submission(cid)
    payload = rw.command(f"campaign {cid}")
    reply = text_of(payload)
    assert "Watch my video" in reply and "*Remaining slots*" in reply and "Watch &amp; like" in reply
    assert buttons(payload) == {ids.CAMPAIGN_APPROVE_ALL: cid, ids.CAMPAIGN_POST_PENDING: cid}
    assert "No campaign with id `00000000-dead`" in text_of(rw.command("campaign 00000000-dead"))
    theirs = sandbox.add_campaign("Someone else's", owner="other")
    assert "not one of yours" in text_of(rw.command(f"campaign {theirs}"))
    # Not an id: read as a title prefix (no campaign starts so); never sent to RapidWorkers as a path.
    assert "No campaign starts with `../../account`" in text_of(rw.command("campaign ../../account"))
    assert sandbox.count(path_contains="account") == 0
    assert "No campaign starts with `&lt;&gt;`" in text_of(rw.command("campaign  &lt;&gt; "))  # alone, it opens a form


def test_block_blocked_unblock_and_refusal(rw, sandbox, bot):
    wid = sandbox.add_worker("Spammy <@U0BOSS>")
    assert "Blocked worker" in text_of(rw.command(f"block {wid}"))
    assert wid in sandbox.blocked_ids()
    listed = text_of(rw.command("blocked"))
    assert "Spammy &lt;@U0BOSS&gt;" in listed and "<@U_ALICE>" in listed
    before = sandbox.count(path_contains="/api/workers/")
    refused = text_of(rw.command(f"unblock {wid}", user="U_MALLORY"))
    assert "not allowed" in refused
    assert sandbox.count(path_contains="/api/workers/") == before
    assert "Unblocked" in text_of(rw.command(f"unblock {wid}"))
    assert wid not in sandbox.blocked_ids()
    assert any(r.action == "unblock" and r.outcome == "refused" for r in audit_store.audit_since(bot.db, "2000"))


def test_digest_posts_now(rw, slack):
    before = len(slack.messages("C_REVIEW"))
    reply = text_of(rw.command("digest"))
    assert "Posted the digest" in reply
    assert len(slack.messages("C_REVIEW")) == before + 1


# --- validation: never spends ------------------------------------------------------------


BAD_JOBS = [
    ("job instagram-like https://instagram.com/p/x 50", "Did you mean `instagram-likes`"),
    ("job tiktok-likes https://tiktok.com/x 50", "Unknown job kind"),
    ("job instagram-likes 50", "must start with http"),  # (a kind alone opens the form: test_route_worker_and_kind.py)
    ("job instagram-likes instagram.com/p/x 50", "must start with http"),
    ("job instagram-likes ftp://instagram.com/p/x 50", "must start with http"),
    ("job instagram-likes https://evil-instagram.com/p/x 50", "must be on instagram.com"),
    ("job instagram-likes https://instagram.com.evil.io/p/x 50", "must be on instagram.com"),
    ("job instagram-likes https://instagram.com@evil.io/p/x 50", "must be on instagram.com"),
    ("job facebook-likes https://twitter.com/x 50", "must be on facebook.com or fb.com"),
    ("job twitter-likes <https://notx.com/a|notx.com/a> 50", "must be on twitter.com or x.com"),
    ("job youtube-likes https://youtube.com/watch?v=1", "quantity is missing"),
    ("job youtube-likes https://youtube.com/watch?v=1 lots", "whole number"),
    ("job youtube-likes https://youtube.com/watch?v=1 5", "at least 6"),
    ("job youtube-likes https://youtube.com/watch?v=1 100001", "at most 100,000"),
    ("job youtube-likes https://youtube.com/watch?v=1 99999999999999999999", "whole number"),
    ("job youtube-likes https://youtube.com/watch?v=1 10 US,XX", "Unknown country code"),
    ("job youtube-likes https://youtube.com/watch?v=1 10 UK", "did you mean GB"),
    ("job youtube-likes https://youtube.com/watch?v=1 10 US english!", "language must be"),
    ("job youtube-likes https://youtube.com/watch?v=1 10 US en extra", "Too many words"),
    ("approve-all 00000000-nope", "No campaign with id"),
    ("approve-all a/b", "No campaign starts with `a/b`"),
    ("block", "Give one worker id"),
    ("unblock a b", "Give one worker id"),
    ("new please", "takes no arguments"),
]


def test_bad_input_is_explained_with_usage_and_never_spends(rw, sandbox):
    for text, expected in BAD_JOBS:
        reply = text_of(rw.command(text))
        assert expected in reply, (text, reply)
        assert "Traceback" not in reply and "Something went wrong" not in reply
    assert "Usage: `/rw job &lt;kind&gt;" in text_of(rw.command("job instagram-likes https://instagram.com/p 3"))
    assert money_requests(sandbox) == 0


def test_accepted_link_forms(rw, sandbox):
    assert "Confirm" in text_of(rw.command("job instagram-likes https://instagram.com/payload 6"))  # Bolt parsing bug
    for link in ("<https://m.facebook.com/post/1|m.facebook.com/post/1>", "<https://fb.com/post/1>", "https://FB.COM/post/1"):
        assert "Confirm" in text_of(rw.command(f"job facebook-likes {link} 6"))
    assert "Confirm" in text_of(rw.command("job twitter-likes https://x.com/a/status/1 6 us, gb en"))
    assert "Confirm" in text_of(rw.command("job youtube-likes https://youtu.be/abc 6 all pt-BR"))
    assert money_requests(sandbox) == 0


# --- confirm before spend -------------------------------------------------------------------


def test_confirm_then_create(rw, sandbox, slack, bot, transport):
    payload = rw.command("job Instagram-Likes <https://www.instagram.com/p/abc?x=1&amp;y=2|instagram.com/p/abc> 50 US,GB en")
    offer = text_of(payload)
    assert "$2.50" in offer and "$1,000.00" in offer and "$997.50" in offer
    assert set(buttons(payload)) == {ids.SPEND_CONFIRM, ids.SPEND_CANCEL}
    cid = buttons(payload)[ids.SPEND_CONFIRM]
    assert buttons(payload)[ids.SPEND_CANCEL] == cid and len(cid) >= 16
    assert money_requests(sandbox) == 0

    done = rw.click(ids.SPEND_CONFIRM, cid)
    assert done["replace_original"] is True
    result = text_of(done)
    assert "Created" in result and "$2.50" in result and "$997.50" in result
    assert sandbox.balance == Decimal("997.50")
    [req] = [r for r in sandbox.requests if "/api/jobs/" in r.path]
    assert req.path.startswith("/api/jobs/instagram-likes")
    assert req.json == {"link": "https://www.instagram.com/p/abc?x=1&y=2", "quantity": 50, "countries": ["US", "GB"], "language": "en"}
    notice = wait_for(lambda: [m for m in slack.messages("C_REVIEW") if "created" in m.text])
    assert "<@U_ALICE>" in notice[0].text and "$2.50" in notice[0].text
    job_id = offer_store.get_confirmation(bot.db, cid).result["job_id"]
    assert job_id in result
    assert [j["job_id"] for j in job_store.jobs_since(bot.db, "2000")] == [job_id]
    outcomes = [(a.action, a.outcome) for a in audit_store.audit_since(bot.db, "2000")]
    assert ("job-prefilled", "offered") in outcomes and ("job-prefilled", "created") in outcomes


def test_double_confirm_and_second_person_create_one_job(rw, sandbox, bot, transport):
    cid = offer_job(rw)
    sandbox.set_latency(0.3, path_contains="/api/jobs/")
    replies: list[dict] = []
    clickers = [("U_ALICE", 3), ("U_BOB", 2)]
    threads = [threading.Thread(target=lambda u=u: replies.append(rw.click(ids.SPEND_CONFIRM, cid, user=u)))
               for u, n in clickers for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sandbox.count(path_contains="/api/jobs/") == 1
    texts = [text_of(r) for r in replies]
    assert sum("Created" in t for t in texts) == 1
    assert sum("Only <@U_ALICE>" in t for t in texts) == 2
    assert all(("Created" in t) or ("Only" in t) or ("already" in t) for t in texts), texts
    assert "already" in text_of(rw.click(ids.SPEND_CONFIRM, cid))
    assert sandbox.count(path_contains="/api/jobs/") == 1
    assert sandbox.balance == Decimal("997.50")


def test_expired_confirmation_calls_nothing(rw, sandbox, bot):
    cid = offer_job(rw)
    with bot.services.store.write() as db:
        db.execute("UPDATE confirmations SET expires_at = ? WHERE id = ?", ["2000-01-01T00:00:00.000000+00:00", cid])
    assert "expired" in text_of(rw.click(ids.SPEND_CONFIRM, cid))
    assert money_requests(sandbox) == 0


def test_cancel_then_confirm_does_nothing(rw, sandbox):
    cid = offer_job(rw)
    assert "Only <@U_ALICE>" in text_of(rw.click(ids.SPEND_CANCEL, cid, user="U_BOB"))
    cancelled = rw.click(ids.SPEND_CANCEL, cid)
    assert "Cancelled" in text_of(cancelled) and cancelled["replace_original"] is True
    assert "cancelled" in text_of(rw.click(ids.SPEND_CONFIRM, cid))
    assert "does not exist" in text_of(rw.click(ids.SPEND_CONFIRM, "forged-id-0123456789abcdef"))
    assert money_requests(sandbox) == 0


def test_unauthorised_spender_is_refused(rw, sandbox, slack, bot):
    campaign = sandbox.add_campaign("Survey", pay="1.00")
    sandbox.add_submission(campaign)
    for text in ("job instagram-likes https://instagram.com/p/x 50", f"approve-all {campaign}", "new", "job"):
        reply = text_of(rw.command(text, user="U_MALLORY"))
        assert "not allowed" in reply, (text, reply)
    assert "not allowed" in text_of(rw.click(ids.CAMPAIGN_APPROVE_ALL, campaign, user="U_MALLORY"))
    assert slack.views() == []
    assert money_requests(sandbox) == 0 and sandbox.count(path_contains="get_balance") == 0
    refused = [a for a in audit_store.audit_since(bot.db, "2000") if a.user_id == "U_MALLORY"]
    assert len(refused) == 5 and all(a.outcome == "refused" for a in refused)


def test_not_enough_balance_offers_no_confirm(rw, sandbox, bot):
    sandbox.balance = Decimal("1.00")
    payload = rw.command("job youtube-likes https://www.youtube.com/watch?v=1 100")
    reply = text_of(payload)
    assert "Not enough balance" in reply and "$5.00" in reply and "$1.00" in reply
    assert ids.SPEND_CONFIRM not in buttons(payload)
    assert money_requests(sandbox) == 0
    assert any(a.outcome == "refused" and "insufficient" in a.detail for a in audit_store.audit_since(bot.db, "2000"))


def test_server_error_on_creation_is_not_retried(rw, sandbox, bot):
    cid = offer_job(rw)
    sandbox.fail_next(1, status=500, path_contains="/api/jobs/")
    failed = rw.click(ids.SPEND_CONFIRM, cid)
    assert "/rw campaigns" in text_of(failed) and "server error" in text_of(failed)
    assert offer_store.get_confirmation(bot.db, cid).state == "failed"
    assert "already used" in text_of(rw.click(ids.SPEND_CONFIRM, cid))
    assert sandbox.count(path_contains="/api/jobs/") == 1
    assert sandbox.balance == Decimal("1000.00")


def test_certain_refusal_keeps_the_offer(rw, sandbox, bot):
    cid = offer_job(rw)
    sandbox.balance = Decimal("1.00")  # spent elsewhere meanwhile: RapidWorkers answers 400
    low = text_of(rw.click(ids.SPEND_CONFIRM, cid))
    assert "balance is too low" in low and "Nothing was spent" in low
    assert offer_store.get_confirmation(bot.db, cid).state == "offered"
    sandbox.fail_next(1, status=429, path_contains="/api/jobs/", retry_after=60)
    sandbox.balance = Decimal("100.00")
    assert "too many requests" in text_of(rw.click(ids.SPEND_CONFIRM, cid))
    assert "Created" in text_of(rw.click(ids.SPEND_CONFIRM, cid))
    assert sandbox.balance == Decimal("97.50")


# --- approve-all -------------------------------------------------------------------------


def test_approve_all_rebuilds_review_messages(rw, sandbox, slack, bot):
    campaign = sandbox.add_campaign("Follow us", pay="0.50", total=10)
    sids = [sandbox.add_submission(campaign) for _ in range(3)]
    assert bot.review.sync().posted == 3
    assert bot.review.checks.wait(20)  # approve-all leaves out submissions still being checked
    detail = rw.command(f"campaign {campaign}")
    offer = rw.click(ids.CAMPAIGN_APPROVE_ALL, buttons(detail)[ids.CAMPAIGN_APPROVE_ALL])
    assert "*Cost*" in text_of(offer) and "$1.50" in text_of(offer) and "*3*" in text_of(offer)
    assert sandbox.count(path_contains="/approve") == 0
    again = rw.command(f"approve-all {campaign}")
    assert "$1.50" in text_of(again)

    done = rw.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM])
    assert "Approved 3 of the 3" in text_of(done) and "paid $1.50" in text_of(done)
    assert all(sandbox.submission(s)["status"] == "Approved" for s in sids)
    assert sandbox.balance == Decimal("998.50")
    for sid in sids:
        row = subs.get(bot.db, sid)
        assert row.state == "approved" and row.decided_by == "U_ALICE"
        message = slack.message(row.channel, row.ts)
        assert not [b for b in message.blocks if b["type"] == "actions"]
        assert "<@U_ALICE>" in json.dumps(message.blocks)
    # the second offer is still there, but its submissions were decided meanwhile: skipped, nothing paid
    late = text_of(rw.click(ids.SPEND_CONFIRM, buttons(again)[ids.SPEND_CONFIRM]))
    assert "Approved 0 of the 3" in late and "3 skipped" in late
    assert sandbox.count(path_contains="/approve") == 3 and sandbox.count(path_contains="bulk_action") == 0
    assert sandbox.balance == Decimal("998.50")


def test_post_pending_button(rw, sandbox, slack, bot):
    campaign = sandbox.add_campaign("Review us", pay="0.30")
    sandbox.add_submission(campaign)
    bot.review.sync()
    sandbox.add_submission(campaign)
    sandbox.add_submission(campaign)
    reply = text_of(rw.click(ids.CAMPAIGN_POST_PENDING, campaign))
    assert "Posted 2 new" in reply and "1 already posted" in reply
    assert len([m for m in slack.messages("C_REVIEW") if m.metadata]) == 3


# --- modals ------------------------------------------------------------------------------------


def _value(v):
    return {ui.INPUT: {"type": "plain_text_input", "value": v}}


def _number(v):
    return {ui.INPUT: {"type": "number_input", "value": v}}


def _select(v):
    return {ui.INPUT: {"type": "static_select", "selected_option": {"value": v, "text": {"type": "plain_text", "text": v}} if v else None}}


def _multi(*vs):
    return {ui.INPUT: {"type": "multi_static_select", "selected_options": [{"value": v, "text": {"type": "plain_text", "text": v}} for v in vs]}}


def open_view(rw, slack, text: str, channel: str = "C_REVIEW") -> dict:
    before = len(slack.views())
    rw.command(text, channel=channel, wait=False)
    return wait_for(lambda: slack.views()[before:])[0]["view"]


def test_job_modal_validates_then_offers_in_the_channel(rw, slack, sandbox):
    view = open_view(rw, slack, "job", channel="C_DIGEST")
    assert view["callback_id"] == ids.JOB_MODAL and json.loads(view["private_metadata"]) == {"channel": "C_DIGEST"}
    bad = {
        ui.JOB_KIND_BLOCK: _select("instagram-likes"),
        ui.JOB_LINK_BLOCK: _value("https://evil-instagram.com/p/1"),
        ui.JOB_QUANTITY_BLOCK: _number("3"),
        ui.COUNTRIES_BLOCK: _multi("US"),
        ui.MORE_COUNTRIES_BLOCK: _value("ZZ"),
        ui.LANGUAGE_BLOCK: _value("english!"),
    }
    r = rw.submit(ids.JOB_MODAL, bad, view)
    assert r.status_code == 200 and r.json()["response_action"] == "errors"
    assert set(r.json()["errors"]) == {ui.JOB_LINK_BLOCK, ui.JOB_QUANTITY_BLOCK, ui.MORE_COUNTRIES_BLOCK, ui.LANGUAGE_BLOCK}
    good = dict(bad, **{ui.JOB_LINK_BLOCK: _value("https://instagram.com/p/1"), ui.JOB_QUANTITY_BLOCK: _number("20"),
                        ui.MORE_COUNTRIES_BLOCK: _value("lu, mt"), ui.LANGUAGE_BLOCK: _value("")})
    r = rw.submit(ids.JOB_MODAL, good, view)
    assert r.status_code == 200 and not r.content.strip()
    offer = wait_for(lambda: [e for e in slack.ephemerals("U_ALICE") if e["via"] == "postEphemeral"])[0]
    assert offer["channel"] == "C_DIGEST" and "$1.00" in text_of(offer) and "US, LU, MT" in text_of(offer)
    cid = buttons(offer)[ids.SPEND_CONFIRM]
    assert "Created" in text_of(rw.click(ids.SPEND_CONFIRM, cid, channel="C_DIGEST"))
    [req] = [r for r in sandbox.requests if "/api/jobs/" in r.path]
    assert req.json["countries"] == ["US", "LU", "MT"] and req.json["quantity"] == 20


def test_forged_modal_metadata_falls_back_to_review_channel(rw, slack):
    view = open_view(rw, slack, "job")
    view["private_metadata"] = json.dumps({"channel": "<!channel>"})
    values = {ui.JOB_KIND_BLOCK: _select("9gag-upvotes"), ui.JOB_LINK_BLOCK: _value("https://9gag.com/gag/1"),
              ui.JOB_QUANTITY_BLOCK: _number("6")}
    assert rw.submit(ids.JOB_MODAL, values, view).status_code == 200
    offer = wait_for(lambda: [e for e in slack.ephemerals("U_ALICE") if e["via"] == "postEphemeral"])[0]
    assert offer["channel"] == "C_REVIEW" and "$0.30" in text_of(offer)


def test_custom_campaign_modal_with_image(rw, slack, sandbox, bot):
    view = open_view(rw, slack, "new")
    assert view["callback_id"] == ids.NEW_CAMPAIGN_MODAL
    assert any(b.get("element", {}).get("type") == "file_input" for b in view["blocks"])
    slack.add_file("F0LOGO", PNG, name="logo.png", mimetype="image/png")
    values = {
        ui.NEW_TITLE_BLOCK: _value("Rate our <app>"),
        ui.NEW_DESCRIPTION_BLOCK: _value("Install and rate"),
        ui.NEW_PAY_BLOCK: _number("0.5"),
        ui.NEW_AVAILABILITIES_BLOCK: _number("10"),
        ui.NEW_PROOF_BLOCK: _value("Screenshot of the rating"),
        ui.NEW_CATEGORY_BLOCK: _value("Apps"),
        ui.NEW_SUB_CATEGORY_BLOCK: _value("Android"),
        ui.COUNTRIES_BLOCK: _multi("US", "CA"),
        ui.NEW_APPROVE_FULL_BLOCK: {ui.INPUT: {"type": "checkboxes", "selected_options": [{"value": "approve_once_full"}]}},
        ui.NEW_IMAGE_BLOCK: {ui.INPUT: {"type": "file_input", "files": [{"id": "F0LOGO", "name": "logo.png", "mimetype": "image/png"}]}},
    }
    bad = rw.submit(ids.NEW_CAMPAIGN_MODAL, dict(values, **{ui.NEW_PAY_BLOCK: _number("0.001"), ui.NEW_TITLE_BLOCK: _value("")}), view)
    assert set(bad.json()["errors"]) == {ui.NEW_PAY_BLOCK, ui.NEW_TITLE_BLOCK}
    assert rw.submit(ids.NEW_CAMPAIGN_MODAL, values, view).status_code == 200
    offer = wait_for(lambda: [e for e in slack.ephemerals("U_ALICE") if e["via"] == "postEphemeral"])[0]
    reply = text_of(offer)
    assert "Estimated cost" in reply and "$5.50" in reply and "$0.50 commission" in reply and "Rate our &lt;app&gt;" in reply
    downloads = slack.calls_to("files.download")
    assert downloads and downloads[-1].token == slack.token
    assert "Created" in text_of(rw.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM]))
    [req] = [r for r in sandbox.requests if r.path.startswith("/jobs/add")]
    assert req.files["campaign_image"] == ("logo.png", "image/png", len(PNG))
    assert req.form["title"] == "Rate our <app>" and req.form["approve_once_full"] == "true"
    assert json.loads(req.form["countries"]) == ["US", "CA"] and req.form["sub_category"] == "Android"
    assert sandbox.balance == Decimal("994.50")


def test_legitimacy_check_is_explained(rw, slack, sandbox, bot):
    view = open_view(rw, slack, "new")
    values = {
        ui.NEW_TITLE_BLOCK: _value("Totally not a scam"),
        ui.NEW_DESCRIPTION_BLOCK: _value("d"),
        ui.NEW_PAY_BLOCK: _number("1"),
        ui.NEW_AVAILABILITIES_BLOCK: _number("2"),
        ui.NEW_PROOF_BLOCK: _value("p"),
        ui.NEW_CATEGORY_BLOCK: _value("c"),
    }
    rw.submit(ids.NEW_CAMPAIGN_MODAL, values, view)
    offer = wait_for(lambda: [e for e in slack.ephemerals("U_ALICE") if e["via"] == "postEphemeral"])[0]
    cid = buttons(offer)[ids.SPEND_CONFIRM]
    assert "legitimacy check" in text_of(rw.click(ids.SPEND_CONFIRM, cid))
    assert offer_store.get_confirmation(bot.db, cid).state == "offered"
    assert sandbox.balance == Decimal("1000.00")


def test_home_new_job_opens_the_job_modal(rw, slack):
    r = rw.poster.click(ids.HOME_NEW_JOB, "", user_id="U_ALICE", message_ts="1.1", is_ephemeral=True,
                        response_url=slack.response_url("home"), trigger_id="trig-home")
    assert r.status_code == 200
    view = wait_for(lambda: slack.views())[0]
    assert view["view"]["callback_id"] == ids.JOB_MODAL and view["trigger_id"] == "trig-home"


def test_home_new_job_refusal_is_shown_in_a_modal(rw, slack):
    rw.poster.click(ids.HOME_NEW_JOB, "new-job", user_id="U_MALLORY", message_ts="1.1", is_ephemeral=True,
                    response_url=slack.response_url("home", user="U_MALLORY"), trigger_id="trig-home")
    view = wait_for(lambda: slack.views())[0]["view"]
    assert "callback_id" not in view or not view["callback_id"]
    assert "not allowed" in json.dumps(view["blocks"])


# --- slow and broken RapidWorkers ---------------------------------------------------------------


def test_ack_is_immediate_however_slow_rapidworkers_is(rw, sandbox, slack):
    sandbox.set_latency(1.5, path_contains="get_balance")
    name = "slow-balance"
    r = rw.poster.command("/rw", "balance", response_url=slack.response_url(name))
    assert r.status_code == 200 and r.elapsed.total_seconds() < 1.0
    assert "$1,000.00" in text_of(wait_for(lambda: slack.responses(name))[-1]["payload"])


def test_dropped_connection_on_approve_all_is_not_retried(rw, sandbox, bot):
    campaign = sandbox.add_campaign("Share this", pay="0.20")
    sandbox.add_submission(campaign)
    posted_for_review(bot)
    cid = buttons(rw.command(f"approve-all {campaign}"))[ids.SPEND_CONFIRM]
    sandbox.fail_next(1, path_contains="/approve", mode="close")
    failed = rw.click(ids.SPEND_CONFIRM, cid)
    assert f"/rw campaign {campaign}" in text_of(failed) and failed["replace_original"] is True
    assert offer_store.get_confirmation(bot.db, cid).state == "failed"
    assert "already used" in text_of(rw.click(ids.SPEND_CONFIRM, cid))
    assert sandbox.count(path_contains="/approve") == 1


def test_unreachable_rapidworkers_keeps_the_offer(rw, sandbox, bot):
    cid = offer_job(rw)
    sandbox.stop()  # connection refused: the request certainly never arrived
    reply = text_of(rw.click(ids.SPEND_CONFIRM, cid))
    assert "nothing was sent" in reply.lower() and "Nothing was spent" in reply
    assert offer_store.get_confirmation(bot.db, cid).state == "offered"
