"""`gigdesk check` names the database backend and says whether it answers, writing nothing and
never printing the database URL (it may hold a password)."""

from __future__ import annotations

import pytest

from bot.checks import run_checks
from bot.config import read_settings
from storage.db import Store
from tests.support.harness import free_port


def check(env: dict[str, str]) -> list[str]:
    settings, problems = read_settings(env, dotenv_path="")
    lines: list[str] = []
    run_checks(settings, problems, lines.append)
    return [line for line in lines if "database" in line]


@pytest.mark.unit_on_sqlite
def test_check_reports_the_backend_and_its_schema_version_and_writes_nothing(tmp_path, db_backend, database_url):
    env = {"GIGDESK_DB": str(tmp_path / "gigdesk.db"), **({"GIGDESK_DATABASE_URL": database_url} if database_url else {})}
    name = "PostgreSQL" if database_url else "SQLite"
    assert check(env) == [f"[x] database: {name} ({'GIGDESK_DATABASE_URL' if database_url else env['GIGDESK_DB']}) answers,"
                          " empty: gigdesk creates the tables when it starts"]
    assert not (tmp_path / "gigdesk.db").exists()
    store = Store(env["GIGDESK_DB"], url=database_url)
    store.close()
    (line,) = check(env)
    assert line.startswith("[x] database: ") and line.endswith(f"schema version {store.schema_version}")


def test_an_unreachable_postgresql_fails_the_check_without_showing_its_url(tmp_path):
    url = f"postgresql://gigdesk:s3cret-pw@127.0.0.1:{free_port()}/gigdesk"
    (line,) = check({"GIGDESK_DB": str(tmp_path / "gigdesk.db"), "GIGDESK_DATABASE_URL": url})
    assert line.startswith("[ ] database: PostgreSQL (GIGDESK_DATABASE_URL) does not answer (OperationalError)"), line
    assert "s3cret" not in line and "127.0.0.1" not in line


def test_a_database_url_that_is_not_postgresql_is_a_setting_problem(tmp_path):
    settings, problems = read_settings({"GIGDESK_DATABASE_URL": "mysql://u:pw@db/gigdesk"}, dotenv_path="")
    assert [p.variable for p in problems if p.variable == "GIGDESK_DATABASE_URL"] == ["GIGDESK_DATABASE_URL"]
    assert settings.database_url is None and "pw@" not in repr(settings)
