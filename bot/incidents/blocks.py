"""Incident and recovery messages: pure functions from the finding to (text, blocks)."""

from __future__ import annotations

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.slack.mrkdwn import truncate, when

SECTION_LIMIT = 3000


def incident_message(title: str, todo: str, opened_at: str) -> tuple[str, list[dict]]:
    text = f":rotating_light: gigdesk incident: {title}"
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=truncate(f":rotating_light: *{title}*", SECTION_LIMIT))),
        SectionBlock(text=MarkdownTextObject(text=truncate(f"*What to do:* {todo}", SECTION_LIMIT))),
        ContextBlock(elements=[MarkdownTextObject(text=f"Since {when(opened_at)}. I will say here when it clears.")]),
    ]
    return truncate(text, 3000), [b.to_dict() for b in blocks]


def recovery_message(recovered: str, title: str | None, opened_at: str) -> tuple[str, list[dict]]:
    text = f":white_check_mark: Resolved: {recovered}"
    context = f"Open since {when(opened_at)}" + (f": {title}" if title else "")
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=truncate(f":white_check_mark: *Resolved:* {recovered}", SECTION_LIMIT))),
        ContextBlock(elements=[MarkdownTextObject(text=truncate(context, 2000))]),
    ]
    return truncate(text, 3000), [b.to_dict() for b in blocks]
