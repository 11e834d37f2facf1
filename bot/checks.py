"""`gigdesk check`: every setting problem and every reachability problem, in one run.

Each line says what failed, where, and what to do. A service is still
checked when its own settings are fine, whatever else is wrong. Nothing here
writes anything: no database, no message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import ConfigError, Settings
from bot.connectivity import host_of, network_reason, slack_outage
from bot.rapidworkers.client import Forbidden, NetworkError, RapidWorkersClient, ServerError, Unauthorized
from bot.services import slack_client
from bot.slack import errors as slack_errors
from bot.slack.mrkdwn import money
from bot.socket_link import is_token_refusal, refusal_line
from bot.text import plural
from bot.wonolo.client import WonoloClient, WonoloForbidden, WonoloInvalid, WonoloNetworkError, WonoloServerError, WonoloUnauthorized
from storage.db import reach

PASSED, FAILED, WARNING, SKIPPED = "[x]", "[ ]", "[!]", "[-]"

SLACK_APPS_PAGE = "https://api.slack.com/apps"


class Checklist:
    """Collects the lines; any FAILED makes the exit code 1 (warnings do not)."""

    def __init__(self, say: Callable[[str], None]):
        self.say = say
        self.failures = 0
        self.warnings = 0
        self.outages = 0  # failures that are only "could not reach it" (gigdesk init goes on, warned)

    def line(self, mark: str, text: str) -> None:
        if mark == FAILED:
            self.failures += 1
        elif mark == WARNING:
            self.warnings += 1
        self.say(f"{mark} {text}")

    def unreachable(self, text: str) -> None:
        """A service did not answer: a failure here, one `gigdesk init` may go past."""
        self.outages += 1
        self.line(FAILED, text)


def run_checks(settings: Settings, problems: list[ConfigError], say: Callable[[str], None]) -> int:
    """Print the checklist through `say`; return the exit code (0: nothing failed).

    `settings, problems` come from bot.config.read_settings().
    """
    checklist = Checklist(say)
    _check_settings(checklist, settings, problems)
    bad = {p.variable for p in problems}
    slack_ok = _check_services(checklist, settings, bad)
    if slack_ok and settings.review_channel:
        _check_channels(checklist, settings, bad)
    else:
        checklist.line(SKIPPED, "channels not checked until Slack answers and GIGDESK_REVIEW_CHANNEL is fixed")
    _check_database(checklist, settings)
    say(_verdict(checklist))
    return 1 if checklist.failures else 0


def _check_settings(checklist: Checklist, settings: Settings, problems: list[ConfigError]) -> None:
    if settings.env_file:
        checklist.say(f"Settings: the environment, over {settings.env_file}")
    else:
        checklist.say("Settings: the environment only (no .env file in the current directory)")
    for problem in problems:
        checklist.line(FAILED, str(problem))
    if not problems:
        checklist.line(PASSED, "every setting is present and well-formed")


def _check_services(checklist: Checklist, settings: Settings, bad: set[str | None]) -> bool:
    """Slack, Socket Mode, RapidWorkers and Wonolo, each once its settings are sound; True if Slack answered."""
    slack_ok = False
    if bad & {"SLACK_BOT_TOKEN", "SLACK_API_URL"} or not settings.slack_bot_token:
        checklist.line(SKIPPED, "Slack not checked until SLACK_BOT_TOKEN and SLACK_API_URL are fixed")
    else:
        slack_ok = _check_slack(checklist, settings)

    if settings.slack_app_token or "SLACK_APP_TOKEN" in bad:
        if bad & {"SLACK_APP_TOKEN", "SLACK_API_URL"}:
            checklist.line(SKIPPED, "Socket Mode not checked until SLACK_APP_TOKEN and SLACK_API_URL are fixed")
        else:
            _check_app_token(checklist, settings)

    if bad & {"RAPIDWORKERS_API_KEY", "RAPIDWORKERS_BASE_URL"} or not settings.rapidworkers_api_key:
        checklist.line(SKIPPED, "RapidWorkers not checked until RAPIDWORKERS_API_KEY and RAPIDWORKERS_BASE_URL are fixed")
    else:
        _check_rapidworkers(checklist, settings)

    if bad & {"WONOLO_API_KEY", "WONOLO_SECRET_KEY", "WONOLO_BASE_URL"}:
        checklist.line(SKIPPED, "Wonolo not checked until its settings are fixed")
    elif settings.wonolo_enabled:
        _check_wonolo(checklist, settings)
    return slack_ok


def _verdict(checklist: Checklist) -> str:
    if checklist.failures:
        return f"{plural(checklist.failures, 'problem')} to fix."
    return "All checks passed" + (f", with {plural(checklist.warnings, 'warning')}." if checklist.warnings else ".")


def _check_database(checklist: Checklist, settings: Settings) -> None:
    """The database backend and whether it answers (read only; never the URL: it may hold a password)."""

    name = "PostgreSQL (GIGDESK_DATABASE_URL)" if settings.database_url else f"SQLite ({settings.db_path})"
    try:
        _, version = reach(settings.db_path, settings.database_url)
    except Exception as e:
        where = "GIGDESK_DATABASE_URL and that the server is running" if settings.database_url else "GIGDESK_DB and the disk"
        checklist.line(FAILED, f"database: {name} does not answer ({type(e).__name__}): check {where}")
        return
    state = f"schema version {version}" if version is not None else "empty: gigdesk creates the tables when it starts"
    checklist.line(PASSED, f"database: {name} answers, {state}")


def _check_slack(checklist: Checklist, settings: Settings) -> bool:
    host = host_of(settings.slack_api_url)
    try:
        auth = slack_client(settings).auth_test()
    except SlackApiError as e:
        outage = slack_outage(e, settings.slack_api_url)
        error = e.response.get("error", "unknown_error")
        if outage:
            checklist.unreachable(f"Slack sign-in: {outage}")
        elif error in slack_errors.TOKEN_ERRORS:
            checklist.line(
                FAILED,
                f"Slack sign-in: Slack at {host} refused SLACK_BOT_TOKEN ({error}): copy the Bot User OAuth Token "
                f"(xoxb-…) again from your app's OAuth & Permissions page at {SLACK_APPS_PAGE}",
            )
        else:
            checklist.line(FAILED, f"Slack sign-in: Slack at {host} answered {error}: check SLACK_BOT_TOKEN and SLACK_API_URL")
        return False
    except Exception as e:
        outage = slack_outage(e, settings.slack_api_url)
        if outage is None:
            raise
        checklist.unreachable(f"Slack sign-in: {outage}")
        return False
    checklist.line(PASSED, f"Slack: signed in at {host} as bot {auth.get('user_id')} in workspace {auth.get('team')}")
    return True


def _check_app_token(checklist: Checklist, settings: Settings) -> None:
    """Socket Mode: Slack gives a connection URL for SLACK_APP_TOKEN (apps.connections.open; nothing connects)."""
    try:
        WebClient(base_url=settings.slack_api_url, timeout=15).apps_connections_open(app_token=cast(str, settings.slack_app_token))
    except Exception as e:
        checklist.line(FAILED, f"Socket Mode: {_app_token_problem(e, settings)}")
        return
    checklist.line(PASSED, f"Socket Mode: Slack at {host_of(settings.slack_api_url)} accepts SLACK_APP_TOKEN (apps.connections.open)")


def _app_token_problem(e: Exception, settings: Settings) -> str:
    """Why apps.connections.open failed, in one line; a failure that is neither Slack's nor the network's is raised."""
    outage = slack_outage(e, settings.slack_api_url)
    if outage:
        return outage
    if not isinstance(e, SlackApiError):
        raise e
    error = str(e.response.get("error"))
    if is_token_refusal(e):
        return refusal_line(error)
    return f"Slack at {host_of(settings.slack_api_url)} answered apps.connections.open with {error}: check SLACK_APP_TOKEN"


def _check_rapidworkers(checklist: Checklist, settings: Settings) -> None:
    host = host_of(settings.rapidworkers_base_url)
    client = RapidWorkersClient(settings.rapidworkers_api_key, settings.rapidworkers_base_url, hourly_limit=settings.rw_hourly_limit)
    try:
        balance = client.get_balance()
    except (Unauthorized, Forbidden) as e:
        checklist.line(
            FAILED,
            f"RapidWorkers at {host} refused the API key (HTTP {e.status}): copy RAPIDWORKERS_API_KEY again "
            "from your RapidWorkers account, and check RAPIDWORKERS_BASE_URL points at the right service",
        )
    except NetworkError as e:
        reason = network_reason(e) or "no connection"
        checklist.line(FAILED, f"RapidWorkers: could not reach {host} ({reason}): check RAPIDWORKERS_BASE_URL and this machine's network")
    except ServerError as e:
        checklist.line(FAILED, f"RapidWorkers at {host} answered HTTP {e.status}: their service is having trouble; run `gigdesk check` again later")
    except Exception as e:
        checklist.line(FAILED, f"RapidWorkers at {host}: {e} Check RAPIDWORKERS_API_KEY and RAPIDWORKERS_BASE_URL.")
    else:
        checklist.line(PASSED, f"RapidWorkers balance: {money(balance)} (at {host})")


def _check_wonolo(checklist: Checklist, settings: Settings) -> None:
    # Checked only when both keys are set (Settings.wonolo_enabled).
    client = WonoloClient(cast(str, settings.wonolo_api_key), cast(str, settings.wonolo_secret_key), settings.wonolo_base_url)
    host = host_of(client.base_url)
    try:
        client.authenticate()
    except (WonoloUnauthorized, WonoloForbidden, WonoloInvalid) as e:
        checklist.line(
            FAILED,
            f"Wonolo at {host} refused the keys (HTTP {e.status}): copy WONOLO_API_KEY and WONOLO_SECRET_KEY again "
            "from your Wonolo account; a pk_test_ key works only with the test host, pk_live_ with the live one",
        )
    except WonoloNetworkError:
        checklist.line(FAILED, f"Wonolo: could not reach {host}: check WONOLO_BASE_URL (or leave it empty) and this machine's network")
    except WonoloServerError as e:
        checklist.line(FAILED, f"Wonolo at {host} answered HTTP {e.status}: their service is having trouble; run `gigdesk check` again later")
    except Exception as e:
        checklist.line(FAILED, f"Wonolo at {host}: {e}")
    else:
        checklist.line(PASSED, f"Wonolo authentication (at {host})")


CHANNEL_LABELS = {"GIGDESK_REVIEW_CHANNEL": "review channel", "GIGDESK_DIGEST_CHANNEL": "digest channel", "WONOLO_CHANNEL": "Wonolo channel"}


def _refused_channel(e: SlackApiError, settings: Settings, variable: str) -> str:
    """Why Slack would not show a configured channel, and what to do."""
    error = e.response.get("error", "unknown_error")
    host = host_of(settings.slack_api_url)
    if error == slack_errors.CHANNEL_NOT_FOUND:
        return (f"Slack at {host} does not show this channel to the bot (channel_not_found): "
                f"check {variable} is the channel's ID; for a private channel, first type /invite @gigdesk in it")
    if error == slack_errors.MISSING_SCOPE:
        return f"the bot lacks a scope to read it (missing_scope): reinstall the app from manifest.yml at {SLACK_APPS_PAGE}"
    return f"Slack at {host} answered {error}: check {variable}"


def _check_channels(checklist: Checklist, settings: Settings, bad: set[str | None]) -> None:
    """The bot can see and post in each configured channel; warn when a public channel grants reviewing."""
    slack = slack_client(settings)
    seen: set[str] = set()
    for variable, channel in (
        ("GIGDESK_REVIEW_CHANNEL", settings.review_channel),
        ("GIGDESK_DIGEST_CHANNEL", settings.digest_channel),
        ("WONOLO_CHANNEL", settings.wonolo_channel if settings.wonolo_enabled else None),
    ):
        if variable in bad or not channel or channel in seen:
            continue
        seen.add(channel)
        check_channel(checklist, settings, variable, channel, slack)


def check_channel(checklist: Checklist, settings: Settings, variable: str, channel: str, slack: WebClient | None = None) -> None:
    """One configured channel, labelled for what it is: the bot sees it and may post there."""
    label = CHANNEL_LABELS[variable]
    try:
        info = (slack or slack_client(settings)).conversations_info(channel=channel).get("channel") or {}
    except Exception as e:
        outage = slack_outage(e, settings.slack_api_url)
        if outage is not None:
            checklist.unreachable(f"{label} {channel}: {outage}")
        elif isinstance(e, SlackApiError):
            checklist.line(FAILED, f"{label} {channel}: {_refused_channel(e, settings, variable)}")
        else:
            raise
        return
    name = f"#{info['name']}" if info.get("name") else channel
    if info.get("is_archived"):
        checklist.line(FAILED, f"{label} {name} ({channel}) is archived: unarchive it, or set {variable} to another channel's ID")
    elif info.get("is_member") is False:
        checklist.line(FAILED, f"{label} {name} ({channel}): the bot is not a member: type /invite @gigdesk in that channel")
    else:
        checklist.line(PASSED, f"{label} {name} ({channel}): the bot can post there")
    if variable == "GIGDESK_REVIEW_CHANNEL" and not settings.allowed_users and info.get("is_private") is False:
        checklist.line(
            WARNING,
            f"review channel {name} ({channel}) is public and GIGDESK_ALLOWED_USERS is empty, so anyone in the "
            "workspace can join it and approve, reject and block (approving pays workers): make the channel private, "
            "or set GIGDESK_ALLOWED_USERS to the reviewers' member IDs",
        )
