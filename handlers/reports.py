"""The /rw audit page's buttons: Previous / Next (the page replaces the list) and CSV (to the
clicker's direct message). /rw spend and /rw audit themselves come through the /rw command
(handlers/rw_command.py). Thin: ack, then one call into bot.reports.service.ReportService on the
work pool; its Reply goes to the clicker."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext

from bot.slack import ids
from handlers.common import action_value
from handlers.errors import after_ack, guarded


def _button(call):
    """A button that acks, then runs `call(reports, value, user)` after the ack and shows its Reply."""

    @guarded
    def listener(ack: Ack, body: dict, context: BoltContext):
        ack()
        reports, value, user = context["services"].reports, action_value(body), context["actor"]
        after_ack(context, body, lambda: call(reports, value, user))

    return listener


audit_page = _button(lambda reports, value, user: reports.audit_page(value, user))
audit_csv = _button(lambda reports, value, user: reports.audit_csv(value, user))


def register(app: App) -> None:
    for pager in (ids.AUDIT_PAGE_NEXT, ids.AUDIT_PAGE_PREVIOUS):
        app.action(pager)(audit_page)
    app.action(ids.AUDIT_CSV)(audit_csv)
