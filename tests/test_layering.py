"""Every SQL statement lives in storage/: bot/ and handlers/ hold none in their string literals."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("bot", "handlers")

# Files allowed to keep SQL for now, each with why (the lead empties this list).
ALLOWED: dict[str, str] = {}

# A statement's opening words; "DELETE" alone (an HTTP method) or prose does not match.
SQL_START = re.compile(
    r"""^\s*(?:
        SELECT\s | INSERT\s+(?:OR\s+\w+\s+)?INTO\s | REPLACE\s+INTO\s | UPDATE\s+\w+\s+SET\s
      | DELETE\s+FROM\s | CREATE\s+(?:UNIQUE\s+|TEMP\s+|TEMPORARY\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\s
      | ALTER\s+TABLE\s | DROP\s+(?:TABLE|INDEX|VIEW|TRIGGER)\s | PRAGMA\s | SAVEPOINT\s | RELEASE\s+SAVEPOINT\s
      | BEGIN(?:\s+(?:IMMEDIATE|DEFERRED|EXCLUSIVE|TRANSACTION))?\s*;?\s*$ | COMMIT\s*;?\s*$ | ROLLBACK\b
    )""",
    re.VERBOSE,
)


def sql_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string literal (or f-string's leading text) that opens an SQL statement."""
    found: set[tuple[int, str]] = set()  # a set: an f-string's first part is walked twice
    for node in ast.walk(ast.parse(source)):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            text = str(node.values[0].value)
        if text is not None and SQL_START.match(text):
            found.add((node.lineno, text.strip().splitlines()[0][:60]))
    return sorted(found)


def sql_outside_storage() -> dict[str, list[tuple[int, str]]]:
    hits = {}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            found = sql_literals(path.read_text())
            if found:
                hits[path.relative_to(ROOT).as_posix()] = found
    return hits


# Unit tier: CPython 3.11's ast.parse can fail with "AST constructor recursion depth
# mismatch" while other threads run (CPython gh-106905), as they do in the end-to-end tier.
@pytest.mark.unit
def test_no_sql_in_bot_or_handlers():
    hits = {name: found for name, found in sql_outside_storage().items() if name not in ALLOWED}
    assert hits == {}, "SQL belongs in storage/ (a named function there):\n" + "\n".join(
        f"  {name}:{line}: {text}" for name, found in hits.items() for line, text in found
    )


@pytest.mark.unit
def test_the_allow_list_names_only_files_that_still_hold_sql():
    stale = set(ALLOWED) - set(sql_outside_storage())
    assert stale == set(), f"no SQL left in {sorted(stale)}: take them off ALLOWED"


@pytest.mark.unit
def test_the_scan_finds_statements_and_passes_http_methods_and_prose():
    source = '''
db.execute("SELECT * FROM t WHERE id = ?", [1])
db.execute(f"INSERT OR IGNORE INTO t ({cols}) VALUES (?)")
db.execute("UPDATE t SET x = 1")
db.execute("DELETE FROM t")
db.execute("BEGIN IMMEDIATE")
call("DELETE", "/badges/1")
"""Select the rows; update the message."""
'''
    assert [line for line, _ in sql_literals(source)] == [2, 3, 4, 5, 6]
    assert sql_literals((ROOT / "storage" / "offers.py").read_text())  # storage/ is full of it


def test_importing_the_api_clients_installs_no_logging_filter_and_set_up_installs_one():
    """Redaction is the logging set-up's job (bot.logsafe), not an import's side effect."""
    script = """
import logging
import bot.rapidworkers.client, bot.wonolo.client
loggers = [logging.getLogger()] + [l for l in logging.Logger.manager.loggerDict.values() if isinstance(l, logging.Logger)]
print(sum(len(l.filters) + sum(len(h.filters) for h in l.handlers) for l in loggers))
from bot.logsafe import RedactSecrets, setup_logging
setup_logging(("s3cret-value",))
setup_logging(("s3cret-value",))
root = logging.getLogger()
print(sum(isinstance(f, RedactSecrets) for h in root.handlers for f in h.filters))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "1"], out
