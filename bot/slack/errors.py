"""The Slack Web API error codes the bot reacts to, in one place (the `error` of a SlackApiError)."""

from __future__ import annotations

INVALID_BLOCKS = "invalid_blocks"
MESSAGE_NOT_FOUND = "message_not_found"
CHANNEL_NOT_FOUND = "channel_not_found"
MISSING_SCOPE = "missing_scope"
RATELIMITED = "ratelimited"

# Slack refused the bot's token.
TOKEN_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"})

# The bot cannot see the channel (a private channel it is not in looks like this).
CHANNEL_OUT_OF_REACH = frozenset({CHANNEL_NOT_FOUND, "not_in_channel", MISSING_SCOPE})

# Slack refused the message itself: the same message fails the same way again.
MESSAGE_REFUSED = frozenset({INVALID_BLOCKS, "msg_too_long", "no_text", "invalid_metadata_format", "restricted_action"})

# Errors that another attempt cannot fix.
PERMANENT = CHANNEL_OUT_OF_REACH | MESSAGE_REFUSED | {"is_archived", "invalid_auth", "not_authed", "account_inactive", "token_revoked"}

# Errors after which a chat.postMessage certainly did not post (so posting again cannot duplicate).
NOT_POSTED = PERMANENT | {RATELIMITED}

