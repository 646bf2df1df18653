"""The SQL of people grouping (``faceorganizer.people.grouping``): faces to group, assignments, people.

Plain reads and writes; the grouping decisions live in ``people.grouping``. Writes that belong together
are run by the caller inside one ``transaction``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlite_utils

#: kv key: how many embedded faces the library held at its last full re-grouping of the unnamed part.
REGROUPED_AT_KEY = "grouping_faces_at_regroup"


def current_model(db: sqlite_utils.Database) -> str | None:
    """The embedding model most faces carry (faces of another model wait for re-embedding)."""
    rows = list(db.query("SELECT embed_model, COUNT(*) AS n FROM faces WHERE embedding IS NOT NULL "
                         "GROUP BY embed_model ORDER BY n DESC LIMIT 1"))
    return rows[0]["embed_model"] if rows else None


def face_rows(db: sqlite_utils.Database, model: str | None, where: str = "1", params: list | tuple = ()
              ) -> list[dict[str, Any]]:
    """Embedded faces of ``model`` matching ``where`` (aliases ``f`` faces, ``a`` assignments), by id."""
    return list(db.query(
        "SELECT f.id, f.photo_id, f.embedding, f.w, f.h, f.sharpness, f.det_score, f.brightness, f.landmarks, "
        "COALESCE(a.person_id, -1) AS person, COALESCE(a.origin = 'confirmed', 0) AS confirmed "
        "FROM faces f LEFT JOIN assignments a ON a.face_id = f.id WHERE f.embedding IS NOT NULL "
        f"AND f.embed_model = ? AND ({where}) ORDER BY f.id", [model, *params]))


def count_faces(db: sqlite_utils.Database, model: str | None) -> int:
    """Embedded faces of ``model``."""
    return int(db.execute("SELECT COUNT(*) FROM faces WHERE embedding IS NOT NULL AND embed_model IS ?",
                          [model]).fetchone()[0])


def rejections(db: sqlite_utils.Database) -> set[tuple[int, int]]:
    """Every "not this person" pair: (face id, person id)."""
    return {(r["face_id"], r["person_id"]) for r in db.query("SELECT face_id, person_id FROM rejections")}


def named_people(db: sqlite_utils.Database) -> set[int]:
    """Ids of the people with a name."""
    return {r["id"] for r in db.query("SELECT id FROM people WHERE name IS NOT NULL")}


def person_exists(db: sqlite_utils.Database, person_id: int) -> bool:
    return bool(list(db.query("SELECT id FROM people WHERE id = ?", [person_id])))


def new_person(db: sqlite_utils.Database) -> int:
    """A new unnamed person's id."""
    return int(db.execute("INSERT INTO people (name) VALUES (NULL)").lastrowid)


def set_auto(db: sqlite_utils.Database, face_id: int, person_id: int, distance: float) -> None:
    """An automatic assignment of a face to a person (replacing any previous one)."""
    db.execute("INSERT OR REPLACE INTO assignments (face_id, person_id, origin, distance) "
               "VALUES (?, ?, 'auto', ?)", [face_id, person_id, distance])


def mark_doubtful(db: sqlite_utils.Database, face_ids: Sequence[int], doubtful: Sequence[bool]) -> None:
    """Record which of ``face_ids`` failed the face-ness gate; writes only the faces whose mark changed."""
    marked = {int(r[0]) for r in db.execute("SELECT id FROM faces WHERE doubtful = 1")}
    changes = [(int(d), int(f)) for f, d in zip(face_ids, doubtful) if (int(f) in marked) != bool(d)]
    if changes:
        db.conn.executemany("UPDATE faces SET doubtful = ? WHERE id = ?", changes)


def unassign(db: sqlite_utils.Database, face_id: int) -> None:
    """The face goes back to "Unsorted"."""
    db.execute("DELETE FROM assignments WHERE face_id = ?", [face_id])


def people_with_faces(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT COUNT(DISTINCT person_id) FROM assignments").fetchone()[0])


def assignment(db: sqlite_utils.Database, face_id: int) -> dict[str, Any] | None:
    """The face's assignment row (origin, distance), or None when unsorted."""
    rows = list(db.query("SELECT origin, distance FROM assignments WHERE face_id = ?", [face_id]))
    return rows[0] if rows else None


def regrouped_at(db: sqlite_utils.Database) -> int:
    """Faces the library held at its last full re-grouping (0: never)."""
    rows = list(db.query("SELECT value FROM kv WHERE key = ?", [REGROUPED_AT_KEY]))
    try:
        return int(rows[0]["value"]) if rows else 0
    except (TypeError, ValueError):
        return 0


def set_regrouped_at(db: sqlite_utils.Database, n_faces: int) -> None:
    db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", [REGROUPED_AT_KEY, str(int(n_faces))])


#: Faces that may be suggested for a person: unsorted, or automatic in an unnamed person, not in the person.
SUGGESTION_CANDIDATES = ("(a.person_id IS NULL OR (a.origin = 'auto' AND a.person_id IN "
                         "(SELECT id FROM people WHERE name IS NULL))) AND COALESCE(a.person_id, -1) != ?")

#: The faces of one person.
OF_PERSON = "a.person_id = ?"
