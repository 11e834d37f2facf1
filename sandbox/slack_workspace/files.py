"""Files of the stand-in: files.info, private downloads, and Slack's current upload flow.

The upload flow, as Slack documents it (docs.slack.dev/reference/methods/files.getUploadURLExternal
and files.completeUploadExternal):

1. ``files.getUploadURLExternal`` with ``filename`` and ``length`` (both required; ``alt_txt`` at
   most 1,000 characters, ``snippet_type`` optional) answers ``upload_url`` and ``file_id``;
2. the client POSTs the bytes to ``upload_url`` (raw, or multipart form encoded), without a token:
   HTTP 200 when they arrived. The stand-in holds the client to the ``length`` it declared (anything
   else is refused with HTTP 400 and stored nowhere) and takes one upload per URL;
3. ``files.completeUploadExternal`` with ``files`` (``[{"id", "title"}]``) and optionally
   ``channel_id`` (or ``channels``), ``initial_comment``, ``thread_ts``: the files exist from then
   on, and with a channel they are shared there in one message (``files`` on the message).
   Without a channel they stay private.

Both methods need the ``files:write`` scope. ``shared_files()`` and ``file()`` tell tests what was
shared where.
"""

from __future__ import annotations

import copy
import json
import mimetypes
import re
import secrets
import time

from werkzeug.wrappers import Request, Response

from sandbox.slack_workspace.arguments import _ApiError
from sandbox.slack_workspace.records import PERMALINK_HOST, Call, Message

MAX_UPLOAD_BYTES = 1024 * 1024 * 1024  # Slack's limit for one file: 1 GB
MAX_ALT_TXT = 1000


