"""The Slack stand-in and the signed-request builders, checked with the real
slack_sdk WebClient, its retry handlers, SignatureVerifier and a Bolt app."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from sandbox.slack_workspace.server import SlackStandin
from tests.support.harness import wait_until
from tests.support.slack_requests import (
    SIGNING_SECRET,
    SlackPoster,
    app_home_opened_body,
    block_actions_body,
    payload_of,
    sign,
    slash_command_body,
    view_closed_body,
    view_submission_body,
)

TOKEN = "xoxb-test-token"


@pytest.fixture(scope="module")
def server():
    standin = SlackStandin()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def slack(server):
    server.reset()
    return server


@pytest.fixture
def client(slack):
    return WebClient(token=TOKEN, base_url=slack.api_url, timeout=5)


def _err(excinfo) -> str:
    return excinfo.value.response["error"]


def _section(text: str, block_id: str | None = None) -> dict:
    b = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        b["block_id"] = block_id
    return b


# ------------------------------------------------------------------ basics


def test_auth_test_and_token_checks(slack, client):
    r = client.auth_test()
    assert r["ok"] and r["user_id"] == "UBOT" and r["team_id"] == "T0GIGDESK" and r["bot_id"] == "BBOT"
    assert r["url"].startswith("https://")
    assert "chat:write" in r.headers["x-oauth-scopes"]  # what Bolt reads as bot_scopes
    assert slack.api_url.startswith("http://127.0.0.1:") and slack.api_url.endswith("/api/")
    assert slack.api_url == slack.url + "api/"

    for bad in (WebClient(token="xoxb-wrong", base_url=slack.api_url), WebClient(base_url=slack.api_url)):
        with pytest.raises(SlackApiError) as e:
            bad.chat_postMessage(channel="C_REVIEW", text="x")
        assert _err(e) == "invalid_auth"
    with pytest.raises(SlackApiError) as e:
        client.api_call("chat.scheduleMessage", json={"channel": "C_REVIEW", "text": "x"})
    assert _err(e) == "unknown_method"

    # the token may also come as a form parameter
    r = requests.post(slack.api_url + "auth.test", data={"token": TOKEN}, timeout=5).json()
    assert r["ok"] is True
    assert slack.messages("C_REVIEW") == []
    assert [c.method for c in slack.calls] == ["auth.test", "chat.postMessage", "chat.postMessage",
                                               "chat.scheduleMessage", "auth.test"]
    assert slack.calls[1].token == "xoxb-wrong" and slack.calls[2].token is None
    assert slack.calls[1].error == "invalid_auth" and slack.calls[0].ok is True


def test_post_update_delete_and_permalink(slack, client):
    r = client.chat_postMessage(channel="C_REVIEW", text="first", blocks=[_section("*first*", "s1")])
    ts = r["ts"]
    assert r["channel"] == "C_REVIEW" and r["message"]["text"] == "first"
    r2 = client.chat_postMessage(channel="C_REVIEW", text="second")
    assert float(r2["ts"]) > float(ts) and len(ts.split(".")[1]) == 6

    client.chat_update(channel="C_REVIEW", ts=ts, text="first, decided", blocks=[_section("done", "s2")])
    m = slack.message("C_REVIEW", ts)
    assert (m.text, m.updates, m.blocks[0]["block_id"], m.user) == ("first, decided", 1, "s2", "UBOT")
    client.chat_update(channel="C_REVIEW", ts=ts, text="text only")  # blocks kept, like Slack
    assert slack.message("C_REVIEW", ts).blocks[0]["block_id"] == "s2"
    assert slack.message("C_REVIEW", ts).updates == 2

    link = client.chat_getPermalink(channel="C_REVIEW", message_ts=ts)["permalink"]
    assert link == f"https://gigdesk-standin.slack.invalid/archives/C_REVIEW/p{ts.replace('.', '')}"

    client.chat_delete(channel="C_REVIEW", ts=r2["ts"])
    assert [m.ts for m in slack.messages("C_REVIEW")] == [ts]
    with pytest.raises(SlackApiError) as e:
        client.chat_update(channel="C_REVIEW", ts=r2["ts"], text="gone")
    assert _err(e) == "message_not_found"


def test_channel_errors(slack, client):
    slack.set_members("C_PRIVATE_NOBOT", ["U_ALICE"])
    cases = [
        (lambda: client.chat_postMessage(channel="C_NOPE", text="x"), "channel_not_found"),
        (lambda: client.chat_postMessage(channel="C_PRIVATE_NOBOT", text="x"), "not_in_channel"),
        (lambda: client.api_call("chat.postMessage", json={"channel": "C_REVIEW"}), "no_text"),
        (lambda: client.chat_update(channel="C_REVIEW", ts="1.000001", text="x"), "message_not_found"),
        (lambda: client.chat_postEphemeral(channel="C_REVIEW", user="U_CAROL", text="x"), "user_not_in_channel"),
        (lambda: client.conversations_history(channel="C_NOPE"), "channel_not_found"),
        (lambda: client.conversations_replies(channel="C_REVIEW", ts="1.000001"), "thread_not_found"),
        (lambda: client.users_info(user="not-a-user"), "user_not_found"),
        (lambda: client.files_info(file="F404"), "file_not_found"),
    ]
    for call, error in cases:
        with pytest.raises(SlackApiError) as e:
            call()
        assert _err(e) == error
    assert slack.messages("C_REVIEW") == []


def test_block_kit_limits_are_enforced(slack, client):
    with pytest.raises(SlackApiError) as e:
        client.chat_postMessage(channel="C_REVIEW", text="x", blocks=[_section("a" * 3001)])
    assert _err(e) == "invalid_blocks"
    assert "3001" in " ".join(e.value.response["response_metadata"]["messages"])
    for blocks in ([_section("a", "dup"), _section("b", "dup")], [_section("x")] * 51,
                   [{"type": "actions", "elements": [{"type": "button", "action_id": "a",
                                                      "text": {"type": "plain_text", "text": "y" * 76}}]}]):
        with pytest.raises(SlackApiError) as e:
            client.chat_postMessage(channel="C_REVIEW", text="x", blocks=blocks)
        assert _err(e) == "invalid_blocks"
    client.chat_postMessage(channel="C_REVIEW", text="x", blocks=[_section("a" * 3000)] * 50)
    assert len(slack.messages("C_REVIEW")) == 1


def test_form_encoded_bodies_are_decoded(slack):
    blocks = [_section("hi", "b1")]
    r = requests.post(slack.api_url + "chat.postMessage",
                      data={"channel": "C_REVIEW", "text": "form", "blocks": json.dumps(blocks),
                            "metadata": json.dumps({"event_type": "t", "event_payload": {"a": 1}})},
                      headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).json()
    assert r["ok"], r
    call = slack.calls_to("chat.postMessage")[0]
    assert call.args["blocks"] == blocks and call.args["metadata"]["event_payload"] == {"a": 1}
    assert "token" not in call.args
    m = slack.message("C_REVIEW", r["ts"])
    assert m.blocks == blocks and m.metadata == {"event_type": "t", "event_payload": {"a": 1}}


# --------------------------------------------------- history and metadata


def test_history_metadata_round_trip_and_pagination(slack, client):
    posted = []
    for i in range(5):
        md = {"event_type": "gigdesk_submission", "event_payload": {"submission_id": f"S{i}", "n": i}}
        posted.append(client.chat_postMessage(channel="C_REVIEW", text=f"m{i}", metadata=md)["ts"])
    client.chat_postMessage(channel="C_REVIEW", text="reply", thread_ts=posted[0])

    plain = client.conversations_history(channel="C_REVIEW")
    assert [m["text"] for m in plain["messages"]] == ["m4", "m3", "m2", "m1", "m0"]  # newest first, no replies
    assert all("metadata" not in m for m in plain["messages"])
    assert plain["messages"][-1]["reply_count"] == 1 and plain["messages"][-1]["thread_ts"] == posted[0]

    seen = []
    cursor = None
    pages = 0
    while True:
        page = client.conversations_history(channel="C_REVIEW", limit=2, cursor=cursor, include_all_metadata=True)
        pages += 1
        seen += page["messages"]
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] == bool(cursor)
        if not cursor:
            break
    assert pages == 3
    assert [m["metadata"] for m in seen] == [
        {"event_type": "gigdesk_submission", "event_payload": {"submission_id": f"S{i}", "n": i}}
        for i in reversed(range(5))
    ]
    # oldest/latest are exclusive by default
    window = client.conversations_history(channel="C_REVIEW", oldest=posted[1], latest=posted[4])
    assert [m["text"] for m in window["messages"]] == ["m3", "m2"]
    # slack_sdk's own paginator walks the cursors
    total = sum(len(p["messages"]) for p in client.conversations_history(channel="C_REVIEW", limit=2))
    assert total == 5

    replies = client.conversations_replies(channel="C_REVIEW", ts=posted[0], include_all_metadata=True)
    assert [m["text"] for m in replies["messages"]] == ["m0", "reply"]
    assert replies["messages"][0]["metadata"]["event_payload"]["submission_id"] == "S0"
    assert [m.text for m in slack.thread("C_REVIEW", posted[0])] == ["m0", "reply"]
    assert len(slack.messages("C_REVIEW")) == 6
    assert len(slack.messages("C_REVIEW", include_replies=False)) == 5


def test_members_info_and_users(slack, client):
    slack.set_members("C_BIG", ["UBOT"] + [f"U{i:03d}" for i in range(7)])
    got = []
    for page in client.conversations_members(channel="C_BIG", limit=3):
        got += page["members"]
    assert got == ["UBOT"] + [f"U{i:03d}" for i in range(7)]
    assert client.conversations_members(channel="C_REVIEW")["members"] == ["U_ALICE", "U_BOB", "UBOT"]
    info = client.conversations_info(channel="C_REVIEW", include_num_members=True)["channel"]
    assert info["is_member"] is True and info["num_members"] == 3
    user = client.users_info(user="U_ALICE")["user"]
    assert user["tz"] == "America/New_York" and user["real_name"] == "Alice"


def test_scopes_are_enforced(slack):
    narrow = SlackStandin(scopes=["chat:write"])
    narrow.start()
    try:
        c = WebClient(token=TOKEN, base_url=narrow.api_url)
        c.chat_postMessage(channel="C_REVIEW", text="ok")
        with pytest.raises(SlackApiError) as e:
            c.users_info(user="U_ALICE")
        assert _err(e) == "missing_scope" and e.value.response["needed"] == "users:read"
    finally:
        narrow.stop()


# ------------------------------------------------------ rate limits, faults


def test_retry_handler_rides_out_rate_limit(slack):
    limited = SlackStandin(post_rate=5, post_burst=3)
    limited.start()
    try:
        handler = RateLimitErrorRetryHandler(max_retry_count=3)
        c = WebClient(token=TOKEN, base_url=limited.api_url, retry_handlers=[handler], timeout=5)
        for i in range(12):
            assert c.chat_postMessage(channel="C_REVIEW", text=f"msg {i}")["ok"]
        texts = [m.text for m in limited.messages("C_REVIEW")]
        assert texts == [f"msg {i}" for i in range(12)]  # every one exactly once, in order
        refused = [c for c in limited.calls_to("chat.postMessage") if c.status == 429]
        assert refused and all(c.error == "ratelimited" for c in refused)
        assert len(limited.calls_to("chat.postMessage")) == 12 + len(refused)
    finally:
        limited.stop()


def test_rate_limit_answer_is_slacks(slack):
    limited = SlackStandin(post_rate=0.5, post_burst=2)
    limited.start()
    try:
        hdr = {"Authorization": f"Bearer {TOKEN}"}
        url = limited.api_url + "chat.postMessage"
        statuses = [requests.post(url, json={"channel": "C_REVIEW", "text": "x"}, headers=hdr, timeout=5)
                    for _ in range(3)]
        assert [r.status_code for r in statuses] == [200, 200, 429]
        r = statuses[-1]
        assert r.json() == {"ok": False, "error": "ratelimited"}
        assert r.headers["Retry-After"].isdigit() and int(r.headers["Retry-After"]) >= 1
        # limited per channel: another channel still has its burst
        assert requests.post(url, json={"channel": "C_DIGEST", "text": "x"}, headers=hdr, timeout=5).ok
        # without a retry handler, slack_sdk raises
        with pytest.raises(SlackApiError) as e:
            WebClient(token=TOKEN, base_url=limited.api_url).chat_postMessage(channel="C_REVIEW", text="y")
        assert e.value.response.status_code == 429
        assert len(limited.messages("C_REVIEW")) == 2
    finally:
        limited.stop()


def test_fail_next(slack, client):
    slack.fail_next("chat.update", error="internal_error", status=500)
    ts = client.chat_postMessage(channel="C_REVIEW", text="orig")["ts"]
    with pytest.raises(SlackApiError) as e:
        client.chat_update(channel="C_REVIEW", ts=ts, text="changed")
    assert e.value.response.status_code == 500 and _err(e) == "internal_error"
    assert slack.message("C_REVIEW", ts).text == "orig" and slack.message("C_REVIEW", ts).updates == 0
    client.chat_update(channel="C_REVIEW", ts=ts, text="changed")
    assert slack.message("C_REVIEW", ts).text == "changed"

    slack.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=2, count=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as e:
            client.chat_postMessage(channel="C_REVIEW", text="later")
        assert e.value.response.status_code == 429 and e.value.response.headers["retry-after"] == "2"
    client.chat_postMessage(channel="C_REVIEW", text="later")
    assert [m.text for m in slack.messages("C_REVIEW")] == ["changed", "later"]
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [200, 429, 429, 200]

    slack.fail_next("conversations.history", error="fatal_error")  # status 200, ok false
    with pytest.raises(SlackApiError) as e:
        client.conversations_history(channel="C_REVIEW")
    assert e.value.response.status_code == 200 and _err(e) == "fatal_error"


def test_drop_after_store_keeps_the_message_and_drops_the_answer(slack):
    plain = WebClient(token=TOKEN, base_url=slack.api_url, timeout=5, retry_handlers=[])
    slack.drop_after_store("chat.postMessage")
    with pytest.raises(Exception) as dropped:  # the client sees the connection close, no answer
        plain.chat_postMessage(channel="C_REVIEW", text="stored")
    assert not isinstance(dropped.value, SlackApiError)
    assert [m.text for m in slack.messages("C_REVIEW")] == ["stored"]
    assert [(c.status, c.error) for c in slack.calls_to("chat.postMessage")] == [(200, "connection_dropped")]
    plain.chat_postMessage(channel="C_REVIEW", text="answered")  # only the next call was dropped
    assert [m.text for m in slack.messages("C_REVIEW")] == ["stored", "answered"]


def test_slack_sdks_default_retry_posts_a_dropped_message_twice(slack, client):
    """Why the bot's client never retries chat.postMessage (bot/services.py): slack_sdk's
    default ConnectionErrorRetryHandler repeats a post whose answer was lost."""
    slack.drop_after_store("chat.postMessage")
    client.chat_postMessage(channel="C_REVIEW", text="once?")
    assert [m.text for m in slack.messages("C_REVIEW")] == ["once?", "once?"]


def test_deliver_sends_an_interaction_on_unchanged_and_stamps_it(slack):
    from sandbox.loopback import LoopbackServer

    got = []

    def app(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        got.append((body, environ.get("HTTP_X_SLACK_SIGNATURE")))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"acked"]

    bot = LoopbackServer(app, name="app")
    url = bot.start("127.0.0.1", 0) + "/slack/events"
    try:
        body = block_actions_body("approve", "1", message_ts="1700000000.000100", response_url=slack.response_url())
        headers = {**sign(body), "X-Deliver-To": url}
        before = time.monotonic()
        answer = requests.post(f"{slack.url}_deliver", data=body, headers=headers, timeout=5)
        assert (answer.status_code, answer.text) == (200, "acked")
        assert got == [(body, headers["X-Slack-Signature"])]
        [delivery] = slack.deliveries()
        assert (delivery.to, delivery.message_ts, delivery.status) == (url, "1700000000.000100", 200)
        assert before <= delivery.received <= time.monotonic()
        elsewhere = requests.post(f"{slack.url}_deliver", data=body, headers={**headers, "X-Deliver-To": "http://example.com/x"}, timeout=5)
        assert elsewhere.status_code == 400 and len(slack.deliveries()) == 1  # loopback apps only
    finally:
        bot.stop()


# ----------------------------------------------------------------- files


def test_file_download_needs_the_token(slack, client):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    slack.add_file("F123", png, name="proof.png")
    f = client.files_info(file="F123")["file"]
    assert f["name"] == "proof.png" and f["mimetype"] == "image/png" and f["size"] == len(png)
    url = f["url_private_download"]
    assert url.startswith(slack.url)
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer xoxb-wrong"}, timeout=5).status_code == 401
    r = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert r.status_code == 200 and r.content == png and r.headers["Content-Type"].startswith("image/png")
    assert requests.get(f["url_private"], headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).content == png
    assert [c.status for c in slack.calls_to("files.download")] == [401, 401, 200, 200]


# -------------------------------------------------- ephemerals, hooks, views


def test_ephemerals_and_response_urls(slack, client):
    client.chat_postEphemeral(channel="C_REVIEW", user="U_BOB", text="only bob")
    hook = slack.response_url("cmd", channel="C_REVIEW", user="U_ALICE")
    WebhookClient(hook).send(text="only alice")
    WebhookClient(hook).send(text="everyone", response_type="in_channel")
    assert [(e["user"], e["text"], e["via"]) for e in slack.ephemerals()] == [
        ("U_BOB", "only bob", "postEphemeral"), ("U_ALICE", "only alice", "response_url")]
    assert [e["text"] for e in slack.ephemerals("U_ALICE")] == ["only alice"]
    assert [m.text for m in slack.messages("C_REVIEW")] == ["everyone"]

    # a response URL of a clicked message replaces or deletes that message
    ts = client.chat_postMessage(channel="C_REVIEW", text="review me")["ts"]
    click_hook = slack.response_url("click", channel="C_REVIEW", user="U_ALICE", message_ts=ts)
    WebhookClient(click_hook).send(text="approved", replace_original=True)
    assert slack.message("C_REVIEW", ts).text == "approved" and slack.message("C_REVIEW", ts).updates == 1
    assert slack.ephemerals()[-1]["replace_original"] is True
    WebhookClient(click_hook).send(delete_original=True)
    assert [m.text for m in slack.messages("C_REVIEW")] == ["everyone"]

    # a bare response URL takes channel/user/message from the body built with it
    ts = client.chat_postMessage(channel="C_DIGEST", text="digest")["ts"]
    bare = slack.response_url()
    block_actions_body("x", "1", user_id="U_BOB", channel_id="C_DIGEST", message_ts=ts, response_url=bare)
    WebhookClient(bare).send(text="for bob")
    WebhookClient(bare).send(text="digest, decided", replace_original=True)
    assert slack.ephemerals("U_BOB")[-2]["text"] == "for bob" and slack.ephemerals("U_BOB")[-2]["channel"] == "C_DIGEST"
    assert slack.message("C_DIGEST", ts).text == "digest, decided"

    assert requests.post(slack.url + "hooks/nope", json={"text": "x"}, timeout=5).status_code == 404
    slack.fail_next("response_url", status=500)
    assert WebhookClient(hook).send(text="lost").status_code == 500
    assert len(slack.responses("cmd")) == 2


def test_views(slack, client):
    modal = {"type": "modal", "callback_id": "reject", "title": {"type": "plain_text", "text": "Reject"},
             "submit": {"type": "plain_text", "text": "Reject"}, "private_metadata": "S1",
             "blocks": [{"type": "input", "block_id": "reason", "label": {"type": "plain_text", "text": "Reason"},
                         "element": {"type": "plain_text_input", "action_id": "v"}}]}
    v = client.views_open(trigger_id="T-1", view=modal)["view"]
    assert v["id"].startswith("V") and v["callback_id"] == "reject" and v["private_metadata"] == "S1"
    v2 = client.views_update(view_id=v["id"], hash=v["hash"], view={**modal, "private_metadata": "S2"})["view"]
    assert v2["id"] == v["id"] and v2["private_metadata"] == "S2"
    with pytest.raises(SlackApiError) as e:
        client.views_update(view_id=v["id"], hash=v["hash"], view=modal)  # stale hash
    assert _err(e) == "hash_conflict"
    with pytest.raises(SlackApiError) as e:
        client.views_open(trigger_id="T-2", view={**modal, "title": {"type": "plain_text", "text": "x" * 25}})
    assert _err(e) == "invalid_arguments"
    with pytest.raises(SlackApiError) as e:
        client.views_open(trigger_id="T-2", view={k: v for k, v in modal.items() if k != "submit"})
    assert _err(e) == "invalid_arguments"
    client.views_push(trigger_id="T-3", view=modal)
    home = {"type": "home", "blocks": [_section("hello")]}
    client.views_publish(user_id="U_ALICE", view=home)
    assert [(x["method"], x["trigger_id"], x["user_id"]) for x in slack.views()] == [
        ("views.open", "T-1", None), ("views.update", None, None), ("views.push", "T-3", None),
        ("views.publish", None, "U_ALICE")]
    assert slack.views()[0]["view"] == modal


def test_reset_and_threaded_requests(slack, client):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: client.chat_postMessage(channel="C_DIGEST", text=str(i))["ts"], range(40)))
    assert len(set(results)) == 40
    assert sorted(int(m.text) for m in slack.messages("C_DIGEST")) == list(range(40))
    slack.set_members("C_REVIEW", ["U_ALICE"])
    slack.reset()
    assert slack.calls == [] and slack.messages("C_DIGEST") == []
    assert client.conversations_members(channel="C_REVIEW")["members"] == ["U_ALICE", "U_BOB", "UBOT"]


# ------------------------------------------------------- request builders


def test_signatures_verify_with_slack_sdk():
    verifier = SignatureVerifier(SIGNING_SECRET)
    for body in (slash_command_body("/rw", "balance", response_url="http://127.0.0.1:9/hooks/1"),
                 block_actions_body("approve", "S1", message_ts="1.000001", response_url="http://x/hooks/2"),
                 view_submission_body("reject", {"reason": {"v": {"type": "plain_text_input", "value": "no"}}}),
                 view_closed_body("reject"),
                 app_home_opened_body("U_ALICE")):
        headers = sign(body)
        assert verifier.is_valid_request(body, headers)
        assert not SignatureVerifier("other-secret").is_valid_request(body, headers)
        assert not verifier.is_valid_request(body + b"x", headers)
    old = sign(b"a=1", timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(b"a=1", old)  # Slack's 5-minute window
    assert sign(b"{}")["Content-Type"] == "application/json"
    assert sign(b"a=1")["Content-Type"] == "application/x-www-form-urlencoded"


def test_bodies_have_slacks_shape():
    form = parse_qs(slash_command_body("/rw", "job twitter-likes https://x.com/a 10", response_url="http://h/1").decode())
    assert form["command"] == ["/rw"] and form["text"] == ["job twitter-likes https://x.com/a 10"]
    assert {"team_id", "channel_id", "user_id", "response_url", "trigger_id", "api_app_id"} <= set(form)

    message = {"type": "message", "ts": "1.000002", "text": "t", "blocks": [
        {"type": "actions", "block_id": "review:S1", "elements": [
            {"type": "button", "action_id": "approve", "value": "S1", "style": "primary",
             "text": {"type": "plain_text", "text": "Approve"}}]}]}
    p = payload_of(block_actions_body("approve", "S1", message_ts="1.000002", response_url="http://h/2",
                                      message=message))
    assert p["type"] == "block_actions" and p["container"]["message_ts"] == "1.000002"
    assert p["actions"][0]["block_id"] == "review:S1" and p["actions"][0]["text"]["text"] == "Approve"
    assert p["message"] == message and p["channel"]["id"] == "C_REVIEW" and p["user"]["id"] == "U_ALICE"

    v = payload_of(view_submission_body("reject", {"r": {"v": {"type": "plain_text_input", "value": "blurry"}}},
                                        private_metadata="S1"))
    assert v["view"]["state"]["values"]["r"]["v"]["value"] == "blurry" and v["view"]["private_metadata"] == "S1"
    assert payload_of(view_closed_body("reject"))["type"] == "view_closed"
    e = json.loads(app_home_opened_body("U_BOB"))
    assert e["type"] == "event_callback" and e["event"]["type"] == "app_home_opened" and e["event"]["user"] == "U_BOB"
    assert json.loads(app_home_opened_body("U_BOB"))["event_id"] != e["event_id"]


def test_bolt_app_accepts_the_built_requests(slack):
    """A real Bolt app behind werkzeug receives every kind of built request."""
    import threading

    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from werkzeug.serving import make_server

    app = App(signing_secret=SIGNING_SECRET, client=WebClient(token=TOKEN, base_url=slack.api_url))
    got: list[str] = []

    @app.command("/rw")
    def rw(ack, respond, command):
        ack()
        respond(f"balance for {command['user_id']}")

    @app.action("approve")
    def approve(ack, respond, body, action):
        ack()
        got.append(f"click {action['value']} {body['message']['ts']}")
        respond(text="approved", replace_original=True)

    @app.view("reject")
    def reject(ack, view):
        ack()
        got.append("reason " + view["state"]["values"]["r"]["v"]["value"])

    @app.view_closed("reject")
    def closed(ack):
        ack()
        got.append("closed")

    @app.event("app_home_opened")
    def home(client, event):
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": [_section("home")]})

    server = make_server("127.0.0.1", 0, SlackRequestHandler(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        poster = SlackPoster(f"http://127.0.0.1:{server.server_port}/slack/events", standin=slack)
        assert poster.command("/rw", "balance").status_code == 200
        ts = WebClient(token=TOKEN, base_url=slack.api_url).chat_postMessage(
            channel="C_REVIEW", text="review", blocks=[{"type": "actions", "block_id": "rv", "elements": [
                {"type": "button", "action_id": "approve", "value": "S9",
                 "text": {"type": "plain_text", "text": "Approve"}}]}])["ts"]
        assert poster.click("approve", "S9", message_ts=ts).status_code == 200
        assert poster.submit_view("reject", {"r": {"v": {"type": "plain_text_input", "value": "blurry"}}}).status_code == 200
        assert poster.close_view("reject").status_code == 200
        assert poster.home_opened("U_BOB").status_code == 200
        assert poster.command("/rw", "balance", sign_it=False).status_code == 401
        assert poster.command("/rw", "balance", timestamp=int(time.time()) - 3600).status_code == 401

        wait_until(lambda: len(slack.ephemerals()) >= 2 and slack.views() and slack.message("C_REVIEW", ts).updates,
                   timeout=5)
        assert [e["text"] for e in slack.ephemerals("U_ALICE")][0] == "balance for U_ALICE"
        assert slack.message("C_REVIEW", ts).text == "approved"
        assert f"click S9 {ts}" in got and "reason blurry" in got and "closed" in got
        assert slack.views()[-1]["user_id"] == "U_BOB"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("method", ["conversations_members", "conversations_history", "conversations_replies"])
def test_limits_above_slacks_documented_maximum_are_refused(slack, client, method):
    posted = client.chat_postMessage(channel="C_REVIEW", text="root")["ts"]
    kwargs = {"channel": "C_REVIEW", **({"ts": posted} if method == "conversations_replies" else {})}
    with pytest.raises(SlackApiError) as e:
        getattr(client, method)(limit=1000, **kwargs)
    assert _err(e) == "invalid_limit"
    assert getattr(client, method)(limit=999, **kwargs)["ok"]


def test_text_and_response_url_limits_are_slacks(slack, client):
    with pytest.raises(SlackApiError) as e:
        client.chat_postEphemeral(channel="C_REVIEW", user="U_ALICE", text="x" * 40_001)
    assert _err(e) == "msg_too_long"
    url = slack.response_url("five", channel="C_REVIEW", user="U_ALICE")
    hook = WebhookClient(url)
    assert [hook.send(text=f"n{n}").status_code for n in range(6)] == [200] * 5 + [404]
    assert slack.calls_to("response_url")[-1].error == "used_url"
    import time_machine

    old = slack.response_url("old", channel="C_REVIEW", user="U_ALICE")
    with time_machine.travel(time.time() + 31 * 60):
        assert WebhookClient(old).send(text="late").status_code == 404
    assert slack.calls_to("response_url")[-1].error == "expired_url"


def test_metadata_payloads_are_bounded_like_the_bot_needs_them(slack, client):
    standin = slack
    ok = {"event_type": "gigdesk_x", "event_payload": {"ids": list(range(100))}}
    client.chat_postMessage(channel="C_REVIEW", text="fits", metadata=ok)
    for too_big in ({"ids": list(range(101))}, {"text": "x" * 8_001}):
        with pytest.raises(SlackApiError) as e:
            client.chat_postMessage(channel="C_REVIEW", text="too big", metadata={"event_type": "gigdesk_x", "event_payload": too_big})
        assert e.value.response["error"] == "invalid_metadata_format"
    assert [m.text for m in standin.messages("C_REVIEW")] == ["fits"]
# --------------------------------------------------------------------------- Socket Mode


def _open_socket(slack):
    """A raw WebSocket to the stand-in, as an app opens it: apps.connections.open, connect, hello."""
    import websocket

    url = WebClient(base_url=slack.api_url).apps_connections_open(app_token=slack.app_token)["url"]
    assert url.startswith("ws://127.0.0.1:")
    ws = websocket.create_connection(url, timeout=5)
    return url, ws, json.loads(ws.recv())


def test_socket_mode_tokens_as_slack_checks_them(slack):
    app = WebClient(base_url=slack.api_url)
    with pytest.raises(SlackApiError) as bot_token:
        app.apps_connections_open(app_token=TOKEN)
    with pytest.raises(SlackApiError) as wrong:
        app.apps_connections_open(app_token="xapp-1-A0GIGDESK-1-wrong")
    with pytest.raises(SlackApiError) as app_token_elsewhere:
        WebClient(token=slack.app_token, base_url=slack.api_url).chat_postMessage(channel="C_REVIEW", text="x")
    assert (_err(bot_token), _err(wrong), _err(app_token_elsewhere)) == ("not_allowed_token_type", "invalid_auth", "not_allowed_token_type")
    slack.revoke_app_token()
    with pytest.raises(SlackApiError) as revoked:
        app.apps_connections_open(app_token=slack.app_token)
    assert _err(revoked) == "token_revoked"


def test_socket_mode_hello_envelopes_acks_and_one_time_urls(slack):
    import websocket

    url, ws, hello = _open_socket(slack)
    try:
        assert hello["type"] == "hello" and hello["num_connections"] == 1 and hello["connection_info"]["app_id"]
        with pytest.raises(websocket.WebSocketBadStatusException):
            websocket.create_connection(url, timeout=5)  # a URL is good for one connection
        sm = slack.socket_mode
        envelope = sm.send_envelope("interactive", {"type": "block_suggestion", "value": "su"})
        sent = json.loads(ws.recv())
        assert set(sent) == {"envelope_id", "type", "accepts_response_payload", "retry_attempt", "retry_reason", "payload"}
        assert (sent["type"], sent["accepts_response_payload"], sent["retry_attempt"]) == ("interactive", True, 0)
        ws.send(json.dumps({"envelope_id": sent["envelope_id"], "payload": {"options": []}}))
        assert envelope.acked.wait(5) and envelope.ack["payload"] == {"options": []}
        connection = sm.disconnect("warning", grace=0.2)
        assert json.loads(ws.recv()) == {"type": "disconnect", "reason": "warning", "debug_info": {"host": "standin-socket"}}
        wait_until(lambda: not connection.open)
        assert connection.close_how == "disconnect"  # Slack closed it after the grace period
    finally:
        ws.close()


def test_socket_mode_redelivers_what_was_not_acknowledged_on_the_next_connection(slack):
    _, ws, _ = _open_socket(slack)
    sm = slack.socket_mode
    envelope = sm.send_envelope("events_api", {"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_home_opened"}})
    assert json.loads(ws.recv())["envelope_id"] == envelope.envelope_id
    sm.drop("reset")
    ws.close()
    _, ws2, _ = _open_socket(slack)
    try:
        again = json.loads(ws2.recv())
        assert (again["envelope_id"], again["retry_attempt"], again["retry_reason"]) == (envelope.envelope_id, 1, "timeout")
        assert again["accepts_response_payload"] is False  # events take no payload in their ack
        ws2.send(json.dumps({"envelope_id": envelope.envelope_id}))
        assert envelope.acked.wait(5)
    finally:
        ws2.close()
