"""The errors the bot shows to the person who acted, as they are.

Services raise these; the one funnel (handlers.errors.report_error) renders
them. Anything else is unexpected: it is shown only as a reference id.
"""


class UserError(Exception):
    """Bad input or a refusal: the message is shown to the user as it is."""


class NotAllowed(UserError):
    """The user may not do this (see GIGDESK_ALLOWED_USERS, GIGDESK_SPENDERS)."""


class UpstreamError(Exception):
    """An API the bot calls (RapidWorkers, Wonolo) failed; ``str(e)`` is a short
    human sentence without secrets, fit to show to the user."""
