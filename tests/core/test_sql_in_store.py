"""All SQL lives under faceorganizer/store/: every other module calls typed store functions.

The check parses each module (``ast``) and looks at its string literals, f-strings included (their constant
parts joined), for SQL statements: ``SELECT … FROM``, ``INSERT [OR …] INTO``, ``UPDATE x SET``,
``DELETE FROM``, ``CREATE [TEMP] TABLE|INDEX|VIEW|TRIGGER``, ``PRAGMA``, ``VACUUM``, ``BEGIN IMMEDIATE``.
Keywords must be upper case, so English prose ("select faces from …") never matches; docstrings are skipped.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import faceorganizer

PACKAGE = Path(faceorganizer.__file__).resolve().parent

SQL = re.compile(
    r"\bSELECT\b[\s\S]*?\bFROM\b|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\[?[\w.]+\]?\s+SET\b"
    r"|\bDELETE\s+FROM\b|\bCREATE\s+(?:TEMP\s+|TEMPORARY\s+|UNIQUE\s+|VIRTUAL\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b"
    r"|\bPRAGMA\s+\w+|\bVACUUM\b|\bBEGIN\s+IMMEDIATE\b")

#: Modules (paths relative to the package) whose SQL has not moved into the store yet. This list only
#: shrinks: the coordinator removes each entry once its owner moved the SQL; never add to it.
NOT_YET_MOVED: frozenset[str] = frozenset()


def sql_lines(source: str) -> list[int]:
    """Line numbers of string literals holding an SQL statement (docstrings excluded)."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    lines = []
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value
        if text and SQL.search(text):
            lines.append(node.lineno)
    return sorted(set(lines))


def modules_outside_store() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p.relative_to(PACKAGE).parts[0] != "store"]


def test_the_check_finds_sql_in_every_form():
    source = '''
"""SELECT name FROM people: a docstring may mention SQL."""
a = "SELECT id FROM faces WHERE x = ?"
b = ("INSERT OR REPLACE INTO kv (key, value) "
     "VALUES (?, ?)")
c = f"UPDATE photos SET status = ? WHERE id IN ({marks})"
d = "DELETE FROM journal WHERE undone = 1"
e = "CREATE TEMP TABLE IF NOT EXISTS seen (path TEXT)"
f = "PRAGMA table_info(faces)"
g = "select the faces from this photo"  # prose, not SQL
'''
    assert sql_lines(source) == [3, 4, 6, 7, 8, 9]


def test_no_sql_outside_the_store():
    found = {}
    for path in modules_outside_store():
        rel = path.relative_to(PACKAGE).as_posix()
        lines = sql_lines(path.read_text(encoding="utf-8"))
        if lines and rel not in NOT_YET_MOVED:
            found[rel] = lines
    assert not found, ("SQL outside faceorganizer/store/ (move it into a typed store function): "
                       + ", ".join(f"{m} lines {v}" for m, v in found.items()))


def test_the_allow_list_only_names_modules_that_still_hold_sql():
    stale = [m for m in NOT_YET_MOVED if not (PACKAGE / m).exists() or not sql_lines((PACKAGE / m).read_text())]
    assert not stale, f"remove from NOT_YET_MOVED (their SQL moved): {stale}"
