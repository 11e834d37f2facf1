"""files.info and the private file downloads of the stand-in."""

from __future__ import annotations

import re
import time

from werkzeug.wrappers import Request, Response

from sandbox.slack_workspace.arguments import _ApiError
from sandbox.slack_workspace.records import PERMALINK_HOST, Call


class FileMethods:
    """files.info and url_private downloads (mixed into SlackStandin)."""

    def _file_urls(self, file_id: str, name: str) -> tuple[str, str]:
        base = f"{self.url}files-pri/{self.team_id}-{file_id}"
        return f"{base}/{name}", f"{base}/download/{name}"

    def _m_files_info(self, args: dict) -> dict:
        fid = str(args.get("file") or "")
        f = self._files.get(fid)
        if f is None:
            raise _ApiError("file_not_found")
        url_private, url_download = self._file_urls(fid, f["name"])
        ext = f["name"].rsplit(".", 1)[-1].lower() if "." in f["name"] else "binary"
        return {
            "file": {
                "id": fid,
                "created": f["created"],
                "timestamp": f["created"],
                "name": f["name"],
                "title": f["name"],
                "mimetype": f["mimetype"],
                "filetype": ext,
                "pretty_type": ext.upper(),
                "user": "U_ALICE",
                "mode": "hosted",
                "editable": False,
                "is_external": False,
                "external_type": "",
                "is_public": False,
                "size": len(f["content"]),
                "url_private": url_private,
                "url_private_download": url_download,
                "permalink": f"{PERMALINK_HOST}/files/U_ALICE/{fid}/{f['name']}",
            },
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
