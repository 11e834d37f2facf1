"""`/rw job` (a prefilled job) and `/rw new` (a custom campaign): the forms, the offers, and
creating the job once Confirm took the offer (through bot.spending, which records the result)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.rapidworkers.client import PREFILLED_UNIT_PRICE, custom_job_cost, prefilled_cost
from bot.rw import blocks as ui
from bot.rw import forms
from bot.rw.parsing import ID_RE, BadInput, article, check_kind, parse_job_args, parse_job_view, parse_new_view, shown
from bot.rw.replies import reply
from bot.rw.spends import ACTION_LABEL, Progress, RwSpends
from bot.slack.mrkdwn import escape, money, truncate
from bot.slack.replies import OpenModal, Reply
from bot.spending.offers import Spent
from storage import audit as audit_store
from storage import campaigns as campaign_store
from storage import jobs as job_store
from storage.rows import Offer

if TYPE_CHECKING:
    from bot.rw.campaigns import Campaigns
    from bot.rw.images import CampaignImages
    from bot.services import Services


@dataclass
class Created(Spent):
    """A job RapidWorkers created: its id (may be missing), what it is, and the balance it reported."""

    job_id: str = ""
    kind: str = ""
    title: str = ""
    what: str = ""
    new_balance: Decimal | None = None
    view: str | None = None  # the job is a campaign: its id for "View campaign"


class Jobs:
    """Prefilled jobs and custom campaigns: offered, then created on Confirm."""

    def __init__(self, services: Services, spends: RwSpends, images: CampaignImages, campaigns: Campaigns):
        self.s = services
        self.spends = spends
        self.images = images
        self.campaigns = campaigns
        spends.executors["prefilled"] = self._run_prefilled
        spends.executors["custom"] = self._run_custom

    @property
    def db(self):
        return self.s.store.db

    # -- forms -------------------------------------------------------------------------------

    def job(self, args: list[str], user_id: str, channel_id: str | None) -> Reply | OpenModal:
        """`/rw job <kind> <link> <quantity> …`: the offer; alone (or with only a kind), the form."""
        if len(args) <= 1:
            kind = check_kind(args[0]) if args else None
            self.spends.rules.require_spender(user_id, "job-prefilled", None, "create jobs")
            return OpenModal(forms.job_modal(channel_id, kind=kind))
        return self.offer_prefilled(parse_job_args(args), user_id)

    def new(self, args: list[str], user_id: str, channel_id: str | None) -> OpenModal:
        if args:
            raise BadInput("`/rw new` takes no arguments.", "new")
        self.spends.rules.require_spender(user_id, "job-custom", None, "create campaigns")
        return OpenModal(forms.new_campaign_modal(channel_id))

    @staticmethod
    def check_job_view(values: dict) -> tuple[dict, dict[str, str]]:
        return parse_job_view(values)

    @staticmethod
    def check_new_view(values: dict) -> tuple[dict, dict[str, str]]:
        return parse_new_view(values)

    # -- offers ------------------------------------------------------------------------------

    def offer_prefilled(self, params: dict, user_id: str) -> Reply:
        kind, quantity = params["kind"], params["quantity"]
        self.spends.rules.require_spender(user_id, "job-prefilled", kind, "create jobs")
        where = f" in {', '.join(params['countries'])}" if params.get("countries") else ""
        lang = f", language {escape(params['language'])}" if params.get("language") else ""
        what = (f"Create {article(kind)} *{kind}* job: {quantity:,} × {money(PREFILLED_UNIT_PRICE)} for {escape(params['link'])}"
                f"{where}{lang}. Its submissions come to the review channel as they arrive; RapidWorkers pays any still "
                "undecided when the job is full.")
        return self.spends.offer(user_id, "prefilled", params, prefilled_cost(quantity), what=what, target=kind)

    def offer_custom(self, params: dict, user_id: str) -> Reply:
        self.spends.rules.require_spender(user_id, "job-custom", params.get("title"), "create campaigns")
        image = None
        if params.get("image"):
            image = self.images.download(params["image"]["file_id"])
            params["image"].update(name=image[0], mimetype=image[2], size=len(image[1]))
        pay = Decimal(params["pay_rate"])
        n = int(params["total_availabilities"])
        cost, commission, total = custom_job_cost(pay, n)
        extras = []
        if params.get("countries"):
            extras.append("countries " + ", ".join(params["countries"]))
        if params.get("approve_once_full"):
            extras.append("approved and paid automatically once full")
        if image:
            extras.append(f"image {shown(image[0], 40)}")
        what = (f"Create the campaign *{truncate(escape(params['title']), 200)}* "
                f"({escape(params['category'])}): {n:,} tasks × {money(pay)}"
                + (f"; {'; '.join(extras)}" if extras else "") + ".")
        note = f"{money(cost)} + {money(commission)} commission (10%)"
        return self.spends.offer(user_id, "custom", params, total, what=what, target=params["title"][:100],
                                 estimate=True, cost_note=note, image=image)

    # -- creating (a taken offer) -----------------------------------------------------------------

    def _spend_prefilled(self, row: Offer) -> Created:
        p = row.params
        job = self.s.rw.create_prefilled_job(p["kind"], p["link"], int(p["quantity"]), p.get("countries") or None, p.get("language"))
        cost = job.total_deducted or job.total_cost or row.cost_amount
        what = f"a new *{p['kind']}* job ({int(p['quantity']):,} on {escape(p['link'])})"
        return self._created(row, job, cost, kind=p["kind"], title=f"{p['kind']} {p['link']}", what=what)

    def _spend_custom(self, row: Offer) -> Created:
        p = row.params
        image = self.images.for_offer(row.id, p.get("image"))
        job = self.s.rw.create_job(
            title=p["title"],
            description=p["description"],
            pay_rate=Decimal(p["pay_rate"]),
            total_availabilities=int(p["total_availabilities"]),
            proof_required_description=p["proof_required_description"],
            category=p["category"],
            sub_category=p.get("sub_category"),
            countries=p.get("countries") or None,
            approve_once_full=bool(p.get("approve_once_full")),
            image=image,
        )
        self.images.drop(row.id)
        if job.job_id:  # the review card shows it; campaign listings may not include it
            campaign_store.remember_campaign_requirement(self.db, job.job_id, p["proof_required_description"])
        cost = job.total_deducted or row.cost_amount
        what = f"a new campaign *{truncate(escape(p['title']), 200)}* ({int(p['total_availabilities']):,} × {money(Decimal(p['pay_rate']))})"
        return self._created(row, job, cost, kind="custom", title=p["title"], what=what)

    @staticmethod
    def _created(row: Offer, job: Any, cost: Decimal, *, kind: str, title: str, what: str) -> Created:
        job_id = job.job_id or f"unknown-{row.id[:8]}"
        return Created(amount=cost, result={"job_id": job_id, "cost": str(cost)}, job_id=job_id, kind=kind,
                       title=title, what=what, new_balance=job.new_balance,
                       view=job.job_id if job.job_id and ID_RE.match(job.job_id) else None)

    def _run_prefilled(self, row: Offer, user_id: str, progress: Progress) -> Reply:
        return self._report(row, user_id, self.spends.execute(row, user_id, self._spend_prefilled))

    def _run_custom(self, row: Offer, user_id: str, progress: Progress) -> Reply:
        return self._report(row, user_id, self.spends.execute(row, user_id, self._spend_custom))

    def _report(self, row: Offer, user_id: str, job: Created) -> Reply:
        """Record the new job, audit and announce it, and say what was created."""
        cost = job.amount
        job_store.record_job(self.db, job.job_id, row.id, job.kind, job.title[:200], str(cost), row.user_id)
        audit_store.audit(self.db, user_id, ACTION_LABEL[row.action], job.job_id, "created", job.what[:200], str(cost))
        self.spends.announce(f"{self.spends.who(row)} created {job.what} for {money(cost)} (job `{escape(job.job_id)}`).")
        balance = self.spends.balance_after(job.new_balance)
        details = [f"Job `{escape(job.job_id)}`", f"cost {money(cost)}"]
        if balance is not None:
            details.append(f"new balance {money(balance)}")
        details += self.spends.asked_and_confirmed(row)
        self.campaigns.remember_keys([job.view] if job.view else [])
        return reply(ui.result_message(f":white_check_mark: Created {job.what}.", details, campaign_id=job.view), replace=True)
