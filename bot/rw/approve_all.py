"""`/rw approve-all`: approve-all pays only what it offered.

The offer lists the campaign's pending submissions that a reviewer could have seen: posted to
the review channel, their proof check finished, and not flagged (flagged ones only when the user
includes them with the button, in a new offer). Submissions never posted for review, and those
whose proof check has not finished, and those of workers blocked in our records
(storage/worker_blocks.py), are left out and the offer says so. Confirm approves those offered
submissions still pending whose worker is still not blocked, one by one, each through the same
decided-once guard as a click (bot.review), within the hourly request budget; never
`bulk_action`, which would pay for submissions nobody saw. `offered_ids`, `to_approve` and
`of_blocked_workers` are that rule.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.rapidworkers.client import RapidWorkersError, Submission
from bot.rw import blocks as ui
from bot.rw import finder, forms
from bot.rw.parsing import shown
from bot.rw.replies import certainly_not_applied, explain, reply, stops_a_bulk_run
from bot.rw.spends import Progress, RwSpends
from bot.slack.mrkdwn import escape, money, truncate
from bot.slack.replies import OpenModal, Reply
from bot.spending.offers import NothingSpent, Spent, Withdrawn
from storage import audit as audit_store
from storage import submissions as subs
from storage import worker_blocks as block_store
from storage.db import Database
from storage.rows import Offer

if TYPE_CHECKING:
    from bot.review.feature import ReviewService
    from bot.rw.campaigns import Campaigns
    from bot.services import Services

log = logging.getLogger("gigdesk.commands")

BULK_PROGRESS_FROM = 6  # bulk approvals of at least this many show progress (a few response_url updates)
BULK_LEAVES_FREE = 2  # × the budget's interactive reserve (at most half the budget): left for the sync and single clicks
ACTION = "approve-all"


# --- the rule ----------------------------------------------------------------------------------


def offered_ids(params: dict) -> list[int]:
    """The submissions an approve-all offer offered: the listed ones, and the flagged ones only
    when the user included them explicitly."""
    return list(params["submission_ids"]) + (list(params["flagged_ids"]) if params.get("include_flagged") else [])


def to_approve(params: dict, checking: Iterable[int], blocked: Iterable[int] = ()) -> list[int]:
    """What Confirm may approve: only what was offered, less any whose proof check is under way
    again (taken up by a sync since) and any whose worker has been blocked since; never a
    submission that was not offered."""
    busy = set(checking) | set(blocked)
    return [sid for sid in offered_ids(params) if sid not in busy]


def of_blocked_workers(db: Database, submissions: Iterable[Submission]) -> list[int]:
    """The submissions whose worker is blocked in our records: never paid by approve-all."""
    return sorted(sub.id for sub in submissions if block_store.block_of(db, str(sub.worker_id)) is not None)


@dataclass
class Pending:
    """A campaign's pending submissions, sorted into what an approve-all offer may include."""

    offerable: list[Submission]
    flagged: dict[int, tuple[Submission, list[str]]]
    not_posted: list[int]
    checking: list[int]
    blocked: list[int]


# --- a run ------------------------------------------------------------------------------------


