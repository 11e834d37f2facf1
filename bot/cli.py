"""`gigdesk serve | poll | digest | check | init | backup | demo | sandbox | wonolo-sandbox`, `gigdesk --version`.

A failure the user can fix is one line on stderr (or, for `check`, one line
per problem): what failed, where, what to do; never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import socket
import sqlite3
import sys

from bot.app import build, serve
from bot.checks import run_checks
from bot.config import ConfigError, Settings, load_settings, read_settings
from bot.connectivity import slack_outage
from bot.digest.plaintext import blocks_as_text
from bot.errors import UserError
from bot.logsafe import setup_logging
from bot.observability.home_health import version
from bot.onboarding import run as run_onboarding
from storage import backup
from storage.migrate_db import MigrateError, copy_to_postgresql

# `gigdesk poll` waits this long for the proof checks of what it posted (each download has its own deadline).
POLL_CHECKS_SECONDS = 60

# Loggers whose failures the one-shot commands report themselves, in words.
TRANSPORT_LOGGERS = ("slack_sdk", "urllib3", "gigdesk.rapidworkers", "gigdesk.wonolo")


def _settings(**need) -> Settings:
    settings = load_settings(**need)
    setup_logging(settings.secrets, log_format=settings.log_format)
    return settings


def _one_shot_logging(settings: Settings) -> None:
    """poll, digest, check: their report is the output; logs only for what it does not say."""
    setup_logging(settings.secrets, logging.WARNING, log_format=settings.log_format)
    root = logging.getLogger()
    if root.level > logging.DEBUG:
        for handler in root.handlers:
            handler.addFilter(_not_transport)


def _not_transport(record: logging.LogRecord) -> bool:
    return not record.name.startswith(TRANSPORT_LOGGERS) or record.levelno >= logging.CRITICAL


def _port_problem(port: int, error: OSError, setting: str = "PORT", host: str = "HOST") -> str | None:
    """One line for a port the server cannot listen on; None for other errors."""
    if error.errno == errno.EADDRINUSE:
        other = port + 1 if port < 65535 else 3000
        return (
            f"port {port} is already in use: stop the program that listens on it, "
            f"or start gigdesk on another port, e.g. {setting}={other} gigdesk serve"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return f"{host} is no address of this machine: set {host} to 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
    if error.errno == errno.EACCES:
        return f"not allowed to listen on port {port}: ports below 1024 need root; set {setting} to 1024 or above, e.g. {setting}=3000"
    return None


def _try_port(host: str, port: int) -> None:
    """Bind and release host:port as the server will (before anything else starts and logs)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress does
        probe.bind(address)


def cmd_serve(args) -> int:
    settings = _settings()
    port, names = settings.port, ("PORT", "HOST")
    try:
        # Socket Mode listens too: health, readiness and Wonolo webhooks, on HOST (loopback by default).
        _try_port(settings.host, port)
        if settings.metrics_port:
            port, names = settings.metrics_port, ("GIGDESK_METRICS_PORT", "GIGDESK_METRICS_HOST")
            _try_port(settings.metrics_host, port)
        return serve(settings)
    except socket.gaierror:
        return _serve_failed(settings, "HOST (or GIGDESK_METRICS_HOST) is no address of this machine: set it to 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)")
    except OSError as e:  # also when another program took the port since the probe
        problem = _port_problem(port, e, *names)
        if problem is None:
            raise
        return _serve_failed(settings, problem)


def _serve_failed(settings: Settings, problem: str) -> int:
    """One line on stderr: plain text, or a JSON log line when the logs are JSON."""
    if settings.log_format == "json":
        logging.getLogger("gigdesk").error(problem)
    else:
        print(f"gigdesk: {problem}", file=sys.stderr)
    return 1


def cmd_poll(args) -> int:
    settings = load_settings(need_slack=True)
    _one_shot_logging(settings)
    features = build(settings).features
    settled = features.review.settle_in_flight()
    if settled:
        print(f"settled {settled} decisions that were in flight at the last stop")

    def progress(done: int, total: int) -> None:
        if total >= 20 and (done % 10 == 0 or done == total):
            print(f"  posting… {done}/{total}", flush=True)

    report = features.review.sync(progress=progress)
    checks = features.review.checks
    if checks is not None and not checks.wait(POLL_CHECKS_SECONDS):
        print(f"proof checks still running after {POLL_CHECKS_SECONDS} s: the next poll or serve finishes them")
        checks.stop()
    print(report.summary())
    return 1 if report.failed or report.errors else 0


