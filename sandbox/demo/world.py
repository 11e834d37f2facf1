"""The demo's world: a local Slack workspace, both simulators, and the real bot between them."""

from __future__ import annotations

import logging
import random
import secrets
import tempfile
import threading
from pathlib import Path

from sandbox.rapidworkers import HOSTILE_PROOF, Sandbox
from sandbox.slack_workspace.server import SlackStandin
from sandbox.wonolo import WonoloSandbox

log = logging.getLogger("gigdesk.demo")

DEMO_USER = "U_DEMO"  # the person at the browser
TEAMMATE = "U_SAM"
BOT_USER = "UBOT"
CHANNELS = {"C_REVIEW": "review", "C_DIGEST": "digest", "C_WONOLO": "wonolo"}
PEOPLE = {DEMO_USER: "You (demo)", TEAMMATE: "Sam Rivera", BOT_USER: "gigdesk"}

NEW_SUBMISSION_SECONDS = 8.0
WONOLO_CHANGE_SECONDS = 25.0
MAX_NEW_SUBMISSIONS = 60  # a demo left open all day stays readable

_PROOFS = [
    "Followed the page, screenshot attached.",
    "Done, my username is {name}.",
    "Review posted with 5 stars, see screenshot",
    "Liked and followed. Thanks!",
    "All steps done, confirmation page attached.",
]


