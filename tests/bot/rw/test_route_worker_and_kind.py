"""/rw's first-week fixes, end to end over real HTTP: `/rw route` names the campaign by its title,
takes a typed `#name`, and alone opens a form (campaign type-ahead and channel picker); `/rw worker`
has a Block button; `/rw job <kind>` opens the form with that kind chosen."""

from __future__ import annotations

import pytest

from bot.rw import blocks as ui
from bot.slack import ids
from sandbox.slack_workspace.server import SlackStandin
from storage import audit as audit_store
from storage import routes as route_store
from storage import worker_blocks as block_store
from tests.bot.rw.test_rw_command import RW, buttons, open_view, text_of
from tests.support.harness import RunningBot, bot_env, wait_for

MEMBERS = ["U_ALICE", "U_BOB", "UBOT"]


@pytest.fixture
def standin():
    s = SlackStandin(channels={"C_REVIEW": MEMBERS, "C_OPS": MEMBERS})
    s.start()
    yield s
    s.stop()


@pytest.fixture
def rw(standin, sandbox, tmp_path):
    bot = RunningBot(bot_env(standin, sandbox, str(tmp_path / "gigdesk.db"))).start()
    driver = RW(bot, standin)
    yield driver
    driver.poster.session.close()
    bot.stop()


def route_audit(rw) -> list[tuple[str, str, str]]:
    return [(a.user_id, a.target, a.outcome) for a in audit_store.audit_since(rw.bot.db, "2000") if a.action == "route"]


def test_route_names_the_campaign_by_its_title_and_takes_a_typed_channel_name(rw, sandbox):
    cid = sandbox.add_campaign("Ops <survey> & more", status="Active")
    routed = text_of(rw.command(f"route {cid} #ops"))  # plain text: the manifest's should_escape is false
    assert "now go to <#C_OPS>" in routed and "*Ops &lt;survey&gt; &amp; more*" in routed, routed
    assert cid not in routed
    assert route_store.route_rows(rw.bot.db)[0]["channel"] == "C_OPS"
    assert "now go to <#C_OPS>" in text_of(rw.command("route Ops <#C_OPS|ops>"))  # escaped, as Slack may send it
    missing = text_of(rw.command("route Ops #no-such-channel"))
    assert "I see no channel `#no-such-channel`" in missing and "Traceback" not in missing
    back = text_of(rw.command("route Ops off"))
    assert "*Ops &lt;survey&gt; &amp; more* go to the review channel again" in back and cid not in back
    assert route_audit(rw) == [("U_ALICE", cid, "routed"), ("U_ALICE", cid, "routed"), ("U_ALICE", cid, "unrouted")]


def test_route_alone_opens_a_form_that_routes_as_the_command(rw, standin, sandbox):
    cid = sandbox.add_campaign("Field survey", status="Active")
    view = open_view(rw, standin, "route")
    assert view["callback_id"] == ids.ROUTE_MODAL
    elements = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert elements[ui.CAMPAIGN_PICK_BLOCK]["type"] == "external_select"
    assert elements[ui.CAMPAIGN_PICK_BLOCK]["action_id"] == ids.CAMPAIGN_SELECT  # the same options as every type-ahead
    assert elements[ids.ROUTE_CHANNEL_BLOCK]["type"] == "conversations_select"
    r = rw.poster.suggest(ids.CAMPAIGN_SELECT, "field", block_id=ui.CAMPAIGN_PICK_BLOCK, view=view)
    [option] = r.json()["options"]
    assert option["value"] == cid

    def picked(channel):
        return {ui.CAMPAIGN_PICK_BLOCK: {ids.CAMPAIGN_SELECT: {"type": "external_select", "selected_option": option}},
                ids.ROUTE_CHANNEL_BLOCK: {ids.ROUTE_CHANNEL_SELECT: {"type": "conversations_select",
                                                                     "selected_conversation": channel}}}

    bad = rw.submit(ids.ROUTE_MODAL, picked("not a channel"), view)
    assert bad.json()["response_action"] == "errors" and ids.ROUTE_CHANNEL_BLOCK in bad.json()["errors"]
    assert route_store.route_rows(rw.bot.db) == []
    ok = rw.submit(ids.ROUTE_MODAL, picked("C_OPS"), view)
    assert ok.status_code == 200 and not ok.content.strip()
    said = wait_for(lambda: [e for e in standin.ephemerals("U_ALICE") if e["via"] == "postEphemeral"])[-1]
    assert "*Field survey* now go to <#C_OPS>" in text_of(said), text_of(said)
    assert route_store.route_rows(rw.bot.db)[0]["channel"] == "C_OPS"
    assert route_audit(rw) == [("U_ALICE", cid, "routed")]

    rw.submit(ids.ROUTE_MODAL, picked("C_REVIEW"), view)  # the review channel: the route goes
    wait_for(lambda: route_audit(rw)[-1] == ("U_ALICE", cid, "unrouted"))  # audited after the route is gone
    assert route_store.route_rows(rw.bot.db) == []


