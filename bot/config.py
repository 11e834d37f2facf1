"""Settings: every variable of DESIGN.md, from the environment and `.env`.

A missing or malformed value raises ConfigError naming the variable; the CLI
turns it into one line on stderr and exit code 2. read_settings() collects every
problem instead, for `gigdesk check`: each setting is validated in one place.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9_]{2,}$")
USER_ID = re.compile(r"^[UW][A-Z0-9_]{2,}$")
USER_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$")


def listen_host(value: str) -> bool:
    """An IPv4 or IPv6 address, or a host name like localhost: no scheme, port or path."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return bool(HOST_NAME.match(value)) and len(value) <= 253
    return True

WHERE_CHANNEL_ID = "in Slack, open the channel, click its name; the ID is at the bottom of the About tab"
WHERE_USER_ID = "in Slack, open the person's profile, click ⋮ (More) and choose Copy member ID"


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""

    def __init__(self, message: str, variable: str | None = None):
        super().__init__(message)
        self.variable = variable


def channel_id_setting(name: str, value: str | None) -> str | None:
    """A setting that names one channel: its ID, or None when unset.

    A `#name` (or anything but an ID) raises ConfigError saying where Slack shows the ID.
    """
    if value is None or CHANNEL_ID.match(value):
        return value
    not_a_name = ", not a name" if value.startswith("#") or value != value.upper() else ""
    raise ConfigError(f"{name} must be a channel ID like C0123ABCD{not_a_name}: {WHERE_CHANNEL_ID}.", name)


def user_id_list_setting(name: str, value: str | None) -> frozenset[str]:
    """A setting that lists users: comma-separated member IDs (empty when unset).

    An `@name` (or anything but an ID) raises ConfigError saying where Slack shows the ID.
    The offending entry is not echoed: a setting may hold a pasted secret by mistake.
    """
    entries = [u.strip() for u in (value or "").split(",") if u.strip()]
    bad = [n for n, u in enumerate(entries, 1) if not USER_ID.match(u)]
    if not bad:
        return frozenset(entries)
    names = any(entries[n - 1].startswith("@") or entries[n - 1] != entries[n - 1].upper() for n in bad)
    which = f" (entry {bad[0]} is not an ID)" if len(entries) > 1 else ""
    raise ConfigError(
        f"{name} must be member IDs like U0123ABCD, comma-separated{', not names' if names else ''}{which}: {WHERE_USER_ID}.",
        name,
    )


def dns_server(value: str) -> tuple[str, int]:
    """GIGDESK_PROOF_DNS: an IP address, optionally with :port (IPv6 in brackets); ValueError if not."""
    host, port = value, "53"
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif value.count(":") == 1:
        host, port = value.split(":")
    address = str(ipaddress.ip_address(host))  # ValueError when it is no address
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(port)
    return address, int(port)


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None
    slack_signing_secret: str | None
    slack_app_token: str | None
    slack_api_url: str
    rapidworkers_api_key: str
    rapidworkers_base_url: str
    wonolo_api_key: str | None
    wonolo_secret_key: str | None
    wonolo_base_url: str | None
    wonolo_channel: str | None
    db_path: str
    review_channel: str | None  # None only where no channel is needed (`digest --dry-run`)
    digest_channel: str | None
    digest_hour: int
    digest_minute: int
    tz_name: str
    poll_seconds: int
    allowed_users: frozenset[str]
    port: int
    # Where `gigdesk serve` listens: HTTP mode all interfaces (behind a proxy: 127.0.0.1);
    # Socket Mode loopback, as only health, readiness and Wonolo webhooks are served there.
    host: str = "0.0.0.0"
    low_balance: Decimal = Decimal("10.00")
    new_account_days: int = 7
    low_approval_rate: float = 60.0
    rw_hourly_limit: int = 1000
    workers: int = 64
    post_interval: float = 1.0
    # Who may spend (GIGDESK_SPENDERS, else GIGDESK_ALLOWED_USERS; empty: nobody) and the spending limits.
    spenders: frozenset[str] = frozenset()
    daily_spend_limit: Decimal | None = None
    second_approval_above: Decimal | None = None
    wonolo_unfilled_alert_hours: int = 24  # 0: no unfilled-shift alerts
    wonolo_poll_seconds: int = 60  # 0: Wonolo webhooks only (bot/wonolo_desk/intake.py)
    leader_ttl_seconds: int = 30  # replicas: a dead leader's background work moves on within this (bot/leader.py)
    forensics: bool = True
    burst_count: int = 5
    burst_minutes: int = 10
    # A DNS server (address, port) for looking up proof image hosts; None: the system's.
    proof_dns: tuple[str, int] | None = None
    # Less noise: batch messages past this many new submissions per channel and sync; one
    # reminder after this many hours (None: off), mentioning this user group (S…) if set.
    batch_above: int = 20
    remind_after_hours: int | None = None
    reviewer_group: str | None = None
    # Operating gigdesk (README): /metrics on its own port (0: none), log lines as JSON, incidents' channel.
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    log_format: str = "text"
    ops_channel: str | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)
    env_file: str | None = None  # the `.env` that was read, if any
    database_url: str | None = field(default=None, repr=False)  # postgresql://…: PostgreSQL instead of GIGDESK_DB

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    @property
    def wonolo_enabled(self) -> bool:
        return bool(self.wonolo_api_key and self.wonolo_secret_key)

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def __repr__(self) -> str:  # never print tokens, even by accident
        return f"Settings(review_channel={self.review_channel!r}, db_path={self.db_path!r}, ...)"


