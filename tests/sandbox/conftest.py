"""The demo's browser fixtures (tests/sandbox/browser.py) for every test module here."""

from tests.sandbox.browser import browser, demo, page  # noqa: F401
