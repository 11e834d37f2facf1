"""Errors that carry a message fit to show the person who clicked."""


class UserError(Exception):
    """Bad input or a refusal: the message is shown to the user as it is."""


class NotAllowed(UserError):
    """The user may not do this (see GIGDESK_ALLOWED_USERS)."""