def machine_time_zone(tz_variable: str | None = None) -> str:
    """The machine's IANA zone name: $TZ, /etc/timezone, the /etc/localtime link; else UTC."""
    candidates = [(tz_variable or "").removeprefix(":")]
    try:
        with open("/etc/timezone", encoding="utf-8") as f:
            candidates.append(f.read().strip())
    except OSError:
        pass
    target = os.path.realpath("/etc/localtime")
    if "/zoneinfo/" in target:
        candidates.append(re.sub(r"^(posix|right)/", "", target.split("/zoneinfo/", 1)[1]))
    for name in candidates:
        if name and not name.startswith("/"):
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                continue
            return name
    return "UTC"


def dotenv_file(dotenv_path: str | None = None) -> str | None:
    """The `.env` file that is read: `dotenv_path`, else ./.env; None when there is none."""
    path = dotenv_path if dotenv_path is not None else os.path.join(os.getcwd(), ".env")
    return os.path.abspath(path) if path and os.path.isfile(path) else None


def _environment(env: Mapping[str, str] | None, dotenv_path: str | None) -> dict[str, str]:
    """The process environment over `.env` (the environment wins, as usual)."""
    values: dict[str, str] = {}
    path = dotenv_file(dotenv_path)
    if path:
        values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    values.update(os.environ if env is None else env)
    return {k: v.strip() for k, v in values.items()}


# --- reading: one spec per setting -----------------------------------------------------------

Values = dict[str, Any]  # the Settings fields read so far, by name
_DEFAULT = object()  # Spec.malformed: a malformed value is replaced by the default


class Flawed(ValueError):
    """A value reported as a problem but kept (a token of the wrong kind: `check` still tries it)."""

    def __init__(self, message: str, value: object):
        super().__init__(message)
        self.value = value


@dataclass(frozen=True)
class Needs:
    """What the command at hand cannot do without (`digest --dry-run` needs neither Slack nor a channel)."""

    slack: bool = True
    rapidworkers: bool = True
    review_channel: bool = True


@dataclass(frozen=True)
class Spec:
    """One setting: the variable, the Settings field it fills, how it is read and checked, and what it
    is when unset or malformed."""

    name: str
    field: str
    parse: Callable[[str], Any] = str  # raises ValueError (Flawed: report, but keep the value)
    default: Any = None  # when unset; a callable gets (raw environment, values read so far)
    valid: Callable[[Any], bool] = lambda value: True
    message: str = ""  # the problem for a malformed value ("": the ValueError's own words)
    malformed: Any = _DEFAULT  # the value in place of a malformed one
    needed: Callable[[Needs, Mapping[str, str]], bool] | None = None  # is an unset value a problem?
    missing: str = ""  # ... and the problem then

    def read(self, raw: Mapping[str, str], needs: Needs, values: Values, problems: list[ConfigError]) -> Any:
        default = self.default(raw, values) if callable(self.default) else self.default
        text = raw.get(self.name)
        if text is None:
            if self.needed is not None and self.needed(needs, raw):
                problems.append(ConfigError(self.missing, self.name))
            return default
        try:
            value = self.parse(text)
            if self.valid(value):
                return value
            message = self.message
        except Flawed as e:
            problems.append(ConfigError(str(e), self.name))
            return e.value
        except (ValueError, ArithmeticError) as e:  # decimal.InvalidOperation is an ArithmeticError
            message = self.message or str(e)
        problems.append(ConfigError(message, self.name))
        return default if self.malformed is _DEFAULT else self.malformed


