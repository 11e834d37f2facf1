"""Unit tier: the Wonolo desk builders (venue times, cost, which buttons a state allows, pager values)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.apiclient.fields import from_api
from bot.slack import ids
from bot.wonolo.client import JobRequest, estimated_cost, open_slots
from bot.wonolo_desk import blocks as ui
from bot.wonolo_desk import lists
from tests.support.mrkdwn_check import parsed_text

pytestmark = pytest.mark.unit

HOSTILE = "<!channel> <https://evil.example|click> & <@U0BOSS>"
NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
START = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 07:00 in Los Angeles (PST)


def request(state: str = "posted", **more) -> JobRequest:
    data = {"id": 77, "state": state, "request_name": HOSTILE, "venue": HOSTILE, "city": "LA", "start_time": START.isoformat(),
            "duration": 90, "slots": 3, "slots_filled": 1, "wage": "20.00", "timezone": "America/Los_Angeles",
            "category": HOSTILE, "address": HOSTILE}
    data.update(more)
    return from_api(JobRequest, data)


def test_venue_time_in_the_venues_zone_with_relative_start():
    assert ui.venue_time(START, "America/Los_Angeles", now=NOW) == "Mon 30 Nov, 07:00 PST · starts in 24 h"
    assert ui.venue_time(START, None, now=NOW, relative=False) == "Mon 30 Nov, 15:00 UTC"
    assert ui.venue_time("2027-01-05T10:00:00Z", "UTC", now=NOW, relative=False).startswith("Tue 5 Jan 2027")  # another year: named
    assert ui.venue_time(None, "UTC") == "unknown"
    assert ui.venue_time("<!channel>", "UTC") == "&lt;!channel&gt;"


def test_venue_time_never_guesses_a_bad_zone_and_escapes_it():
    text = ui.venue_time(START, "<!channel>/../../etc/passwd", now=NOW, relative=False)
    assert text.startswith(f"<!date^{int(START.timestamp())}^")
    assert "(time zone: &lt;!channel&gt;/../../etc/passwd)" in text and "<!channel>" not in text


@pytest.mark.parametrize(("seconds", "shown"), [(30, "starts now"), (-30, "starts now"), (600, "starts in 10 min"), (-3 * 3600, "started 3 h ago"),
                                               (2 * 3600 + 300, "starts in 2 h 5 min"), (3 * 86400, "starts in 3 days")])
def test_relative_text(seconds, shown):
    assert ui.relative_text(datetime.fromtimestamp(NOW.timestamp() + seconds, UTC), NOW) == shown


def test_when_token_and_fallback_in_the_given_zone():
    token = ui.when(START, "America/Los_Angeles")
    assert token == f"<!date^{int(START.timestamp())}^{{date_short_pretty}} {{time}}|Mon Nov 30 2026, 07:00 PST>"
    assert ui.when("not a time") == "not a time" and ui.when("<b>") == "&lt;b&gt;" and ui.when(None) == "unknown"


def test_estimated_cost_and_open_slots():
    assert estimated_cost(3, 90, Decimal("20")) == Decimal("90.00")
    assert estimated_cost(1, 61, Decimal("10")) == Decimal("10.17")
    assert estimated_cost(None, 90, Decimal("20")) is None and estimated_cost(3, -1, Decimal("20")) is None
    assert open_slots(3, 1) == 2 and open_slots(3, 5) == 0 and open_slots(None, 1) is None and open_slots(2, None) == 2
    assert ui.cost_text(request()) == "~$90.00 (3 × 1 h 30 min × $20.00/hr)"
    assert ui.cost_text(request(wage=None)) == "unknown"


@pytest.mark.parametrize("state", ["draft", "unassigned", "posted", "filled", "in_progress", "completed", "approved", "cancelled", None])
def test_buttons_follow_the_state(state):
    assert ui.can_recruit(state) == (state in ("unassigned", "posted"))
    assert ui.can_cancel_request(state) == (state in ("draft", "unassigned", "posted", "filled"))
    found = ui.request_buttons(request(state or ""), unfilled=2)
    actions = [e["action_id"] for e in found.to_dict()["elements"]] if found is not None else []
    assert (ids.WONOLO_ASSIGN in actions) == ui.can_recruit(state)
    assert (ids.WONOLO_CANCEL_REQUEST in actions) == ui.can_cancel_request(state)
    # Past recruiting (filled, worked, cancelled, expired unfilled): Book again (issue 24).
    assert (ids.WONOLO_BOOK_AGAIN in actions) == (state in ("filled", "in_progress", "completed", "approved", "cancelled", "unfilled"))


def test_no_assign_button_once_every_slot_is_filled():
    actions = [e["action_id"] for e in ui.request_buttons(request(), unfilled=0).to_dict()["elements"]]
    assert ids.WONOLO_RESEND in actions and ids.WONOLO_ASSIGN not in actions


def test_request_message_escapes_wonolo_text():
    text, blocks = ui.request_message(request(), now=NOW)
    seen = parsed_text(blocks, text)
    assert "<!channel>" not in seen and "<https://evil" not in seen and "<@U0BOSS>" not in seen
    assert "*2 unfilled*" in seen and "1/3 filled" in seen
    cancel = next(e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == ids.WONOLO_CANCEL_REQUEST)
    assert cancel["confirm"]["text"]["type"] == "plain_text"


def test_state_badge_alarms_stand_out_and_labels_escape():
    assert ui.state_badge("no_show") == ":rotating_light: *NO SHOW*"
    assert ui.state_label("in_progress") == "In progress" and ui.state_label(None) == "Unknown"
    assert ui.state_label("<!here>") == "&lt;!here&gt;"


def test_pager_value_round_trip_and_forgeries():
    assert lists.page_from_value(lists.page_value("jobs", "filled", 2)) == ("jobs", "filled", 2)
    for forged in ("x", "[]", '{"list": "secrets", "state": null, "page": 1}', '{"list": "jobs", "state": null, "page": 0}',
                   '{"list": "jobs", "state": null, "page": true}', '{"list": "jobs", "state": 5, "page": 1}', "{" + " " * 300 + "}"):
        assert lists.page_from_value(forged) is None
