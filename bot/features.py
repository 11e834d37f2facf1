"""The features, as the composition root (bot.app.build_features) builds them on the Services.

Listeners find this object in `context["features"]` (handlers/middleware.py), next to
`context["services"]`, the infrastructure it is built on. A feature that needs another
is given it as a constructor argument by bot.app, never through Services.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.digest.service import DigestService
from bot.reports.service import ReportService
from bot.review.feature import ReviewService
from bot.rw.command import RwService
from bot.wonolo_desk.desk import WonoloDesk


@dataclass(frozen=True)
class Features:
    review: ReviewService
    rw: RwService  # /rw
    digest: DigestService
    reports: ReportService
    wonolo_desk: WonoloDesk | None = None  # only with Wonolo keys
    incidents: None = None  # bot.incidents (ops): typed and wired at the round-3 merge
