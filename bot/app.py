"""App factory: the Bolt app, the WSGI routes, the server and background jobs.

The composition root: the one module allowed to import both the listeners
(handlers/) and the feature services (bot.review, bot.commands, bot.digest,
bot.wonolo_desk); the import-linter contracts in pyproject.toml name it as
the only exception to handlers -> bot -> storage.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.commands.service import CommandService
from bot.config import Settings
from bot.digest.service import DigestService
from bot.reports.service import ReportService
from bot.review.service import ReviewService
from bot.services import Services
from bot.slack import bolt_compat
from bot.wonolo_desk.service import WonoloDesk

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


def build_services(settings: Settings, *, post_interval: float | None = None) -> Services:
    """Every long-lived object, with the feature services attached."""
    services = Services.build(settings)
    services.review = ReviewService(services, post_interval=settings.post_interval if post_interval is None else post_interval)
    services.commands = CommandService(services)
    services.digest = DigestService(services)
    services.reports = ReportService(services)
    if services.wonolo is not None:
        services.wonolo_desk = WonoloDesk(services)
    return services


def create_bolt_app(services: Services) -> App:
    """The Bolt app: acks first, listeners run on a pool sized for slow APIs."""
    from handlers import register_all

    bolt_compat.apply()
    settings = services.settings
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
    register_all(app, services)
    return app


def _is_ssl_check(raw: bytes) -> bool:
    """Slack's certificate ping for slash commands (`ssl_check=1&token=…`): nothing to do but 200."""
    from urllib.parse import parse_qsl

    try:
        fields = dict(parse_qsl(raw.decode("ascii")))
    except (UnicodeDecodeError, ValueError):
        return False
    return fields.get("ssl_check") == "1" and set(fields) <= {"ssl_check", "token"}


def create_wsgi_app(services: Services, bolt_app: App):
    """POST /slack/events, POST /wonolo/webhook, GET /healthz."""
    from slack_sdk.signature import SignatureVerifier

    slack_handler = SlackRequestHandler(bolt_app, path="/slack/events")
    secret = services.settings.slack_signing_secret
    verifier = SignatureVerifier(secret) if secret else None

    def respond(start_response, status: str, payload: dict, exc_info=None):
        body = json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], exc_info)
        return [body]

    def signed(raw: bytes, environ) -> bool:
        try:
            return verifier is not None and verifier.is_valid(
                raw, environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"), environ.get("HTTP_X_SLACK_SIGNATURE")
            )
        except (ValueError, TypeError):
            return False

    def too_large(start_response):
        return respond(start_response, "413 Content Too Large", {"error": f"request body over {MAX_BODY_BYTES} bytes"})

    def slack_events(environ, start_response):
        try:
            raw = read_body(environ)
        except BodyTooLarge:
            return too_large(start_response)
        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        # Bolt parses the body, and runs middleware that may reply to the
        # response_url in it, before or while it checks the signature (a
        # timestamp that is not a number makes that check raise). So nothing
        # unsigned reaches Bolt.
        if verifier is not None and not signed(raw, environ):
            if _is_ssl_check(raw):
                return respond(start_response, "200 OK", {})
            return respond(start_response, "401 Unauthorized", {"error": "invalid request"})
        try:
            return slack_handler(environ, start_response)
        except Exception as e:  # a signed body Bolt cannot read: refused, never answered 500
            log.warning("refused an unreadable request to /slack/events (%s)", type(e).__name__)
            return respond(start_response, "400 Bad Request", {"error": "unreadable request"}, sys.exc_info())

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and method == "POST":
            return slack_events(environ, start_response)
        if path == "/wonolo/webhook" and method == "POST":
            desk = services.wonolo_desk
            if desk is None:
                return respond(start_response, "404 Not Found", {"error": "Wonolo is not configured"})
            try:
                raw = read_body(environ)
            except BodyTooLarge:
                return too_large(start_response)
            status, payload = desk.receive(raw, environ.get("HTTP_X_WONOLO_WEBHOOK_TOKEN"))
            return respond(start_response, status, payload)
        if path == "/healthz" and method == "GET":
            return respond(start_response, "200 OK", {"ok": True})
        return respond(start_response, "404 Not Found", {"error": "not found"})

    return application


