"""Logging that can never print a secret."""

from __future__ import annotations

import logging


class RedactSecrets(logging.Filter):
    """Replace every known secret in a log record with [redacted]."""

    def __init__(self, secrets: tuple[str, ...]):
        super().__init__()
        self.secrets = tuple(s for s in secrets if s and len(s) >= 6)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        clean = message
        for secret in self.secrets:
            clean = clean.replace(secret, "[redacted]")
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_text:
            for secret in self.secrets:
                record.exc_text = record.exc_text.replace(secret, "[redacted]")
        return True


def setup_logging(secrets: tuple[str, ...], level: int = logging.INFO) -> None:
    """Root logging to stderr, through the redaction filter."""
    root = logging.getLogger()
    root.setLevel(level)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    # urllib3 logs full URLs at DEBUG; Wonolo puts its token in the query string.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