def prefixed(prefix: str, message: str) -> Callable[[str], str]:
    """A token that must start with `prefix` (xoxb-, xapp-, pk_); one that does not is kept, and reported."""

    def parse(text: str) -> str:
        if not text.startswith(prefix):
            raise Flawed(message, text)
        return text

    return parse


def http_url(text: str) -> str:
    if not re.match(r"^https?://[^\s/]+", text):
        raise ValueError(text)
    return text


def channel_id(name: str) -> Callable[[str], str | None]:
    def parse(text: str) -> str | None:
        try:
            return channel_id_setting(name, text)
        except ConfigError as e:
            raise ValueError(str(e)) from None

    return parse


def user_ids(name: str) -> Callable[[str], frozenset[str]]:
    def parse(text: str) -> frozenset[str]:
        try:
            return user_id_list_setting(name, text)
        except ConfigError as e:
            raise ValueError(str(e)) from None

    return parse


def time_of_day(text: str) -> tuple[int, int]:
    match = HH_MM.match(text)
    if not match:
        raise ValueError(text)
    return int(match.group(1)), int(match.group(2))


def time_zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a long name or a folder like "Etc"
        raise ValueError(text) from None
    return text


def dollars(text: str) -> Decimal:
    """An amount in whole cents; `$` and thousands separators allowed."""
    amount = Decimal(text.removeprefix("$").replace(",", ""))
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(text)
    return amount.quantize(Decimal("0.01"))


def on_off(text: str) -> bool:
    if text.lower() not in ("on", "off"):
        raise ValueError(text)
    return text.lower() == "on"


def no_slash(parse: Callable[[str], str]) -> Callable[[str], str]:
    return lambda text: parse(text).rstrip("/")


def wonolo_base(text: str) -> str:
    base = http_url(text).rstrip("/")
    if base.endswith("/api_v2"):
        raise Flawed("WONOLO_BASE_URL must not end with /api_v2 (gigdesk appends it)", base)
    return base


def whole(name: str, field: str, default: int | None, low: int, high: int) -> Spec:
    """A whole number from low to high."""
    return Spec(name, field, parse=int, default=default, valid=lambda n: low <= n <= high,
                message=f"{name} must be a whole number from {low} to {high}")


def channel(name: str, field: str) -> Spec:
    """A channel ID; unset: the review channel's."""
    return Spec(name, field, parse=channel_id(name), default=lambda raw, values: values["review_channel"])


def url(name: str, field: str, default: str, parse: Callable[[str], str] = http_url) -> Spec:
    return Spec(name, field, parse=parse, default=default, message=f"{name} must be an http(s) URL, like {default}", malformed=None)


def money(name: str, field: str, example: str) -> Spec:
    return Spec(name, field, parse=dollars, message=f"{name} must be an amount in dollars (whole cents), like {example}")


def needs_slack(needs: Needs, raw: Mapping[str, str]) -> bool:
    return needs.slack


def needs_signing_secret(needs: Needs, raw: Mapping[str, str]) -> bool:
    return needs.slack and "SLACK_APP_TOKEN" not in raw  # Socket Mode checks no signatures


def wonolo_pair(other: str) -> Callable[[Needs, Mapping[str, str]], bool]:
    """Wonolo needs both keys: one without the other is a problem."""
    return lambda needs, raw: other in raw


def low_balance(text: str) -> Decimal:
    amount = Decimal(text)
    if not amount.is_finite() or amount < 0:
        raise ValueError(text)
    return amount


BOTH_WONOLO_KEYS = "Wonolo needs both WONOLO_API_KEY and WONOLO_SECRET_KEY"
SECRET_NAMES = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "RAPIDWORKERS_API_KEY", "WONOLO_API_KEY", "WONOLO_SECRET_KEY",
                "GIGDESK_DATABASE_URL")  # the URL may hold a password

