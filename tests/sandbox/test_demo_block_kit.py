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

import pytest

from sandbox.demo.main import RunningDemo
from tests.sandbox.browser import card, pending_ids, skip_without_browser
from tests.support.harness import wait_for

pytestmark = skip_without_browser()
if not pytestmark:
    from playwright.sync_api import expect


@pytest.fixture(scope="module")
def demo():
    running = RunningDemo(port=0, poll_seconds=2, lively=False)
    yield running
    running.stop()


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
    helped = " ".join(e["text"] + json.dumps(e["blocks"]) for e in page.state()["ephemerals"])
    names = sorted(set(re.findall(r"(/rw|/wonolo) ([a-z][a-z-]+)", helped)))
    assert len(names) > 10, names
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
    wait_for(lambda: any("timepicker" in p.read_text() for p in Path(block_kit_record).glob("*.json")))
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
