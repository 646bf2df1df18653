"""User-taught attributes and the attribute columns the grouping and the summary read."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlite_utils

from faceorganizer.store.people import CHUNK


def taught_counts(db: sqlite_utils.Database) -> list[tuple[str, int, int, int, int]]:
    """Per attribute name: (name, user yes, user no, predicted yes, predicted no), by name."""
    rows = db.execute(
        """
        SELECT name,
               SUM(origin = 'user' AND value = 1), SUM(origin = 'user' AND value = 0),
               SUM(origin = 'predicted' AND value = 1), SUM(origin = 'predicted' AND value = 0)
        FROM user_attributes GROUP BY name ORDER BY name
        """).fetchall()
    return [(r[0], int(r[1] or 0), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0)) for r in rows]


def origin_of(db: sqlite_utils.Database, face_id: int, name: str) -> str | None:
    """``user`` or ``predicted`` for the face's value of ``name``, ``None`` when it has none."""
    row = db.execute("SELECT origin FROM user_attributes WHERE face_id = ? AND name = ?", [face_id, name]).fetchone()
    return str(row[0]) if row else None


def user_values(db: sqlite_utils.Database, name: str) -> dict[int, bool]:
    """What the user taught about ``name``: face id → yes/no."""
    return {int(r[0]): bool(r[1]) for r in db.execute(
        "SELECT face_id, value FROM user_attributes WHERE name = ? AND origin = 'user'", [name]).fetchall()}


def replace_predictions(db: sqlite_utils.Database, name: str, rows: Sequence[tuple[int, str, int, float]]) -> None:
    """Replace every prediction of ``name`` by ``rows`` (face id, name, value, confidence); user rows stay."""
    db.execute("DELETE FROM user_attributes WHERE name = ? AND origin = 'predicted'", [name])
    db.conn.executemany("INSERT OR IGNORE INTO user_attributes (face_id, name, value, origin, confidence) "
                        "VALUES (?, ?, ?, 'predicted', ?)", list(rows))


def current_codes(db: sqlite_utils.Database) -> dict[int, int]:
    """Face id → 32-bit code, for the faces coded by the library's most used code model."""
    model = db.execute("SELECT code_model, COUNT(*) AS n FROM faces WHERE code IS NOT NULL "
                       "GROUP BY code_model ORDER BY n DESC LIMIT 1").fetchone()
    if model is None:
        return {}
    return {int(r[0]): int(r[1]) for r in db.execute(
        "SELECT id, code FROM faces WHERE code IS NOT NULL AND code_model IS ?", [model[0]]).fetchall()}


def face_columns(db: sqlite_utils.Database, columns: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Every face's ``id`` and the given ``faces`` columns (names checked by the caller), in id order."""
    select = ", ".join(["id", *columns])
    yield from db.query(f"SELECT {select} FROM faces ORDER BY id")


def summary_rows(db: sqlite_utils.Database, face_ids: Sequence[int], columns: str) -> list[dict[str, Any]]:
    """Rows over ``faces f JOIN photos p LEFT JOIN face_chips c`` for the faces (``columns`` qualified by
    the caller: ``f.age, p.taken_at, c.chip`` …), in face id order."""
    ids = sorted({int(f) for f in face_ids})
    out: list[dict[str, Any]] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        marks = ",".join("?" for _ in chunk)
        out += list(db.query(f"SELECT {columns} FROM faces f JOIN photos p ON p.id = f.photo_id "
                             f"LEFT JOIN face_chips c ON c.face_id = f.id "
                             f"WHERE f.id IN ({marks}) ORDER BY f.id", chunk))
    return out


def taught_counts_of_faces(db: sqlite_utils.Database, face_ids: Sequence[int]) -> dict[str, tuple[int, int]]:
    """Per taught attribute over the faces: (yes, faces with a value)."""
    ids = sorted({int(f) for f in face_ids})
    counts: dict[str, list[int]] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        marks = ",".join("?" for _ in chunk)
        for name, yes, n in db.execute(f"SELECT name, SUM(value), COUNT(*) FROM user_attributes "
                                       f"WHERE face_id IN ({marks}) GROUP BY name", chunk).fetchall():
            c = counts.setdefault(name, [0, 0])
            c[0] += int(yes or 0)
            c[1] += int(n)
    return {k: (v[0], v[1]) for k, v in counts.items()}
