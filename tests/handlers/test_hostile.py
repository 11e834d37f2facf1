"""Hostile requests: tampered button values, payloads and modal state; forged or replayed signatures.

Properties, over many generated requests against one running bot per test:
never a 5xx, never a traceback or an internal error in a reply, and no call
to RapidWorkers that the clicker was not shown and allowed to make.
"""

from __future__ import annotations

import copy
import json
import time
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from bot.slack import ids
from storage import submissions as subs
from tests.support.harness import wait_for
from tests.support.slack_requests import block_actions_body, payload_of, sign, view_submission_body

ALLOWED = ("U_ALICE", "U_BOB")  # members of the review channel
OUTSIDER = "U_MALLORY"
HYPOTHESIS = settings(
    max_examples=100,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],  # no slow "explain" phase
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
BAD_SIGNS = ("Traceback", 'File "', "went wrong", "Exception", "Error:")
TRICKY_VALUES = [
    "", " ", "0", "-1", "+1001", "1001 ", " 1001", "1_001", "1e3", "0x3e9", "1001.0", "१००१", "１００１", "٠",
    "9" * 19, "9" * 400, "1" * 5000, "null", "None", "[]", "{}", '{"submission_id": 1001}', "1001\n", "1001\x00",
    "'; DROP TABLE submissions;--", "<!channel>", "<@U_ALICE>", "\u202e1001", "𝟏𝟎𝟎𝟏", "1001" * 1000,
]
SHORT_TRICKY = [v for v in TRICKY_VALUES if len(v) < 100]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50) | st.sampled_from(SHORT_TRICKY),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)


def assert_clean(text: str) -> None:
    for bad in BAD_SIGNS:
        assert bad not in text, text


def decision_calls(sandbox) -> list[str]:
    return [r.path for r in sandbox.requests if r.method == "POST" and ("/approve" in r.path or "/reject" in r.path or "/bulk_action" in r.path)]


def block_calls(sandbox) -> int:
    return sandbox.count(method="POST", path_contains="/workers/")


@pytest.fixture
def bot(make_bot):
    """These tests click single review messages: 40 new in one sync stay one message each
    (past GIGDESK_BATCH_ABOVE they would be batch rows; tests/bot/review/test_less_noise.py)."""
    return make_bot(GIGDESK_BATCH_ABOVE="1000")


@pytest.fixture
def open_submissions(bot, sandbox):
    """40 submissions of distinct workers, posted and waiting for a decision."""
    cid = sandbox.add_campaign("Hostile", status="Active", pay="0.10", total=100)
    sids = [sandbox.add_submission(cid, proof_text=f"proof {n}") for n in range(40)]
    assert bot.review.sync().posted == 40
    return sids


def _post(bot, body: bytes, **sign_kw) -> requests.Response:
    response = requests.post(bot.events_url, data=body, headers=sign(body, **sign_kw), timeout=10)
    assert response.status_code < 500, response.text
    assert_clean(response.text)
    return response


# --- button values ----------------------------------------------------------------------------


