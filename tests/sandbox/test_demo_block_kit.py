"""Every Block Kit element the bot sends works in the demo page, pressed as people press it.

Confirm dialogs (Block worker, Cancel request), date and time pickers, selects and a multi-select
(/wonolo book, Book again, Cancel job's reason), the page following new messages, and a check that
the page has a renderer for every block and element type the bot was seen sending. Each test's page
fails it on any page error or console error (tests/sandbox/conftest.py).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.sandbox.browser import card, pending_ids, skip_without_browser
from tests.support.harness import wait_for

pytestmark = skip_without_browser()
if not pytestmark:
    from playwright.sync_api import expect


def send(page, command: str) -> None:
    page.locator("#composer-input").fill(command)
    page.keyboard.press("Enter")


def request_id(demo, name: str) -> int:
    wonolo = demo.demo.wonolo
    with wonolo._lock:
        return next(jr["id"] for jr in wonolo.job_requests.values() if jr["request_name"] == name)


def request_card(page, name: str):
    """The job request's card in #wonolo (not the unfilled-shift alert): the one that names its state."""
    return page.locator("#messages .msg").filter(has_text=name).filter(has_text="State:")


def test_block_worker_asks_first_then_blocks_the_worker(page, demo):
    rw = demo.demo.rapidworkers
    sid = pending_ids(demo)[0]
    worker = rw._subs[sid]["worker_id"]
    found = card(page, sid)
    found.get_by_role("button", name="Block worker").click()
    dialog = page.get_by_role("alertdialog", name="Block this worker?")
    expect(dialog).to_contain_text("will no longer see any of your campaigns")
    dialog.get_by_role("button", name="Cancel").click()  # saying no does nothing
    expect(dialog).to_have_count(0)
    assert worker not in rw.blocked_ids()
    expect(found.get_by_role("button", name="Block worker")).to_be_enabled()

    found.get_by_role("button", name="Block worker").click()
    dialog.get_by_role("button", name="Block worker").click()
    expect(found).to_contain_text("Worker blocked by")
    expect(found.get_by_role("button", name="Block worker")).to_have_count(0)
    assert worker in rw.blocked_ids()  # blocked upstream: RapidWorkers shows them none of our campaigns
    # The submission itself stays open for review, as the dialog said.
    assert rw.submission(sid)["status"] == "Pending"


def test_cancel_request_asks_first_then_cancels_it_on_wonolo(page, demo):
    jr = request_id(demo, "Event setup crew")
    page.get_by_role("button", name="# wonolo").click()
    found = request_card(page, "Event setup crew")
    found.get_by_role("button", name="Cancel request").click()
    dialog = page.get_by_role("alertdialog", name="Cancel this job request?")
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_have_count(0)
    assert demo.demo.wonolo.job_requests[jr]["state"] != "cancelled"

    found.get_by_role("button", name="Cancel request").click()
    dialog.get_by_role("button", name="Cancel request").click()
    expect(found).to_contain_text("Cancelled")
    expect(found.get_by_role("button", name="Cancel request")).to_have_count(0)
    assert demo.demo.wonolo.job_requests[jr]["state"] == "cancelled"


def test_cancel_job_from_its_thread_reply_with_a_reason_picked(page, demo):
    wonolo = demo.demo.wonolo
    jr = request_id(demo, "Warehouse packers")
    with wonolo._lock:
        taken = {j["worker_id"] for j in wonolo.jobs.values() if j["job_request_id"] == jr}
        worker = next(u for u, rec in wonolo.users.items() if rec["type"] == "Worker" and u not in taken)
    job = wonolo.add_job(jr, worker, "filled")  # the simulator's webhook puts a reply in the card's thread
    page.get_by_role("button", name="# wonolo").click()
    found = request_card(page, "Warehouse packers")
    found.get_by_role("button", name=re.compile(r"^\d+ repl")).click()
    replies = page.locator("#thread .msg").filter(has_text=f"job {job}")
    replies.get_by_role("button", name="Cancel job").click()
    modal = page.get_by_role("dialog", name="Cancel job")
    reason = modal.get_by_label(re.compile(r"^Reason"))
    reason.select_option(index=1)
    picked = reason.evaluate("s => [s.value, s.selectedOptions[0].textContent]")
    modal.get_by_role("button", name="Cancel job").click()
    expect(modal).to_have_count(0)
    wait_for(lambda: wonolo.jobs[job]["state"] == "cancelled")
    assert wonolo.jobs[job]["cancelled_reason"] in picked  # the reason picked reached Wonolo
    expect(replies.filter(has_text="Cancelled")).not_to_have_count(0)
    expect(replies.get_by_role("button", name="Cancel job")).to_have_count(0)


