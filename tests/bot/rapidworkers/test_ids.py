"""Ids that go into RapidWorkers URL paths: one rule (bot.apiclient.fields.is_safe_id), at its boundaries
(the second test makes a refused connection, so it sits in the slower tier)."""

from __future__ import annotations

import pytest

from bot.apiclient.fields import is_safe_id
from bot.rapidworkers.client import InvalidInput, NetworkError, RapidWorkersClient
from bot.rapidworkers.inputs import MAX_ID_LENGTH


@pytest.mark.unit
def test_a_safe_id_is_plain_ascii_and_at_most_max_length():
    assert is_safe_id("a" * 64, 64) and not is_safe_id("a" * 65, 64)
    assert is_safe_id("a", 1) and not is_safe_id("", 1)
    assert is_safe_id("86734721-4cdd_AZ09", 64)
    for bad in ("../admin", "a/b", "a?b=1", "a b", "abc\n", "١٢٣", "ａｂｃ", "a.b", None, 123, b"abc"):
        assert not is_safe_id(bad, 64), bad


def test_the_client_takes_ids_up_to_255_characters_and_refuses_longer_before_calling():
    client = RapidWorkersClient("k" * 32, base_url="http://127.0.0.1:9")  # nothing listens: no call may be made
    assert MAX_ID_LENGTH == 255
    with pytest.raises(InvalidInput, match="plain id"):
        client.get_campaign("c" * (MAX_ID_LENGTH + 1))
    with pytest.raises(InvalidInput, match="plain id"):
        client.get_campaign("../account/get_balance")
    assert client.requests_sent == 0
    with pytest.raises(NetworkError):  # exactly 255 passes the check and is sent (nothing answers)
        client.get_campaign("c" * MAX_ID_LENGTH)
    assert client.requests_sent >= 1
