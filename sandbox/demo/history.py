"""A fortnight of history for the demo, so `/rw spend`, `/rw audit` and the digest's weekly picture
show something on the first run.

Honest on both sides, as production would have it: each past approval is an Approved submission in
the RapidWorkers simulator whose pay was charged to the balance at that time (its ledger,
`Sandbox.charges`), and the same decision in gigdesk's records (storage/history.py writes the rows
gigdesk writes when a reviewer decides); likewise each past prefilled job. The reports then read
gigdesk's records with no demo-only code, and their totals equal what the simulator charged.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from bot.rapidworkers.client import PREFILLED_UNIT_PRICE, Submission
from sandbox.rapidworkers import Sandbox
from storage import history

HISTORY_DAYS = 14  # last week is whole whatever today's weekday
CAMPAIGNS = (  # (title, pay, category)
    ("Spring sale: Trustpilot reviews", "1.20", "Reviews"),
    ("App store ratings", "0.60", "Apps"),
    ("Newsletter sign-ups", "0.25", "Sign up"),
    ("Follow us on TikTok", "0.10", "Social"),
    ("Product survey (5 min)", "0.80", "Surveys"),
)
JOB_KINDS = ("instagram-likes", "youtube-likes", "twitter-retweets", "facebook-shares")
REJECT_REASONS = ("The screenshot shows a different account", "No proof attached", "Blurry screenshot")
WORKERS = ("maya_r", "kofi.b", "sven_l", "priya.n", "diego_m", "hana.k", "omar_f", "zoe.t")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _data(sid: int, cid: str, title: str, pay: Decimal, worker_id: str, worker: str, status: str, at: datetime) -> dict:
    """The submission as gigdesk keeps it (Submission.to_dict() plus the campaign's pay)."""
    blank = {f.name: None for f in dataclasses.fields(Submission)}
    return {**blank, "id": sid, "campaign_id": cid, "campaign_title": title, "worker_id": worker_id, "worker_name": worker,
            "status": status, "country": "Kenya", "submitted_at": _iso(at - timedelta(minutes=40)),
            "proof_text": "Done, screenshot attached.", "images": [], "pay": str(pay)}


def seed(rw: Sandbox, db, tz, reviewers: tuple[str, ...], *, today: datetime | None = None, seed: int = 26) -> dict:
    """Record HISTORY_DAYS days of decisions, flags and jobs before today (in `tz`); returns counts."""
    rng = random.Random(seed)
    now = (today or datetime.now(tz)).astimezone(tz)
    created = now - timedelta(days=HISTORY_DAYS + 10)
    campaigns = [(rw.add_campaign(title, pay=pay, total=1000, category=category, created_at=created), title, Decimal(pay))
                 for title, pay, category in CAMPAIGNS]
    workers = [(rw.add_worker(name, country="Kenya", account_age_days=200), name) for name in WORKERS]
    counts = {"approved": 0, "rejected": 0, "flagged": 0, "jobs": 0}
    for back in range(HISTORY_DAYS, 0, -1):
        day = (now - timedelta(days=back)).date()
        busy = 0.4 if day.weekday() >= 5 else 1.0  # quieter weekends
        for _ in range(round(rng.randint(4, 12) * busy)):
            at = datetime.combine(day, time(rng.randint(8, 18), rng.randint(0, 59)), tzinfo=tz)
            cid, title, pay = rng.choice(campaigns)
            worker_id, worker = rng.choice(workers)
            approve = rng.random() < 0.8
            status = "Approved" if approve else "Rejected"
            sid = rw.add_submission(cid, worker_id=worker_id, status=status, submitted_at=at - timedelta(minutes=40))
            with rw._lock:
                rw._subs[sid]["decided_at"] = at.astimezone(UTC)
                if approve:
                    rw._charge(pay, f"approved submission {sid}", cid, at=at.astimezone(UTC))
                else:
                    rw._subs[sid]["notes"] = rng.choice(REJECT_REASONS)
            history.record_past_decision(
                db, submission_id=sid, campaign_id=cid, worker_id=worker_id,
                data=_data(sid, cid, title, pay, worker_id, worker, status, at), outcome=status.lower(),
                decided_by=rng.choice(reviewers), at=_iso(at), amount_paid=str(pay) if approve else None,
                notes=None if approve else rw.submission(sid)["notes"])
            counts["approved" if approve else "rejected"] += 1
            if rng.random() < 0.15:
                history.record_past_flag(db, submission_id=sid, worker_id=worker_id, at=_iso(at - timedelta(minutes=30)),
                                         flags=[{"kind": "burst", "text": "burst of submissions"}])
                counts["flagged"] += 1
        if back % 3 == 0:
            kind = rng.choice(JOB_KINDS)
            quantity = rng.choice((50, 100, 200, 400))
            cost = (PREFILLED_UNIT_PRICE * quantity).quantize(Decimal("0.01"))
            at = datetime.combine(day, time(rng.randint(9, 17), rng.randint(0, 59)), tzinfo=tz)
            link = f"https://www.example.com/demo/{back}"
            with rw._lock:
                job = rw.add_campaign(f"{kind}: {link}", pay=PREFILLED_UNIT_PRICE, total=quantity, status="Completed",
                                      approve_once_full=True, created_at=at.astimezone(UTC))
                rw._campaigns[job].update(kind=kind, link=link)
                rw._charge(cost, f"{kind} job", job, at=at.astimezone(UTC))
            history.record_past_job(db, job_id=job, kind=kind, title=f"{kind} {link}", cost=str(cost),
                                    created_by=reviewers[0], at=_iso(at),
                                    what=f"a new *{kind}* job ({quantity:,} on {link})")
            counts["jobs"] += 1
    return counts