def _fill_date_and_times(modal, day: date, start: str | None, end: str | None) -> None:
    modal.get_by_label("Date", exact=True).fill(day.isoformat())
    if start is not None:
        modal.get_by_label("Start time").fill(start)
    if end is not None:
        modal.get_by_label("End time").fill(end)


def _review_and_confirm(page, demo, modal, title: str):
    """Review, then Confirm the offer: returns the one job request it created on Wonolo and its new card."""
    wonolo = demo.demo.wonolo
    before = set(wonolo.job_requests)
    modal.get_by_role("button", name="Review").click()
    expect(modal).to_have_count(0)
    offer = page.locator(".msg.ephemeral").filter(has_text=title).filter(has=page.get_by_role("button", name="Confirm")).last
    offer.get_by_role("button", name="Confirm").click()
    created = wait_for(lambda: [wonolo.job_requests[i] for i in set(wonolo.job_requests) - before])
    assert len(created) == 1
    page.get_by_role("button", name="# wonolo").click()
    new_card = request_card(page, title).filter(has_text=f"Job request {created[0]['id']}")
    expect(new_card).to_have_count(1)
    return created[0], new_card


def test_wonolo_book_with_pickers_shows_errors_in_view_and_books_a_new_card(page, demo):
    zone = ZoneInfo("America/Los_Angeles")
    day = datetime.now(zone).date() + timedelta(days=3)
    page.get_by_role("button", name="# wonolo").click()
    send(page, "/wonolo book")
    modal = page.get_by_role("dialog", name="Book Wonolo shifts")
    modal.get_by_label("Job title").fill("Dock night crew")
    modal.get_by_label("Description").fill("Unload two trucks")
    modal.get_by_label("Street address").fill("1 Pier Way")
    modal.get_by_label("Venue time zone").select_option("America/Los_Angeles")
    _fill_date_and_times(modal, day, "09:00", None)
    modal.get_by_label("Workers (slots)").fill("1")
    modal.get_by_label("Wage (dollars per hour)").fill("18.50")
    modal.get_by_role("button", name="Review").click()
    # The one field left empty is far below the fold: its error is scrolled into view.
    error = modal.get_by_role("alert")
    expect(error).to_have_text("Pick the end time.")
    expect(error).to_be_in_viewport()
    expect(modal.get_by_label("Job title")).to_have_value("Dock night crew")  # what was typed survives
    expect(modal.get_by_label("Start time")).to_have_value("09:00")
    modal.get_by_label("End time").fill("13:00")
    badges = modal.get_by_label("Badges required")
    badges.select_option(index=0)
    badge = int(badges.evaluate("s => s.value"))
    booked, new_card = _review_and_confirm(page, demo, modal, "Dock night crew")
    expect(new_card).to_contain_text("$18.50/hr")
    assert booked["request_name"] == "Dock night crew" and booked["slots"] == 1
    assert booked["start_time"].astimezone(zone).replace(tzinfo=None) == datetime.combine(day, datetime.min.time()).replace(hour=9)
    assert booked["duration"] == 240 and booked["badge_ids"] == [badge]


def test_book_again_opens_the_form_filled_in_and_books_the_new_date(page, demo):
    wonolo = demo.demo.wonolo
    done = request_id(demo, "Inventory count")
    assert wonolo.send_webhook(demo.demo.bot_url + "/wonolo/webhook", "job_request", done).status_code == 200
    page.get_by_role("button", name="# wonolo").click()
    request_card(page, "Inventory count").get_by_role("button", name="Book again").click()
    modal = page.get_by_role("dialog", name="Book Wonolo shifts")
    expect(modal.get_by_label("Job title")).to_have_value("Inventory count")
    expect(modal.get_by_label("Start time")).not_to_have_value("")  # the times come from the old request
    day = datetime.now(ZoneInfo("America/Los_Angeles")).date() + timedelta(days=4)
    _fill_date_and_times(modal, day, None, None)
    booked, _ = _review_and_confirm(page, demo, modal, "Inventory count")
    assert booked["duration"] == 240 and booked["address"] == "5600 Bay St" and booked["id"] != done


