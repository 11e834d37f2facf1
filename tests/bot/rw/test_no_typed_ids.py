"""No typed IDs, end to end: the paged /rw campaigns list (Details, overflow, pager),
title prefixes wherever a campaign id is expected, the approve-all form's type-ahead
(block_suggestion -> app.options) and "View campaign" after a job is created.

Signed requests to the running bot, replies in the Slack stand-in, API calls in the
RapidWorkers simulator."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.rw import blocks as ui
from bot.slack import ids
from storage import offers as offer_store
from tests.bot.rw.test_rw_command import posted_for_review
from tests.support.harness import wait_for
from tests.support.mrkdwn_check import parsed_text

_names = itertools.count(1)
LIST_PATH = "/api/campaigns/?"  # the list (GET /api/campaigns/?status=…), not details or submissions
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Desk:
    """Drive /rw like Slack does: commands, clicks on ephemeral replies, overflow picks, typing in a select."""

    def __init__(self, bot, slack):
        self.bot, self.slack = bot, slack
        self.poster = bot.poster(standin=slack)

    def command(self, text: str, *, user: str = "U_ALICE", wait: bool = True) -> dict | None:
        name = f"cmd-{next(_names)}"
        url = self.slack.response_url(name, channel="C_REVIEW", user=user)
        r = self.poster.command("/rw", text, user_id=user, channel_id="C_REVIEW", response_url=url, trigger_id=f"trig-{name}")
        assert r.status_code == 200
        return wait_for(lambda: self.slack.responses(name))[-1]["payload"] if wait else None

    def click(self, action_id: str, value: str, *, user: str = "U_ALICE", action_type: str = "button") -> dict:
        name = f"click-{next(_names)}"
        url = self.slack.response_url(name, channel="C_REVIEW", user=user)
        r = self.poster.click(action_id, value, user_id=user, channel_id="C_REVIEW", message_ts="1700000000.000100",
                              is_ephemeral=True, response_url=url, action_type=action_type)
        assert r.status_code == 200
        return wait_for(lambda: self.slack.responses(name))[-1]["payload"]

    def pick(self, value: str, *, user: str = "U_ALICE") -> dict:
        """An option of a campaign row's overflow menu."""
        return self.click(ids.CAMPAIGN_ROW_MENU, value, user=user, action_type="overflow")

    def type_ahead(self, view: dict, typed: str, *, user: str = "U_ALICE", **kw) -> list[dict]:
        r = self.poster.suggest(ids.CAMPAIGN_SELECT, typed, block_id=ui.CAMPAIGN_PICK_BLOCK, user_id=user, view=view, **kw)
        assert r.status_code == 200, r.text
        return r.json()["options"]


@pytest.fixture
def desk(bot, slack):
    driver = Desk(bot, slack)
    yield driver
    driver.poster.session.close()


def text_of(payload: dict) -> str:
    return (payload.get("text") or "") + json.dumps(payload.get("blocks") or [], ensure_ascii=False)


def buttons(payload: dict) -> dict[str, list[str]]:
    """Every button and overflow option by action_id (values in order)."""
    found: dict[str, list[str]] = {}
    for block in payload.get("blocks") or []:
        elements = list(block.get("elements") or []) if block["type"] == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for e in elements:
            if e["type"] == "overflow":
                found.setdefault(e["action_id"], []).extend(o["value"] for o in e["options"])
            elif e["type"] == "button":
                found.setdefault(e["action_id"], []).append(e.get("value"))
    return found


def row_ids(payload: dict) -> list[str]:
    """The campaign ids of a list page's rows, in order (each row's Details button)."""
    return buttons(payload).get(ids.CAMPAIGN_DETAILS, [])


def list_requests(sandbox) -> int:
    return sandbox.count(method="GET", path_contains=LIST_PATH) + sum(
        1 for r in sandbox.requests if r.method == "GET" and r.path.rstrip("/") == "/api/campaigns")


def offers(bot) -> int:
    return bot.db.execute("SELECT count(*) FROM confirmations").fetchone()[0]


