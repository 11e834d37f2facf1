"""One Wonolo call per click: the action claims, and the audit of every attempt.

A claim row in wonolo_actions (taken in one write transaction) makes a double click,
or two people clicking at once, reach Wonolo once: a second click is refused while
the first is under way, for `cooldown` seconds after it was done (a resend, a
re-rank, an invitation), and for good when there is no cooldown (a cancel, a sent
message, an assignment). A failed call releases the claim, so a new click tries again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.errors import UserError
from bot.slack.mrkdwn import escape, mention
from bot.wonolo.client import WonoloError, WonoloForbidden, WonoloNetworkError
from storage import audit as audit_store
from storage import wonolo_desk as desk_rows
from storage.db import utcnow

STALE_CLAIM_SECONDS = 120.0  # a "running" claim older than this was cut short by a crash


def age_seconds(iso: str | None) -> float:
    if not iso:
        return float("inf")
    try:
        return (datetime.fromisoformat(utcnow()) - datetime.fromisoformat(iso)).total_seconds()
    except ValueError:
        return float("inf")


def explain(error: WonoloError) -> str:
    """A failed action, for the person who clicked (Wonolo's text escaped)."""
    text = escape(str(error))
    if isinstance(error, (WonoloForbidden, WonoloNetworkError)):
        return text  # says why (Public Pool keys) / that it may have gone through
    return f"{text} You can try again."


class Claims:
    """Claim, call Wonolo once, record; every outcome audited."""

    def __init__(self, store: Any):
        self.store = store

    @property
    def db(self):
        return self.store.db

    def audit(self, user_id: str | None, action: str, target: str, outcome: str, detail: str | None = None) -> None:
        audit_store.audit(self.db, user_id, action, target, outcome, detail)

    def refuse(self, user_id: str, action: str, target: str, message: str) -> UserError:
        """The error to raise, audited as refused."""
        self.audit(user_id, action, target, "refused", message)
        return UserError(message)

    def _claim(self, action: str, target: str, user_id: str, *, cooldown: float | None) -> desk_rows.ActionRow | None:
        """Take the claim for one action on one target; the standing claim if refused."""
        def standing(row: desk_rows.ActionRow) -> bool:
            busy = row["state"] == "running" and age_seconds(row["started_at"]) < STALE_CLAIM_SECONDS
            recent = row["state"] == "done" and (cooldown is None or age_seconds(row["finished_at"]) < cooldown)
            return busy or recent

        return desk_rows.claim_action(self.db, action, target, user_id, standing=standing)

    def act(self, action: str, target: str, user_id: str, call: Callable[[], Any], *,
            cooldown: float | None, busy: str, done: Callable[[desk_rows.ActionRow], str]) -> Any:
        """Claim, call Wonolo once, record; a failure releases the claim and is audited.
        `busy` (with {who}) and `done(row)` word the refusal of a second click."""
        standing = self._claim(action, target, user_id, cooldown=cooldown)
        if standing is not None:
            message = busy.format(who=mention(standing["user_id"])) if standing["state"] == "running" else done(standing)
            raise self.refuse(user_id, action, target, message)
        try:
            result = call()
        except WonoloError as e:
            self._failed(action, target, user_id, "failed", str(e))
            raise UserError(explain(e)) from None
        except UserError as e:
            self._failed(action, target, user_id, "failed", str(e))
            raise
        except Exception:
            self._failed(action, target, user_id, "error", "unexpected error")
            raise
        desk_rows.finish_action(self.db, action, target)
        return result

    def _failed(self, action: str, target: str, user_id: str, outcome: str, detail: str) -> None:
        desk_rows.release_action(self.db, action, target)
        self.audit(user_id, action, target, outcome, detail)
