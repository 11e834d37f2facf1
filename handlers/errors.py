"""The one error funnel: services raise, this answers the person who acted.

UserError (bad input, NotAllowed) and UpstreamError (either API client) are
shown as their message; anything else as a reference id, with the traceback
logged under it. Answers go through bot.slack.replies.send_ephemeral.

Listeners are wrapped with @guarded instead of relying on app.error alone:
when a listener raises right after ack(), Bolt's thread runner resets the
ack response to None, and the request is answered 404 after three seconds
(slack_bolt/listener/thread_runner.py). Catching inside keeps the ack.
"""

from __future__ import annotations

import functools
import logging
import secrets

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.errors import UpstreamError, UserError
from bot.slack import errors as slack_errors
from bot.slack.mrkdwn import escape
from bot.slack.replies import send_ephemeral
from bot.slack.trigger import BUSY
from handlers.common import action_value

log = logging.getLogger("gigdesk.handlers")


def report_error(error: BaseException, body: dict | None, context, *, channel: str | None = None) -> None:
    """Tell the user: known errors as they are, anything else with a reference.

    `channel`: where to answer when the request has no response_url (modals).
    """
    if isinstance(error, UserError):
        text = str(error)
    elif isinstance(error, SlackApiError) and error.response.get("error") == slack_errors.RATELIMITED:
        text = BUSY  # a trigger-bound call that would have waited past its trigger (bot.slack.trigger)
    elif isinstance(error, UpstreamError):  # the API's own words may hold <, >, &
        text = escape(str(error))
    else:
        ref = secrets.token_hex(3)
        log.error("listener failed (ref %s)", ref, exc_info=error)
        text = f"Something went wrong on my side (reference {ref}). Please try again."
    try:
        send_ephemeral(context, body or {}, f":warning: {text}", channel=channel)
    except Exception:
        log.exception("could not report an error to the user")


def guarded(listener):
    """Run a listener; turn what it raises into an ephemeral reply.

    The listener must take `body` and `context` (Bolt injects by name and
    follows __wrapped__ to read the listener's own parameters).
    """

    @functools.wraps(listener)
    def run(**kwargs):
        try:
            return listener(**kwargs)
        except Exception as error:
            report_error(error, kwargs.get("body"), kwargs.get("context"))

    return run


def after_ack(context, body: dict, work, *, show=None, channel: str | None = None, instant: bool = False) -> None:
    """Run slow work (API calls) on the work pool, not on Bolt's listener threads.

    Listener threads then only ever ack, so a burst of clicks on a slow
    RapidWorkers is acknowledged at once however many are still working.
    What `work()` returns goes to `show(result)`, or by default, when it is
    text, to the user as an ephemeral reply. Errors are reported either way.
    `channel`: where to answer when the request has no response_url (modals).
    `instant`: a quick step (no slow API call) that must not wait behind them: the instant pool.
    """

    def run():
        try:
            result = work()
            if show is not None:
                show(result)
            elif result:
                send_ephemeral(context, body, result, channel=channel)
        except Exception as error:
            report_error(error, body, context, channel=channel)

    services = context["services"]
    (services.instant if instant and services.instant is not None else services.work).submit(run)


def acked_button(feature: str, call, *, read=action_value, run=after_ack):
    """A button that acks, then runs `call(<that feature>, value, user)` after the ack
    through `run` (after_ack: on the work pool, its Reply to the clicker); `read`: how the
    clicked value is read."""

    @guarded
    def listener(ack, body: dict, context):
        ack()
        service, value, user = getattr(context["features"], feature), read(body), context["actor"]
        run(context, body, lambda: call(service, value, user))

    return listener


def register(app: App) -> None:
    @app.error
    def turn_errors_into_replies(error, body, context):
        """Last resort for errors outside guarded listeners (middleware)."""
        report_error(error, body, context)
