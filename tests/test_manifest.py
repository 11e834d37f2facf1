"""manifest.yml is a valid classic Slack app manifest declaring what gigdesk serves."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

pytestmark = pytest.mark.unit  # the fast tier: `make test` runs it first

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "manifest.yml"
SCHEMA = REPO.parent / "shared/slack/manifest.schema.1.0.0.json"

EVENTS_PATH = "/slack/events"
RW_USAGE = ("help | balance | campaigns [status] | campaign <id|title> | job … | new | approve-all <id|title> | "
            "blocked | block <id> | unblock <id> | digest | worker <id> | route <campaign> #channel | routes | "
            "spend [period] [campaign] | audit [filter]")
WONOLO_USAGE = "help | book | requests [state] | request <id> | jobs [state] | job <id> | worker <id|email> | invite <email> | badges"
LEAST_BOT_SCOPES = {
    "chat:write", "commands", "channels:history", "groups:history",
    "channels:read", "groups:read", "users:read", "files:read", "files:write", "im:write",
}


def _offline(uri: str) -> Resource:
    # Every $ref of the schema is local (#/definitions/...); anything remote is
    # refused instead of fetched.
    raise NoSuchResource(ref=uri)


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    if not SCHEMA.is_file():
        missing = f"Slack manifest schema not found at {SCHEMA} (shared/ is expected beside the repo)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(missing + ": under CI the manifest must be validated, not skipped")
        pytest.skip(missing)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    registry = Registry(retrieve=_offline)
    return Draft7Validator(schema, registry=registry)


@pytest.fixture(scope="module")
def manifest() -> dict:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _errors(validator: Draft7Validator, doc: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]


def test_manifest_is_valid(validator, manifest):
    assert _errors(validator, manifest) == []


def _drop_description(m):
    del m["features"]["slash_commands"][0]["description"]
    return "features/slash_commands/0"


def _scope_not_string(m):
    m["oauth_config"]["scopes"]["bot"].append({"scope": "chat:write"})
    return "oauth_config/scopes/bot/"


def _scopes_not_list(m):
    m["oauth_config"]["scopes"]["bot"] = "chat:write,commands"
    return "oauth_config/scopes/bot"


def _drop_name(m):
    del m["display_information"]["name"]
    return "display_information"


def _unknown_key(m):
    m["features"]["slash_command"] = m["features"]["slash_commands"]
    return "features"


def _command_without_slash(m):
    m["features"]["slash_commands"][1]["command"] = "wonolo"
    return "features/slash_commands/1/command"


def _url_not_http(m):
    m["settings"]["interactivity"]["request_url"] = "gigdesk.example.com/slack/events"
    return "settings/interactivity/request_url"


def _interactivity_not_enabled_flag(m):
    del m["settings"]["interactivity"]["is_enabled"]
    return "settings/interactivity"


@pytest.mark.parametrize("breakage", [
    _drop_description, _scope_not_string, _scopes_not_list, _drop_name, _unknown_key,
    _command_without_slash, _url_not_http, _interactivity_not_enabled_flag,
])
def test_broken_manifest_fails_validation(validator, manifest, breakage):
    broken = copy.deepcopy(manifest)
    where = breakage(broken)
    errors = _errors(validator, broken)
    assert errors, f"{breakage.__name__}: schema accepted a broken manifest"
    assert any(e.startswith(where) for e in errors), errors


def test_declares_exactly_the_two_commands(manifest):
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert sorted(commands) == ["/rw", "/wonolo"]
    assert commands["/rw"]["usage_hint"] == RW_USAGE
    assert commands["/wonolo"]["usage_hint"] == WONOLO_USAGE
    for c in commands.values():
        assert c["description"].strip()
        assert c["should_escape"] is False


def test_events_home_and_bot(manifest):
    assert manifest["_metadata"]["major_version"] == 1
    assert manifest["display_information"]["name"] == "gigdesk"
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert "user_events" not in manifest["settings"]["event_subscriptions"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    # The Messages tab shows what the bot sends a person (the /rw spend and audit files); read-only.
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_read_only_enabled"] is True
    assert manifest["features"]["bot_user"] == {"display_name": "gigdesk", "always_online": True}
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_all_request_urls_point_at_slack_events(manifest):
    urls = [c["url"] for c in manifest["features"]["slash_commands"]]
    urls += [manifest["settings"]["event_subscriptions"]["request_url"],
             manifest["settings"]["interactivity"]["request_url"]]
    assert len(urls) == 4
    for url in urls:
        assert url.startswith("https://") and url.endswith(EVENTS_PATH), url
    assert len({u.split("/")[2] for u in urls}) == 1, "one host for every Request URL"


def test_least_privilege_bot_scopes(manifest):
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "no user scopes"
    assert len(scopes["bot"]) == len(set(scopes["bot"]))
    assert set(scopes["bot"]) == LEAST_BOT_SCOPES


def test_slack_standin_grants_the_manifest_scopes(manifest):
    # The stand-in answers missing_scope for anything the manifest does not
    # grant, so app tests prove these scopes are enough.
    from sandbox.slack_workspace.server import SlackStandin

    assert set(SlackStandin().scopes) == set(manifest["oauth_config"]["scopes"]["bot"])
