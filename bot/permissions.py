"""Who may do what: the one refusal (audited, then NotAllowed) every gated path uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import NotAllowed
from storage import records

if TYPE_CHECKING:
    from bot.services import Services

ASK_AN_ADMIN = "Ask an admin to add you to the review channel (or GIGDESK_ALLOWED_USERS)."


def refuse(services: Services, user_id: str | None, action: str, target: str | None, message: str,
           *, reason: str = "not an allowed user") -> NotAllowed:
    """Audit a refusal and return the NotAllowed to raise (`message` is for the user, `reason` for the audit)."""
    records.audit(services.store.db, user_id, action, target, "refused", reason)
    return NotAllowed(message)


def require_allowed(services: Services, user_id: str | None, action: str, target: str | None, what: str,
                    *, message: str | None = None) -> None:
    """Refuse (audited) unless the user may review (Services.is_allowed).

    The user reads "You are not allowed to <what>. Ask an admin …", or `message` when given.
    """
    if not services.is_allowed(user_id):
        raise refuse(services, user_id, action, target, message or f"You are not allowed to {what}. {ASK_AN_ADMIN}")
