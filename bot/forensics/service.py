"""Check one submission: hash its images, fingerprint its text, find reuse and bursts.

A check has two steps: `hash_images` (downloads and hashing: slow, run by
many checks at once, each download under bot.forensics.fetch's deadline)
and `record` (compares with everything recorded before and writes the
result in one transaction, one check at a time). `check` does both. A
submission is recorded once; later calls read back what was stored. A bad
image never raises (it becomes an "unchecked" flag), and no step costs a
RapidWorkers request: only the proof images the submission names are fetched.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.forensics.fetch import FetchFailed, ImageFetcher
from bot.forensics.flags import (
    BURST,
    CHECKING,
    COPIED_TEXT,
    DUPLICATE_OTHER_WORKER,
    DUPLICATE_SAME_WORKER,
    SUSPICIOUS,
    UNCHECKED,
    Evidence,
    Flag,
)
from bot.forensics.hashing import ImageRejected, hash_bytes, to_signed
from bot.forensics.index import HashIndex
from bot.forensics.judgement import Subject, judged
from bot.forensics.text import MAX_SHARERS, MAX_SHARERS_ANYWHERE, is_boilerplate
from bot.forensics.text import fingerprint as text_fingerprint
from bot.observability import metrics
from storage import flag_decisions as decisions
from storage import forensics as store

__all__ = ["BURST", "CHECKING", "COPIED_TEXT", "DUPLICATE_OTHER_WORKER", "DUPLICATE_SAME_WORKER", "SUSPICIOUS",
           "UNCHECKED", "CheckInterrupted", "Evidence", "Flag", "ProofForensics", "Report"]

log = logging.getLogger("gigdesk.forensics")

# Picked on the benchmark corpus (benchmarks/forensics.py): near-duplicates
# (re-encoded, resized 80-120 %, cropped up to 5 %, brightness ±10 %) are
# at pHash <= 12, but distinct screenshots of the same app screen come as
# close as 10; requiring dHash <= 10 as well removed every false pair
# (pHash alone at 10 gave 130 in 500,000). A false match accuses a worker,
# so precision wins over the last percent of recall.
MAX_PHASH_DISTANCE = 10
MAX_DHASH_DISTANCE = 10
MAX_IMAGES_CHECKED = 5
# Downloads of one submission stop after this many seconds (each has its own shorter deadline).
IMAGE_BUDGET_SECONDS = 15.0
MAX_EVIDENCE = 3

@dataclass
class Report:
    flags: list[Flag] = field(default_factory=list)
    images_checked: int = 0

    @property
    def suspicious(self) -> bool:
        return any(f.suspicious for f in self.flags)


def _status(state: str | None) -> str | None:
    if state in ("approved", "rejected"):
        return state
    if state in ("claimed", "posted", "approving", "rejecting"):
        return "pending"
    return None


def _evidence(row: Mapping[str, Any], permalink=None, **extra) -> Evidence:
    link = None
    if permalink is not None and row.get("channel") and row.get("ts"):
        try:
            link = permalink(row["channel"], row["ts"])
        except Exception:  # a link is a convenience; the flag stands without it
            link = None
    return Evidence(
        link=link,
        submission_id=int(row["submission_id"]),
        worker_id=row.get("worker_id"),
        worker_name=row.get("worker_name"),
        status=_status(row.get("state")),
        channel=row.get("channel"),
        ts=row.get("ts"),
        **extra,
    )


def _campaign_words(data: dict) -> str:
    """The campaign's own words a proof may echo (its title and proof requirement)."""
    return " ".join(str(data.get(k) or "") for k in ("campaign_title", "proof_required_description"))


class CheckInterrupted(Exception):
    """The check was stopped (the bot is stopping) before it was recorded: it runs again later."""