@HYPOTHESIS
@given(data=st.data())
def test_tampered_button_values_never_act_beyond_what_was_shown(bot, sandbox, slack, open_submissions, data):
    sids = open_submissions
    target = data.draw(st.sampled_from(sids), label="clicked message")
    value = data.draw(
        st.one_of(
            st.just(str(target)),  # the button as shown
            st.sampled_from(sids).map(str),  # another submission's button value
            st.sampled_from(TRICKY_VALUES),
            st.integers().map(str),
            st.text(),
            st.text(min_size=3000, max_size=30000),
        ),
        label="value",
    )
    action = data.draw(st.sampled_from([ids.REVIEW_APPROVE, ids.REVIEW_REJECT, ids.REVIEW_BLOCK]), label="action")
    user = data.draw(st.sampled_from(ALLOWED + (OUTSIDER,)), label="user")
    channel = data.draw(st.sampled_from(["C_REVIEW", "C_REVIEW", "C_DIGEST"]), label="channel")

    row = subs.get(bot.db, target)
    worker_blocked = row.worker_id in sandbox.blocked_ids()
    legit = value == str(target) and user in ALLOWED and channel == "C_REVIEW" and row.state == "posted"
    if action == ids.REVIEW_BLOCK:
        legit = legit and not worker_blocked  # the Block button is not shown for a blocked worker
    event(f"{action} {'legit' if legit else 'refused'}")
    decisions, blocks, views = len(decision_calls(sandbox)), block_calls(sandbox), len(slack.views())
    name = f"click-{time.monotonic_ns()}"
    url = slack.response_url(name, channel=channel, user=user, message_ts=row.ts)
    body = block_actions_body(action, value, user_id=user, channel_id=channel, message_ts=row.ts, response_url=url)
    assert _post(bot, body).status_code == 200

    if legit and action == ids.REVIEW_APPROVE:
        wait_for(lambda: subs.get(bot.db, target).state == "approved")
        assert decision_calls(sandbox)[decisions:] == [f"/api/campaigns/{row.campaign_id}/submissions/{target}/approve/"]
    elif legit and action == ids.REVIEW_REJECT:
        opened = wait_for(lambda: slack.views()[views:])
        assert [v["view"]["private_metadata"] for v in opened] == [str(target)]
    elif legit and action == ids.REVIEW_BLOCK:
        wait_for(lambda: slack.responses(name))
        assert row.worker_id in sandbox.blocked_ids() and block_calls(sandbox) == blocks + 1
    else:
        reply = wait_for(lambda: slack.responses(name))[0]["payload"]
        assert reply.get("response_type") == "ephemeral" and not reply.get("replace_original")
        assert_clean(reply.get("text", ""))
        assert len(reply.get("text", "")) < 600
    time.sleep(0.01)
    if not (legit and action == ids.REVIEW_APPROVE):
        assert len(decision_calls(sandbox)) == decisions  # nothing decided
    if not (legit and action == ids.REVIEW_BLOCK):
        assert block_calls(sandbox) == blocks
    if not (legit and action == ids.REVIEW_REJECT):
        assert len(slack.views()) == views
    for response in slack.responses():
        assert_clean(response["payload"].get("text", ""))
    paths = decision_calls(sandbox)
    assert len(paths) == len(set(paths))  # no submission decided twice


# --- whole payloads ---------------------------------------------------------------------------


def _mutate(payload: dict, path: tuple, new) -> dict:
    """Set (or delete, when new is DELETE) payload[path...]; missing parents are skipped."""
    out = copy.deepcopy(payload)
    node = out
    for key in path[:-1]:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return out
    last = path[-1]
    if isinstance(node, (dict, list)) and (isinstance(node, dict) or (isinstance(last, int) and last < len(node))):
        if new is DELETE:
            if isinstance(node, list) or last in node:
                del node[last]
        else:
            node[last] = new
    return out


DELETE = object()
PATHS = [
    ("type",), ("user",), ("user", "id"), ("actions",), ("actions", 0), ("actions", 0, "value"), ("actions", 0, "action_id"),
    ("actions", 0, "type"), ("container",), ("container", "message_ts"), ("container", "channel_id"), ("container", "type"),
    ("channel",), ("channel", "id"), ("message",), ("message", "ts"), ("trigger_id",), ("team",), ("team", "id"),
    ("api_app_id",), ("token",), ("state",), ("enterprise",), ("is_enterprise_install",),
]


@HYPOTHESIS
@given(data=st.data())
def test_tampered_payload_json_never_errors_and_never_decides(bot, sandbox, slack, open_submissions, data):
    """An outsider's click with parts of the payload replaced by arbitrary JSON."""
    target = data.draw(st.sampled_from(open_submissions), label="target")
    row = subs.get(bot.db, target)
    action = data.draw(st.sampled_from([ids.REVIEW_APPROVE, ids.REVIEW_REJECT, ids.REVIEW_BLOCK]), label="action")
    name = f"json-{time.monotonic_ns()}"
    url = slack.response_url(name, channel="C_REVIEW", user=OUTSIDER, message_ts=row.ts)
    payload = payload_of(block_actions_body(action, str(target), user_id=OUTSIDER, message_ts=row.ts, response_url=url))
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        path = data.draw(st.sampled_from(PATHS), label="path")
        payload = _mutate(payload, path, data.draw(st.just(DELETE) | JSON_VALUES, label=f"new {path}"))
    raw = json.dumps(payload)
    if data.draw(st.booleans(), label="truncate json"):
        raw = raw[: data.draw(st.integers(0, len(raw)), label="cut")]
    body = urlencode({"payload": raw}).encode()
    decisions, blocks, views, replies = len(decision_calls(sandbox)), block_calls(sandbox), len(slack.views()), len(slack.ephemerals())
    response = _post(bot, body)
    event(f"HTTP {response.status_code}")
    if response.status_code == 200:  # taken as one of ours: the outsider is told no
        reply = wait_for(lambda: slack.responses(name), timeout=5)[0]["payload"]
        assert reply.get("response_type") == "ephemeral"
    assert len(decision_calls(sandbox)) == decisions
    assert block_calls(sandbox) == blocks
    assert len(slack.views()) == views
    for reply in slack.ephemerals()[replies:]:
        assert_clean(reply["text"])


