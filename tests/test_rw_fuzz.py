"""Arbitrary text at /rw and /rw job: always a quick 200, a clean reply, and no money moved."""

from __future__ import annotations

import itertools
import json

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.harness import wait_for
from tests.support.slack_requests import SlackPoster

MONEY_PATHS = ("/api/jobs/", "/jobs/add", "bulk_action", "/approve/", "/reject/")
INTERNALS = ("Traceback", "Something went wrong on my side", 'File "', "Exception", "KeyError", "TypeError", "ValueError")

TOKENS = [
    "job", "JOB", "Job ", "new", "help", "balance", "campaigns", "campaign", "approve-all", "blocked", "block",
    "unblock", "digest", "active", "CANCELLED", "instagram-likes", "Instagram-Followers", "facebook-shares",
    "twitter-retweets", "youtube-likes", "9gag-upvotes", "trustpilot-reviews", "tiktok-likes",
    "https://instagram.com/p/x", "<https://www.instagram.com/p/x|instagram.com/p/x>", "<https://fb.com/1>",
    "https://evil-instagram.com/p", "https://instagram.com@evil.io/", "http://", "https://", "<http://x.com/a?b=1&amp;c=2>",
    "https://youtu.be/abc", "https://m.youtube.com/watch?v=1", "ftp://9gag.com", "javascript:alert(1)",
    "0", "5", "6", "50", "100000", "100001", "1e3", "-7", "6.5", "١٢", "99999999999999999999999", "1,000",
    "US,GB", "us, gb", "US,", ",GB", "ZZ", "UK", "all", "en", "pt-BR", "english", "de",
    "<!channel>", "<!here>", "<@U0BOSS>", "&amp;", "&lt;", "`", "*bold*", "\u202e", "\x00", "\t", "\n",
    "00000000-0000-4000-8000-000000000000", "../..", "?status=x", "%2F",
]

words = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=12)), max_size=8)
any_text = st.one_of(st.text(max_size=300), words.map(" ".join), words.map("  ".join))
KINDS = ["instagram-likes", "INSTAGRAM-LIKES", "facebook-likes", "facebook-shares", "instagram-followers", "twitter-likes",
         "twitter-followers", "twitter-retweets", "trustpilot-reviews", "9gag-upvotes", "youtube-likes", "youtube-like"]
LINKS = ["https://instagram.com/p/x", "<https://www.instagram.com/p/x|instagram.com/p/x>", "https://m.facebook.com/1",
         "<https://fb.com/1>", "https://x.com/a/status/1", "https://twitter.com.evil.io/a", "https://www.trustpilot.com/review/a",
         "https://9gag.com/gag/1", "https://youtu.be/a", "https://www.youtube.com/watch?v=1&amp;t=2", "https://evil-youtube.com",
         "https://instagram.com@evil.io/", "http://", "instagram.com/p/x", "<mailto:a@b.c|a@b.c>", "https://[::1]/x"]
QUANTITIES = ["6", "50", "100000", "5", "100001", "0", "-6", "1,000", "6.0", "1e3", "١٢", "9" * 30]
COUNTRIES = ["US", "us,gb", "US, GB", "all", "ZZ", "UK", "US,,GB", ",", "DE;FR"]
LANGUAGES = ["en", "pt-BR", "english", "e", "zh_Hant", "<!here>"]


def _pick(options):
    return st.one_of(st.sampled_from(options), st.text(max_size=15))


job_args = st.tuples(
    _pick(KINDS), _pick(LINKS), _pick(QUANTITIES),
    st.one_of(st.just(""), _pick(COUNTRIES)), st.one_of(st.just(""), _pick(LANGUAGES)),
).map(lambda parts: " ".join(p for p in parts if p))
job_text = st.one_of(job_args, job_args, words.map(" ".join)).map(lambda rest: "job " + rest)
users = st.sampled_from(["U_ALICE", "U_ALICE", "U_MALLORY"])

_names = itertools.count(1)


class Fuzzer:
    def __init__(self, bot, slack, sandbox):
        self.bot, self.slack, self.sandbox = bot, slack, sandbox
        self.poster = SlackPoster(bot.events_url, standin=slack, timeout=10)

    def send(self, text: str, user: str) -> None:
        name = f"fuzz-{next(_names)}"
        url = self.slack.response_url(name, channel="C_REVIEW", user=user)
        views_before = len(self.slack.views())
        r = self.poster.command("/rw", text, user_id=user, channel_id="C_REVIEW", response_url=url)
        assert r.status_code == 200, (text, r.status_code, r.text)
        assert r.elapsed.total_seconds() < 3, text
        assert not r.content.strip() or r.json().get("text", "") == "", (text, r.text)  # a bare ack
        # Either a reply on the response URL or (job / new by an allowed user) a modal.
        wait_for(lambda: self.slack.responses(name) or len(self.slack.views()) > views_before, timeout=10)
        lowered = text.lower()
        for posted in self.slack.responses(name):
            payload = posted["payload"]
            shown = (payload.get("text") or "") + json.dumps(payload.get("blocks") or [], ensure_ascii=False)
            for marker in INTERNALS:
                assert marker not in shown or marker.lower() in lowered, (text, marker, shown)
            assert "Error:" not in shown or "error:" in lowered, (text, shown)
            assert "<!" not in shown, (text, shown)  # nothing from the input can mention @channel
            assert payload.get("response_type") == "ephemeral"
        assert sum(self.sandbox.count(path_contains=p) for p in MONEY_PATHS) == 0, text


@pytest.fixture
def fuzzer(bot, slack, sandbox):
    """One bot and one connection for all examples of a test."""
    f = Fuzzer(bot, slack, sandbox)
    yield f
    f.poster.session.close()


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(text=any_text, user=users)
def test_any_text_is_answered_cleanly(fuzzer, text, user):
    fuzzer.send(text, user)


@FUZZ
@given(text=job_text, user=users)
def test_any_job_arguments_never_spend(fuzzer, text, user):
    fuzzer.send(text, user)
    executing = fuzzer.bot.db.execute("SELECT count(*) FROM confirmations WHERE state != 'offered'").fetchone()[0]
    assert executing == 0