def test_route_form_is_for_allowed_users_only(rw, standin):
    before = len(standin.views())
    refused = text_of(rw.command("route", user="U_MALLORY"))
    assert "not allowed" in refused and len(standin.views()) == before


def test_worker_reply_has_a_block_button_behind_a_confirm_dialog(rw, sandbox):
    campaign = sandbox.add_campaign("Watched", pay="0.30")
    wid = sandbox.add_worker("Spammy <@U0BOSS>")
    sandbox.add_submission(campaign, worker_id=wid)
    rw.bot.review.sync()
    reply = rw.command(f"worker {wid}")
    assert buttons(reply)[ids.RW_WORKER_BLOCK] == wid
    [button] = [e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["confirm"]["text"]["type"] == "plain_text" and f"Worker {wid} will no longer see" in button["confirm"]["text"]["text"]
    assert "<@U0BOSS>" not in str(reply["blocks"])  # the name is shown escaped, never raw

    refused = text_of(rw.click(ids.RW_WORKER_BLOCK, wid, user="U_MALLORY"))
    assert "not allowed" in refused and wid not in sandbox.blocked_ids()
    done = text_of(rw.click(ids.RW_WORKER_BLOCK, wid))
    assert "Blocked worker" in done and wid in sandbox.blocked_ids()
    assert block_store.block_of(rw.bot.db, wid)["blocked_by"] == "U_ALICE"
    assert ids.RW_WORKER_BLOCK not in buttons(rw.command(f"worker {wid}"))  # blocked: no button
    again = text_of(rw.click(ids.RW_WORKER_BLOCK, wid))  # an old reply's button
    assert "already blocked" in again
    outcomes = [(a.user_id, a.outcome) for a in audit_store.audit_since(rw.bot.db, "2000") if a.action == "block"]
    assert outcomes == [("U_MALLORY", "refused"), ("U_ALICE", "blocked"), ("U_ALICE", "refused")]
    assert "not a valid worker id" in text_of(rw.click(ids.RW_WORKER_BLOCK, "../../x"))


def test_job_with_only_a_kind_opens_the_form_with_that_kind_chosen(rw, standin):
    view = open_view(rw, standin, "job instagram-likes")
    assert view["callback_id"] == ids.JOB_MODAL
    [kind] = [b["element"] for b in view["blocks"] if b.get("block_id") == ui.JOB_KIND_BLOCK]
    assert kind["initial_option"]["value"] == "instagram-likes"
    assert "approved automatically" not in str(view)
    assert "Unknown job kind `instagram-lieks`" in text_of(rw.command("job instagram-lieks"))


def test_job_offer_wording(rw):
    offer = text_of(rw.command("job instagram-likes https://www.instagram.com/p/abc 50"))
    assert "Create an *instagram-likes* job" in offer, offer  # a/an by sound
    assert "approved automatically" not in offer and "come to the review channel" in offer
    assert "Create a *youtube-likes* job" in text_of(rw.command("job youtube-likes https://www.youtube.com/watch?v=1 50"))
