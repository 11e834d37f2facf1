"""App factory: the Bolt app, the WSGI routes, the server and background jobs.

The composition root: the one module allowed to import both the listeners
(handlers/) and the features (bot.review, bot.rw, bot.digest, bot.reports,
bot.wonolo_desk), which it builds on the infrastructure (bot.services) and hands
each other; the import-linter contracts in pyproject.toml name it as the only
exception to handlers -> bot -> storage.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

import waitress
from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from waitress import wasyncore

from bot.config import Settings
from bot.digest.alerts import check_balance_throttled
from bot.digest.service import DigestService
from bot.features import Features
from bot.health import Readiness, SyncHealth, record_good_sync
from bot.leader import Leadership
from bot.observability import metrics
from bot.observability.operations import Operations
from bot.reports.service import ReportService
from bot.review.feature import ReviewService, proof_forensics
from bot.review.reminders import REMIND_CHECK_MINUTES, remind_waiting
from bot.rw.command import RwService
from bot.services import Services
from bot.slack import bolt_compat
from bot.socket_link import SocketLink
from bot.wonolo_desk.alerts import UNFILLED_CHECK_MINUTES
from bot.wonolo_desk.desk import WonoloDesk, build_desk
from handlers import register_all

log = logging.getLogger("gigdesk")

MAX_BODY_BYTES = 1024 * 1024  # Slack's payloads are a few KB; Wonolo's webhooks smaller


class BodyTooLarge(Exception):
    """The request body is over MAX_BODY_BYTES."""


def read_body(environ, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, read only when it fits: Content-Length is checked
    first, and without one (chunked) at most limit + 1 bytes are read."""
    stream = environ["wsgi.input"]
    declared = (environ.get("CONTENT_LENGTH") or "").strip()
    if declared:
        try:
            length = int(declared)
        except ValueError:
            length = -1
        if length > limit:
            raise BodyTooLarge
        return stream.read(length) if length > 0 else b""
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise BodyTooLarge
    return raw


def build_features(services: Services, *, post_interval: float | None = None) -> Features:
    """The features on the infrastructure, each given the others it uses."""
    settings = services.settings
    review = ReviewService(services, post_interval=settings.post_interval if post_interval is None else post_interval,
                           forensics=proof_forensics(services))
    reports = ReportService(services)
    wonolo_desk = build_desk(services) if services.wonolo is not None else None
    digest = DigestService(services, reports=reports, wonolo_desk=wonolo_desk)
    rw = RwService(services, review=review, digest=digest, reports=reports)
    return Features(review=review, rw=rw, digest=digest, reports=reports, wonolo_desk=wonolo_desk)


@dataclass(frozen=True)
class Gigdesk:
    """Everything long-lived: the infrastructure and the features built on it."""

    services: Services
    features: Features


def build(settings: Settings, *, post_interval: float | None = None) -> Gigdesk:
    """The infrastructure (step 1), then the features on it (step 2)."""
    services = Services.build(settings)
    return Gigdesk(services, build_features(services, post_interval=post_interval))


class _ClientGivenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment itself and then warns that, the client
    being given, it is unused: true and expected here, so not printed at every start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("As you gave `client` as well")


def create_bolt_app(gigdesk: Gigdesk) -> App:
    """The Bolt app: acks first, listeners run on a pool sized for slow APIs."""
    bolt_compat.apply()
    services = gigdesk.services
    settings = services.settings
    bolt_log = logging.getLogger("gigdesk.bolt")
    if not any(isinstance(f, _ClientGivenNotice) for f in bolt_log.filters):
        bolt_log.addFilter(_ClientGivenNotice())
    app = App(
        client=services.slack,
        signing_secret=settings.slack_signing_secret or "socket-mode-has-no-signing-secret",
        request_verification_enabled=not settings.socket_mode,
        token_verification_enabled=False,
        process_before_response=False,
        # Listeners only ack and queue work (handlers.errors.after_ack), so this
        # pool is never held up by a slow API.
        listener_executor=ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="listener"),
        logger=logging.getLogger("gigdesk.bolt"),
    )
    register_all(app, services, gigdesk.features)
    return app


