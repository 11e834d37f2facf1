"""Settings: every variable of DESIGN.md, from the environment and `.env`.

A missing or malformed value raises ConfigError naming the variable; the CLI
turns it into one line on stderr and exit code 2. read_settings() collects every
problem instead, for `gigdesk check`: each setting is validated in one place.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import cast, overload
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


def _dns_server(value: str | None, problem) -> tuple[str, int] | None:
    """GIGDESK_PROOF_DNS: an IP address, optionally with :port (IPv6 in brackets), or None."""
    if value is None:
        return None
    import ipaddress

    host, port = value, "53"
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif value.count(":") == 1:
        host, port = value.split(":")
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError:
        address = None
    if address is None or not port.isdigit() or not 0 < int(port) < 65536:
        problem("GIGDESK_PROOF_DNS", "GIGDESK_PROOF_DNS must be a DNS server's IP address, optionally with :port, like 127.0.0.1:5353")
        return None
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
    """Read and validate every setting: the settings, and every problem found (in reading order).

    A bad setting gets its default (or None) in the returned Settings, so
    `gigdesk check` can still try what the other settings allow.
    """
    raw = _environment(env, dotenv_path)
    problems: list[ConfigError] = []

    def problem(name: str, message: str) -> None:
        problems.append(ConfigError(message, name))

    @overload
    def get(name: str) -> str | None: ...
    @overload
    def get(name: str, default: str) -> str: ...
    @overload
    def get(name: str, default: None) -> str | None: ...

    def get(name: str, default: str | None = None) -> str | None:
        value = raw.get(name, "")
        return value if value != "" else default

    def required(name: str, what: str) -> str | None:
        value = get(name)
        if value is None:
            problem(name, f"{name} is not set: expected {what}")
        return value

    def integer(name: str, default: int, low: int, high: int) -> int:
        value = get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            problem(name, f"{name} must be a whole number from {low} to {high}")
            return default
        return number

    def listen_address(name: str, default: str) -> str:
        value = get(name, default)
        if not listen_host(value):
            problem(name, f"{name} must be an address to listen on, like 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)")
            return default
        return value

    def url(name: str, default: str) -> str | None:
        value = get(name, default)
        if not re.match(r"^https?://[^\s/]+", value):
            problem(name, f"{name} must be an http(s) URL, like {default}")
            return None
        return value

    def channel(name: str, default: str | None, *, needed: bool = False) -> str | None:
        value = get(name)
        if value is None:
            if default is None and needed:
                problem(name, f"{name} is not set: expected a channel ID like C0123ABCD ({WHERE_CHANNEL_ID})")
            return default
        try:
            return channel_id_setting(name, value)
        except ConfigError as e:
            problems.append(e)
            return default

    def users(name: str) -> frozenset[str]:
        try:
            return user_id_list_setting(name, get(name))
        except ConfigError as e:
            problems.append(e)
            return frozenset()

    bot_token = get("SLACK_BOT_TOKEN")
    signing_secret = get("SLACK_SIGNING_SECRET")
    app_token = get("SLACK_APP_TOKEN")
    if need_slack:
        bot_token = required("SLACK_BOT_TOKEN", "a bot token starting with xoxb-")
        if app_token is None:
            signing_secret = required("SLACK_SIGNING_SECRET", "the app's signing secret")
    if bot_token is not None and not bot_token.startswith("xoxb-"):
        problem("SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if app_token is not None and not app_token.startswith("xapp-"):
        problem("SLACK_APP_TOKEN", "SLACK_APP_TOKEN must be an app-level token starting with xapp-")

    api_url = url("SLACK_API_URL", "https://slack.com/api/")
    if api_url is not None and not api_url.endswith("/"):
        api_url += "/"

    rw_key = get("RAPIDWORKERS_API_KEY")
    if need_rapidworkers and rw_key is None:
        problem("RAPIDWORKERS_API_KEY", "RAPIDWORKERS_API_KEY is not set: expected your RapidWorkers API key")
    rw_base = url("RAPIDWORKERS_BASE_URL", "https://api.rapidworkers.io")
    rw_base = rw_base.rstrip("/") if rw_base else None

    wonolo_key = get("WONOLO_API_KEY")
    wonolo_secret = get("WONOLO_SECRET_KEY")
    if bool(wonolo_key) != bool(wonolo_secret):
        missing = "WONOLO_SECRET_KEY" if wonolo_key else "WONOLO_API_KEY"
        problem(missing, f"{missing} is not set: Wonolo needs both WONOLO_API_KEY and WONOLO_SECRET_KEY")
    if wonolo_key is not None and not wonolo_key.startswith("pk_"):
        problem("WONOLO_API_KEY", "WONOLO_API_KEY must be a Wonolo public key starting with pk_")
    wonolo_base = get("WONOLO_BASE_URL")
    if wonolo_base is not None:
        wonolo_base = url("WONOLO_BASE_URL", "https://api.wonolo.com")
        wonolo_base = wonolo_base.rstrip("/") if wonolo_base else None
        if wonolo_base and wonolo_base.endswith("/api_v2"):
            problem("WONOLO_BASE_URL", "WONOLO_BASE_URL must not end with /api_v2 (gigdesk appends it)")

    review = channel("GIGDESK_REVIEW_CHANNEL", None, needed=need_review_channel)

    match = HH_MM.match(get("GIGDESK_DIGEST_AT", "09:00"))
    if not match:
        problem("GIGDESK_DIGEST_AT", "GIGDESK_DIGEST_AT must be a time of day as HH:MM, like 09:00")
        match = HH_MM.match("09:00")
    assert match is not None  # "09:00" always matches

    tz_name = get("GIGDESK_TZ") or machine_time_zone(get("TZ"))
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a long name or a folder like "Etc"
        problem("GIGDESK_TZ", "GIGDESK_TZ must be an IANA time zone name, like Europe/Berlin")
        tz_name = "UTC"

    def dollars(name: str, example: str) -> Decimal | None:
        value = get(name)
        if value is None:
            return None
        try:
            amount = Decimal(value.removeprefix("$").replace(",", ""))
            if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
                raise InvalidOperation
        except InvalidOperation:
            problem(name, f"{name} must be an amount in dollars (whole cents), like {example}")
            return None
        return amount.quantize(Decimal("0.01"))

    allowed = users("GIGDESK_ALLOWED_USERS")
    spenders = users("GIGDESK_SPENDERS") if get("GIGDESK_SPENDERS") is not None else allowed
    daily_spend_limit = dollars("GIGDESK_DAILY_SPEND_LIMIT", "500.00")
    second_approval_above = dollars("GIGDESK_SECOND_APPROVAL_ABOVE", "100.00")

    low_balance = Decimal("10.00")
    try:
        low_balance = Decimal(get("GIGDESK_LOW_BALANCE", "10.00"))
        if not low_balance.is_finite() or low_balance < 0:
            raise InvalidOperation
    except InvalidOperation:
        problem("GIGDESK_LOW_BALANCE", "GIGDESK_LOW_BALANCE must be an amount in dollars, like 10.00")
        low_balance = Decimal("10.00")

    remind_after_hours = integer("GIGDESK_REMIND_AFTER_HOURS", 0, 1, 8760) if get("GIGDESK_REMIND_AFTER_HOURS") else None
    reviewer_group = get("GIGDESK_REVIEWER_GROUP")
    if reviewer_group is not None and not USER_GROUP_ID.match(reviewer_group):
        problem("GIGDESK_REVIEWER_GROUP", "GIGDESK_REVIEWER_GROUP must be a user group ID like S0123ABCD, not a @handle:"
                " in Slack, open People → User groups, open the group, click ⋮ and choose Copy group ID")
        reviewer_group = None

    forensics = (get("GIGDESK_FORENSICS", "on") or "").lower()
    if forensics not in ("on", "off"):
        raise ConfigError("GIGDESK_FORENSICS must be on or off")
    proof_dns = _dns_server(get("GIGDESK_PROOF_DNS"), problem)
    log_format = (get("GIGDESK_LOG_FORMAT", "text") or "").lower()
    if log_format not in ("text", "json"):
        problem("GIGDESK_LOG_FORMAT", "GIGDESK_LOG_FORMAT must be text or json")
        log_format = "text"

    secrets = tuple(s for s in (bot_token, signing_secret, app_token, rw_key, wonolo_key, wonolo_secret) if s)
    settings = Settings(
        slack_bot_token=bot_token,
        slack_signing_secret=signing_secret,
        slack_app_token=app_token,
        slack_api_url=cast(str, api_url),  # None only with a recorded problem
        rapidworkers_api_key=rw_key or "",
        rapidworkers_base_url=cast(str, rw_base),  # likewise
        wonolo_api_key=wonolo_key,
        wonolo_secret_key=wonolo_secret,
        wonolo_base_url=wonolo_base,
        wonolo_channel=channel("WONOLO_CHANNEL", review),
        db_path=get("GIGDESK_DB", "gigdesk.db"),
        review_channel=review,
        digest_channel=channel("GIGDESK_DIGEST_CHANNEL", review),
        digest_hour=int(match.group(1)),
        digest_minute=int(match.group(2)),
        tz_name=tz_name,
        poll_seconds=integer("GIGDESK_POLL_SECONDS", 60, 1, 86400),
        allowed_users=allowed,
        port=integer("PORT", 3000, 1, 65535),
        host=listen_address("HOST", "127.0.0.1" if app_token else "0.0.0.0"),
        low_balance=low_balance,
        new_account_days=integer("GIGDESK_NEW_ACCOUNT_DAYS", 7, 0, 3650),
        low_approval_rate=float(integer("GIGDESK_LOW_APPROVAL_RATE", 60, 0, 100)),
        rw_hourly_limit=integer("GIGDESK_RW_HOURLY_LIMIT", 1000, 10, 100000),
        workers=integer("GIGDESK_WORKERS", 64, 4, 512),
        post_interval=integer("GIGDESK_POST_INTERVAL_MS", 1000, 0, 60000) / 1000,
        spenders=spenders,
        daily_spend_limit=daily_spend_limit,
        second_approval_above=second_approval_above,
        wonolo_unfilled_alert_hours=integer("WONOLO_UNFILLED_ALERT_HOURS", 24, 0, 720),
        forensics=forensics == "on",
        burst_count=integer("GIGDESK_BURST_COUNT", 5, 1, 1000),
        burst_minutes=integer("GIGDESK_BURST_MINUTES", 10, 1, 1440),
        proof_dns=proof_dns,
        batch_above=integer("GIGDESK_BATCH_ABOVE", 20, 0, 1_000_000),
        remind_after_hours=remind_after_hours or None,  # 0: a bad value, already a problem
        reviewer_group=reviewer_group,
        metrics_port=integer("GIGDESK_METRICS_PORT", 0, 0, 65535),
        metrics_host=listen_address("GIGDESK_METRICS_HOST", "127.0.0.1"),
        log_format=log_format,
        ops_channel=channel("GIGDESK_OPS_CHANNEL", review),
        secrets=secrets,
        env_file=dotenv_file(dotenv_path),
    )
    return settings, problems
