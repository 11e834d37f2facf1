"""`gigdesk init` against the Slack stand-in and the RapidWorkers simulator: a refused value never costs
the other answers, it finishes while Slack is unreachable, finds @names, labels each channel and asks
for the time zone."""

from __future__ import annotations

import io
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

from dotenv import dotenv_values

from bot.onboarding import run

REPO = Path(__file__).resolve().parents[2]


def init(tmp_path: Path, answers: list[str], **env: str) -> tuple[int, str, dict]:
    """`gigdesk init` in this process: the exit code, what it said, what it wrote."""
    said: list[str] = []
    code = run(str(tmp_path / ".env"), stdin=io.StringIO("\n".join(answers) + "\n"), say=said.append, environ=env)
    written = dotenv_values(tmp_path / ".env") if (tmp_path / ".env").exists() else {}
    return code, "\n".join(said), written


def closed_port_url() -> str:
    """A Slack address where nothing listens: every call is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"


def test_a_refused_value_is_left_out_the_rest_written_and_offered_again_next_time(slack, sandbox, tmp_path):
    env = {"SLACK_API_URL": slack.api_url, "RAPIDWORKERS_BASE_URL": sandbox.url}
    code, said, written = init(tmp_path, [
        "socket", slack.token, "xapp-1-A0-demo",
        "#nowhere", "#nowhere-either", "#still-nowhere",  # the review channel, refused three times
        "", sandbox.api_key, "", "U_ALICE", "Europe/Berlin",
    ], **env)
    assert code == 1 and "GIGDESK_REVIEW_CHANNEL refused 3 times: left out" in said
    assert "Left out, refused each time: GIGDESK_REVIEW_CHANNEL" in said
    assert written == {**env, "SLACK_BOT_TOKEN": slack.token, "SLACK_APP_TOKEN": "xapp-1-A0-demo",
                       "RAPIDWORKERS_API_KEY": sandbox.api_key, "GIGDESK_ALLOWED_USERS": "U_ALICE", "GIGDESK_TZ": "Europe/Berlin"}
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600

    # The next run offers every written answer as its default: Enter keeps each, only the channel is typed.
    code, said, rewritten = init(tmp_path, ["y", "", "", "", "#review", "", "", "", "", ""], **env)
    assert code == 0, said
    assert rewritten == {**written, "GIGDESK_REVIEW_CHANNEL": "C_REVIEW"}
    assert "Enter: keep the one in .env" in said
    for secret in (slack.token, "xapp-1-A0-demo", sandbox.api_key):
        assert secret not in said


def test_init_finishes_while_slack_is_unreachable_and_says_what_it_did_not_check(sandbox, tmp_path):
    env = {"SLACK_API_URL": closed_port_url(), "RAPIDWORKERS_BASE_URL": sandbox.url}
    code, said, written = init(tmp_path, [
        "socket", "xoxb-1-unchecked", "xapp-1-A0-demo",
        "#review", "C_REVIEW",  # a name needs Slack to look it up; an ID is kept unchecked
        "", sandbox.api_key, "",
        "@alice", "U_ALICE",    # likewise for people
        "",
    ], **env)
    assert code == 0, said
    assert "cannot look #review up without Slack" in said and "cannot look @alice up without Slack" in said
    assert "Not checked, as Slack did not answer: SLACK_BOT_TOKEN, GIGDESK_REVIEW_CHANNEL" in said
    assert written["SLACK_BOT_TOKEN"] == "xoxb-1-unchecked" and written["GIGDESK_REVIEW_CHANNEL"] == "C_REVIEW"
    assert written["GIGDESK_ALLOWED_USERS"] == "U_ALICE" and written["RAPIDWORKERS_API_KEY"] == sandbox.api_key


def test_gigdesk_init_finds_people_by_name_labels_each_channel_and_asks_the_time_zone(slack, sandbox, tmp_path):
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "RAPIDWORKERS_", "GIGDESK_", "WONOLO_"))}
    full.update(PYTHONPATH=str(REPO), SLACK_API_URL=slack.api_url, RAPIDWORKERS_BASE_URL=sandbox.url)
    answers = ["socket", slack.token, "xapp-1-A0-demo", "#review", "C_DIGEST", sandbox.api_key, "",
               "@alice, U_BOB", "Mars/Olympus", "America/Chicago"]
    result = subprocess.run([sys.executable, "-m", "bot.cli", "init"], input="\n".join(answers) + "\n", capture_output=True,
                            text=True, cwd=tmp_path, env=full, timeout=60)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "review channel #review (C_REVIEW): the bot can post there" in out
    assert "digest channel #digest (C_DIGEST): the bot can post there" in out
    assert "@alice is U_ALICE" in out and "expected a time zone name" in out
    written = dotenv_values(tmp_path / ".env")
    assert written["GIGDESK_ALLOWED_USERS"] == "U_ALICE,U_BOB" and written["GIGDESK_TZ"] == "America/Chicago"
    assert written["GIGDESK_DIGEST_CHANNEL"] == "C_DIGEST"
