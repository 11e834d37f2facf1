"""`gigdesk demo` in a real browser: the system Chromium, driven by Playwright.

One demo (a still world: no timed arrivals) per module, one browser per test process. Every click
goes from the page to the bot as Slack would send it; the assertions read what the
page shows and what the simulators recorded.
"""

from __future__ import annotations

import re
from decimal import Decimal

from sandbox.demo.main import RunningDemo
from tests.sandbox import browser as fixtures
from tests.sandbox.browser import card, open_page, pending_ids, skip_without_browser
from tests.support.harness import wait_for

pytestmark = skip_without_browser()
# Other areas' browser tests import the demo page's fixtures (and card, pending_ids) from this module.
browser, demo, page = fixtures.browser, fixtures.demo, fixtures.page
if not pytestmark:
    from playwright.sync_api import expect


def test_the_page_says_it_is_an_offline_demo_with_simulated_money(page):
    banner = page.locator(".banner")
    expect(banner).to_contain_text("Offline demo")
    expect(banner).to_contain_text("simulated money")
    expect(banner).to_contain_text("gigdesk init")


def test_a_review_card_appears_with_its_proof_image(page, demo):
    first = pending_ids(demo)[0]
    found = card(page, first)
    expect(found.locator(".section").first).to_contain_text("$")  # title and pay on top
    image = found.locator("img").first
    image.scroll_into_view_if_needed()
    # Loaded from the RapidWorkers simulator: a real picture, not a broken icon (slow on a busy machine).
    wait_for(lambda: image.evaluate("img => img.complete && img.naturalWidth > 0"), timeout=30)
    image.scroll_into_view_if_needed()
    expect(image).to_be_in_viewport()
    expect(found.get_by_role("button", name="Approve")).to_be_visible()


def test_approve_turns_the_card_into_the_approved_state(page, demo):
    sid = pending_ids(demo)[1]
    found = card(page, sid)
    found.get_by_role("button", name="Approve").click()
    expect(found).to_contain_text("Approved")
    expect(found.get_by_role("button", name="Approve")).to_have_count(0)
    assert demo.demo.rapidworkers.submission(sid)["status"] == "Approved"


def test_reject_opens_the_modal_and_a_reason_rejects_it(page, demo):
    sid = pending_ids(demo)[2]
    found = card(page, sid)
    found.get_by_role("button", name="Reject").click()
    modal = page.get_by_role("dialog", name="Reject submission")
    expect(modal).to_be_visible()
    modal.get_by_label("Reason (or details)").fill("The screenshot shows a different account")
    modal.get_by_role("button", name="Reject").click()
    expect(modal).to_have_count(0)
    expect(found).to_contain_text("Rejected")
    after = demo.demo.rapidworkers.submission(sid)
    assert after["status"] == "Rejected" and "different account" in after["notes"]


def test_rw_balance_answers_only_the_person_who_asked(page, demo):
    page.locator("#composer-input").fill("/rw balance")
    page.keyboard.press("Enter")
    reply = page.locator(".msg.ephemeral").last
    expect(reply).to_contain_text("Only visible to you")
    balance = f"${demo.demo.rapidworkers.balance:,.2f}"
    expect(reply).to_contain_text(balance)


def test_rw_job_with_confirm_creates_one_job_in_the_simulator(page, demo):
    rw = demo.demo.rapidworkers
    before = rw.balance
    page.locator("#composer-input").fill("/rw job Instagram-Likes https://www.instagram.com/p/demo 50 US en")
    page.keyboard.press("Enter")
    offer = page.locator(".msg.ephemeral").filter(has=page.get_by_role("button", name="Confirm")).last
    expect(offer).to_contain_text("Nothing is spent until you click Confirm")
    assert not [r for r in rw.requests if "/api/jobs/" in r.path]
    offer.get_by_role("button", name="Confirm").click()
    expect(page.locator(".msg.ephemeral").filter(has_text="Created")).to_have_count(1)
    expect(page.get_by_role("button", name="Confirm")).to_have_count(0)  # the offer became the result, as in Slack
    jobs = [r for r in rw.requests if r.method == "POST" and "/api/jobs/" in r.path]
    assert len(jobs) == 1 and jobs[0].json["quantity"] == 50
    assert rw.balance < before


def test_the_app_home_renders(page, demo):
    page.get_by_role("button", name=re.compile("App Home")).click()
    home = page.locator(".home")
    expect(home).to_be_visible()
    expect(home).to_contain_text(f"${demo.demo.rapidworkers.balance:,.2f}")


def test_a_wonolo_webhook_shows_a_job_request_card_and_a_thread_reply(page, demo):
    wonolo = demo.demo.wonolo
    jr = wonolo.add_job_request(request_name="Harbor night shift", venue="Pier 9", slots=2, wage=Decimal("22.00"))
    # Wonolo's signed delivery, as the simulator sends it to the bot's /wonolo/webhook.
    assert wonolo.send_webhook(demo.demo.bot_url + "/wonolo/webhook", "job_request", jr).status_code == 200
    page.get_by_role("button", name="# wonolo").click()
    request_card = page.locator(".msg").filter(has_text="Harbor night shift")
    expect(request_card).to_be_visible()
    worker = next(u for u, rec in wonolo.users.items() if rec["type"] == "Worker")
    wonolo.add_job(jr, worker, "filled")  # the simulator delivers this change itself (on_change)
    request_card.get_by_role("button", name=re.compile(r"^1 repl")).click()
    thread = page.locator("#thread")
    expect(thread).to_be_visible()
    name = wonolo.users[worker]["first_name"]
    expect(thread.locator(".msg").nth(1)).to_contain_text(name)


