"""`/rw next` in the demo, in a real browser: the walk through the oldest waiting submissions.

Approve one, Reject one with the reason typed in place, Skip one; the channel cards follow,
the simulator records each decision once, and the walk goes oldest first (the worker's
submittedAt, not when the bot posted).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storage import submissions as subs
from tests.sandbox.test_demo_browser import browser, card, demo, page, pending_ids  # noqa: F401  (the demo's fixtures)
from tests.support.harness import wait_for

try:
    from playwright.sync_api import expect
except ImportError:  # the demo browser tests say loudly why they are skipped
    pytestmark = pytest.mark.skip(reason="playwright is not installed")

SHOT = Path("/work/brief/shots/review-rw-next.png")


def waiting_oldest_first(demo) -> list[int]:  # noqa: F811
    """Posted, undecided submissions by the worker's submittedAt (read from the simulator)."""
    db = demo.demo.services.store.db
    rw = demo.demo.rapidworkers
    posted = [r.submission_id for r in subs.posted(db) if r.state == "posted" and r.ts]
    with rw._lock:
        return sorted(posted, key=lambda sid: (rw._subs[sid]["submitted_at"], sid))


def shown_submission(modal) -> int:
    expect(modal.locator(".context", has_text="oldest first")).to_be_visible()
    text = modal.locator(".context", has_text="oldest first").inner_text()
    return int(re.search(r"submission (\d+)", text).group(1))


def test_rw_next_walks_the_oldest_submissions_approve_reject_skip(page, demo):  # noqa: F811
    # every pending submission posted (the first sync is done): the oldest is among them
    wait_for(lambda: len(pending_ids(demo)) >= 4 and set(pending_ids(demo)) <= set(waiting_oldest_first(demo)), timeout=60)
    oldest = waiting_oldest_first(demo)
    rw = demo.demo.rapidworkers
    page.locator("#composer-input").fill("/rw next")
    page.keyboard.press("Enter")
    modal = page.get_by_role("dialog", name="Next submission")
    expect(modal).to_be_visible()
    first = shown_submission(modal)
    assert first == oldest[0]  # the oldest by submittedAt

    modal.get_by_role("button", name="Approve").click()
    expect(modal).to_contain_text(f"Approved submission {first}")
    second = shown_submission(modal)
    assert second != first and second == waiting_oldest_first(demo)[0]
    assert rw.submission(first)["status"] == "Approved"
    expect(card(page, first)).to_contain_text("Approved")  # the channel card follows
    expect(card(page, first).get_by_role("button", name="Approve")).to_have_count(0)

    modal.get_by_role("button", name="Reject").click()  # no reason yet: the field says so, nothing is called
    expect(modal.get_by_role("alert")).to_contain_text("Pick a common reason or type one")
    assert rw.submission(second)["status"] == "Pending"
    modal.get_by_label("Reason (or details)").fill("The screenshot shows another account")
    if SHOT.parent.is_dir():  # the brief's screenshot, where there is a place for it
        images = modal.locator("img")
        wait_for(lambda: images.evaluate_all("imgs => imgs.every(i => i.complete)"), timeout=30)
        modal.screenshot(path=str(SHOT))
    modal.get_by_role("button", name="Reject").click()
    expect(modal).to_contain_text(f"Rejected submission {second}")
    after = rw.submission(second)
    assert after["status"] == "Rejected" and "another account" in after["notes"]
    expect(card(page, second)).to_contain_text("Rejected")

    third = shown_submission(modal)
    modal.get_by_role("button", name="Skip").click()
    wait_for(lambda: shown_submission(modal) != third)
    fourth = shown_submission(modal)
    assert fourth not in (first, second, third)
    assert rw.submission(third)["status"] == "Pending"  # skipped: still waiting, its card keeps its buttons
    expect(card(page, third).get_by_role("button", name="Approve")).to_be_visible()
    approvals = [r for r in rw.requests if r.method == "POST" and f"/submissions/{first}/approve" in r.path]
    assert len(approvals) == 1
