"""Small named middleware that puts shared objects where listeners find them."""

from __future__ import annotations

import time

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse

from bot.config import USER_ID
from bot.features import Features
from bot.services import Services
from bot.slack.events import first_delivery


def register(app: App, services: Services, features: Features) -> None:
    def refuse_malformed(body: dict, next):
        """Answer 400 to a (signed) payload whose shape Bolt's listener matchers
        rely on but do not check: they would raise, and Bolt answer 500."""
        if not well_formed(body):
            return BoltResponse(status=400, body="")
        next()

    app.use(refuse_malformed)

    def skip_redelivered_events(body: dict, next):
        """Slack resends an event it thinks was lost (X-Slack-Retry-Num, same
        event_id): acknowledge the copy, handle the event once."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id and not first_delivery(services.store, event_id):
            return BoltResponse(status=200, body="")
        next()

    app.use(skip_redelivered_events)

    def inject_services(body: dict, context: BoltContext, request: BoltRequest, next):
        """context['services'] (the infrastructure), ['features'] (bot.features.Features),
        ['actor'] (the acting user) and ['requested_at'] (the age of the request's response_url)."""
        context["services"] = services
        context["features"] = features
        context["requested_at"] = requested_at(request)
        context["actor"] = actor_of(body)
        next()

    app.use(inject_services)


def requested_at(request: BoltRequest) -> float:
    """When Slack sent the request: its signed timestamp (never later than now)."""
    now = time.time()
    try:
        sent = float(request.headers.get("x-slack-request-timestamp", [""])[0])
    except (TypeError, ValueError, IndexError):
        return now
    return min(sent, now)


def actor_of(body: dict) -> str | None:
    """The user who acted, from the payload's own user field only.

    Not Bolt's context.user_id: when a payload has no "user", Bolt falls back
    to the user of the *message* in it — for a click on a review message,
    the bot itself, a member of the review channel and so "allowed".
    """
    if not isinstance(body, dict):
        return None
    if "user" in body:  # interactivity: {"id": ...}; some events: a plain ID
        user = body["user"]
        found = user.get("id") if isinstance(user, dict) else user
    elif "user_id" in body:  # slash commands
        found = body["user_id"]
    elif isinstance(body.get("event"), dict):  # Events API
        found = body["event"].get("user")
    else:
        found = None
    return found if isinstance(found, str) and USER_ID.match(found) else None


def well_formed(body: object) -> bool:
    """The fields Bolt's matchers index into have the types they expect."""
    if not isinstance(body, dict):
        return False
    kind = body.get("type")
    if kind is not None and not isinstance(kind, str):
        return False
    if kind == "block_actions":
        actions = body.get("actions")
        return isinstance(actions, list) and bool(actions) and all(
            isinstance(a, dict) and isinstance(a.get("action_id"), str) and isinstance(a.get("block_id", ""), str)
            for a in actions
        )
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        return isinstance(view, dict) and isinstance(view.get("callback_id"), str) and isinstance(view.get("type", ""), str)
    if kind in ("shortcut", "message_action", "interactive_message", "dialog_submission", "dialog_cancellation"):
        return isinstance(body.get("callback_id"), str)
    if kind == "block_suggestion":
        return isinstance(body.get("action_id"), str)
    if kind == "event_callback":
        event = body.get("event")
        return isinstance(event, dict) and isinstance(event.get("type"), str)
    return True
