"""Unit tier: mrkdwn escaping and cutting, modal state reading, "did you mean" (pure code)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.slack import mrkdwn
from bot.slack.view_state import state_choice, state_field, state_text
from bot.text import closest, suggest

pytestmark = pytest.mark.unit

HOSTILE = ["<!channel>", "<https://evil.example|x>", "a & b", "<@U123>", "<!subteam^S1>"]


@pytest.mark.parametrize("text", HOSTILE)
def test_escape_leaves_no_control_character(text):
    out = mrkdwn.escape(text)
    assert "<" not in out and ">" not in out
    assert out.replace("&amp;", "").count("&") == out.count("&lt;") + out.count("&gt;")
    # escaping is reversible: nothing is lost, only neutralised
    assert out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text


def test_escape_of_none_is_empty_and_of_numbers_is_text():
    assert mrkdwn.escape(None) == ""
    assert mrkdwn.escape(42) == "42"


def test_link_keeps_a_good_url_and_escapes_the_label():
    out = mrkdwn.link("https://example.com/a?b=1&c=2", "<!channel> & co")
    url, label = out[1:-1].split("|", 1)
    assert url == "https://example.com/a?b=1&amp;c=2"
    assert label == mrkdwn.escape("<!channel> & co") and "<!channel>" not in out


@pytest.mark.parametrize("url", ["https://ok.example/x|<!channel>", "https://ok.example/a b>c", "https://ok.example/\x07"])
def test_link_url_cannot_split_into_a_disguised_label(url):
    out = mrkdwn.link(url, "proof")
    assert out.startswith("<https://ok.example/") and out.endswith("|proof>")
    assert out.count("|") == 1 and out.count("<") == 1 and out.count(">") == 1


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://host/x", "https://", "", None, "http://[::1"])
def test_link_refuses_anything_but_http_with_a_host(url):
    assert mrkdwn.link(url, "<b>") == "&lt;b&gt;"


def test_truncate_cuts_to_the_limit_with_an_ellipsis():
    assert mrkdwn.truncate("abcdef", 6) == "abcdef"
    out = mrkdwn.truncate("abcdefgh", 5)
    assert out == "abcd" + mrkdwn.ELLIPSIS and len(out) == 5


def test_truncate_never_cuts_inside_an_entity():
    text = mrkdwn.escape("ab<cd")  # ab&lt;cd
    for limit in range(3, len(text)):
        out = mrkdwn.truncate(text, limit)
        assert len(out) <= limit
        body = out.removesuffix(mrkdwn.ELLIPSIS)
        amp = body.rfind("&")
        assert amp == -1 or ";" in body[amp:], (limit, out)


def test_plain_folds_whitespace_and_never_is_empty():
    assert mrkdwn.plain("  a \n\t b  ", 10) == "a b"
    assert mrkdwn.plain("", 10) == "-" and mrkdwn.plain(None, 10) == "-"
    assert len(mrkdwn.plain("x" * 50, 10)) == 10


@pytest.mark.parametrize(("amount", "shown"), [(Decimal("1234.5"), "$1,234.50"), ("0", "$0.00"), ("-3.456", "-$3.46"), (None, "-")])
def test_money(amount, shown):
    assert mrkdwn.money(amount) == shown


def test_date_token_escapes_its_fallback():
    out = mrkdwn.date_token(1700000000.9, "<!channel>")
    assert out.startswith("<!date^1700000000^") and "<!channel>" not in out
    assert out.endswith("|&lt;!channel&gt;>")


def test_when_reads_iso_times_and_escapes_what_it_cannot():
    epoch = mrkdwn.iso_epoch("2026-01-02T03:04:05Z")
    assert epoch == 1767323045.0
    assert mrkdwn.when("2026-01-02T03:04:05Z").startswith(f"<!date^{int(epoch)}^")
    assert mrkdwn.when("<!here>") == "&lt;!here&gt;"
    assert mrkdwn.when(None) == "unknown time"


def test_progress_bar():
    assert mrkdwn.progress_bar(3, 10) == "▓▓▓░░░░░░░"
    assert mrkdwn.progress_bar(20, 10) == "▓" * 10
    assert mrkdwn.progress_bar(1, 0) == "░" * 10


def test_state_reads_any_payload_shape():
    values = {"b": {"a": {"value": "  hi  ", "selected_option": {"value": "x"}}}, "odd": {"a": "str"}}
    assert state_text(values, "b", "a") == "hi"
    assert state_choice(values, "b", "a") == "x"
    for bad in (None, [], "x", {"b": None}, {"b": {"a": None}}, values):
        assert state_field(bad, "odd", "a") == {}
        assert state_text(bad, "missing", "a") == ""
        assert state_choice(bad, "odd", "a") is None
    assert state_choice({"b": {"a": {"selected_option": {"value": 3}}}}, "b", "a") is None


def test_closest_and_suggest():
    choices = ["balance", "campaigns", "approve-all"]
    assert closest("BALANCE", choices) == "balance"
    assert closest("campains", choices) == "campaigns"
    assert closest("zzzz", choices) is None
    assert suggest("campains", choices) == " Did you mean `campaigns`?"
    assert suggest("zzzz", choices) == ""
