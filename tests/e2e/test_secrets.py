"""Tokens, signing secrets and API keys appear nowhere: logs, Slack, the database, the CLI.

One full session with distinctive secret values: sync, approve, reject, block,
a RapidWorkers error, Slack errors, a config error, `gigdesk check` (in
process) and `gigdesk poll` (a subprocess). Then every log record (DEBUG, all
loggers), everything the Slack stand-in received or shows, the CLI output
and the SQLite files (with -wal and -shm) are searched for each secret.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot import cli as gigdesk_cli
from bot.cli import main
from bot.slack import ids
from sandbox.rapidworkers import Sandbox
from sandbox.slack_workspace.server import SlackStandin
from storage import submissions as subs
from tests.support.harness import BotProcess, RunningBot, bot_env, wait_for
from tests.support.slack_requests import SlackPoster

BOT_TOKEN = "xoxb-SECRET-bot-123456"
SIGNING_SECRET = "SECRET-signing-abcdef0123"
RW_KEY = "rw-SECRET-key-987654"
WONOLO_KEY = "pk_test_SECRET-wonolo-key-55aa"
WONOLO_SECRET = "sk_test_SECRET-wonolo-secret-66bb"
WRONG_RW_KEY = "rw-SECRET-wrong-key-000111"  # a key RapidWorkers refuses
BAD_TOKEN = "xoxp-SECRET-user-token-777"  # a malformed setting: must not be echoed
SECRETS = (BOT_TOKEN, SIGNING_SECRET, RW_KEY, WONOLO_KEY, WONOLO_SECRET, WRONG_RW_KEY, BAD_TOKEN)


def leaks(text: str | bytes) -> list[str]:
    """Which secrets (or their distinctive middle parts) occur in text."""
    if isinstance(text, bytes):
        return [s for s in SECRETS if s.encode() in text or s.split("SECRET")[1].encode() in text]
    return [s for s in SECRETS if s in text or s.split("SECRET")[1] in text]


@pytest.fixture
def world(tmp_path):
    from sandbox.wonolo import WonoloSandbox

    rw = Sandbox(api_key=RW_KEY, demo_data=False)
    rw.start()
    slack = SlackStandin(token=BOT_TOKEN)
    slack.start()
    wonolo = WonoloSandbox(api_key=WONOLO_KEY, secret_key=WONOLO_SECRET, demo_data=False)
    wonolo.start()
    env = bot_env(
        slack, rw, str(tmp_path / "gigdesk.db"),
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, RAPIDWORKERS_API_KEY=RW_KEY,
        WONOLO_API_KEY=WONOLO_KEY, WONOLO_SECRET_KEY=WONOLO_SECRET, WONOLO_BASE_URL=wonolo.url,
    )
    yield rw, slack, env
    wonolo.stop()
    slack.stop()
    rw.stop()


def test_no_secret_in_logs_slack_database_or_cli_output(world, tmp_path, caplog, capsys, monkeypatch):
    rw, slack, env = world
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "slack_sdk", "slack_bolt", "gigdesk", "waitress", "apscheduler", "werkzeug"):
        caplog.set_level(logging.DEBUG, logger=name)
    cid = rw.add_campaign("Secret-free campaign", status="Active", pay="0.25")
    sids = [rw.add_submission(cid, proof_text=f"proof {n}") for n in range(5)]

    bot = RunningBot(env).start()
    poster = SlackPoster(bot.events_url, SIGNING_SECRET, standin=slack)
    try:
        # a Slack error during a sync, then the sync that posts everything
        slack.fail_next("chat.postMessage", error="not_in_channel")
        first = bot.review.sync()
        assert "not_in_channel" in first.summary() and first.posted == 4
        assert bot.review.sync().posted == 1
        rows = {sid: subs.get(bot.db, sid) for sid in sids}

        # approve, with the message update failing on Slack's side
        slack.fail_next("chat.update", error="internal_error", status=500)
        poster.click(ids.REVIEW_APPROVE, str(sids[0]), message_ts=rows[sids[0]].ts)
        wait_for(lambda: subs.get(bot.db, sids[0]).state == "approved")

        # reject through the modal
        poster.click(ids.REVIEW_REJECT, str(sids[1]), message_ts=rows[sids[1]].ts)
        view = wait_for(lambda: slack.views())[-1]["view"]
        reason = {ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: {"type": "plain_text_input", "value": "Cropped"}},
                  ids.REJECT_PRESET_BLOCK: {ids.REJECT_PRESET_INPUT: {"type": "static_select", "selected_option": None}}}
        poster.submit_view(ids.REVIEW_REJECT_MODAL, reason, private_metadata=view["private_metadata"])
        wait_for(lambda: subs.get(bot.db, sids[1]).state == "rejected")

        # block a worker
        poster.click(ids.REVIEW_BLOCK, str(sids[2]), message_ts=rows[sids[2]].ts)
        wait_for(lambda: rows[sids[2]].worker_id in rw.blocked_ids())

        # a RapidWorkers error reaches the user
        rw.fail_next(1, status=500, path_contains="/approve")
        poster.click(ids.REVIEW_APPROVE, str(sids[3]), message_ts=rows[sids[3]].ts)
        wait_for(lambda: any("still open" in e["text"] for e in slack.ephemerals()))

        # a request with a wrong signature, and one refused for an outsider
        assert poster.session.post(bot.events_url, data=b"payload=%7B%7D", headers={"X-Slack-Signature": "v0=00", "X-Slack-Request-Timestamp": "1"}).status_code == 401
        poster.click(ids.REVIEW_APPROVE, str(sids[4]), message_ts=rows[sids[4]].ts, user_id="U_MALLORY")
        wait_for(lambda: slack.ephemerals("U_MALLORY"))
    finally:
        poster.session.close()
        bot.stop()

    # The CLI in this process: a config error, then `gigdesk check` twice (good key, refused key).
    real_setup = gigdesk_cli.setup_logging

    def setup_logging_keeping_capture(secrets, level=logging.INFO, **options):
        real_setup(secrets, logging.DEBUG, **options)
        logging.getLogger().addHandler(caplog.handler)  # setup_logging replaced the root handlers
        logging.getLogger("urllib3").setLevel(logging.DEBUG)

    monkeypatch.setattr(gigdesk_cli, "setup_logging", setup_logging_keeping_capture)
    monkeypatch.chdir(tmp_path)  # no .env here
    for key in list(__import__("os").environ):
        if key.startswith(("SLACK_", "RAPIDWORKERS_", "GIGDESK_", "WONOLO_")):
            monkeypatch.delenv(key)
    for key, value in {**env, "SLACK_BOT_TOKEN": BAD_TOKEN}.items():
        monkeypatch.setenv(key, value)
    assert main(["poll"]) == 2
    config_error = capsys.readouterr()
    assert "SLACK_BOT_TOKEN" in config_error.err

    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    assert main(["check"]) == 0
    checked = capsys.readouterr()
    assert "[x] RapidWorkers balance" in checked.out and "[x] Wonolo authentication" in checked.out, checked.out
    monkeypatch.setenv("RAPIDWORKERS_API_KEY", WRONG_RW_KEY)
    assert main(["check"]) == 1
    refused = capsys.readouterr()
    assert "[ ] RapidWorkers" in refused.out and "API key" in refused.out, refused.out
    monkeypatch.setenv("RAPIDWORKERS_API_KEY", RW_KEY)

    # `gigdesk poll` as a subprocess, with one more submission to post
    rw.add_submission(cid, proof_text="one more")
    poll = BotProcess(env, "poll", workdir=tmp_path)
    assert poll.wait() == 0
    poll_out, poll_err = poll.output()
    assert "posted: 1" in poll_out
    logging.getLogger().removeHandler(caplog.handler)

    # --- where a secret could have gone ---
    found: dict[str, list[str]] = {}
    assert caplog.records, "nothing was logged: the search below would prove nothing"
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "") + repr(getattr(record, "args", ""))
        if leaks(text):
            found.setdefault(f"log {record.name}", []).append(text[:300])
    for label, text in (("config error", config_error.out + config_error.err), ("check", checked.out + checked.err),
                        ("check (refused key)", refused.out + refused.err), ("poll stdout", poll_out), ("poll stderr", poll_err)):
        if leaks(text):
            found.setdefault(label, []).append(text[:300])
    for call in slack.calls:
        if leaks(json.dumps(call.args, default=str)):
            found.setdefault(f"Slack call {call.method}", []).append(json.dumps(call.args, default=str)[:300])
    shown = [m.to_dict() for m in slack.messages("C_REVIEW")] + slack.ephemerals() + slack.responses() + slack.views()
    assert len(slack.ephemerals()) >= 2 and len(slack.messages("C_REVIEW")) >= 6
    for item in shown:
        if leaks(json.dumps(item, default=str)):
            found.setdefault("Slack content", []).append(json.dumps(item, default=str)[:300])
    db_files = sorted(Path(tmp_path).glob("gigdesk.db*"))
    assert Path(tmp_path, "gigdesk.db") in db_files
    for path in db_files:
        if leaks(path.read_bytes()):
            found.setdefault(f"database file {path.name}", []).append("")
    assert found == {}
    # The searches did look at real material.
    assert any("chat.postMessage" in r.getMessage() or "/api/chat" in r.getMessage() for r in caplog.records)
    assert "not_in_channel" in caplog.text or any("not_in_channel" in json.dumps(c.error) for c in slack.calls)


def test_a_secret_that_reaches_logging_is_redacted_on_the_way_out(world, tmp_path, capsys, monkeypatch, restore_logging):
    """The redaction filter is the last line: the CLI's real logging set-up, then
    secrets pushed through it in a message, its arguments and a traceback."""
    rw, slack, env = world
    monkeypatch.chdir(tmp_path)  # no .env here
    for key in list(__import__("os").environ):
        if key.startswith(("SLACK_", "RAPIDWORKERS_", "GIGDESK_", "WONOLO_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["check"]) == 0  # sets up logging exactly as `gigdesk serve` does
    capsys.readouterr()

    log = logging.getLogger("gigdesk.review")
    log.warning("RapidWorkers refused key %s", RW_KEY)
    log.warning(f"Slack said invalid_auth for {BOT_TOKEN} (signing secret {SIGNING_SECRET})")
    try:
        raise RuntimeError(f"Wonolo answered 401 for {WONOLO_KEY} / {WONOLO_SECRET}")
    except RuntimeError:
        log.exception("Wonolo call failed")
    err = capsys.readouterr().err
    assert "RapidWorkers refused key" in err and "Wonolo call failed" in err and "RuntimeError" in err, err
    assert leaks(err) == [], err
    assert err.count("[redacted]") >= 5, err
