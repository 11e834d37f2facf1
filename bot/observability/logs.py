"""GIGDESK_LOG_FORMAT=json: every stderr line one JSON object, for log pipelines.

{"time", "level", "logger", "message"} plus the fields a call passes with `extra=` (submission,
campaign, user, action, latency…) and "exception" when there is one. The root handler takes the
third-party loggers too (Bolt, slack-sdk, waitress, APScheduler); Python warnings and uncaught
exceptions are routed into logging so that nothing else reaches stderr. The redaction filter
(bot.logsafe) runs before this formatter, and its cleaner runs over the finished line as well,
so a secret passed in an extra field is blanked too.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType

# Attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def _plain(value: object) -> object:
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def __init__(self, clean: Callable[[str], str] | None = None):
        super().__init__()
        self.clean = clean or (lambda text: text)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in line:
                line[key] = _plain(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return self.clean(json.dumps(line, ensure_ascii=False, default=str))


def route_everything_to_logging() -> None:
    """Warnings and uncaught exceptions (main thread and others) become log records."""
    logging.captureWarnings(True)
    crash = logging.getLogger("gigdesk.crash")

    def main_hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        crash.critical("uncaught exception", exc_info=(kind, value, tb))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "?"
        crash.error("uncaught exception in thread %s", name, exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    sys.excepthook = main_hook
    threading.excepthook = thread_hook
