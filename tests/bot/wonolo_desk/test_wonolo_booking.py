"""/wonolo book and "Book again", end to end over real HTTP: the bot behind its endpoint,
the Slack stand-in and the Wonolo simulator. The modal, its field errors (nothing lost,
nothing spent), the review with the estimated cost, Confirm once (20 concurrent clicks:
one POST), the spending rules (spenders, daily limit, second approval, expiry, same
user), venue-local times across a DST change, multi-day series, a 5xx never retried,
and Book again on completed cards only."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
import time_machine

from bot.slack import ids
from bot.wonolo_desk.booking_form import date_block
from storage import audit as audit_store
from storage import offers as offer_store
from tests.bot.wonolo_desk.test_wonolo_desk import CHANNEL, action_ids, posted_request, request_row, top_messages
from tests.support.harness import wait_for
from tests.support.slack_requests import SlackPoster, block_actions_body, sign

LA = "America/Los_Angeles"
NY = "America/New_York"
_names = itertools.count(1)


def start_bot(make_bot, wonolo, **env):
    bot = make_bot(WONOLO_API_KEY=wonolo.api_key, WONOLO_SECRET_KEY=wonolo.secret_key,
                   WONOLO_BASE_URL=wonolo.url, WONOLO_CHANNEL=CHANNEL, **env)
    bot.hook_url = bot.url + "/wonolo/webhook"
    return bot


class Desk:
    """Drive /wonolo book like Slack does and collect what each user sees."""

    def __init__(self, bot, slack, wonolo):
        self.bot, self.slack, self.wonolo = bot, slack, wonolo
        self.poster = SlackPoster(bot.events_url, standin=slack)

    def open(self, user="U_ALICE") -> dict:
        """`/wonolo book`: the modal as filled in after the open (badges, customers)."""
        before = len(self.slack.views())
        r = self.poster.command("/wonolo", "book", user_id=user, channel_id=CHANNEL, trigger_id=f"trig-{next(_names)}")
        assert r.status_code == 200
        logged = wait_for(lambda: len(self.slack.views()) >= before + 2 and self.slack.views()[before:])
        assert [v["method"] for v in logged[:2]] == ["views.open", "views.update"]
        return logged[1]["view"]

    def submit(self, values: dict, view: dict | None = None, user="U_ALICE") -> requests.Response:
        view = view or {}
        return self.poster.submit_view(ids.WONOLO_BOOK_MODAL, values, private_metadata=view.get("private_metadata", ""),
                                       user_id=user, view=view)

    def review(self, values: dict, user="U_ALICE") -> dict:
        """Submit a good modal; the ephemeral offer it brings in the Wonolo channel."""
        before = len(self.offers(user))
        r = self.submit(values, user=user)
        assert r.status_code == 200 and not r.content.strip(), r.text
        return wait_for(lambda: len(self.offers(user)) > before and self.offers(user)[before])

    def offers(self, user="U_ALICE") -> list[dict]:
        return [e for e in self.slack.ephemerals(user) if e.get("via") == "postEphemeral" and e.get("channel") == CHANNEL]

    def click(self, action_id: str, value: str, user="U_ALICE", channel=CHANNEL) -> dict:
        name = f"click-{next(_names)}"
        url = self.slack.response_url(name, channel=channel, user=user)
        r = self.poster.click(action_id, value, user_id=user, channel_id=channel, message_ts="1700000000.000100",
                              is_ephemeral=True, response_url=url)
        assert r.status_code == 200
        return wait_for(lambda: self.slack.responses(name))[-1]["payload"]

    def posts(self, path: str) -> int:
        return sum(1 for r in self.wonolo.requests if r.method == "POST" and r.path == path)


@pytest.fixture
def desk(make_bot, wonolo, slack):
    driver = Desk(start_bot(make_bot, wonolo), slack, wonolo)
    yield driver
    driver.poster.session.close()


def text_of(payload: dict) -> str:
    return (payload.get("text") or "") + "\n" + json.dumps(payload.get("blocks") or [], ensure_ascii=False)


def confirm_id(offer: dict) -> str:
    for block in offer.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == ids.WONOLO_BOOK_CONFIRM:
                return element["value"]
    raise AssertionError(f"no Confirm button in {offer}")


def _text(v: str) -> dict:
    return {ids.WONOLO_BOOK_INPUT: {"type": "plain_text_input", "value": v}}


def _number(v: str) -> dict:
    return {ids.WONOLO_BOOK_INPUT: {"type": "number_input", "value": v}}


def _date(v: str | None) -> dict:
    return {ids.WONOLO_BOOK_INPUT: {"type": "datepicker", "selected_date": v}}


def _time(v: str | None) -> dict:
    return {ids.WONOLO_BOOK_INPUT: {"type": "timepicker", "selected_time": v}}


def _select(v: str | None) -> dict:
    option = {"value": v, "text": {"type": "plain_text", "text": v}} if v else None
    return {ids.WONOLO_BOOK_INPUT: {"type": "static_select", "selected_option": option}}


def _multi(*vs: str) -> dict:
    return {ids.WONOLO_BOOK_INPUT: {"type": "multi_static_select",
                                    "selected_options": [{"value": v, "text": {"type": "plain_text", "text": v}} for v in vs]}}


def form(*, dates=("2026-12-10",), start="07:00", end="15:00", zone=LA, slots="2", wage="20.00", title="Dock crew",
         badges=(), **more) -> dict:
    values = {
        ids.WONOLO_BOOK_TITLE_BLOCK: _text(title),
        ids.WONOLO_BOOK_DESCRIPTION_BLOCK: _text("Unload trucks <!channel>"),
        ids.WONOLO_BOOK_VENUE_BLOCK: _text("Pier 9"),
        ids.WONOLO_BOOK_ADDRESS_BLOCK: _text("1 Embarcadero"),
        ids.WONOLO_BOOK_CITY_BLOCK: _text("Oakland"),
        ids.WONOLO_BOOK_ZIP_BLOCK: _text("94607"),
        ids.WONOLO_BOOK_ZONE_BLOCK: _select(zone),
        ids.WONOLO_BOOK_START_BLOCK: _time(start),
        ids.WONOLO_BOOK_END_BLOCK: _time(end),
        ids.WONOLO_BOOK_SLOTS_BLOCK: _number(slots),
        ids.WONOLO_BOOK_WAGE_BLOCK: _number(wage),
    }
    for n, day in enumerate(dates):
        values[date_block(n)] = _date(day)
    if badges:
        values[ids.WONOLO_BOOK_BADGES_BLOCK] = _multi(*badges)
    values.update(more)
    return values


def created(wonolo) -> list[dict]:
    return sorted(wonolo.job_requests.values(), key=lambda r: r["start_time"])


def concurrent_clicks(desk: Desk, action_id: str, value: str, n: int, user="U_ALICE") -> list[dict]:
    """n Confirm clicks at once (real concurrent requests); every answer each one got."""
    names = [f"burst-{next(_names)}" for _ in range(n)]
    bodies = []
    for name in names:
        url = desk.slack.response_url(name, channel=CHANNEL, user=user)
        bodies.append(block_actions_body(action_id, value, user_id=user, channel_id=CHANNEL, message_ts="1700000000.000100",
                                         response_url=url, is_ephemeral=True))
    statuses = []

    def post(body):
        statuses.append(requests.post(desk.bot.events_url, data=body, headers=sign(body), timeout=10).status_code)

    threads = [threading.Thread(target=post, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * n
    return [wait_for(lambda name=name: desk.slack.responses(name))[-1]["payload"] for name in names]


# --------------------------------------------------------------------------- the modal and its review


def test_book_modal_checks_fields_then_reviews_the_cost_and_twenty_confirms_book_once(desk, wonolo, slack):
    forklift = wonolo._new_badge("Forklift", "Certified forklift driver")
    wonolo._new_badge("Food handler", "Food handler card")
    view = desk.open()
    assert view["callback_id"] == ids.WONOLO_BOOK_MODAL and view["submit"]["text"] == "Review"
    badge_block = next(b for b in view["blocks"] if b["block_id"] == ids.WONOLO_BOOK_BADGES_BLOCK)
    assert [o["text"]["text"] for o in badge_block["element"]["options"]] == ["Forklift", "Food handler"]

    # Field errors stay in the modal, one per field; nothing is offered or sent.
    bad = form(slots="0", wage="abc", title="", end="07:00", dates=("2026-12-10", "2026-12-14"), zone=None)
    r = desk.submit(bad, view)
    assert r.status_code == 200 and r.json()["response_action"] == "errors"
    assert set(r.json()["errors"]) == {ids.WONOLO_BOOK_SLOTS_BLOCK, ids.WONOLO_BOOK_WAGE_BLOCK, ids.WONOLO_BOOK_TITLE_BLOCK,
                                       ids.WONOLO_BOOK_ZONE_BLOCK, date_block(0)}
    assert "daily or weekly" in r.json()["errors"][date_block(0)]
    past = desk.submit(form(dates=("2020-01-06",)), view).json()
    assert past["errors"] == {date_block(0): "That shift would start in the past."}
    assert desk.offers() == [] and desk.posts("/api_v2/job_requests") == 0

    # Review: slots × hours × wage, in the venue's zone, Confirm and Cancel; still nothing sent.
    offer = desk.review(form(badges=(str(forklift),), slots="3", wage="18.50", start="22:00", end="06:30"))
    shown = text_of(offer)
    assert "$471.75" in shown  # 3 slots × 8.5 h (overnight) × $18.50
    assert "1 day × 3 slots × 8.5 h" in shown  # counted words: never "1 days" or "1 slots"
    assert "Thu 10 Dec 2026, 22:00 PST" in shown and "no balance" in shown and "fee" in shown
    assert "<!channel>" not in shown
    assert desk.posts("/api_v2/job_requests") == 0

    # 20 concurrent Confirm clicks: exactly one POST /job_requests, one request, one card.
    answers = concurrent_clicks(desk, ids.WONOLO_BOOK_CONFIRM, confirm_id(offer), 20)
    booked = [a for a in answers if "Booked" in a["text"]]
    assert len(booked) == 1 and desk.posts("/api_v2/job_requests") == 1
    assert all("already" in a["text"] or "being carried out" in a["text"] for a in answers if a not in booked)
    [jr] = created(wonolo)
    assert (jr["request_name"], jr["slots"], str(jr["wage"]), jr["duration"], jr["timezone"], jr["badge_ids"]) == \
        ("Dock crew", 3, "18.50", 510, LA, [forklift])
    assert jr["start_time"] == datetime(2026, 12, 11, 6, 0, tzinfo=UTC)  # 22:00 PST = 06:00 UTC the next day
    assert f"`{jr['id']}`" in booked[0]["text"]
    channel, ts, _ = request_row(desk.bot, jr["id"])
    assert "Dock crew" in slack.message(CHANNEL, ts).text
    assert len([m for m in top_messages(slack) if "Dock crew" in m.text]) == 1
    # The confirmation links to the new card (chat.getPermalink).
    assert f"/archives/{channel}/p{ts.replace('.', '')}|See its card>" in booked[0]["text"]
    notice = [m for m in slack.messages("C_REVIEW") if "booked on Wonolo" in m.text]
    assert len(notice) == 1 and "<@U_ALICE>" in notice[0].text
    done = offer_store.get_confirmation(desk.bot.db, confirm_id(offer))
    assert done.state == "done" and done.spent_cents == 47175
    # Spent: a click afterwards spends nothing more.
    assert "already confirmed" in desk.click(ids.WONOLO_BOOK_CONFIRM, confirm_id(offer))["text"]
    assert desk.posts("/api_v2/job_requests") == 1


def test_a_booking_that_starts_soon_raises_the_unfilled_alert_once(desk, wonolo, slack):
    start = (datetime.now(UTC) + timedelta(hours=6)).astimezone(ZoneInfo(NY)).replace(minute=0, second=0, microsecond=0)
    offer = desk.review(form(zone=NY, dates=(start.date().isoformat(),), start=f"{start:%H:%M}",
                             end=f"{start + timedelta(hours=4):%H:%M}", title="Night shift"))
    concurrent_clicks(desk, ids.WONOLO_BOOK_CONFIRM, confirm_id(offer), 5)
    [jr] = created(wonolo)
    alerts = wait_for(lambda: [m for m in top_messages(slack) if "Unfilled shift" in m.text])
    assert len(alerts) == 1
    # Later syncs of the new request (what a webhook runs), five at once, and the periodic check
    # change nothing: still one alert, one card.
    threads = [threading.Thread(target=desk.bot.features.wonolo_desk.sync_request, args=(str(jr["id"]),)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    desk.bot.features.wonolo_desk.check_unfilled()
    assert len([m for m in top_messages(slack) if "Unfilled shift" in m.text]) == 1
    assert len([m for m in top_messages(slack) if "Night shift" in m.text and "Unfilled" not in m.text]) == 1


# --------------------------------------------------------------------------- venue-local times, DST, multi-day


def test_venue_local_times_across_the_dst_change_single_and_multi_day(desk, wonolo, slack):
    with time_machine.travel(datetime(2026, 10, 29, 17, 0, tzinfo=UTC), tick=True):
        # One date after the change: 07:00 PST is 15:00 UTC.
        offer = desk.review(form(dates=("2026-11-02",), title="Monday dock"))
        assert "Mon 2 Nov 2026, 07:00 PST" in text_of(offer)
        assert "Booked" in desk.click(ids.WONOLO_BOOK_CONFIRM, confirm_id(offer))["text"]
        [monday] = created(wonolo)
        assert monday["start_time"] == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)

        # Three days across the change: one POST /multi_day_job_requests, the same wall-clock time each day.
        offer = desk.review(form(dates=("2026-11-01", "2026-10-31", "2026-10-30"), title="Weekend dock", slots="1"))
        shown = text_of(offer)
        assert "Fri 30 Oct 2026, 07:00 PDT" in shown and "Sun 1 Nov 2026, 07:00 PST" in shown
        assert "$480.00" in shown  # 3 days × 1 slot × 8 h × $20
        assert "Booked" in desk.click(ids.WONOLO_BOOK_CONFIRM, confirm_id(offer))["text"]
        assert desk.posts("/api_v2/multi_day_job_requests") == 1 and desk.posts("/api_v2/job_requests") == 1
        [series] = wonolo.multi_day.values()
        assert (series["repeat_type"], series["repeat_number"]) == ("daily", 3)
        days = [r for r in created(wonolo) if r["request_name"] == "Weekend dock"]
        assert [r["start_time"].hour for r in days] == [14, 14, 15]  # 07:00 PDT, PDT, PST
        assert {r["multi_day_job_request_id"] for r in days} == {series["id"]}

        # A time the clocks skip does not exist: refused in the modal.
        gap = desk.submit(form(zone=NY, dates=("2027-03-14",), start="02:30", end="06:00")).json()
        assert gap["response_action"] == "errors" and "does not exist" in gap["errors"][ids.WONOLO_BOOK_START_BLOCK]
        # The night the clocks go back an 8-hour overnight shift lasts 9 hours: so it is priced.
        offer = desk.review(form(dates=("2026-10-31",), start="22:00", end="06:00", slots="1", title="Long night"))
        assert "9 h" in text_of(offer) and "$180.00" in text_of(offer)


# --------------------------------------------------------------------------- spending rules


def test_spending_rules_apply_to_bookings(make_bot, wonolo, slack):
    desk = Desk(start_bot(make_bot, wonolo, GIGDESK_DAILY_SPEND_LIMIT="500", GIGDESK_SECOND_APPROVAL_ABOVE="300"),
                slack, wonolo)
    # Not a spender: no modal, a short refusal.
    before = len(slack.views())
    desk.poster.command("/wonolo", "book", user_id="U_MALLORY", channel_id=CHANNEL)
    refusal = wait_for(lambda: [r for r in slack.responses() if r["user"] == "U_MALLORY"])[-1]["payload"]
    assert "not allowed to book" in refusal["text"] and len(slack.views()) == before

    # Under the threshold: only the requester may confirm.
    offer = desk.review(form(slots="1", wage="20"))  # $160
    assert "Daily limit $500.00" in text_of(offer)
    assert "Only <@U_ALICE>" in desk.click(ids.WONOLO_BOOK_CONFIRM, confirm_id(offer), user="U_BOB")["text"]
    assert "Booked" in desk.click(ids.WONOLO_BOOK_CONFIRM, confirm_id(offer))["text"]

    # Another $160 takes the day above it: the requester's Confirm asks in the review channel; a second spender books.
    offer = desk.review(form(slots="1", wage="20", title="Same again"))  # $160, $320 today
    assert "With the $160.00 spent today this comes to $320.00, above $300.00 a day" in text_of(offer)
    asked = desk.click(ids.WONOLO_BOOK_CONFIRM, confirm_id(offer))
    assert "second" in asked["text"] and desk.posts("/api_v2/job_requests") == 1
    [request] = [m for m in slack.messages("C_REVIEW") if "asks to spend" in m.text]
    second_id = next(e["value"] for b in request.blocks for e in b.get("elements", []) if e.get("action_id") == ids.WONOLO_BOOK_CONFIRM)
    assert "second, different" in desk.click(ids.WONOLO_BOOK_CONFIRM, second_id, channel="C_REVIEW")["text"]
    assert "Booked" in desk.click(ids.WONOLO_BOOK_CONFIRM, second_id, user="U_BOB", channel="C_REVIEW")["text"]
    assert desk.posts("/api_v2/job_requests") == 2

    # $320 spent today: the daily limit refuses the next $320 at Review (no Confirm button).
    refused = desk.review(form(slots="2", wage="20", title="One more"))
    assert "daily spending limit" in text_of(refused) and ids.WONOLO_BOOK_CONFIRM not in json.dumps(refused["blocks"])

    # An offer expires after 10 minutes; Cancel spends nothing.
    offer = desk.review(form(slots="1", wage="1", title="Cheap"))
    desk.poster.session.close()  # a kept-alive connection would look idle for 11 minutes to the server
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11), tick=True):
        assert "expired" in desk.click(ids.WONOLO_BOOK_CONFIRM, confirm_id(offer))["text"]
    offer = desk.review(form(slots="1", wage="1", title="Cheaper"))
    assert "Cancelled" in desk.click(ids.WONOLO_BOOK_CANCEL, confirm_id(offer))["text"]
    assert "cancelled" in desk.click(ids.WONOLO_BOOK_CONFIRM, confirm_id(offer))["text"]
    assert desk.posts("/api_v2/job_requests") == 2
    desk.poster.session.close()


def test_a_non_spender_submitting_the_booking_form_gets_no_offer(desk, wonolo, slack):
    """The spender check is at the offer too, not only at the modal and at Confirm: a
    booking form submitted by someone who may not spend (a modal opened before they
    were removed, or a crafted request) gets a refusal, audited, and no offer at all."""
    slack.set_members(CHANNEL, ["U_ALICE", "U_BOB", "U_MALLORY", slack.bot_user_id])  # a member, not a spender
    r = desk.submit(form(), user="U_MALLORY")
    assert r.status_code == 200 and not r.content.strip(), r.text
    refusal = wait_for(lambda: slack.ephemerals("U_MALLORY"))[-1]
    assert "not allowed to book" in text_of(refusal), text_of(refusal)
    assert ids.WONOLO_BOOK_CONFIRM not in text_of(refusal)
    assert desk.bot.db.execute("SELECT count(*) FROM confirmations").fetchone()[0] == 0
    refused = [a for a in audit_store.audit_since(desk.bot.db, "2000") if a.user_id == "U_MALLORY"]
    assert [(a.action, a.outcome, a.detail) for a in refused] == [(ids.WONOLO_BOOK, "refused", "not a spender")]
    assert desk.posts("/api_v2/job_requests") == 0


# --------------------------------------------------------------------------- failures


def test_a_5xx_is_never_retried_and_says_how_to_check_a_refusal_leaves_the_offer_standing(desk, wonolo, slack):
    offer = desk.review(form())
    wonolo.inject_failure(502, method="POST", path_contains="/job_requests")
    answer = desk.click(ids.WONOLO_BOOK_CONFIRM, confirm_id(offer))
    assert "may or may not exist" in answer["text"] and "/wonolo requests" in answer["text"]
    assert desk.posts("/api_v2/job_requests") == 1  # tried once, not again behind the user's back
    again = desk.click(ids.WONOLO_BOOK_CONFIRM, confirm_id(offer))
    assert "already used and failed" in again["text"] and "/wonolo requests" in again["text"]
    assert desk.posts("/api_v2/job_requests") == 1

    # A timeout: the same, though here Wonolo did create it; still one POST, and the user is told to check.
    desk.bot.services.wonolo.timeout = 1.0
    offer = desk.review(form(title="Slow"))
    wonolo.inject_failure(None, method="POST", path_contains="/job_requests", delay=2.5)
    answer = desk.click(ids.WONOLO_BOOK_CONFIRM, confirm_id(offer))
    assert "did not answer in time" in answer["text"] and "/wonolo requests" in answer["text"]
    assert desk.posts("/api_v2/job_requests") == 2
    assert offer_store.get_confirmation(desk.bot.db, confirm_id(offer)).state == "failed"
    wait_for(lambda: len(wonolo.job_requests) == 1)
    wonolo.job_requests.clear()

    # Wonolo refuses (422: a customer it does not know): nothing booked, Confirm may be clicked again.
    offer = desk.review(form(**{ids.WONOLO_BOOK_CUSTOMER_BLOCK: _select("999999")}))
    refused = desk.click(ids.WONOLO_BOOK_CONFIRM, confirm_id(offer))
    assert "customer_id" in refused["text"] and "still stands" in refused["text"]
    assert offer_store.get_confirmation(desk.bot.db, confirm_id(offer)).state == "offered"
    assert wonolo.job_requests == {}


# --------------------------------------------------------------------------- Book again


def test_book_again_on_finished_cards_prefills_the_modal_and_a_stale_card_is_refused(desk, wonolo, slack):
    badge = wonolo._new_badge("Forklift", "Certified")
    done = wonolo.add_job_request(request_name="Warehouse pick", description="Pick and pack", venue="DC 4",
                                  address="9 Depot Rd", city="Reno", zip="89501", timezone=LA, slots=4, wage="21.25",
                                  duration=330, start_time=datetime(2026, 11, 2, 15, 30, tzinfo=UTC), badge_ids=[badge])
    open_ = wonolo.add_job_request(request_name="Still open")
    wonolo.set_job_request_state(done, "completed")
    done_ts = posted_request(wonolo, desk.bot, slack, done)
    open_ts = posted_request(wonolo, desk.bot, slack, open_)
    assert ids.WONOLO_BOOK_AGAIN in action_ids(slack.message(CHANNEL, done_ts))
    assert ids.WONOLO_BOOK_AGAIN not in action_ids(slack.message(CHANNEL, open_ts))

    before = len(slack.views())
    desk.poster.click(ids.WONOLO_BOOK_AGAIN, str(done), message_ts=done_ts, channel_id=CHANNEL, trigger_id="trig-again")
    opened, filled = wait_for(lambda: len(slack.views()) >= before + 2 and slack.views()[before:])[:2]
    assert (opened["method"], filled["method"]) == ("views.open", "views.update")
    view = filled["view"]
    blocks = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert blocks[ids.WONOLO_BOOK_TITLE_BLOCK]["initial_value"] == "Warehouse pick"
    assert blocks[ids.WONOLO_BOOK_ADDRESS_BLOCK]["initial_value"] == "9 Depot Rd"
    assert blocks[ids.WONOLO_BOOK_ZONE_BLOCK]["initial_option"]["value"] == LA
    assert blocks[ids.WONOLO_BOOK_START_BLOCK]["initial_time"] == "07:30"  # 15:30 UTC in PST
    assert blocks[ids.WONOLO_BOOK_END_BLOCK]["initial_time"] == "13:00"
    assert (blocks[ids.WONOLO_BOOK_SLOTS_BLOCK]["initial_value"], blocks[ids.WONOLO_BOOK_WAGE_BLOCK]["initial_value"]) == ("4", "21.25")
    assert [o["value"] for o in blocks[ids.WONOLO_BOOK_BADGES_BLOCK]["initial_options"]] == [str(badge)]
    assert "initial_date" not in blocks[date_block(0)]  # the new date is the user's to pick
    assert f"A copy of job request `{done}`" in json.dumps(view["blocks"])

    # A stale card of a request that is recruiting again is refused.
    wonolo.set_job_request_state(done, "posted")
    posted_request(wonolo, desk.bot, slack, done)
    wait_for(lambda: request_row(desk.bot, done)[2] == "posted")
    views = len(slack.views())
    desk.poster.click(ids.WONOLO_BOOK_AGAIN, str(done), message_ts=done_ts, channel_id=CHANNEL, trigger_id="trig-stale")
    wait_for(lambda: [r for r in slack.responses() if "only a request past recruiting" in (r["payload"].get("text") or "")])
    assert len(slack.views()) == views


def test_book_again_from_a_requests_row_and_from_request_details_copies_a_finished_request(desk, wonolo, slack):
    done = wonolo.add_job_request(request_name="Cancelled crew", venue="DC 9", slots=3, wage="19.00")
    wonolo.set_job_request_state(done, "cancelled")  # never had a card here
    recruiting = wonolo.add_job_request(request_name="Open crew")
    desk.poster.command("/wonolo", "requests", user_id="U_ALICE", channel_id=CHANNEL)
    listing = wait_for(lambda: [e for e in slack.ephemerals("U_ALICE") if "Cancelled crew" in json.dumps(e.get("blocks"))])[-1]
    rows = {b["block_id"]: [e["action_id"] for e in b["elements"]] for b in listing["blocks"] if b["type"] == "actions"
            and b["block_id"].startswith("wonolo-row-")}
    assert rows[f"wonolo-row-{done}"] == [ids.WONOLO_LIST_DETAILS, ids.WONOLO_BOOK_AGAIN]
    assert rows[f"wonolo-row-{recruiting}"] == [ids.WONOLO_LIST_DETAILS, ids.WONOLO_LIST_CANCEL]
    cancel = [e for b in listing["blocks"] if b.get("block_id") == f"wonolo-row-{recruiting}" for e in b["elements"]
              if e["action_id"] == ids.WONOLO_LIST_CANCEL][0]
    assert cancel["confirm"]["confirm"]["text"] == "Cancel request"  # behind a confirm dialog, as on the card

    # Book again on the row (an ephemeral list: no card behind it): the modal, filled in from Wonolo.
    before = len(slack.views())
    desk.poster.click(ids.WONOLO_BOOK_AGAIN, str(done), message_ts="1.0", channel_id=CHANNEL, is_ephemeral=True,
                      trigger_id="trig-row")
    opened, filled = wait_for(lambda: len(slack.views()) >= before + 2 and slack.views()[before:])[:2]
    fields = {b["block_id"]: b["element"] for b in filled["view"]["blocks"] if b["type"] == "input"}
    assert fields[ids.WONOLO_BOOK_TITLE_BLOCK]["initial_value"] == "Cancelled crew"
    assert fields[ids.WONOLO_BOOK_SLOTS_BLOCK]["initial_value"] == "3"
    assert desk.posts("/api_v2/job_requests") == 0  # a form, nothing booked

    # A recruiting request is not copied (a forged Book again on it): the form says why, empty.
    before = len(slack.views())
    desk.poster.click(ids.WONOLO_BOOK_AGAIN, str(recruiting), message_ts="1.0", channel_id=CHANNEL, is_ephemeral=True,
                      trigger_id="trig-forged")
    _, refused = wait_for(lambda: len(slack.views()) >= before + 2 and slack.views()[before:])[:2]
    text = json.dumps(refused["view"]["blocks"])
    assert "only a request past recruiting" in text and "Open crew" not in text

    # /wonolo request <id> of a finished request offers Book again too.
    desk.poster.command("/wonolo", f"request {done}", user_id="U_ALICE", channel_id=CHANNEL)
    detail = wait_for(lambda: [e for e in slack.ephemerals("U_ALICE") if "Cancelled crew" in e["text"]
                               and "wonolo-detail" in json.dumps(e.get("blocks"))])[-1]
    assert [e["action_id"] for b in detail["blocks"] if b["type"] == "actions" for e in b["elements"]] == [ids.WONOLO_BOOK_AGAIN]

    # Details on a row: the request's details, as /wonolo request shows them.
    seen = len(slack.ephemerals("U_ALICE"))
    desk.poster.click(ids.WONOLO_LIST_DETAILS, str(recruiting), message_ts="1.0", channel_id=CHANNEL, is_ephemeral=True)
    shown = wait_for(lambda: len(slack.ephemerals("U_ALICE")) > seen and slack.ephemerals("U_ALICE")[seen])
    assert "Open crew" in shown["text"] and f"Job request `{recruiting}`" in json.dumps(shown["blocks"])


def test_cancel_on_a_requests_row_is_for_allowed_users_and_reaches_wonolo_once(desk, wonolo, slack):
    jr = wonolo.add_job_request(request_name="Row crew")
    desk.poster.click(ids.WONOLO_LIST_CANCEL, str(jr), user_id="U_MALLORY", message_ts="1.0", channel_id=CHANNEL,
                      is_ephemeral=True)
    wait_for(lambda: [e for e in slack.ephemerals("U_MALLORY") if "not allowed" in e["text"]])
    assert wonolo.count("PATCH", f"/job_requests/{jr}") == 0 and wonolo.job_requests[jr]["state"] != "cancelled"
    for _ in range(2):
        desk.poster.click(ids.WONOLO_LIST_CANCEL, str(jr), message_ts="1.0", channel_id=CHANNEL, is_ephemeral=True)
    wait_for(lambda: [e for e in slack.ephemerals("U_ALICE") if "is cancelled on Wonolo" in e["text"]])
    wait_for(lambda: [e for e in slack.ephemerals("U_ALICE") if "already" in e["text"]])
    assert wonolo.count("PATCH", f"/job_requests/{jr}") == 1 and wonolo.job_requests[jr]["state"] == "cancelled"
    _, ts, _ = request_row(desk.bot, jr)  # the request now has its card, showing who cancelled it
    assert "Cancelled from Slack by <@U_ALICE>" in json.dumps(slack.message(CHANNEL, ts).blocks)
