"""Settings: every variable read and checked; a bad one is one clear line and exit 2."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest

from bot.config import ConfigError, load_settings, machine_time_zone

BASE = {
    "SLACK_BOT_TOKEN": "xoxb-1-secret",
    "SLACK_SIGNING_SECRET": "signing-secret-value",
    "RAPIDWORKERS_API_KEY": "rw-key-value",
    "GIGDESK_REVIEW_CHANNEL": "C0REVIEW",
}


def settings(**overrides):
    env = {**BASE, **overrides}
    return load_settings({k: v for k, v in env.items() if v is not None}, dotenv_path="")


def test_defaults_follow_the_design():
    s = settings()
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.rapidworkers_base_url == "https://api.rapidworkers.io"
    assert (s.digest_hour, s.digest_minute, s.tz_name) == (9, 0, machine_time_zone())  # the issue: the machine's zone, not UTC
    assert s.digest_channel == s.wonolo_channel == "C0REVIEW"
    assert s.poll_seconds == 60 and s.port == 3000 and s.db_path == "gigdesk.db"
    assert s.allowed_users == frozenset() and not s.wonolo_enabled and not s.socket_mode
    assert s.low_balance == Decimal("10.00")


def test_every_variable_is_read():
    s = settings(
        SLACK_APP_TOKEN="xapp-1-abc",
        SLACK_API_URL="http://127.0.0.1:9/api",
        RAPIDWORKERS_BASE_URL="http://127.0.0.1:8/",
        WONOLO_API_KEY="pk_test_abc",
        WONOLO_SECRET_KEY="sk_test_abc",
        WONOLO_BASE_URL="http://127.0.0.1:7",
        WONOLO_CHANNEL="C0WONOLO",
        GIGDESK_DB="/tmp/x.db",
        GIGDESK_DIGEST_CHANNEL="C0DIGEST",
        GIGDESK_DIGEST_AT="7:30",
        GIGDESK_TZ="Europe/Berlin",
        GIGDESK_POLL_SECONDS="120",
        GIGDESK_ALLOWED_USERS="U01, U02 ,",
        PORT="8080",
    )
    assert s.socket_mode and s.wonolo_enabled
    assert s.slack_api_url == "http://127.0.0.1:9/api/"
    assert s.rapidworkers_base_url == "http://127.0.0.1:8"
    assert s.wonolo_channel == "C0WONOLO" and s.digest_channel == "C0DIGEST"
    assert (s.digest_hour, s.digest_minute) == (7, 30) and s.tz.key == "Europe/Berlin"
    assert s.poll_seconds == 120 and s.port == 8080 and s.db_path == "/tmp/x.db"
    assert s.allowed_users == {"U01", "U02"}


@pytest.mark.parametrize(
    "name, value",
    [
        ("SLACK_BOT_TOKEN", None),
        ("SLACK_BOT_TOKEN", "xoxp-user-token"),
        ("SLACK_SIGNING_SECRET", None),
        ("RAPIDWORKERS_API_KEY", None),
        ("GIGDESK_REVIEW_CHANNEL", None),
        ("GIGDESK_REVIEW_CHANNEL", "#review"),
        ("GIGDESK_DIGEST_AT", "25:00"),
        ("GIGDESK_DIGEST_AT", "9am"),
        ("GIGDESK_TZ", "Mars/Olympus"),
        ("GIGDESK_TZ", "Etc"),  # a folder of the zone database: ZoneInfo raises OSError
        ("GIGDESK_TZ", "x" * 5000),
        ("GIGDESK_POLL_SECONDS", "often"),
        ("GIGDESK_POLL_SECONDS", "0"),
        ("PORT", "70000"),
        ("SLACK_API_URL", "slack.com/api"),
        ("GIGDESK_ALLOWED_USERS", "alice,bob"),
        ("WONOLO_API_KEY", "pk_test_only_one_key"),
        ("GIGDESK_LOW_BALANCE", "lots"),
    ],
)
def test_bad_setting_names_the_variable(name, value):
    with pytest.raises(ConfigError) as caught:
        settings(**{name: value})
    assert name in str(caught.value)


def test_socket_mode_needs_no_signing_secret():
    s = settings(SLACK_SIGNING_SECRET=None, SLACK_APP_TOKEN="xapp-1-abc")
    assert s.socket_mode and s.slack_signing_secret is None


def test_dotenv_file_is_read_and_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("GIGDESK_TZ=Asia/Tokyo\nPORT=4000\n")
    s = load_settings({**BASE, "PORT": "5000"}, dotenv_path=str(env_file))
    assert s.tz_name == "Asia/Tokyo" and s.port == 5000


def test_settings_repr_hides_secrets():
    s = settings()
    assert "xoxb-1-secret" not in repr(s) and "rw-key-value" not in repr(s)


def test_cli_config_error_is_one_line_exit_2_without_traceback(tmp_path):
    env = {"PATH": "/usr/bin:/bin", **BASE, "GIGDESK_DIGEST_AT": "noon"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "poll"], cwd=tmp_path, env={**env, "PYTHONPATH": str(_root())},
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "GIGDESK_DIGEST_AT" in done.stderr and "Traceback" not in done.stderr


def test_cli_missing_setting_exit_2(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(_root())}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "SLACK_BOT_TOKEN" in done.stderr and "Traceback" not in done.stderr


def test_cli_help_for_every_command():
    from bot.cli import parser

    for command in ("serve", "poll", "digest", "check"):
        with pytest.raises(SystemExit) as caught:
            parser().parse_args([command, "--help"])
        assert caught.value.code == 0


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]


def test_cli_passes_options_to_the_simulators(capsys):
    from bot.cli import main

    for command in ("sandbox", "wonolo-sandbox"):
        with pytest.raises(SystemExit) as caught:
            main([command, "--help"])
        assert caught.value.code == 0
        assert "--port" in capsys.readouterr().out