def seed_fleet(sandbox, n: int = 23) -> list[str]:
    """n campaigns; campaign k has (k * 7) % 5 pending and was created k days after T0."""
    made = []
    for k in range(n):
        cid = sandbox.add_campaign(f"Fleet {k:02d}", created_at=T0 + timedelta(days=k), total=20)
        for _ in range((k * 7) % 5):
            sandbox.add_submission(cid)
        made.append(cid)
    return made


def expected_order(made: list[str], sort: str) -> list[str]:
    key = {"most-pending": lambda k: ((k * 7) % 5, k), "newest": lambda k: (k, (k * 7) % 5)}[sort]
    return [made[k] for k in sorted(range(len(made)), key=key, reverse=True)]


# --- /rw campaigns: order, rows, pages ----------------------------------------------------


def test_campaigns_list_is_most_pending_first_paged_with_details_and_overflow(desk, sandbox):
    made = seed_fleet(sandbox)
    order = expected_order(made, "most-pending")
    first = desk.command("campaigns")
    assert row_ids(first) == order[:10]
    assert "page 1 of 3" in text_of(first) and "most pending first" in text_of(first)
    menu = buttons(first)[ids.CAMPAIGN_ROW_MENU]
    assert menu[:2] == [f"approve-all|{order[0]}", f"post-pending|{order[0]}"] and len(menu) == 20
    pager = buttons(first)
    assert ids.CAMPAIGNS_PAGE_PREVIOUS not in pager and pager[ids.CAMPAIGNS_PAGE_NEXT] == ["2|most-pending|all"]

    second = desk.click(ids.CAMPAIGNS_PAGE_NEXT, pager[ids.CAMPAIGNS_PAGE_NEXT][0])
    assert second["replace_original"] is True and row_ids(second) == order[10:20]
    third = desk.click(ids.CAMPAIGNS_PAGE_NEXT, buttons(second)[ids.CAMPAIGNS_PAGE_NEXT][0])
    assert row_ids(third) == order[20:] and ids.CAMPAIGNS_PAGE_NEXT not in buttons(third)
    back = desk.click(ids.CAMPAIGNS_PAGE_PREVIOUS, buttons(third)[ids.CAMPAIGNS_PAGE_PREVIOUS][0])
    assert back["replace_original"] is True and row_ids(back) == order[10:20]

    newest = desk.click(ids.CAMPAIGNS_SORT, buttons(back)[ids.CAMPAIGNS_SORT][0])
    assert row_ids(newest) == expected_order(made, "newest")[:10] and "newest first" in text_of(newest)
    assert row_ids(desk.command("campaigns newest")) == expected_order(made, "newest")[:10]
    # Paging within the answer cache's 30 s reads the list once.
    assert list_requests(sandbox) == 1


def test_campaigns_list_keeps_its_status_filter_across_pages(desk, sandbox):
    done = [sandbox.add_campaign(f"Done {k:02d}", status="Completed", created_at=T0 + timedelta(days=k)) for k in range(12)]
    sandbox.add_campaign("Still running", status="Active")
    first = desk.command("campaigns completed")
    assert row_ids(first) == done[::-1][:10]
    second = desk.click(ids.CAMPAIGNS_PAGE_NEXT, buttons(first)[ids.CAMPAIGNS_PAGE_NEXT][0])
    assert row_ids(second) == done[::-1][10:] and "Still running" not in text_of(second)


FORGED_PAGES = ["0|most-pending|all", "1|newest|all\n", "2|cheapest|all", "2|newest|everything", "1001|newest|all",
                "1|newest|all|x", "-1|newest|all", "1;DROP|newest|all", "", "x" * 3000, "２|newest|all"]


def test_forged_page_values_are_refused_without_an_api_call(desk, sandbox):
    seed_fleet(sandbox, 12)
    desk.command("campaigns")
    before = len(sandbox.requests)
    for value in FORGED_PAGES:
        for action in (ids.CAMPAIGNS_PAGE_NEXT, ids.CAMPAIGNS_SORT):
            reply = desk.click(action, value)
            assert "does not belong to a campaign list" in text_of(reply), value
            assert reply["replace_original"] is False and not row_ids(reply)
    assert len(sandbox.requests) == before
    # A page past the end (the list shrank since the button was made) shows the last page.
    assert row_ids(desk.click(ids.CAMPAIGNS_PAGE_NEXT, "7|most-pending|all")) != []


