"""Block Kit as Slack checks it: only the limits Slack is known to enforce."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sandbox.slack_workspace.arguments import _limit

# A directory: every blocks payload the stand-in receives is recorded there, one file per shape
# (its set of block and element types), for the test that the demo page renders every type.
RECORD_ENV = "GIGDESK_BLOCK_KIT_RECORD"


def block_kit_types(blocks: Any) -> Iterator[str]:
    """The types in a blocks payload: "block:<type>", "element:<type>" (interactive elements and
    images, wherever they sit) and "context:<type>" (a context block's text and images)."""
    for b in blocks if isinstance(blocks, list) else []:
        if not isinstance(b, dict):
            continue
        yield f"block:{b.get('type')}"
        elements = list(b.get("elements") or []) if b.get("type") == "actions" else []
        elements += [b[key] for key in ("accessory", "element") if isinstance(b.get(key), dict)]
        for el in elements:
            if isinstance(el, dict):
                yield f"element:{el.get('type')}"
        if b.get("type") == "context":
            for el in b.get("elements") or []:
                if isinstance(el, dict):
                    yield f"context:{el.get('type')}"


def record_block_kit(blocks: Any, where: str) -> None:
    """Keep this payload if GIGDESK_BLOCK_KIT_RECORD names a directory and its shape is new there."""
    folder = os.environ.get(RECORD_ENV)
    if not folder or not isinstance(blocks, list):
        return
    shape = sorted(set(block_kit_types(blocks)))
    target = Path(folder) / (hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:20] + ".json")
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written whole, then renamed: test processes running side by side never read half a file.
    with tempfile.NamedTemporaryFile("w", dir=target.parent, suffix=".tmp", delete=False, encoding="utf-8") as f:
        json.dump({"where": where, "types": shape, "blocks": blocks}, f, default=str)
    os.replace(f.name, target)


def _check_text_obj(obj: Any, where: str, *, max_len: int, plain_only: bool, required: bool, errs: list) -> None:
    if obj is None:
        if required:
            errs.append(f"missing required field: text [json-pointer:{where}]")
        return
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn") or not isinstance(obj.get("text"), str):
        errs.append(f"must provide a text object [json-pointer:{where}]")
        return
    if plain_only and obj["type"] != "plain_text":
        errs.append(f"must be a plain_text text object [json-pointer:{where}/type]")
    n = len(obj["text"])
    if n < 1:
        errs.append(f"must be more than 0 characters [json-pointer:{where}/text]")
    if n > max_len:
        errs.append(f"must be less than {max_len + 1} characters [json-pointer:{where}/text]")


def _check_button(el: dict, where: str, errs: list) -> None:
    _check_text_obj(el.get("text"), f"{where}/text", max_len=75, plain_only=True, required=True, errs=errs)
    if "value" in el and (not isinstance(el["value"], str) or len(el["value"]) > 2000):
        errs.append(f"must be less than 2001 characters [json-pointer:{where}/value]")
    if "url" in el and (not isinstance(el["url"], str) or len(el["url"]) > 3000):
        errs.append(f"must be less than 3001 characters [json-pointer:{where}/url]")
    if el.get("style") not in (None, "primary", "danger"):
        errs.append(f"must be one of primary, danger [json-pointer:{where}/style]")


def _check_option(opt: Any, where: str, errs: list) -> None:
    if not isinstance(opt, dict):
        errs.append(f"must be an object [json-pointer:{where}]")
        return
    _check_text_obj(opt.get("text"), f"{where}/text", max_len=75, plain_only=True, required=True, errs=errs)
    if not isinstance(opt.get("value"), str) or len(opt["value"]) > 150:
        errs.append(f"must be less than 151 characters [json-pointer:{where}/value]")


def _check_overflow(el: dict, where: str, errs: list) -> None:
    options = el.get("options")
    if not isinstance(options, list) or not 1 <= len(options) <= 5:
        errs.append(f"must provide 1..5 options [json-pointer:{where}/options]")
        return
    for j, opt in enumerate(options):
        _check_option(opt, f"{where}/options/{j}", errs)


def _check_external_select(el: dict, where: str, errs: list) -> None:
    mql = el.get("min_query_length")
    if mql is not None and (isinstance(mql, bool) or not isinstance(mql, int) or mql < 0):
        errs.append(f"must be a non-negative integer [json-pointer:{where}/min_query_length]")
    if el.get("placeholder") is not None:
        _check_text_obj(el["placeholder"], f"{where}/placeholder", max_len=150, plain_only=True, required=True, errs=errs)


# Rules of one element type beyond those every element has (action_id, confirm).
ELEMENT_RULES: dict[str, Callable[[dict, str, list], None]] = {
    "button": _check_button,
    "overflow": _check_overflow,
    "external_select": _check_external_select,
}


def _check_element(el: Any, where: str, errs: list) -> None:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        errs.append(f"missing required field: type [json-pointer:{where}]")
        return
    aid = el.get("action_id")
    if aid is not None and (not isinstance(aid, str) or len(aid) > 255):
        errs.append(f"must be less than 256 characters [json-pointer:{where}/action_id]")
    rule = ELEMENT_RULES.get(el["type"])
    if rule is not None:
        rule(el, where, errs)
    confirm = el.get("confirm")
    if confirm is not None:
        if not isinstance(confirm, dict):
            errs.append(f"must be an object [json-pointer:{where}/confirm]")
        else:
            for key, limit in (("title", 100), ("text", 300), ("confirm", 30), ("deny", 30)):
                _check_text_obj(confirm.get(key), f"{where}/confirm/{key}", max_len=limit,
                                plain_only=key != "text", required=True, errs=errs)


