"""One Chromium per test process for the demo's browser tests, and a page whose errors fail the test."""

from __future__ import annotations

import pytest

from tests.sandbox.browser import CHROMIUM, CHROMIUM_ARGS, open_page, unavailable


@pytest.fixture(scope="session")
def browser():
    if unavailable() is not None:
        pytest.skip(unavailable() or "")
    with pytest.importorskip("playwright.sync_api").sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, demo):
    """The demo page (``demo``: the module's RunningDemo) in a fresh context. Any page error or console
    error while the test runs fails it: a broken click must not pass for a slow one."""
    context, page, errors = open_page(browser, demo.url)
    yield page
    context.close()
    assert errors == [], f"the page raised or logged errors: {errors}"
