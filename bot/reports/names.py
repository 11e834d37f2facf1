"""People's names for what leaves Slack (CSV files) and for finding `@name` in /rw audit.

In Slack messages a person is a mention (`<@U…>`), which Slack shows as their name; a CSV has no
such rendering, so it gets the name users.info gives (kept ten minutes; the user id if Slack
cannot say).
"""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger("gigdesk.reports")

NAME_SECONDS = 600


class UserNames:
    def __init__(self, slack: WebClient):
        self.slack = slack
        self._lock = threading.Lock()
        self._known: dict[str, tuple[float, tuple[str, ...]]] = {}

    def _names(self, user_id: str) -> tuple[str, ...]:
        """(real name, display name, handle) of a user, without repeats; () when Slack cannot say."""
        with self._lock:
            seen = self._known.get(user_id)
            if seen is not None and time.monotonic() - seen[0] < NAME_SECONDS:
                return seen[1]
        try:
            user = self.slack.users_info(user=user_id).get("user") or {}
        except SlackApiError as e:
            log.info("no name for %s: %s", user_id, e.response.get("error"))
            user = {}
        profile = user.get("profile") or {}
        found = (user.get("real_name"), profile.get("real_name"), profile.get("display_name"), user.get("name"))
        names = tuple(dict.fromkeys(n.strip() for n in found if isinstance(n, str) and n.strip()))
        with self._lock:
            self._known[user_id] = (time.monotonic(), names)
        return names

    def name(self, user_id: str | None) -> str:
        """The person's name for a file; the id when Slack does not know it; "" for nobody."""
        if not user_id:
            return ""
        names = self._names(user_id)
        return names[0] if names else user_id

    def find(self, typed: str, among: list[str]) -> list[str]:
        """The user ids of `among` whose shown name, real name or handle is `typed` (case, a leading @ ignored)."""
        wanted = typed.lstrip("@").strip().lower()
        return [uid for uid in among if wanted and any(n.lower() == wanted for n in self._names(uid))]
