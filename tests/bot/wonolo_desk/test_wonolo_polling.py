"""WONOLO_POLL_SECONDS end to end: polling finds Wonolo changes without webhooks and shows them on
the same cards as webhooks do; a change a webhook and a poll both see is shown once; a cycle costs
a bounded number of Wonolo requests; only the poll lease's holder polls (over real HTTP against the
Wonolo simulator and the Slack stand-in; the tests drive the cycles, as they drive the review sync)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.leases import LEASE_SECONDS
from bot.wonolo_desk.intake import LAST_POLL_KEY, LAST_WEBHOOK_KEY, MAX_POLL_REQUESTS, POLL_LEASE
from storage import kv as kv_store
from storage import leases
from tests.bot.wonolo_desk.test_wonolo_desk import CHANNEL, request_row, send, top_messages
from tests.support.harness import wait_for


@pytest.fixture
def pbot(make_bot, wonolo):
    bot = make_bot(WONOLO_API_KEY=wonolo.api_key, WONOLO_SECRET_KEY=wonolo.secret_key,
                   WONOLO_BASE_URL=wonolo.url, WONOLO_CHANNEL=CHANNEL, WONOLO_POLL_SECONDS="60")
    bot.hook_url = bot.url + "/wonolo/webhook"
    return bot


def poll(bot):
    report = bot.features.wonolo_desk.poll()
    assert report is not None and report.failed == 0
    return report


def wonolo_requests(wonolo) -> int:
    return wonolo.count()


def replies(slack, ts):
    return slack.thread(CHANNEL, ts)[1:]


def test_polling_shows_changes_without_webhooks_and_a_change_seen_by_both_is_shown_once(pbot, wonolo, slack):
    old = wonolo.add_job_request(request_name="Last month's crew")
    wonolo.set_job_request_state(old, "completed")  # finished and never shown: no card for it
    jr = wonolo.add_job_request(request_name="Dock crew", slots=2)
    assert poll(pbot).synced == 1
    [card] = top_messages(slack)
    assert "Dock crew" in card.text and request_row(pbot, jr)[1] == card.ts
    assert kv_store.kv_get(pbot.db, LAST_POLL_KEY) and not kv_store.kv_get(pbot.db, LAST_WEBHOOK_KEY)

    # A poll with nothing changed costs one page of each list and posts nothing.
    before = wonolo_requests(wonolo)
    assert poll(pbot).changed == 0
    assert wonolo_requests(wonolo) - before == 2 and len(slack.calls_to("chat.postMessage")) == 1

    # A job fills: the poll replies in the card's thread and updates the card in place.
    job = wonolo.add_job(jr, wonolo.add_user(first_name="Maria", last_name="Lopez"), "filled")
    before = wonolo_requests(wonolo)
    poll(pbot)
    assert wonolo_requests(wonolo) - before <= MAX_POLL_REQUESTS
    [reply] = replies(slack, card.ts)
    assert "Maria Lopez" in reply.text
    assert len(top_messages(slack)) == 1 and "1/2 filled" in slack.message(CHANNEL, card.ts).text

    # The webhook of that same change comes late: nothing more is posted, the card is not touched.
    updates = slack.message(CHANNEL, card.ts).updates
    gets = wonolo.count("GET", f"/jobs/{job}")
    send(wonolo, pbot, "job", job)
    wait_for(lambda: wonolo.count("GET", f"/jobs/{job}") > gets)  # the webhook's sync has begun
    # Another sync of the job waits for the webhook's (the job's lock) and finds nothing new either.
    assert pbot.features.wonolo_desk.cards.sync_job(str(job)) is False
    assert kv_store.kv_get(pbot.db, LAST_WEBHOOK_KEY)
    poll(pbot)
    assert len(replies(slack, card.ts)) == 1 and len(top_messages(slack)) == 1
    assert slack.message(CHANNEL, card.ts).updates == updates

    # And the other way round: a webhook first, then the poll that sees the same change.
    wonolo.set_job_state(job, "in_progress")
    send(wonolo, pbot, "job", job)
    wait_for(lambda: len(replies(slack, card.ts)) == 2)
    poll(pbot)
    poll(pbot)
    assert len(replies(slack, card.ts)) == 2 and len(top_messages(slack)) == 1

    # A request cancelled on Wonolo: its card (not a new one) shows it, found by the poll alone.
    wonolo.set_job_request_state(jr, "cancelled")
    poll(pbot)
    assert len(top_messages(slack)) == 1
    wait_for(lambda: "CANCELLED" in str(slack.message(CHANNEL, card.ts).blocks))


def test_only_the_poll_lease_holder_polls(pbot, wonolo, slack):
    wonolo.add_job_request(request_name="Dock crew")
    now = datetime.now(UTC)
    assert leases.take(pbot.db, POLL_LEASE, "elsewhere/4242/abcdef", "elsewhere", 4242, now.isoformat(),
                       (now + timedelta(seconds=LEASE_SECONDS)).isoformat()) is None
    before = wonolo_requests(wonolo)
    assert pbot.features.wonolo_desk.poll() is None  # another process polls
    assert wonolo_requests(wonolo) == before and top_messages(slack) == []
    leases.release(pbot.db, POLL_LEASE, "elsewhere/4242/abcdef")
    assert poll(pbot).synced == 1 and len(top_messages(slack)) == 1