class Demo:
    """Everything `gigdesk demo` runs, in this process.

    ``lively``: new RapidWorkers submissions every few seconds and Wonolo job
    changes delivered as signed webhooks (off in tests that want a still world).
    ``socket_mode``: the bot runs as with SLACK_APP_TOKEN, and the page's clicks
    reach it as Socket Mode envelopes instead of signed HTTP requests.
    """

    def __init__(self, *, poll_seconds: int = 5, lively: bool = True, db_dir: str | None = None,
                 new_submission_seconds: float = NEW_SUBMISSION_SECONDS,
                 wonolo_change_seconds: float = WONOLO_CHANGE_SECONDS, socket_mode: bool = False):
        self.poll_seconds = poll_seconds
        self.socket_mode = socket_mode
        self.lively = lively
        self.new_submission_seconds = new_submission_seconds
        self.wonolo_change_seconds = wonolo_change_seconds
        self._tmp = tempfile.TemporaryDirectory(prefix="gigdesk-demo-") if db_dir is None else None
        self.db_path = str(Path(db_dir or self._tmp.name) / "gigdesk-demo.db")  # type: ignore[union-attr]
        self.signing_secret = secrets.token_hex(16)  # new every start, as an app's would be
        members = [DEMO_USER, TEAMMATE, BOT_USER]
        self.slack = SlackStandin(token="xoxb-demo-" + secrets.token_hex(8), bot_user_id=BOT_USER,
                                  channels={c: list(members) for c in CHANNELS})
        for user, name in PEOPLE.items():
            self.slack.add_user(user, real_name=name)
        self.rapidworkers = Sandbox()
        self.wonolo = WonoloSandbox()
        self.settings = None
        self.services = None
        self.bot_url = ""
        self._serving = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._rng = random.Random(11)
        self.history: dict = {}
        self.direct_message = ""
        self._added = 0
        self.added_ids: list[int] = []  # submissions that arrived after the start

    # ----------------------------------------------------------------- lifecycle

    def env(self) -> dict[str, str]:
        """The bot's settings: every URL points at this machine."""
        return {
            "SLACK_BOT_TOKEN": self.slack.token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_API_URL": self.slack.api_url or "",
            "RAPIDWORKERS_API_KEY": self.rapidworkers.api_key,
            "RAPIDWORKERS_BASE_URL": self.rapidworkers.url,
            "WONOLO_API_KEY": self.wonolo.api_key,
            "WONOLO_SECRET_KEY": self.wonolo.secret_key,
            "WONOLO_BASE_URL": self.wonolo.url,
            "WONOLO_CHANNEL": "C_WONOLO",
            "GIGDESK_REVIEW_CHANNEL": "C_REVIEW",
            "GIGDESK_DIGEST_CHANNEL": "C_DIGEST",
            "GIGDESK_DB": self.db_path,
            "GIGDESK_POLL_SECONDS": str(self.poll_seconds),
            "GIGDESK_POST_INTERVAL_MS": "100",
            "GIGDESK_ALLOWED_USERS": f"{DEMO_USER},{TEAMMATE}",
            # Simulated money: the person at the browser may spend it.
            "GIGDESK_SPENDERS": DEMO_USER,
            "GIGDESK_WORKERS": "16",
            **({"SLACK_APP_TOKEN": self.slack.app_token} if self.socket_mode else {}),
        }

    def start(self) -> Demo:
        from bot.app import Serving, build
        from bot.config import load_settings

        self.slack.start()
        self.rapidworkers.start()
        self.wonolo.start()
        self.settings = load_settings(self.env(), dotenv_path="")  # a `.env` of the user's is not read
        gigdesk = build(self.settings)
        services = gigdesk.services
        if services.store.fresh:  # a fortnight of spend and decisions, on both sides (sandbox/demo/history.py)
            from sandbox.demo.history import seed as seed_history

            self.history = seed_history(self.rapidworkers, services.store.db, self.settings.tz, (DEMO_USER, TEAMMATE))
        self.direct_message = self.slack.open_direct_message(DEMO_USER)  # the app's Messages tab
        # As `gigdesk serve` runs it (HTTP, or Socket Mode to the local workspace), on any free port.
        self._serving = Serving(self.settings, gigdesk, host="127.0.0.1", port=0).start()  # the first review sync runs straight away
        self.services = self._serving.services
        self.bot_url = self._serving.url
        self.wonolo.on_change = self._deliver_webhook
        self._spawn(self._first_digest_and_wonolo, "demo-seed")
        if self.lively:
            self._spawn(self._new_submissions, "demo-submissions")
            self._spawn(self._wonolo_changes, "demo-wonolo")
        return self

    def stop(self) -> None:
        self._stop.set()
        self.wonolo.on_change = None
        for t in self._threads:
            t.join(timeout=5)
        if self._serving is not None:
            self._serving.stop()
        self.slack.stop()
        self.rapidworkers.stop()
        self.wonolo.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=self._guarded(target), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    @staticmethod
    def _guarded(target):
        def run() -> None:
            try:
                target()
            except Exception:
                log.exception("demo: %s failed", getattr(target, "__name__", "task"))

        return run

    # ----------------------------------------------------------------- the lively world

    def _first_digest_and_wonolo(self) -> None:
        """A digest as `gigdesk digest` posts it, and a card for each open Wonolo request."""
        assert self.services is not None
        for jr_id, jr in list(self.wonolo.job_requests.items()):
            if jr["state"] in ("posted", "filled"):
                self._deliver_webhook("job_request", jr_id)
        if self._stop.wait(min(3.0, self.poll_seconds)):
            return
        self._serving.features.digest.post(kind="manual")

    def _deliver_webhook(self, resource_type: str, resource_id: int) -> None:
        """Wonolo's signed delivery of a state change, to the bot's /wonolo/webhook."""
        if self._stop.is_set() or not self.bot_url:
            return
        try:
            self.wonolo.send_webhook(self.bot_url + "/wonolo/webhook", resource_type, resource_id)
        except Exception as e:  # the bot is stopping, or busy: Wonolo would retry; the demo moves on
            log.info("demo: webhook not delivered (%s)", type(e).__name__)

    def add_submission(self) -> int | None:
        """One new submission to an active campaign of ours; every few has a planted problem."""
        rw = self.rapidworkers
        with rw._lock:
            campaigns = [c for c in rw._campaigns.values() if c["status"] == "Active" and c["owner"] == "me"]
            earlier = [s for s in rw._subs.values() if s["pictures"] and s["pictures"][0][0] > 0]
        if not campaigns:
            return None
        rng = self._rng
        campaign = rng.choice(campaigns)
        self._added += 1
        problem = self._added % 4
        worker = rw.add_worker(f"{rng.choice(['sam', 'noor', 'ivan', 'mei', 'luis', 'ada'])}_{rng.randint(10, 99)}",
                               country=rng.choice(["Kenya", "India", "Brazil", "Poland", "Vietnam", "United States"]),
                               account_age_days=1 if problem == 1 else rng.randint(30, 900),
                               approval_rate=35 if problem == 1 else rng.randint(75, 99))
        pictures = None
        if problem == 2 and earlier:  # a screenshot someone already sent
            pictures = [(rng.choice(earlier)["pictures"][0][0], 1)]
        text = HOSTILE_PROOF if problem == 3 else rng.choice(_PROOFS).format(name=rw._workers[worker]["name"])
        sid = rw.add_submission(campaign["id"], worker_id=worker, proof_text=text,
                                images=rng.randint(1, 2), pictures=pictures)
        self.added_ids.append(sid)
        return sid

    def _new_submissions(self) -> None:
        while not self._stop.wait(self.new_submission_seconds):
            if self._added >= MAX_NEW_SUBMISSIONS:
                return
            self.add_submission()

    def wonolo_change(self) -> None:
        """A worker takes (or drops) a shift: the simulator changes state and sends its webhooks."""
        wonolo = self.wonolo
        with wonolo._lock:
            posted = [jr for jr in wonolo.job_requests.values() if jr["state"] == "posted"]
            workers = [u for u, rec in wonolo.users.items() if rec["type"] == "Worker"]
            taken = [j for j in wonolo.jobs.values() if j["state"] == "filled"]
        if posted and workers:
            jr = self._rng.choice(posted)
            wonolo.add_job(jr["id"], self._rng.choice(workers), "filled")
        elif taken:
            wonolo.set_job_state(self._rng.choice(taken)["id"], "cancelled")

    def _wonolo_changes(self) -> None:
        while not self._stop.wait(self.wonolo_change_seconds):
            self.wonolo_change()
