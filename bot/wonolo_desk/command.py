"""`/wonolo` and its list pages: read Wonolo and answer ephemerally; `invite` acts (allowed users).

Bad input raises UserError (and Wonolo errors WonoloError) for the one error funnel.
Each list page is one Wonolo page of PAGE, fetched when it is shown (no cache): Next
is offered while a page comes back full, up to MAX_PAGE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.apiclient.fields import is_safe_id
from bot.errors import UserError
from bot.permissions import require_allowed
from bot.slack import ids
from bot.slack.mrkdwn import escape, mention
from bot.slack.replies import Reply
from bot.text import suggest
from bot.wonolo.client import JOB_REQUEST_STATES, JOB_STATES, WonoloError, WonoloNotFound
from bot.wonolo_desk import lists
from bot.wonolo_desk.blocks import PAGE
from bot.wonolo_desk.claims import Claims
from bot.wonolo_desk.common import WONOLO_ACTIONS, parse_email, shown

MAX_PAGE = 400  # a pager button never asks Wonolo for a page past this
INVITE_COOLDOWN_SECONDS = 86400.0  # one invitation per e-mail address a day
NOT_OURS = ":warning: That button does not belong to a Wonolo list I made."

Answer = tuple[str, list[dict]]


def _state(args: list[str], allowed: tuple[str, ...], what: str, usage: str) -> str | None:
    if len(args) > 1:
        raise UserError(f"Give at most one state: `{usage}`.")
    if not args:
        return None
    state = args[0].strip().lower()
    if state not in allowed:
        valid = ", ".join(f"`{s}`" for s in allowed)
        raise UserError(f"Unknown {what} state `{shown(args[0], 30)}`.{suggest(state, allowed)} Valid states: {valid}.")
    return state


def _one_id(args: list[str], what: str, usage: str) -> str:
    if len(args) != 1:
        raise UserError(f"Give one {what} id: `{usage}`.")
    value = args[0].strip()
    if not is_safe_id(value):
        raise UserError(f"No {what} with id `{shown(value)}`.")
    return value


def _page_answer(work: Callable[[], Answer]) -> Reply:
    """A page, or why not: it replaces the list the click came from (not a new message)."""
    try:
        return Reply(*work())
    except UserError as e:
        return Reply(*lists.notice(f":warning: {e}"))
    except WonoloError as e:
        return Reply(*lists.notice(f":warning: {escape(str(e))}"))


class WonoloCommand:
    """`/wonolo <text>`, its Next / Previous buttons and a list row's Details."""

    def __init__(self, services: Any, claims: Claims):
        self.s = services  # for bot.permissions (who may invite, who sees contact details)
        self.client = services.wonolo
        self.claims = claims

    def run(self, text: str, user_id: str) -> Reply:
        """Handle `/wonolo <text>`."""
        words = (text or "").split()
        name = words[0].lower() if words else "help"
        handler = {
            "help": self._help, "requests": self._requests, "request": self._request, "jobs": self._jobs,
            "job": self._job, "worker": self._worker, "invite": self._invite, "badges": self._badges,
            "book": self._book_text,
        }.get(name)
        if handler is None:
            return Reply(*lists.help_message(f"Unknown command `{shown(name, 30)}`.{suggest(name, lists.COMMANDS)}"))
        return Reply(*handler(words[1:], user_id))

    def page(self, value: object, user_id: str) -> Reply:
        """A Next/Previous click on a /wonolo list: that page, fetched from Wonolo again."""
        found = lists.page_from_value(value) if isinstance(value, str) else None
        if found is None or found[2] > MAX_PAGE:
            return Reply(*lists.notice(NOT_OURS))
        kind, state, number = found
        allowed = JOB_REQUEST_STATES if kind == "requests" else JOB_STATES
        if state is not None and state not in allowed:
            return Reply(*lists.notice(NOT_OURS))
        if kind == "requests":
            return _page_answer(lambda: self._request_page(state, number))
        return _page_answer(lambda: self._job_page(state, number))

    def details(self, value: object, user_id: str) -> Reply:
        """Details on a `/wonolo requests` row: what `/wonolo request <id>` shows."""
        if not isinstance(value, str) or not is_safe_id(value):
            return Reply(*lists.notice(NOT_OURS))
        return _page_answer(lambda: self._request([value], user_id))

    def _book_text(self, args: list[str], user_id: str) -> Answer:
        """`/wonolo book` opens its modal in the listener; this answers `/wonolo book <anything>`."""
        raise UserError("`/wonolo book` takes no arguments: it opens the booking form.")

    def _help(self, args: list[str], user_id: str) -> Answer:
        return lists.help_message()

    def _request_page(self, state: str | None, page: int) -> Answer:
        items = self.client.list_job_requests(state, page=page, per=PAGE)[: PAGE]
        return lists.request_list(items, state=state, page=page, has_next=len(items) >= PAGE and page < MAX_PAGE)

    def _job_page(self, state: str | None, page: int) -> Answer:
        items = self.client.list_jobs(state, page=page, per=PAGE)[: PAGE]
        return lists.job_list(items, state=state, page=page, has_next=len(items) >= PAGE and page < MAX_PAGE)

    def _requests(self, args: list[str], user_id: str) -> Answer:
        return self._request_page(_state(args, JOB_REQUEST_STATES, "job request", "/wonolo requests [state]"), 1)

    def _jobs(self, args: list[str], user_id: str) -> Answer:
        return self._job_page(_state(args, JOB_STATES, "job", "/wonolo jobs [state]"), 1)

    def _invite(self, args: list[str], user_id: str) -> Answer:
        """`/wonolo invite <email>`: POST /users/invite, allowed users only, once per address a day."""
        action = ids.WONOLO_INVITE
        if len(args) != 1:
            raise UserError(f"Give one e-mail address: {lists.usage_line('invite')}.")
        email = parse_email(args[0])
        if email is None:
            raise UserError(f"`{shown(args[0])}` is not an e-mail address: {lists.usage_line('invite')}.")
        target = email.lower()
        require_allowed(self.s, user_id, action, target, WONOLO_ACTIONS)
        self.claims.act(
            action, target, user_id, lambda: self.client.invite_user(email=email),
            cooldown=INVITE_COOLDOWN_SECONDS,
            busy=f"`{escape(email)}` is already being invited by {{who}}.",
            done=lambda r: f"{mention(r['user_id'])} invited `{escape(email)}` less than a day ago.",
        )
        self.claims.audit(user_id, action, target, "invited")
        return lists.notice(f":envelope: Wonolo is inviting `{escape(email)}` to join as a worker.")

    def _request(self, args: list[str], user_id: str) -> Answer:
        key = _one_id(args, "job request", "/wonolo request <id>")
        try:
            jr = self.client.get_job_request(key)
        except WonoloNotFound:
            raise UserError(f"No job request with id `{escape(key)}`.") from None
        jobs = self.client.list_jobs(job_request_id=key)
        return lists.request_detail(jr, jobs)

    def _job(self, args: list[str], user_id: str) -> Answer:
        key = _one_id(args, "job", "/wonolo job <id>")
        try:
            job = self.client.get_job(key)
        except WonoloNotFound:
            raise UserError(f"No job with id `{escape(key)}`.") from None
        name = tz = None
        if job.job_request_id is not None:
            try:
                jr = self.client.get_job_request(job.job_request_id)
                name, tz = jr.request_name, jr.timezone
            except WonoloError:
                pass
        return lists.job_detail(job, name, tz)

    def _find_user(self, value: str):
        if value.startswith("<mailto:") and "|" in value:  # Slack may have linked the email
            value = value[len("<mailto:"):].split("|", 1)[0]
        if "@" in value:
            found = [u for u in self.client.list_users(email=value) if (u.email or "").lower() == value.lower()] \
                if len(value) <= 254 else []
            if not found:
                raise UserError(f"No worker with email `{shown(value)}`.")
            return found[0]
        if not is_safe_id(value):
            raise UserError(f"No worker with id `{shown(value)}`.")
        try:
            return self.client.get_user(value)
        except WonoloNotFound:
            raise UserError(f"No worker with id `{escape(value)}`.") from None

    def _worker(self, args: list[str], user_id: str) -> Answer:
        if len(args) != 1:
            raise UserError("Give one worker id or email: `/wonolo worker <id|email>`.")
        # The answer tells whether an address belongs to a worker: allowed users only.
        require_allowed(self.s, user_id, "wonolo-worker", "-", "look up Wonolo workers",
                        lead="Looking up Wonolo workers is for allowed users only.")
        user = self._find_user(args[0].strip())
        return lists.worker_detail(user, show_contact=self.s.permissions.may_review(user_id))

    def _badges(self, args: list[str], user_id: str) -> Answer:
        if args:
            raise UserError("`/wonolo badges` takes no arguments.")
        badges = self.client.list_badges()
        return lists.badge_list(badges[: PAGE], more=max(0, len(badges) - PAGE))
