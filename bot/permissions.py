"""Who may do what: every "who may" rule, the caches its answers need, and the one refusal
(audited, then NotAllowed) every gated path uses.

One Permissions object lives at `services.permissions` (built with the infrastructure in
bot.services, which it knows nothing of):

* may_review: approve, reject, block, post the digest, look up contacts;
* may_route:  `/rw route` (today the reviewers);
* may_admin:  the admin pages, `/rw spend` and `/rw audit` (today the reviewers);
* may_spend:  create jobs, approve-all, book Wonolo shifts (GIGDESK_SPENDERS only).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol, cast

from slack_sdk import WebClient

from bot.config import Settings
from bot.errors import NotAllowed
from storage import audit as audit_store
from storage.db import Store

CACHE_SECONDS = 60  # channel membership and guest status: Slack is asked at most this often


class Permissions:
    """The rules, answered from the settings and (cached) Slack membership."""

    def __init__(self, settings: Settings, slack: WebClient, store: Store):
        self.settings = settings
        self.slack = slack
        self.store = store
        self._members: tuple[float, frozenset[str]] = (0.0, frozenset())
        self._guests: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    # -- the rules ---------------------------------------------------------------------

    def may_review(self, user_id: str | None) -> bool:
        """May review (approve, reject, block): GIGDESK_ALLOWED_USERS, or when empty,
        members of the review channel who are not guests (cached 60 s)."""
        if not user_id:
            return False
        if self.settings.allowed_users:
            return user_id in self.settings.allowed_users
        return user_id in self._review_members() and not self._is_guest(user_id)

    def is_review_member(self, user_id: str) -> bool:
        """In the review channel (guest or not; cached 60 s)."""
        return user_id in self._review_members()

    def may_spend(self, user_id: str | None) -> bool:
        """May spend (job creation, approve-all, Wonolo bookings): only GIGDESK_SPENDERS, which
        defaults to GIGDESK_ALLOWED_USERS; channel membership never grants it. Neither set: nobody."""
        return bool(user_id) and user_id in self.settings.spenders

    def may_route(self, user_id: str | None) -> bool:
        """May send a campaign's reviews to another channel (`/rw route`): the reviewers."""
        return self.may_review(user_id)

    def may_admin(self, user_id: str | None) -> bool:
        """May open the admin pages (`/rw spend`, `/rw audit` and its CSV): the reviewers."""
        return self.may_review(user_id)

    # -- refusals ----------------------------------------------------------------------

    def refuse(self, user_id: str | None, action: str, target: str | None, message: str,
               *, reason: str = "not an allowed user") -> NotAllowed:
        """Audit a refusal and return the NotAllowed to raise (`message` is for the user, `reason` for the audit)."""
        audit_store.audit(self.store.db, user_id, action, target, "refused", reason)
        return NotAllowed(message)

    def how_to_be_allowed(self, user_id: str | None) -> str:
        """What actually grants the right to review, for a refusal: the allow-list when
        GIGDESK_ALLOWED_USERS is set, else membership of the review channel (not as a guest)."""
        if self.settings.allowed_users:
            return f"Ask an admin to add you to GIGDESK_ALLOWED_USERS (your member ID is `{user_id}`)."
        channel = self.settings.review_channel
        if user_id and self.is_review_member(user_id):  # in the channel, so a guest: joining cannot help
            return (f"Guests of <#{channel}> may not review: ask an admin to add you to GIGDESK_ALLOWED_USERS "
                    f"(your member ID is `{user_id}`).")
        return f"Join <#{channel}> (non-guests of the review channel may review)."

    def require(self, may: Callable[[str | None], bool], user_id: str | None, action: str, target: str | None,
                what: str, *, lead: str | None = None) -> None:
        """Refuse (audited) unless `may(user_id)` (one of the rules above).

        The user reads "You are not allowed to <what>." (or `lead`), then what would grant the right.
        """
        if not may(user_id):
            first = lead or f"You are not allowed to {what}."
            raise self.refuse(user_id, action, target, f"{first} {self.how_to_be_allowed(user_id)}")

    # -- Slack look-ups, cached ----------------------------------------------------------

    def _is_guest(self, user_id: str) -> bool:
        """Slack guests (single- and multi-channel: is_ultra_restricted / is_restricted), by users.info."""
        with self._lock:
            seen = self._guests.get(user_id)
            if seen is not None and time.monotonic() - seen[0] < CACHE_SECONDS:
                return seen[1]
        user = self.slack.users_info(user=user_id).get("user") or {}
        guest = bool(user.get("is_restricted") or user.get("is_ultra_restricted") or user.get("deleted"))
        with self._lock:
            self._guests[user_id] = (time.monotonic(), guest)
        return guest

    def _review_members(self) -> frozenset[str]:
        with self._lock:
            fetched_at, members = self._members
            if time.monotonic() - fetched_at < CACHE_SECONDS and members:
                return members
            found: set[str] = set()
            # Slack wants a limit "under 1000" and recommends 200; the SDK follows the cursor.
            for page in self.slack.conversations_members(channel=cast(str, self.settings.review_channel), limit=200):
                found.update(page.get("members", []))
            self._members = (time.monotonic(), frozenset(found))
            return self._members[1]


class Gated(Protocol):
    """What the functions below need of bot.services.Services (named so, not imported: no circle)."""

    @property
    def permissions(self) -> Permissions: ...


def refuse(services: Gated, user_id: str | None, action: str, target: str | None, message: str,
           *, reason: str = "not an allowed user") -> NotAllowed:
    """Permissions.refuse, for callers holding the Services."""
    return services.permissions.refuse(user_id, action, target, message, reason=reason)


def require_allowed(services: Gated, user_id: str | None, action: str, target: str | None, what: str,
                    *, lead: str | None = None) -> None:
    """Refuse (audited) unless the user may review (Permissions.may_review)."""
    permissions = services.permissions
    permissions.require(permissions.may_review, user_id, action, target, what, lead=lead)
