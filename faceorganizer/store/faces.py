"""Face rows as the import and re-embedding write them: boxes, attributes, embeddings and chips."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from faceorganizer.store.db import inserted_id

#: The columns of a detected face, in the order :func:`insert_face` takes their values.
FACE_COLUMNS = ("photo_id", "x", "y", "w", "h", "landmarks", "det_score", "embedding", "embed_model", "age",
                "gender", "sharpness", "brightness", "size", "yaw", "pitch", "roll", "pose", "quality",
                "attr_model", "expression", "smile", "expressions")

_INSERT_FACE = (f"INSERT INTO faces ({', '.join(FACE_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in FACE_COLUMNS)})")


@dataclass(frozen=True)
class ConfirmedBox:
    """A face the user confirmed, by box: its name is carried to the face found there after a re-analysis."""

    box: tuple[float, float, float, float]
    person_id: int


def insert_face(db: sqlite_utils.Database, values: Sequence[Any], chip_jpeg: bytes | None) -> int:
    """Write one face (``values`` follow :data:`FACE_COLUMNS`) and its JPEG chip; returns the face id."""
    face_id = inserted_id(db.execute(_INSERT_FACE, list(values)))
    if chip_jpeg is not None:
        db.execute("INSERT INTO face_chips (face_id, chip) VALUES (?, ?)", [face_id, chip_jpeg])
    return face_id


def confirmed_boxes(db: sqlite_utils.Database, photo_id: int) -> list[ConfirmedBox]:
    """The confirmed faces of a photo (box and person)."""
    rows = db.execute("SELECT f.x, f.y, f.w, f.h, a.person_id FROM faces f JOIN assignments a "
                      "ON a.face_id = f.id WHERE f.photo_id = ? AND a.origin = 'confirmed'", [photo_id]).fetchall()
    return [ConfirmedBox((r[0], r[1], r[2], r[3]), int(r[4])) for r in rows]


def delete_faces_of_photo(db: sqlite_utils.Database, photo_id: int) -> None:
    """Drop a photo's faces before it is analysed again (assignments and chips go with them)."""
    db.execute("DELETE FROM faces WHERE photo_id = ?", [photo_id])


def carry_confirmed(db: sqlite_utils.Database, face_id: int, person_id: int) -> None:
    """Keep a confirmed name on a re-detected face (import bookkeeping, not a user edit: not journaled)."""
    db.execute("INSERT OR REPLACE INTO assignments (face_id, person_id, origin) VALUES (?, ?, 'confirmed')",
               [face_id, person_id])


def face_boxes(db: sqlite_utils.Database, photo_id: int) -> list[tuple[int, tuple[float, float, float, float]]]:
    """(face id, box) of every face of a photo."""
    return [(int(r[0]), (r[1], r[2], r[3], r[4])) for r in
            db.execute("SELECT id, x, y, w, h FROM faces WHERE photo_id = ?", [photo_id]).fetchall()]


# ---------------------------------------------------------------------------------------------- re-embedding
def photos_with_stale_embeddings(db: sqlite_utils.Database, model_id: str) -> list[int]:
    """Photos holding faces embedded by another model than ``model_id``."""
    return [int(r[0]) for r in db.execute(
        "SELECT DISTINCT photo_id FROM faces WHERE embed_model IS NOT ? ORDER BY photo_id", [model_id]).fetchall()]


def count_stale_faces(db: sqlite_utils.Database, model_id: str) -> int:
    """Faces embedded by another model than ``model_id`` (what a re-embedding would redo)."""
    return int(db.execute("SELECT COUNT(*) FROM faces WHERE embed_model IS NOT ?", [model_id]).fetchone()[0])


def stale_faces(db: sqlite_utils.Database, photo_id: int, model_id: str) -> Iterator[tuple[int, str]]:
    """(face id, landmarks JSON) of the photo's faces embedded by another model."""
    for r in db.execute("SELECT id, landmarks FROM faces WHERE photo_id = ? AND embed_model IS NOT ?",
                        [photo_id, model_id]).fetchall():
        yield int(r[0]), str(r[1])


def set_embeddings(db: sqlite_utils.Database, updates: Sequence[tuple[bytes, str, int]]) -> None:
    """Store new embeddings: (float32 bytes, model id, face id); codes and densities are recomputed later."""
    db.conn.executemany("UPDATE faces SET embedding = ?, embed_model = ?, code = NULL, density = NULL "
                        "WHERE id = ?", list(updates))


def forget_codec(db: sqlite_utils.Database) -> None:
    """Drop the fitted face-code codec (codes are fitted per embedding model)."""
    db.execute("DELETE FROM kv WHERE key = 'codec'")
