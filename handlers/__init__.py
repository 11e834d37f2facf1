"""Slack listeners. Each module has register(app); register_all wires them."""

from __future__ import annotations

from slack_bolt import App

from handlers import errors, middleware, review


def register_all(app: App, services) -> None:
    """Middleware first, then every listener module, then the error handler."""
    middleware.register(app, services)
    for module in (review,) + _optional_modules():
        module.register(app)
    errors.register(app)


def _optional_modules() -> tuple:
    """Listener modules of features that are being built in parallel."""
    import importlib

    found = []
    for name in ("rw_command", "home", "wonolo"):
        try:
            found.append(importlib.import_module(f"handlers.{name}"))
        except ModuleNotFoundError as e:
            if e.name != f"handlers.{name}":
                raise
    return tuple(found)
