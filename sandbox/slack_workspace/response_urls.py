"""Response URLs: what a POST to an interaction's response_url does."""

from __future__ import annotations

import copy
import json
import time

from werkzeug.wrappers import Request, Response

from sandbox.slack_workspace.arguments import _JSON_FIELDS, ARGUMENT_LIMITS, _truthy
from sandbox.slack_workspace.block_kit import _check_blocks
from sandbox.slack_workspace.records import Call, Message


class ResponseUrls:
    """POSTs to response URLs (mixed into SlackStandin)."""

    def _hook(self, request: Request, hook_id: str) -> Response:
        if request.method != "POST":
            return Response("method not allowed", status=405, mimetype="text/plain")
        raw = request.get_data()
        try:
            payload = json.loads(raw) if request.mimetype == "application/json" else json.loads(
                request.form.get("payload", ""))
        except ValueError:
            payload = None
        with self._lock:
            hook = self._hooks.get(hook_id)
            call = Call(method="response_url", args=payload if isinstance(payload, dict) else {"_raw": raw.decode("utf-8", "replace")},
                        time=time.time(), token=None)
            self.calls.append(call)

            def answer(status: int, error: str | None) -> Response:
                call.status, call.ok, call.error = status, status == 200, error
                return Response(error or "ok", status=status, mimetype="text/plain")

            if hook is None:
                return answer(404, "no_service")
            f = self._pop_failure("response_url")
            if f is not None:
                return answer(f[1] if f[1] != 200 else 500, f[0])
            max_age, expired = ARGUMENT_LIMITS["response_url"]["age_seconds"]
            if time.time() - hook["issued_at"] > max_age:
                return answer(404, expired)
            max_uses, used = ARGUMENT_LIMITS["response_url"]["uses"]
            if hook["uses"] >= max_uses:
                return answer(404, used)
            if not isinstance(payload, dict):
                return answer(400, "invalid_payload")
            for key in _JSON_FIELDS:
                v = payload.get(key)
                if isinstance(v, str) and v.strip()[:1] in ("[", "{"):
                    try:
                        payload[key] = json.loads(v)
                    except ValueError:
                        pass
            replace = _truthy(payload.get("replace_original"))
            delete = _truthy(payload.get("delete_original"))
            in_channel = payload.get("response_type") == "in_channel"
            if not delete and not payload.get("text") and not payload.get("blocks") and not payload.get("attachments"):
                return answer(400, "no_text")
            max_blocks, invalid = ARGUMENT_LIMITS["response_url"]["blocks"]
            if payload.get("blocks") is not None and _check_blocks(payload["blocks"], max_blocks):
                return answer(400, invalid)
            hook["uses"] += 1
            record = {
                "name": hook["name"], "channel": hook["channel"], "user": hook["user"],
                "message_ts": hook["message_ts"], "payload": copy.deepcopy(payload),
            }
            self._hook_posts.append(record)

            original = None
            if hook["channel"] and hook["message_ts"]:
                original = self._messages.get(hook["channel"], {}).get(hook["message_ts"])
            if delete:
                if original is not None:
                    del self._messages[original.channel][original.ts]
            elif replace and original is not None:
                if "text" in payload:
                    original.text = payload.get("text") or ""
                original.blocks = copy.deepcopy(payload.get("blocks")) or []
                if "attachments" in payload:
                    original.attachments = copy.deepcopy(payload["attachments"])
                original.updates += 1
            elif in_channel and hook["channel"] in self._channels:
                m = Message(channel=hook["channel"], ts=self._new_ts(), text=payload.get("text") or "",
                            blocks=copy.deepcopy(payload.get("blocks")) or [], metadata=None,
                            thread_ts=self._thread_root(hook["channel"], str(payload.get("thread_ts")))
                            if payload.get("thread_ts") else None,
                            user=self.bot_user_id, attachments=copy.deepcopy(payload.get("attachments")),
                            bot_id=self.bot_id)
                self._messages.setdefault(m.channel, {})[m.ts] = m
            if not in_channel:
                self._ephemerals.append({
                    "text": payload.get("text") or "",
                    "blocks": copy.deepcopy(payload.get("blocks")) or [],
                    "user": hook["user"],
                    "channel": hook["channel"],
                    "via": "response_url",
                    "replace_original": replace,
                    "delete_original": delete,
                    "thread_ts": payload.get("thread_ts"),
                    "name": hook["name"],
                    "ts": self._new_ts(),  # orders it among the channel's messages
                })
            return answer(200, None)
