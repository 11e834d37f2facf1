"""Work-arounds for slack-bolt bugs, each applied only to the versions that have it.

parse_body: slack_bolt.request.internals.parse_body (1.x, still in 1.30) treats any
form body that merely *contains* the text "payload" (a slash command like
`/rw job … https://instagram.com/payload 10`) as interactivity, finds no
payload field and drops the request (404). `parse_body` here decides by the field.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import slack_bolt.request.request as bolt_request
from slack_bolt.version import __version__

# The first slack-bolt major assumed to decide by the field (the bug is unfixed through 1.30):
# re-check slack_bolt/request/internals.py before raising this.
PARSE_BODY_FIXED_IN = (2,)


def parse_body(body: str, content_type: str | None) -> dict:
    """slack_bolt.request.internals.parse_body, deciding by the `payload` field, not the text."""
    if not body:
        return {}
    if content_type == "application/json" or body.startswith("{"):
        return json.loads(body)
    params = dict(parse_qsl(body, keep_blank_values=True))
    return json.loads(params["payload"]) if "payload" in params else params


def needs_parse_body_fix(bolt_version: str | None = None) -> bool:
    """Whether this slack-bolt (default: the installed one) has the parse_body bug."""
    found = bolt_version or __version__
    major = int(found.split(".")[0])
    return (major,) < PARSE_BODY_FIXED_IN


def apply() -> None:
    """Patch the slack-bolt in use where it needs it (Bolt's BoltRequest calls parse_body by this name)."""
    if needs_parse_body_fix():
        bolt_request.parse_body = parse_body