@dataclass
class BulkRun(Spent):
    """How a confirmed approve-all went, submission by submission."""

    offered: int = 0
    checking: int = 0
    approved: list[tuple[int, Decimal]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    left: list[int] = field(default_factory=list)
    blocked: list[int] = field(default_factory=list)
    uncertain: int = 0
    stop: str | None = None

    @property
    def paid(self) -> Decimal:
        return sum((a for _, a in self.approved), Decimal("0")).quantize(Decimal("0.01"))


class ApproveAll:
    """The approve-all offer and its confirmed run."""

    def __init__(self, services: Services, spends: RwSpends, campaigns: Campaigns, review: ReviewService):
        self.s = services
        self.spends = spends
        self.campaigns = campaigns
        self.review = review
        spends.executors[ACTION] = self._run

    @property
    def db(self):
        return self.s.store.db

    def _require_spender(self, user_id: str, target: str | None) -> None:
        self.spends.rules.require_spender(user_id, ACTION, target, "approve submissions in bulk")

    # -- offer --------------------------------------------------------------------------------

    def command(self, args: list[str], user_id: str, channel_id: str | None) -> Reply | OpenModal:
        """`/rw approve-all <id or title start>`; alone, a form with a campaign type-ahead."""
        self._require_spender(user_id, None)
        if not args:
            return OpenModal(forms.approve_all_modal(channel_id))
        self.campaigns.reaches_rapidworkers(user_id)
        found = self.campaigns.resolve(" ".join(args), ACTION)
        if isinstance(found, Reply):
            return found
        cid = found if isinstance(found, str) else found.id
        self.campaigns.remember_keys([cid])
        return self.offer(finder.campaign_value(cid), user_id)

    def sort_pending(self, campaign_id: str, pending: list[Submission]) -> Pending:
        """Left out of the offer: of a blocked worker, never posted to the review channel, proof
        check not finished; set apart: flagged (included only on request)."""
        blocked = of_blocked_workers(self.db, pending)
        pending = [sub for sub in pending if sub.id not in blocked]
        posted = {row.submission_id for row in subs.posted(self.db, campaign_id=campaign_id) if row.ts}
        not_posted = [sub.id for sub in pending if sub.id not in posted]
        seen = [sub for sub in pending if sub.id in posted]
        checking = self.review.being_checked([sub.id for sub in seen])
        flags = {sub.id: (sub, self.review.flags(sub.id, sub.to_dict())) for sub in seen if sub.id not in checking}
        flagged = {sid: found for sid, found in flags.items() if found[1]}
        offerable = [sub for sub in seen if sub.id not in checking and sub.id not in flagged]
        return Pending(offerable, flagged, not_posted, sorted(checking), blocked)

    def offer(self, campaign: str, user_id: str) -> Reply:
        """Offer to approve the campaign's pending submissions listed now (see the module's rule).
        `campaign`: what a button or option carries (Campaigns.id_of)."""
        cid = self.campaigns.id_of(campaign, ACTION)
        self._require_spender(user_id, cid)
        c = self.campaigns.get(cid)
        pending = sorted(self.s.rw.list_submissions(cid, status="Pending"), key=lambda sub: sub.id)
        if not pending:
            return reply(ui.text_message(f"*{escape(c.title)}* has no pending submissions: nothing to approve."))
        found = self.sort_pending(cid, pending)
        params = {
            "campaign_id": cid, "title": c.title[:200], "pay": str(c.pay),
            "submission_ids": [sub.id for sub in found.offerable],
            "flagged_ids": sorted(found.flagged),
            "checking_ids": found.checking,
            "not_posted_ids": found.not_posted,
            "blocked_ids": found.blocked,
            "flag_lines": [f"`{sid}` {shown(sub.worker_name, 40)}: {', '.join(flags)}"
                           for sid, (sub, flags) in sorted(found.flagged.items())][:10],
            "include_flagged": False,
        }
        return self._offer(user_id, params)

    def offer_including_flagged(self, confirmation_id: str, user_id: str) -> Reply:
        """The explicit choice to include flagged submissions: a new offer (its own Confirm) replaces the first."""
        row = self.spends.offers.replace(
            confirmation_id, user_id, why="include-flagged",
            fits=lambda row: row.action == ACTION and bool(row.params.get("flagged_ids")),
            check=lambda row: self._require_spender(user_id, row.params["campaign_id"]))
        return dataclasses.replace(self._offer(user_id, {**row.params, "include_flagged": True}), replace_original=True)

    def _offer(self, user_id: str, params: dict) -> Reply:
        included = offered_ids(params)
        pay = Decimal(params["pay"])
        title = truncate(escape(params["title"]), 200)
        flagged = len(params["flagged_ids"])
        if params["include_flagged"]:
            what = (f"Approve *{len(included)}* pending submission(s) of *{title}*, *including {flagged} flagged*, "
                    f"and pay each worker {money(pay)}.")
        else:
            what = f"Approve the *{len(included)}* unflagged pending submission(s) of *{title}* and pay each worker {money(pay)}."
        what += _left_out_lines(params)
        what += "\nOnly these submissions are approved: any that arrive later are not, and any decided meanwhile are skipped."
        include_button = flagged > 0 and not params["include_flagged"]
        cost = (pay * len(included)).quantize(Decimal("0.01"))
        return self.spends.offer(user_id, ACTION, params, cost, what=truncate(what, 2900), target=params["campaign_id"],
                                 cost_note=f"{len(included)} × {money(pay)}", confirmable=bool(included),
                                 include_flagged=flagged if include_button else 0)

    # -- the confirmed run -------------------------------------------------------------------------

    def _run(self, row: Offer, user_id: str, progress: Progress) -> Reply:
        run = self.spends.execute(row, user_id, lambda taken: self._spend(taken, user_id, progress))
        return self._report(row, user_id, run)

    def _budget_short(self) -> bool:
        """Stop a bulk approval before it eats what the sync and single clicks need this hour."""
        budget = self.s.rw.budget
        return budget.remaining() <= min(BULK_LEAVES_FREE * budget.interactive_reserve, budget.hourly_limit // 2)

    def _spend(self, row: Offer, user_id: str, progress: Progress) -> BulkRun:
        """Approve exactly the offered submissions still pending, one at a time (never bulk_action)."""
        p = row.params
        cid = p["campaign_id"]
        if "submission_ids" not in p:  # offered by a version that did not list them: never approve blindly
            raise Withdrawn("This offer was made before an upgrade and does not list its submissions. "
                            f"Nothing was spent; run `/rw approve-all {escape(cid)}` again.")
        offered = offered_ids(p)
        try:
            still_pending = {sub.id: sub for sub in self.s.rw.list_submissions(cid, status="Pending")}
        except RapidWorkersError as e:  # a read: certainly nothing was spent
            raise NothingSpent(explain(e)) from None
        # Taken up by a sync since the offer and not checked yet: left out like flagged ones;
        # of a worker blocked since the offer: left out like at the offer.
        being_checked = self.review.being_checked(offered)
        blocked = of_blocked_workers(self.db, (still_pending[sid] for sid in offered if sid in still_pending))
        wanted = to_approve(p, being_checked, blocked)
        run = BulkRun(amount=Decimal("0"), offered=len(offered), checking=len(set(offered) & set(being_checked)),
                      blocked=sorted(set(blocked) - set(being_checked)))
        title = truncate(escape(p.get("title") or cid), 200)
        marks = {0, len(wanted) // 3, 2 * len(wanted) // 3} if len(wanted) >= BULK_PROGRESS_FROM else set()
        for n, sid in enumerate(wanted):
            if n in marks and progress is not None:
                _show_progress(progress, title, n, len(wanted), run)
            if self._budget_short():
                run.left, run.stop = wanted[n:], "the hourly RapidWorkers request budget is nearly used up (the rest is kept for reviews and the sync)"
                break
            if self._approve_one(run, row, still_pending.get(sid), sid, user_id):
                run.left = wanted[n + 1:]
                break
        return _settled(run, Decimal(p["pay"]))

    def _approve_one(self, run: BulkRun, row: Offer, submission: Submission | None, sid: int, user_id: str) -> bool:
        """Approve one offered submission into `run`; True when the run must stop after it."""
        if submission is None:  # decided meanwhile
            run.skipped.append(sid)
            return False
        p = row.params
        try:
            amount = self.review.approve_in_bulk(p["campaign_id"], submission, Decimal(p["pay"]), p.get("title") or "", user_id)
        except RapidWorkersError as e:
            run.failed.append(f"`{sid}`: {explain(e)}")
            if not certainly_not_applied(e):
                run.uncertain += 1
                run.stop = "RapidWorkers failed in a way that may or may not have approved it"
                return True
            if stops_a_bulk_run(e):
                run.stop = explain(e)
                return True
            return False
        if amount is None:
            run.skipped.append(sid)
        else:
            run.approved.append((sid, amount))
        return False

    def _report(self, row: Offer, user_id: str, run: BulkRun) -> Reply:
        p = row.params
        cid = p["campaign_id"]
        title = truncate(escape(p.get("title") or cid), 200)
        audit_store.audit(self.db, user_id, ACTION, cid, "approved",
                      f"{len(run.approved)} approved, {len(run.skipped)} skipped, {len(run.failed)} failed, {len(run.left)} left",
                      str(run.paid))
        if run.approved:
            self.spends.announce(f"{self.spends.who(row)} approved {len(run.approved)} pending submission(s) of *{title}* "
                                 f"for {money(run.paid)}.")
        icon = ":warning:" if run.uncertain or run.failed or run.left else ":white_check_mark:"
        headline = f"{icon} Approved {len(run.approved)} of the {run.offered} submission(s) offered for *{title}*; paid {money(run.paid)}."
        details = _run_lines(run, cid) + self.spends.asked_and_confirmed(row)
        balance = self.spends.balance_after(None)
        if balance is not None:
            details.append(f"new balance {money(balance)}")
        return reply(ui.result_message(headline, details), replace=True)


def _settled(run: BulkRun, pay: Decimal) -> BulkRun:
    """What the run spent: what was paid, plus `pay` for each approval that may have gone through.
    Only refusals that certainly took no effect and nothing approved: nothing was spent (the offer stands)."""
    if not run.approved and not run.uncertain and not run.skipped and run.failed:
        raise NothingSpent(f"Nothing was approved: {run.failed[0]}")
    run.amount = run.paid + pay * run.uncertain
    run.certain = bool(run.approved) or not run.uncertain
    run.result = {"approved": [s for s, _ in run.approved], "skipped": run.skipped, "failed": len(run.failed),
                  "left": run.left, "cost": str(run.paid)}
    return run


def _left_out_lines(params: dict) -> str:
    """What the offer leaves out, and why: flagged, never posted for review, still being checked."""
    text = ""
    flagged = len(params["flagged_ids"])
    if flagged:
        more = f"\n…and {flagged - len(params['flag_lines'])} more" if flagged > len(params["flag_lines"]) else ""
        head = ("Flagged, included:" if params["include_flagged"]
                else f":warning: *{flagged}* flagged submission(s) are left out (include them only with the button below):")
        text += f"\n{head}\n" + "\n".join(params["flag_lines"]) + more
    if params.get("not_posted_ids"):
        text += (f"\n:inbox_tray: *{len(params['not_posted_ids'])}* not yet posted to the review channel are left out "
                 "(nobody has seen them; run approve-all again once they are posted).")
    if params.get("blocked_ids"):
        text += (f"\n:no_entry: *{len(params['blocked_ids'])}* from blocked workers are left out "
                 "(a blocked worker is never paid by approve-all; decide them on their cards).")
    if params.get("checking_ids"):
        text += (f"\n:hourglass_flowing_sand: *{len(params['checking_ids'])}* still being checked are left out "
                 "(their cards update when the proof check is done; run approve-all again then).")
    return text


def _run_lines(run: BulkRun, cid: str) -> list[str]:
    again = f"`/rw approve-all {escape(cid)}`"
    lines = []
    if run.checking:
        lines.append(f"{run.checking} still being checked (left out; run {again} again once their check is done)")
    if run.blocked:
        lines.append(f"{len(run.blocked)} left out: their worker was blocked after the offer")
    if run.skipped:
        lines.append(f"{len(run.skipped)} skipped (decided meanwhile, or being decided by someone else)")
    if run.failed:
        lines.append(f"{len(run.failed)} failed: " + "; ".join(run.failed[:3]))
    if run.left:
        lines.append(f"{len(run.left)} not attempted: {run.stop}. Run {again} again later for them")
    if run.uncertain:
        lines.append(f"check `/rw campaign {escape(cid)}` before trying again; I will not retry on my own")
    return lines


def _show_progress(progress: Any, title: str, done: int, total: int, run: BulkRun) -> None:
    """Replace the offer with how far the bulk approval got (a few response_url uses: Slack allows 5)."""
    try:
        progress(reply(ui.text_message(f":hourglass_flowing_sand: Approving the submissions of *{title}*: "
                                       f"{done} of {total} done ({len(run.approved)} approved, {len(run.skipped)} skipped)…"),
                       replace=True))
    except Exception:
        log.warning("could not show bulk approval progress", exc_info=True)
