"""Slack, as Slack documents it, end to end over real HTTP: argument limits,
App Home work off Bolt's listener threads, retried events, old response
URLs, and Wonolo time zones that are not zones."""

from __future__ import annotations

import json

import pytest

from bot.slack import ids
from storage import submissions as subs
from tests.support.harness import wait_for


@pytest.fixture
def campaign(sandbox):
    return sandbox.add_campaign("Like our page", status="Active", pay="0.50", total=20)


def posted_row(bot, sid):
    return wait_for(lambda: (r := subs.get(bot.db, sid)) and r.ts and r)


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

    assert poster.click(ids.REVIEW_APPROVE, str(sid), message_ts=row.ts, user_id="U_ALICE").status_code == 200
    wait_for(lambda: subs.get(bot.db, sid).state == "approved")
    assert sandbox.submission(sid)["status"] == "Approved"
    member_calls = slack.calls_to("conversations.members")
    assert [c.error for c in member_calls] == [None, None]  # two pages, none refused
    assert all(int(c.args["limit"]) < 1000 for c in member_calls)
    assert member_calls[1].args.get("cursor")


# --------------------------------------------------------------------------- Wonolo time zones


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


@pytest.mark.usefixtures("db_backend")  # on SQLite and PostgreSQL
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


# --------------------------------------------------------------------------- App Home on the work pool


def test_a_burst_of_home_opens_on_a_slow_rapidworkers_leaves_other_requests_acknowledged(make_bot, sandbox, slack, campaign):
    """24 home opens and 4 Refresh clicks at once while every RapidWorkers call
    takes a second: a /rw help and an Approve sent right after are still
    acknowledged (not 404), and all the work gets done."""
    import threading

    import requests

    from tests.support.slack_requests import app_home_opened_body, block_actions_body, sign, slash_command_body

    bot = make_bot(GIGDESK_WORKERS="8")  # 8 listener threads, 4 work threads
    sid = sandbox.add_submission(campaign, proof_text="done")
    bot.review.sync()
    row = posted_row(bot, sid)
    sandbox.set_latency(1.0)

    openers = [f"U_H{n:02d}" for n in range(24)]
    burst = [app_home_opened_body(user) for user in openers]
    burst += [block_actions_body(ids.HOME_REFRESH, ids.HOME_REFRESH, user_id=f"U_R{n}", message_ts="1.0",
                                 response_url=slack.response_url(f"refresh{n}")) for n in range(4)]
    statuses: list[int] = []

    def post(body):
        statuses.append(requests.post(bot.events_url, data=body, headers=sign(body), timeout=10).status_code)

    threads = [threading.Thread(target=post, args=(body,)) for body in burst]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * len(burst)

    help_url = slack.response_url("help", channel="C_REVIEW", user="U_ALICE")
    after = [
        slash_command_body("/rw", "help", response_url=help_url),
        block_actions_body(ids.REVIEW_APPROVE, str(sid), message_ts=row.ts, response_url=slack.response_url("approve"),
                           message=slack.message("C_REVIEW", row.ts).to_dict()),
    ]
    assert [requests.post(bot.events_url, data=b, headers=sign(b), timeout=10).status_code for b in after] == [200, 200]

    # The work still completes: every home, the help text, the approval.
    wait_for(lambda: all(homes(slack, u) for u in openers + [f"U_R{n}" for n in range(4)]), timeout=60)
    wait_for(lambda: slack.responses("help"), timeout=60)
    wait_for(lambda: subs.get(bot.db, sid).state == "approved", timeout=60)
    assert sandbox.submission(sid)["status"] == "Approved"


# --------------------------------------------------------------------------- old response URLs


