"""The Slack stand-in's upload flow and direct messages, as Slack documents them: getUploadURLExternal
(filename and length required), the bytes to the upload URL (raw or multipart, exactly the declared
length), completeUploadExternal sharing in one channel; conversations.open; the scopes they need."""

from __future__ import annotations

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_workspace.server import SlackStandin


@pytest.fixture
def client(slack) -> WebClient:
    return WebClient(token=slack.token, base_url=slack.api_url)


def test_upload_and_share_in_a_direct_message(slack, client):
    dm = client.conversations_open(users="U_ALICE")["channel"]["id"]
    assert dm.startswith("D") and client.conversations_open(users="U_ALICE")["channel"]["id"] == dm  # resumed, not new
    done = client.files_upload_v2(file_uploads=[{"content": b"a,b\r\n1,2\r\n", "filename": "x.csv", "title": "X"},
                                                {"content": b"\x89PNG....", "filename": "x.png", "title": "P", "alt_txt": "a chart"}],
                                  channel=dm, initial_comment="Here you are")
    assert [f["title"] for f in done["files"]] == ["X", "P"]
    [message] = slack.messages(dm)
    assert message.text == "Here you are" and [f["name"] for f in message.files] == ["x.csv", "x.png"]
    shared = {f["name"]: f for f in slack.shared_files()}
    assert shared["x.csv"]["content"] == b"a,b\r\n1,2\r\n" and shared["x.csv"]["mimetype"] == "text/csv"
    assert shared["x.png"]["shares"] == {dm: [message.ts]} and shared["x.png"]["alt_txt"] == "a chart"
    assert slack.shared_files("C_REVIEW") == []
    assert client.files_info(file=done["files"][0]["id"])["file"]["name"] == "x.csv"


def test_the_declared_length_is_enforced(slack, client):
    ticket = client.files_getUploadURLExternal(filename="x.png", length=10)
    short = requests.post(ticket["upload_url"], data=b"12345", timeout=5)
    assert short.status_code == 400 and "length" in short.text
    with pytest.raises(SlackApiError) as e:  # its bytes never arrived
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"], "title": "x"}], channel_id="C_REVIEW")
    assert e.value.response["error"] == "file_not_found"
    multipart = requests.post(ticket["upload_url"], files={"file": ("x.png", b"0123456789")}, timeout=5)
    assert multipart.status_code == 200
    assert requests.post(ticket["upload_url"], data=b"0123456789", timeout=5).status_code == 404  # one upload per URL
    client.files_completeUploadExternal(files=[{"id": ticket["file_id"], "title": "x"}], channel_id="C_REVIEW")
    assert slack.shared_files("C_REVIEW")[0]["content"] == b"0123456789"


@pytest.mark.parametrize("args, error", [
    ({"filename": "x.png"}, "invalid_arguments"),
    ({"length": 5}, "invalid_arguments"),
    ({"filename": "x.png", "length": 0}, "missing_argument"),
    ({"filename": "x.png", "length": 5, "alt_txt": "a" * 1001}, "alt_txt_too_large"),
])
def test_get_upload_url_arguments(client, args, error):
    with pytest.raises(SlackApiError) as e:
        client.api_call("files.getUploadURLExternal", params=args)
    assert e.value.response["error"] == error


def test_sharing_needs_the_bot_in_the_channel_and_files_write(slack, client):
    slack.set_members("C_DIGEST", ["U_ALICE"])
    ticket = client.files_getUploadURLExternal(filename="x.txt", length=2)
    requests.post(ticket["upload_url"], data=b"hi", timeout=5)
    with pytest.raises(SlackApiError) as e:
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id="C_DIGEST")
    assert e.value.response["error"] == "not_in_channel"
    with SlackStandin(scopes=["chat:write"]) as narrow:
        other = WebClient(token=narrow.token, base_url=narrow.api_url)
        for call in (lambda: other.files_getUploadURLExternal(filename="x", length=1), lambda: other.conversations_open(users="U_ALICE")):
            with pytest.raises(SlackApiError) as e:
                call()
            assert e.value.response["error"] == "missing_scope"
