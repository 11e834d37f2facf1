"""Who may do what: the one refusal (audited, then NotAllowed) every gated path uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import NotAllowed
from storage import audit as audit_store

if TYPE_CHECKING:
    from bot.services import Services


def refuse(services: Services, user_id: str | None, action: str, target: str | None, message: str,
           *, reason: str = "not an allowed user") -> NotAllowed:
    """Audit a refusal and return the NotAllowed to raise (`message` is for the user, `reason` for the audit)."""
    audit_store.audit(services.store.db, user_id, action, target, "refused", reason)
    return NotAllowed(message)


def how_to_be_allowed(services: Services, user_id: str | None) -> str:
    """What actually grants the right to review (Services.is_allowed), for a refusal: the allow-list
    when GIGDESK_ALLOWED_USERS is set, else membership of the review channel (not as a guest)."""
    settings = services.settings
    if settings.allowed_users:
        return f"Ask an admin to add you to GIGDESK_ALLOWED_USERS (your member ID is `{user_id}`)."
    channel = settings.review_channel
    if user_id and services.is_review_member(user_id):  # in the channel, so a guest: joining cannot help
        return (f"Guests of <#{channel}> may not review: ask an admin to add you to GIGDESK_ALLOWED_USERS "
                f"(your member ID is `{user_id}`).")
    return f"Join <#{channel}> (non-guests of the review channel may review)."


def require_allowed(services: Services, user_id: str | None, action: str, target: str | None, what: str,
                    *, lead: str | None = None) -> None:
    """Refuse (audited) unless the user may review (Services.is_allowed).

    The user reads "You are not allowed to <what>." (or `lead`), then what would grant the right.
    """
    if not services.is_allowed(user_id):
        first = lead or f"You are not allowed to {what}."
        raise refuse(services, user_id, action, target, f"{first} {how_to_be_allowed(services, user_id)}")
