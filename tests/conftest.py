"""Fixtures: the simulators (RapidWorkers, Wonolo), the Slack stand-in, the running bot and bare Services."""

from __future__ import annotations

import logging
import os

import pytest

from bot.app import build
from bot.config import load_settings
from sandbox.rapidworkers import Sandbox
from sandbox.slack_workspace.block_kit import RECORD_ENV
from sandbox.slack_workspace.server import SlackStandin
from tests.support.harness import RunningBot, SocketBot, bot_env

# Fixtures that start a server (a simulator, the Slack stand-in, the bot): a test using one is not unit tier.
SERVER_FIXTURES = frozenset({"sandbox", "slack", "wonolo", "make_gigdesk", "make_services", "make_bot", "bot", "poster"})


def pytest_collection_modifyitems(items):
    """Keep the unit tier honest: a test marked `unit` may not start a server through a fixture.
    A pure storage test (`unit_on_sqlite`) is unit tier in its SQLite run only."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if item.get_closest_marker("unit_on_sqlite") and callspec and callspec.params.get("db_backend") == "sqlite":
            item.add_marker(pytest.mark.unit)
        if item.get_closest_marker("unit") is None:
            continue
        servers = SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if servers:
            raise pytest.UsageError(f"{item.nodeid} is marked unit but uses {', '.join(sorted(servers))}: "
                                    "it belongs in the e2e tier (drop the unit mark)")


@pytest.fixture(scope="session", autouse=True)
def block_kit_record(tmp_path_factory):
    """Every Block Kit payload a Slack stand-in receives in this run, one file per shape, in one folder
    shared by the xdist workers: tests/sandbox/test_demo_block_kit.py checks the demo renders them all."""
    if not os.environ.get(RECORD_ENV):
        root = tmp_path_factory.getbasetemp()
        os.environ[RECORD_ENV] = str((root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / "block-kit")
    return os.environ[RECORD_ENV]


@pytest.fixture
def sandbox():
    sim = Sandbox(demo_data=False)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def slack():
    standin = SlackStandin()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def wonolo():
    """The Wonolo simulator, empty but for one employer (sim.employer_id)."""
    from sandbox.wonolo import WonoloSandbox

    sim = WonoloSandbox(demo_data=False)
    sim.employer_id = sim.add_user(type="Employer", first_name="Dana", last_name="Ops", email="dana@example.com")
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture(scope="session")
def postgres_server():
    """One throw-away PostgreSQL server per test session (per xdist worker), started on first use;
    None when PostgreSQL is not installed."""
    from tests.support import postgres

    server = postgres.start_server()
    yield server
    if server is not None:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request):
    """A test that takes this runs on both backends: SQLite (in the unit tier when the test is
    marked `unit_on_sqlite`) and PostgreSQL (a new database per test; skipped loudly without PostgreSQL, failed under CI=true)."""
    return request.param


@pytest.fixture
def database_url(db_backend, request):
    """GIGDESK_DATABASE_URL for the test's backend: None for SQLite, a new empty database for PostgreSQL."""
    if db_backend == "sqlite":
        return None
    from tests.support import postgres

    server = request.getfixturevalue("postgres_server")
    if server is None:
        postgres.unavailable()
    return server.new_database()


@pytest.fixture
def two_processes(tmp_path, database_url):
    """Two Stores on the test's database (either backend): what two replicas each open."""
    from storage.db import Store

    stores = [Store(str(tmp_path / "gigdesk.db"), url=database_url) for _ in range(2)]
    yield stores
    for store in stores:
        store.close()


def backend_env(request) -> dict[str, str]:
    """GIGDESK_DATABASE_URL when the test takes `db_backend` and it is PostgreSQL."""
    if "db_backend" not in request.fixturenames:
        return {}
    url = request.getfixturevalue("database_url")
    return {"GIGDESK_DATABASE_URL": url} if url else {}


@pytest.fixture
def make_gigdesk(slack, sandbox, tmp_path, request):
    """make_gigdesk(**env) -> bot.app.Gigdesk (services and features) wired to the stand-ins
    (no server, no scheduler)."""

    def make(**overrides):
        env = {"GIGDESK_DIGEST_CHANNEL": "C_DIGEST", "GIGDESK_ALLOWED_USERS": "U_ALICE,U_BOB", **backend_env(request), **overrides}
        settings = load_settings(bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), **env), dotenv_path="")
        return build(settings, post_interval=0)

    return make


@pytest.fixture
def make_services(make_gigdesk):
    """make_services(**env) -> the Services (infrastructure) of make_gigdesk(**env)."""
    return lambda **overrides: make_gigdesk(**overrides).services


@pytest.fixture
def restore_logging():
    """The CLI installs its own root handler (on the captured stderr): put the old ones back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture(params=["http", "socket"])
def transport(request):
    """A test that takes this runs twice: its bot gets Slack's requests as signed HTTP, then as
    Socket Mode envelopes (the `bot`, `make_bot` and `poster` fixtures follow it)."""
    return request.param


@pytest.fixture
def make_bot(slack, sandbox, tmp_path, request):
    """make_bot(**env_overrides) -> a started RunningBot (SocketBot under `transport` "socket");
    all are stopped after the test."""
    bots = []
    socket_mode = "transport" in request.fixturenames and request.getfixturevalue("transport") == "socket"

    def make(**overrides):
        env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), **{**backend_env(request), **overrides})
        if socket_mode:
            env.setdefault("SLACK_APP_TOKEN", slack.app_token)
            bot = SocketBot(env, slack).start()
        else:
            bot = RunningBot(env).start()
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        bot.stop()


@pytest.fixture
def bot(make_bot):
    return make_bot()


@pytest.fixture
def poster(bot, slack):
    """Signed requests to the running bot; replies land in the stand-in."""
    client = bot.poster(standin=slack)
    yield client
    client.session.close()  # a kept-alive connection would hold up the server's shutdown