def test_row_details_and_overflow_go_through_the_usual_paths(desk, sandbox, bot, slack):
    cid = sandbox.add_campaign("Rate our <app> & win", pay="0.40")
    for _ in range(3):
        sandbox.add_submission(cid)
    posted_for_review(bot)
    details = desk.click(ids.CAMPAIGN_DETAILS, row_ids(desk.command("campaigns"))[0])
    assert "*Remaining slots*" in text_of(details) and details["replace_original"] is False
    assert buttons(details)[ids.CAMPAIGN_APPROVE_ALL] == [cid]
    assert "<app>" not in parsed_text(details["blocks"], details["text"])

    # Approve all… from the overflow is the same offer as /rw approve-all (cost, balance, Confirm).
    via_menu = desk.pick(f"approve-all|{cid}")
    via_command = desk.command(f"approve-all {cid}")
    assert "$1.20" in text_of(via_menu) and "$1,000.00" in text_of(via_menu)
    assert text_of(via_menu).replace(buttons(via_menu)[ids.SPEND_CONFIRM][0], "") == \
        text_of(via_command).replace(buttons(via_command)[ids.SPEND_CONFIRM][0], "")
    done = desk.click(ids.SPEND_CONFIRM, buttons(via_menu)[ids.SPEND_CONFIRM][0])
    assert "Approved 3 of the 3" in text_of(done) and sandbox.balance == Decimal("998.80")

    # The spender rule applies to the overflow too: nothing offered.
    sandbox.add_submission(cid)
    made = offers(bot)
    refused = desk.pick(f"approve-all|{cid}", user="U_MALLORY")
    assert "only the people in GIGDESK_SPENDERS may spend money" in text_of(refused)
    assert ids.SPEND_CONFIRM not in buttons(refused) and offers(bot) == made

    posted = desk.pick(f"post-pending|{cid}")
    assert "Posted 1 new submission" in text_of(posted)
    assert "not allowed" in text_of(desk.pick(f"post-pending|{cid}", user="U_MALLORY"))

    before = len(sandbox.requests)
    assert "not a valid campaign id" in text_of(desk.pick("approve-all|../../account"))
    assert "does not belong" in text_of(desk.pick(f"delete-everything|{cid}"))
    assert "not a valid campaign id" in text_of(desk.click(ids.CAMPAIGN_DETAILS, "a/b"))
    assert len(sandbox.requests) == before and offers(bot) == made


# --- title prefixes -------------------------------------------------------------------------


@pytest.fixture
def titled(sandbox):
    return {
        "video": sandbox.add_campaign("Watch my video", description="Watch & like"),
        "stream": sandbox.add_campaign("Watch our <!channel> stream"),
        "survey": sandbox.add_campaign("Survey of cats"),
        "survey2": sandbox.add_campaign("Survey of cats 2"),
        "promo": sandbox.add_campaign("<@U0BOSS> promo"),
    }


def test_campaign_by_title_prefix(desk, sandbox, titled):
    video = desk.command("campaign  wAtCh   MY")
    assert buttons(video)[ids.CAMPAIGN_APPROVE_ALL if ids.CAMPAIGN_APPROVE_ALL in buttons(video) else ids.CAMPAIGN_POST_PENDING] == [titled["video"]]
    assert "Watch &amp; like" in text_of(video)
    promo = desk.command("campaign &lt;@U0BOSS")  # Slack sends typed < as &lt;
    assert buttons(promo)[ids.CAMPAIGN_POST_PENDING] == [titled["promo"]]
    assert "<@U0BOSS>" not in parsed_text(promo["blocks"], promo["text"])
    # An exact title wins over the longer one it begins; an exact id still works.
    assert buttons(desk.command("campaign survey of cats"))[ids.CAMPAIGN_POST_PENDING] == [titled["survey"]]
    assert buttons(desk.command(f"campaign {titled['stream']}"))[ids.CAMPAIGN_POST_PENDING] == [titled["stream"]]
    # The titles come from the cached list: one list request for all of the above.
    assert list_requests(sandbox) == 1