def _answer_after_a_long_job(slack, sandbox, send, slow_path: str, minutes: float):
    """Send a request whose work waits on RapidWorkers, move the clock `minutes`
    on while it waits, and return what reached the user (response URL posts,
    ephemerals)."""
    import time

    import time_machine

    sandbox.set_latency(1.5, slow_path)
    assert send().status_code == 200  # acknowledged at once, before the clock moves
    with time_machine.travel(time.time() + minutes * 60, tick=True):
        wait_for(lambda: slack.ephemerals("U_ALICE"), timeout=20)
    return slack.calls_to("response_url"), slack.ephemerals("U_ALICE")


@pytest.mark.parametrize("minutes, via", [(26, "postEphemeral"), (10, "response_url")])
def test_a_command_answer_after_25_minutes_uses_post_ephemeral(bot, sandbox, slack, poster, minutes, via):
    hooks, [answer] = _answer_after_a_long_job(
        slack, sandbox, lambda: poster.command("/rw", "balance", channel_id="C_REVIEW"), "/account/get_balance", minutes)
    assert "$1,000.00" in answer["text"] + json.dumps(answer["blocks"])
    assert answer["via"] == via and answer["channel"] == "C_REVIEW"
    assert len(hooks) == (via == "response_url")  # an old response URL is not even tried


def test_a_button_answer_after_25_minutes_uses_post_ephemeral(bot, sandbox, slack, poster, campaign):
    sid = sandbox.add_submission(campaign, proof_text="done")
    bot.review.sync()
    row = posted_row(bot, sid)
    hooks, [answer] = _answer_after_a_long_job(
        slack, sandbox, lambda: poster.click(ids.REVIEW_BLOCK, str(sid), message_ts=row.ts), "/workers/block/", 26)
    assert answer["text"].startswith("Blocked") and answer["via"] == "postEphemeral"
    assert answer["channel"] == "C_REVIEW" and hooks == []


# --------------------------------------------------------------------------- a 429 inside a trigger's 3 s


def test_a_429_before_the_reject_modal_fails_fast_instead_of_outliving_the_trigger(bot, sandbox, slack, poster, campaign):
    """Reviewers are the review channel's members: a look-up before views.open. Slack asks to wait 30 s."""
    sid = sandbox.add_submission(campaign, proof_text="done")
    bot.review.sync()
    row = posted_row(bot, sid)
    slack.fail_next("conversations.members", error="ratelimited", status=429, retry_after=30)
    url = slack.response_url("reject-busy", channel="C_REVIEW", user="U_ALICE", message_ts=row.ts)
    assert poster.click(ids.REVIEW_REJECT, str(sid), message_ts=row.ts, response_url=url).status_code == 200
    reply = wait_for(lambda: slack.responses("reject-busy"), timeout=5)[-1]["payload"]
    assert "Slack is busy" in reply["text"] and "reference" not in reply["text"]
    assert slack.calls_to("views.open") == [] and len(slack.calls_to("conversations.members")) == 1
    assert subs.get(bot.db, sid).state == "posted"  # nothing happened: the next click opens the modal
    poster.click(ids.REVIEW_REJECT, str(sid), message_ts=row.ts)
    assert wait_for(lambda: slack.views())[-1]["view"]["callback_id"] == ids.REVIEW_REJECT_MODAL


def test_a_429_on_views_open_is_waited_out_only_while_the_trigger_lasts(bot, slack, poster):
    slack.fail_next("views.open", error="ratelimited", status=429, retry_after=5)
    poster.command("/rw", "job")
    reply = wait_for(lambda: slack.responses("/rw job"), timeout=5)[-1]["payload"]
    assert "Slack is busy" in reply["text"]
    assert len(slack.calls_to("views.open")) == 1 and slack.views() == []  # not tried again after the trigger expired
    slack.fail_next("views.open", error="ratelimited", status=429, retry_after=0)  # a wait that fits: waited out
    poster.command("/rw", "new")
    assert wait_for(lambda: slack.views())[-1]["view"]["callback_id"] == ids.NEW_CAMPAIGN_MODAL
    assert len(slack.calls_to("views.open")) == 3