@HYPOTHESIS
@given(raw=st.one_of(st.binary(max_size=2000), st.text(max_size=2000).map(str.encode), JSON_VALUES.map(lambda v: json.dumps(v).encode()),
                     JSON_VALUES.map(lambda v: urlencode({"payload": json.dumps(v)}).encode())),
       signed=st.booleans(), content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain", ""]))
def test_arbitrary_bodies_never_get_a_5xx(bot, sandbox, slack, open_submissions, raw, signed, content_type):
    headers = sign(raw, content_type=content_type or "application/octet-stream") if signed else {"Content-Type": content_type}
    decisions = len(decision_calls(sandbox))
    response = requests.post(bot.events_url, data=raw, headers=headers, timeout=10)
    assert response.status_code < 500, (response.status_code, response.text)
    assert_clean(response.text)
    if not signed:
        assert response.status_code == 401
    assert len(decision_calls(sandbox)) == decisions


# --- the reject modal ---------------------------------------------------------------------------


def _reason_values(draw_typed, draw_preset) -> dict:
    return {
        ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: {"type": "plain_text_input", "value": draw_typed}},
        ids.REJECT_PRESET_BLOCK: {ids.REJECT_PRESET_INPUT: {"type": "static_select", "selected_option": draw_preset}},
    }


@HYPOTHESIS
@given(data=st.data())
def test_tampered_reject_modal_never_rejects_what_it_should_not(bot, sandbox, slack, open_submissions, data):
    sids = open_submissions
    target = data.draw(st.sampled_from(sids), label="target")
    metadata = data.draw(
        st.one_of(st.just(str(target)), st.sampled_from(sids).map(str), st.sampled_from(TRICKY_VALUES), st.text(),
                  st.text(min_size=3000, max_size=20000), JSON_VALUES.map(json.dumps), st.integers().map(str)),
        label="private_metadata",
    )
    typed = data.draw(
        st.one_of(st.none(), st.just("Screenshot <!channel> is cropped"), st.text(max_size=40), st.text(min_size=1000, max_size=5000),
                  st.sampled_from(TRICKY_VALUES)),
        label="typed",
    )
    preset = data.draw(st.one_of(st.none(), st.builds(lambda v: {"value": v}, st.sampled_from(["0", "3", "4", "-1", "99", "１", "", "x"]))), label="preset")
    well_formed = data.draw(st.sampled_from([True, True, True, False]), label="well formed state")
    values = _reason_values(typed, preset) if well_formed else data.draw(
        st.dictionaries(st.sampled_from([ids.REJECT_REASON_BLOCK, ids.REJECT_PRESET_BLOCK, "x"]),
                        st.dictionaries(st.sampled_from([ids.REJECT_REASON_INPUT, ids.REJECT_PRESET_INPUT, "y"]), JSON_VALUES, max_size=2),
                        max_size=3),
        label="values",
    )
    user = data.draw(st.sampled_from(ALLOWED + (OUTSIDER,)), label="user")

    # Slack keeps private_metadata out of the user's reach, so the only trust it
    # needs is the signature's: the modal may reject any submission it names
    # exactly that is open, for an allowed reviewer, and nothing else.
    named = int(metadata) if metadata in {str(s) for s in sids} else None
    row = subs.get(bot.db, named) if named is not None else None
    reason = ""
    if well_formed:
        chosen = (preset or {}).get("value", "")
        reason = (typed or "").strip() or ("preset" if chosen in ("0", "1", "2", "3") else "")
    may_decide = row is not None and user in ALLOWED and row.state == "posted"
    decisions, ephemerals = len(decision_calls(sandbox)), len(slack.calls_to("chat.postEphemeral"))
    body = view_submission_body(ids.REVIEW_REJECT_MODAL, values, private_metadata=metadata, user_id=user)
    response = _post(bot, body)
    assert response.status_code == 200
    asked_again = response.text.strip() not in ("", "{}") and response.json().get("response_action") == "errors"
    event("asked again" if asked_again else "decides" if may_decide else "refused")
    if well_formed:
        assert asked_again == (not reason)  # no reason: the modal asks for one
    if may_decide and not asked_again:
        wait_for(lambda: subs.get(bot.db, named).state == "rejected")
        assert decision_calls(sandbox)[decisions:] == [f"/api/campaigns/{row.campaign_id}/submissions/{named}/reject/"]
        notes = sandbox.submission(named)["notes"]
        assert 0 < len(notes) <= 1000
    else:
        if not asked_again:
            wait_for(lambda: len(slack.calls_to("chat.postEphemeral")) > ephemerals, timeout=5)  # told (or tried to tell) the user
        time.sleep(0.01)
        assert len(decision_calls(sandbox)) == decisions
    for call in slack.calls_to("chat.postEphemeral"):
        assert_clean(str(call.args.get("text", "")))
    paths = decision_calls(sandbox)
    assert len(paths) == len(set(paths))


