"""Dismissing a flag in the demo, in a real browser (the system Chromium, driven by Playwright).

The demo's seeded world plants two workers sending the same screenshot and the same proof text;
the later card carries both flags. "Not a problem: copied text" is pressed on the page; the
card, rebuilt by the bot from its database, shows that flag dismissed and keeps the other.
With GIGDESK_SHOTS=<folder> the card is saved as <folder>/flags-dismissed.png.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from storage import records
from tests.sandbox.test_demo_browser import CHROMIUM, CHROMIUM_ARGS, _unavailable, card

_why = _unavailable()
if _why is not None:
    pytestmark = pytest.mark.skip(reason=f"BROWSER TESTS SKIPPED: {_why}")
else:
    from playwright.sync_api import expect, sync_playwright


@pytest.fixture(scope="module")
def demo():
    from sandbox.demo.main import RunningDemo

    running = RunningDemo(port=0, poll_seconds=2, lively=False)
    yield running
    running.stop()


def test_not_a_problem_dismisses_the_copied_text_flag_on_the_card(demo):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(20_000)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(demo.url)
            dismiss = page.get_by_role("button", name="Not a problem: copied text")
            flagged = page.locator(".msg").filter(has=dismiss)
            expect(flagged).to_have_count(1)
            sid = re.search(r"submission (\d+)", flagged.locator(".context", has_text="campaign").first.inner_text()).group(1)
            found = card(page, int(sid))  # the same card, whatever buttons it shows
            expect(found).to_contain_text("copied proof text: same as submission")
            dismiss.click()
            expect(found.get_by_text("not a problem (")).to_be_visible()
            expect(found).not_to_contain_text("copied proof text: same as submission")
            expect(found).to_contain_text("duplicate screenshot")  # the other flag stays
            expect(found.get_by_role("button", name="Not a problem: copied text")).to_have_count(0)
            entries = [a for a in records.audit_since(demo.demo.services.store.db, "") if a.action == "flag-dismiss"]
            assert [(a.user_id, a.outcome) for a in entries] == [("U_DEMO", "dismissed")]
            if os.environ.get("GIGDESK_SHOTS"):
                found.scroll_into_view_if_needed()
                found.evaluate("el => Promise.all([...el.querySelectorAll('img')].map(i => i.complete ? 1"
                               " : new Promise(done => { i.onload = i.onerror = done; })))")
                found.screenshot(path=str(Path(os.environ["GIGDESK_SHOTS"]) / "flags-dismissed.png"))
            assert errors == [], f"the page raised: {errors}"
        finally:
            browser.close()