class Background:
    """The review sync every GIGDESK_POLL_SECONDS and the daily digest (APScheduler)."""

    def __init__(self, services: Services):
        from apscheduler.schedulers.background import BackgroundScheduler

        self.services = services
        self.scheduler = BackgroundScheduler(timezone=services.settings.tz)
        self._startup: threading.Thread | None = None

    def start(self) -> None:
        settings = self.services.settings
        self.scheduler.add_job(
            self._sync, "interval", seconds=settings.poll_seconds, id="review-sync",
            max_instances=1, coalesce=True,
        )
        self.services.digest.schedule(self.scheduler)
        if settings.remind_after_hours:
            from bot.review.reminders import REMIND_CHECK_MINUTES

            # Its own job: the review sync posts review messages and nothing else (DESIGN.md).
            self.scheduler.add_job(
                self._remind, "interval", minutes=REMIND_CHECK_MINUTES, id="review-remind",
                max_instances=1, coalesce=True,
            )
        if self.services.wonolo_desk is not None:
            from bot.wonolo_desk.service import UNFILLED_CHECK_MINUTES

            self.scheduler.add_job(
                self._check_unfilled, "interval", minutes=UNFILLED_CHECK_MINUTES, id="wonolo-unfilled",
                max_instances=1, coalesce=True,
            )
        self.scheduler.start()
        self._startup = threading.Thread(target=self._at_start, name="startup", daemon=True)
        self._startup.start()

    def _at_start(self) -> None:
        """Settle decisions cut short by a crash, then sync once straight away."""
        try:
            settled = self.services.review.settle_in_flight()
            if settled:
                log.info("settled %d decisions that were in flight at the last stop", settled)
        except Exception:
            log.exception("settling in-flight decisions failed")
        self._sync()

    def _sync(self) -> None:
        try:
            report = self.services.review.sync()
            log.info("review sync: %s", report.summary())
        except Exception:
            log.exception("review sync failed")
        try:
            from bot.digest.alerts import check_balance_throttled

            # Throttled: an idle cycle must stay at one RapidWorkers request.
            check_balance_throttled(self.services)
        except Exception:
            log.exception("balance check failed")

    def _remind(self) -> None:
        try:
            from bot.review.reminders import remind_waiting

            reminded = remind_waiting(self.services)
            if reminded:
                log.info("review reminders: %d waiting submissions", reminded)
        except Exception:
            log.exception("review reminders failed")

    def _check_unfilled(self) -> None:
        try:
            desk = self.services.wonolo_desk
            raised = desk.check_unfilled() if desk is not None else 0
            if raised:
                log.info("Wonolo: %d unfilled-shift alerts raised", raised)
        except Exception:
            log.exception("Wonolo unfilled-shift check failed")

    def stop(self, timeout: float = 8.0) -> None:
        """Stop the jobs and wait for those running, so that nothing keeps posting or logging
        after a stop: within `timeout` seconds, whatever an image host or a backlog does (the
        sync stops before its next post, a proof check before its next image)."""
        started = time.monotonic()
        review = self.services.review
        review.stop()
        self.scheduler.shutdown(wait=True)
        if self._startup is not None:
            self._startup.join(max(0.0, timeout - (time.monotonic() - started)))
        if review.checks is not None:
            review.checks.wait(max(0.0, timeout - (time.monotonic() - started)))


def make_server(settings: Settings, services: Services | None = None, *, host: str = "0.0.0.0", port: int | None = None):
    """A waitress server (threads for concurrent acks) around the WSGI app."""
    import waitress

    services = services or build_services(settings)
    wsgi = create_wsgi_app(services, create_bolt_app(services))
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
    server = waitress.create_server(
        wsgi, host=host, port=settings.port if port is None else port,
        threads=max(8, settings.workers // 2), connection_limit=200, channel_timeout=15,
        max_request_body_size=MAX_BODY_BYTES + 1,  # waitress refuses a body >= this
        max_request_header_size=64 * 1024,
        ident="gigdesk", clear_untrusted_proxy_headers=True,
    )
    return server, services


def _interrupt_on_sigterm() -> None:
    """SIGTERM (a service manager's stop) takes Ctrl-C's way out: the same clean stop."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def serve(settings: Settings) -> int:
    """`gigdesk serve`: HTTP (or Socket Mode) with the background jobs in-process."""
    _interrupt_on_sigterm()
    services = build_services(settings)
    background = Background(services)
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        app = create_bolt_app(services)
        background.start()
        log.info("gigdesk serving over Socket Mode")
        try:
            SocketModeHandler(app, settings.slack_app_token).start()
        finally:
            background.stop()
        return 0
    server, _ = make_server(settings, services)
    background.start()
    log.info("gigdesk listening on http://%s:%s (POST /slack/events, POST /wonolo/webhook, GET /healthz)", server.effective_host, server.effective_port)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        background.stop()
    return 0