def _check_section(b: dict, where: str, errs: list) -> None:
    text, fields = b.get("text"), b.get("fields")
    if text is None and not fields:
        errs.append(f"must provide either text or fields [json-pointer:{where}]")
    if text is not None:
        _check_text_obj(text, f"{where}/text", max_len=3000, plain_only=False, required=True, errs=errs)
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > 10:
            errs.append(f"no more than 10 items allowed [json-pointer:{where}/fields]")
        else:
            for j, f in enumerate(fields):
                _check_text_obj(f, f"{where}/fields/{j}", max_len=2000, plain_only=False, required=True, errs=errs)
    if b.get("accessory") is not None:
        _check_element(b["accessory"], f"{where}/accessory", errs)


def _check_header(b: dict, where: str, errs: list) -> None:
    _check_text_obj(b.get("text"), f"{where}/text", max_len=150, plain_only=True, required=True, errs=errs)


def _check_image(b: dict, where: str, errs: list) -> None:
    if not b.get("image_url") and not b.get("slack_file"):
        errs.append(f"must provide image_url or slack_file [json-pointer:{where}]")
    if isinstance(b.get("image_url"), str) and len(b["image_url"]) > 3000:
        errs.append(f"must be less than 3001 characters [json-pointer:{where}/image_url]")
    alt = b.get("alt_text")
    if not isinstance(alt, str) or not alt:
        errs.append(f"missing required field: alt_text [json-pointer:{where}]")
    elif len(alt) > 2000:
        errs.append(f"must be less than 2001 characters [json-pointer:{where}/alt_text]")
    if b.get("title") is not None:
        _check_text_obj(b["title"], f"{where}/title", max_len=2000, plain_only=True, required=True, errs=errs)


def _check_actions(b: dict, where: str, errs: list) -> None:
    els = b.get("elements")
    if not isinstance(els, list) or not els or len(els) > 25:
        errs.append(f"must provide 1..25 elements [json-pointer:{where}/elements]")
    else:
        for j, el in enumerate(els):
            _check_element(el, f"{where}/elements/{j}", errs)


def _check_context(b: dict, where: str, errs: list) -> None:
    els = b.get("elements")
    if not isinstance(els, list) or not els or len(els) > 10:
        errs.append(f"must provide 1..10 elements [json-pointer:{where}/elements]")


def _check_input(b: dict, where: str, errs: list) -> None:
    _check_text_obj(b.get("label"), f"{where}/label", max_len=2000, plain_only=True, required=True, errs=errs)
    if not isinstance(b.get("element"), dict):
        errs.append(f"missing required field: element [json-pointer:{where}]")
    else:
        _check_element(b["element"], f"{where}/element", errs)


# The rules of each block type, one function each; other types (divider, rich_text, …)
# get only the checks every block has (type, block_id).
BLOCK_RULES: dict[str, Callable[[dict, str, list], None]] = {
    "section": _check_section,
    "header": _check_header,
    "image": _check_image,
    "actions": _check_actions,
    "context": _check_context,
    "input": _check_input,
}


def _check_block_id(b: dict, where: str, seen: set[str], errs: list) -> None:
    bid = b.get("block_id")
    if bid is None:
        return
    if not isinstance(bid, str) or not bid or len(bid) > 255:
        errs.append(f"must be 1..255 characters [json-pointer:{where}/block_id]")
    elif bid in seen:
        errs.append(f"duplicate block_id {bid!r} [json-pointer:{where}/block_id]")
    else:
        seen.add(bid)


def _check_blocks(blocks: Any, max_blocks: int) -> list[str]:
    record_block_kit(blocks, "blocks")
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errs: list[str] = []
    if len(blocks) > max_blocks:
        errs.append(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
    seen: set[str] = set()
    for i, b in enumerate(blocks):
        where = f"/blocks/{i}"
        if not isinstance(b, dict) or not isinstance(b.get("type"), str):
            errs.append(f"missing required field: type [json-pointer:{where}]")
            continue
        _check_block_id(b, where, seen, errs)
        rule = BLOCK_RULES.get(b["type"])
        if rule is not None:
            rule(b, where, errs)
    return errs


def _check_view(view: Any) -> list[str]:
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    errs: list[str] = []
    vtype = view.get("type")
    if vtype not in ("modal", "home"):
        errs.append("must be one of modal, home [json-pointer:/view/type]")
    if vtype == "modal":
        _check_text_obj(view.get("title"), "/view/title", max_len=24, plain_only=True, required=True, errs=errs)
    for key in ("submit", "close"):
        if view.get(key) is not None:
            _check_text_obj(view[key], f"/view/{key}", max_len=24, plain_only=True, required=True, errs=errs)
    blocks = view.get("blocks")
    if blocks is None:
        errs.append("missing required field: blocks [json-pointer:/view]")
    else:
        errs += [e.replace("[json-pointer:/blocks", "[json-pointer:/view/blocks")
                 for e in _check_blocks(blocks, _limit("views.open", "blocks"))]
        if vtype == "modal" and isinstance(blocks, list) and view.get("submit") is None and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        ):
            errs.append("submit is required when an input block is present [json-pointer:/view/submit]")
    pm = view.get("private_metadata")
    if pm is not None and (not isinstance(pm, str) or len(pm) > _limit("views.open", "private_metadata")):
        errs.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
    cb = view.get("callback_id")
    if cb is not None and (not isinstance(cb, str) or len(cb) > _limit("views.open", "callback_id")):
        errs.append("must be less than 256 characters [json-pointer:/view/callback_id]")
    ext = view.get("external_id")
    if ext is not None and (not isinstance(ext, str) or len(ext) > _limit("views.open", "external_id")):
        errs.append("must be less than 256 characters [json-pointer:/view/external_id]")
    return errs
