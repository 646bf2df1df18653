"""People, assignments and rejections as the user's edits read them (the writes go through the journal's
:class:`~faceorganizer.store.journal.EditRecorder`, so every edit stays undoable)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlite_utils

#: ``IN (…)`` lists are split into chunks of this many ids (SQLite's variable limit is 32766; small is fast).
CHUNK = 500


def person(db: sqlite_utils.Database, person_id: int) -> dict[str, Any] | None:
    """The person's row (id, name, hidden, cover_face_id, …), or ``None``."""
    rows = list(db.query("SELECT * FROM people WHERE id = ?", [person_id]))
    return rows[0] if rows else None


def person_named(db: sqlite_utils.Database, name: str, *, except_id: int | None = None,
                 nocase: bool = False) -> dict[str, Any] | None:
    """The first person (lowest id) with this name (optionally ignoring case, or another than ``except_id``)."""
    collate = " COLLATE NOCASE" if nocase else ""
    rows = list(db.query(f"SELECT id, name FROM people WHERE name = ?{collate} AND id IS NOT ? ORDER BY id "
                         "LIMIT 1", [name, except_id]))
    return rows[0] if rows else None


def face_ids_of(db: sqlite_utils.Database, person_id: int) -> list[int]:
    """The person's faces, by id."""
    return [r[0] for r in db.execute("SELECT face_id FROM assignments WHERE person_id = ? ORDER BY face_id",
                                     [person_id]).fetchall()]


def person_of_face(db: sqlite_utils.Database, face_id: int) -> int | None:
    """The person a face is assigned to, if any."""
    row = db.execute("SELECT person_id FROM assignments WHERE face_id = ?", [face_id]).fetchone()
    return int(row[0]) if row else None


def rejected_faces(db: sqlite_utils.Database, person_id: int) -> list[int]:
    """Faces the user said are not this person."""
    return [r[0] for r in db.execute("SELECT face_id FROM rejections WHERE person_id = ?", [person_id]).fetchall()]


def existing_faces(db: sqlite_utils.Database, face_ids: Sequence[int]) -> set[int]:
    """Which of ``face_ids`` exist."""
    ids = list(face_ids)
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        marks = ",".join("?" for _ in chunk)
        found |= {r[0] for r in db.execute(f"SELECT id FROM faces WHERE id IN ({marks})", chunk).fetchall()}
    return found


def now(db: sqlite_utils.Database) -> str:
    """SQLite's ``datetime('now')`` (the format every timestamp column uses)."""
    return str(db.execute("SELECT datetime('now')").fetchone()[0])


def photo_paths(db: sqlite_utils.Database, photo_ids: Sequence[int]) -> dict[int, str]:
    """Stored paths of photos, by id."""
    ids = list(photo_ids)
    out: dict[int, str] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        marks = ",".join("?" for _ in chunk)
        out.update((int(r[0]), str(r[1])) for r in
                   db.execute(f"SELECT id, path FROM photos WHERE id IN ({marks})", chunk).fetchall())
    return out


def faces_matching(db: sqlite_utils.Database, where: str, params: Sequence[Any]) -> list[int]:
    """Face ids matching a compiled filter clause (over ``faces f JOIN photos p``), in id order."""
    return [r[0] for r in db.execute(f"SELECT f.id FROM faces f JOIN photos p ON p.id = f.photo_id WHERE {where} "
                                     "ORDER BY f.id", list(params)).fetchall()]
