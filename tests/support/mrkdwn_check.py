"""What Slack would parse in a message: the basis of the escaping assertions."""

from __future__ import annotations


def parsed_text(blocks: list, text: str = "") -> str:
    """Mrkdwn objects and the fallback text: the only places Slack turns
    <!channel>, <@U…> and <url|label> into mentions and links."""
    found = [text]

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node.get("text", ""))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(found)
