"""ReportService: `/rw spend`, `/rw audit` and its buttons, the digest's weekly picture.

Allowed users only (GIGDESK_ALLOWED_USERS, or the review channel's members): anyone else is
refused, and the refusal audited, before anything is read. Files (charts, CSVs) go to the
requester's own direct message with the bot and nowhere else; the weekly picture goes to the
digest channel. Everything here runs on the work pool, after the ack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.errors import UserError
from bot.reports import audit as audit_rules
from bot.reports import blocks as ui
from bot.reports import charts, periods, weekly
from bot.reports import spend as spend_report
from bot.reports.export import csv_bytes
from bot.reports.names import UserNames
from bot.services import Services
from bot.slack import uploads
from bot.slack.mrkdwn import escape, truncate
from bot.slack.replies import Reply
from storage import audit as audit_store
from storage import reports as report_rows

log = logging.getLogger("gigdesk.reports")

SPEND_USAGE = "/rw spend [this-week|last-week|this-month|last-month|YYYY-MM] [campaign title start]"
AUDIT_CSV_MAX_ROWS = 50_000
Progress = Callable[[Reply], None]


def _usage(message: str) -> UserError:
    return UserError(f"{message}\nUsage: `{escape(SPEND_USAGE)}`")


class ReportService:
    """The admin pages: `/rw spend`, `/rw audit` (pages, CSV), and the digest's weekly picture."""

    def __init__(self, services: Services):
        self.s = services
        self.names = UserNames(services.slack)

    def _require_admin(self, user_id: str, action: str, what: str) -> None:
        """Refused (audited) before anything is read, unless the user may open the admin pages."""
        permissions = self.s.permissions
        permissions.require(permissions.may_admin, user_id, action, None, what)

    @property
    def db(self):
        return self.s.store.db

    @property
    def tz(self):
        return self.s.settings.tz

    def now(self) -> datetime:
        return datetime.now(self.tz)

    # -- /rw spend ---------------------------------------------------------------------------

    def parse_spend(self, args: list[str]) -> tuple[periods.Period, str | None]:
        """[period] [campaign start]: a word meant as a period must be one (else the usage, nothing else)."""
        words = list(args)
        today = self.now().date()
        if len(words) >= 2 and periods.normal_word(words[0] + words[1]):  # "last week"
            words = [words[0] + "-" + words[1], *words[2:]]
        period = None
        if words:
            period = periods.period_of(words[0], self.tz, today)
            if period is not None:
                words = words[1:]
            elif periods.looks_like_a_period(words[0]):
                raise _usage(f"`{truncate(escape(words[0]), 30)}` is not a period I know.")
        period = period or periods.period_of(periods.DEFAULT_PERIOD, self.tz, today)
        assert period is not None
        prefix = " ".join(words).strip() or None
        if prefix and len(prefix) > 200:
            raise _usage("That is longer than any campaign title.")
        return period, prefix

    def spend(self, args: list[str], user_id: str, progress: Progress | None = None) -> Reply:
        """Totals by campaign as text; the chart and the CSV in the requester's direct message."""
        self._require_admin(user_id, "spend", "see what was spent")
        period, prefix = self.parse_spend(args)
        if progress is not None:
            progress(Reply(*ui.spend_progress(period.key)))
        start, end = period.bounds()
        report = spend_report.build(report_rows.spends(self.db, start, end), period, prefix)
        note = None
        if report.spends:
            note = self._send_spend_files(report, user_id)
        return Reply(*ui.spend_message(report, note))

    def _spend_files(self, report: spend_report.SpendReport) -> list[uploads.Upload]:
        days, series = report.per_day(top=charts.TOP_CAMPAIGNS)
        title = f"Spend per day, {report.period.label()}: ${report.total:,.2f}"
        png = charts.spend_png(days, series, title=title)
        rows = [[s.at.strftime("%Y-%m-%d %H:%M"), self.names.name(s.user_id), s.what, s.campaign, s.campaign_id, s.amount]
                for s in report.spends]
        csv = csv_bytes([f"when ({self.tz.key})", "who", "what", "campaign", "campaign id", "amount (USD)"], rows)
        stem = f"gigdesk-spend-{report.period.key}"
        alt = f"Spend per day, stacked by campaign, {report.period.label()}; total ${report.total:,.2f}"
        return [uploads.Upload(f"{stem}.png", png, f"Spend per day, {report.period.label()}", alt_txt=alt),
                uploads.Upload(f"{stem}.csv", csv, f"Spend, {report.period.label()} (one row per spend)")]

    def _send_spend_files(self, report: spend_report.SpendReport, user_id: str) -> str:
        comment = f"Spend of {ui.period_words(report)}: {ui.total_line(report)}."
        try:
            files = self._spend_files(report)
        except charts.ChartError as e:
            log.warning("/rw spend: %s", e)
            sent: str | None = "the chart could not be drawn"
        else:
            sent = self._to_direct_message(user_id, files, comment)
        audit_store.audit(self.db, user_id, "spend", report.period.key, "exported" if sent is None else "failed",
                      f"{len(report.spends)} spends{' for ' + report.prefix if report.prefix else ''}"
                      + (f"; {sent}" if sent else ""), str(report.total))
        if sent is not None:
            return f":warning: The chart and the CSV could not be sent: {escape(sent)}"
        return ":paperclip: The chart and the CSV (one row per spend) are in your direct messages with gigdesk."

    def _to_direct_message(self, user_id: str, files: list[uploads.Upload], comment: str) -> str | None:
        """Upload to the requester's own direct message with the bot; None, or why it failed."""
        try:
            channel = uploads.direct_message_channel(self.s.slack, user_id)
            uploads.upload(self.s.slack, channel, files, comment=comment)
        except SlackApiError as e:
            return f"Slack said {e.response.get('error', 'error')}"
        except SlackRequestError as e:
            log.warning("file upload refused: %s", e)
            return "Slack refused the upload"
        return None

    # -- /rw audit ---------------------------------------------------------------------------

    def _resolved(self, query: audit_rules.AuditQuery) -> report_rows.AuditFilter:
        """The storage filter of a query: `@name` to a user id, a campaign start to its ids, since to UTC."""
        since = periods.utc_iso(periods.local_midnight(query.since, self.tz)) if query.since else None
        campaign_ids = None
        if query.campaign is not None:
            wanted = query.campaign.lower()
            known = report_rows.known_campaigns(self.db)
            campaign_ids = tuple(sorted(cid for cid, title in known.items()
                                        if (title or "").lower().startswith(wanted) or cid.lower().startswith(wanted)))
            if not campaign_ids:
                raise UserError(f"No campaign I have records of starts with “{truncate(escape(query.campaign), 60)}”.")
        return report_rows.AuditFilter(user_id=query.user_id, worker_id=query.worker_id, campaign_ids=campaign_ids, since=since)

    def _with_user(self, query: audit_rules.AuditQuery) -> audit_rules.AuditQuery:
        if query.user_typed is None:
            return query
        found = self.names.find(query.user_typed, report_rows.audit_users(self.db))
        if len(found) != 1:
            who = truncate(escape(query.user_typed), 40)
            raise UserError(f"No one called @{who} appears in the audit." if not found else
                            f"Several people are called @{who}: pick one from Slack's list as you type @.")
        return audit_rules.AuditQuery(user_id=found[0], worker_id=query.worker_id, campaign=query.campaign, since=query.since)

    def audit(self, args: list[str], user_id: str) -> Reply:
        self._require_admin(user_id, "audit", "read the audit log")
        query = self._with_user(audit_rules.parse(args))
        return self._audit_page(query, 1)

    def audit_page(self, value: str, user_id: str) -> Reply:
        """Previous / Next: that page replaces the list (a value our buttons never carry: refused, nothing read)."""
        self._require_admin(user_id, "audit", "read the audit log")
        found = audit_rules.parse_page_value(value)
        if found is None:
            raise UserError("That button does not belong to an audit page I made.")
        query, page = found
        reply = self._audit_page(query, page)
        return Reply(reply.text, reply.blocks, replace_original=True)

    def _audit_page(self, query: audit_rules.AuditQuery, page: int) -> Reply:
        where = self._resolved(query)
        total = report_rows.audit_count(self.db, where)
        pages = max(1, -(-total // audit_rules.PAGE_SIZE))
        page = min(page, pages)
        entries = report_rows.audit_page(self.db, where, limit=audit_rules.PAGE_SIZE, offset=(page - 1) * audit_rules.PAGE_SIZE)
        names = self._names_of(entries)
        shown = [(self._local(e.at), e.user_id, audit_rules.describe(e, names)) for e in entries]
        values = {"csv": audit_rules.page_value(query, page)}
        if page > 1:
            values["previous"] = audit_rules.page_value(query, page - 1)
        if page < pages:
            values["next"] = audit_rules.page_value(query, page + 1)
        return Reply(*ui.audit_message(query, shown, page=page, pages=pages, total=total, values=values))

    def _names_of(self, entries) -> audit_rules.Names:
        submissions, targets, offers = audit_rules.ids_to_name(entries)
        return audit_rules.Names(
            submissions=report_rows.submissions_named(self.db, submissions),
            campaigns=report_rows.known_campaigns(self.db),
            offers=report_rows.offers_named(self.db, offers),
            workers=report_rows.worker_names(self.db, targets),
        )

    def _local(self, iso: str) -> datetime:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(self.tz)

    def audit_csv(self, value: str, user_id: str) -> Reply:
        """The CSV button: every entry of the filter (not only the page) to the clicker's direct message."""
        self._require_admin(user_id, "audit", "read the audit log")
        found = audit_rules.parse_page_value(value)
        if found is None:
            raise UserError("That button does not belong to an audit page I made.")
        query = found[0]
        where = self._resolved(query)
        entries = report_rows.audit_page(self.db, where, limit=AUDIT_CSV_MAX_ROWS)
        names = self._names_of(entries)
        rows = []
        for e in entries:
            d = audit_rules.describe(e, names)
            rows.append([self._local(e.at).strftime("%Y-%m-%d %H:%M:%S"), self.names.name(e.user_id) or "gigdesk", e.user_id,
                         d.action, d.about, d.outcome, d.detail, _amount_cell(d.amount)])
        csv = csv_bytes([f"when ({self.tz.key})", "who", "who (Slack id)", "action", "about", "outcome", "detail", "amount"], rows)
        failed = self._to_direct_message(user_id, [uploads.Upload("gigdesk-audit.csv", csv, "gigdesk audit")],
                                         f"The audit, {query.describe()}: {len(rows)} entr{'y' if len(rows) == 1 else 'ies'}.")
        audit_store.audit(self.db, user_id, "audit", None, "exported" if failed is None else "failed",
                      f"CSV, {len(rows)} entries" + (f"; {failed}" if failed else ""))
        if failed is not None:
            raise UserError(f"The CSV could not be sent: {escape(failed)}")
        more = f" (the newest {AUDIT_CSV_MAX_ROWS:,})" if len(rows) == AUDIT_CSV_MAX_ROWS else ""
        return Reply(f":paperclip: The audit CSV{more} is in your direct messages with gigdesk.")

    # -- the digest's weekly picture --------------------------------------------------------------

    def weekly_png(self, now: datetime | None = None) -> tuple[bytes, weekly.Week]:
        """Last week's picture, drawn (for `gigdesk digest --dry-run --chart PATH`); posts nothing."""
        week = weekly.gather(self.db, periods.last_week(self.tz, now or self.now()))
        return charts.week_png(week.days, week.decisions, week.spend, title=week.title()), week

    def post_weekly_picture(self, channel: str, now: datetime | None = None) -> str | None:
        """After a digest: last week's picture in `channel`, if this is the week's first digest and last
        week had anything to show. Returns the file id when it posted one."""
        week = weekly.gather(self.db, periods.last_week(self.tz, now or self.now()))
        if week.empty:
            return None
        key = week.period.first.isoformat()
        if not report_rows.claim_weekly_picture(self.db, key, channel):
            return None
        try:
            png = charts.week_png(week.days, week.decisions, week.spend, title=week.title())
            ids_ = uploads.upload(self.s.slack, channel, [uploads.Upload(f"gigdesk-week-{key}.png", png, week.title(),
                                                                          alt_txt=week.alt_text())], comment=week.comment())
        except (SlackApiError, SlackRequestError, charts.ChartError) as e:
            # Nothing was shared (Slack said so, or there was no chart): the next digest of the week tries again.
            report_rows.release_weekly_picture(self.db, key)
            log.warning("weekly picture not posted: %s", e.response.get("error") if isinstance(e, SlackApiError) else e)
            return None
        except Exception:
            # A timeout may hide a share that happened: the claim stays, the week is not posted twice.
            log.exception("weekly picture: the upload ended without an answer; not retried this week")
            return None
        report_rows.record_weekly_picture(self.db, key, ids_[0] if ids_ else None)
        log.info("weekly picture of %s posted to %s", key, channel)
        return ids_[0] if ids_ else ""


def _amount_cell(value: str | None) -> Decimal | str | None:
    """A stored amount as a number for the CSV; kept as written when it is not one."""
    try:
        amount = Decimal(value) if value is not None else None
    except ArithmeticError:
        return value
    return amount if amount is not None and amount.is_finite() else value