# --- signatures -------------------------------------------------------------------------------


def test_signature_checks_refuse_everything_unverified(bot, sandbox, slack, open_submissions):
    sid = open_submissions[0]
    row = subs.get(bot.db, sid)
    body = block_actions_body(ids.REVIEW_APPROVE, str(sid), message_ts=row.ts, response_url=slack.response_url())
    good = sign(body)
    now = int(time.time())
    variants = {
        "no headers": {"Content-Type": "application/x-www-form-urlencoded"},
        "no signature": {k: v for k, v in good.items() if k != "X-Slack-Signature"},
        "no timestamp": {k: v for k, v in good.items() if k != "X-Slack-Request-Timestamp"},
        "empty signature": {**good, "X-Slack-Signature": ""},
        "other version": {**good, "X-Slack-Signature": good["X-Slack-Signature"].replace("v0=", "v1=")},
        "wrong secret": sign(body, "not-the-signing-secret"),
        "truncated signature": {**good, "X-Slack-Signature": good["X-Slack-Signature"][:-2]},
        "upper-case hex": {**good, "X-Slack-Signature": "v0=" + good["X-Slack-Signature"][3:].upper()},
        "timestamp not a number": {**good, "X-Slack-Request-Timestamp": "soon"},
        "timestamp swapped": {**good, "X-Slack-Request-Timestamp": str(now + 1)},
        "stale (6 min)": sign(body, timestamp=now - 6 * 60),
        "from the future (6 min)": sign(body, timestamp=now + 6 * 60),
        "body of another request": sign(body.replace(b"U_ALICE", b"U_BOB")),
    }
    for name, headers in variants.items():
        response = requests.post(bot.events_url, data=body, headers=headers, timeout=5)
        assert response.status_code == 401, name
        assert_clean(response.text)
    # A request captured long ago and replayed as it was: still refused.
    old = sign(body, timestamp=now - 3600)
    assert requests.post(bot.events_url, data=body, headers=old, timeout=5).status_code == 401
    time.sleep(0.3)
    assert decision_calls(sandbox) == [] and subs.get(bot.db, sid).state == "posted"
    assert slack.responses() == [] and slack.calls_to("chat.postEphemeral") == []


def test_a_replay_within_the_window_decides_nothing_twice(bot, sandbox, slack, open_submissions):
    sid, other = open_submissions[:2]
    row = subs.get(bot.db, sid)
    url = slack.response_url("replayed", message_ts=row.ts)
    body = block_actions_body(ids.REVIEW_APPROVE, str(sid), message_ts=row.ts, response_url=url)
    headers = sign(body)
    assert requests.post(bot.events_url, data=body, headers=headers, timeout=5).status_code == 200
    wait_for(lambda: subs.get(bot.db, sid).state == "approved")
    for _ in range(3):  # replayed as captured, seconds later
        assert requests.post(bot.events_url, data=body, headers=headers, timeout=5).status_code == 200
    replies = wait_for(lambda: len(slack.responses("replayed")) >= 3 and slack.responses("replayed"))
    assert all("already approved" in r["payload"]["text"] for r in replies)
    time.sleep(0.2)
    assert decision_calls(sandbox) == [f"/api/campaigns/{row.campaign_id}/submissions/{sid}/approve/"]
    assert subs.get(bot.db, other).state == "posted"

    reason = _reason_values("Blurry screenshot", None)
    modal = view_submission_body(ids.REVIEW_REJECT_MODAL, reason, private_metadata=str(other))
    modal_headers = sign(modal)
    for _ in range(3):
        assert requests.post(bot.events_url, data=modal, headers=modal_headers, timeout=5).status_code == 200
    wait_for(lambda: subs.get(bot.db, other).state == "rejected")
    wait_for(lambda: len(slack.calls_to("chat.postEphemeral")) >= 2)
    time.sleep(0.2)
    assert len([p for p in decision_calls(sandbox) if p.endswith(f"/{other}/reject/")]) == 1
