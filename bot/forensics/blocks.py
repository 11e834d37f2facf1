"""Proof-forensics flags as card lines (mrkdwn; every worker-controlled value escaped)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from bot.slack.mrkdwn import escape, link, truncate

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
    return lines


FLAG_NAMES = {
    "duplicate_other_worker": "screenshot shared with another worker",
    "duplicate_same_worker": "screenshot reused",
    "copied_text": "copied proof text",
    "burst": "burst",
}
RECENT = 10


def worker_message(worker_id: str, history: Sequence[Mapping[str, Any]], block: dict | None) -> tuple[str, list[dict]]:
    """`/rw worker <id>`: the worker's submissions across our campaigns, their flags, block state."""
    from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

    from bot.slack.mrkdwn import mention, when

    wid = truncate(escape(worker_id), 60)
    if not history and not block:
        text = f"gigdesk has seen no submission of worker `{wid}` in your campaigns."
        return text, [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]
    name = next((h["worker_name"] for h in history if h.get("worker_name")), None) or (block or {}).get("worker_name")
    states = {"pending": 0, "approved": 0, "rejected": 0}
    kinds: dict[str, int] = {}
    for h in history:
        states["approved" if h["state"] == "approved" else "rejected" if h["state"] == "rejected" else "pending"] += 1
        for kind in sorted({f["kind"] for f in h["flags"] if f["kind"] in FLAG_NAMES}):
            kinds[kind] = kinds.get(kind, 0) + 1
    campaigns = len({h["campaign_id"] for h in history})
    flagged = sum(1 for h in history if h.get("suspicious"))
    lines = [
        f"*Worker {truncate(escape(name or 'unknown name'), 100)}* (`{wid}`)",
        f"{len(history)} submissions in {campaigns} campaigns: :hourglass: {states['pending']} pending ·"
        f" :white_check_mark: {states['approved']} approved · :x: {states['rejected']} rejected",
        f":rotating_light: {flagged} flagged"
        + (" (" + ", ".join(f"{FLAG_NAMES[k]}: {n}" for k, n in sorted(kinds.items())) + ")" if kinds else ""),
        f":no_entry: Blocked by {mention(block.get('blocked_by'))} · {when(block.get('blocked_at'))}" if block else "Not blocked.",
    ]
    recent = []
    for h in history[:RECENT]:
        marks = ", ".join(FLAG_NAMES[k] for k in sorted({f["kind"] for f in h["flags"] if f["kind"] in FLAG_NAMES}))
        title = truncate(escape(h.get("campaign_title") or h["campaign_id"]), 80)
        recent.append(f"`{h['submission_id']}` {title} · {escape(h['state'])}" + (f" · :rotating_light: {marks}" if marks else ""))
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), 3000)))]
    if recent:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate("*Latest*\n" + "\n".join(recent), 3000))))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text="Submissions gigdesk has posted for review; decisions made on the website before a sync saw them are not included.")]))
    text = f"Worker {worker_id}: {len(history)} submissions, {flagged} flagged" + (", blocked" if block else "")
    return truncate(text, 3000), [b.to_dict() for b in blocks]
