"""Wonolo webhook verification and tolerant payload parsing."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.wonolo.webhook import WebhookEvent, expected_token, parse_event, verify

pytestmark = pytest.mark.unit  # the fast tier: `make test` runs it first

SECRET = "sk_test_webhook_secret"
BODY = b'{"type":"Job","id":42,"state":"cancelled","event":"job.state_changed"}'


# --------------------------------------------------------------------------- verify


def test_expected_token_is_sha256_of_body_then_secret():
    assert expected_token(BODY, SECRET) == hashlib.sha256(BODY + SECRET.encode()).hexdigest()


def test_verify_accepts_the_right_token():
    assert verify(BODY, expected_token(BODY, SECRET), SECRET)


def test_verify_accepts_upper_case_hex_and_whitespace():
    assert verify(BODY, expected_token(BODY, SECRET).upper(), SECRET)
    assert verify(BODY, f" {expected_token(BODY, SECRET)}\n", SECRET)


@pytest.mark.parametrize("header", [None, "", "   ", "deadbeef", "x" * 64, "é" * 64, "0" * 64])
def test_verify_rejects_missing_or_bad_tokens(header):
    assert verify(BODY, header, SECRET) is False


def test_verify_rejects_a_body_changed_by_one_byte():
    token = expected_token(BODY, SECRET)
    for i in (0, len(BODY) // 2, len(BODY) - 1):
        changed = bytearray(BODY)
        changed[i] ^= 0x01
        assert verify(bytes(changed), token, SECRET) is False
    assert verify(BODY + b" ", token, SECRET) is False


def test_verify_rejects_other_secret_and_empty_secret():
    assert verify(BODY, expected_token(BODY, "sk_other"), SECRET) is False
    assert verify(BODY, expected_token(BODY, ""), "") is False


# --------------------------------------------------------------------------- parse_event


SHAPES = [
    ({"type": "JobRequest", "id": 5, "state": "filled", "event": "job_request.state_changed"},
     ("job_request", "5", "filled", "job_request.state_changed")),
    ({"type": "job_request", "id": "5"}, ("job_request", "5", None, None)),
    ({"type": "Job", "id": 7}, ("job", "7", None, None)),
    ({"type": "job", "id": 7, "state": "cancelled"}, ("job", "7", "cancelled", None)),
    ({"job": {"id": 7, "state": "no_show"}}, ("job", "7", "no_show", None)),
    ({"job_request": {"id": 5, "state": "posted"}}, ("job_request", "5", "posted", None)),
    ({"job": {"id": 7, "state": "filled"}, "job_request": {"id": 5}},
     ("job", "7", "filled", None)),
    ({"event": "job.state_changed", "data": {"id": 7, "state": "in_progress"}},
     ("job", "7", "in_progress", "job.state_changed")),
    ({"event": "job_request.filled", "data": {"id": 5}},
     ("job_request", "5", "filled", "job_request.filled")),
    ({"event": "job.state_changed", "object": {"id": 7}}, ("job", "7", None, "job.state_changed")),
    ({"event": "job_request.state_changed",
      "data": {"job_request": {"id": 5, "state": "cancelled"}}},
     ("job_request", "5", "cancelled", "job_request.state_changed")),
    ({"event": "job_request.state_changed", "data": {"job": {"id": 3}, "job_request": {"id": 5}}},
     ("job_request", "5", None, "job_request.state_changed")),
    ({"id": "evt_1", "event": "job.state_changed", "data": {"id": 7}},
     ("job", "7", None, "job.state_changed")),
    ({"event": "job.state_changed", "data": {"type": "JobRequest", "id": 5}},
     ("job_request", "5", None, "job.state_changed")),
    ({"resource": "JobRequest", "resource_id": 5}, ("job_request", "5", None, None)),
    ({"resource": "job", "resource_id": "7", "state": "approved"}, ("job", "7", "approved", None)),
    ({"resource_type": "Wonolo::Job", "job_id": 8}, ("job", "8", None, None)),
]


@pytest.mark.parametrize("payload, expected", SHAPES)
def test_parse_event_shapes(payload, expected):
    raw = json.dumps(payload).encode()
    event = parse_event(raw)
    assert isinstance(event, WebhookEvent)
    assert (event.resource_type, event.resource_id, event.state, event.event) == expected
    assert event.delivery_key == hashlib.sha256(raw).hexdigest()


def test_delivery_key_dedupes_identical_bodies_only():
    assert parse_event(BODY).delivery_key == parse_event(BODY).delivery_key
    assert parse_event(BODY).delivery_key != parse_event(BODY + b"\n").delivery_key


GARBAGE = [
    b"",
    b"not json",
    b"\xff\xfe\x00",
    b"[]",
    b"123",
    b'"job"',
    b"{}",
    b'{"type": "Job"}',
    b'{"id": 5}',
    b'{"type": "Invoice", "id": 5}',
    b'{"type": "Job", "id": {"x": 1}}',
    b'{"type": "Job", "id": true}',
    b'{"type": "Job", "id": 1.5}',
    b'{"type": "Job", "id": "../../users/1"}',
    b'{"type": "Job", "id": ""}',
    b'{"job": {"state": "filled"}}',
    b'{"job": 7}',
    b'{"event": "job.state_changed", "data": "7"}',
    b'{"event": "invoice.paid", "data": {"id": 7}}',
    b'{"event": "job.state_changed", "id": 7}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"type": "Job", "id": 1, "pad": "' + b"x" * 1_000_001 + b'"}',
]


@pytest.mark.parametrize("raw", GARBAGE, ids=range(len(GARBAGE)))
def test_parse_event_rejects_garbage_with_value_error(raw):
    with pytest.raises(ValueError):
        parse_event(raw)


def test_parse_event_rejects_non_bytes():
    with pytest.raises(ValueError):
        parse_event("{}")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_parse_event_on_arbitrary_bytes(raw):
    try:
        event = parse_event(raw)
    except ValueError:
        return
    assert event.resource_type in ("job", "job_request") and event.resource_id


_KEYS = st.sampled_from(["type", "id", "state", "event", "data", "object", "job", "job_request",
                         "resource", "resource_id", "job_id", "payload", "x"])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                     st.text(max_size=12),
                     st.sampled_from(["Job", "JobRequest", "job.state_changed",
                                      "job_request.filled", "filled", "7"]))
_JSON = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=4)), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS, _JSON, max_size=5))
def test_parse_event_on_json_like_payloads(payload):
    raw = json.dumps(payload).encode()
    try:
        event = parse_event(raw)
    except ValueError:
        return
    assert event.resource_type in ("job", "job_request")
    assert event.resource_id and "/" not in event.resource_id
    assert event.state is None or isinstance(event.state, str)
