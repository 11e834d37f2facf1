"""Regenerate the README screenshots from the demo: `make screenshots` (or python -m sandbox.demo.screenshots).

Uses the system Chromium through Playwright (test extras), like the browser tests,
so the README shows what the demo, and so Slack, shows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def take(out: Path, chromium: str) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    from sandbox.demo.main import RunningDemo

    out.mkdir(parents=True, exist_ok=True)
    running = RunningDemo(port=0, poll_seconds=2, lively=False)
    shots: list[Path] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
            page.set_default_timeout(20_000)
            page.goto(running.url)

            def shot(name: str, locator) -> None:
                locator.scroll_into_view_if_needed()
                page.wait_for_function("() => [...document.images].every(i => i.complete)")
                path = out / f"{name}.png"
                locator.screenshot(path=str(path))
                shots.append(path)

            card = page.locator(".msg").filter(has=page.get_by_role("button", name="Approve")).first
            expect(card.locator("img").first).to_be_visible()
            shot("review-card", card)
            page.screenshot(path=str(out / "demo-page.png"))
            shots.append(out / "demo-page.png")

            page.locator("#composer-input").fill("/rw job Instagram-Likes https://www.instagram.com/p/launch 200 US,GB en")
            page.keyboard.press("Enter")
            offer = page.locator(".msg.ephemeral").filter(has=page.get_by_role("button", name="Confirm")).last
            shot("offer", offer)

            page.get_by_role("button", name="# digest").click()
            shot("digest", page.locator(".msg").first)

            page.get_by_role("button", name="# wonolo").click()
            shot("wonolo-card", page.locator(".msg").first)

            page.get_by_role("button", name="App Home").click()
            home = page.locator(".home")
            expect(home).to_contain_text("$")
            shot("app-home", home)
            browser.close()
    finally:
        running.stop()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo.screenshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder (default {OUT})")
    parser.add_argument("--chromium", default=os.environ.get("GIGDESK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args(argv)
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("screenshots: needs Playwright: pip install -e '.[test]'", file=sys.stderr)
        return 2
    if not os.path.exists(args.chromium):
        print(f"screenshots: no Chromium at {args.chromium}: apt-get install chromium (or --chromium PATH)", file=sys.stderr)
        return 2
    for path in take(args.out, args.chromium):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
