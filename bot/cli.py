"""`gigdesk serve | poll | digest | check | sandbox | wonolo-sandbox`."""

from __future__ import annotations

import argparse
import json
import sys

from bot.config import ConfigError, Settings, load_settings
from bot.logsafe import setup_logging


def _settings(**need) -> Settings:
    settings = load_settings(**need)
    setup_logging(settings.secrets)
    return settings


def cmd_serve(args) -> int:
    from bot.app import serve

    return serve(_settings())


def cmd_poll(args) -> int:
    from bot.app import build_services

    settings = _settings(need_slack=True)
    services = build_services(settings)
    settled = services.review.settle_in_flight()
    if settled:
        print(f"settled {settled} decisions that were in flight at the last stop")

    def progress(done: int, total: int) -> None:
        if total >= 20 and (done % 10 == 0 or done == total):
            print(f"  posting… {done}/{total}", flush=True)

    report = services.review.sync(progress=progress)
    print(report.summary())
    return 0


def cmd_digest(args) -> int:
    from bot.app import build_services

    settings = _settings(need_slack=not args.dry_run)
    services = build_services(settings)
    if args.dry_run:
        print(json.dumps(services.digest.build(), indent=2))
        return 0
    result = services.digest.post(kind="manual")
    print(f"digest posted to {result['channel']} at {result['ts']}")
    return 0


def cmd_check(args) -> int:
    """A checklist: settings, Slack auth.test, RapidWorkers balance, review channel."""
    from slack_sdk.errors import SlackApiError

    ok = True

    def item(passed: bool, text: str) -> None:
        nonlocal ok
        ok = ok and passed
        print(f"[{'x' if passed else ' '}] {text}")

    try:
        settings = load_settings()
    except ConfigError as e:
        item(False, f"settings: {e}")
        return 1
    setup_logging(settings.secrets)
    item(True, "settings present and well-formed")
    from bot.app import build_services

    services = build_services(settings)
    try:
        auth = services.slack.auth_test()
        item(True, f"Slack auth.test: bot {auth.get('user_id')} in team {auth.get('team')}")
    except SlackApiError as e:
        item(False, f"Slack auth.test failed: {e.response.get('error')}")
    except Exception as e:
        item(False, f"Slack unreachable: {type(e).__name__}")
    try:
        from bot.mrkdwn import money

        item(True, f"RapidWorkers balance: {money(services.rw.get_balance())}")
    except Exception as e:
        item(False, f"RapidWorkers: {e}")
    try:
        info = services.slack.conversations_info(channel=settings.review_channel)
        member = info.get("channel", {}).get("is_member", True)
        item(bool(member), f"review channel {settings.review_channel} reachable" + ("" if member else " but the bot is not a member: /invite it"))
    except SlackApiError as e:
        item(False, f"review channel {settings.review_channel}: {e.response.get('error')}")
    except Exception as e:
        item(False, f"review channel: {type(e).__name__}")
    if settings.wonolo_enabled:
        try:
            services.wonolo.authenticate()
            item(True, "Wonolo authentication")
        except Exception as e:
            item(False, f"Wonolo: {e}")
    return 0 if ok else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gigdesk", description="Run RapidWorkers and Wonolo crowd work from Slack.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("serve", help="run the bot (HTTP on PORT, or Socket Mode with SLACK_APP_TOKEN)").set_defaults(func=cmd_serve)
    sub.add_parser("poll", help="run one review sync cycle, print what it did, exit").set_defaults(func=cmd_poll)
    d = sub.add_parser("digest", help="post the digest now")
    d.add_argument("--dry-run", action="store_true", help="print the Block Kit JSON instead of posting")
    d.set_defaults(func=cmd_digest)
    sub.add_parser("check", help="verify settings and reachability of Slack and RapidWorkers").set_defaults(func=cmd_check)
    # Listed for --help; main() hands their arguments to the simulators themselves.
    sub.add_parser("sandbox", help="run the bundled RapidWorkers simulator on loopback (--port N)")
    sub.add_parser("wonolo-sandbox", help="run the bundled Wonolo simulator on loopback (--port N)")
    return p


SIMULATORS = {"sandbox": "bot.sandbox", "wonolo-sandbox": "bot.wonolo_sandbox"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SIMULATORS:
        # The simulators own their options (argparse.REMAINDER would drop a leading --port).
        import importlib

        return importlib.import_module(SIMULATORS[argv[0]]).main(argv[1:])
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as e:
        print(f"gigdesk: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
