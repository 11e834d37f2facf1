"""What listeners read from a request (the clicked value, message); replies are bot.slack.replies."""

from __future__ import annotations


def action_value(body: dict) -> str:
    """The clicked element's value; "" when the payload does not hold a text one."""
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    value = first.get("value", "") if isinstance(first, dict) else ""
    return value if isinstance(value, str) else ""


def selected_value(body: dict) -> str:
    """The value of the option picked in a select or overflow; "" when there is none."""
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    option = first.get("selected_option") if isinstance(first, dict) else None
    value = option.get("value", "") if isinstance(option, dict) else ""
    return value if isinstance(value, str) else ""


def clicked_message(body: dict) -> tuple[str, str]:
    """(channel, ts) of the message a button was clicked on; ("", "") when there is none."""
    container = body.get("container")
    if not isinstance(container, dict) or container.get("type") != "message" or container.get("is_ephemeral"):
        return ("", "")
    channel, ts = container.get("channel_id"), container.get("message_ts")
    return (channel, ts) if isinstance(channel, str) and isinstance(ts, str) else ("", "")
