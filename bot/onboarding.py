"""`gigdesk init`: ask for the tokens, keys and channel, check each as it goes, write `.env`.

Every answer is checked against the service it is for (Slack auth.test and
conversations.info, RapidWorkers balance, Wonolo authenticate) with the same
checks as `gigdesk check`; a refused answer is asked again. Secrets are read
without echo on a terminal and never printed. `.env` is written 0600 from its
creation, atomically, and never through a symlink (write_env).
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import secrets
import sys
from collections.abc import Callable
from typing import TextIO

from dotenv import dotenv_values
from slack_sdk.errors import SlackApiError

from bot.checks import FAILED, WARNING, Checklist, _check_rapidworkers, _check_slack, _check_wonolo, check_channel
from bot.config import (
    CHANNEL_ID,
    WHERE_CHANNEL_ID,
    WHERE_USER_ID,
    ConfigError,
    Settings,
    machine_time_zone,
    read_settings,
    time_zone,
    user_id_list_setting,
)
from bot.connectivity import slack_outage
from bot.services import slack_client

ATTEMPTS = 3  # a refused answer is asked again this many times in all


class Stopped(Exception):
    """The person stopped answering (end of input) or gave up: nothing is written."""


class Wizard:
    """The questions, in order; `answers` become the lines of `.env`.

    A value refused ATTEMPTS times is left out and the questions go on: every other answer is
    kept and written, and the next `gigdesk init` offers them as its defaults (`previous`).
    While Slack does not answer, Slack values are kept unchecked, with a warning.
    """

    def __init__(self, stdin: TextIO, say: Callable[[str], None], environ: dict[str, str],
                 previous: dict[str, str] | None = None):
        self.stdin = stdin
        self.say = say
        self.answers: dict[str, str] = {}
        self.previous = previous or {}  # an earlier .env: each question offers its value as the default
        self.left_out: list[str] = []  # refused every time: not written, asked again next time
        self.unchecked: list[str] = []  # kept without a check because Slack did not answer
        self.slack_down = False
        self.machine_zone = machine_time_zone(environ.get("TZ"))  # GIGDESK_TZ's default, as bot.config has it
        self._people: list[dict] | None = None  # users.list, read once
        # Service URLs from the environment (e.g. the sandboxes' settings) are kept: they are checked and written too.
        for name in ("SLACK_API_URL", "RAPIDWORKERS_BASE_URL", "WONOLO_BASE_URL"):
            if environ.get(name):
                self.answers[name] = environ[name]

    # --- asking -----------------------------------------------------------------------------

    def ask(self, question: str, *, secret: bool = False, default: str = "", shown: str | None = None) -> str:
        """One answer (`default` for an empty one); `shown` is what the prompt says of the default."""
        label = default if shown is None else shown
        prompt = f"{question}{f' [{label}]' if label else ''}: "
        if self.stdin.isatty():
            try:
                answer = getpass.getpass(prompt) if secret else input(prompt)
            except EOFError:
                raise Stopped from None
        else:
            self.say(prompt)
            line = self.stdin.readline()
            if not line:
                raise Stopped
            answer = line
        return answer.strip() or default

    def settings(self, **extra: str) -> Settings:
        settings, _ = read_settings({**self.answers, **extra}, dotenv_path="", need_slack=False,
                                    need_rapidworkers=False, need_review_channel=False)
        return settings

    def checked(self, run: Callable[[Checklist], object]) -> bool:
        checklist = Checklist(self.say)
        run(checklist)
        return checklist.failures == 0

    def slack_checked(self, name: str, run: Callable[[Checklist], object]) -> bool:
        """A Slack check of `name`: passed, or failed only because Slack did not answer (then the
        value is kept unchecked, warned, and no later Slack check is tried)."""
        checklist = Checklist(self.say)
        run(checklist)
        if checklist.failures and checklist.failures == checklist.outages:
            self.slack_down = True
            self.keep_unchecked(name)
            return True
        return checklist.failures == 0

    def keep_unchecked(self, name: str) -> None:
        self.unchecked.append(name)
        self.say(f"{WARNING} {name} kept unchecked while Slack does not answer: `gigdesk check` checks it later")

    def until_accepted(self, name: str, question: str, accept: Callable[[str], bool], *, secret: bool = False,
                       default: str = "") -> str:
        """The accepted answer; "" when it was refused ATTEMPTS times (then it is left out)."""
        previous = self.previous.get(name, "")
        shown = "Enter: keep the one in .env" if secret and previous else None
        for _ in range(ATTEMPTS):
            answer = self.ask(question, secret=secret, default=previous or default, shown=shown)
            if accept(answer):
                self.answers[name] = answer
                return answer
        self.left_out.append(name)
        self.say(f"{FAILED} {name} refused {ATTEMPTS} times: left out; every other answer is kept")
        return ""

    # --- the questions ----------------------------------------------------------------------

    def slack(self) -> None:
        self.say("Slack. Create the app from manifest.socket.yml (no public host needed) or manifest.yml (HTTP), "
                 "install it, then copy its tokens (README: Connect Slack).")
        was_http = "SLACK_SIGNING_SECRET" in self.previous and "SLACK_APP_TOKEN" not in self.previous
        mode = ""
        while mode not in ("socket", "http"):
            mode = self.ask("Socket Mode or HTTP? (socket/http)", default="http" if was_http else "socket").lower()

        def bot_token(value: str) -> bool:
            if not value.startswith("xoxb-"):
                self.say(f"{FAILED} that is not a bot token: copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions")
                return False
            return self.slack_checked("SLACK_BOT_TOKEN", lambda c: _check_slack(c, self.settings(SLACK_BOT_TOKEN=value)))

        self.until_accepted("SLACK_BOT_TOKEN", "Bot token (xoxb-…)", bot_token, secret=True)
        if mode == "socket":
            self.until_accepted("SLACK_APP_TOKEN", "App-level token (xapp-…, Basic Information → App-Level Tokens, scope connections:write)",
                                self._prefixed("xapp-", "an app-level token starting with xapp-"), secret=True)
        else:
            self.until_accepted("SLACK_SIGNING_SECRET", "Signing secret (Basic Information → App Credentials)",
                                self._prefixed("", "the signing secret"), secret=True)

    def _prefixed(self, prefix: str, what: str) -> Callable[[str], bool]:
        def accept(value: str) -> bool:
            if value and value.startswith(prefix) and " " not in value:
                return True
            self.say(f"{FAILED} expected {what}")
            return False

        return accept

    def channel(self, name: str, question: str, *, optional: bool = False) -> None:
        """A channel setting, checked as what it is (review, digest or Wonolo channel)."""
        resolved = [""]

        def accept(value: str) -> bool:
            if optional and not value:
                return True
            channel_id = self.channel_id(value)
            if channel_id is None:
                return False
            resolved[0] = channel_id
            if self.slack_down or "SLACK_BOT_TOKEN" not in self.answers:
                self.keep_unchecked(name)
                return True
            return self.slack_checked(name, lambda c: check_channel(c, self.settings(), name, channel_id))

        answer = self.until_accepted(name, question, accept)
        if answer and resolved[0]:
            self.answers[name] = resolved[0]
        elif optional:
            self.answers.pop(name, None)

    def channel_id(self, value: str) -> str | None:
        """A channel ID as given, or the ID of a `#name` when the token may list channels."""
        if CHANNEL_ID.match(value):
            return value
        if not value.startswith("#"):
            self.say(f"{FAILED} expected #channel-name or a channel ID like C0123ABCD ({WHERE_CHANNEL_ID})")
            return None
        found = self._look_up(value, "channels", lambda: self._channels_named(value[1:].lower()), WHERE_CHANNEL_ID)
        if found is None:
            return None
        if not found:
            self.say(f"{FAILED} the bot sees no channel {value}: for a private channel, first /invite @gigdesk in it, or give its ID")
            return None
        self.say(f"{value} is {found[0]}")
        return found[0]

    def _channels_named(self, wanted: str) -> list[str]:
        slack, cursor = slack_client(self.settings()), None
        for _ in range(20):  # 20 pages of 200: a large workspace
            page = slack.conversations_list(types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor)
            named = [str(c["id"]) for c in page.get("channels") or [] if str(c.get("name", "")).lower() == wanted]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if named or not cursor:
                return named
        return []

    def _look_up(self, value: str, what: str, find: Callable[[], list[str]], where: str) -> list[str] | None:
        """`find()` through Slack; None (having said why) when Slack cannot be asked."""
        if self.slack_down or "SLACK_BOT_TOKEN" not in self.answers:
            self.say(f"{FAILED} cannot look {value} up without Slack: give the ID ({where})")
            return None
        try:
            return find()
        except Exception as e:
            why = slack_outage(e, self.settings().slack_api_url)
            if why is not None:
                self.slack_down = True
            elif isinstance(e, SlackApiError):
                why = f"Slack said {e.response.get('error')}"
            else:
                raise
            self.say(f"{FAILED} cannot look {what} up by name ({why}): give the ID ({where})")
            return None

    def rapidworkers(self) -> None:
        def key(value: str) -> bool:
            return bool(value) and self.checked(lambda c: _check_rapidworkers(c, self.settings(RAPIDWORKERS_API_KEY=value)))

        self.until_accepted("RAPIDWORKERS_API_KEY", "RapidWorkers API key", key, secret=True)

    def wonolo(self) -> None:
        api_key = self.ask("Wonolo API key (pk_…; Enter to skip Wonolo)", default=self.previous.get("WONOLO_API_KEY", ""))
        if not api_key:
            return
        self.answers["WONOLO_API_KEY"] = api_key

        def secret(value: str) -> bool:
            return bool(value) and self.checked(lambda c: _check_wonolo(c, self.settings(WONOLO_SECRET_KEY=value)))

        self.until_accepted("WONOLO_SECRET_KEY", "Wonolo secret key", secret, secret=True)

    def people(self) -> None:
        """GIGDESK_ALLOWED_USERS: who may review, and (GIGDESK_SPENDERS unset) spend; @names are looked up."""
        resolved = [""]

        def members(value: str) -> bool:
            ids = self.user_ids(value)
            if ids is None:
                return False
            try:
                user_id_list_setting("GIGDESK_ALLOWED_USERS", ids)
            except ConfigError as e:
                self.say(f"{FAILED} {e}")
                return False
            resolved[0] = ids
            return True

        self.until_accepted(
            "GIGDESK_ALLOWED_USERS",
            f"Who may approve, reject and spend: @names or member IDs, comma-separated ({WHERE_USER_ID}; "
            "Enter: the review channel's members may review, nobody may spend)",
            members,
        )
        if resolved[0]:
            self.answers["GIGDESK_ALLOWED_USERS"] = resolved[0]
        else:
            self.answers.pop("GIGDESK_ALLOWED_USERS", None)

    def user_ids(self, value: str) -> str | None:
        """The entries with each @name replaced by its member ID; None (having said why) when one is not found."""
        entries = [e.strip() for e in value.split(",") if e.strip()]
        ids = []
        for entry in entries:
            if not entry.startswith("@"):
                ids.append(entry)
                continue
            found = self._look_up(entry, "people", functools.partial(self._people_named, entry[1:].lower()), WHERE_USER_ID)
            if found is None:
                return None
            if len(found) != 1:
                self.say(f"{FAILED} {'no one' if not found else 'more than one person'} in the workspace is {entry}: "
                         f"give the member ID ({WHERE_USER_ID})")
                return None
            self.say(f"{entry} is {found[0]}")
            ids.append(found[0])
        return ",".join(ids)

    def _people_named(self, wanted: str) -> list[str]:
        if self._people is None:
            self._people = self._workspace_people()
        return [str(p["id"]) for p in self._people
                if wanted in {str(p.get("name", "")).lower(), str((p.get("profile") or {}).get("display_name", "")).lower()}]

    def _workspace_people(self) -> list[dict]:
        """users.list, every page (of 200, at most 50), without bots and deactivated accounts."""
        slack, cursor = slack_client(self.settings()), None
        people: list[dict] = []
        for _ in range(50):
            page = slack.users_list(limit=200, cursor=cursor)
            people += page.get("members") or []
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return [p for p in people if not p.get("deleted") and not p.get("is_bot")]

    def time_zone(self) -> None:
        """GIGDESK_TZ: when the daily digest posts and where a day of spending ends."""
        def zone(value: str) -> bool:
            try:
                time_zone(value)
            except ValueError:
                self.say(f"{FAILED} expected a time zone name, like Europe/Berlin or America/New_York")
                return False
            return True

        self.until_accepted("GIGDESK_TZ", "Time zone of the daily digest and of a day's spending", zone, default=self.machine_zone)


def write_env(path: str, answers: dict[str, str]) -> None:
    """Write `.env` readable by its owner only (it holds the tokens), atomically and never
    through a link.

    The new contents go to a temp file in the same directory, created owner-only at open
    (O_CREAT|O_EXCL|O_NOFOLLOW, 0600: never readable by others, not even for a moment, whatever
    the umask), then os.replace puts it in place in one step: a reader sees the old file or the
    new one, a crash leaves the old one, and a symlink at `path` is replaced by the file, never
    followed (what it pointed to is left as it was)."""
    lines = ["# Written by `gigdesk init`; every setting is explained in .env.example."]
    lines += [f"{name}={value}" for name, value in answers.items()]
    folder, name = os.path.split(os.path.abspath(path))
    temp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # exactly owner read/write, whatever bits the umask took off
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def replace_question(path: str) -> str:
    """The question before an existing `.env` (or a link there) is replaced."""
    if os.path.islink(path):
        return (f"{path} is a link to {os.readlink(path)}. Replace the link with a new file "
                "(what it points to stays as it is)? (y/N)")
    return f"{path} exists. Replace it (its values are offered as the answers' defaults)? (y/N)"


def earlier_answers(path: str) -> dict[str, str]:
    """The values of an earlier `.env` (a file, not a link), to offer as defaults."""
    if os.path.islink(path) or not os.path.isfile(path):
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v}


def run(path: str, stdin: TextIO = sys.stdin, say: Callable[[str], None] = print, environ: dict[str, str] | None = None) -> int:
    """The whole conversation; returns the exit code (1 when a value was left out: the rest is written)."""
    wizard = Wizard(stdin, say, dict(os.environ if environ is None else environ))
    try:
        if os.path.lexists(path):
            if wizard.ask(replace_question(path), default="n").lower() not in ("y", "yes"):
                say(f"Nothing changed: {path} is as it was.")
                return 1
            wizard.previous = earlier_answers(path)
        wizard.slack()
        wizard.channel("GIGDESK_REVIEW_CHANNEL", "Review channel (#name or ID): where submissions are posted for review")
        wizard.channel("GIGDESK_DIGEST_CHANNEL", "Digest channel (#name or ID; Enter: the review channel)", optional=True)
        wizard.rapidworkers()
        wizard.wonolo()
        if "WONOLO_API_KEY" in wizard.answers:
            wizard.channel("WONOLO_CHANNEL", "Wonolo channel (#name or ID; Enter: the review channel)", optional=True)
        wizard.people()
        wizard.time_zone()
    except Stopped as e:
        say(f"Stopped{f' ({e})' if str(e) else ''}: nothing was written.")
        return 1
    write_env(path, wizard.answers)
    say(f"Wrote {path} (readable only by you).")
    if wizard.unchecked:
        say(f"{WARNING} Not checked, as Slack did not answer: {', '.join(wizard.unchecked)}. Run gigdesk check once it does.")
    if wizard.left_out:
        say(f"{FAILED} Left out, refused each time: {', '.join(wizard.left_out)}. Run gigdesk init again for "
            "them: every answer written is offered as the default.")
        return 1
    say("Next: gigdesk check (a checklist of every setting), then make run (or gigdesk serve).")
    return 0
