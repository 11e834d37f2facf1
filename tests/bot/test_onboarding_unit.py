"""Unit tier: `gigdesk init` writes `.env` owner-only from its creation, atomically, never through a link."""

from __future__ import annotations

import os
import stat

import pytest

from bot.onboarding import replace_question, write_env

pytestmark = pytest.mark.unit

ANSWERS = {"SLACK_BOT_TOKEN": "xoxb-1-secret", "GIGDESK_REVIEW_CHANNEL": "C0REVIEW"}
WRITTEN = "# Written by `gigdesk init`; every setting is explained in .env.example.\nSLACK_BOT_TOKEN=xoxb-1-secret\nGIGDESK_REVIEW_CHANNEL=C0REVIEW\n"


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_symlinked_env_is_replaced_by_a_private_file_and_its_target_is_left_alone(tmp_path):
    target = tmp_path / "elsewhere" / "shared.env"
    target.parent.mkdir()
    target.write_text("KEPT=1\n")
    target.chmod(0o644)
    env = tmp_path / ".env"
    env.symlink_to(target)
    assert "is a link to" in replace_question(str(env))
    write_env(str(env), ANSWERS)
    assert not env.is_symlink() and env.read_text() == WRITTEN and mode(env) == 0o600
    assert target.read_text() == "KEPT=1\n" and mode(target) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env", "elsewhere"]  # no temp file left


def test_env_is_0600_whatever_the_umask_and_replaces_a_wider_file(tmp_path):
    env = tmp_path / ".env"
    env.write_text("OLD=1\n")
    env.chmod(0o644)
    old = os.umask(0)
    try:
        write_env(str(env), ANSWERS)
        assert env.read_text() == WRITTEN and mode(env) == 0o600
        fresh = tmp_path / "fresh.env"
        write_env(str(fresh), ANSWERS)
        assert mode(fresh) == 0o600
    finally:
        os.umask(old)
    assert replace_question(str(env)) == f"{env} exists. Replace it (its values are offered as the answers' defaults)? (y/N)"