def utc_text(value: str | None) -> str | None:
    """An ISO time as sortable UTC text (seconds), or None if unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def busiest_window(times: list[datetime], at: datetime, minutes: int) -> int:
    """Most submissions in any `minutes`-long window that contains `at`."""
    span = timedelta(minutes=minutes)
    best = 0
    for start in times:
        if at - span <= start <= at:
            best = max(best, sum(1 for t in times if start <= t <= start + span))
    return best


class ProofForensics:
    """Proof checks against one database; keeps a hash index in memory, refreshed from it."""

    def __init__(
        self,
        db: Callable[[], store.Database],
        *,
        burst_count: int = 5,
        burst_minutes: int = 10,
        fetcher: ImageFetcher | None = None,
        permalink: Callable[[str, str], str | None] | None = None,
    ):
        self._db = db
        self.burst_count = burst_count
        self.burst_minutes = burst_minutes
        self.fetcher = fetcher or ImageFetcher()
        self._permalink = permalink
        self._index: HashIndex | None = None
        self._lock = threading.Lock()

    # --- the check -------------------------------------------------------------------

    def check(self, submission_id: int, data: dict) -> Report:
        """Flags for a submission (stored once; later calls read them back)."""
        done = store.stored_flags(self._db(), submission_id)
        if done is not None:
            return Report(flags=self.refreshed([Flag.from_dict(f) for f in done]))
        return self.record(submission_id, data, self.hash_images(data))

    def record(self, submission_id: int, data: dict, images: list[dict]) -> Report:
        """Compare hashed images, text and timing with what was recorded before, and record the
        result; one check at a time, so two copies checked together still find each other."""
        db = self._db()
        worker = data.get("worker_id")
        with self._lock:
            done = store.stored_flags(db, submission_id)
            if done is not None:
                return Report(flags=self.refreshed([Flag.from_dict(f) for f in done]))
            report = Report(images_checked=sum(1 for i in images if i.get("phash") is not None))
            report.flags += [Flag(UNCHECKED, image_no=i["image_no"], detail=i["error"]) for i in images if i.get("error")]
            self._duplicates(db, submission_id, worker, images, report)
            fingerprint = text_fingerprint(data.get("proof_text"), _campaign_words(data))
            if fingerprint:
                self._copied_text(db, submission_id, data, fingerprint, report)
            self._burst(db, worker, data.get("submitted_at"), report)
            store.save_check(
                db,
                submission_id,
                worker_id=worker,
                submitted_at=utc_text(data.get("submitted_at")),
                text_fingerprint=fingerprint,
                images=images,
                flags=[f.to_dict() for f in report.flags],
                suspicious=report.suspicious,
            )
        metrics.flagged(report.flags)
        return report

    def _copied_text(self, db, submission_id: int, data: dict, fingerprint: str, report: Report) -> None:
        """Flag distinctive text that few workers share (bot/forensics/text.py); remember its use."""
        worker, campaign = data.get("worker_id"), data.get("campaign_id")
        decisions.record_text_use(db, submission_id, fingerprint, campaign_id=campaign, worker_id=worker)
        in_campaign, anywhere = decisions.text_sharers(db, fingerprint, campaign)
        if is_boilerplate(in_campaign, anywhere):
            if in_campaign == MAX_SHARERS + 1 or anywhere == MAX_SHARERS_ANYWHERE + 1:
                decisions.show_again(db, fingerprint)  # just became a stock phrase: its earlier flags are withdrawn
            return
        others = store.same_text(db, fingerprint, other_than_worker=worker, limit=MAX_EVIDENCE)
        if others:
            report.flags.append(Flag(COPIED_TEXT, evidence=tuple(_evidence(r, self._permalink) for r in others)))

    @staticmethod
    def image_urls(data: dict) -> list[tuple[int, str | None]]:
        """(image number, address) of the images a check looks at."""
        found = []
        for n, image in enumerate((data.get("images") or [])[:MAX_IMAGES_CHECKED], 1):
            url = (image or {}).get("url") or (image or {}).get("thumbnail_url")
            found.append((n, url if isinstance(url, str) else None))
        return found

    def hash_images(self, data: dict, stopping: Callable[[], bool] = lambda: False) -> list[dict]:
        """Download and hash the submission's images: {image_no, url, phash, dhash} or {…, error}.
        Raises CheckInterrupted when `stopping()` turns true between two images."""
        images = []
        deadline = time.monotonic() + IMAGE_BUDGET_SECONDS
        for n, url in self.image_urls(data):
            if stopping():
                raise CheckInterrupted
            record: dict[str, Any] = {"image_no": n, "url": url}
            try:
                if time.monotonic() > deadline:
                    raise FetchFailed("skipped: the earlier images took too long")
                if url is None:
                    raise FetchFailed("no image address")
                hashes = hash_bytes(self.fetcher.fetch(url).data)
                record.update(phash=to_signed(hashes.phash), dhash=to_signed(hashes.dhash))
            except (FetchFailed, ImageRejected) as e:
                record["error"] = str(e)
            except Exception as e:  # never let one image stop the check
                log.warning("image %s of a submission could not be checked: %s", n, type(e).__name__)
                record["error"] = "could not be checked"
            images.append(record)
        return images

    def _duplicates(self, db, submission_id: int, worker: str | None, images: list[dict], report: Report) -> None:
        hashed = [i for i in images if i.get("phash") is not None]
        if not hashed:
            return
        index = self._fresh_index(db)
        for image in hashed:
            matches = index.near(image["phash"], image["dhash"], max_phash=MAX_PHASH_DISTANCE, max_dhash=MAX_DHASH_DISTANCE)
            owners = store.image_owners(db, [m.key for m in matches[:50]])
            same: list[Evidence] = []
            other: list[Evidence] = []
            seen: set[int] = set()
            for m in matches[:50]:
                owner = owners.get(m.key)
                if owner is None or owner["submission_id"] == submission_id or owner["submission_id"] in seen:
                    continue
                seen.add(owner["submission_id"])
                found = _evidence(owner, self._permalink, image_no=owner["image_no"], distance=m.phash_distance)
                (same if worker is not None and owner.get("worker_id") == worker else other).append(found)
            if other:
                report.flags.append(Flag(DUPLICATE_OTHER_WORKER, image_no=image["image_no"], evidence=tuple(other[:MAX_EVIDENCE])))
            if same:
                report.flags.append(Flag(DUPLICATE_SAME_WORKER, image_no=image["image_no"], evidence=tuple(same[:MAX_EVIDENCE])))

    def _fresh_index(self, db) -> HashIndex:
        if self._index is None:
            self._index = HashIndex()
        self._index.extend(store.hashes_since(db, self._index.last_key))
        return self._index

    def _burst(self, db, worker: str | None, submitted_at: str | None, report: Report) -> None:
        at_text = utc_text(submitted_at)
        if worker is None or at_text is None:
            return
        at = datetime.fromisoformat(at_text)
        span = timedelta(minutes=self.burst_minutes)
        stored = store.worker_times(db, worker, (at - span).isoformat(timespec="seconds"), (at + span).isoformat(timespec="seconds"))
        times = sorted([datetime.fromisoformat(t) for t in stored] + [at])
        count = busiest_window(times, at, self.burst_minutes)
        if count > self.burst_count:
            report.flags.append(Flag(BURST, detail=f"{count} submissions within {self.burst_minutes} min"))

    # --- reading back ----------------------------------------------------------------

    def refreshed(self, flags: list[Flag]) -> list[Flag]:
        """Flags with each piece of evidence's status and message as they are now."""
        ids = sorted({e.submission_id for f in flags for e in f.evidence})
        now = store.submission_states(self._db(), ids) if ids else {}
        out = []
        for f in flags:
            evidence = []
            for e in f.evidence:
                row = now.get(e.submission_id)
                if row is not None:
                    e = Evidence(**{**asdict(e), "status": _status(row.get("state")), "channel": row.get("channel"), "ts": row.get("ts")})
                evidence.append(e)
            out.append(Flag(f.kind, f.image_no, f.detail, tuple(evidence)))
        return out

    def suspicious_ids(self, submission_ids: list[int]) -> set[int]:
        """Submissions to leave out of approve-all: those whose card shows a duplicate, copied-text
        or burst flag (judged as the card is: dismissed, trusted and stock-phrase flags do not count).
        A read that fails raises: approve-all must not pay what it could not judge."""
        db = self._db()
        flagged = store.suspicious_ids(db, list(submission_ids))
        return {sid for sid in flagged if any(f.suspicious for f in self._judged_flags(db, sid) or [])}

    def flags_for(self, submission_id: int) -> list[Flag]:
        """The stored flags of a submission, evidence refreshed and judged (bot/forensics/judgement.py);
        a CHECKING flag while its check has not finished."""
        try:
            flags = self._judged_flags(self._db(), submission_id)
        except Exception as e:  # the card must render even if this read fails
            log.warning("could not read proof flags: %s", type(e).__name__)
            return []
        return [Flag(CHECKING)] if flags is None else flags

    def _judged_flags(self, db, submission_id: int) -> list[Flag] | None:
        """The flags a card shows now; None while the check has not finished."""
        done = store.stored_flags(db, submission_id)
        if done is None:
            return None
        return judged(db, Subject.load(db, submission_id), self.refreshed([Flag.from_dict(f) for f in done]))

    def unfinished_ids(self, submission_ids: list[int]) -> set[int]:
        """Submissions gigdesk has taken up whose check has not finished (approve-all leaves them out)."""
        return store.unfinished_ids(self._db(), list(submission_ids))
