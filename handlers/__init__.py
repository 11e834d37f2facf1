"""Slack listeners. Each module has register(app); register_all wires them."""

from __future__ import annotations

from slack_bolt import App

from bot.features import Features
from bot.services import Services
from handlers import errors, flags, home, metrics, middleware, reports, review, rw_command, wonolo


def register_all(app: App, services: Services, features: Features) -> None:
    """Middleware first, then every listener module, then the error handler."""
    metrics.register(app)
    middleware.register(app, services, features)
    for module in (review, rw_command, reports, home, wonolo, flags):
        module.register(app)
    errors.register(app)