def test_untrusted_text_is_shown_as_text_never_as_markup(page, demo):
    from sandbox.rapidworkers import HOSTILE_PROOF

    rw = demo.demo.rapidworkers
    with rw._lock:
        hostile = next(s["id"] for s in rw._subs.values() if s["proof_text"] == HOSTILE_PROOF and s["status"] == "Pending")
    found = card(page, hostile)
    expect(found).to_contain_text("<!channel> click")
    expect(found.locator("a[href*='evil.example']")).to_have_count(0)
    expect(found.locator(".mention.loud")).to_have_count(0)


def test_a_modal_shows_the_bots_errors_keeps_what_was_typed_and_then_submits(page, demo):
    page.locator("#composer-input").fill("/rw new")
    page.keyboard.press("Enter")
    modal = page.get_by_role("dialog", name="New custom campaign")
    modal.get_by_label("Title", exact=True).fill("Try our app")
    modal.get_by_label("Description").fill("Install it and open it once")
    modal.get_by_label("Pay rate per task (USD)").fill("-5")
    modal.get_by_label("Availabilities (number of tasks)").fill("10")
    modal.get_by_label("Proof required").fill("A screenshot of the home screen")
    modal.get_by_label("Category", exact=True).fill("Apps")
    modal.get_by_role("button", name="Review cost").click()
    expect(modal.get_by_role("alert")).to_contain_text("more than $0")  # response_action: errors
    expect(modal.get_by_label("Title", exact=True)).to_have_value("Try our app")
    modal.get_by_label("Pay rate per task (USD)").fill("0.50")
    modal.get_by_role("button", name="Review cost").click()
    expect(modal).to_have_count(0)
    offer = page.locator(".msg.ephemeral").filter(has_text="Try our app")
    expect(offer).to_contain_text("$5.50")
    expect(offer.get_by_role("button", name="Confirm")).to_be_visible()


def test_rw_spend_shows_its_chart_in_the_direct_message_and_the_csv_as_a_download(page, demo):
    """The demo's fortnight of history, as /rw spend reports it: the total in the reply, the chart
    inline and the CSV as a download in the direct message with the bot, both agreeing with what
    the RapidWorkers simulator charged last week."""
    from datetime import datetime

    from bot.reports.periods import last_week

    world = demo.demo
    start, end = (datetime.fromisoformat(b) for b in last_week(world.settings.tz, datetime.now(world.settings.tz)).bounds())
    charged = world.rapidworkers.charged(start, end)
    assert charged > 0  # the history is there on the first run
    page.locator("#composer-input").fill("/rw spend last-week")
    page.keyboard.press("Enter")
    reply = page.locator(".msg.ephemeral").filter(has_text="Total:")
    expect(reply).to_contain_text(f"Total: ${charged:,.2f}", timeout=30_000)  # a chart is drawn first: slow on a busy machine
    page.locator(f"#dm-list [data-channel='{world.direct_message}']").click()
    expect(page.locator("#main-title")).to_have_text("gigdesk")
    chart = page.locator(".file-image img").last
    expect(chart).to_be_visible()
    wait_for(lambda: chart.evaluate("img => img.complete && img.naturalWidth === 1200 && img.naturalHeight === 675"))
    link = page.locator("a.file-download").last
    expect(link).to_have_attribute("download", re.compile(r"^gigdesk-spend-last-week\.csv$"))
    with page.expect_download() as download:
        link.click()
    import csv
    from pathlib import Path

    rows = list(csv.DictReader(Path(download.value.path()).read_text(encoding="utf-8").splitlines()))
    assert sum(Decimal(r["amount (USD)"]) for r in rows) == charged
    # The week's first digest carried last week's picture into #digest.
    page.get_by_role("button", name="# digest").click()
    weekly = page.locator(".msg").filter(has_text="Last week in a picture").locator(".file-image img")
    expect(weekly).to_be_visible()
    wait_for(lambda: weekly.evaluate("img => img.complete && img.naturalWidth > 0"))


def test_in_socket_mode_the_page_drives_the_bot_through_envelopes(browser):
    """`gigdesk demo --socket-mode`: the same page, the bot connected out over Socket Mode."""
    running = RunningDemo(port=0, poll_seconds=2, lively=False, socket_mode=True)
    context, page, errors = open_page(browser, running.url)
    try:
        sid, other = pending_ids(running)[:2]
        found = card(page, sid)
        found.get_by_role("button", name="Approve").click()
        expect(found).to_contain_text("Approved")
        assert running.demo.rapidworkers.submission(sid)["status"] == "Approved"

        rejected = card(page, other)
        rejected.get_by_role("button", name="Reject").click()
        modal = page.get_by_role("dialog", name="Reject submission")
        modal.get_by_role("button", name="Reject").click()  # no reason: the ack's response_action errors
        expect(modal.get_by_role("alert")).to_be_visible()
        modal.get_by_label("Reason (or details)").fill("The screenshot shows a different account")
        modal.get_by_role("button", name="Reject").click()
        expect(rejected).to_contain_text("Rejected")

        page.locator("#composer-input").fill("/rw balance")
        page.keyboard.press("Enter")
        expect(page.locator(".msg.ephemeral").last).to_contain_text(f"${running.demo.rapidworkers.balance:,.2f}")

        kinds = {e.type for e in running.demo.slack.socket_mode.envelopes.values()}
        assert kinds == {"interactive", "slash_commands"}
        assert all(e.acked.is_set() for e in running.demo.slack.socket_mode.envelopes.values())
        assert errors == [], f"the page raised or logged errors: {errors}"
    finally:
        context.close()
        running.stop()