def test_several_matches_list_candidates_and_do_nothing(desk, sandbox, bot, titled):
    desk.command("campaigns")
    before = len(sandbox.requests)
    several = desk.command("campaign watch")
    assert "2 campaigns start with `watch`" in text_of(several)
    assert sorted(row_ids(several)) == sorted([titled["video"], titled["stream"]])
    assert "<!channel>" not in parsed_text(several["blocks"], several["text"])
    assert "&lt;!channel&gt;" in several["text"]
    assert ids.CAMPAIGN_APPROVE_ALL not in buttons(several)
    assert len(sandbox.requests) == before  # answered from the cached list

    offered = offers(bot)
    again = desk.command("approve-all surv")
    assert "2 campaigns start with `surv`" in text_of(again) and ids.SPEND_CONFIRM not in buttons(again)
    assert offers(bot) == offered and sandbox.count(path_contains="/submissions") == 0


def test_no_match_says_so_with_a_did_you_mean(desk, sandbox, titled):
    near = desk.command("campaign wacth my")
    assert "No campaign starts with `wacth my`" in text_of(near) and "Did you mean *Watch my video*" in text_of(near)
    far = text_of(desk.command("campaign zebra crossing"))
    assert "No campaign starts with `zebra crossing`" in far and "Did you mean" not in far
    hostile = desk.command("campaign &lt;@U0BOX")  # close to the start of "<@U0BOSS> promo", not it
    shown = parsed_text(hostile["blocks"], hostile["text"])
    assert "<@U0BO" not in shown and "Did you mean *&lt;@U0BOSS&gt; promo*" in shown
    assert "No campaign with id `00000000-dead`" in text_of(desk.command("campaign 00000000-dead"))
    assert "longer than any campaign title" in text_of(desk.command("approve-all " + "x" * 300))


def test_approve_all_by_title_prefix_offers_that_campaign(desk, sandbox, bot, titled):
    for _ in range(2):
        sandbox.add_submission(titled["video"])
    posted_for_review(bot)
    offer = desk.command("approve-all watch m")
    [confirmation] = buttons(offer)[ids.SPEND_CONFIRM]
    row = offer_store.get_confirmation(bot.db, confirmation)
    assert row.params["campaign_id"] == titled["video"] and len(row.params["submission_ids"]) == 2
    assert "$1.00" in text_of(offer)
    # Non-spenders are refused before any RapidWorkers request.
    before = len(sandbox.requests)
    assert ids.SPEND_CONFIRM not in buttons(desk.command("approve-all watch m", user="U_MALLORY"))
    assert len(sandbox.requests) == before


# --- the approve-all form's type-ahead -------------------------------------------------------


def open_form(desk, slack, user: str = "U_ALICE") -> dict:
    before = len(slack.views())
    desk.command("approve-all", user=user, wait=False)
    return wait_for(lambda: slack.views()[before:])[0]["view"]


