"""Small named middleware that puts shared objects where listeners find them."""

from __future__ import annotations

from slack_bolt import App, BoltContext


def register(app: App, services) -> None:
    def inject_services(context: BoltContext, next):
        """context['services'], ['review'], … and ['actor'] (the acting user)."""
        context["services"] = services
        context["review"] = services.review
        context["actor"] = context.user_id
        next()

    app.use(inject_services)
