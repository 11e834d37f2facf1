"""Logging that can never print a secret."""

from __future__ import annotations

import logging
import re

from bot.observability.logs import JsonFormatter, route_everything_to_logging

# Wonolo takes its session token in the query string, and urllib3 logs full URLs
# (at DEBUG and on retries): such values are secrets even when not in the settings.
_QUERY_SECRET_RE = re.compile(r"((?:^|[?&\s'\"(])(?:token|api_key|secret_key)=)[^&\s'\")]+", re.I)


def redact_query(text: str) -> str:
    """Blank `token=`, `api_key=`, `secret_key=` values in a URL-ish string."""
    return _QUERY_SECRET_RE.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    """Replace every known secret, and every token-like query value, in a log record with [redacted]."""

    def __init__(self, secrets: tuple[str, ...]):
        super().__init__()
        self.secrets = tuple(s for s in secrets if s and len(s) >= 6)

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return redact_query(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is not ours to fix
            return True
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        clean = self.clean(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        return True


def setup_logging(secrets: tuple[str, ...], level: int = logging.INFO, *, log_format: str = "text") -> None:
    """Root logging to stderr, through the redaction filter (installed here, and only here).

    log_format "json": one JSON object per line (bot.observability.logs), for log pipelines."""
    root = logging.getLogger()
    root.setLevel(level)
    handler = logging.StreamHandler()
    redact = RedactSecrets(secrets)
    if log_format == "json":
        handler.setFormatter(JsonFormatter(redact.clean))
        route_everything_to_logging()
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redact)
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    # urllib3 logs full URLs at DEBUG; Wonolo puts its token in the query string.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
