"""The one "send again without images" rule for messages and views that show image URLs.

Slack fetches every image URL itself; one it cannot load fails the whole message or view
(`invalid_blocks`). The message is then sent again with its images as links only, so one
dead image host never keeps a card out of Slack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from slack_sdk.errors import SlackApiError

from bot.slack import errors as slack_errors

T = TypeVar("T")
R = TypeVar("R")

# render(with_images) -> (fallback text, blocks)
Render = Callable[[bool], tuple[str, list[dict]]]


def with_image_fallback(build: Callable[[bool], R], send: Callable[[R], T]) -> T:
    """`send` what `build(True)` made; when Slack refuses its blocks, what `build(False)` makes."""
    try:
        return send(build(True))
    except SlackApiError as e:
        if e.response.get("error") != slack_errors.INVALID_BLOCKS:
            raise
    return send(build(False))


def send_with_image_fallback(render: Render, send: Callable[[str, list[dict]], T]) -> T:
    """A message: `send(text, blocks)` of `render(with_images)` (views: with_image_fallback)."""
    return with_image_fallback(render, lambda message: send(*message))
