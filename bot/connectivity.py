"""One-line descriptions of a service that could not be reached: what failed, where, what to check.

Used by the review sync's report (`gigdesk poll`) and by `gigdesk check`.
They name the host, never a full URL (a query string may carry a token),
and never an exception class.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError

SLACK_STATUS_PAGE = "https://status.slack.com"


def host_of(url: str | None) -> str:
    """host[:port] of a URL, without any user:password@."""
    netloc = urlsplit(url or "").netloc
    return netloc.rsplit("@", 1)[-1] or "(no host)"


def network_reason(exc: BaseException) -> str | None:
    """Why a connection failed, in words ("connection refused"), or None if `exc` is no network failure.

    Follows the chain of causes: urllib's URLError.reason, urllib3's wrapped
    errors, `raise … from` and exception arguments.
    """
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        e = todo.pop(0)
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, socket.gaierror):
            return "host name not found"
        if isinstance(e, ssl.SSLError):
            return "TLS/certificate error"
        if isinstance(e, (TimeoutError, socket.timeout)):
            return "no answer in time"
        if isinstance(e, ConnectionError):  # reset, aborted, broken pipe
            return "connection closed"
        todo.extend([getattr(e, "reason", None), e.__cause__, e.__context__, *e.args])
    if isinstance(exc, OSError):  # urllib's URLError without a known cause
        return "network error"
    if isinstance(exc, http.client.HTTPException):  # e.g. RemoteDisconnected, IncompleteRead
        return "connection closed"
    return None


def slack_outage(exc: BaseException, api_url: str | None) -> str | None:
    """One line when `exc` means Slack was unreachable or answered 5xx; None for any other failure."""
    host = host_of(api_url)
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200) or 200
        if status >= 500:
            return (
                f"Slack at {host} answered HTTP {status}: Slack is having trouble; "
                f"see {SLACK_STATUS_PAGE} and run it again later"
            )
        return None
    reason = network_reason(exc)
    if reason is None:
        return None
    return (
        f"could not reach Slack at {host} ({reason}): check SLACK_API_URL and this machine's "
        "network (proxy, firewall, DNS)"
    )