def _is_ssl_check(raw: bytes) -> bool:
    """Slack's certificate ping for slash commands (`ssl_check=1&token=…`): nothing to do but 200."""
    try:
        fields = dict(parse_qsl(raw.decode("ascii")))
    except (UnicodeDecodeError, ValueError):
        return False
    return fields.get("ssl_check") == "1" and set(fields) <= {"ssl_check", "token"}


def _respond(start_response, status: str, payload: dict, exc_info=None) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], exc_info)
    return [body]


def _too_large(start_response) -> list[bytes]:
    return _respond(start_response, "413 Content Too Large", {"error": f"request body over {MAX_BODY_BYTES} bytes"})


def _slack_events(bolt_app: App, secret: str | None):
    """POST /slack/events: the body (capped) is signed, or refused before Bolt sees it."""
    slack_handler = SlackRequestHandler(bolt_app, path="/slack/events")
    verifier = SignatureVerifier(secret) if secret else None

    def signed(raw: bytes, environ) -> bool:
        try:
            return verifier is not None and verifier.is_valid(
                raw, environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"), environ.get("HTTP_X_SLACK_SIGNATURE")
            )
        except (ValueError, TypeError):
            return False

    def slack_events(environ, start_response):
        try:
            raw = read_body(environ)
        except BodyTooLarge:
            return _too_large(start_response)
        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        # Bolt parses the body, and runs middleware that may reply to the
        # response_url in it, before or while it checks the signature (a
        # timestamp that is not a number makes that check raise). So nothing
        # unsigned reaches Bolt.
        if verifier is not None and not signed(raw, environ):
            if _is_ssl_check(raw):
                return _respond(start_response, "200 OK", {})
            return _respond(start_response, "401 Unauthorized", {"error": "invalid request"})
        try:
            return slack_handler(environ, start_response)
        except Exception as e:  # a signed body Bolt cannot read: refused, never answered 500
            log.warning("refused an unreadable request to /slack/events (%s)", type(e).__name__)
            return _respond(start_response, "400 Bad Request", {"error": "unreadable request"}, sys.exc_info())

    return slack_events


def _wonolo_webhook(desk: WonoloDesk | None):
    """POST /wonolo/webhook: to the Wonolo desk, 404 without one."""

    def wonolo_webhook(environ, start_response):
        if desk is None:
            return _respond(start_response, "404 Not Found", {"error": "Wonolo is not configured"})
        try:
            raw = read_body(environ)
        except BodyTooLarge:
            return _too_large(start_response)
        status, payload = desk.receive(raw, environ.get("HTTP_X_WONOLO_WEBHOOK_TOKEN"))
        metrics.webhook_answered(status, payload)
        return _respond(start_response, status, payload)

    return wonolo_webhook


def _readyz(readiness: Readiness):
    def readyz(environ, start_response):
        ready, checks = readiness.check()
        problems = [v for v in checks.values() if not v.startswith("ok")]
        return _respond(start_response, "200 OK" if ready else "503 Service Unavailable",
                        {"ok": ready, "problems": problems, "checks": checks})

    return readyz