def _settled(demo, channel: str) -> None:
    """Wait until the bot stops posting into the channel (the first sync's cards are all there)."""
    counts: list[int] = []

    def quiet() -> bool:
        counts.append(len(demo.demo.slack.messages(channel)))
        return len(counts) > 4 and len(set(counts[-5:])) == 1

    wait_for(quiet, interval=0.3, timeout=30)


def test_the_channel_follows_new_messages_unless_the_reader_scrolled_up(page, demo):
    _settled(demo, "C_REVIEW")
    slack = demo.demo.services.slack
    box = page.locator("#messages")
    newest = page.locator("#messages > .msg").last
    expect(newest).to_have_attribute("data-ts", demo.demo.slack.messages("C_REVIEW", include_replies=False)[-1].ts)
    wait_for(lambda: newest.evaluate("m => [...m.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"))
    expect(newest).to_be_in_viewport()  # it opens at the newest card, its images loaded

    slack.chat_postMessage(channel="C_REVIEW", text="Followed while at the bottom")
    followed = page.locator("#messages > .msg").filter(has_text="Followed while at the bottom")
    expect(followed).to_be_in_viewport()

    box.evaluate("b => { b.scrollTop = 0; }")
    page.wait_for_timeout(200)  # the scroll event lands
    slack.chat_postMessage(channel="C_REVIEW", text="Arrived while reading above")
    arrived = page.locator("#messages > .msg").filter(has_text="Arrived while reading above")
    expect(arrived).to_have_count(1)
    expect(arrived).not_to_be_in_viewport()
    assert box.evaluate("b => b.scrollTop") == 0


def _record_from_every_command(demo) -> None:
    """Every /rw and /wonolo subcommand the bot's help names, bare, and the App Home: what they post
    or open reaches the stand-in (and its record) as any other Block Kit payload."""
    page = demo.page
    for command in ("/rw", "/wonolo"):
        assert page.command("C_REVIEW", f"{command} help")["ok"]

    def named() -> list[tuple[str, str]]:  # both helps answered (each may come later, by its response_url)
        helped = " ".join(e["text"] + json.dumps(e["blocks"]) for e in page.state()["ephemerals"])
        found = sorted(set(re.findall(r"(/rw|/wonolo) ([a-z][a-z-]+)", helped)))
        return found if {"/rw", "/wonolo"} <= {command for command, _ in found} else []

    names = wait_for(named, timeout=30)
    assert ("/wonolo", "book") in names and len(names) > 10, names
    for command, name in names:
        page.command("C_WONOLO" if command == "/wonolo" else "C_REVIEW", f"{command} {name}")
    page.open_home()


def test_the_page_renders_every_block_kit_type_the_bot_sends(page, demo, block_kit_record):
    """The stand-ins record one payload of each shape the suite made the bot send (GIGDESK_BLOCK_KIT_RECORD,
    tests/conftest.py); this demo adds every command and the App Home. Every type in them must be in the
    renderer tables the page exports."""
    _record_from_every_command(demo)
    exported = page.evaluate("() => window.gigdeskBlockKit")
    known = {f"block:{t}" for t in exported["blocks"]} | {f"element:{t}" for t in exported["elements"]} | {
        f"context:{t}" for t in exported["context"]}
    seen: dict[str, str] = {}
    wait_for(lambda: any("timepicker" in p.read_text() for p in Path(block_kit_record).glob("*.json")), timeout=30)
    for path in sorted(Path(block_kit_record).glob("*.json")):
        for kind in json.loads(path.read_text(encoding="utf-8"))["types"]:
            seen.setdefault(kind, path.name)
    # From the real bot: its review card, /wonolo book's pickers and the Cancel request dialog's button.
    assert {"element:button", "element:timepicker", "element:datepicker", "element:static_select",
            "block:input", "block:actions"} <= set(seen)
    missing = {kind: where for kind, where in seen.items() if kind not in known}
    assert not missing, f"the demo page has no renderer for {missing} (see {block_kit_record})"
    # And the page does draw them: no [type] placeholder on what it shows now.
    expect(page.locator(".unsupported")).to_have_count(0)


