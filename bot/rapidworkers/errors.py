"""The RapidWorkers client's errors: what the API answered, in words a person can act on."""

from __future__ import annotations

from typing import Any

from bot.errors import UpstreamError

# What a status means when the API's answer gives no message of its own.
_FALLBACK_MESSAGES = {
    400: "RapidWorkers refused the request as invalid.",
    401: "RapidWorkers rejected the API key (invalid or missing).",
    403: "RapidWorkers says this is not allowed for your account.",
    404: "RapidWorkers could not find that.",
    429: "RapidWorkers rate limit reached; try again later.",
}




class RapidWorkersError(UpstreamError):
    """Base error; ``str(e)`` is a short human sentence without secrets."""

    status: int | None = None
    error: str | None = None

    def __init__(self, message: str, *, status: int | None = None, error: str | None = None):
        super().__init__(message)
        self.status = status
        self.error = error


class InvalidInput(RapidWorkersError, ValueError):
    """Local validation failed; no request was sent."""


class BadRequest(RapidWorkersError):
    """HTTP 400; ``.error`` holds the API's error text."""


class Unauthorized(RapidWorkersError):
    """HTTP 401: invalid or missing API key."""


class Forbidden(RapidWorkersError):
    """HTTP 403: not your campaign, or the job failed the legitimacy check."""


class NotFound(RapidWorkersError):
    """HTTP 404."""


class RateLimited(RapidWorkersError):
    """HTTP 429; ``retry_after`` in seconds when the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(RapidWorkersError):
    """HTTP 5xx."""


class NetworkError(RapidWorkersError):
    """Connection error or timeout.

    ``may_have_reached_server`` is False only when the request certainly was
    not delivered (connection refused, DNS failure, connect timeout).
    """

    def __init__(self, message: str, *, may_have_reached_server: bool = True, **kw: Any):
        super().__init__(message, **kw)
        self.may_have_reached_server = may_have_reached_server


class BudgetExhausted(RapidWorkersError):
    """The client-side hourly request budget would be exceeded; no request sent."""

    def __init__(self, message: str, *, retry_in: float | None = None):
        super().__init__(message)
        self.retry_in = retry_in
