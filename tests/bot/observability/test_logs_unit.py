"""GIGDESK_LOG_FORMAT=json: one JSON object per stderr line, whoever logs, secrets blanked."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import warnings

import pytest

from bot.logsafe import setup_logging

pytestmark = pytest.mark.unit
SECRET = "xoxb-very-secret-token"


@pytest.fixture
def json_logging(restore_logging):
    """setup_logging as `serve` runs it; what its stderr handler writes, in a buffer."""
    hooks = (sys.excepthook, threading.excepthook)
    setup_logging((SECRET,), log_format="json")
    out = io.StringIO()
    (handler,) = logging.getLogger().handlers
    handler.setStream(out)  # type: ignore[attr-defined]
    yield out
    logging.captureWarnings(False)
    sys.excepthook, threading.excepthook = hooks


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_every_logger_writes_one_json_object_per_line(json_logging):
    logging.getLogger("gigdesk.review").info("approved %s", 42, extra={"submission": 42, "user": "U_ALICE", "action": "approve", "latency": 0.12})
    logging.getLogger("waitress").warning("Task queue depth is 5")
    logging.getLogger("slack_bolt.App").error("multi\nline message")
    warnings.warn("a start-up warning", UserWarning, stacklevel=1)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("slack_sdk.web").exception("call failed")
    parsed = lines(json_logging)
    assert [p["logger"] for p in parsed] == ["gigdesk.review", "waitress", "slack_bolt.App", "py.warnings", "slack_sdk.web"]
    first = parsed[0]
    assert first["message"] == "approved 42" and first["level"] == "info" and first["time"].endswith("Z")
    assert (first["submission"], first["user"], first["action"], first["latency"]) == (42, "U_ALICE", "approve", 0.12)
    assert parsed[2]["message"] == "multi\nline message"
    assert "a start-up warning" in parsed[3]["message"]
    assert "ValueError: boom" in parsed[4]["exception"]


def test_secrets_are_blanked_in_messages_extras_and_tracebacks(json_logging):
    logging.getLogger("urllib3").warning("GET /x?token=abcdef123 failed")
    logging.getLogger("gigdesk").info("token %s", SECRET, extra={"campaign": f"c-{SECRET}"})
    try:
        raise RuntimeError(SECRET)
    except RuntimeError:
        logging.getLogger("gigdesk").exception("failed")
    err = json_logging.getvalue()
    assert SECRET not in err and "abcdef123" not in err
    parsed = lines(json_logging)
    assert parsed[0]["message"].endswith("token=[redacted] failed") and parsed[2]["exception"].endswith("RuntimeError: [redacted]")


def test_an_uncaught_exception_in_a_thread_is_a_json_line(json_logging):
    thread = threading.Thread(target=lambda: 1 / 0, name="doomed")
    thread.start()
    thread.join()
    (line,) = lines(json_logging)
    assert line["logger"] == "gigdesk.crash" and "doomed" in line["message"] and "ZeroDivisionError" in line["exception"]


def test_text_stays_the_default(restore_logging, capsys):
    setup_logging(())
    logging.getLogger("gigdesk").warning("plain")
    err = capsys.readouterr().err
    assert err.rstrip().endswith("WARNING gigdesk: plain") and not err.startswith("{")
