"""Fixtures: the simulators (RapidWorkers, Wonolo), the Slack stand-in, the running bot and bare Services."""

from __future__ import annotations

import logging
import os

import pytest

from bot.app import build_services
from bot.config import load_settings
from sandbox.rapidworkers import Sandbox
from sandbox.slack_workspace.block_kit import RECORD_ENV
from sandbox.slack_workspace.server import SlackStandin
from tests.support.harness import RunningBot, SocketBot, bot_env

# Fixtures that start a server (a simulator, the Slack stand-in, the bot): a test using one is not unit tier.
SERVER_FIXTURES = frozenset({"sandbox", "slack", "wonolo", "make_services", "make_bot", "bot", "poster"})


def pytest_collection_modifyitems(items):
    """Keep the unit tier honest: a test marked `unit` may not start a server through a fixture."""
    for item in items:
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


@pytest.fixture
def make_services(slack, sandbox, tmp_path):
    """make_services(**env) -> Services wired to the stand-ins (no server, no scheduler)."""

    def make(**overrides):
        env = {"GIGDESK_DIGEST_CHANNEL": "C_DIGEST", "GIGDESK_ALLOWED_USERS": "U_ALICE,U_BOB", **overrides}
        settings = load_settings(bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), **env), dotenv_path="")
        return build_services(settings, post_interval=0)

    return make


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
        env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), **overrides)
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
