"""The custom campaign's image: downloaded from Slack with the bot token (only ever sent to
Slack's own origins), checked to be an image of at most 10 MB, and kept while its offer stands."""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.rw.parsing import MAX_IMAGE_BYTES
from bot.slack.mrkdwn import escape
from bot.spending.offers import CONFIRM_MINUTES

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.config import Settings

log = logging.getLogger("gigdesk.commands")

IMAGE_CACHE_SECONDS = CONFIRM_MINUTES * 60 + 60
MAX_IMAGE_REDIRECTS = 3

Image = tuple[str, bytes, str]  # (file name, content, mimetype)


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, default ports filled in; ("", "", 0) if unreadable."""
    try:
        parts = urlsplit(url or "")
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").rstrip(".").lower(), parts.port or {"https": 443, "http": 80}.get(scheme, 0)
    except ValueError:
        return "", "", 0


class CampaignImages:
    """Download, keep and forget the images of custom campaign offers (by confirmation id)."""

    def __init__(self, slack: WebClient, settings: Settings):
        self.slack = slack
        self.settings = settings
        self._images: dict[str, tuple[float, Image]] = {}
        self._lock = threading.Lock()

    def _token_origins(self) -> set[tuple[str, str, int]]:
        """Where the bot token may go: SLACK_API_URL's origin and https://files.slack.com."""
        return {origin(self.settings.slack_api_url), ("https", "files.slack.com", 443)}

    def _file_info(self, file_id: str) -> tuple[str, str, str]:
        """(name, mimetype, download url) from files.info, refused unless an image ≤ 10 MB with a link."""
        try:
            info = self.slack.files_info(file=file_id)["file"]
        except SlackApiError as e:
            raise UserError(f"I could not read the uploaded image (Slack said {escape(e.response.get('error', 'error'))}).") from None
        name = str(info.get("name") or "image")[:200]
        mimetype = str(info.get("mimetype") or "")
        size = info.get("size")
        url = info.get("url_private_download") or info.get("url_private")
        if not mimetype.startswith("image/"):
            raise UserError("The campaign image must be an image (PNG, JPG, GIF or WebP).")
        if isinstance(size, int) and size > MAX_IMAGE_BYTES:
            raise UserError("The campaign image must be 10 MB or smaller.")
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise UserError("I could not find the uploaded image's download link.")
        return name, mimetype, url

    def _fetch(self, url: str) -> bytes:
        """The file's bytes, following at most MAX_IMAGE_REDIRECTS redirects, each to a token origin."""
        allowed = self._token_origins()
        for _ in range(MAX_IMAGE_REDIRECTS + 1):
            if origin(url) not in allowed:
                log.warning("refused to send the bot token to %s", origin(url)[1])
                raise UserError("The uploaded image is not on Slack's file server, so I did not download it.")
            with requests.get(url, headers={"Authorization": f"Bearer {self.slack.token}"}, timeout=15, stream=True,
                              allow_redirects=False) as resp:
                if resp.is_redirect:
                    url = requests.compat.urljoin(url, resp.headers.get("Location", ""))
                    continue
                if resp.status_code != 200:
                    raise UserError(f"I could not download the uploaded image (HTTP {resp.status_code}).")
                content = b""
                for chunk in resp.iter_content(65536):
                    content += chunk
                    if len(content) > MAX_IMAGE_BYTES:
                        raise UserError("The campaign image must be 10 MB or smaller.")
                return content
        raise UserError("Slack redirected the image download too often; try again in a moment.")

    def download(self, file_id: str) -> Image:
        """files.info, then url_private_download with the bot token; checked to be an image ≤ 10 MB.

        The token is sent only to Slack's own origins: a download link, or a
        redirect, anywhere else is refused without contacting it.
        """
        name, mimetype, url = self._file_info(file_id)
        try:
            content = self._fetch(url)
        except requests.RequestException:
            raise UserError("I could not download the uploaded image; try again in a moment.") from None
        if not content:
            raise UserError("The uploaded image is empty.")
        return name, content, mimetype

    def keep(self, confirmation_id: str, image: Image) -> None:
        now = time.monotonic()
        with self._lock:
            for key in [k for k, (at, _) in self._images.items() if now - at > IMAGE_CACHE_SECONDS]:
                del self._images[key]
            self._images[confirmation_id] = (now, image)

    def drop(self, confirmation_id: str) -> None:
        with self._lock:
            self._images.pop(confirmation_id, None)

    def for_offer(self, confirmation_id: str, meta: dict | None) -> Image | None:
        """The offer's image: kept since the offer, else downloaded again (e.g. after a restart)."""
        if not meta:
            return None
        with self._lock:
            cached = self._images.get(confirmation_id)
        if cached is not None:
            return cached[1]
        return self.download(meta["file_id"])
