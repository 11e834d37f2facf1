"""Unit tier: /rw argument parsing, campaign finding and fair use (pure code, an injected clock)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from bot.apiclient.fields import from_api
from bot.rapidworkers.client import MIN_PREFILLED_QUANTITY, PREFILLED_KINDS, Campaign
from bot.rw import finder
from bot.rw.fair_use import AnswerCache, SingleFlight, TryLater
from bot.rw.parsing import (
    MAX_QUANTITY,
    BadInput,
    channel_from_metadata,
    check_countries,
    check_kind,
    check_link,
    check_quantity,
    opens_modal,
    parse_job_args,
    split_command,
)

pytestmark = pytest.mark.unit


# --- split_command / opens_modal ---------------------------------------------------------


def test_split_command_lowercases_aliases_and_unwraps_slack_links():
    assert split_command("") == ("help", [])
    assert split_command("  ") == ("help", [])
    assert split_command("BALANCE") == ("balance", [])
    assert split_command("approve_all 42") == ("approve-all", ["42"])
    assert split_command("job instagram <https://instagram.com/p/1?a=1&amp;b=2|instagram.com/p/1> 10") == (
        "job", ["instagram", "https://instagram.com/p/1?a=1&b=2", "10"])


def test_opens_modal_only_for_form_commands_without_arguments():
    assert opens_modal("job") and opens_modal("new") and opens_modal("approve-all") and opens_modal("campaign")
    assert opens_modal("job instagram-likes")  # only a kind: the form with that kind chosen
    assert not opens_modal("job instagram-likes https://instagram.com/p/x 50") and not opens_modal("balance")


# --- check_kind / check_link / check_quantity / check_countries ------------------------


def test_check_kind_accepts_known_kinds_and_suggests_for_typos():
    kind = PREFILLED_KINDS[0]
    assert check_kind(f"  {kind.upper()} ") == kind
    with pytest.raises(BadInput) as e:
        check_kind(kind[:-1] + "x")
    assert f"`{kind}`" in str(e.value) and e.value.usage == "job"


def test_check_kind_escapes_what_it_echoes():
    with pytest.raises(BadInput) as e:
        check_kind("<!channel>")
    assert "<!channel>" not in str(e.value) and "&lt;!channel&gt;" in str(e.value)


def _kind_on(site: str) -> str:
    return next(k for k in PREFILLED_KINDS if k.split("-", 1)[0] == site)


@pytest.mark.parametrize("link", ["https://instagram.com/p/1", "https://www.instagram.com/p/1", "http://m.instagram.com/x"])
def test_check_link_accepts_the_kinds_own_site(link):
    assert check_link(_kind_on("instagram"), link).startswith("http")


@pytest.mark.parametrize("link", ["https://evil-instagram.com/p", "https://instagram.com.evil.example/p", "https://facebook.com/x",
                                  "ftp://instagram.com/x", "instagram.com/p", "", "https://instagram.com/<!channel>",
                                  "https://instagram.com/a|b"])
def test_check_link_refuses_other_sites_and_odd_urls(link):
    with pytest.raises(BadInput) as e:
        check_link(_kind_on("instagram"), link)
    assert "<" not in str(e.value).replace("&lt;", "")


@pytest.mark.parametrize(("raw", "n"), [(str(MIN_PREFILLED_QUANTITY), MIN_PREFILLED_QUANTITY), ("1,000", 1000), ("2_500", 2500), (f" {MAX_QUANTITY} ", MAX_QUANTITY)])
def test_check_quantity_accepts_whole_numbers_in_range(raw, n):
    assert check_quantity(raw) == n


@pytest.mark.parametrize("raw", [None, "", str(MIN_PREFILLED_QUANTITY - 1), str(MAX_QUANTITY + 1), "-7", "1e3", "10.5", "ten", "9" * 13])
def test_check_quantity_refuses_the_rest(raw):
    with pytest.raises(BadInput):
        check_quantity(raw)


def test_check_countries():
    assert check_countries(None) == [] and check_countries("all") == [] and check_countries(" ") == []
    assert check_countries("us, gb,US") == ["US", "GB"]
    with pytest.raises(BadInput) as e:
        check_countries("<!here>")
    assert "<!here>" not in str(e.value)


def test_parse_job_args_full_and_partial():
    kind = _kind_on("instagram")
    params = parse_job_args([kind, "https://instagram.com/p/1", "10", "us", ",", "gb", "pt-BR"])
    assert params == {"kind": kind, "link": "https://instagram.com/p/1", "quantity": 10, "countries": ["US", "GB"], "language": "pt-BR"}
    assert parse_job_args([kind, "https://instagram.com/p/1", "10"])["countries"] == []
    assert parse_job_args([kind, "https://instagram.com/p/1", "10", "all", "en"])["language"] == "en"


def test_parse_job_args_explains_a_language_given_without_countries():
    kind = _kind_on("instagram")
    with pytest.raises(BadInput) as e:
        parse_job_args([kind, "https://instagram.com/p/1", "10", "en"])
    assert "`all`" in str(e.value)
    with pytest.raises(BadInput):
        parse_job_args([kind, "https://instagram.com/p/1", "10", "US", "en", "extra"])


def test_channel_from_metadata_falls_back_on_anything_odd():
    assert channel_from_metadata('{"channel": "C0ABC123"}', "C0REVIEW") == "C0ABC123"
    for forged in (None, "", "not json", "[]", '{"channel": "<!channel>"}', '{"channel": 5}'):
        assert channel_from_metadata(forged, "C0REVIEW") == "C0REVIEW"


# --- finder ---------------------------------------------------------------------------


def _campaign(cid: str, title: str, pending: int = 0, day: int = 1) -> Campaign:
    return from_api(Campaign, {"jobId": cid, "jobTitle": title, "pendingSubmissions": pending,
                               "jobCreatedAt": datetime(2026, 1, day, tzinfo=UTC).isoformat()})


CAMPAIGNS = [_campaign("A1", "Instagram likes", 2, 1), _campaign("B2", "Instagram follows", 5, 2),
             _campaign("C3", "Trustpilot reviews", 0, 3), _campaign("D4", "Insta", 1, 4)]


def test_ordered_by_pending_or_newest():
    assert [c.id for c in finder.ordered(CAMPAIGNS, "most-pending")] == ["B2", "A1", "D4", "C3"]
    assert [c.id for c in finder.ordered(CAMPAIGNS, "newest")] == ["D4", "C3", "B2", "A1"]


def test_find_by_id_prefix_exact_title_candidates_and_near():
    assert finder.find("c3", CAMPAIGNS).campaign.id == "C3"
    assert finder.find("  TRUST ", CAMPAIGNS).campaign.id == "C3"
    assert finder.find("insta", CAMPAIGNS).campaign.id == "D4"  # the exact title wins among three prefixes
    found = finder.find("instagram", CAMPAIGNS)
    assert found.campaign is None and {c.id for c in found.candidates} == {"A1", "B2"}
    assert finder.find("trustpilo reviews", CAMPAIGNS).near == "Trustpilot reviews"
    assert finder.find("", CAMPAIGNS) == finder.Found()


def test_suggestions_rank_prefix_then_contains_then_id():
    campaigns = CAMPAIGNS + [_campaign("likes-9", "Other", 9, 5)]
    assert [c.id for c in finder.suggestions("likes", campaigns)] == ["A1", "likes-9"]
    assert [c.id for c in finder.suggestions("insta", campaigns, limit=2)] == ["B2", "A1"]
    assert finder.suggestions(" ", campaigns) == []


def test_page_value_round_trips_and_refuses_forgeries():
    assert finder.parse_page_value(finder.page_value(3, "newest", "active")) == (3, "newest", "active")
    for forged in (None, 3, "0|newest|all", f"{finder.MAX_PAGE + 1}|newest|all", "1|newest|all|x", "1|random|all", "1|newest|<!channel>"):
        assert finder.parse_page_value(forged) is None


# --- fair use -------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_answer_cache_keeps_answers_for_its_seconds_and_counts_only_misses():
    clock = Clock()
    cache = AnswerCache(seconds=30, clock=clock)
    computed, taken = [], []
    compute = lambda: computed.append(1) or len(computed)  # noqa: E731
    assert cache.get("k", compute, before_compute=lambda: taken.append(1)) == 1
    clock.now += 29
    assert cache.get("k", compute, before_compute=lambda: taken.append(1)) == 1
    assert cache.peek("k") == 1 and cache.peek("other") is None
    clock.now += 1
    assert cache.peek("k") is None
    assert cache.get("k", compute, before_compute=lambda: taken.append(1)) == 2
    assert len(taken) == 2


def test_answer_cache_refused_allowance_computes_nothing():
    cache = AnswerCache(seconds=30, clock=Clock())

    def refuse():
        raise TryLater(5)

    with pytest.raises(TryLater):
        cache.get("k", lambda: pytest.fail("computed"), before_compute=refuse)
    assert cache.peek("k") is None


def test_single_flight_shares_one_run_and_its_error():
    flight = SingleFlight()
    started, release = threading.Event(), threading.Event()
    runs, results = [], []

    def slow():
        runs.append(1)
        started.set()
        release.wait(5)
        return "done"

    leader = threading.Thread(target=lambda: results.append(flight.run("k", slow)))
    leader.start()
    assert started.wait(5)
    follower = threading.Thread(target=lambda: results.append(flight.run("k", slow)))
    follower.start()
    follower.join(0.05)  # the follower waits for the leader's result
    release.set()
    leader.join(5)
    follower.join(5)
    assert results == ["done", "done"] and len(runs) == 1

    with pytest.raises(ValueError):
        flight.run("k", lambda: (_ for _ in ()).throw(ValueError("x")))
    assert flight.run("k", lambda: "again") == "again"  # a finished flight is forgotten


def test_answer_cache_latest_keeps_an_old_answer_for_the_type_ahead_and_says_it_is_stale():
    clock = Clock()
    cache = AnswerCache(seconds=30, clock=clock)
    assert cache.latest("k") == (None, False)
    cache.get("k", lambda: "list")
    assert cache.latest("k") == ("list", True)
    clock.now += 30
    assert cache.latest("k") == ("list", False) and cache.peek("k") is None


def test_a_campaign_value_is_the_id_when_short_and_plain_else_a_22_character_key():
    from bot.rw.finder import KEY_VALUE, campaign_value

    uuid = "3f6c1b9e-8a3e-4d2a-9c1e-7b5d2f0a6e11"
    assert campaign_value(uuid) == uuid and campaign_value("a" * 64) == "a" * 64
    for long_id in ("a" * 65, "x" * 500, "odd id/with?chars"):
        key = campaign_value(long_id)
        assert KEY_VALUE.fullmatch(key) and len(key) == 23 and key == campaign_value(long_id)
    assert campaign_value("a" * 65) != campaign_value("a" * 66)
