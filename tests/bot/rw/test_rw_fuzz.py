"""Arbitrary text at /rw and /rw job: always a quick 200 and a clean reply.

Whenever a reply offers to spend, the fuzzer presses Confirm, so validation is
really tested: whatever reaches RapidWorkers must be a valid job (checked
against the documented rules here, not the bot's own validators)."""

from __future__ import annotations

import itertools
import json
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.rapidworkers.client import ISO_COUNTRIES
from bot.slack import ids
from tests.support.harness import wait_for
from tests.support.slack_requests import SlackPoster

MONEY_PATHS = ("/api/jobs/", "/jobs/add", "bulk_action", "/approve/", "/reject/")
# The prefilled job kinds and the sites their links must be on (DESIGN.md, /rw job).
SITES = {
    "facebook-likes": ("facebook.com", "fb.com"), "facebook-shares": ("facebook.com", "fb.com"),
    "instagram-likes": ("instagram.com",), "instagram-followers": ("instagram.com",),
    "twitter-likes": ("twitter.com", "x.com"), "twitter-followers": ("twitter.com", "x.com"),
    "twitter-retweets": ("twitter.com", "x.com"), "trustpilot-reviews": ("trustpilot.com",),
    "9gag-upvotes": ("9gag.com",), "youtube-likes": ("youtube.com", "youtu.be"),
}
MIN_QUANTITY, MAX_QUANTITY = 6, 100_000
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
# Near misses: a real kind with a link on (or just off) its own site, so that
# many examples reach an offer and a loosened check shows up as a spend.
NEAR_LINKS = ["https://{d}/p/x", "https://www.{d}/p/x", "http://m.{d}/1", "<https://{d}/p/x|{d}/p/x>",
              "https://evil-{d}/p", "https://{d}.evil.io/p", "https://{d}@evil.io/", "https://{d}evil.io/p", "{d}/p/x"]
near_args = st.sampled_from(sorted(SITES)).flatmap(lambda kind: st.tuples(
    st.just(kind),
    st.tuples(st.sampled_from(NEAR_LINKS), st.sampled_from(SITES[kind])).map(lambda t: t[0].format(d=t[1])),
    st.sampled_from(QUANTITIES),
    st.one_of(st.just(""), st.sampled_from(COUNTRIES)),
    st.one_of(st.just(""), st.sampled_from(LANGUAGES)),
)).map(lambda parts: " ".join(p for p in parts if p))
job_text = st.one_of(job_args, near_args, near_args, words.map(" ".join)).map(lambda rest: "job " + rest)
users = st.sampled_from(["U_ALICE", "U_ALICE", "U_MALLORY"])

_names = itertools.count(1)


class Fuzzer:
    def __init__(self, bot, slack, sandbox):
        self.bot, self.slack, self.sandbox = bot, slack, sandbox
        self.poster = SlackPoster(bot.events_url, standin=slack, timeout=10)
        self.confirmed = 0
        self.checked = 0
        # Enough money that every valid request gets an offer (and a Confirm to press).
        sandbox.balance = Decimal("100000000")

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
            confirm = _confirm_value(payload)
            if confirm is not None:
                assert user == "U_ALICE", (text, user)  # only an allowed user is offered a spend
                self.confirm(confirm, user, text)
        self.check_spending(text)

    def confirm(self, confirmation_id: str, user: str, text: str) -> None:
        """Press Confirm on an offer, as its user would."""
        name = f"fuzz-confirm-{next(_names)}"
        url = self.slack.response_url(name, channel="C_REVIEW", user=user)
        r = self.poster.click(ids.SPEND_CONFIRM, confirmation_id, user_id=user, channel_id="C_REVIEW",
                              message_ts="1700000000.000100", is_ephemeral=True, response_url=url)
        assert r.status_code == 200, (text, r.status_code)
        reply = wait_for(lambda: self.slack.responses(name), timeout=10)[-1]["payload"]
        shown = (reply.get("text") or "") + json.dumps(reply.get("blocks") or [], ensure_ascii=False)
        for marker in INTERNALS:
            assert marker not in shown, (text, marker, shown)
        self.confirmed += 1

    def check_spending(self, text: str) -> None:
        """Only confirmed offers spent, and each reached RapidWorkers as a valid job."""
        spends = [r for r in self.sandbox.requests if any(p in r.path for p in MONEY_PATHS)]
        assert len(spends) <= self.confirmed, (text, [r.path for r in spends])
        new, self.checked = spends[self.checked:], len(spends)  # this example's own spends
        for request in new:
            assert request.path.startswith("/api/jobs/"), (text, request.path)  # /rw job never makes anything else
            problem = invalid_job(request.path.rstrip("/").rsplit("/", 1)[-1], request.json)
            assert problem is None, (text, problem, request.json)


def _confirm_value(payload: dict) -> str | None:
    actions = [b for b in payload.get("blocks") or [] if b.get("type") == "actions"]
    values = [e.get("value") for b in actions for e in b.get("elements") or [] if e.get("action_id") == ids.SPEND_CONFIRM]
    return values[0] if values else None


def invalid_job(kind: str, body) -> str | None:
    """Why a prefilled job request breaks the documented rules (None when it does not)."""
    if kind not in SITES:
        return f"unknown kind {kind!r}"
    if not isinstance(body, dict):
        return "no JSON body"
    link = body.get("link")
    try:
        parts = urlsplit(link)
        host = (parts.hostname or "").rstrip(".").lower()
    except (TypeError, ValueError):
        return f"unparsable link {link!r}"
    if parts.scheme not in ("http", "https") or parts.username or parts.password or any(c.isspace() or c in "<>|" for c in link):
        return f"bad link {link!r}"
    if not any(host == site or host.endswith("." + site) for site in SITES[kind]):
        return f"link {link!r} is not on {SITES[kind]}"
    quantity = body.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not MIN_QUANTITY <= quantity <= MAX_QUANTITY:
        return f"quantity {quantity!r} outside {MIN_QUANTITY}..{MAX_QUANTITY}"
    countries = body.get("countries")
    if countries is not None and (not isinstance(countries, list)
                                  or not all(isinstance(c, str) and re.fullmatch(r"[A-Z]{2}", c) and c in ISO_COUNTRIES for c in countries)):
        return f"countries {countries!r}"
    language = body.get("language")
    if language is not None and not (isinstance(language, str) and re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?", language)):
        return f"language {language!r}"
    return None


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
def test_invalid_job_arguments_never_reach_an_offer(fuzzer, text, user):
    fuzzer.send(text, user)
    taken = fuzzer.bot.db.execute("SELECT count(*) FROM confirmations WHERE state != 'offered'").fetchone()[0]
    assert taken == fuzzer.confirmed  # only the offers the fuzzer confirmed were used


def test_the_fuzzer_reaches_offers_and_confirms_them(fuzzer):
    """The property above is only worth something if valid input does get offered and spent."""
    for text in ("job instagram-likes https://www.instagram.com/p/abc 100000 US,GB en", "job 9gag-upvotes https://9gag.com/gag/1 6"):
        fuzzer.send(text, "U_ALICE")
    assert fuzzer.confirmed == 2 and fuzzer.sandbox.count(path_contains="/api/jobs/") == 2
