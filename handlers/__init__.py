"""Slack listeners. Each module has register(app); register_all wires them."""

from __future__ import annotations

from slack_bolt import App

from handlers import errors, home, metrics, middleware, reports, review, rw_command, wonolo


def register_all(app: App, services) -> None:
    """Middleware first, then every listener module, then the error handler."""
    metrics.register(app)
    middleware.register(app, services)
    for module in (review, rw_command, reports, home, wonolo):
        module.register(app)
    errors.register(app)
