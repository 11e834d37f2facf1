"""Dismissing a flag in the demo, in a real browser (the system Chromium, driven by Playwright,
with the demo page's own fixtures: tests/sandbox/test_demo_browser.py).

The demo's seeded world plants two workers sending the same screenshot and the same proof text;
the later card carries both flags. "Not a problem: copied text" is pressed on the page; the
card, rebuilt by the bot from its database, shows that flag dismissed and keeps the other.
With GIGDESK_SHOTS=<folder> the card is saved as <folder>/flags-dismissed.png.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from storage import audit as audit_store
from tests.sandbox import test_demo_browser as demo_page
from tests.sandbox.test_demo_browser import browser, card, demo, page  # noqa: F401 (the demo page's fixtures)

pytestmark = getattr(demo_page, "pytestmark", [])  # skipped (loudly, there) without Playwright or Chromium


def test_not_a_problem_dismisses_the_copied_text_flag_on_the_card(page, demo):  # noqa: F811 (fixtures)
    expect = demo_page.expect
    dismiss = page.get_by_role("button", name="Not a problem: copied text")
    flagged = page.locator(".msg").filter(has=dismiss)
    expect(flagged).to_have_count(1)
    sid = re.search(r"submission (\d+)", flagged.locator(".context", has_text="submission").first.inner_text()).group(1)
    found = card(page, int(sid))  # the same card, whatever buttons it shows
    expect(found).to_contain_text("copied proof text: same as submission")
    dismiss.click()
    expect(found.get_by_text("not a problem (")).to_be_visible()
    expect(found).not_to_contain_text("copied proof text: same as submission")
    expect(found).to_contain_text("duplicate screenshot")  # the other flag stays
    expect(found.get_by_role("button", name="Not a problem: copied text")).to_have_count(0)
    entries = [a for a in audit_store.audit_since(demo.demo.services.store.db, "") if a.action == "flag-dismiss"]
    assert [(a.user_id, a.target, a.outcome) for a in entries] == [("U_DEMO", sid, "dismissed")]
    if os.environ.get("GIGDESK_SHOTS"):
        found.scroll_into_view_if_needed()
        found.evaluate("el => Promise.all([...el.querySelectorAll('img')].map(i => i.complete ? 1"
                       " : new Promise(done => { i.onload = i.onerror = done; })))")
        found.screenshot(path=str(Path(os.environ["GIGDESK_SHOTS"]) / "flags-dismissed.png"))