def create_wsgi_app(gigdesk: Gigdesk, bolt_app: App, readiness: Readiness | None = None):
    """POST /slack/events (HTTP mode only), POST /wonolo/webhook, GET /healthz, GET /readyz."""
    services = gigdesk.services
    routes = {
        ("POST", "/wonolo/webhook"): _wonolo_webhook(gigdesk.features.wonolo_desk),
        ("GET", "/healthz"): lambda environ, start_response: _respond(start_response, "200 OK", {"ok": True}),
        ("GET", "/readyz"): _readyz(readiness or Readiness(services, SyncHealth(started_at=time.monotonic()))),
    }
    # In Socket Mode Slack's requests come over the socket; this listener never takes them
    # (Bolt checks no signature in Socket Mode, so whatever came here would be believed).
    if not services.settings.socket_mode:
        routes[("POST", "/slack/events")] = _slack_events(bolt_app, services.settings.slack_signing_secret)

    def application(environ, start_response):
        route = routes.get((environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")))
        if route is None:
            return _respond(start_response, "404 Not Found", {"error": "not found"})
        return route(environ, start_response)

    return application


class Background:
    """The review sync every GIGDESK_POLL_SECONDS, the daily digest, reminders and the Wonolo
    checks (APScheduler): each runs only while this replica is the leader (bot.leader)."""

    def __init__(self, gigdesk: Gigdesk, health: SyncHealth | None = None, leadership: Leadership | None = None):
        self.services, self.features = gigdesk.services, gigdesk.features
        self.health = health or SyncHealth(started_at=time.monotonic())
        self.scheduler = BackgroundScheduler(timezone=self.services.settings.tz)
        self.leadership = leadership or Leadership(self.services.store, self.services.settings.leader_ttl_seconds)
        self.leadership.on_elected = self._took_over
        self._startup: threading.Thread | None = None

    def _leader_only(self, job: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            if self.leadership.is_leader():
                job()
        return run

    def _took_over(self) -> None:
        """A takeover: sync now, and post a digest the old leader missed (its claim keeps it once)."""
        self.scheduler.modify_job("review-sync", next_run_time=datetime.now(self.services.settings.tz))
        self.scheduler.add_job(self._leader_only(self.features.digest.catch_up), "date", id="digest-takeover",
                               replace_existing=True, misfire_grace_time=None)

    def start(self) -> None:
        settings = self.services.settings
        self.leadership.start()
        self.scheduler.add_job(
            self._leader_only(self._sync), "interval", seconds=settings.poll_seconds, id="review-sync",
            max_instances=1, coalesce=True,
        )
        self.features.digest.schedule(self.scheduler, when=self.leadership.is_leader)
        if settings.remind_after_hours:
            # Its own job: the review sync posts review messages and nothing else (DESIGN.md).
            self.scheduler.add_job(
                self._leader_only(self._remind), "interval", minutes=REMIND_CHECK_MINUTES, id="review-remind",
                max_instances=1, coalesce=True,
            )
        if self.features.wonolo_desk is not None:
            self.scheduler.add_job(
                self._leader_only(self._check_unfilled), "interval", minutes=UNFILLED_CHECK_MINUTES, id="wonolo-unfilled",
                max_instances=1, coalesce=True,
            )
            if settings.wonolo_poll_seconds:  # 0: webhooks only
                self.scheduler.add_job(
                    self._leader_only(self._poll_wonolo), "interval", seconds=settings.wonolo_poll_seconds, id="wonolo-poll",
                    max_instances=1, coalesce=True,
                )
        self.scheduler.start()
        self._startup = threading.Thread(target=self._at_start, name="startup", daemon=True)
        self._startup.start()

    def _at_start(self) -> None:
        """Settle decisions cut short by a crash, then sync once straight away."""
        try:
            settled = self.features.review.settle_in_flight()
            if settled:
                log.info("settled %d decisions that were in flight at the last stop", settled)
        except Exception:
            log.exception("settling in-flight decisions failed")
        if self.leadership.is_leader():
            self._sync()

    def _sync(self) -> None:
        try:
            report = self.features.review.sync()
            log.info("review sync: %s", report.summary())
            self.health.finished(report.errors)
            if not report.errors:
                record_good_sync(self.services.store.db)  # the followers' /readyz reads it
        except Exception as e:
            log.exception("review sync failed")
            self.health.finished([f"the review sync failed ({type(e).__name__}, see the log)"])
        try:
            # Throttled: an idle cycle must stay at one RapidWorkers request.
            check_balance_throttled(self.services)
        except Exception:
            log.exception("balance check failed")

    def _remind(self) -> None:
        try:
            reminded = remind_waiting(self.services)
            if reminded:
                log.info("review reminders: %d waiting submissions", reminded)
        except Exception:
            log.exception("review reminders failed")

    def _check_unfilled(self) -> None:
        try:
            desk = self.features.wonolo_desk
            raised = desk.check_unfilled() if desk is not None else 0
            if raised:
                log.info("Wonolo: %d unfilled-shift alerts raised", raised)
        except Exception:
            log.exception("Wonolo unfilled-shift check failed")

    def _poll_wonolo(self) -> None:
        try:
            desk = self.features.wonolo_desk
            report = desk.poll() if desk is not None else None
            if report is not None and report.changed:
                log.info("Wonolo poll: %s", report.summary())
        except Exception:
            log.exception("Wonolo poll failed")

    def stop(self, timeout: float = 8.0) -> None:
        """Stop the jobs and wait for those running, so that nothing keeps posting or logging
        after a stop: within `timeout` seconds, whatever an image host or a backlog does (the
        sync stops before its next post, a proof check before its next image)."""
        started = time.monotonic()
        review = self.features.review
        review.stop()
        self.scheduler.shutdown(wait=True)
        if self._startup is not None:
            self._startup.join(max(0.0, timeout - (time.monotonic() - started)))
        self.leadership.stop()  # after the jobs: another replica may start them at once
        if review.checks is not None:
            review.checks.wait(max(0.0, timeout - (time.monotonic() - started)))


def _waitress(settings: Settings, wsgi, host: str, port: int):
    """A waitress server (threads for concurrent acks) around the WSGI app."""
    # Waitress itself buffers a whole body before the app sees it, so the
    # 1 MiB cap is set here too: a larger Content-Length is answered 413 right
    # after the headers, a chunked body once it passes the cap.
    # connection_limit: Slack sends one request per click or command and a
    # reverse proxy (README) reuses a few connections, so a few hundred is
    # ample; more would only let a flood of idle sockets hold memory.
    # channel_timeout: Slack gives up after 3 s; a connection silent for 15 s
    # (a slowloris client) is closed. threads: a request holds its thread only
    # until the listener acks (work goes on after_ack's pool), so half of
    # GIGDESK_WORKERS answers a burst of clicks without queueing.
    return waitress.create_server(
        wsgi, host=host, port=port,
        threads=max(8, settings.workers // 2), connection_limit=200, channel_timeout=15,
        max_request_body_size=MAX_BODY_BYTES + 1,  # waitress refuses a body >= this
        max_request_header_size=64 * 1024,
        ident="gigdesk", clear_untrusted_proxy_headers=True,
    )


def make_server(settings: Settings, gigdesk: Gigdesk | None = None, *, host: str = "0.0.0.0", port: int | None = None):
    """The HTTP side alone (no Socket Mode link, no background jobs): a waitress server and what it serves."""
    gigdesk = gigdesk or build(settings)
    wsgi = create_wsgi_app(gigdesk, create_bolt_app(gigdesk))
    return _waitress(settings, wsgi, host, settings.port if port is None else port), gigdesk


class HttpListener:
    """waitress's run loop on a thread, one poll at a time, so stop() can end it.

    Closing the listening socket from another thread while select() waits on
    it fails with EBADF; instead stop() sets a flag, wakes the loop through
    waitress's trigger, and closes everything once it has left.
    """

    def __init__(self, server, name: str = "http"):
        self.server = server
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    def _loop(self) -> None:
        server = self.server
        while not self._stopping.is_set() and server._map:
            wasyncore.loop(timeout=server.adj.asyncore_loop_timeout, map=server._map,
                           use_poll=server.adj.asyncore_use_poll, count=1)

    def start(self) -> HttpListener:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread.is_alive():
            self._stopping.set()
            self.server.pull_trigger()
            self._thread.join(timeout=timeout)
        # The loop has left: closing the sockets cannot race a select() now.
        self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)
        wasyncore.close_all(self.server._map)


class Serving:
    """What `gigdesk serve` runs: the HTTP listener on HOST:PORT, the Socket Mode link (with
    SLACK_APP_TOKEN) and the background jobs (`jobs=False`: none, as the tests drive the sync)."""

    def __init__(self, settings: Settings, gigdesk: Gigdesk | None = None, *, host: str | None = None,
                 port: int | None = None, jobs: bool = True):
        self.settings = settings
        self.gigdesk = gigdesk or build(settings)
        self.services, self.features = self.gigdesk.services, self.gigdesk.features
        self.bolt_app = create_bolt_app(self.gigdesk)
        self.sync_health = SyncHealth(started_at=time.monotonic())
        self.link = None
        if settings.socket_mode:
            # As many envelopes in hand at once as HTTP mode has request threads.
            self.link = SocketLink(self.bolt_app, str(settings.slack_app_token), concurrency=max(8, settings.workers // 2))
        self.readiness = Readiness(self.services, self.sync_health, self.link.problem if self.link else None)
        wsgi = create_wsgi_app(self.gigdesk, self.bolt_app, self.readiness)
        server = _waitress(settings, wsgi, settings.host if host is None else host, settings.port if port is None else port)
        self.http = HttpListener(server)
        self.background = Background(self.gigdesk, self.sync_health) if jobs else None
        self.operations = Operations(settings, self.services, self.sync_health,
                                     leading=self.background.leadership.is_leader if self.background else None)

    @property
    def url(self) -> str:
        return self.http.url

    def start(self) -> Serving:
        """Listen, connect (Socket Mode: raises AppTokenRefused, having stopped again), start the jobs."""
        self.http.start()
        if self.link is not None:
            try:
                self.link.start()
            except BaseException:
                self.http.stop()
                raise
        if self.background is not None:
            self.background.start()
        self.operations.start()
        return self

    def stop_steps(self) -> list[tuple[str, Callable[[], None]]]:
        """In order: no new work from Slack, none from the web, no new jobs; then finish what was queued."""
        steps: list[tuple[str, Callable[[], None]]] = []
        if self.link is not None:
            steps.append(("closing the Socket Mode link", self.link.close))
        steps.append(("stopping the HTTP listener", self.http.stop))
        steps.append(("stopping the metrics endpoint and the incident watch", self.operations.stop))
        if self.background is not None:
            steps.append(("stopping the background jobs", self.background.stop))
        for name, pool in (("work", self.services.work), ("instant", self.services.instant)):
            if pool is not None:
                steps.append((f"finishing the queued {name}", pool.shutdown))
        return steps

    def stop(self) -> None:
        for _, step in self.stop_steps():
            step()


# A stop that takes longer ends the process anyway (the state is crash-safe: kill -9 tests).
STOP_SECONDS = 9.0


def stop_within(steps: list[tuple[str, Callable[[], None]]], seconds: float) -> str | None:
    """Run the steps in order on a helper thread; None when all were done within `seconds`,
    else the name of the step still running."""
    current = [""]

    def run() -> None:
        for name, step in steps:
            current[0] = name
            try:
                step()
            except Exception:
                log.exception("%s failed", name)
        current[0] = ""

    worker = threading.Thread(target=run, name="stop", daemon=True)
    worker.start()
    worker.join(seconds)
    return current[0] if worker.is_alive() else None


def _stop_on_signals() -> threading.Event:
    """SIGTERM and SIGINT (Ctrl-C) ask for a clean stop; a second one ends the process at once."""
    asked = threading.Event()

    def on_signal(signum, _frame) -> None:
        if asked.is_set():
            log.warning("second %s: stopping now", signal.Signals(signum).name)
            os._exit(1)
        asked.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    return asked



def serve(settings: Settings) -> int:
    """`gigdesk serve`: HTTP (or Socket Mode) with the background jobs in-process, until SIGTERM or Ctrl-C."""
    asked = _stop_on_signals()
    serving = Serving(settings).start()
    endpoints = "GET /healthz, GET /readyz, POST /wonolo/webhook"
    if settings.socket_mode:
        log.info("gigdesk serving over Socket Mode; listening on %s (%s)", serving.url, endpoints)
    else:
        log.info("gigdesk listening on %s (POST /slack/events, %s)", serving.url, endpoints)
    while not asked.wait(1.0):
        pass
    log.info("stopping")
    started = time.monotonic()
    stuck = stop_within(serving.stop_steps(), STOP_SECONDS)
    if stuck:
        log.error("stopping took over %.0f s (still %s): exiting now; the next start settles what was cut short", STOP_SECONDS, stuck)
        logging.shutdown()
        os._exit(1)
    log.info("stopped in %.1f s", time.monotonic() - started)
    return 0
