"""`gigdesk init`: ask for the tokens, keys and channel, check each as it goes, write `.env`.

Every answer is checked against the service it is for (Slack auth.test and
conversations.info, RapidWorkers balance, Wonolo authenticate) with the same
checks as `gigdesk check`; a refused answer is asked again. Secrets are read
without echo on a terminal and never printed. `.env` is written 0600 from its
creation, atomically, and never through a symlink (write_env).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import secrets
import sys
from collections.abc import Callable
from typing import TextIO

from slack_sdk.errors import SlackApiError

from bot.checks import FAILED, Checklist, _check_channels, _check_rapidworkers, _check_slack, _check_wonolo
from bot.config import CHANNEL_ID, WHERE_CHANNEL_ID, WHERE_USER_ID, ConfigError, Settings, read_settings, user_id_list_setting
from bot.services import slack_client

ATTEMPTS = 3  # a refused answer is asked again this many times in all


class Stopped(Exception):
    """The person stopped answering (end of input) or gave up: nothing is written."""


class Wizard:
    """The questions, in order; `answers` become the lines of `.env`."""

    def __init__(self, stdin: TextIO, say: Callable[[str], None], environ: dict[str, str]):
        self.stdin = stdin
        self.say = say
        self.answers: dict[str, str] = {}
        # Service URLs from the environment (e.g. the sandboxes' settings) are kept: they are checked and written too.
        for name in ("SLACK_API_URL", "RAPIDWORKERS_BASE_URL", "WONOLO_BASE_URL"):
            if environ.get(name):
                self.answers[name] = environ[name]

    # --- asking -----------------------------------------------------------------------------

    def ask(self, question: str, *, secret: bool = False, default: str = "") -> str:
        prompt = f"{question}{f' [{default}]' if default else ''}: "
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

    def until_accepted(self, name: str, question: str, accept: Callable[[str], bool], *, secret: bool = False,
                       default: str = "") -> str:
        for _ in range(ATTEMPTS):
            answer = self.ask(question, secret=secret, default=default)
            if accept(answer):
                self.answers[name] = answer
                return answer
        raise Stopped(f"{name} was refused {ATTEMPTS} times")

    # --- the questions ------------------------------------------------------------------------

    def slack(self) -> None:
        self.say("Slack. Create the app from manifest.socket.yml (no public host needed) or manifest.yml (HTTP), "
                 "install it, then copy its tokens (README: Connect Slack).")
        mode = ""
        while mode not in ("socket", "http"):
            mode = self.ask("Socket Mode or HTTP? (socket/http)", default="socket").lower()

        def bot_token(value: str) -> bool:
            if not value.startswith("xoxb-"):
                self.say(f"{FAILED} that is not a bot token: copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions")
                return False
            return self.checked(lambda c: _check_slack(c, self.settings(SLACK_BOT_TOKEN=value)))

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
        def accept(value: str) -> bool:
            if optional and not value:
                return True
            channel_id = self.channel_id(value)
            if channel_id is None:
                return False
            ok = self.checked(lambda c: _check_channels(c, self.settings(GIGDESK_REVIEW_CHANNEL=channel_id), set()))
            if ok:
                value_holder[0] = channel_id
            return ok

        value_holder = [""]
        self.until_accepted(name, question, accept)
        if value_holder[0]:
            self.answers[name] = value_holder[0]
        elif optional:
            self.answers.pop(name, None)

    def channel_id(self, value: str) -> str | None:
        """A channel ID as given, or the ID of a `#name` when the token may list channels."""
        if CHANNEL_ID.match(value):
            return value
        if not value.startswith("#"):
            self.say(f"{FAILED} expected #channel-name or a channel ID like C0123ABCD ({WHERE_CHANNEL_ID})")
            return None

        wanted = value[1:].lower()
        try:
            cursor = None
            for _ in range(20):  # 20 pages of 200: a large workspace
                page = slack_client(self.settings()).conversations_list(types="public_channel,private_channel", exclude_archived=True,
                                                                        limit=200, cursor=cursor)
                for found in page.get("channels") or []:
                    if str(found.get("name", "")).lower() == wanted:
                        self.say(f"{value} is {found['id']}")
                        return str(found["id"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError as e:
            self.say(f"{FAILED} cannot look channels up by name ({e.response.get('error')}): give the channel ID ({WHERE_CHANNEL_ID})")
            return None
        self.say(f"{FAILED} the bot sees no channel {value}: for a private channel, first /invite @gigdesk in it, or give its ID")
        return None

    def rapidworkers(self) -> None:
        def key(value: str) -> bool:
            return bool(value) and self.checked(lambda c: _check_rapidworkers(c, self.settings(RAPIDWORKERS_API_KEY=value)))

        self.until_accepted("RAPIDWORKERS_API_KEY", "RapidWorkers API key", key, secret=True)

    def wonolo(self) -> None:
        api_key = self.ask("Wonolo API key (pk_…; Enter to skip Wonolo)")
        if not api_key:
            return
        self.answers["WONOLO_API_KEY"] = api_key

        def secret(value: str) -> bool:
            return bool(value) and self.checked(lambda c: _check_wonolo(c, self.settings(WONOLO_SECRET_KEY=value)))

        self.until_accepted("WONOLO_SECRET_KEY", "Wonolo secret key", secret, secret=True)

    def people(self) -> None:
        """GIGDESK_ALLOWED_USERS: who may review, and (GIGDESK_SPENDERS unset) spend."""
        def members(value: str) -> bool:
            try:
                user_id_list_setting("GIGDESK_ALLOWED_USERS", value)
            except ConfigError as e:
                self.say(f"{FAILED} {e}")
                return False
            return True

        self.until_accepted(
            "GIGDESK_ALLOWED_USERS",
            f"Who may approve, reject and spend: member IDs, comma-separated ({WHERE_USER_ID}; "
            "Enter: the review channel's members may review, nobody may spend)",
            members,
        )
        if not self.answers["GIGDESK_ALLOWED_USERS"]:
            del self.answers["GIGDESK_ALLOWED_USERS"]


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
    return f"{path} exists. Replace it? (y/N)"


def run(path: str, stdin: TextIO = sys.stdin, say: Callable[[str], None] = print, environ: dict[str, str] | None = None) -> int:
    """The whole conversation; returns the exit code."""
    wizard = Wizard(stdin, say, dict(os.environ if environ is None else environ))
    try:
        if os.path.lexists(path) and wizard.ask(replace_question(path), default="n").lower() not in ("y", "yes"):
            say(f"Nothing changed: {path} is as it was.")
            return 1
        wizard.slack()
        wizard.channel("GIGDESK_REVIEW_CHANNEL", "Review channel (#name or ID): where submissions are posted for review")
        wizard.channel("GIGDESK_DIGEST_CHANNEL", "Digest channel (#name or ID; Enter: the review channel)", optional=True)
        wizard.rapidworkers()
        wizard.wonolo()
        if "WONOLO_API_KEY" in wizard.answers:
            wizard.channel("WONOLO_CHANNEL", "Wonolo channel (#name or ID; Enter: the review channel)", optional=True)
        wizard.people()
    except Stopped as e:
        say(f"Stopped{f' ({e})' if str(e) else ''}: nothing was written.")
        return 1
    write_env(path, wizard.answers)
    say(f"Wrote {path} (readable only by you).")
    say("Next: gigdesk check (a checklist of every setting), then make run (or gigdesk serve).")
    return 0
