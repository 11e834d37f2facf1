"""The buttons on the cards and job replies, and their modals.

Resend notifications, Re-rank workers, Cancel request, Assign worker, Cancel job and
Message worker are for allowed users only, and every click is audited. A button
counts only on the message the bot put it on (the card, its alert, a job's latest
reply) and for the record it names. Which actions a message offers follows the
state (bot.wonolo_desk.blocks can_recruit / can_cancel_request), and a click is
checked against the same rules. Each reaches Wonolo once (bot.wonolo_desk.claims):
one cancel, one assignment per request and worker, one message per submitted modal.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from bot.apiclient.fields import is_safe_id
from bot.errors import UserError
from bot.outcomes import Outcome
from bot.permissions import require_allowed
from bot.slack import ids
from bot.slack.mrkdwn import escape, mention
from bot.wonolo.client import WonoloError, WonoloNotFound
from bot.wonolo_desk import blocks as ui
from bot.wonolo_desk import modals
from bot.wonolo_desk.cards import Cards
from bot.wonolo_desk.claims import Claims, age_seconds, explain
from bot.wonolo_desk.common import WONOLO_ACTIONS, parse_email, refresh_quietly, shown
from storage import wonolo as alerts_store
from storage import wonolo_desk as desk_rows

log = logging.getLogger("gigdesk.wonolo.desk")

COOLDOWN_SECONDS = 60.0  # a resend / re-rank is not repeated within this

Message = tuple[str, str] | None  # (channel, ts) of the clicked message; None for a modal


class Actions:
    """What the buttons on job request cards and job replies do."""

    def __init__(self, services: Any, cards: Cards, claims: Claims):
        self.s = services  # for bot.permissions (who may act)
        self.client = services.wonolo
        self.cards = cards
        self.claims = claims

    @property
    def db(self):
        return self.s.store.db

    def _allowed(self, user_id: str, action: str, key: str) -> None:
        require_allowed(self.s, user_id, action, key, WONOLO_ACTIONS)

    # ------------------------------------------------------------------ which record a click names

    def known_request(self, value: object, message: Message) -> desk_rows.RequestMessageRow:
        """The job request a button names: exactly the value the bot wrote and, with
        `message` (channel, ts of the clicked message), the one that message shows."""
        key = value if isinstance(value, str) else ""
        row = self.cards.request_row(key) if is_safe_id(key) else None
        shown_on = set()
        if row is not None and row.get("ts"):
            shown_on.add((row["channel"], row["ts"]))
            alert = alerts_store.alert(self.db, key)
            if alert is not None and alert.get("ts"):
                shown_on.add((alert["channel"], alert["ts"]))
        if row is None or not shown_on or (message is not None and tuple(message) not in shown_on):
            raise UserError("That button does not belong to a Wonolo job request I know.")
        return row

    def known_job(self, value: object, message: Message = None) -> desk_rows.JobReplyRow:
        """The job a button (or modal) names; with `message`, the clicked message
        must be the job's latest reply (the only one with buttons)."""
        key = value if isinstance(value, str) else ""
        row = self.cards.job_row(key) if is_safe_id(key) else None
        if row is None or (message is not None and (row["channel"], row["reply_ts"]) != tuple(message)):
            raise UserError("That button does not belong to a Wonolo job I know.")
        return row

    # ------------------------------------------------------------------ job request buttons

    def resend_notifications(self, value: object, user_id: str, *, message: Message = None) -> Outcome:
        return self._recruit(value, user_id, ids.WONOLO_RESEND, message)

    def rerank_workers(self, value: object, user_id: str, *, message: Message = None) -> Outcome:
        return self._recruit(value, user_id, ids.WONOLO_RERANK, message)

    def _recruit(self, value: object, user_id: str, action: str, message: Message) -> Outcome:
        row = self.known_request(value, message)
        key = row["job_request_id"]
        self._allowed(user_id, action, key)
        if not ui.can_recruit(row["state"]):
            raise self.claims.refuse(user_id, action, key, f"Job request `{key}` is {ui.state_label(row['state']).lower()}; "
                                     "only a request still looking for workers can be resent or re-ranked.")
        if action == ids.WONOLO_RESEND:
            call, noun, did = self.client.resend_notifications, "Resending notifications", "resent notifications for"
        else:
            call, noun, did = self.client.re_rank_workers, "Re-ranking workers", "re-ranked the workers of"
        self.claims.act(
            action, key, user_id, lambda: call(key), cooldown=COOLDOWN_SECONDS,
            busy=f"{noun} for job request `{key}` is already under way (started by {{who}}).",
            done=lambda r: (f"{mention(r['user_id'])} {did} job request `{key}` "
                            f"{int(age_seconds(r['finished_at']))} s ago; try again in a minute."),
        )
        self.claims.audit(user_id, action, key, "done")
        refresh_quietly(lambda: self.cards.sync_request(key), f"job request {key}", log)
        if action == ids.WONOLO_RESEND:
            return Outcome(f"Wonolo is notifying workers about job request `{key}` again.")
        return Outcome(f"Wonolo re-ranked the workers for job request `{key}`.")

    def cancel_request(self, value: object, user_id: str, *, message: Message = None) -> Outcome:
        """Cancel on a card (or its alert): the state the card shows decides."""
        row = self.known_request(value, message)
        return self._cancel_request(row["job_request_id"], lambda: row["state"], user_id)

    def cancel_listed_request(self, value: object, user_id: str) -> Outcome:
        """Cancel on a `/wonolo requests` row: the request as Wonolo has it now decides."""
        key = value if isinstance(value, str) and is_safe_id(value) else None
        if key is None:
            raise UserError("That button does not belong to a Wonolo list I made.")
        return self._cancel_request(key, lambda: self._state_on_wonolo(key), user_id)

    def _state_on_wonolo(self, key: str) -> str | None:
        try:
            return self.client.get_job_request(key).state
        except WonoloNotFound:
            raise UserError(f"No job request with id `{escape(key)}`.") from None

    def _cancel_request(self, key: str, state_of: Callable[[], str | None], user_id: str) -> Outcome:
        """Allowed users only (checked before anything is read), while the state allows, once."""
        action = ids.WONOLO_CANCEL_REQUEST
        self._allowed(user_id, action, key)
        state = state_of()
        if state == "cancelled":
            raise self.claims.refuse(user_id, action, key, f"Job request `{key}` is already cancelled.")
        if not ui.can_cancel_request(state):
            raise self.claims.refuse(user_id, action, key, f"Job request `{key}` is {ui.state_label(state).lower()}; "
                                     "it can no longer be cancelled.")
        self.claims.act(
            action, key, user_id, lambda: self.client.update_job_request(key, state="cancelled"), cooldown=None,
            busy=f"Job request `{key}` is already being cancelled by {{who}}.",
            done=lambda r: f"Job request `{key}` was already cancelled by {mention(r['user_id'])}.",
        )
        self.claims.audit(user_id, action, key, "cancelled")
        refresh_quietly(lambda: self.cards.sync_request(key), f"job request {key}", log)
        return Outcome(f"Job request `{key}` is cancelled on Wonolo.")

    # ------------------------------------------------------------------ assign a favourite worker

    def _assignable(self, row: desk_rows.RequestMessageRow, user_id: str) -> str:
        key = row["job_request_id"]
        self._allowed(user_id, ids.WONOLO_ASSIGN, key)
        if not ui.can_recruit(row["state"]):
            raise self.claims.refuse(user_id, ids.WONOLO_ASSIGN, key,
                                     f"Job request `{key}` is {ui.state_label(row['state']).lower()}; "
                                     "workers can only be assigned while it is looking for them.")
        return key

    def assign_view(self, value: object, user_id: str, *, message: Message = None) -> dict:
        """The Assign worker modal, for an allowed user and a request still looking for workers."""
        key = self._assignable(self.known_request(value, message), user_id)
        return modals.assign_modal(key, None, None)

    def _find_worker(self, typed: str):
        """The Wonolo worker a typed id or e-mail names."""
        email = parse_email(typed)
        if email is not None:
            found = [u for u in self.client.list_users(type="Worker", email=email)
                     if (u.email or "").lower() == email.lower()]
            if not found:
                raise UserError(f"No Wonolo worker with e-mail `{shown(email)}`.")
            return found[0]
        value = typed.strip()
        if not is_safe_id(value):
            raise UserError(f"`{shown(value)}` is neither a worker id nor an e-mail address.")
        try:
            user = self.client.get_user(value)
        except WonoloNotFound:
            raise UserError(f"No Wonolo worker with id `{escape(value)}`.") from None
        if (user.type or "Worker") != "Worker":
            raise UserError(f"User `{escape(value)}` is not a worker.")
        return user

    def _worker_for(self, typed: str, user_id: str, key: str):
        try:
            return self._find_worker(typed)
        except (UserError, WonoloError) as e:
            self.claims.audit(user_id, ids.WONOLO_ASSIGN, key, "refused", str(e))
            if isinstance(e, WonoloError):
                raise UserError(explain(e)) from None
            raise

    def assign_worker(self, job_request_id: object, user_id: str, typed: str, notes: str = "") -> Outcome:
        """POST /jobs/assign once per request and worker, however often it is submitted."""
        action = ids.WONOLO_ASSIGN
        key = self._assignable(self.known_request(job_request_id, None), user_id)
        typed, notes = (typed or "").strip(), (notes or "").strip()[:500]
        if not typed:
            raise UserError("Give the worker's id or e-mail.")
        worker = self._worker_for(typed, user_id, key)
        wid = str(worker.id)
        job = self.claims.act(
            action, f"{key}:{wid}", user_id,
            lambda: self.client.assign_job(wid, key, requestor_notes=notes or None), cooldown=None,
            busy=f"*{escape(worker.full_name)}* is already being assigned to job request `{key}` by {{who}}.",
            done=lambda r: f"*{escape(worker.full_name)}* was already assigned to job request `{key}` by {mention(r['user_id'])}.",
        )
        self.claims.audit(user_id, action, key, "assigned", f"worker {wid} (job {job.id})")
        if job.id is not None:
            refresh_quietly(lambda: self.cards.sync_job(str(job.id)), f"job {job.id}", log)
        else:
            refresh_quietly(lambda: self.cards.sync_request(key), f"job request {key}", log)
        return Outcome(f"*{escape(worker.full_name)}* is assigned to job request `{key}` on Wonolo.")

    # ------------------------------------------------------------------ job buttons and modals

    def _cancellable_job(self, row: desk_rows.JobReplyRow, user_id: str) -> str:
        key = row["job_id"]
        self._allowed(user_id, ids.WONOLO_CANCEL_JOB, key)
        if row["state"] not in ui.JOB_CANCELLABLE_STATES:
            raise self.claims.refuse(user_id, ids.WONOLO_CANCEL_JOB, key,
                                     f"Job `{key}` is {ui.state_label(row['state']).lower()}; it can no longer be cancelled.")
        return key

    def cancel_job_view(self, value: object, user_id: str, *, message: Message = None) -> dict:
        """The Cancel job modal, for an allowed user and a job that can still be cancelled."""
        row = self.known_job(value, message)
        key = self._cancellable_job(row, user_id)
        return modals.cancel_job_modal(row["data"] or {"id": key}, (row["data"] or {}).get("request_name"))

    def cancel_job(self, job_id: object, user_id: str, reason: str) -> Outcome:
        action = ids.WONOLO_CANCEL_JOB
        row = self.known_job(job_id)
        reason = (reason or "").strip()[:200]
        self._allowed(user_id, action, row["job_id"])
        if not reason:
            raise UserError("Cancelling a job needs a reason.")
        key = self._cancellable_job(row, user_id)
        self.claims.act(
            action, key, user_id, lambda: self.client.cancel_job(key, reason), cooldown=None,
            busy=f"Job `{key}` is already being cancelled by {{who}}.",
            done=lambda r: f"Job `{key}` was already cancelled by {mention(r['user_id'])}.",
        )
        self.claims.audit(user_id, action, key, "cancelled", reason)
        refresh_quietly(lambda: self.cards.sync_job(key), f"job {key}", log)
        worker = (row["data"] or {}).get("worker_name")
        return Outcome(f"Job `{key}`" + (f" of *{escape(worker)}*" if worker else "") + " is cancelled on Wonolo.")

    def message_view(self, value: object, user_id: str, *, message: Message = None) -> dict:
        """The Message worker modal."""
        row = self.known_job(value, message)
        key = row["job_id"]
        self._allowed(user_id, ids.WONOLO_MESSAGE_WORKER, key)
        if not (row["data"] or {}).get("worker_id"):
            raise self.claims.refuse(user_id, ids.WONOLO_MESSAGE_WORKER, key, f"Job `{key}` has no worker to message.")
        return modals.message_modal(row["data"])

    def _send_message(self, key: str, body: str):
        """One in-app message, sent as the job's requestor; the job."""
        job = self.client.get_job(key)
        if job.worker is None or job.worker.id is None:
            raise UserError(f"Job `{key}` has no worker to message.")
        sender = job.employer.id if job.employer is not None and job.employer.id is not None else None
        if sender is None and job.job_request_id is not None:
            sender = self.client.get_job_request(job.job_request_id).employer_id
        if sender is None:
            raise UserError("Wonolo did not say who the requestor of this job is, so I cannot send as them.")
        self.client.create_message(sender_id=sender, receiver_id=job.worker.id, job_id=job.id, body=body)
        return job

    def message_worker(self, job_id: object, user_id: str, body: str, view_id: str | None) -> Outcome:
        """Send an in-app message once per submitted modal (keyed by the view id)."""
        action = ids.WONOLO_MESSAGE_WORKER
        row = self.known_job(job_id)
        key = row["job_id"]
        body = (body or "").strip()
        self._allowed(user_id, action, key)
        if not body:
            raise UserError("The message is empty.")
        job = self.claims.act(
            action, f"{key}:{view_id or uuid.uuid4().hex}", user_id, lambda: self._send_message(key, body),
            cooldown=None, busy="This message is already being sent.", done=lambda r: "This message was already sent.",
        )
        self.claims.audit(user_id, action, key, "sent", f"{len(body)} characters to worker {job.worker.id}")
        return Outcome(f"Message sent to *{escape(job.worker.full_name)}* in the Wonolo app.")
