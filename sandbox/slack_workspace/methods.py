"""Web API methods of the stand-in: auth, chat, conversations, users."""

from __future__ import annotations

import copy
import json
import re

from sandbox.slack_workspace.arguments import ARGUMENT_LIMITS, _ApiError, _cursor, _dec, _int_arg, _truthy, _uncursor
from sandbox.slack_workspace.block_kit import _check_blocks
from sandbox.slack_workspace.records import PERMALINK_HOST, Message


def _real_name(user_id: str) -> str:
    core = re.sub(r"^[UW]_?", "", user_id)
    return " ".join(p.capitalize() for p in core.split("_") if p) or user_id


class WebApiMethods:
    """chat.*, conversations.*, users.info, users.list and auth.test (mixed into SlackStandin)."""

    def _check_message_content(self, args: dict, method: str, *, require: bool = True) -> None:
        text, blocks, atts = args.get("text"), args.get("blocks"), args.get("attachments")
        if require and not text and not blocks and not atts:
            raise _ApiError("no_text")
        if text is not None and not isinstance(text, str):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] text must be a string"]})
        max_text, too_long = ARGUMENT_LIMITS[method]["text"]
        if isinstance(text, str) and len(text) > max_text:
            raise _ApiError(too_long)
        if blocks is not None:
            max_blocks, invalid = ARGUMENT_LIMITS[method]["blocks"]
            errs = _check_blocks(blocks, max_blocks)
            if errs:
                raise _ApiError(invalid, response_metadata={"messages": [f"[ERROR] {e}" for e in errs]})
        if atts is not None and not isinstance(atts, list):
            raise _ApiError("invalid_attachments")
        md = args.get("metadata")
        if md is not None:
            if not (isinstance(md, dict) and isinstance(md.get("event_type"), str) and md["event_type"]
                    and isinstance(md.get("event_payload", {}), dict)):
                raise _ApiError("invalid_metadata_format")
            self._check_metadata_size(md.get("event_payload") or {})

    @staticmethod
    def _check_metadata_size(payload: dict) -> None:
        """ARGUMENT_LIMITS["metadata"]: arrays of at most 100 items, 8,000 characters of JSON."""
        items, error = ARGUMENT_LIMITS["metadata"]["array_items"]
        if any(isinstance(v, list) and len(v) > items for v in payload.values()):
            raise _ApiError(error, response_metadata={"messages": [f"[ERROR] an event_payload array has more than {items} items"]})
        chars, error = ARGUMENT_LIMITS["metadata"]["json_chars"]
        if len(json.dumps(payload)) > chars:
            raise _ApiError(error, response_metadata={"messages": [f"[ERROR] event_payload is over {chars} characters"]})

    def _m_auth_test(self, args: dict) -> dict:
        return {
            "url": f"{PERMALINK_HOST}/",
            "team": "gigdesk",
            "user": "gigdesk",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _m_apps_connections_open(self, args: dict) -> dict:
        """A one-time WebSocket URL for a Socket Mode connection (the token was checked as an app token)."""
        return {"url": self.socket_mode.issue_url()}

    def _m_chat_postMessage(self, args: dict) -> dict:
        ch = self._channel(args)
        self._bot_in(ch)
        self._check_message_content(args, "chat.postMessage")
        thread_ts = args.get("thread_ts") or None
        if thread_ts is not None:
            thread_ts = self._thread_root(ch, str(thread_ts))  # unknown thread: posted top-level, as Slack does
        m = Message(
            channel=ch,
            ts=self._new_ts(),
            text=args.get("text") or "",
            blocks=copy.deepcopy(args.get("blocks")) or [],
            metadata=copy.deepcopy(args.get("metadata")),
            thread_ts=thread_ts,
            user=self.bot_user_id,
            attachments=copy.deepcopy(args.get("attachments")),
            reply_broadcast=bool(thread_ts) and _truthy(args.get("reply_broadcast")),
            bot_id=self.bot_id,
        )
        self._messages.setdefault(ch, {})[m.ts] = m
        return {"channel": ch, "ts": m.ts, "message": self._api_message(m, include_metadata=True)}

    def _find(self, args: dict, ts_key: str = "ts") -> Message:
        ch = self._channel(args)
        m = self._messages.get(ch, {}).get(str(args.get(ts_key)))
        if m is None:
            raise _ApiError("message_not_found")
        return m

    def _m_chat_update(self, args: dict) -> dict:
        m = self._find(args)
        self._check_message_content(args, "chat.update", require=True)
        if "text" in args:
            m.text = args.get("text") or ""
        if "blocks" in args:  # not given: previous blocks are kept, [] removes them
            m.blocks = copy.deepcopy(args["blocks"]) or []
        if "attachments" in args:
            m.attachments = copy.deepcopy(args["attachments"])
        if args.get("metadata") is not None:
            m.metadata = copy.deepcopy(args["metadata"])
        m.updates += 1
        return {"channel": m.channel, "ts": m.ts, "text": m.text,
                "message": self._api_message(m, include_metadata=True)}

    def _m_chat_delete(self, args: dict) -> dict:
        m = self._find(args)
        del self._messages[m.channel][m.ts]
        return {"channel": m.channel, "ts": m.ts}

    def _m_chat_postEphemeral(self, args: dict) -> dict:
        ch = self._channel(args)
        self._bot_in(ch)
        user = args.get("user")
        if not user:
            raise _ApiError("user_not_found")
        if user not in self._channels[ch]:
            raise _ApiError("user_not_in_channel")
        self._check_message_content(args, "chat.postEphemeral")
        ts = self._new_ts()
        self._ephemerals.append({
            "text": args.get("text") or "",
            "blocks": copy.deepcopy(args.get("blocks")) or [],
            "user": user,
            "channel": ch,
            "via": "postEphemeral",
            "replace_original": False,
            "delete_original": False,
            "thread_ts": args.get("thread_ts"),
            "ts": ts,
        })
        return {"message_ts": ts}

    def _m_chat_getPermalink(self, args: dict) -> dict:
        m = self._find(args, "message_ts")
        link = f"{PERMALINK_HOST}/archives/{m.channel}/p{m.ts.replace('.', '')}"
        if m.thread_ts:
            link += f"?thread_ts={m.thread_ts}&cid={m.channel}"
        return {"channel": m.channel, "permalink": link}

    def _window(self, msgs: list[Message], args: dict) -> list[Message]:
        inclusive = _truthy(args.get("inclusive"))
        oldest = args.get("oldest")
        latest = args.get("latest")
        out = []
        for m in msgs:
            t = _dec(m.ts)
            if oldest not in (None, "") and (t < _dec(oldest) or (t == _dec(oldest) and not inclusive)):
                continue
            if latest not in (None, "") and (t > _dec(latest) or (t == _dec(latest) and not inclusive)):
                continue
            out.append(m)
        return out

    def _m_conversations_history(self, args: dict) -> dict:
        ch = self._channel(args)
        self._bot_in(ch)
        with_md = _truthy(args.get("include_all_metadata"))
        limit = _int_arg(args, "limit", 100, "conversations.history")
        msgs = [m for m in self._messages.get(ch, {}).values() if m.thread_ts is None or m.reply_broadcast]
        msgs = sorted(self._window(msgs, args), key=lambda m: _dec(m.ts), reverse=True)
        if args.get("cursor"):
            start = _dec(_uncursor("next_ts", str(args["cursor"])))
            msgs = [m for m in msgs if _dec(m.ts) <= start]
        page, rest = msgs[:limit], msgs[limit:]
        return {
            "messages": [self._api_message(m, include_metadata=with_md) for m in page],
            "has_more": bool(rest),
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": _cursor("next_ts", rest[0].ts) if rest else ""},
        }

    def _m_conversations_replies(self, args: dict) -> dict:
        ch = self._channel(args)
        self._bot_in(ch)
        root = self._thread_root(ch, str(args.get("ts")))
        if root is None:
            raise _ApiError("thread_not_found")
        with_md = _truthy(args.get("include_all_metadata"))
        limit = _int_arg(args, "limit", 1000, "conversations.replies")
        msgs = self._thread_messages(ch, root)
        parent, replies = msgs[0], self._window(msgs[1:], args)
        items = [parent] + replies
        if args.get("cursor"):
            start = _dec(_uncursor("next_ts", str(args["cursor"])))
            items = [m for m in replies if _dec(m.ts) >= start]
        page, rest = items[:limit], items[limit:]
        return {
            "messages": [self._api_message(m, include_metadata=with_md) for m in page],
            "has_more": bool(rest),
            "response_metadata": {"next_cursor": _cursor("next_ts", rest[0].ts) if rest else ""},
        }

    def _m_conversations_members(self, args: dict) -> dict:
        ch = self._channel(args)
        members = list(self._channels[ch])
        limit = _int_arg(args, "limit", 100, "conversations.members")
        start = 0
        if args.get("cursor"):
            after = _uncursor("user", str(args["cursor"]))
            if after not in members:
                raise _ApiError("invalid_cursor")
            start = members.index(after)
        page, rest = members[start:start + limit], members[start + limit:]
        return {"members": page, "response_metadata": {"next_cursor": _cursor("user", rest[0]) if rest else ""}}

    def _m_conversations_list(self, args: dict) -> dict:
        """Every channel (one page: the stand-in has few), as conversations.info shows each."""
        channels = [self._m_conversations_info({"channel": ch})["channel"] for ch in sorted(self._channels)]
        return {"channels": channels, "response_metadata": {"next_cursor": ""}}

    def _m_conversations_open(self, args: dict) -> dict:
        """A 1:1 direct message between the bot and `users` (one user id): opened once, then resumed."""
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users and not args.get("channel"):
            raise _ApiError("users_list_not_supplied")
        if args.get("channel"):
            ch = self._channel(args)
            if not ch.startswith("D"):
                raise _ApiError("method_not_supported_for_channel_type")
            return {"channel": {"id": ch}, "no_op": True, "already_open": True}
        if len(users) != 1:
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] the stand-in opens 1:1 direct messages only"]})
        user = users[0]
        if not re.fullmatch(r"[UW][A-Z0-9_]+", user) or user == self.bot_user_id:
            raise _ApiError("user_not_found")
        ch = self._dms.get(user)
        if ch is not None:
            return {"channel": {"id": ch}, "no_op": True, "already_open": True}
        ch = self._new_id("D")
        self._dms[user] = ch
        self._channels[ch] = [user, self.bot_user_id]
        return {"channel": {"id": ch}}

    def _m_conversations_info(self, args: dict) -> dict:
        ch = self._channel(args)
        im = ch.startswith("D")
        info = {
            "id": ch,
            "name": re.sub(r"^[CG]_?", "", ch).lower() or ch.lower(),
            "is_channel": not ch.startswith(("G", "D")),
            "is_group": False,
            "is_im": im,
            "is_mpim": False,
            "is_private": ch.startswith("G"),
            "is_archived": False,
            "is_general": False,
            "is_member": self.bot_user_id in self._channels[ch],
            "created": 1700000000,
            "creator": "U_ALICE",
            **self._sharing(ch),
        }
        if _truthy(args.get("include_num_members")):
            info["num_members"] = len(self._channels[ch])
        return {"channel": info}

    def _sharing(self, ch: str) -> dict:
        """The conversation object's sharing booleans (docs.slack.dev, the conversation type): a
        Slack Connect channel has is_ext_shared and is_shared; one shared within an Enterprise
        Grid organisation has is_org_shared and is_shared; an invitation out is pending."""
        how = self._shared.get(ch)
        other_team = "T0OTHERORG"
        return {
            "is_shared": how in ("external", "org"),
            "is_ext_shared": how == "external",
            "is_org_shared": how == "org",
            "is_pending_ext_shared": how == "pending-external",
            "pending_shared": [other_team] if how == "pending-external" else [],
            "shared_team_ids": [self.team_id] + ({"external": [other_team], "org": ["T0SAMEORG"]}.get(how or "", [])),
        }

    def _m_users_list(self, args: dict) -> dict:
        """Everyone the stand-in knows (added people and channel members, the bot too), as
        users.info shows each; one page (the stand-in has few)."""
        known = set(self._users) | {u for members in self._channels.values() for u in members}
        return {"members": [self._m_users_info({"user": u})["user"] for u in sorted(known)],
                "response_metadata": {"next_cursor": ""}}

    def _m_users_info(self, args: dict) -> dict:
        uid = str(args.get("user") or "")
        if not re.fullmatch(r"[UW][A-Z0-9_]+", uid):
            raise _ApiError("user_not_found")
        extra = self._users.get(uid, {})
        real = extra.get("real_name") or ("gigdesk" if uid == self.bot_user_id else _real_name(uid))
        tz = extra.get("tz", "America/New_York")
        profile = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": real.split(" ")[0].lower(),
            "display_name_normalized": real.split(" ")[0].lower(),
            "image_48": f"{PERMALINK_HOST}/avatars/{uid}_48.png",
            "team": self.team_id,
        }
        if extra.get("email"):
            profile["email"] = extra["email"]
        user = {
            "id": uid,
            "team_id": self.team_id,
            "name": real.split(" ")[0].lower(),
            "real_name": real,
            "deleted": False,
            "is_bot": uid == self.bot_user_id,
            "is_admin": False,
            "is_owner": False,
            "is_app_user": False,
            "is_restricted": extra.get("guest") is not None,
            "is_ultra_restricted": extra.get("guest") == "single",
            "tz": tz,
            "tz_label": "Eastern Standard Time" if tz == "America/New_York" else tz,
            "tz_offset": -18000 if tz == "America/New_York" else 0,
            "profile": profile,
            "updated": 1700000000,
        }
        return {"user": user}
