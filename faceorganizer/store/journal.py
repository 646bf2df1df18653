"""The undo-able journal of user edits, recorded as row-level changes.

An edit runs inside :func:`record_edit`, which hands out an :class:`EditRecorder`. Every insert, update and
delete goes through the recorder, which snapshots the row before and after. The journal row stores that list,
so undo writes back each ``before`` in reverse order and redo each ``after`` in order: the exact previous
state comes back whatever the edit was, and a new edit type needs no undo code of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from faceorganizer.errors import InvalidEditError
from faceorganizer.store.db import inserted_id, transaction

#: Tables a user edit may touch, with their primary key columns.
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "people": ("id",),
    "assignments": ("face_id",),
    "rejections": ("face_id", "person_id"),
    "user_attributes": ("face_id", "name"),
    "kv": ("key",),
    "not_faces": ("id",),  # "not a face" (store/notface.py): the faces table follows it on undo/redo
}


@dataclass(frozen=True)
class JournalEntry:
    """One recorded edit as listed to the user."""

    id: int
    created_at: str
    op: str
    summary: str
    undone: bool


class EditRecorder:
    """Performs an edit's row writes and remembers each row's state before and after."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.changes: list[dict[str, Any]] = []

    def _row(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        where = " AND ".join(f"[{k}] = ?" for k in key)
        rows = list(self.db.query(f"SELECT * FROM [{table}] WHERE {where}", list(key.values())))
        return rows[0] if rows else None

    def _log(self, table: str, key: dict[str, Any], before: dict[str, Any] | None) -> None:
        after = self._row(table, key)
        if before != after:
            self.changes.append({"table": table, "key": key, "before": before, "after": after})

    def insert(self, table: str, row: dict[str, Any]) -> int:
        """Insert ``row`` (primary key may be omitted for ``people``); returns the new rowid."""
        cols = ", ".join(f"[{c}]" for c in row)
        marks = ", ".join("?" for _ in row)
        cursor = self.db.execute(f"INSERT INTO [{table}] ({cols}) VALUES ({marks})", list(row.values()))
        pk = PRIMARY_KEYS[table]
        rowid = inserted_id(cursor)
        key = {c: row[c] for c in pk} if all(c in row for c in pk) else {pk[0]: rowid}
        self._log(table, key, None)
        return rowid

    def upsert(self, table: str, row: dict[str, Any]) -> None:
        """Insert or replace the row whose primary key is in ``row``."""
        key = {c: row[c] for c in PRIMARY_KEYS[table]}
        before = self._row(table, key)
        self.db.execute(_upsert_sql(table, row), list(row.values()))
        self._log(table, key, before)

    def update(self, table: str, key: dict[str, Any], **values: Any) -> None:
        """Set columns of one existing row."""
        before = self._row(table, key)
        if before is None:
            return
        sets = ", ".join(f"[{c}] = ?" for c in values)
        where = " AND ".join(f"[{k}] = ?" for k in key)
        self.db.execute(f"UPDATE [{table}] SET {sets} WHERE {where}", [*values.values(), *key.values()])
        self._log(table, key, before)

    def delete(self, table: str, key: dict[str, Any]) -> None:
        """Delete one row (no-op when it does not exist)."""
        before = self._row(table, key)
        if before is None:
            return
        where = " AND ".join(f"[{k}] = ?" for k in key)
        self.db.execute(f"DELETE FROM [{table}] WHERE {where}", list(key.values()))
        self._log(table, key, before)


def _upsert_sql(table: str, row: dict[str, Any]) -> str:
    """INSERT … ON CONFLICT DO UPDATE: unlike REPLACE it never deletes the row, so no ON DELETE CASCADE
    fires (restoring a person must not drop the faces assigned to it)."""
    cols = ", ".join(f"[{c}]" for c in row)
    marks = ", ".join("?" for _ in row)
    pk = ", ".join(f"[{c}]" for c in PRIMARY_KEYS[table])
    others = [c for c in row if c not in PRIMARY_KEYS[table]]
    action = "DO UPDATE SET " + ", ".join(f"[{c}] = excluded.[{c}]" for c in others) if others else "DO NOTHING"
    return f"INSERT INTO [{table}] ({cols}) VALUES ({marks}) ON CONFLICT ({pk}) {action}"


def _put(db: sqlite_utils.Database, table: str, key: dict[str, Any], row: dict[str, Any] | None) -> None:
    if row is None:
        where = " AND ".join(f"[{k}] = ?" for k in key)
        db.execute(f"DELETE FROM [{table}] WHERE {where}", list(key.values()))
    else:
        db.execute(_upsert_sql(table, row), list(row.values()))


@contextmanager
def record_edit(db: sqlite_utils.Database, op: str, summary: str) -> Iterator[EditRecorder]:
    """Run one user edit atomically and journal it; a new edit discards the redo history."""
    with transaction(db):
        recorder = EditRecorder(db)
        yield recorder
        if recorder.changes:
            db.execute("DELETE FROM journal WHERE undone = 1")
            db.execute(
                "INSERT INTO journal (op, summary, changes) VALUES (?, ?, ?)",
                [op, summary, json.dumps(recorder.changes)],
            )


def _apply(db: sqlite_utils.Database, changes: list[dict[str, Any]], *, forward: bool) -> None:
    # Deferring foreign keys lets rows come back in any order within the transaction.
    db.execute("PRAGMA defer_foreign_keys = ON")
    ordered = changes if forward else list(reversed(changes))
    for change in ordered:
        _put(db, change["table"], change["key"], change["after"] if forward else change["before"])


def step(db: sqlite_utils.Database, *, forward: bool) -> JournalEntry:
    """Undo (``forward=False``: the latest edit not undone) or redo (the earliest undone edit) one edit.

    Raises :class:`InvalidEditError` when there is nothing to undo or redo.
    """
    with transaction(db):
        order = "ASC" if forward else "DESC"
        rows = list(db.query(f"SELECT * FROM journal WHERE undone = ? ORDER BY id {order} LIMIT 1",
                             [int(forward)]))
        if not rows:
            raise InvalidEditError("nothing to redo" if forward else "nothing to undo")
        row = rows[0]
        _apply(db, json.loads(row["changes"]), forward=forward)
        db.execute("UPDATE journal SET undone = ? WHERE id = ?", [int(not forward), row["id"]])
    return _entry({**row, "undone": int(not forward)})


def undo(db: sqlite_utils.Database) -> JournalEntry:
    """Revert the latest edit that is not undone; raises :class:`InvalidEditError` when there is none."""
    return step(db, forward=False)


def redo(db: sqlite_utils.Database) -> JournalEntry:
    """Re-apply the earliest undone edit; raises :class:`InvalidEditError` when there is none."""
    return step(db, forward=True)


def history(db: sqlite_utils.Database, limit: int = 50) -> list[JournalEntry]:
    """The most recent edits, newest first."""
    return [_entry(r) for r in db.query("SELECT * FROM journal ORDER BY id DESC LIMIT ?", [limit])]


def _entry(row: dict[str, Any]) -> JournalEntry:
    return JournalEntry(int(row["id"]), row["created_at"], row["op"], row["summary"], bool(row["undone"]))
