"""views.open / push / update / publish of the stand-in."""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from sandbox.slack_workspace.arguments import _ApiError
from sandbox.slack_workspace.block_kit import _check_view
from sandbox.slack_workspace.records import APP_ID


class ViewMethods:
    """The views.* methods (mixed into SlackStandin)."""

    def _validate_view(self, view: Any) -> dict:
        errs = _check_view(view)
        if errs:
            raise _ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errs]})
        return view

    def _store_view(self, view: dict, *, view_id: str | None = None, root: str | None = None,
                    previous: str | None = None) -> dict:
        view_id = view_id or self._new_id("V")
        full = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type"),
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{next(self._ids):08x}",
            "title": copy.deepcopy(view.get("title")),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": previous,
            "root_view_id": root or view_id,
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        self._views[view_id] = full
        return full

    def _log_view(self, method: str, args: dict, result: dict) -> None:
        self._views_log.append({
            "method": method,
            "view": copy.deepcopy(args.get("view")),
            "trigger_id": args.get("trigger_id"),
            "user_id": args.get("user_id"),
            "view_id": args.get("view_id"),
            "id": result["id"],
        })

    def _m_views_open(self, args: dict) -> dict:
        if not args.get("trigger_id"):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: trigger_id"]})
        view = self._validate_view(args.get("view"))
        if view.get("type") != "modal":
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] must be modal [json-pointer:/view/type]"]})
        full = self._store_view(view)
        self._log_view("views.open", args, full)
        return {"view": copy.deepcopy(full)}

    def _m_views_push(self, args: dict) -> dict:
        if not args.get("trigger_id"):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: trigger_id"]})
        view = self._validate_view(args.get("view"))
        full = self._store_view(view)
        self._log_view("views.push", args, full)
        return {"view": copy.deepcopy(full)}

    def _m_views_update(self, args: dict) -> dict:
        view = self._validate_view(args.get("view"))
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            view_id = next((v["id"] for v in self._views.values() if v["external_id"] == args["external_id"]), None)
        old = self._views.get(view_id) if view_id else None
        if old is None:
            raise _ApiError("not_found")
        if args.get("hash") and args["hash"] != old["hash"]:
            raise _ApiError("hash_conflict")
        full = self._store_view(view, view_id=old["id"], root=old["root_view_id"], previous=old["previous_view_id"])
        self._log_view("views.update", args, full)
        return {"view": copy.deepcopy(full)}

    def _m_views_publish(self, args: dict) -> dict:
        user = str(args.get("user_id") or "")
        if not re.fullmatch(r"[UW][A-Z0-9_]+", user):
            raise _ApiError("user_not_found")
        view = self._validate_view(args.get("view"))
        if view.get("type") != "home":
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] must be home [json-pointer:/view/type]"]})
        old = self._views.get(self._home.get(user, ""))
        if old is not None and args.get("hash") and args["hash"] != old["hash"]:
            raise _ApiError("hash_conflict")
        full = self._store_view(view, view_id=old["id"] if old else None)
        self._home[user] = full["id"]
        self._log_view("views.publish", args, full)
        return {"view": copy.deepcopy(full)}