def test_approve_all_picks_its_campaign_through_the_type_ahead(page, demo):
    """An external_select's options come from the bot as Slack asks for them (block_suggestion)."""
    rw = demo.demo.rapidworkers
    with rw._lock:
        title = next(c["title"] for c in rw._campaigns.values() if c["owner"] == "me" and c["status"] == "Active")
    send(page, "/rw approve-all")
    modal = page.get_by_role("dialog", name="Approve all…")
    modal.get_by_label("Campaign").fill(title[:6])
    modal.get_by_role("option", name=title).click()
    expect(modal.get_by_label("Campaign")).to_have_value(re.compile("^" + re.escape(title)))
    modal.get_by_role("button", name="Review cost").click()
    expect(modal).to_have_count(0)
    offer = page.locator(".msg.ephemeral").filter(has=page.get_by_role("button", name="Confirm")).last
    expect(offer).to_contain_text(title)


# One of every element type the page operates, with Slack's value shape for each (view.state.values).
_ALL_INPUTS = [
    ("timepicker", {}, "07:30", {"selected_time": "07:30"}),
    ("datepicker", {}, "2027-01-05", {"selected_date": "2027-01-05"}),
    ("plain_text_input", {}, "hello", {"value": "hello"}),
    ("number_input", {"is_decimal_allowed": True}, "2.5", {"value": "2.5"}),
    ("email_text_input", {}, "a@example.com", {"value": "a@example.com"}),
    ("url_text_input", {}, "https://example.com/x", {"value": "https://example.com/x"}),
]
_OPTIONS = [{"text": {"type": "plain_text", "text": f"Option {n}"}, "value": f"v{n}"} for n in (1, 2, 3)]
_ALL_SELECTS = [
    ("static_select", {"option_groups": [{"label": {"type": "plain_text", "text": "Group"}, "options": _OPTIONS}]},
     ["v2"], {"selected_option": _OPTIONS[1]}),
    ("multi_static_select", {"options": _OPTIONS}, ["v1", "v3"], {"selected_options": [_OPTIONS[0], _OPTIONS[2]]}),
    ("users_select", {}, ["U_SAM"], {"selected_user": "U_SAM"}),
    ("multi_users_select", {}, ["U_SAM", "U_DEMO"], {"selected_users": ["U_DEMO", "U_SAM"]}),
    ("conversations_select", {}, ["C_WONOLO"], {"selected_conversation": "C_WONOLO"}),
    ("multi_conversations_select", {}, ["C_REVIEW", "C_DIGEST"], {"selected_conversations": ["C_REVIEW", "C_DIGEST"]}),
    ("channels_select", {}, ["C_DIGEST"], {"selected_channel": "C_DIGEST"}),
    ("multi_channels_select", {}, ["C_WONOLO"], {"selected_channels": ["C_WONOLO"]}),
]


def _input(kind: str, extra: dict) -> dict:
    return {"type": "input", "block_id": f"b-{kind}", "label": {"type": "plain_text", "text": f"Field {kind}"},
            "element": {"type": kind, "action_id": "a", **extra}}