def test_approve_all_form_type_ahead_and_submit(desk, slack, sandbox, bot, titled, transport):
    view = open_form(desk, slack)
    assert view["callback_id"] == ids.APPROVE_ALL_MODAL
    [select] = [b["element"] for b in view["blocks"] if b.get("block_id") == ui.CAMPAIGN_PICK_BLOCK]
    assert select["type"] == "external_select" and select["min_query_length"] == 1
    assert select["action_id"] == ids.CAMPAIGN_SELECT

    sandbox.add_submission(titled["stream"])
    posted_for_review(bot)  # the sync reads the campaign list once itself
    synced = list_requests(sandbox)
    options = desk.type_ahead(view, "w")
    assert [o["value"] for o in options] == [titled["stream"], titled["video"]]  # prefix matches, most pending first
    assert options[0]["text"]["type"] == "plain_text" and options[0]["text"]["text"] == "Watch our <!channel> stream · 1 pending"
    assert [o["value"] for o in desk.type_ahead(view, "CATS")] == [titled["survey"], titled["survey2"]]  # inside the title
    assert desk.type_ahead(view, "nothing like it") == []
    requests_before = list_requests(sandbox)
    for typed in ("s", "su", "sur", "surv"):
        desk.type_ahead(view, typed)
    assert list_requests(sandbox) == requests_before == synced + 1  # keystrokes are answered from the cache

    bad = desk.poster.submit_view(ids.APPROVE_ALL_MODAL, {ui.CAMPAIGN_PICK_BLOCK: {ids.CAMPAIGN_SELECT: {
        "type": "external_select", "selected_option": {"value": "../../account", "text": {"type": "plain_text", "text": "x"}}}}},
        private_metadata=view["private_metadata"], view=view)
    assert bad.json()["response_action"] == "errors" and ui.CAMPAIGN_PICK_BLOCK in bad.json()["errors"]

    pick = {ui.CAMPAIGN_PICK_BLOCK: {ids.CAMPAIGN_SELECT: {"type": "external_select", "selected_option": options[0]}}}
    r = desk.poster.submit_view(ids.APPROVE_ALL_MODAL, pick, private_metadata=view["private_metadata"], view=view)
    assert r.status_code == 200 and not r.content.strip()
    offer = wait_for(lambda: [e for e in slack.ephemerals("U_ALICE") if e["via"] == "postEphemeral"])[0]
    [confirmation] = buttons(offer)[ids.SPEND_CONFIRM]
    assert offer_store.get_confirmation(bot.db, confirmation).params["campaign_id"] == titled["stream"]


def test_type_ahead_limits_and_signature(desk, slack, sandbox, bot):
    for k in range(130):
        sandbox.add_campaign(f"Bulk {k:03d} " + "very long title " * 12)
    view = open_form(desk, slack)
    options = desk.type_ahead(view, "bulk")
    assert len(options) == 100
    assert all(len(o["text"]["text"]) <= 75 and len(o["value"]) <= 150 for o in options)
    unsigned = desk.poster.suggest(ids.CAMPAIGN_SELECT, "bulk", block_id=ui.CAMPAIGN_PICK_BLOCK, view=view, sign_it=False)
    assert unsigned.status_code == 401


def test_campaign_form_type_ahead_shows_details(desk, slack, sandbox, titled):
    before = len(slack.views())
    desk.command("campaign", user="U_BOB", wait=False)
    view = wait_for(lambda: slack.views()[before:])[0]["view"]
    assert view["callback_id"] == ids.CAMPAIGN_MODAL
    [select] = [b["element"] for b in view["blocks"] if b.get("block_id") == ui.CAMPAIGN_PICK_BLOCK]
    assert select["type"] == "external_select" and select["min_query_length"] == 1
    [option] = desk.type_ahead(view, "surVEY OF CATS 2", user="U_BOB")
    assert option["value"] == titled["survey2"]
    pick = {ui.CAMPAIGN_PICK_BLOCK: {ids.CAMPAIGN_SELECT: {"type": "external_select", "selected_option": option}}}
    r = desk.poster.submit_view(ids.CAMPAIGN_MODAL, pick, private_metadata=view["private_metadata"], view=view, user_id="U_BOB")
    assert r.status_code == 200 and not r.content.strip()
    details = wait_for(lambda: [e for e in slack.ephemerals("U_BOB") if e["via"] == "postEphemeral"])[0]
    assert "*Remaining slots*" in text_of(details) and buttons(details)[ids.CAMPAIGN_POST_PENDING] == [titled["survey2"]]


def test_approve_all_form_only_for_spenders(desk, slack):
    reply = desk.command("approve-all", user="U_MALLORY")
    assert "not" in text_of(reply).lower() and ids.SPEND_CONFIRM not in buttons(reply)
    assert slack.views() == []


# --- View campaign after a job is created ---------------------------------------------------


