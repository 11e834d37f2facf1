"""The demo's browser tests share this: Chromium (one per test process), a still demo per module, a page
whose errors fail the test, and how to find a review card. A browser test module imports the fixtures
it uses from here (tests/sandbox/test_demo_browser.py re-exports them for other areas' browser tests).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import warnings

import pytest

from sandbox.demo.main import RunningDemo

CHROMIUM = os.environ.get("GIGDESK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def unavailable() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; `make test` does it as root)"
    return None


def skip_without_browser() -> list:
    """The module's pytestmark: skipped, loudly, without Playwright or Chromium (an error under CI=true)."""
    why = unavailable()
    if why is None:
        return []
    if os.environ.get("CI", "").lower() == "true":
        raise RuntimeError(f"browser tests must run under CI=true, but {why}")
    # Loud: in the warnings summary of every run, not only with -rs.
    warnings.warn(f"*** SKIPPING the demo browser tests: {why} ***", stacklevel=2)
    return [pytest.mark.skip(reason=f"BROWSER TESTS SKIPPED: {why}")]


def watch_errors(page) -> list[str]:
    """Everything the page throws or logs as an error, from now on (the tests allow none)."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    return errors


def open_page(browser, url: str):
    """A fresh context and page on the demo, its errors watched: (context, page, errors)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(url)
    return context, page, errors


def card(page, submission_id: int):
    """The review card of one submission: its small context line names it ("submission 1001 · campaign …"
    while open, "… · submission 1001" once collapsed)."""
    return page.locator(".msg").filter(has=page.locator(".context", has_text=re.compile(rf"submission {submission_id}(?!\d)")))


def pending_ids(demo) -> list[int]:
    """The demo's pending submissions of our own campaigns (a RunningDemo), oldest first."""
    rw = demo.demo.rapidworkers
    with rw._lock:
        return sorted(s["id"] for s in rw._subs.values()
                      if s["status"] == "Pending" and rw._campaigns[s["campaign_id"]]["owner"] == "me")


_shared: dict = {}


def _one_chromium(config):
    """The test process's Chromium, started on first use and stopped when the session ends (however
    many modules import the `browser` fixture)."""
    if "browser" not in _shared:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415 (only when a browser test runs)

        playwright = sync_playwright().start()
        _shared.update(playwright=playwright, browser=playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS))

        def stop() -> None:
            _shared.pop("browser").close()
            _shared.pop("playwright").stop()

        config.add_cleanup(stop)
    return _shared["browser"]


@pytest.fixture(scope="session")
def browser(request):
    if unavailable() is not None:
        pytest.skip(unavailable() or "")
    return _one_chromium(request.config)


@pytest.fixture(scope="module")
def demo():
    """A still demo world (no timed arrivals) and its page server."""
    running = RunningDemo(port=0, poll_seconds=2, lively=False)
    yield running
    running.stop()


@pytest.fixture
def page(browser, demo):
    """The demo page in a fresh context. Any page error or console error while the test runs fails
    it: a broken click must not pass for a slow one."""
    context, page, errors = open_page(browser, demo.url)
    yield page
    context.close()
    assert errors == [], f"the page raised or logged errors: {errors}"
