"""Wonolo desk v2, end to end over real HTTP against the Wonolo simulator: venue-local
shift times (across a DST change, from a clock the test moves), actions that follow
the state, the cost estimate, the unfilled-shift alert (once, across restarts),
Assign worker, /wonolo invite, "did you mean", paging, and the digest / App Home."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from bot.app import Background
from bot.slack import ids
from storage import audit as audit_store
from tests.bot.wonolo_desk.test_wonolo_desk import (
    CHANNEL,
    HOSTILE,
    action_ids,
    blocks_text,
    click,
    command,
    concurrent,
    posted_request,
    request_row,
    send,
    top_messages,
    wait_ephemeral,
)
from tests.support.harness import wait_for
from tests.support.mrkdwn_check import parsed_text
from tests.support.slack_requests import SlackPoster, view_submission_body

LA = "America/Los_Angeles"


def start_bot(make_bot, wonolo, **env):
    bot = make_bot(WONOLO_API_KEY=wonolo.api_key, WONOLO_SECRET_KEY=wonolo.secret_key,
                   WONOLO_BASE_URL=wonolo.url, WONOLO_CHANNEL=CHANNEL, **env)
    bot.features.wonolo_desk.retry_delays = (0.1, 0.2, 0.3)
    bot.hook_url = bot.url + "/wonolo/webhook"
    return bot


@pytest.fixture
def wbot(make_bot, wonolo):
    return start_bot(make_bot, wonolo)


@pytest.fixture
def wposter(wbot, slack):
    client = SlackPoster(wbot.events_url, standin=slack)
    yield client
    client.session.close()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def card_of(slack, bot, jr):
    _, ts, _ = request_row(bot, jr)
    return slack.message(CHANNEL, ts)


def alerts_in(slack) -> list:
    """Top-level Wonolo channel messages that are unfilled-shift alerts (not cards)."""
    return [m for m in top_messages(slack) if "Unfilled shift" in m.text]


# --------------------------------------------------------------------------- venue-local times


def test_shift_times_are_the_venues_across_a_dst_change_with_a_moving_relative_time(make_bot, wonolo, slack):
    wbot = start_bot(make_bot, wonolo, WONOLO_UNFILLED_ALERT_HOURS="0")
    poster = SlackPoster(wbot.events_url, standin=slack)
    # 07:00 in Oakland on both sides of the first Sunday of November 2026 (1 Nov).
    before = wonolo.add_job_request(request_name="Saturday dock", city="Oakland", timezone=LA,
                                    start_time=utc(2026, 10, 31, 14, 0))   # 07:00 PDT (UTC-7)
    after = wonolo.add_job_request(request_name="Monday dock", city="Oakland", timezone=LA,
                                   start_time=utc(2026, 11, 2, 15, 0))     # 07:00 PST (UTC-8)
    east = wonolo.add_job_request(request_name="Brooklyn crew", city="Brooklyn", timezone="America/New_York",
                                  start_time=utc(2026, 11, 2, 15, 0))     # 10:00 EST
    with time_machine.travel(utc(2026, 10, 30, 17, 0), tick=True):
        for jr in (before, after, east):
            send(wonolo, wbot, "job_request", jr)
        saturday, monday, brooklyn = (blocks_text(card_of(slack, wbot, jr)) for jr in (before, after, east))
        assert "Sat 31 Oct, 07:00 PDT · starts in 21 h" in saturday
        assert "Mon 2 Nov, 07:00 PST · starts in 3 days" in monday
        assert "Mon 2 Nov, 10:00 EST" in brooklyn  # the same instant, in its own venue's zone
        for text in (saturday, monday, brooklyn):
            assert "<!date^" not in text  # not each reader's own zone
        text, _ = command(poster, slack, f"request {before}")
        assert "Sat 31 Oct, 07:00 PDT · starts in 21 h" in text
    # The relative part follows the clock; the wall time stays the venue's.
    with time_machine.travel(utc(2026, 10, 31, 12, 0), tick=True):
        text, _ = command(poster, slack, f"request {before}")
        assert "Sat 31 Oct, 07:00 PDT · starts in 2 h" in text
        text, _ = command(poster, slack, "requests")
        assert "Sat 31 Oct, 07:00 PDT · starts in 2 h" in text and "Mon 2 Nov, 07:00 PST · starts in 51 h" not in text
        assert "Mon 2 Nov, 07:00 PST · starts in 2 days" in text
    with time_machine.travel(utc(2026, 10, 31, 17, 30), tick=True):
        text, _ = command(poster, slack, f"request {before}")
        assert "Sat 31 Oct, 07:00 PDT · started 3 h 30 min ago" in text
    poster.session.close()


def test_the_clock_alone_never_re_sends_a_card(wbot, wonolo, slack):
    jr = wonolo.add_job_request(request_name="Dock", start_time=utc(2026, 12, 3, 15, 0))
    with time_machine.travel(utc(2026, 12, 1, 10, 0), tick=True):
        send(wonolo, wbot, "job_request", jr)
        _, ts, _ = request_row(wbot, jr)
        assert "starts in 2 days" in blocks_text(slack.message(CHANNEL, ts))
    with time_machine.travel(utc(2026, 12, 2, 20, 0), tick=True):
        listed = wonolo.count("GET", "/api_v2/jobs")
        wonolo.set_job_request_state(jr, "posted")  # a new delivery (new updated_at), nothing new to show
        send(wonolo, wbot, "job_request", jr)
        wait_for(lambda: wonolo.count("GET", "/api_v2/jobs") > listed)  # fetched; the card is rendered under its lock
        wonolo.add_job(jr, wonolo.add_user(first_name="Maria", last_name="Lopez"), "filled")
        send(wonolo, wbot, "job_request", jr)  # something new: the update carries a fresh relative time
        card = wait_for(lambda: (m := slack.message(CHANNEL, ts)) and "Maria Lopez" in blocks_text(m) and m)
        assert card.updates == 1 and "starts in 19 h" in blocks_text(card)


# --------------------------------------------------------------------------- actions follow the state


@pytest.mark.parametrize("state, expected", [
    ("posted", [ids.WONOLO_RESEND, ids.WONOLO_RERANK, ids.WONOLO_ASSIGN, ids.WONOLO_CANCEL_REQUEST]),
    ("unassigned", [ids.WONOLO_RESEND, ids.WONOLO_RERANK, ids.WONOLO_ASSIGN, ids.WONOLO_CANCEL_REQUEST]),
    ("draft", [ids.WONOLO_CANCEL_REQUEST]),
    # Past recruiting, a request can be booked again (tests/bot/wonolo_desk/test_wonolo_booking.py).
    ("filled", [ids.WONOLO_CANCEL_REQUEST, ids.WONOLO_BOOK_AGAIN]),
    ("in_progress", [ids.WONOLO_BOOK_AGAIN]),
    ("completed", [ids.WONOLO_BOOK_AGAIN]),
    ("approved", [ids.WONOLO_BOOK_AGAIN]),
    ("cancelled", [ids.WONOLO_BOOK_AGAIN]),
    ("unfilled", [ids.WONOLO_BOOK_AGAIN]),
])
def test_the_card_offers_only_the_actions_its_state_allows(wbot, wonolo, slack, state, expected):
    jr = wonolo.add_job_request(request_name="Crew", slots=2)
    wonolo.set_job_request_state(jr, state)
    send(wonolo, wbot, "job_request", jr)
    assert action_ids(card_of(slack, wbot, jr)) == expected


def test_a_click_the_state_no_longer_allows_is_refused_and_reaches_nobody(wbot, wonolo, slack, wposter):
    jr = wonolo.add_job_request(request_name="Packers", slots=1)
    ts = posted_request(wonolo, wbot, slack, jr)
    # Filled since the card was drawn: the old Resend / Re-rank / Assign buttons are refused.
    wonolo.add_job(jr, wonolo.add_user(first_name="Maria", last_name="Lopez"), "filled")
    send(wonolo, wbot, "job_request", jr)
    wait_for(lambda: request_row(wbot, jr)[2] == "filled")
    assert action_ids(slack.message(CHANNEL, ts)) == [ids.WONOLO_CANCEL_REQUEST, ids.WONOLO_BOOK_AGAIN]
    click(wposter, ids.WONOLO_RESEND, jr, ts)
    click(wposter, ids.WONOLO_RERANK, jr, ts)
    wait_for(lambda: len(wait_ephemeral(slack, "only a request still looking for workers")) == 2)
    click(wposter, ids.WONOLO_ASSIGN, jr, ts)
    wait_ephemeral(slack, "workers can only be assigned while it is looking for them")
    assert wonolo.count("POST", "/resend_notifications") == 0 and wonolo.count("POST", "/re_rank_workers") == 0
    assert [v for v in slack.views() if v["view"].get("callback_id") == ids.WONOLO_ASSIGN_MODAL] == []
    # Started: Cancel is refused too.
    wonolo.set_job_request_state(jr, "in_progress")
    send(wonolo, wbot, "job_request", jr)
    wait_for(lambda: action_ids(slack.message(CHANNEL, ts)) == [ids.WONOLO_BOOK_AGAIN])
    click(wposter, ids.WONOLO_CANCEL_REQUEST, jr, ts)
    wait_ephemeral(slack, "it can no longer be cancelled")
    assert wonolo.count("PATCH", f"/job_requests/{jr}") == 0
    outcomes = [a.outcome for a in audit_store.audit_since(wbot.db, "") if a.action.startswith("wonolo")]
    assert outcomes.count("refused") == 4


def test_the_card_shows_the_estimated_cost_and_unfilled_slots_while_open(wbot, wonolo, slack):
    jr = wonolo.add_job_request(request_name="Warehouse packers", slots=3, duration=480, wage="18.50")
    wonolo.add_job(jr, wonolo.add_user(first_name="Maria", last_name="Lopez"), "filled")
    send(wonolo, wbot, "job_request", jr)
    text = blocks_text(card_of(slack, wbot, jr))
    assert "~$444.00 (3 × 8 h × $18.50/hr)" in text  # 3 slots x 8 h x $18.50
    assert "1/3 filled · *2 unfilled*" in text
    for name in ("James", "Aisha"):
        wonolo.add_job(jr, wonolo.add_user(first_name=name, last_name="X"), "filled")
    send(wonolo, wbot, "job_request", jr)
    card = wait_for(lambda: (m := card_of(slack, wbot, jr)) and "3/3 filled" in blocks_text(m) and m)
    assert "unfilled" not in blocks_text(card) and "~$444.00" in blocks_text(card)


# --------------------------------------------------------------------------- unfilled-shift alert


def test_the_unfilled_alert_fires_once_per_request_across_checks_and_restarts(make_bot, wonolo, slack):
    wbot = start_bot(make_bot, wonolo)
    now = datetime.now(UTC)
    soon = wonolo.add_job_request(request_name=HOSTILE, slots=3, start_time=now + timedelta(hours=10))
    later = wonolo.add_job_request(request_name="Next week", slots=3, start_time=now + timedelta(hours=30))
    full = wonolo.add_job_request(request_name="Full", slots=1, start_time=now + timedelta(hours=5))
    wonolo.add_job(full, wonolo.add_user(first_name="Tom", last_name="B"), "filled")
    wonolo.set_job_request_state(full, "posted")  # Wonolo's state lags: still posted, but no open slot
    wonolo.add_job(soon, wonolo.add_user(first_name="Ann", last_name="C"), "filled")
    for jr in (soon, later, full):
        send(wonolo, wbot, "job_request", jr)
    [alert] = wait_for(lambda: alerts_in(slack))
    assert action_ids(alert) == [ids.WONOLO_RESEND, ids.WONOLO_RERANK]
    assert "2 of 3 slots unfilled" in blocks_text(alert) and "starts in 10 h" in blocks_text(alert)
    assert "<!channel>" not in parsed_text(alert.blocks, alert.text) and "&lt;!channel&gt;" in blocks_text(alert)

    # Webhooks again, the periodic pass, several at once: still one alert.
    desk = wbot.features.wonolo_desk
    threads = [threading.Thread(target=desk.check_unfilled) for _ in range(4)]
    for t in threads:
        t.start()
    job = wonolo.add_job(soon, None, "pending")
    send(wonolo, wbot, "job", job)
    for t in threads:
        t.join()
    wait_for(lambda: len(slack.thread(CHANNEL, request_row(wbot, soon)[1])) == 2)  # the job reply: processed
    assert desk.check_unfilled() == 0
    assert len(alerts_in(slack)) == 1

    # A restart (same database) raises nothing new.
    wbot.stop()
    again = start_bot(make_bot, wonolo)
    assert again.features.wonolo_desk.check_unfilled() == 0
    wonolo.set_job_state(job, "cancelled")
    send(wonolo, again, "job", job)
    wait_for(lambda: len(slack.thread(CHANNEL, request_row(again, soon)[1])) == 3)
    assert len(alerts_in(slack)) == 1
    raised = [a for a in audit_store.audit_since(again.db, "") if a.action == ids.WONOLO_UNFILLED_ALERT]
    assert [(a.target, a.outcome) for a in raised] == [(str(soon), "raised")]

    # Its buttons work (the same listeners as the card's), once.
    poster = SlackPoster(again.events_url, standin=slack)
    click(poster, ids.WONOLO_RESEND, soon, alert.ts)
    wait_ephemeral(slack, "notifying workers")
    assert wonolo.count("POST", f"/job_requests/{soon}/resend_notifications") == 1
    # Once filled, the alert says so and loses its buttons.
    for name in ("Bo", "Cy"):
        wonolo.add_job(soon, wonolo.add_user(first_name=name, last_name="D"), "filled")
    send(wonolo, again, "job_request", soon)
    wait_for(lambda: action_ids(slack.message(CHANNEL, alert.ts)) == [])
    assert "Filled" in blocks_text(slack.message(CHANNEL, alert.ts))
    poster.session.close()


def test_the_periodic_pass_alerts_a_request_no_webhook_announced(wbot, wonolo, slack):
    jr = wonolo.add_job_request(request_name="Quiet one", slots=2,
                                start_time=datetime.now(UTC) + timedelta(hours=3))
    wonolo.add_job_request(request_name="Far away", slots=2)  # in three days
    background = Background(wbot.gigdesk)
    background.start()
    try:
        assert background.scheduler.get_job("wonolo-unfilled") is not None
    finally:
        background.stop()
    assert wbot.features.wonolo_desk.check_unfilled() == 1
    [alert] = alerts_in(slack)
    assert "Quiet one" in blocks_text(alert) and "2 of 2 slots unfilled" in blocks_text(alert)
    assert "Quiet one" in blocks_text(card_of(slack, wbot, jr))  # its card exists too
    assert wbot.features.wonolo_desk.check_unfilled() == 0 and len(alerts_in(slack)) == 1


def test_no_alert_when_alerts_are_off(make_bot, wonolo, slack):
    wbot = start_bot(make_bot, wonolo, WONOLO_UNFILLED_ALERT_HOURS="0")
    jr = wonolo.add_job_request(slots=2, start_time=datetime.now(UTC) + timedelta(hours=2))
    send(wonolo, wbot, "job_request", jr)
    request_row(wbot, jr)
    assert wbot.features.wonolo_desk.check_unfilled() == 0 and alerts_in(slack) == []


# --------------------------------------------------------------------------- assign a favourite worker


def assign_values(worker: str, notes: str = "") -> dict:
    return {ids.WONOLO_ASSIGN_WORKER_BLOCK: {ids.WONOLO_ASSIGN_WORKER_INPUT: {"type": "plain_text_input", "value": worker}},
            ids.WONOLO_ASSIGN_NOTES_BLOCK: {ids.WONOLO_ASSIGN_NOTES_INPUT: {"type": "plain_text_input", "value": notes}}}


def test_assign_worker_from_the_card_assigns_once(wbot, wonolo, slack, wposter):
    jr = wonolo.add_job_request(request_name="Event crew", slots=2)
    maria = wonolo.add_user(first_name="Maria", last_name="Lopez", email="maria@example.com")
    ts = posted_request(wonolo, wbot, slack, jr)

    assert click(wposter, ids.WONOLO_ASSIGN, jr, ts).status_code == 200
    view = wait_for(lambda: [v for v in slack.views() if v["view"]["callback_id"] == ids.WONOLO_ASSIGN_MODAL])[0]["view"]
    meta = view["private_metadata"]
    answer = wposter.submit_view(ids.WONOLO_ASSIGN_MODAL, assign_values("  "), private_metadata=meta)
    assert ids.WONOLO_ASSIGN_WORKER_BLOCK in answer.json()["errors"]
    wposter.submit_view(ids.WONOLO_ASSIGN_MODAL, assign_values("nobody@example.com"), private_metadata=meta)
    wait_ephemeral(slack, "No Wonolo worker with e-mail `nobody@example.com`")
    wposter.submit_view(ids.WONOLO_ASSIGN_MODAL, assign_values("<!here> x"), private_metadata=meta)
    wait_ephemeral(slack, "`&lt;!here&gt; x` is neither a worker id nor an e-mail address")

    wonolo.inject_failure(None, delay=0.5, path_contains="/jobs/assign")
    bodies = [view_submission_body(ids.WONOLO_ASSIGN_MODAL, assign_values("MARIA@example.com", "Gate B"),
                                   private_metadata=meta, view_id=f"V{n}", user_id=user)
              for n, user in enumerate(("U_ALICE", "U_BOB"))]
    assert concurrent(bodies, wbot.events_url) == [200, 200]
    said = lambda needle: [e for e in slack.ephemerals() if needle in e["text"]]  # noqa: E731 (either user)
    wait_for(lambda: said("*Maria Lopez* is assigned to job request") and said("already"))
    assert wonolo.count("POST", "/jobs/assign") == 1
    [job] = [j for j in wonolo.jobs.values() if j["job_request_id"] == jr]
    assert (job["worker_id"], job["state"], job["requestor_notes"]) == (maria, "filled", "Gate B")
    card = wait_for(lambda: (m := slack.message(CHANNEL, ts)) and "1/2 filled" in blocks_text(m) and m)
    assert "Maria Lopez" in blocks_text(card)
    wait_for(lambda: len(slack.thread(CHANNEL, ts)) == 2)  # the new job's reply in the thread
    # The same worker again (by id) is refused without a call.
    before = len(said("was already assigned to job request"))
    wposter.submit_view(ids.WONOLO_ASSIGN_MODAL, assign_values(str(maria)), private_metadata=meta, view_id="V9")
    wait_for(lambda: len(said("was already assigned to job request")) == before + 1)
    assert wonolo.count("POST", "/jobs/assign") == 1
    audit = [a for a in audit_store.audit_since(wbot.db, "") if a.action == ids.WONOLO_ASSIGN]
    assert [a.outcome for a in audit].count("assigned") == 1


def test_assign_worker_is_for_allowed_users_only(wbot, wonolo, slack, wposter):
    jr = wonolo.add_job_request(request_name="Crew", slots=2)
    worker = wonolo.add_user(first_name="Maria", last_name="Lopez")
    ts = posted_request(wonolo, wbot, slack, jr)
    click(wposter, ids.WONOLO_ASSIGN, jr, ts, user="U_MALLORY")
    wait_ephemeral(slack, "not allowed", user="U_MALLORY")
    assert [v for v in slack.views() if v["view"].get("callback_id") == ids.WONOLO_ASSIGN_MODAL] == []
    meta = json.dumps({"job_request_id": str(jr)})
    wposter.submit_view(ids.WONOLO_ASSIGN_MODAL, assign_values(str(worker)), private_metadata=meta, user_id="U_MALLORY")
    # (A modal has no response_url, and Mallory is not in the channel: the audit tells.)
    refused = wait_for(lambda: len(r := [a for a in audit_store.audit_since(wbot.db, "") if a.user_id == "U_MALLORY"]) == 2 and r)
    assert [(a.action, a.outcome) for a in refused] == [(ids.WONOLO_ASSIGN, "refused")] * 2
    assert wonolo.count("POST", "/jobs/assign") == 0


# --------------------------------------------------------------------------- invite by e-mail


def test_invite_a_worker_by_email_once_allowed_users_only(wbot, wonolo, slack, wposter):
    text, _ = command(wposter, slack, "invite new.worker@example.com")
    assert "Wonolo is inviting `new.worker@example.com`" in text
    assert wonolo.count("POST", "/users/invite") == 1
    [invited] = [u for u in wonolo.users.values() if u["email"] == "new.worker@example.com"]
    assert invited.get("invited") is True and invited["type"] == "Worker"
    text, _ = command(wposter, slack, "invite New.Worker@example.com", user="U_BOB")
    assert "invited `New.Worker@example.com` less than a day ago" in text
    text, _ = command(wposter, slack, "invite <mailto:linked@example.com|linked@example.com>")
    assert "Wonolo is inviting `linked@example.com`" in text
    assert wonolo.count("POST", "/users/invite") == 2

    for bad, says in (("not-an-email", "`not-an-email` is not an e-mail address"),
                      ("<!channel>@x", "`&lt;!channel&gt;@x` is not an e-mail address"),
                      ("a@b.com c@d.com", "Give one e-mail address"),
                      ("x" * 300 + "@example.com", "is not an e-mail address")):
        text, answer = command(wposter, slack, f"invite {bad}")
        assert says in text and "/wonolo invite &lt;email&gt;" in text
        assert "<!channel>" not in parsed_text(answer["blocks"], answer["text"])
    text, _ = command(wposter, slack, "invite mallory@example.com", user="U_MALLORY")
    assert "not allowed" in text
    assert wonolo.count("POST", "/users/invite") == 2
    audit = [(a.target, a.outcome) for a in audit_store.audit_since(wbot.db, "") if a.action == ids.WONOLO_INVITE]
    assert audit.count(("new.worker@example.com", "invited")) == 1
    assert ("mallory@example.com", "refused") in audit


# --------------------------------------------------------------------------- did you mean, paging


def test_wonolo_typos_get_a_did_you_mean_like_rw(wbot, wonolo, slack, wposter):
    text, _ = command(wposter, slack, "reqests")
    assert "Unknown command `reqests`. Did you mean `requests`?" in text
    text, _ = command(wposter, slack, "requests postd")
    assert "Unknown job request state `postd`. Did you mean `posted`?" in text
    text, _ = command(wposter, slack, "jobs filed")
    assert "Did you mean `filled`?" in text
    text, _ = command(wposter, slack, "zzzzzz")
    assert "Did you mean" not in text and "Unknown command `zzzzzz`" in text


def test_requests_and_jobs_page_with_next_and_previous(wbot, wonolo, slack, wposter):
    worker = wonolo.add_user(first_name="Tom", last_name="Becker")
    jrs = [wonolo.add_job_request(request_name=f"Shift {n:02d}") for n in range(45)]
    for jr in jrs[:25]:
        wonolo.add_job(jr, worker, "filled")
    _, first = command(wposter, slack, "requests")
    page1 = json.dumps(first["blocks"])
    assert "Shift 00" in page1 and "Shift 19" in page1 and "Shift 20" not in page1
    [nxt] = [e for b in first["blocks"] if b.get("block_id", "").startswith("wonolo-pager") for e in b["elements"]]
    assert nxt["action_id"] == ids.WONOLO_PAGE_NEXT
    fetched = wonolo.count("GET", "/job_requests")

    def turn(button, count):
        wposter.click(button["action_id"], button["value"], message_ts="1.0", channel_id=CHANNEL, is_ephemeral=True)
        page = wait_for(lambda: len(slack.ephemerals("U_ALICE")) >= count and slack.ephemerals("U_ALICE")[count - 1])
        assert page["replace_original"] is True
        buttons = {e["action_id"]: e for b in page["blocks"] if b.get("block_id", "").startswith("wonolo-pager")
                   for e in b["elements"]}
        return json.dumps(page["blocks"]), buttons

    seen = len(slack.ephemerals("U_ALICE"))
    page2, buttons = turn(nxt, seen + 1)
    assert "page 2" in page2 and "Shift 20" in page2 and "Shift 39" in page2 and "Shift 19" not in page2
    assert set(buttons) == {ids.WONOLO_PAGE_PREVIOUS, ids.WONOLO_PAGE_NEXT}
    assert wonolo.count("GET", "/job_requests") == fetched + 1  # each page is fetched when shown
    page3, buttons3 = turn(buttons[ids.WONOLO_PAGE_NEXT], seen + 2)
    assert "Shift 40" in page3 and "Shift 44" in page3 and set(buttons3) == {ids.WONOLO_PAGE_PREVIOUS}
    back, _ = turn(buttons3[ids.WONOLO_PAGE_PREVIOUS], seen + 3)
    assert "Shift 20" in back and "page 2" in back

    _, jobs = command(wposter, slack, "jobs filled")
    [nxt] = [e for b in jobs["blocks"] if b["type"] == "actions" for e in b["elements"]]
    page2, buttons = turn(nxt, len(slack.ephemerals("U_ALICE")) + 1)
    assert page2.count("Tom Becker") == 5 and set(buttons) == {ids.WONOLO_PAGE_PREVIOUS}

    for forged in ("not json", json.dumps({"list": "requests", "state": "<!here>", "page": 2}),
                   json.dumps({"list": "users", "state": None, "page": 1}),
                   json.dumps({"list": "jobs", "state": None, "page": 10**9})):
        before = wonolo.count("GET")
        said = [e for e in slack.ephemerals("U_ALICE") if "does not belong to a Wonolo list I made" in e["text"]]
        wposter.click(ids.WONOLO_PAGE_NEXT, forged, message_ts="1.0", channel_id=CHANNEL, is_ephemeral=True)
        wait_for(lambda: len([e for e in slack.ephemerals("U_ALICE")
                              if "does not belong to a Wonolo list I made" in e["text"]]) == len(said) + 1)  # noqa: B023
        assert wonolo.count("GET") == before


# --------------------------------------------------------------------------- digest and App Home


def test_digest_and_app_home_show_wonolo(wbot, wonolo, slack, wposter):
    now = utc(2026, 12, 1, 10, 0)
    busy = wonolo.add_job_request(request_name="Tomorrow packers", slots=3, start_time=utc(2026, 12, 2, 15, 0), timezone=LA)
    for name in ("A", "B"):
        wonolo.add_job(busy, wonolo.add_user(first_name=name, last_name="W"), "filled")
    full = wonolo.add_job_request(request_name="Tomorrow movers", slots=1, start_time=utc(2026, 12, 2, 18, 0))
    wonolo.add_job(full, wonolo.add_user(first_name="C", last_name="W"), "filled")
    wonolo.add_job_request(request_name="Friday crew", slots=2, start_time=utc(2026, 12, 4, 9, 0))
    worked = wonolo.add_job_request(request_name="Night count", slots=3, duration=240, wage="20.00",
                                    start_time=utc(2026, 12, 1, 2, 0))
    for name in ("D", "E"):
        wonolo.add_job(worked, wonolo.add_user(first_name=name, last_name="W"), "completed")
    wonolo.set_job_request_state(worked, "completed")
    wonolo.add_job_request(request_name="Urgent", slots=2, start_time=utc(2026, 12, 1, 15, 0))
    cancelled = wonolo.add_job_request(request_name="Called off", slots=5, start_time=utc(2026, 12, 2, 12, 0))
    wonolo.set_job_request_state(cancelled, "cancelled")
    with time_machine.travel(now, tick=True):
        assert wbot.features.wonolo_desk.check_unfilled() == 1  # "Urgent"
        wposter.click(ids.HOME_POST_DIGEST, ids.HOME_POST_DIGEST, message_ts="1.0")
        digest = wait_for(lambda: [m for m in slack.messages("C_REVIEW") if "Wonolo" in json.dumps(m.blocks)])[0]
        text = json.dumps(digest.blocks, ensure_ascii=False)
        assert "tomorrow: 2 shifts, fill rate 75% (3/4 slots)" in text
        assert "unfilled alerts in the last 24 h: 1" in text
        assert "spend (est.) on 1 shift in the last 24 h: $160.00" in text  # 2 workers (of 3 slots) x 4 h x $20
        assert "Tomorrow packers" in text and "Wed 2 Dec, 07:00 PST" in text and "Friday crew" not in text
        assert "Called off" not in text

        wposter.home_opened("U_ALICE")
        home = wait_for(lambda: [v for v in slack.views() if v["method"] == "views.publish"
                                 and "Upcoming Wonolo shifts" in json.dumps(v["view"]["blocks"])])[-1]
        shown = json.dumps(home["view"]["blocks"], ensure_ascii=False)
        assert "Upcoming Wonolo shifts (4)" in shown
        assert shown.index("Urgent") < shown.index("Tomorrow packers") < shown.index("Friday crew")
        assert "Night count" not in shown and "Called off" not in shown
        assert "Tue 1 Dec, 07:00 PST · starts in 5 h" in shown
