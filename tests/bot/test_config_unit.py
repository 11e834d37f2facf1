"""Unit tier: read_settings on explicit environment dicts (every problem listed, none echoed)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.config import read_settings

pytestmark = pytest.mark.unit

BASE = {
    "SLACK_BOT_TOKEN": "xoxb-1-secret",
    "SLACK_SIGNING_SECRET": "signing-secret-value",
    "RAPIDWORKERS_API_KEY": "rw-key-value",
    "GIGDESK_REVIEW_CHANNEL": "C0REVIEW",
    "GIGDESK_TZ": "UTC",
}


def read(**overrides):
    env = {k: v for k, v in {**BASE, **overrides}.items() if v is not None}
    settings, problems = read_settings(env, dotenv_path="")
    return settings, {p.variable: str(p) for p in problems}


def test_a_good_environment_has_no_problems():
    settings, problems = read()
    assert problems == {}
    assert settings.review_channel == "C0REVIEW" and settings.tz_name == "UTC"


def test_every_problem_is_listed_in_one_pass_and_bad_values_fall_back():
    settings, problems = read(SLACK_BOT_TOKEN="xoxp-user", GIGDESK_REVIEW_CHANNEL="#general", GIGDESK_DIGEST_AT="25:00",
                              GIGDESK_TZ="Mars/Base", GIGDESK_DAILY_SPEND_LIMIT="ten", SLACK_API_URL="ftp://x")
    assert set(problems) >= {"SLACK_BOT_TOKEN", "GIGDESK_REVIEW_CHANNEL", "GIGDESK_DIGEST_AT", "GIGDESK_TZ",
                             "GIGDESK_DAILY_SPEND_LIMIT", "SLACK_API_URL"}
    assert "not a name" in problems["GIGDESK_REVIEW_CHANNEL"]
    assert settings.tz_name == "UTC" and settings.daily_spend_limit is None


def test_missing_required_settings_are_named():
    _, problems = read(SLACK_BOT_TOKEN=None, RAPIDWORKERS_API_KEY=None, GIGDESK_REVIEW_CHANNEL=None)
    assert {"SLACK_BOT_TOKEN", "RAPIDWORKERS_API_KEY", "GIGDESK_REVIEW_CHANNEL"} <= set(problems)


@pytest.mark.parametrize(("raw", "amount"), [("$1,000.50", Decimal("1000.50")), ("0", Decimal("0.00")), ("7.1", Decimal("7.10"))])
def test_dollar_settings_accept_whole_cents(raw, amount):
    settings, problems = read(GIGDESK_DAILY_SPEND_LIMIT=raw, GIGDESK_SECOND_APPROVAL_ABOVE=raw)
    assert problems == {} and settings.daily_spend_limit == amount == settings.second_approval_above


@pytest.mark.parametrize("raw", ["-1", "1.005", "NaN", "Infinity", "1e999x"])
def test_dollar_settings_refuse_the_rest(raw):
    _, problems = read(GIGDESK_DAILY_SPEND_LIMIT=raw)
    assert "GIGDESK_DAILY_SPEND_LIMIT" in problems


def test_spenders_default_to_allowed_users_and_bad_entries_are_not_echoed():
    settings, problems = read(GIGDESK_ALLOWED_USERS="U0AAA111, U0BBB222")
    assert problems == {} and settings.spenders == settings.allowed_users == frozenset({"U0AAA111", "U0BBB222"})
    settings, _ = read(GIGDESK_ALLOWED_USERS="U0AAA111", GIGDESK_SPENDERS="U0BBB222")
    assert settings.spenders == frozenset({"U0BBB222"})
    _, problems = read(GIGDESK_SPENDERS="U0AAA111,xoxb-pasted-secret")
    assert "entry 2" in problems["GIGDESK_SPENDERS"] and "xoxb-pasted-secret" not in problems["GIGDESK_SPENDERS"]


def test_secrets_never_appear_in_problems():
    _, problems = read(SLACK_BOT_TOKEN="not-a-token-SECRET123", WONOLO_API_KEY="sk_SECRET456")
    text = " ".join(problems.values())
    assert problems and "SECRET123" not in text and "SECRET456" not in text


@pytest.mark.parametrize("app_token, host, listens", [
    (None, None, "0.0.0.0"),  # HTTP mode: every interface (Slack calls in)
    ("xapp-1-A-1-x", None, "127.0.0.1"),  # Socket Mode: loopback (only health, readiness, webhooks listen)
    (None, "127.0.0.1", "127.0.0.1"),  # HTTP behind a proxy on this machine
    ("xapp-1-A-1-x", "0.0.0.0", "0.0.0.0"),  # Socket Mode with Wonolo webhooks from outside
    (None, "::1", "::1"),
])
def test_host_defaults_by_mode_and_can_be_set(app_token, host, listens):
    settings, problems = read(SLACK_APP_TOKEN=app_token, HOST=host)
    assert problems == {} and settings.host == listens


@pytest.mark.parametrize("bad", ["http://0.0.0.0", "127.0.0.1:3000", "my host", "-x"])
def test_a_host_that_is_no_address_is_a_problem_naming_host(bad):
    settings, problems = read(HOST=bad)
    assert set(problems) == {"HOST"} and "127.0.0.1" in problems["HOST"] and bad not in problems["HOST"]
    assert settings.host == "0.0.0.0"


def test_a_malformed_spenders_list_makes_nobody_a_spender_not_the_allowed_users():
    settings, problems = read(GIGDESK_ALLOWED_USERS="U0AAA111", GIGDESK_SPENDERS="@alice")
    assert "GIGDESK_SPENDERS" in problems and settings.spenders == frozenset()


def test_a_bad_forensics_switch_is_listed_with_the_other_problems():
    settings, problems = read(GIGDESK_FORENSICS="maybe", PORT="0")
    assert problems == {"GIGDESK_FORENSICS": "GIGDESK_FORENSICS must be on or off",
                        "PORT": "PORT must be a whole number from 1 to 65535"}
    assert settings.forensics is True
