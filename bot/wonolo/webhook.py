"""Wonolo webhooks: signature check and tolerant payload parsing (no Slack code).

Wonolo signs a delivery with `X-Wonolo-Webhook-Token`: the SHA-256 hex digest
of the raw JSON body followed by the secret API key.  The payload's shape is
not public, so the parser accepts every plausible envelope and extracts only
the resource type, its id and (if present) its state; callers fetch the
resource to render it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from bot.apiclient.fields import is_safe_id

ResourceType = Literal["job_request", "job"]

HEADER = "X-Wonolo-Webhook-Token"
MAX_BODY_BYTES = 1_000_000  # a state-change payload is tiny; refuse anything huge
_MAX_DEPTH = 4
_TYPE_KEYS = ("type", "resource_type", "resource", "object_type", "model", "kind")
_ID_KEYS = ("id", "resource_id", "object_id")
_ENVELOPE_KEYS = ("data", "object", "payload", "resource", "record", "body", "event")
_STATE_KEYS = ("state", "new_state", "to_state", "current_state", "status")

_JOB_REQUEST_STATES = frozenset({
    "draft", "unassigned", "posted", "filled", "in_progress",
    "completed", "approved", "cancelled", "unfilled",
})
_JOB_STATES = frozenset({
    "pending", "rejected", "filled", "in_progress", "completed",
    "approved", "cancelled", "withdrawn", "no_show", "paused",
})


def expected_token(raw_body: bytes, secret_key: str) -> str:
    """SHA-256 hex digest of the raw body followed by the secret key."""
    return hashlib.sha256(raw_body + secret_key.encode("utf-8")).hexdigest()


def verify(raw_body: bytes, header_value: str | None, secret_key: str) -> bool:
    """True when the header matches the body's expected token (constant time)."""
    if not header_value or not secret_key or not isinstance(header_value, str):
        return False
    given = header_value.strip().lower()
    if given.startswith("sha256="):  # harmless tolerance of a prefixed digest
        given = given[len("sha256="):]
    expected = expected_token(raw_body, secret_key)
    # Compare bytes: compare_digest refuses non-ASCII str, and a header may hold anything.
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("ascii"))


@dataclass(frozen=True)
class WebhookEvent:
    """What a delivery is about; delivery_key dedupes redeliveries of the same body."""

    resource_type: ResourceType
    resource_id: str
    state: str | None
    event: str | None
    delivery_key: str


def _norm_type(value: Any) -> ResourceType | None:
    """'JobRequest', 'job_request', 'job-requests', 'job.state_changed' -> a type."""
    if not isinstance(value, str):
        return None
    head = value.strip().split(".", 1)[0]
    if "::" in head:  # a Rails class name such as "Wonolo::JobRequest"
        head = head.rsplit("::", 1)[1]
    key = re.sub(r"[^a-z]", "", head.lower())
    if key.endswith("s"):
        key = key[:-1]
    return {"job": "job", "jobrequest": "job_request"}.get(key)  # type: ignore[return-value]


def _norm_id(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:  # floats, lists, objects: not an id we can trust
        return None
    return text if is_safe_id(text) else None  # ids end up in API paths


def _state_of(obj: dict) -> str | None:
    for key in _STATE_KEYS:
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:64]
    return None


def _typed(obj: dict) -> tuple[ResourceType, str, str | None] | None:
    """{"type": "Job", "id": 5} / {"resource": "job", "resource_id": 5}."""
    for tkey in _TYPE_KEYS:
        rtype = _norm_type(obj.get(tkey))
        if rtype is None:
            continue
        for ikey in (*_ID_KEYS, f"{rtype}_id"):
            rid = _norm_id(obj.get(ikey))
            if rid is not None:
                return rtype, rid, _state_of(obj)
    return None


def _bare_id(obj: dict) -> str | None:
    return next((r for r in (_norm_id(obj.get(k)) for k in _ID_KEYS) if r), None)


def _wrapped(obj: dict, hint: ResourceType | None) -> tuple[ResourceType, str, str | None] | None:
    """{"job": {...}} / {"job_request": {...}}; a job payload may carry its request
    too, so "job" is preferred unless the event says otherwise."""
    order: tuple[ResourceType, ...] = (
        ("job_request", "job") if hint == "job_request" else ("job", "job_request"))
    for key in order:
        inner = obj.get(key)
        if isinstance(inner, dict):
            rid = _bare_id(inner)
            if rid is not None:
                return key, rid, _state_of(inner) or _state_of(obj)
    return None


def _locate(obj: dict, hint: ResourceType | None,
            depth: int) -> tuple[ResourceType, str, str | None] | None:
    """Find (type, id, state) in obj: explicit type, a wrapper key, or an envelope."""
    if depth > _MAX_DEPTH:
        return None
    found = _typed(obj) or _wrapped(obj, hint)
    if found is not None:
        return found
    # {"event": ..., "data": {...}} / {"object": {...}}
    for envelope in _ENVELOPE_KEYS:
        inner = obj.get(envelope)
        if isinstance(inner, dict):
            found = _locate(inner, hint, depth + 1)
            if found is not None:
                return found
    # Inside an envelope, a bare {"id": 5} is the resource named by the event.
    # (At top level a bare id is more likely the delivery's own id.)
    if hint is not None and depth > 0:
        rid = _bare_id(obj)
        if rid is not None:
            return hint, rid, _state_of(obj)
    return None


def _load(raw_body: bytes) -> dict:
    """The JSON object of a delivery; ValueError if it is none."""
    if not isinstance(raw_body, (bytes, bytearray)):
        raise ValueError("webhook body must be bytes")
    if len(raw_body) > MAX_BODY_BYTES:
        raise ValueError("webhook body is too large")
    try:
        payload = json.loads(bytes(raw_body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError("webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise ValueError("webhook body is not a JSON object")
    return payload


def _state_in_event(event: str | None, rtype: ResourceType) -> str | None:
    """"job_request.filled" carries the new state in the event name itself."""
    if not event or "." not in event:
        return None
    suffix = event.rsplit(".", 1)[1].strip().lower()
    return suffix if suffix in (_JOB_STATES if rtype == "job" else _JOB_REQUEST_STATES) else None


def parse_event(raw_body: bytes) -> WebhookEvent:
    """Extract the resource a webhook is about; ValueError if the body is unusable."""
    payload = _load(raw_body)
    event = next((payload[k].strip()[:128] for k in ("event", "event_type", "event_name")
                  if isinstance(payload.get(k), str) and payload[k].strip()), None)
    hint = _norm_type(event) if event else None
    found = _locate(payload, hint, 0)
    if found is None:
        raise ValueError("webhook body names no job or job request with an id")
    rtype, rid, state = found
    if state is None and hint == rtype:
        state = _state_in_event(event, rtype)
    return WebhookEvent(
        resource_type=rtype,
        resource_id=rid,
        state=state,
        event=event,
        delivery_key=hashlib.sha256(bytes(raw_body)).hexdigest(),
    )