# Every setting, in the order its problems are listed (`gigdesk check`; load_settings raises the first).
SETTINGS: tuple[Spec, ...] = (
    Spec("SLACK_BOT_TOKEN", "slack_bot_token", parse=prefixed("xoxb-", "SLACK_BOT_TOKEN must be a bot token starting with xoxb-"),
         needed=needs_slack, missing="SLACK_BOT_TOKEN is not set: expected a bot token starting with xoxb-"),
    Spec("SLACK_SIGNING_SECRET", "slack_signing_secret",
         needed=needs_signing_secret, missing="SLACK_SIGNING_SECRET is not set: expected the app's signing secret"),
    Spec("SLACK_APP_TOKEN", "slack_app_token",
         parse=prefixed("xapp-", "SLACK_APP_TOKEN must be an app-level token starting with xapp-")),
    url("SLACK_API_URL", "slack_api_url", "https://slack.com/api/", parse=lambda text: http_url(text).rstrip("/") + "/"),
    Spec("RAPIDWORKERS_API_KEY", "rapidworkers_api_key", default="", needed=lambda needs, raw: needs.rapidworkers,
         missing="RAPIDWORKERS_API_KEY is not set: expected your RapidWorkers API key"),
    url("RAPIDWORKERS_BASE_URL", "rapidworkers_base_url", "https://api.rapidworkers.io", parse=no_slash(http_url)),
    # The secret first: with the key set alone and malformed, "the secret is missing" comes first.
    Spec("WONOLO_SECRET_KEY", "wonolo_secret_key", needed=wonolo_pair("WONOLO_API_KEY"),
         missing=f"WONOLO_SECRET_KEY is not set: {BOTH_WONOLO_KEYS}"),
    Spec("WONOLO_API_KEY", "wonolo_api_key", parse=prefixed("pk_", "WONOLO_API_KEY must be a Wonolo public key starting with pk_"),
         needed=wonolo_pair("WONOLO_SECRET_KEY"), missing=f"WONOLO_API_KEY is not set: {BOTH_WONOLO_KEYS}"),
    Spec("WONOLO_BASE_URL", "wonolo_base_url", parse=wonolo_base,
         message="WONOLO_BASE_URL must be an http(s) URL, like https://api.wonolo.com"),
    Spec("GIGDESK_REVIEW_CHANNEL", "review_channel", parse=channel_id("GIGDESK_REVIEW_CHANNEL"),
         needed=lambda needs, raw: needs.review_channel,
         missing=f"GIGDESK_REVIEW_CHANNEL is not set: expected a channel ID like C0123ABCD ({WHERE_CHANNEL_ID})"),
    Spec("GIGDESK_DIGEST_AT", "digest_at", parse=time_of_day, default=(9, 0),
         message="GIGDESK_DIGEST_AT must be a time of day as HH:MM, like 09:00"),
    Spec("GIGDESK_TZ", "tz_name", parse=time_zone, default=lambda raw, values: machine_time_zone(raw.get("TZ")),
         message="GIGDESK_TZ must be an IANA time zone name, like Europe/Berlin", malformed="UTC"),
    Spec("GIGDESK_ALLOWED_USERS", "allowed_users", parse=user_ids("GIGDESK_ALLOWED_USERS"), default=frozenset()),
    # Unset: the allowed users; malformed: nobody (a typo never widens who may spend).
    Spec("GIGDESK_SPENDERS", "spenders", parse=user_ids("GIGDESK_SPENDERS"),
         default=lambda raw, values: values["allowed_users"], malformed=frozenset()),
    money("GIGDESK_DAILY_SPEND_LIMIT", "daily_spend_limit", "500.00"),
    money("GIGDESK_SECOND_APPROVAL_ABOVE", "second_approval_above", "100.00"),
    Spec("GIGDESK_LOW_BALANCE", "low_balance", parse=low_balance, default=Decimal("10.00"),
         message="GIGDESK_LOW_BALANCE must be an amount in dollars, like 10.00"),
    whole("GIGDESK_REMIND_AFTER_HOURS", "remind_after_hours", None, 1, 8760),
    Spec("GIGDESK_REVIEWER_GROUP", "reviewer_group", valid=lambda group: bool(USER_GROUP_ID.match(group)),
         message="GIGDESK_REVIEWER_GROUP must be a user group ID like S0123ABCD, not a @handle:"
                 " in Slack, open People → User groups, open the group, click ⋮ and choose Copy group ID"),
    Spec("GIGDESK_FORENSICS", "forensics", parse=on_off, default=True, message="GIGDESK_FORENSICS must be on or off"),
    Spec("GIGDESK_PROOF_DNS", "proof_dns", parse=dns_server,
         message="GIGDESK_PROOF_DNS must be a DNS server's IP address, optionally with :port, like 127.0.0.1:5353"),
    channel("WONOLO_CHANNEL", "wonolo_channel"),
    Spec("GIGDESK_DB", "db_path", default="gigdesk.db"),
    Spec("GIGDESK_DATABASE_URL", "database_url", valid=lambda url: url.startswith(("postgresql://", "postgres://")),
         message="GIGDESK_DATABASE_URL must be a PostgreSQL URL like postgresql://user:password@host/gigdesk"
                 " (leave it unset for the SQLite file GIGDESK_DB)"),
    channel("GIGDESK_DIGEST_CHANNEL", "digest_channel"),
    whole("GIGDESK_POLL_SECONDS", "poll_seconds", 60, 1, 86400),
    whole("GIGDESK_LEADER_TTL_SECONDS", "leader_ttl_seconds", 30, 3, 3600),
    whole("PORT", "port", 3000, 1, 65535),
    # Socket Mode serves only health, readiness and Wonolo webhooks over HTTP: loopback by default.
    Spec("HOST", "host", valid=listen_host, default=lambda raw, values: "127.0.0.1" if "SLACK_APP_TOKEN" in raw else "0.0.0.0",
         message="HOST must be an address to listen on, like 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"),
    whole("GIGDESK_NEW_ACCOUNT_DAYS", "new_account_days", 7, 0, 3650),
    Spec("GIGDESK_LOW_APPROVAL_RATE", "low_approval_rate", parse=lambda text: float(int(text)), default=60.0,
         valid=lambda rate: 0 <= rate <= 100, message="GIGDESK_LOW_APPROVAL_RATE must be a whole number from 0 to 100"),
    whole("GIGDESK_RW_HOURLY_LIMIT", "rw_hourly_limit", 1000, 10, 100000),
    whole("GIGDESK_WORKERS", "workers", 64, 4, 512),
    Spec("GIGDESK_POST_INTERVAL_MS", "post_interval", parse=lambda text: int(text) / 1000, default=1.0,
         valid=lambda seconds: 0 <= seconds <= 60, message="GIGDESK_POST_INTERVAL_MS must be a whole number from 0 to 60000"),
    whole("WONOLO_UNFILLED_ALERT_HOURS", "wonolo_unfilled_alert_hours", 24, 0, 720),
    whole("WONOLO_POLL_SECONDS", "wonolo_poll_seconds", 60, 0, 86400),
    whole("GIGDESK_BURST_COUNT", "burst_count", 5, 1, 1000),
    whole("GIGDESK_BURST_MINUTES", "burst_minutes", 10, 1, 1440),
    whole("GIGDESK_BATCH_ABOVE", "batch_above", 20, 0, 1_000_000),
    # Operating gigdesk (README): /metrics on its own port (0: none), log lines as JSON, incidents' channel.
    whole("GIGDESK_METRICS_PORT", "metrics_port", 0, 0, 65535),
    Spec("GIGDESK_METRICS_HOST", "metrics_host", valid=listen_host, default="127.0.0.1",
         message="GIGDESK_METRICS_HOST must be an address to listen on, like 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"),
    Spec("GIGDESK_LOG_FORMAT", "log_format", parse=str.lower, valid=lambda fmt: fmt in ("text", "json"), default="text",
         message="GIGDESK_LOG_FORMAT must be text or json"),
    channel("GIGDESK_OPS_CHANNEL", "ops_channel"),
)


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    dotenv_path: str | None = None,
    need_slack: bool = True,
    need_rapidworkers: bool = True,
    need_review_channel: bool = True,
) -> Settings:
    """Read and validate every setting; raise ConfigError naming the first bad one."""
    settings, problems = read_settings(
        env, dotenv_path=dotenv_path, need_slack=need_slack,
        need_rapidworkers=need_rapidworkers, need_review_channel=need_review_channel,
    )
    if problems:
        first = problems[0]
        more = f" ({len(problems) - 1} more: `gigdesk check` lists every problem)" if len(problems) > 1 else ""
        raise ConfigError(str(first) + more, first.variable)
    return settings


def read_settings(
    env: Mapping[str, str] | None = None,
    *,
    dotenv_path: str | None = None,
    need_slack: bool = True,
    need_rapidworkers: bool = True,
    need_review_channel: bool = True,
) -> tuple[Settings, list[ConfigError]]:
    """Read and validate every setting (SETTINGS, in order): the settings, and every problem found.

    A bad setting gets its default (or None) in the returned Settings, so
    `gigdesk check` can still try what the other settings allow.
    """
    raw = {name: value for name, value in _environment(env, dotenv_path).items() if value != ""}
    needs = Needs(slack=need_slack, rapidworkers=need_rapidworkers, review_channel=need_review_channel)
    values: dict[str, Any] = {}
    problems: list[ConfigError] = []
    for spec in SETTINGS:
        values[spec.field] = spec.read(raw, needs, values, problems)
    hour, minute = values.pop("digest_at")
    secrets = tuple(raw[name] for name in SECRET_NAMES if raw.get(name))
    settings = Settings(**values, digest_hour=hour, digest_minute=minute, secrets=secrets, env_file=dotenv_file(dotenv_path))
    return settings, problems