def test_every_element_type_submits_slacks_value_shapes(page, demo):
    """A modal with one of each element, as any app could open it: what the page submits is
    view.state.values in Slack's shapes (selected_time, selected_option, selected_conversation, …)."""
    choices = [("checkboxes", ["v1", "v3"], {"selected_options": [_OPTIONS[0], _OPTIONS[2]]}),
               ("radio_buttons", ["v2"], {"selected_option": _OPTIONS[1]})]
    blocks = [_input(kind, extra) for kind, extra, _, _ in _ALL_INPUTS + _ALL_SELECTS]
    blocks += [_input(kind, {"options": _OPTIONS}) for kind, _, _ in choices]
    blocks += [_input("external_select", {"min_query_length": 1}),  # the bot's own campaign type-ahead answers it
               _input("datetimepicker", {})]
    blocks[-2]["element"]["action_id"] = "campaign-select"
    view = {"type": "modal", "callback_id": "every-element", "title": {"type": "plain_text", "text": "Every element"},
            "submit": {"type": "plain_text", "text": "Send"}, "blocks": blocks}
    demo.demo.services.slack.views_open(trigger_id="1.1.demo", view=view)
    modal = page.get_by_role("dialog", name="Every element")
    for kind, _, typed, _ in _ALL_INPUTS:
        modal.get_by_label(f"Field {kind}").fill(typed)
    for kind, _, picked, _ in _ALL_SELECTS:
        modal.get_by_label(f"Field {kind}", exact=True).select_option(picked)
    for kind, picked, _ in choices:
        group = modal.locator(f"[data-block-id='b-{kind}']")
        for value in picked:
            group.locator(f"input[value='{value}']").check()
    rw = demo.demo.rapidworkers
    with rw._lock:
        title = next(c["title"] for c in rw._campaigns.values() if c["owner"] == "me")
    modal.get_by_label("Field external_select").fill(title[:5])
    modal.get_by_role("option", name=title).click()
    modal.get_by_label("Field datetimepicker").fill("2027-01-05T07:30")
    with page.expect_request("**/api/submit") as sent:
        modal.get_by_role("button", name="Send").click()
    values = sent.value.post_data_json["values"]
    modal.get_by_role("button", name="Close").click()  # no app handles this view: Slack would keep it open too
    expect(modal).to_have_count(0)
    for kind, _, _, shape in _ALL_INPUTS + _ALL_SELECTS + [(k, None, None, s) for k, _, s in choices]:
        got = values[f"b-{kind}"]["a"]
        assert got.pop("type") == kind
        if kind.startswith("multi_") and "selected_options" not in shape:
            got = {k: sorted(v) for k, v in got.items()}
            shape = {k: sorted(v) for k, v in shape.items()}
        assert got == shape, kind
    external = values["b-external_select"]["campaign-select"]
    assert external["type"] == "external_select" and external["selected_option"]["text"]["text"].startswith(title)
    assert set(external["selected_option"]) == {"text", "value"}
    picked_at = values["b-datetimepicker"]["a"]["selected_date_time"]
    assert isinstance(picked_at, int) and picked_at == page.evaluate("() => new Date('2027-01-05T07:30').getTime() / 1000")


def test_elements_in_a_message_send_block_actions_after_their_confirm(page, demo):
    """Outside input blocks each pick is a block_actions click; a `confirm` on any element is asked first,
    and No undoes the pick without sending anything."""
    confirm = {"title": {"type": "plain_text", "text": "Sure?"}, "text": {"type": "plain_text", "text": "Really pick it?"},
               "confirm": {"type": "plain_text", "text": "Pick it"}, "deny": {"type": "plain_text", "text": "No"}}
    elements = [
        {"type": "static_select", "action_id": "pick", "options": _OPTIONS, "confirm": confirm,
         "placeholder": {"type": "plain_text", "text": "Pick one"}},
        {"type": "timepicker", "action_id": "time"},
        {"type": "conversations_select", "action_id": "where", "placeholder": {"type": "plain_text", "text": "Where"}},
        {"type": "overflow", "action_id": "more", "options": _OPTIONS[:2]},
    ]
    demo.demo.services.slack.chat_postMessage(channel="C_REVIEW", text="Every element", blocks=[
        {"type": "section", "text": {"type": "mrkdwn", "text": "Elements in a message"}},
        {"type": "actions", "block_id": "acts", "elements": elements}])
    _settled(demo, "C_REVIEW")  # nothing moves the message while it is pressed
    message = page.locator("#messages .msg").filter(has_text="Elements in a message")
    sent: list[dict] = []
    page.on("request", lambda r: sent.append(r.post_data_json["action"]) if r.url.endswith("/api/action") else None)
    select = message.get_by_label("Pick one")
    select.select_option("v2")
    dialog = page.get_by_role("alertdialog", name="Sure?")
    dialog.get_by_role("button", name="No").click()
    expect(select).to_have_value("")  # undone, and nothing sent
    select.select_option("v3")
    dialog.get_by_role("button", name="Pick it").click()
    message.locator("input[type=time]").fill("18:45")
    message.get_by_label("Where").select_option("C_DIGEST")
    message.get_by_role("button", name="More actions").click()
    message.get_by_role("menuitem", name="Option 2").click()
    wait_for(lambda: len(sent) >= 4)
    page.wait_for_timeout(300)  # nothing else trails in
    shapes = [{k: v for k, v in a.items() if k not in ("block_id", "action_id")} for a in sent]
    assert shapes == [
        {"type": "static_select", "selected_option": _OPTIONS[2]},
        {"type": "timepicker", "selected_time": "18:45"},
        {"type": "conversations_select", "selected_conversation": "C_DIGEST"},
        {"type": "overflow", "selected_option": _OPTIONS[1]},
    ]
    assert {a["block_id"] for a in sent} == {"acts"}
