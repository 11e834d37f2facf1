"""Proof-forensics flags as card lines (mrkdwn; every worker-controlled value escaped)."""

from __future__ import annotations

from urllib.parse import urlparse

from bot.mrkdwn import escape, truncate

SIREN = ":rotating_light:"


def _link(url: str | None) -> str:
    if not url or len(url) > 500 or urlparse(url).scheme not in ("http", "https"):
        return ""
    return f" · <{escape(url)}|message>"


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
    return lines