def test_view_campaign_after_a_job_is_created(desk, sandbox):
    desk.command("campaigns")  # the cached list predates the job: the button goes by id
    offer = desk.command("job instagram-likes https://www.instagram.com/p/abc 50")
    created = desk.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM][0])
    assert "Created" in text_of(created)
    [job_id] = buttons(created)[ids.CAMPAIGN_DETAILS]
    assert sandbox.campaign(job_id)["total"] == 50
    details = desk.click(ids.CAMPAIGN_DETAILS, job_id)
    assert "*Remaining slots*" in text_of(details) and "instagram.com/p/abc" in text_of(details)
    assert buttons(details)[ids.CAMPAIGN_POST_PENDING] == [job_id]


# --- Slack's clock and limits: a cold type-ahead, ids of any length --------------------------


def test_a_cold_type_ahead_answers_within_slacks_3_s_with_rapidworkers_slow_and_refreshes_behind(desk, slack, sandbox, bot):
    cid = sandbox.add_campaign("Slow survey")
    view = open_form(desk, slack)
    sandbox.set_latency(4.0, path_contains="/api/campaigns/")
    desk.poster.timeout = 3.0  # Slack drops an options answer it gets later than this
    [notice] = desk.type_ahead(view, "slow")
    assert "Loading campaigns" in notice["text"]["text"]
    pick = {ui.CAMPAIGN_PICK_BLOCK: {ids.CAMPAIGN_SELECT: {"type": "external_select", "selected_option": notice}}}
    refused = desk.poster.submit_view(ids.APPROVE_ALL_MODAL, pick, private_metadata=view["private_metadata"], view=view)
    assert refused.json()["response_action"] == "errors"  # the notice names no campaign
    # The list read goes on behind; once it is in, typing finds the campaign. One read, however many keystrokes.
    assert wait_for(lambda: [o["value"] for o in desk.type_ahead(view, "slow")] == [cid], timeout=20)
    assert list_requests(sandbox) == 1


def test_a_campaign_id_of_any_length_rides_in_values_under_150_characters(desk, slack, sandbox, bot):
    long_id = "L" + "o" * 198 + "g"  # 200 characters: RapidWorkers does not bound its ids
    sandbox.add_campaign("Long id campaign", campaign_id=long_id, pay="1.00")
    sid = sandbox.add_submission(long_id)
    posted_for_review(bot)
    listing = desk.command("campaigns")
    values = buttons(listing)
    assert "Long id campaign" in text_of(listing)
    assert all(len(v) <= 150 for found in values.values() for v in found), values
    [key] = values[ids.CAMPAIGN_DETAILS]
    assert key != long_id and "Long id campaign" in text_of(desk.click(ids.CAMPAIGN_DETAILS, key))
    approve_all = next(v for v in values[ids.CAMPAIGN_ROW_MENU] if v.startswith(ui.ROW_APPROVE_ALL))
    offer = desk.pick(approve_all)
    [confirmation] = buttons(offer)[ids.SPEND_CONFIRM]
    assert offer_store.get_confirmation(bot.db, confirmation).params["campaign_id"] == long_id

    view = open_form(desk, slack)
    [option] = desk.type_ahead(view, "long id")
    assert option["value"] == key
    pick = {ui.CAMPAIGN_PICK_BLOCK: {ids.CAMPAIGN_SELECT: {"type": "external_select", "selected_option": option}}}
    r = desk.poster.submit_view(ids.APPROVE_ALL_MODAL, pick, private_metadata=view["private_metadata"], view=view)
    assert r.status_code == 200 and not r.content.strip()
    done = wait_for(lambda: [e for e in slack.ephemerals("U_ALICE") if e["via"] == "postEphemeral"])[0]
    assert "Long id campaign" in text_of(done)
    assert "Approved 1" in text_of(desk.click(ids.SPEND_CONFIRM, buttons(done)[ids.SPEND_CONFIRM][0]))
    assert sandbox.submission(sid)["status"] == "Approved"

    before = len(sandbox.requests)
    assert "do not know" in text_of(desk.click(ids.CAMPAIGN_DETAILS, "~" + "A" * 22))  # a forged key: refused, no call
    assert len(sandbox.requests) == before
