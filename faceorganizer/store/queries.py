"""Read-side queries over the store, returning plain typed rows for the CLI (JSON) and the GUI models."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlite_utils

ATTRIBUTE_COLUMNS = ("age", "gender", "sharpness", "brightness", "size", "yaw", "pitch", "roll", "pose",
                     "quality", "expression", "smile")


@dataclass(frozen=True)
class PersonRow:
    """A person as listed: the ``people --json`` shape plus display fields."""

    id: int
    name: str | None
    hidden: bool
    cover_face_id: int | None
    face_count: int
    photo_count: int
    confirmed_count: int
    face_ids: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "face_count": self.face_count,
                "photo_count": self.photo_count, "face_ids": self.face_ids, "hidden": self.hidden}


@dataclass(frozen=True)
class FaceRow:
    """A face as listed: the ``faces --json`` shape."""

    id: int
    photo_id: int
    photo: str
    box: tuple[float, float, float, float]
    score: float
    person_id: int | None
    origin: str | None
    attributes: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "photo": self.photo, "box": list(self.box), "score": self.score,
                "person_id": self.person_id, "attributes": self.attributes}


FACE_SELECT = (
    "SELECT f.id, f.photo_id, p.path AS photo, f.x, f.y, f.w, f.h, f.det_score, a.person_id, a.origin, "
    + ", ".join(f"f.{c}" for c in ATTRIBUTE_COLUMNS)
    + " FROM faces f JOIN photos p ON p.id = f.photo_id LEFT JOIN assignments a ON a.face_id = f.id"
)


def face_from_row(row: dict[str, Any]) -> FaceRow:
    attributes = {c: row[c] for c in ATTRIBUTE_COLUMNS if row.get(c) is not None}
    if "gender" in attributes:
        attributes["gender_label"] = "male" if attributes["gender"] >= 0.5 else "female"
    return FaceRow(row["id"], row["photo_id"], row["photo"], (row["x"], row["y"], row["w"], row["h"]),
                   row["det_score"], row["person_id"], row["origin"], attributes)


_ALIASES = re.compile(r"\b([pa])\.")


def face_ids(db: sqlite_utils.Database, where: str = "1", params: Sequence[Any] = (), *,
             order: str = "f.id", limit: int = -1, offset: int = 0) -> list[int]:
    """Ids of the faces matching a (parameterised) condition over aliases ``f`` (faces), ``p`` (photos) and
    ``a`` (assignments), in ``order``.

    Photos and assignments are joined only when the condition or the order uses them: a filter on face
    attributes alone then scans ``faces`` only — the two look-ups cost ~0.6 µs per matching face (11 ms of a
    filter matching 17k of 100k faces, bench/bench_filter.py).
    """
    used = set(_ALIASES.findall(f"{where} {order}"))
    sql = "SELECT f.id FROM faces f"
    if "p" in used:
        sql += " JOIN photos p ON p.id = f.photo_id"
    if "a" in used:
        sql += " LEFT JOIN assignments a ON a.face_id = f.id"
    sql += f" WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
    return [r[0] for r in db.execute(sql, [*params, limit, offset])]


def faces(db: sqlite_utils.Database, where: str = "1", params: Sequence[Any] = (),
          limit: int | None = None, offset: int = 0, order: str = "f.id") -> list[FaceRow]:
    """Faces matching a (parameterised) SQL condition over aliases ``f`` (faces), ``p`` (photos), ``a``."""
    sql = f"{FACE_SELECT} WHERE {where} ORDER BY {order}"
    args = list(params)
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        args += [limit, offset]
    return [face_from_row(r) for r in db.query(sql, args)]


def people(db: sqlite_utils.Database, *, include_hidden: bool = False, with_face_ids: bool = True
           ) -> list[PersonRow]:
    """Every person with counts, most faces first."""
    rows = db.query(
        """
        SELECT pe.id, pe.name, pe.hidden, pe.cover_face_id,
               COUNT(a.face_id) AS face_count,
               COUNT(DISTINCT f.photo_id) AS photo_count,
               SUM(a.origin = 'confirmed') AS confirmed_count,
               GROUP_CONCAT(a.face_id) AS face_ids
        FROM people pe
        LEFT JOIN assignments a ON a.person_id = pe.id
        LEFT JOIN faces f ON f.id = a.face_id
        WHERE (? OR pe.hidden = 0)
        GROUP BY pe.id
        HAVING face_count > 0 OR pe.name IS NOT NULL
        ORDER BY face_count DESC, pe.id
        """,
        [1 if include_hidden else 0],
    )
    out = []
    for r in rows:
        ids = sorted(int(x) for x in r["face_ids"].split(",")) if (with_face_ids and r["face_ids"]) else []
        out.append(PersonRow(r["id"], r["name"], bool(r["hidden"]), r["cover_face_id"], r["face_count"],
                             r["photo_count"], int(r["confirmed_count"] or 0), ids))
    return out


#: Width of a stored embedding (``pipeline.fusion.DIM``: dlib's 128 + SFace's 128; a test checks they agree).
EMBEDDING_DIM = 256


def embeddings(db: sqlite_utils.Database, where: str = "f.embedding IS NOT NULL", params: Sequence[Any] = ()
               ) -> tuple[np.ndarray, np.ndarray]:
    """(face ids int64, embeddings N×EMBEDDING_DIM float32) for the faces matching ``where`` (alias ``f``)."""
    ids: list[int] = []
    blobs: list[bytes] = []
    for r in db.query(f"SELECT f.id, f.embedding FROM faces f WHERE {where} ORDER BY f.id", list(params)):
        if r["embedding"] is not None:
            ids.append(r["id"])
            blobs.append(r["embedding"])
    if not ids:
        return np.zeros(0, np.int64), np.zeros((0, EMBEDDING_DIM), np.float32)
    return np.asarray(ids, np.int64), np.frombuffer(b"".join(blobs), np.float32).reshape(len(ids), -1).copy()


def landmarks_of(value: str) -> np.ndarray:
    return np.asarray(json.loads(value), np.float32).reshape(5, 2)


def face_conditions(*, person_id: int | None = None, unassigned: bool = False, clause: str | None = None,
                    params: Sequence[Any] = ()) -> tuple[str, list[Any]]:
    """The WHERE condition (and its parameters) for :func:`faces`: a person's faces, faces in no person, and a
    compiled filter ``clause`` (from ``attributes.filters.compile_filter``) with its ``params``."""
    where, args = ["1"], []
    if person_id is not None:
        where.append("a.person_id = ?")
        args.append(person_id)
    if unassigned:
        where.append("a.person_id IS NULL")
    if clause:
        where.append(f"({clause})")
        args += list(params)
    return " AND ".join(where), args
