"""Slack listeners. Each module has register(app); register_all wires them."""

from __future__ import annotations

from slack_bolt import App

from handlers import errors, flags, home, middleware, reports, review, rw_command, wonolo


def register_all(app: App, services) -> None:
    """Middleware first, then every listener module, then the error handler."""
    middleware.register(app, services)
    for module in (review, rw_command, reports, home, wonolo, flags):
        module.register(app)
    errors.register(app)
