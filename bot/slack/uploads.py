"""Files to Slack with its current upload flow, through slack_sdk's files_upload_v2:
files.getUploadURLExternal (name and length) → the bytes POSTed to the upload URL it returns
(no token: the URL itself is the authorisation) → files.completeUploadExternal, which shares the
files in one channel (`channel_id`) with one message.

Needs the `files:write` scope, and `im:write` to open a direct message (conversations.open).
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient


@dataclass(frozen=True)
class Upload:
    """One file: its name (with extension), bytes, title, and a description of an image for screen readers."""

    filename: str
    content: bytes
    title: str
    alt_txt: str | None = None


def direct_message_channel(client: WebClient, user_id: str) -> str:
    """The id of the direct message between the bot and `user_id` (conversations.open opens or resumes it)."""
    return str(client.conversations_open(users=user_id)["channel"]["id"])


def upload(client: WebClient, channel: str, files: list[Upload], *, comment: str | None = None) -> list[str]:
    """Upload `files` and share them in `channel` with one message (`comment`, mrkdwn); their file ids.
    Raises SlackApiError (an answer with ok=false) or SlackRequestError (the upload URL refused the bytes)."""
    response = client.files_upload_v2(
        file_uploads=[{"content": f.content, "filename": f.filename, "title": f.title,
                       **({"alt_txt": f.alt_txt[:1000]} if f.alt_txt else {})} for f in files],
        channel=channel,
        initial_comment=comment,
    )
    return [str(f.get("id")) for f in response.get("files") or []]