def cmd_digest(args) -> int:
    if (args.format != "json" or args.chart) and not args.dry_run:
        print("gigdesk: --format and --chart apply to --dry-run only (gigdesk digest --dry-run --chart week.png)", file=sys.stderr)
        return 2
    # A dry run posts nothing: it needs no Slack token and no channel.
    settings = load_settings(need_slack=not args.dry_run, need_review_channel=not args.dry_run)
    _one_shot_logging(settings)
    features = build(settings).features
    if args.dry_run and args.chart:
        return _weekly_chart(features, args.chart)
    if args.dry_run:
        digest = features.digest.build()
        if args.format == "text":
            where = f"for channel {digest['channel']}" if digest["channel"] else "no digest channel is set (GIGDESK_DIGEST_CHANNEL)"
            print(f"Preview, not posted; {where}\n")
            print(blocks_as_text(digest["blocks"], settings.tz), end="")
        else:
            print(json.dumps(digest, indent=2))
        return 0
    try:
        result = features.digest.post(kind="manual")
    except Exception as e:
        outage = slack_outage(e, settings.slack_api_url)
        if outage is None:
            raise
        print(f"gigdesk: the digest was not posted: {outage}", file=sys.stderr)
        return 1
    print(f"digest posted to {result['channel']} at {result['ts']}")
    return 0


def _weekly_chart(features, path: str) -> int:
    """`digest --dry-run --chart PATH`: last week's picture (as the week's first digest posts it) to a PNG file."""
    png, week = features.reports.weekly_png()
    try:
        with open(path, "wb") as out:
            out.write(png)
    except OSError as e:
        print(f"gigdesk: could not write {path}: {e.strerror or e}", file=sys.stderr)
        return 1
    what = "nothing happened that week" if week.empty else f"{week.decided} decisions, ${week.spent:,.2f} spent"
    print(f"wrote {path}: last week ({week.period.label()}), {what}")
    return 0


def cmd_check(args) -> int:
    """A checklist: every setting problem, then Slack, RapidWorkers, Wonolo and the channels."""
    settings, problems = read_settings()
    _one_shot_logging(settings)
    return run_checks(settings, problems, print)


