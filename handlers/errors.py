"""One error handler: known errors become short ephemeral replies."""

from __future__ import annotations

import logging
import secrets

from slack_bolt import App

from bot.errors import UserError
from handlers.common import reply

log = logging.getLogger("gigdesk.handlers")


def register(app: App) -> None:
    @app.error
    def turn_errors_into_replies(error, body, context):
        """Never a traceback to a user: known errors as they are, others with a reference."""
        from bot.rapidworkers import RapidWorkersError

        known = (UserError, RapidWorkersError)
        try:
            from bot.wonolo import WonoloError

            known += (WonoloError,)
        except ImportError:
            pass
        if isinstance(error, known):
            text = str(error)
        else:
            ref = secrets.token_hex(3)
            log.exception("listener failed (ref %s)", ref, exc_info=error)
            text = f"Something went wrong on my side (reference {ref}). Please try again."
        try:
            reply(context, body or {}, f":warning: {text}")
        except Exception:
            log.exception("could not report an error to the user")
