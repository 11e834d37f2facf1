"""App Home: the dashboard tab and its Post digest now / Refresh buttons.

Like every listener: ack, then hand the RapidWorkers/Slack work to the work
pool (handlers.errors.after_ack), so a burst of home opens on a slow
RapidWorkers never holds up Bolt's listener threads (and other acks).
HOME_NEW_JOB (the New job button) is handled with the /rw listeners.
"""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, BoltContext
from slack_sdk.errors import SlackApiError

from bot.slack import ids
from handlers.errors import after_ack, guarded

log = logging.getLogger("gigdesk.handlers")


def _user(body: dict, context: BoltContext) -> str | None:
    return context.get("actor") or (body.get("user") or {}).get("id")


def _publish(context: BoltContext, user_id: str | None, status: str | None = None, *, fresh: bool = False) -> None:
    if not user_id:
        return
    digest = context["features"].digest
    try:
        digest.publish_home(user_id, status, fresh=fresh)
    except SlackApiError as e:
        log.warning("views.publish failed for the home of %s: %s", user_id, e.response.get("error"))


@guarded
def home_opened(event: dict, body: dict, context: BoltContext):
    """app_home_opened: publish the dashboard (Bolt acks events before this runs)."""
    if event.get("tab", "home") != "home":
        return
    user_id = event.get("user") or context.user_id
    after_ack(context, body, lambda: _publish(context, user_id))


@guarded
def refresh(ack: Ack, body: dict, context: BoltContext):
    ack()
    user_id = _user(body, context)
    after_ack(context, body, lambda: _publish(context, user_id, fresh=True))


@guarded
def post_digest(ack: Ack, body: dict, context: BoltContext):
    ack()
    user_id, digest = _user(body, context), context["features"].digest

    def work():
        try:
            status = digest.post_from_home(user_id)
        except Exception as e:  # show it on the home rather than nowhere
            log.exception("posting the digest from the home failed")
            status = f":warning: Could not post the digest ({type(e).__name__}). Please try again."
        _publish(context, user_id, status, fresh=True)

    after_ack(context, body, work)


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)
    app.action(ids.HOME_REFRESH)(refresh)
    app.action(ids.HOME_POST_DIGEST)(post_digest)
