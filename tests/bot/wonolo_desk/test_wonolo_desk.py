"""Wonolo in Slack end to end: signed webhooks, the channel message and its thread,
the buttons and modals, and /wonolo — over real HTTP against the Wonolo simulator."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from zoneinfo import ZoneInfo

import pytest
import requests

from bot.slack import ids
from bot.wonolo.webhook import HEADER
from storage import audit as audit_store
from tests.support.harness import wait_for
from tests.support.mrkdwn_check import parsed_text
from tests.support.slack_requests import SlackPoster, block_actions_body, sign, view_submission_body

CHANNEL = "C_WONOLO"
HOSTILE = "<!channel> Free <@U0BOSS> money <https://evil.example|click> & more"


# --------------------------------------------------------------------------- fixtures and helpers


def expected_token(body: bytes, secret_key: str) -> str:
    """The token as DESIGN.md documents it (not the bot's own function): the
    SHA-256 hex digest of the raw body bytes followed by WONOLO_SECRET_KEY."""
    return hashlib.sha256(body + secret_key.encode("utf-8")).hexdigest()


@pytest.fixture
def wbot(make_bot, wonolo):
    bot = make_bot(WONOLO_API_KEY=wonolo.api_key, WONOLO_SECRET_KEY=wonolo.secret_key,
                   WONOLO_BASE_URL=wonolo.url, WONOLO_CHANNEL=CHANNEL)
    bot.features.wonolo_desk.retry_delays = (0.1, 0.2, 0.3)
    bot.hook_url = bot.url + "/wonolo/webhook"
    return bot


@pytest.fixture
def wposter(wbot, slack):
    client = SlackPoster(wbot.events_url, standin=slack)
    yield client
    client.session.close()


def top_messages(slack):
    return slack.messages(CHANNEL, include_replies=False)


def blocks_text(message) -> str:
    return json.dumps(message.blocks, ensure_ascii=False) + message.text


def action_ids(message) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def send(wonolo, bot, resource_type, resource_id):
    response = wonolo.send_webhook(bot.hook_url, resource_type, resource_id)
    assert response.status_code == 200, response.text
    return response


def request_row(bot, jr):
    return wait_for(lambda: (r := bot.db.execute(
        "SELECT channel, ts, state FROM wonolo_requests WHERE job_request_id = ? AND ts IS NOT NULL",
        [str(jr)]).fetchone()) and r)


def posted_request(wonolo, bot, slack, jr):
    send(wonolo, bot, "job_request", jr)
    _, ts, _ = request_row(bot, jr)
    return ts


def job_reply(wonolo, bot, slack, job, count=1):
    """Send a Job webhook; the `count`-th reply in the job's thread."""
    send(wonolo, bot, "job", job)
    jr = wonolo.jobs[job]["job_request_id"]
    _, ts, _ = request_row(bot, jr)
    reply = wait_for(lambda: len(slack.thread(CHANNEL, ts)) > count and slack.thread(CHANNEL, ts)[count])
    wait_for(lambda: bot.db.execute("SELECT reply_ts FROM wonolo_jobs WHERE job_id = ?", [str(job)]).fetchone()
             == (reply.ts,))  # recorded: its buttons now work
    return reply


def click(poster, action_id, value, ts, user="U_ALICE"):
    return poster.click(action_id, str(value), message_ts=ts, channel_id=CHANNEL, user_id=user)


def concurrent(bodies, url):
    results = []

    def post(body):
        results.append(requests.post(url, data=body, headers=sign(body), timeout=10).status_code)

    threads = [threading.Thread(target=post, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def ephemeral_texts(slack, user="U_ALICE") -> list[str]:
    return [e["text"] for e in slack.ephemerals(user)]


def wait_ephemeral(slack, needle, user="U_ALICE"):
    return wait_for(lambda: [t for t in ephemeral_texts(slack, user) if needle in t])


def command(poster, slack, text, user="U_ALICE") -> str:
    """Run /wonolo and return its (only new) ephemeral answer: text and blocks."""
    before = len(slack.ephemerals(user))
    assert poster.command("/wonolo", text, user_id=user, channel_id=CHANNEL).status_code == 200
    answer = wait_for(lambda: len(slack.ephemerals(user)) > before and slack.ephemerals(user)[before])
    return answer["text"] + "\n" + json.dumps(answer["blocks"], ensure_ascii=False), answer


# --------------------------------------------------------------------------- webhooks


def test_webhook_posts_once_then_updates_the_same_message(wbot, wonolo, slack):
    jr = wonolo.add_job_request(request_name="Dock crew", venue="Pier 9", city="Oakland", slots=2, wage="19.50")
    response = send(wonolo, wbot, "job_request", jr)
    assert response.json() == {"ok": True}
    channel, ts, state = request_row(wbot, jr)
    assert (channel, state) == (CHANNEL, "posted")
    [message] = top_messages(slack)
    text = blocks_text(message)
    assert "Dock crew" in text and "Pier 9, Oakland" in text and "0/2 filled" in text and "$19.50/hr" in text
    start = wonolo.job_requests[jr]["start_time"].astimezone(ZoneInfo("America/Los_Angeles"))
    assert f"{start:%H:%M} {start.tzname()} · starts in " in text  # the venue's zone, named
    assert "<!date^" not in text
    assert action_ids(message) == [ids.WONOLO_RESEND, ids.WONOLO_RERANK, ids.WONOLO_ASSIGN, ids.WONOLO_CANCEL_REQUEST]
    cancel = message.blocks[-1]["elements"][3]
    assert cancel["style"] == "danger" and cancel["confirm"]["confirm"]["text"] == "Cancel request"
    assert message.metadata["event_type"] == ids.WONOLO_REQUEST_EVENT

    worker = wonolo.add_user(first_name="Maria", last_name="Lopez")
    wonolo.add_job(jr, worker, "filled")
    wonolo.set_job_request_state(jr, "unfilled")
    send(wonolo, wbot, "job_request", jr)
    message = wait_for(lambda: (m := slack.message(CHANNEL, ts)) and m.updates and m)
    assert len(top_messages(slack)) == 1 and message.updates == 1
    text = blocks_text(message)
    assert ":rotating_light: *UNFILLED*" in text and "1/2 filled" in text and "Maria Lopez" in text
    assert action_ids(message) == [ids.WONOLO_BOOK_AGAIN]  # nothing left to do on it but book it again
    assert len(slack.calls_to("chat.postMessage")) == 1
    wait_for(lambda: request_row(wbot, jr)[2] == "unfilled")


@pytest.mark.parametrize("how", ["missing", "wrong", "other-secret"])
def test_bad_or_missing_token_gets_401_and_changes_nothing(wbot, wonolo, slack, how):
    jr = wonolo.add_job_request()
    body = wonolo.webhook_body("job_request", jr)
    headers = {"Content-Type": "application/json"}
    if how == "wrong":
        headers[HEADER] = "0" * 64
    elif how == "other-secret":
        headers[HEADER] = expected_token(body, "sk_test_not_ours")
    response = requests.post(wbot.hook_url, data=body, headers=headers, timeout=5)
    assert response.status_code == 401 and response.json() == {"error": "invalid token"}
    time.sleep(0.3)
    assert slack.messages(CHANNEL) == [] and wonolo.count() == 0
    for table in ("wonolo_deliveries", "wonolo_requests", "wonolo_jobs"):
        assert wbot.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def test_a_repeated_delivery_changes_nothing(wbot, wonolo, slack):
    jr = wonolo.add_job_request()
    body = wonolo.webhook_body("job_request", jr)
    headers = {"Content-Type": "application/json", HEADER: expected_token(body, wonolo.secret_key)}
    first = requests.post(wbot.hook_url, data=body, headers=headers, timeout=5)
    assert first.status_code == 200 and first.json() == {"ok": True}
    ts = request_row(wbot, jr)[1]
    calls = wonolo.count()
    again = requests.post(wbot.hook_url, data=body, headers=headers, timeout=5)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    time.sleep(0.3)
    assert wonolo.count() == calls
    assert [m.ts for m in slack.messages(CHANNEL)] == [ts] and slack.message(CHANNEL, ts).updates == 0
    assert wbot.db.execute("SELECT count(*) FROM wonolo_deliveries").fetchone()[0] == 1
    # A signed body that names nothing is refused, and not recorded.
    junk = b'{"hello": "world"}'
    bad = requests.post(wbot.hook_url, data=junk, timeout=5,
                        headers={HEADER: expected_token(junk, wonolo.secret_key)})
    assert bad.status_code == 400
    assert wbot.db.execute("SELECT count(*) FROM wonolo_deliveries").fetchone()[0] == 1


def test_job_changes_land_in_the_request_thread(wbot, wonolo, slack):
    jr = wonolo.add_job_request(request_name="Event crew", slots=1)
    worker = wonolo.add_user(first_name="Aisha", last_name="Khan")
    job = wonolo.add_job(jr, worker, "filled")
    first = job_reply(wonolo, wbot, slack, job)  # the job request message is posted first
    [root] = top_messages(slack)
    assert first.thread_ts == root.ts
    confirmed = wonolo.jobs[job]["confirmed_at"].astimezone(ZoneInfo("America/Los_Angeles"))
    assert "Aisha Khan" in blocks_text(first) and "Filled" in blocks_text(first)
    assert f"confirmed {confirmed:%a} {confirmed.day} {confirmed:%b}, {confirmed:%H:%M} {confirmed.tzname()}" in blocks_text(first)
    assert action_ids(first) == [ids.WONOLO_CANCEL_JOB, ids.WONOLO_MESSAGE_WORKER]
    assert "1/1 filled" in blocks_text(slack.message(CHANNEL, root.ts))

    wonolo.set_job_state(job, "no_show")
    second = job_reply(wonolo, wbot, slack, job, count=2)
    assert ":rotating_light: *NO SHOW*" in blocks_text(second) and "Aisha Khan" in blocks_text(second)
    assert action_ids(second) == [ids.WONOLO_MESSAGE_WORKER]
    wait_for(lambda: action_ids(slack.message(CHANNEL, first.ts)) == [])  # only the latest reply keeps buttons
    assert "0/1 filled" in blocks_text(slack.message(CHANNEL, root.ts))

    # Another delivery about the same state posts no new reply.
    body = json.dumps({"type": "Job", "id": job, "state": "no_show", "event": "job.retried"}).encode()
    fetched = wonolo.count("GET", f"/job_requests/{jr}")
    requests.post(wbot.hook_url, data=body, headers={HEADER: expected_token(body, wonolo.secret_key)}, timeout=5)
    wait_for(lambda: wonolo.count("GET", f"/job_requests/{jr}") > fetched)  # processed
    time.sleep(0.3)
    assert len(slack.thread(CHANNEL, root.ts)) == 3 and len(top_messages(slack)) == 1
    assert wbot.db.execute("SELECT state FROM wonolo_jobs WHERE job_id = ?", [str(job)]).fetchone()[0] == "no_show"


def test_webhook_is_answered_at_once_however_slow_wonolo_is_and_failures_are_retried(wbot, wonolo, slack):
    jr = wonolo.add_job_request(request_name="Slow one")
    wonolo.inject_failure(None, delay=2.0, path_contains=f"/job_requests/{jr}")
    started = time.monotonic()
    response = send(wonolo, wbot, "job_request", jr)
    assert 200 <= response.status_code < 300 and time.monotonic() - started < 1.0
    request_row(wbot, jr)

    other = wonolo.add_job_request(request_name="Flaky one")
    # The client retries a GET twice itself; three 503s fail one whole attempt.
    wonolo.inject_failure(503, times=3, path_contains=f"/job_requests/{other}")
    send(wonolo, wbot, "job_request", other)
    request_row(wbot, other)
    assert wonolo.count("GET", f"/job_requests/{other}") == 4  # one failed attempt (3 tries), then one more
    assert len(top_messages(slack)) == 2

    gone = wonolo.add_job_request()
    body = wonolo.webhook_body("job_request", gone)
    del wonolo.job_requests[gone]  # Wonolo answers 404: given up at once, delivery forgotten
    requests.post(wbot.hook_url, data=body, headers={HEADER: expected_token(body, wonolo.secret_key)}, timeout=5)
    wait_for(lambda: wbot.db.execute("SELECT count(*) FROM wonolo_deliveries").fetchone()[0] == 2)
    assert len(top_messages(slack)) == 2


# --------------------------------------------------------------------------- buttons and modals


def test_request_buttons_reach_wonolo_once_even_on_double_clicks(wbot, wonolo, slack, wposter):
    jr = wonolo.add_job_request(request_name="Packers")
    ts = posted_request(wonolo, wbot, slack, jr)
    for action, path, reply in ((ids.WONOLO_RESEND, "/resend_notifications", "notifying workers"),
                                (ids.WONOLO_RERANK, "/re_rank_workers", "re-ranked")):
        wonolo.inject_failure(None, delay=0.5, path_contains=path)
        bodies = [block_actions_body(action, str(jr), message_ts=ts, channel_id=CHANNEL, user_id=user,
                                     response_url=slack.response_url(f"{action}-{user}"))
                  for user in ("U_ALICE", "U_BOB")]
        assert concurrent(bodies, wbot.events_url) == [200, 200]
        wait_for(lambda: len([e for e in slack.ephemerals() if e.get("name", "").startswith(action)]) == 2)  # noqa: B023 (called within this iteration)
        texts = [e["text"] for e in slack.ephemerals() if e.get("name", "").startswith(action)]
        assert len([t for t in texts if reply in t]) == 1 and len([t for t in texts if "already" in t]) == 1
        assert wonolo.count("POST", path) == 1
        # A third click right after is refused too: it was just done.
        click(wposter, action, jr, ts, user="U_BOB")
        wait_for(lambda: len([t for t in ephemeral_texts(slack, "U_BOB") if "ago" in t]) >= 1)
        assert wonolo.count("POST", path) == 1

    wonolo.inject_failure(None, delay=0.5, method="PATCH", path_contains="/job_requests")
    bodies = [block_actions_body(ids.WONOLO_CANCEL_REQUEST, str(jr), message_ts=ts, channel_id=CHANNEL,
                                 response_url=slack.response_url(f"cancel-{n}")) for n in range(2)]
    assert concurrent(bodies, wbot.events_url) == [200, 200]
    wait_ephemeral(slack, "is cancelled on Wonolo")
    assert wonolo.count("PATCH", f"/job_requests/{jr}") == 1
    assert wonolo.job_requests[jr]["state"] == "cancelled"
    message = wait_for(lambda: (m := slack.message(CHANNEL, ts)) and "CANCELLED" in blocks_text(m) and m)
    assert "Cancelled from Slack by <@U_ALICE>" in blocks_text(message) and action_ids(message) == [ids.WONOLO_BOOK_AGAIN]
    audit = [(a.action, a.outcome) for a in audit_store.audit_since(wbot.db, "") if a.action.startswith("wonolo")]
    assert audit.count((ids.WONOLO_CANCEL_REQUEST, "cancelled")) == 1
    assert audit.count((ids.WONOLO_RESEND, "done")) == 1 and audit.count((ids.WONOLO_RERANK, "done")) == 1


def test_public_pool_refusal_is_explained_and_a_new_click_tries_again(wbot, wonolo, slack, wposter):
    jr = wonolo.add_job_request(request_name="Pool")
    ts = posted_request(wonolo, wbot, slack, jr)
    wonolo.public_pool = True
    click(wposter, ids.WONOLO_CANCEL_REQUEST, jr, ts)
    [refusal] = wait_ephemeral(slack, "Public Pool")
    assert "403" in refusal and wonolo.job_requests[jr]["state"] == "posted"
    assert action_ids(slack.message(CHANNEL, ts))[-1] == ids.WONOLO_CANCEL_REQUEST
    wonolo.public_pool = False
    click(wposter, ids.WONOLO_CANCEL_REQUEST, jr, ts)
    wait_ephemeral(slack, "is cancelled on Wonolo")
    assert wonolo.count("PATCH", f"/job_requests/{jr}") == 2 and wonolo.job_requests[jr]["state"] == "cancelled"
    outcomes = [a.outcome for a in audit_store.audit_since(wbot.db, "") if a.action == ids.WONOLO_CANCEL_REQUEST]
    assert outcomes == ["failed", "cancelled"]


def test_cancel_job_and_message_worker_through_their_modals(wbot, wonolo, slack, wposter):
    jr = wonolo.add_job_request(request_name="Movers")
    worker = wonolo.add_user(first_name="James", last_name="Chen")
    job = wonolo.add_job(jr, worker, "filled")
    reply = job_reply(wonolo, wbot, slack, job)

    # Message worker: the modal, then a double submit sends one message.
    assert click(wposter, ids.WONOLO_MESSAGE_WORKER, job, reply.ts).status_code == 200
    view = wait_for(lambda: [v for v in slack.views() if v["view"]["callback_id"] == ids.WONOLO_MESSAGE_MODAL])[0]["view"]
    assert "James Chen" in json.dumps(view)
    empty = {ids.WONOLO_MESSAGE_BLOCK: {ids.WONOLO_MESSAGE_INPUT: {"type": "plain_text_input", "value": "  "}}}
    answer = wposter.submit_view(ids.WONOLO_MESSAGE_MODAL, empty, private_metadata=view["private_metadata"])
    assert answer.json()["response_action"] == "errors"
    values = {ids.WONOLO_MESSAGE_BLOCK: {ids.WONOLO_MESSAGE_INPUT: {"type": "plain_text_input", "value": "Gate B, 8am"}}}
    bodies = [view_submission_body(ids.WONOLO_MESSAGE_MODAL, values, private_metadata=view["private_metadata"],
                                   view_id="V_MSG") for _ in range(2)]
    assert concurrent(bodies, wbot.events_url) == [200, 200]
    wait_ephemeral(slack, "Message sent to *James Chen*")
    wait_ephemeral(slack, "already")
    assert wonolo.count("POST", "/messages") == 1
    [sent] = wonolo.messages.values()
    assert (sent["sender_id"], sent["receiver_id"], sent["job_id"], sent["body"]) == (
        wonolo.employer_id, worker, job, "Gate B, 8am")

    # Cancel job: a reason is required; a double submit cancels once.
    assert click(wposter, ids.WONOLO_CANCEL_JOB, job, reply.ts).status_code == 200
    view = wait_for(lambda: [v for v in slack.views() if v["view"]["callback_id"] == ids.WONOLO_CANCEL_JOB_MODAL])[0]["view"]
    none = {ids.WONOLO_CANCEL_REASON_BLOCK: {ids.WONOLO_CANCEL_REASON_INPUT: {"type": "static_select", "selected_option": None}}}
    answer = wposter.submit_view(ids.WONOLO_CANCEL_JOB_MODAL, none, private_metadata=view["private_metadata"])
    assert ids.WONOLO_CANCEL_REASON_BLOCK in answer.json()["errors"]
    wonolo.inject_failure(None, delay=0.5, method="PATCH", path_contains=f"/jobs/{job}")
    chosen = {ids.WONOLO_CANCEL_REASON_BLOCK: {ids.WONOLO_CANCEL_REASON_INPUT: {
        "type": "static_select", "selected_option": {"value": "decided_to_cancel"}}}}
    bodies = [view_submission_body(ids.WONOLO_CANCEL_JOB_MODAL, chosen, private_metadata=view["private_metadata"],
                                   view_id=f"V{n}") for n in range(2)]
    assert concurrent(bodies, wbot.events_url) == [200, 200]
    wait_ephemeral(slack, "is cancelled on Wonolo")
    assert wonolo.count("PATCH", f"/jobs/{job}") == 1
    assert wonolo.jobs[job]["state"] == "cancelled" and wonolo.jobs[job]["cancelled_reason"] == "decided_to_cancel"
    _, root, _ = request_row(wbot, jr)
    last = wait_for(lambda: len(slack.thread(CHANNEL, root)) == 3 and slack.thread(CHANNEL, root)[2])
    assert ":rotating_light: *CANCELLED*" in blocks_text(last) and "decided_to_cancel" in blocks_text(last)
    wait_for(lambda: action_ids(slack.message(CHANNEL, reply.ts)) == [])
    # Wonolo's own webhook for that change posts nothing more.
    fetched = wonolo.count("GET", f"/job_requests/{jr}")
    send(wonolo, wbot, "job", job)
    wait_for(lambda: wonolo.count("GET", f"/job_requests/{jr}") > fetched)  # processed
    time.sleep(0.3)
    assert len(slack.thread(CHANNEL, root)) == 3


def test_unauthorised_user_is_refused_and_nothing_is_called(wbot, wonolo, slack, wposter):
    jr = wonolo.add_job_request()
    job = wonolo.add_job(jr, wonolo.add_user(), "filled")
    reply = job_reply(wonolo, wbot, slack, job)
    root = reply.thread_ts
    before = wonolo.count()
    for action, value, ts in ((ids.WONOLO_RESEND, jr, root), (ids.WONOLO_RERANK, jr, root),
                              (ids.WONOLO_CANCEL_REQUEST, jr, root), (ids.WONOLO_CANCEL_JOB, job, reply.ts),
                              (ids.WONOLO_MESSAGE_WORKER, job, reply.ts)):
        assert click(wposter, action, value, ts, user="U_MALLORY").status_code == 200
    wait_for(lambda: len(slack.ephemerals("U_MALLORY")) == 5)
    assert all("not allowed" in t for t in ephemeral_texts(slack, "U_MALLORY"))
    # A modal submitted anyway (forged) is refused as well.
    values = {ids.WONOLO_MESSAGE_BLOCK: {ids.WONOLO_MESSAGE_INPUT: {"type": "plain_text_input", "value": "hi"}}}
    wposter.submit_view(ids.WONOLO_MESSAGE_MODAL, values, private_metadata=json.dumps({"job_id": str(job)}),
                        user_id="U_MALLORY")
    refused = wait_for(lambda: len(r := [a for a in audit_store.audit_since(wbot.db, "") if a.user_id == "U_MALLORY"]) == 6 and r)
    assert {a.outcome for a in refused} == {"refused"}
    assert wonolo.count() == before and slack.views() == []
    # Tampered values, or a button on another message, are refused without calling Wonolo.
    for action, value, ts in ((ids.WONOLO_RESEND, "../../users", root), (ids.WONOLO_RESEND, f" {jr}", root),
                              (ids.WONOLO_CANCEL_REQUEST, jr, reply.ts), (ids.WONOLO_CANCEL_JOB, job, root),
                              (ids.WONOLO_MESSAGE_WORKER, jr, reply.ts)):
        click(wposter, action, value, ts)
    wait_for(lambda: len([t for t in ephemeral_texts(slack) if "does not belong" in t]) == 5)
    assert wonolo.count() == before and slack.views() == []


# --------------------------------------------------------------------------- /wonolo


def test_wonolo_command_lists_shows_and_explains(wbot, wonolo, slack, wposter):
    worker = wonolo.add_user(first_name="Tom", last_name="Becker", email="tom@example.com", phone="+15550100")
    first = wonolo.add_job_request(request_name=HOSTILE)
    for n in range(24):
        wonolo.add_job_request(request_name=f"Shift {n}")
    job = wonolo.add_job(first, worker, "filled")
    wonolo._new_badge("Forklift", "Holds a forklift card")

    text, _ = command(wposter, slack, "")
    assert "/wonolo requests [state]" in text and "/wonolo worker &lt;id|email&gt;" in text
    assert "<id|email>" not in text  # escaped like /rw's: no link

    text, answer = command(wposter, slack, "requests")
    assert "page 1" in text and f"`{first}`" in text and "Shift 18" in text and "Shift 19" not in text
    assert ids.WONOLO_PAGE_NEXT in text  # the rest is a click away
    assert "<!channel>" not in parsed_text(answer["blocks"], answer["text"]) and "&lt;!channel&gt;" in text
    text, _ = command(wposter, slack, "requests filled")
    assert "*Filled job requests* · page 1" in text and f"`{first}`" in text and ids.WONOLO_PAGE_NEXT not in text
    text, _ = command(wposter, slack, "requests Cancelled")
    assert "No cancelled job requests" in text
    text, _ = command(wposter, slack, "requests <!here>")
    assert "Unknown job request state `&lt;!here&gt;`" in text and "`unfilled`" in text and "`posted`" in text

    text, _ = command(wposter, slack, f"request {first}")
    assert "Tom Becker" in text and "1/1 filled" in text
    text, _ = command(wposter, slack, "request 999999")
    assert "No job request with id `999999`" in text

    text, _ = command(wposter, slack, "jobs filled")
    assert f"`{job}`" in text and "Tom Becker" in text
    text, _ = command(wposter, slack, "jobs nope")
    assert "Unknown job state `nope`" in text and "`no_show`" in text
    text, _ = command(wposter, slack, f"job {job}")
    assert "Tom Becker" in text and f"Job request `{first}`" in text
    text, _ = command(wposter, slack, "job 424242")
    assert "No job with id `424242`" in text

    text, _ = command(wposter, slack, f"worker {worker}")
    assert "Tom Becker" in text and "tom@example.com" in text and "+15550100" in text
    text, _ = command(wposter, slack, "worker TOM@example.com")
    assert "Tom Becker" in text
    text, _ = command(wposter, slack, "worker nobody@example.com")
    assert "No worker with email `nobody@example.com`" in text
    text, _ = command(wposter, slack, f"worker {worker}", user="U_MALLORY")  # an outsider learns nothing
    assert "allowed users only" in text and "Tom Becker" not in text and "tom@example.com" not in text

    text, _ = command(wposter, slack, "badges")
    assert "Forklift" in text
    text, _ = command(wposter, slack, "frobnicate")
    assert "Unknown command `frobnicate`" in text and "/wonolo badges" in text


def test_hostile_request_name_is_escaped_in_the_channel(wbot, wonolo, slack):
    jr = wonolo.add_job_request(request_name=HOSTILE, venue="<@U0BOSS>", city="<!everyone>")
    worker = wonolo.add_user(first_name="<!here>", last_name="<https://x.example|bob>")
    job = wonolo.add_job(jr, worker, "filled")
    reply = job_reply(wonolo, wbot, slack, job)
    [root] = top_messages(slack)
    for message in (root, reply):
        parsed = parsed_text(message.blocks, message.text)
        for bad in ("<!channel>", "<@U0BOSS>", "<!everyone>", "<!here>", "<https://"):
            assert bad not in parsed
    assert "&lt;!channel&gt; Free" in blocks_text(root) and "&lt;!here&gt;" in blocks_text(reply)


def test_without_wonolo_keys_the_command_explains_and_the_webhook_is_404(make_bot, slack):
    bot = make_bot()
    poster = SlackPoster(bot.events_url, standin=slack)
    try:
        assert poster.command("/wonolo", "requests", channel_id=CHANNEL).status_code == 200
        wait_ephemeral(slack, "Wonolo is not configured (set WONOLO_API_KEY and WONOLO_SECRET_KEY)")
        response = requests.post(bot.url + "/wonolo/webhook", data=b"{}", headers={HEADER: "x"}, timeout=5)
        assert response.status_code == 404
    finally:
        poster.session.close()
