"""Slack, as Slack documents it, end to end over real HTTP: argument limits,
App Home work off Bolt's listener threads, retried events, old response
URLs, and Wonolo time zones that are not zones."""

from __future__ import annotations

import json

import pytest

from bot import ids
from storage import submissions as subs
from tests.support.harness import wait_for


@pytest.fixture
def campaign(sandbox):
    return sandbox.add_campaign("Like our page", status="Active", pay="0.50", total=20)


def posted_row(bot, sid):
    return wait_for(lambda: (r := subs.get(bot.db, sid)) and r["ts"] and r)


# --------------------------------------------------------------------------- conversations.members


def test_reviewer_on_the_second_page_of_members_can_approve(bot, sandbox, slack, poster, campaign):
    """GIGDESK_ALLOWED_USERS empty: the review channel's members decide, read
    with a documented limit (under 1000) and every cursor page followed."""
    assert not bot.settings.allowed_users
    crowd = [f"U_M{n:04d}" for n in range(250)]
    slack.set_members("C_REVIEW", ["UBOT", *crowd[:230], "U_ALICE", *crowd[230:]])
    sid = sandbox.add_submission(campaign, proof_text="done")
    bot.review.sync()
    row = posted_row(bot, sid)

    assert poster.click(ids.REVIEW_APPROVE, str(sid), message_ts=row["ts"], user_id="U_ALICE").status_code == 200
    wait_for(lambda: subs.get(bot.db, sid)["state"] == "approved")
    assert sandbox.submission(sid)["status"] == "Approved"
    member_calls = slack.calls_to("conversations.members")
    assert [c.error for c in member_calls] == [None, None]  # two pages, none refused
    assert all(int(c.args["limit"]) < 1000 for c in member_calls)
    assert member_calls[1].args.get("cursor")


# --------------------------------------------------------------------------- Wonolo time zones


@pytest.fixture
def wonolo():
    from bot.wonolo_sandbox import WonoloSandbox

    sim = WonoloSandbox(demo_data=False)
    sim.employer_id = sim.add_user(type="Employer", first_name="Dana", last_name="Ops", email="dana@example.com")
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def wbot(make_bot, wonolo):
    return make_bot(WONOLO_API_KEY=wonolo.api_key, WONOLO_SECRET_KEY=wonolo.secret_key,
                    WONOLO_BASE_URL=wonolo.url, WONOLO_CHANNEL="C_WONOLO")


@pytest.mark.parametrize("zone, shown", [
    ("Mars/Olympus", "(time zone: Mars/Olympus)"),
    ("../../etc/passwd", "(time zone: ../../etc/passwd)"),
    ("<!channel> Etc/" + "x" * 10_000, "(time zone: &lt;!channel&gt; Etc/xxx"),
])
def test_a_time_zone_that_is_no_zone_is_shown_as_given_on_the_card(wbot, wonolo, slack, zone, shown):
    jr = wonolo.add_job_request(request_name="Dock crew", venue="Pier 9", city="Oakland", slots=2, timezone=zone)
    response = wonolo.send_webhook(wbot.url + "/wonolo/webhook", "job_request", jr)
    assert response.status_code == 200, response.text
    card = wait_for(lambda: slack.messages("C_WONOLO", include_replies=False))
    [message] = card
    text = json.dumps(message.blocks, ensure_ascii=False)
    assert "Dock crew" in text and "<!date^" in text and "UTC>" in text
    assert shown in text
    assert "x" * 100 not in text and "<!channel>" not in text  # cut and escaped


# --------------------------------------------------------------------------- retried events


def homes(slack, user="U_ALICE") -> list[dict]:
    return [v for v in slack.views() if v["method"] == "views.publish" and v["user_id"] == user]


def test_a_retried_event_is_acknowledged_and_handled_once(make_bot, slack):
    from tests.support.slack_requests import JSON, SlackPoster, app_home_opened_body

    bot = make_bot()
    poster = SlackPoster(bot.events_url, standin=slack)
    event = app_home_opened_body("U_ALICE")
    assert poster.post(event, JSON).status_code == 200
    wait_for(lambda: len(homes(slack)) == 1)
    retries = [{"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"} for n in (1, 2)]
    assert [poster.post(event, JSON, headers=h).status_code for h in retries] == [200, 200]

    # After a restart too (the retry window is minutes; the record is in the database).
    bot.stop()
    again = make_bot()
    poster = SlackPoster(again.events_url, standin=slack)
    assert poster.post(event, JSON, headers={"X-Slack-Retry-Num": "3", "X-Slack-Retry-Reason": "http_error"}).status_code == 200
    # Then a new event: handled (a fresh event_id); work queued before it is done by then.
    assert poster.post(app_home_opened_body("U_BOB"), JSON).status_code == 200
    wait_for(lambda: homes(slack, "U_BOB"))
    assert len(homes(slack)) == 1  # U_ALICE's event handled once, none of its three retries
    poster.session.close()