class FileMethods:
    """files.info, url_private downloads and the external upload flow (mixed into SlackStandin)."""

    # ------------------------------------------------------------- test-side helpers

    def file(self, file_id: str) -> dict | None:
        """A file as stored: content, name, title, mimetype, alt_txt, shares {channel: [ts, …]}."""
        with self._lock:
            found = self._files.get(file_id)
            return copy.deepcopy(found) if found is not None else None

    def shared_files(self, channel: str | None = None) -> list[dict]:
        """Every file shared (in `channel`, or anywhere), in upload order, with its id."""
        with self._lock:
            return [copy.deepcopy({"id": fid, **f}) for fid, f in self._files.items()
                    if f.get("shares") and (channel is None or channel in f["shares"])]

    # ------------------------------------------------------------- the upload flow

    def _m_files_getUploadURLExternal(self, args: dict) -> dict:
        filename = args.get("filename")
        if not isinstance(filename, str) or not filename.strip():
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: filename"]})
        raw_length = args.get("length")
        if raw_length in (None, ""):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: length"]})
        try:
            length = int(raw_length)
        except (TypeError, ValueError):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] length must be an integer"]}) from None
        if length <= 0:
            raise _ApiError("missing_argument")  # Slack: "typically only occurs when the length provided is 0"
        if length > MAX_UPLOAD_BYTES:
            raise _ApiError("file_upload_size_restricted")
        alt = args.get("alt_txt")
        if isinstance(alt, str) and len(alt) > MAX_ALT_TXT:
            raise _ApiError("alt_txt_too_large")
        file_id = self._new_id("F")
        ticket = secrets.token_urlsafe(18)
        self._uploads[ticket] = {"file_id": file_id, "filename": filename.strip()[:255], "length": length,
                                 "alt_txt": alt if isinstance(alt, str) else None,
                                 "snippet_type": args.get("snippet_type"), "content": None}
        return {"upload_url": f"{self.url}upload/v1/{ticket}", "file_id": file_id}

    def _receive_upload(self, request: Request, ticket: str) -> Response:
        """The POST of a file's bytes to its upload URL (raw body, or the first file of a multipart form)."""
        with self._lock:
            call = Call(method="files.upload_url", args={"ticket": ticket}, time=time.time(), token=None)
            self.calls.append(call)

            def answer(status: int, text: str) -> Response:
                call.status, call.ok, call.error = status, status == 200, None if status == 200 else text
                return Response(text, status=status, mimetype="text/plain")

            if request.method != "POST":
                return answer(405, "method not allowed")
            upload = self._uploads.get(ticket)
            if upload is None or upload["content"] is not None:
                return answer(404, "unknown or used upload URL")
            f = self._pop_failure("files.upload_url")
            if f is not None:
                return answer(f[1] if f[1] != 200 else 500, f[0])
            declared = upload["length"]
            if (request.content_length or 0) > declared + 64 * 1024 and request.mimetype != "multipart/form-data":
                return answer(400, f"length mismatch: declared {declared} bytes")
            if request.mimetype == "multipart/form-data":
                parts = list(request.files.values())
                content = parts[0].read() if parts else b""
            else:
                content = request.get_data()
            call.args["bytes"] = len(content)
            if len(content) != declared:
                return answer(400, f"length mismatch: declared {declared} bytes, received {len(content)}")
            upload["content"] = bytes(content)
            return answer(200, f"OK - {len(content)}")

    def _m_files_completeUploadExternal(self, args: dict) -> dict:
        files = args.get("files")
        if isinstance(files, str):
            try:
                files = json.loads(files)
            except ValueError:
                raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] files must be a JSON array"]}) from None
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) and isinstance(f.get("id"), str) for f in files):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] files must be an array of {id, title}"]})
        channels: list[str] = []
        if args.get("channel_id"):
            channels.append(str(args["channel_id"]))
        if args.get("channels"):
            channels += [c.strip() for c in str(args["channels"]).split(",") if c.strip()]
        channels = list(dict.fromkeys(channels))
        for ch in channels:
            self._channel({"channel": ch})
            self._bot_in(ch)
        if args.get("thread_ts") and len(channels) != 1:
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] thread_ts needs exactly one channel"]})
        tickets = {u["file_id"]: t for t, u in self._uploads.items()}
        for f in files:
            ticket = tickets.get(f["id"])
            if ticket is None or self._uploads[ticket]["content"] is None:
                raise _ApiError("file_not_found")  # never announced, or its bytes never arrived
        comment = args.get("initial_comment")
        if comment is not None and not isinstance(comment, str):
            raise _ApiError("invalid_arguments")
        now = int(time.time())
        done = []
        for f in files:
            upload = self._uploads.pop(tickets[f["id"]])
            name = upload["filename"]
            mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self._files[f["id"]] = {"content": upload["content"], "name": name, "mimetype": mimetype, "created": now,
                                    "title": str(f.get("title") or name), "alt_txt": upload["alt_txt"],
                                    "user": self.bot_user_id, "shares": {}}
            done.append({"id": f["id"], "title": str(f.get("title") or name)})
        for ch in channels:
            thread_ts = self._thread_root(ch, str(args["thread_ts"])) if args.get("thread_ts") else None
            m = Message(channel=ch, ts=self._new_ts(), text=comment or "", blocks=[], metadata=None, thread_ts=thread_ts,
                        user=self.bot_user_id, bot_id=self.bot_id,
                        files=[self._file_object(d["id"]) for d in done])
            self._messages.setdefault(ch, {})[m.ts] = m
            for d in done:
                self._files[d["id"]]["shares"].setdefault(ch, []).append(m.ts)
        return {"files": done}

    def _file_object(self, file_id: str) -> dict:
        """A file as Slack lists it on a message and in files.info."""
        f = self._files[file_id]
        url_private, url_download = self._file_urls(file_id, f["name"])
        ext = f["name"].rsplit(".", 1)[-1].lower() if "." in f["name"] else "binary"
        return {
            "id": file_id, "created": f["created"], "timestamp": f["created"], "name": f["name"],
            "title": f.get("title") or f["name"], "mimetype": f["mimetype"], "filetype": ext,
            "pretty_type": ext.upper(), "user": f.get("user") or "U_ALICE", "mode": "hosted", "editable": False,
            "is_external": False, "external_type": "", "is_public": False, "size": len(f["content"]),
            "url_private": url_private, "url_private_download": url_download,
            "permalink": f"{PERMALINK_HOST}/files/{f.get('user') or 'U_ALICE'}/{file_id}/{f['name']}",
            **({"alt_txt": f["alt_txt"]} if f.get("alt_txt") else {}),
        }

    # ------------------------------------------------------------- files.info, downloads

    def _file_urls(self, file_id: str, name: str) -> tuple[str, str]:
        base = f"{self.url}files-pri/{self.team_id}-{file_id}"
        return f"{base}/{name}", f"{base}/download/{name}"

    def _m_files_info(self, args: dict) -> dict:
        fid = str(args.get("file") or "")
        if fid not in self._files:
            raise _ApiError("file_not_found")
        return {
            "file": self._file_object(fid),
            "comments": [],
            "response_metadata": {"next_cursor": ""},
        }

    def _download(self, request: Request, rest: str) -> Response:
        # <team>-<file_id>/[download/]<name>
        m = re.fullmatch(r"([^/-]+)-([^/]+)/(?:download/)?[^/]+", rest)
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else None
        with self._lock:
            call = Call(method="files.download", args={"path": rest, "file": m.group(2) if m else None},
                        time=time.time(), token=token)
            self.calls.append(call)
            if token != self.token:
                call.status, call.ok, call.error = 401, False, "invalid_auth"
                return Response("Unauthorized", status=401, mimetype="text/plain")
            if "files:read" not in self.scopes:
                call.status, call.ok, call.error = 403, False, "missing_scope"
                return Response("Forbidden", status=403, mimetype="text/plain")
            f = self._pop_failure("files.download")
            if f is not None:
                call.status, call.ok, call.error = f[1], False, f[0]
                return Response(f[0], status=f[1] if f[1] != 200 else 500, mimetype="text/plain")
            if m is None or m.group(1) != self.team_id or m.group(2) not in self._files:
                call.status, call.ok, call.error = 404, False, "file_not_found"
                return Response("Not Found", status=404, mimetype="text/plain")
            data = self._files[m.group(2)]
            call.status, call.ok = 200, True
            return Response(data["content"], status=200, mimetype=data["mimetype"])
