"""Proof-forensics flags as card lines (mrkdwn; every worker-controlled value escaped)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from bot.forensics.flags import SOFT, TRUSTED, Flag, flag_value
from bot.slack import ids
from bot.slack.mrkdwn import escape, link, mention, truncate, when

SIREN = ":rotating_light:"
CHECKING_MARK = ":hourglass_flowing_sand:"


def _link(url: str | None) -> str:
    """A link to the other submission's Slack message (mrkdwn.link: no disguised link), if any."""
    if not url or len(url) > 500 or urlparse(url).scheme not in ("http", "https"):
        return ""
    return " · " + link(url, "message")


def _other(e, *, same_worker: bool) -> str:
    whose = "their" if same_worker else ""
    text = f"{whose} submission `{e.submission_id}`".strip()
    if not same_worker:
        name = truncate(escape(e.worker_name or "unknown worker"), 80)
        text += f" by {name} (`{truncate(escape(e.worker_id or '?'), 40)}`)"
    if e.status:
        text += f", {e.status}"
    return text + _link(e.link)


def flag_lines(flags) -> list[str]:
    """One short line per flag, naming its evidence."""
    lines = []
    for f in flags:
        evidence = list(f.evidence)
        if f.kind in ("duplicate_other_worker", "duplicate_same_worker"):
            same = f.kind == "duplicate_same_worker"
            who = "same worker" if same else "another worker"
            matches = "; ".join(f"image {e.image_no} of {_other(e, same_worker=same)}" for e in evidence)
            lines.append(f"{SIREN} *duplicate screenshot* ({who}): image {f.image_no} matches {matches}")
        elif f.kind == "copied_text":
            lines.append(f"{SIREN} *copied proof text*: same as " + "; ".join(_other(e, same_worker=False) for e in evidence))
        elif f.kind == "burst":
            lines.append(f"{SIREN} *burst*: {escape(f.detail)}")
        elif f.kind == "unchecked":
            lines.append(f":grey_question: image {f.image_no} could not be checked ({truncate(escape(f.detail), 80)})")
        elif f.kind == "checking":
            lines.append(f"{CHECKING_MARK} proof being checked (duplicates, copied text, bursts); this card updates when done")
        elif f.kind == "dismissed":
            lines.append(f"{DISMISSED_MARK} ~{FLAG_NAMES.get(f.detail, escape(f.detail))}~: not a problem ({mention(f.by)})")
        elif f.kind == TRUSTED:
            lines.append(f"{TRUSTED_MARK} trusted worker ({mention(f.by)}): copied-text and burst flags are not shown")
    return lines


DISMISSED_MARK = ":heavy_check_mark:"
TRUSTED_MARK = ":handshake:"
BUTTON_NAMES = {
    "duplicate_other_worker": "shared screenshot",
    "duplicate_same_worker": "reused screenshot",
    "copied_text": "copied text",
    "burst": "burst",
}
MAX_DISMISS_BUTTONS = 4


def flag_actions(submission_id: int, flags: list[Flag] | tuple[Flag, ...]) -> list[Block]:
    """The card's buttons for its flags: "Not a problem" on each suspicious flag, and Trust worker
    (when a soft flag shows) or Untrust worker (when the worker is trusted). None without flags."""
    buttons = []
    for n, f in enumerate([f for f in flags if f.suspicious][:MAX_DISMISS_BUTTONS], 1):
        name = BUTTON_NAMES.get(f.kind, f.kind) + (f" (image {f.image_no})" if f.image_no else "")
        buttons.append(ButtonElement(text=truncate(f"Not a problem: {name}", 75), action_id=f"{ids.FLAG_DISMISS}-{n}",
                                     value=flag_value(submission_id, f)))
    if any(f.kind == TRUSTED for f in flags):
        buttons.append(ButtonElement(text="Untrust worker", action_id=ids.FLAG_UNTRUST_WORKER, value=str(submission_id)))
    elif any(f.kind in SOFT for f in flags):
        buttons.append(ButtonElement(text="Trust worker", action_id=ids.FLAG_TRUST_WORKER, value=str(submission_id)))
    return [ActionsBlock(block_id=f"flags-{submission_id}", elements=buttons)] if buttons else []


FLAG_NAMES = {
    "duplicate_other_worker": "screenshot shared with another worker",
    "duplicate_same_worker": "screenshot reused",
    "copied_text": "copied proof text",
    "burst": "burst",
}
RECENT = 10


def _kinds(flags: list[dict]) -> list[str]:
    return sorted({f["kind"] for f in flags if f["kind"] in FLAG_NAMES})


def _summary(worker_id: str, history: Sequence[Mapping[str, Any]], block: dict | None) -> tuple[str, int]:
    """The worker's headline lines and how many of their submissions are flagged."""
    name = next((h["worker_name"] for h in history if h.get("worker_name")), None) or (block or {}).get("worker_name")
    states = {"pending": 0, "approved": 0, "rejected": 0}
    kinds: dict[str, int] = {}
    for h in history:
        states[h["state"] if h["state"] in ("approved", "rejected") else "pending"] += 1
        for kind in _kinds(h["flags"]):
            kinds[kind] = kinds.get(kind, 0) + 1
    campaigns = len({h["campaign_id"] for h in history})
    flagged = sum(1 for h in history if h.get("suspicious"))
    by_kind = " (" + ", ".join(f"{FLAG_NAMES[k]}: {n}" for k, n in sorted(kinds.items())) + ")" if kinds else ""
    lines = [
        f"*Worker {truncate(escape(name or 'unknown name'), 100)}* (`{truncate(escape(worker_id), 60)}`)",
        f"{len(history)} submissions in {campaigns} campaigns: :hourglass: {states['pending']} pending ·"
        f" :white_check_mark: {states['approved']} approved · :x: {states['rejected']} rejected",
        f":rotating_light: {flagged} flagged{by_kind}",
        f":no_entry: Blocked by {mention(block.get('blocked_by'))} · {when(block.get('blocked_at'))}" if block else "Not blocked.",
    ]
    return "\n".join(lines), flagged


def _recent_line(h: Mapping[str, Any]) -> str:
    marks = ", ".join(FLAG_NAMES[k] for k in _kinds(h["flags"]))
    title = truncate(escape(h.get("campaign_title") or h["campaign_id"]), 80)
    return f"`{h['submission_id']}` {title} · {escape(h['state'])}" + (f" · :rotating_light: {marks}" if marks else "")


def worker_message(worker_id: str, history: Sequence[Mapping[str, Any]], block: dict | None) -> tuple[str, list[dict]]:
    """`/rw worker <id>`: the worker's submissions across our campaigns, their flags, block state."""
    if not history and not block:
        text = f"gigdesk has seen no submission of worker `{truncate(escape(worker_id), 60)}` in your campaigns."
        return text, [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]
    summary, flagged = _summary(worker_id, history, block)
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=truncate(summary, 3000)))]
    recent = [_recent_line(h) for h in history[:RECENT]]
    if recent:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate("*Latest*\n" + "\n".join(recent), 3000))))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text="Submissions gigdesk has posted for review; decisions made on the website before a sync saw them are not included.")]))
    text = f"Worker {worker_id}: {len(history)} submissions, {flagged} flagged" + (", blocked" if block else "")
    return truncate(text, 3000), [b.to_dict() for b in blocks]
