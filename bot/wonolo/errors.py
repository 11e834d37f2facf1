"""Wonolo's failures as short, human exceptions (str() never holds a secret)."""

from __future__ import annotations

from typing import Any

from bot.errors import UpstreamError


class WonoloError(UpstreamError):
    """A Wonolo call failed; str() is short, human, and free of secrets."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message


class WonoloUnauthorized(WonoloError):
    """401: the keys or token were refused (after one re-authentication)."""


class WonoloForbidden(WonoloError):
    """403: the key may not do this (Public Pool keys may not do many writes)."""


class WonoloNotFound(WonoloError):
    """404: no such resource."""


class WonoloInvalid(WonoloError):
    """422 from Wonolo, or a local validation failure; .errors holds any details."""

    def __init__(self, message: str, status: int | None = 422, errors: Any = None) -> None:
        super().__init__(message, status)
        self.errors = errors


class WonoloServerError(WonoloError):
    """5xx from Wonolo."""


class WonoloNetworkError(WonoloError):
    """Connection failure or timeout."""


FORBIDDEN_MESSAGE = (
    "Wonolo refused this action (403). Public Pool API keys may only read "
    "their own job requests and jobs, and many create/update calls are "
    "forbidden for them; a Private Pool key is needed."
)
