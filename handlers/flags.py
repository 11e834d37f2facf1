"""Proof flag buttons on a review card: "Not a problem" on a flag, Trust / Untrust worker. Ack first."""

from __future__ import annotations

import re

from slack_bolt import Ack, App, BoltContext

from bot.forensics.desk import FlagDesk
from bot.slack import ids
from handlers.common import action_value, clicked_message
from handlers.errors import after_ack, guarded

# One "Not a problem" button per flag; action ids are unique within their block.
DISMISS_ACTION = re.compile(rf"^{re.escape(ids.FLAG_DISMISS)}-\d{{1,2}}$")


def desk(context: BoltContext) -> FlagDesk:
    """The flag desk of the review feature, as the composition root wired it."""
    return context["features"].review.flag_desk


@guarded
def dismiss_flag(ack: Ack, body: dict, context: BoltContext):
    """The flag leaves the card (rebuilt from the database); its evidence pairs never flag again."""
    ack()
    flags, value, user, shown = desk(context), action_value(body), context["actor"], clicked_message(body)
    after_ack(context, body, lambda: flags.dismiss(value, user, message=shown))


@guarded
def trust_worker(ack: Ack, body: dict, context: BoltContext):
    ack()
    flags, value, user, shown = desk(context), action_value(body), context["actor"], clicked_message(body)
    after_ack(context, body, lambda: flags.trust(value, user, message=shown))


@guarded
def untrust_worker(ack: Ack, body: dict, context: BoltContext):
    ack()
    flags, value, user, shown = desk(context), action_value(body), context["actor"], clicked_message(body)
    after_ack(context, body, lambda: flags.untrust(value, user, message=shown))


def register(app: App) -> None:
    app.action(DISMISS_ACTION)(dismiss_flag)
    app.action(ids.FLAG_TRUST_WORKER)(trust_worker)
    app.action(ids.FLAG_UNTRUST_WORKER)(untrust_worker)
