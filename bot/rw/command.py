"""`/rw`: one entry point per command and button, each a call into the part named for its rule.

Listeners (handlers/rw_command.py) only ack, call one method here and show the Reply it returns
(or open the returned modal). Where things are:

* bot/rw/parsing.py: the command text and the forms, checked before anything happens;
* bot/rw/campaigns.py: finding campaigns (list, details, type-ahead, button keys);
* bot/rw/jobs.py: `/rw job` and `/rw new`, offered and created;
* bot/rw/approve_all.py: approve-all pays only what it offered;
* bot/rw/spends.py: /rw's offers, Confirm and Cancel over bot/spending (which owns the offer
  from creation to result, and the spending rules);
* bot/rw/images.py: the custom campaign's image (the bot token only ever goes to Slack).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from bot.errors import UserError
from bot.forensics.blocks import worker_message
from bot.permissions import require_allowed
from bot.rapidworkers.client import RapidWorkersError
from bot.rw import blocks as ui
from bot.rw import forms
from bot.rw.approve_all import ApproveAll
from bot.rw.campaigns import Campaigns
from bot.rw.channels import ChannelNames
from bot.rw.fair_use import SingleFlight
from bot.rw.images import CampaignImages
from bot.rw.jobs import Jobs
from bot.rw.parsing import SUBCOMMANDS, BadInput, check_id, parse_route_view, shown, split_command
from bot.rw.replies import explain, problem, reply
from bot.rw.spends import Progress, RwSpends
from bot.slack.mrkdwn import escape, mention
from bot.slack.replies import OpenModal, Reply
from bot.text import suggest
from storage import audit as audit_store
from storage import campaigns as campaign_store
from storage import forensics as proof_records
from storage import worker_blocks as block_store

if TYPE_CHECKING:
    from bot.digest.service import DigestService
    from bot.reports.service import ReportService
    from bot.review.feature import ReviewService
    from bot.services import Services

T = TypeVar("T")

Command = Callable[[list[str], str, str | None], Reply | OpenModal]


class RwService:
    """Everything `/rw` does. Built by bot.app with the features it uses: the review (blocking,
    routes, the sync, bulk approval), the digest and the reports."""

    def __init__(self, services: Services, *, review: ReviewService, digest: DigestService, reports: ReportService):
        self.s = services
        self.review = review
        self.digest_service = digest
        self.reports = reports
        self.images = CampaignImages(services.slack, services.settings)
        self.spends = RwSpends(services, self.images)
        self.campaigns = Campaigns(services)
        self.jobs = Jobs(services, self.spends, self.images, self.campaigns)
        self.approve_all = ApproveAll(services, self.spends, self.campaigns, review)
        self._syncs = SingleFlight()  # Post pending for review: one sync at a time
        self.channels = ChannelNames(services.slack)

    @property
    def db(self):
        return self.s.store.db

    @property
    def settings(self):
        return self.s.settings

    # -- entry point ---------------------------------------------------------------

    def run(self, text: str, user_id: str, channel_id: str | None = None, progress: Progress = None) -> Reply | OpenModal:
        """Handle `/rw <text>`; never raises for bad input or API errors. `progress(Reply)`, if given,
        shows that a slow answer (`spend`) is under way."""
        name, args = split_command(text)
        handler = self._commands(progress).get(name)
        if handler is None:
            return reply(ui.help_message(f"Unknown command `{shown(name, 30)}`.{suggest(name, SUBCOMMANDS)}"))
        return self.guard(lambda: handler(args, user_id, channel_id))

    def _commands(self, progress: Progress) -> dict[str, Command]:
        return {
            "help": self.help,
            "balance": self.balance,
            "campaigns": lambda args, user_id, channel_id: self.campaigns.listing(args, user_id),
            "campaign": self.campaigns.command,
            "job": self.jobs.job,
            "new": self.jobs.new,
            "approve-all": self.approve_all.command,
            "blocked": self.blocked,
            "block": self.block,
            "unblock": self.unblock,
            "digest": self.digest,
            "worker": self.worker,
            "route": self.route,
            "routes": self.routes,
            # Reports (bot/reports): spend by campaign with a chart and a CSV, the audit log.
            "spend": lambda args, user_id, channel_id: self.reports.spend(args, user_id, progress),
            "audit": lambda args, user_id, channel_id: self.reports.audit(args, user_id),
        }

    def guard(self, call: Callable[[], T]) -> T | Reply:
        """/rw's own wording of known errors (usage lines, RapidWorkers errors explained); a
        Reply, so App Home can show it in a modal. Anything else goes to the one funnel."""
        try:
            return call()
        except BadInput as e:
            return problem(str(e), e.usage)
        except UserError as e:
            return problem(str(e))
        except RapidWorkersError as e:
            return problem(explain(e))

    @staticmethod
    def _no_args(name: str, args: list[str]) -> None:
        if args:
            raise BadInput(f"`/rw {name}` takes no arguments.", name)

    # -- buttons, forms and the type-ahead (handlers/rw_command.py) ------------------------------

    def confirm(self, confirmation_id: str, user_id: str, progress: Progress = None) -> Reply:
        return self.spends.confirm(confirmation_id, user_id, progress)

    def cancel(self, confirmation_id: str, user_id: str) -> Reply:
        return self.spends.cancel(confirmation_id, user_id)

    def offer_approve_all(self, campaign: str, user_id: str) -> Reply:
        return self.guard(lambda: self.approve_all.offer(campaign, user_id))

    def offer_including_flagged(self, confirmation_id: str, user_id: str) -> Reply:
        return self.guard(lambda: self.approve_all.offer_including_flagged(confirmation_id, user_id))

    def campaign_details(self, campaign: str, user_id: str) -> Reply:
        return self.guard(lambda: self.campaigns.details(campaign, user_id))

    def campaigns_page(self, value: str, user_id: str) -> Reply:
        # The page replaces the list; a problem (e.g. the allowance) comes as a new reply, keeping the list.
        return self.guard(lambda: self.campaigns.page(value, user_id))

    def campaign_suggestions(self, query: str, user_id: str) -> list[dict]:
        return self.campaigns.suggestions(query, user_id)

    def row_menu(self, value: str, user_id: str) -> Reply:
        """The overflow on a campaign row: Approve all… (the usual offer) or Post pending for review."""
        what, _, cid = (value or "").partition("|")
        if what == ui.ROW_APPROVE_ALL:
            return self.offer_approve_all(cid, user_id)
        if what == ui.ROW_POST_PENDING:
            return self.post_pending(cid, user_id)
        return problem("That menu does not belong to a campaign list I made.")

    def job_modal(self, user_id: str, channel_id: str | None) -> Reply | OpenModal:
        """The job form (App Home's New job button)."""
        return self.guard(lambda: self.jobs.job([], user_id, channel_id))

    def check_job_view(self, values: dict) -> tuple[dict, dict[str, str]]:
        return self.jobs.check_job_view(values)

    def check_new_view(self, values: dict) -> tuple[dict, dict[str, str]]:
        return self.jobs.check_new_view(values)

    def check_campaign_view(self, values: dict) -> tuple[str, dict[str, str]]:
        return self.campaigns.check_view(values)

    @staticmethod
    def check_route_view(values: dict) -> tuple[dict, dict[str, str]]:
        return parse_route_view(values)

    def submit_job_view(self, params: dict, user_id: str) -> Reply:
        return self.guard(lambda: self.jobs.offer_prefilled(params, user_id))

    def submit_new_view(self, params: dict, user_id: str) -> Reply:
        return self.guard(lambda: self.jobs.offer_custom(params, user_id))

    # -- read-only -------------------------------------------------------------------

    def help(self, args: list[str], user_id: str, channel_id: str | None) -> Reply:
        return reply(ui.help_message())

    def balance(self, args: list[str], user_id: str, channel_id: str | None) -> Reply:
        self._no_args("balance", args)
        balance = self.campaigns.cached("balance", self.s.rw.get_balance, user_id)
        return reply(ui.balance_message(balance, self.settings.low_balance))

    def blocked(self, args: list[str], user_id: str, channel_id: str | None) -> Reply:
        self._no_args("blocked", args)
        self.campaigns.reaches_rapidworkers(user_id)
        workers = self.s.rw.list_blocked()
        by = {}
        for w in workers:
            local = block_store.block_of(self.db, str(w.worker_id))
            by[str(w.worker_id)] = local.get("blocked_by") if local else None
        return reply(ui.blocked_message(workers, by))

    def worker(self, args: list[str], user_id: str, channel_id: str | None) -> Reply:
        if len(args) != 1:
            raise BadInput("Give one worker id.", "worker")
        wid = check_id(args[0], "worker id", "worker")
        history, block = proof_records.worker_history(self.db, wid), block_store.block_of(self.db, wid)
        text, blocks = worker_message(wid, history, block)
        if not block:
            blocks = [*blocks, ui.worker_block_button(wid)]
        return reply((text, blocks))

    def block_worker(self, value: str, user_id: str) -> Reply:
        """Block on a `/rw worker` reply (after its confirm dialog): the guards and audit of `/rw block`
        and the review card's Block worker (require_allowed, then ReviewService.block)."""
        return self.guard(lambda: self._block(value, user_id, "worker"))

    def digest(self, args: list[str], user_id: str, channel_id: str | None) -> Reply:
        """Post the digest now: allowed users only, audited (as the App Home button)."""
        self._no_args("digest", args)
        require_allowed(self.s, user_id, "digest", None, "post the digest")
        self.campaigns.reaches_rapidworkers(user_id)
        try:
            result = self.digest_service.post(kind="manual") or {}
        except UserError as e:
            audit_store.audit(self.db, user_id, "digest", None, "failed", str(e)[:200])
            raise
        channel = result.get("channel") if isinstance(result, dict) else None
        channel = channel or self.settings.digest_channel
        audit_store.audit(self.db, user_id, "digest", result.get("ts") if isinstance(result, dict) else None, "posted")
        return reply(ui.text_message(f":newspaper: Posted the digest to <#{channel}>."))

    # -- routes (Less noise) -------------------------------------------------------------

    def route(self, args: list[str], user_id: str, channel_id: str | None) -> Reply | OpenModal:
        """`/rw route <campaign> <#channel|off>`: allowed users only, audited (bot.review.routing).
        The campaign is an id or the start of its title; the channel comes last. Alone: a form."""
        if not args:
            require_allowed(self.s, user_id, "route", None, "route campaigns")
            return OpenModal(forms.route_modal(channel_id))
        if len(args) < 2:
            raise BadInput("Give a campaign (its id or the start of its title) and a channel (or `off`).", "route")
        query, target = " ".join(args[:-1]), args[-1]
        require_allowed(self.s, user_id, "route", shown(query, 60), "route campaigns")
        self.campaigns.reaches_rapidworkers(user_id)
        found = self.campaigns.resolve(query, "route")  # a typo is refused here, before anything is stored
        if isinstance(found, Reply):
            return found
        cid, title = (found, self.campaigns.title_of(found)) if isinstance(found, str) else (found.id, found.title)
        return self._route(cid, title, self.channels.resolve(target), user_id)

    def route_from_form(self, params: dict, user_id: str) -> Reply:
        """The route form: the campaign its type-ahead option carried and the picked channel, as the text command."""
        def run() -> Reply:
            cid = self.campaigns.id_of(params["campaign"], "route")
            require_allowed(self.s, user_id, "route", cid, "route campaigns")
            self.campaigns.reaches_rapidworkers(user_id)
            channel = params["channel"]
            where = "off" if channel == self.settings.review_channel else channel
            return self._route(cid, self.campaigns.get(cid).title, where, user_id)

        return self.guard(run)

    def _route(self, campaign_id: str, title: str, where: str, user_id: str) -> Reply:
        return reply(ui.text_message(self.review.routes.command(campaign_id, where, user_id, title=title)))

    def routes(self, args: list[str], user_id: str, channel_id: str | None) -> Reply:
        self._no_args("routes", args)
        return reply(ui.text_message(self.review.routes.listing()))

    # -- post pending (campaign button) ------------------------------------------------

    def post_pending(self, campaign: str, user_id: str) -> Reply:
        return self.guard(lambda: self._post_pending(campaign, user_id))

    def _post_pending(self, campaign: str, user_id: str) -> Reply:
        cid = self.campaigns.id_of(campaign, "campaign")
        require_allowed(self.s, user_id, "post-pending", cid, "post submissions for review")
        self.campaigns.reaches_rapidworkers(user_id)
        campaign_store.forget_campaign_counts(self.db, cid)
        # Concurrent clicks share one sync instead of queueing one each.
        report = self._syncs.run("review-sync", self.review.sync)
        audit_store.audit(self.db, user_id, "post-pending", cid, "synced", report.summary()[:500])
        if report.busy:
            return reply(ui.text_message(f":inbox_tray: Another gigdesk process is syncing right now ({escape(report.busy)}); "
                                         "it posts the pending submissions."))
        lines = [f":inbox_tray: Posted {report.posted} new submission(s) for review"
                 f" ({report.skipped} already posted, {report.recovered} recovered)."]
        if report.failed or report.errors:
            lines.append(f":warning: {report.failed} could not be posted; the next sync tries again.")
        return reply(ui.text_message("\n".join(lines)))

    # -- blocking ----------------------------------------------------------------------

    def block(self, args: list[str], user_id: str, channel_id: str | None) -> Reply:
        if len(args) != 1:
            raise BadInput("Give one worker id.", "block")
        return self._block(args[0], user_id, "block")

    def _block(self, value: str | None, user_id: str, usage: str) -> Reply:
        wid = check_id(value, "worker id", usage)
        require_allowed(self.s, user_id, "block", wid, "block workers")
        known = block_store.block_of(self.db, wid)
        if known:
            audit_store.audit(self.db, user_id, "block", wid, "refused", "already blocked")
            return problem(f"Worker `{escape(wid)}` is already blocked (by {mention(known.get('blocked_by'))}).")
        self.review.block(wid, user_id, worker_name=None)
        return reply(ui.text_message(f":no_entry: Blocked worker `{escape(wid)}`. They no longer see your campaigns."))

    def unblock(self, args: list[str], user_id: str, channel_id: str | None) -> Reply:
        if len(args) != 1:
            raise BadInput("Give one worker id.", "unblock")
        wid = check_id(args[0], "worker id", "unblock")
        require_allowed(self.s, user_id, "unblock", wid, "unblock workers")
        self.review.unblock(wid, user_id)
        return reply(ui.text_message(f":white_check_mark: Unblocked worker `{escape(wid)}`."))