def cmd_migrate_db(args) -> int:
    """Copy the SQLite install (GIGDESK_DB) into an empty PostgreSQL database (storage/migrate_db.py)."""
    settings, _ = read_settings()  # only GIGDESK_DB matters here
    setup_logging((*settings.secrets, args.to), logging.WARNING)
    try:
        counts = copy_to_postgresql(settings.db_path, args.to)
    except (MigrateError, OSError) as e:
        print(f"gigdesk: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # psycopg's errors: never the URL (it may hold a password)
        print(f"gigdesk: the copy failed ({type(e).__name__}): check the URL, that the server runs and the user may create tables",
              file=sys.stderr)
        return 1
    print(f"copied {sum(counts.values())} rows of {len(counts)} tables from {settings.db_path}; row counts match."
          " Set GIGDESK_DATABASE_URL to that database and restart gigdesk.")
    return 0


def cmd_init(args) -> int:
    """Ask for the settings, check each against its service, write .env (0600)."""
    setup_logging((), logging.WARNING)
    for handler in logging.getLogger().handlers:  # its checklist says what failed, in words
        handler.addFilter(_not_transport)
    return run_onboarding(args.env_file)


def cmd_backup(args) -> int:
    """A consistent copy of the SQLite database, also while `serve` runs (PostgreSQL: pg_dump, README)."""
    settings = load_settings(need_slack=False, need_rapidworkers=False, need_review_channel=False)
    setup_logging(settings.secrets, logging.WARNING, log_format=settings.log_format)
    if settings.database_url:
        print("gigdesk: GIGDESK_DATABASE_URL is set: back up PostgreSQL with pg_dump (README: Operating gigdesk, Backups)",
              file=sys.stderr)
        return 1
    if not os.path.isfile(settings.db_path):
        print(f"gigdesk: there is no database at {settings.db_path} (GIGDESK_DB): nothing to back up", file=sys.stderr)
        return 1
    if os.path.exists(args.path):
        print(f"gigdesk: {args.path} already exists: give a new file name (a backup never overwrites)", file=sys.stderr)
        return 1
    try:
        size = backup.backup_sqlite(settings.db_path, args.path)
    except (OSError, sqlite3.Error) as e:
        print(f"gigdesk: the backup failed ({type(e).__name__}: {e}); {args.path} was not written", file=sys.stderr)
        return 1
    check = backup.integrity(args.path)
    if check != "ok":
        print(f"gigdesk: the copy at {args.path} failed SQLite's integrity check ({check}); keep the database and try again", file=sys.stderr)
        return 1
    print(f"backed up {settings.db_path} to {args.path} ({size:,} bytes, integrity ok); restore: stop gigdesk, copy it to GIGDESK_DB, start")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gigdesk", description="Run RapidWorkers and Wonolo crowd work from Slack.")
    p.add_argument("--version", action="version", version=f"gigdesk {version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("serve", help="run the bot (HTTP on PORT, or Socket Mode with SLACK_APP_TOKEN)").set_defaults(func=cmd_serve)
    sub.add_parser("poll", help="run one review sync cycle, print what it did, exit").set_defaults(func=cmd_poll)
    d = sub.add_parser("digest", help="post the digest now")
    d.add_argument("--dry-run", action="store_true", help="print the digest instead of posting it (needs no channel)")
    d.add_argument("--format", choices=("json", "text"), default="json", help="with --dry-run: Block Kit JSON (default) or a readable text preview")
    d.add_argument("--chart", metavar="PATH", help="with --dry-run: write last week's picture (the PNG the week's first digest posts) to PATH")
    d.set_defaults(func=cmd_digest)
    sub.add_parser("check", help="verify settings and reachability of Slack and RapidWorkers").set_defaults(func=cmd_check)
    m = sub.add_parser("migrate-db", help="copy this SQLite install (GIGDESK_DB) into an empty PostgreSQL database")
    m.add_argument("--to", required=True, metavar="postgresql://…", help="the empty PostgreSQL database to copy into")
    m.set_defaults(func=cmd_migrate_db)
    i = sub.add_parser("init", help="ask for the tokens, keys and channels, check each, write .env")
    i.add_argument("--env-file", default=".env", help="where to write (default ./.env)")
    i.set_defaults(func=cmd_init)
    b = sub.add_parser("backup", help="copy the SQLite database to PATH, consistent while serve runs")
    b.add_argument("path", metavar="PATH", help="the new file (never overwritten)")
    b.set_defaults(func=cmd_backup)
    # Listed for --help; main() hands their arguments to the simulators themselves.
    sub.add_parser("demo", help="try it offline: a local Slack workspace with the bot in your browser (--port N, default 3000)")
    sub.add_parser("sandbox", help="run the bundled RapidWorkers simulator on loopback (--port N)")
    sub.add_parser("wonolo-sandbox", help="run the bundled Wonolo simulator on loopback (--port N)")
    return p


SIMULATORS = ("demo", "sandbox", "wonolo-sandbox")


def run_simulator(name: str, argv: list[str]) -> int:
    """Run a bundled simulator. The one place outside tests that imports sandbox/, and only lazily."""
    if name == "demo":
        from sandbox.demo.main import main as simulator  # noqa: PLC0415 - the simulators load only when asked for
    elif name == "wonolo-sandbox":
        from sandbox.wonolo import main as simulator  # noqa: PLC0415 - likewise
    else:
        from sandbox.rapidworkers import main as simulator  # noqa: PLC0415 - likewise
    return simulator(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SIMULATORS:
        # The simulators own their options (argparse.REMAINDER would drop a leading --port).
        return run_simulator(argv[0], argv[1:])
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as e:
        print(f"gigdesk: {e}", file=sys.stderr)
        return 2
    except UserError as e:
        print(f"gigdesk: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
