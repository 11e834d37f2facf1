"""The /rw audit page's buttons: Previous / Next (the page replaces the list) and CSV (to the
clicker's direct message). /rw spend and /rw audit themselves come through the /rw command
(handlers/rw_command.py). Thin: ack, then one call into bot.reports.service.ReportService on the
work pool; its Reply goes to the clicker."""

from __future__ import annotations

from slack_bolt import App

from bot.slack import ids
from handlers.errors import acked_button

audit_page = acked_button("reports", lambda reports, value, user: reports.audit_page(value, user))
audit_csv = acked_button("reports", lambda reports, value, user: reports.audit_csv(value, user))


def register(app: App) -> None:
    for pager in (ids.AUDIT_PAGE_NEXT, ids.AUDIT_PAGE_PREVIOUS):
        app.action(pager)(audit_page)
    app.action(ids.AUDIT_CSV)(audit_csv)
