""""Not a face": removing false detections for good, undoably.

The user's decision lives in ``not_faces`` (photo content hash + box), a journaled table: the edit inserts one
row per face, undo deletes it, redo puts it back. The faces table follows that decision through
:func:`reconcile`: a face named by a ``not_faces`` row moves to ``face_trash`` (its row, chip, assignment,
rejections and the covers it was), and a trashed face whose ``not_faces`` row is gone comes back exactly as
it was. The import asks :func:`remembered_boxes` for a photo's content hash and drops detections on them,
so neither a re-scan nor a re-import of the same picture brings a removed face back.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from faceorganizer.errors import NotFoundError
from faceorganizer.geometry import box_iou
from faceorganizer.store.db import transaction
from faceorganizer.store.journal import record_edit

#: A detection overlapping a remembered box this much (intersection over union) is the same false face.
SAME_BOX_IOU = 0.5


def _encode(row: dict[str, Any]) -> str:
    return json.dumps({k: ({"b64": base64.b64encode(v).decode()} if isinstance(v, bytes) else v)
                       for k, v in row.items()})


def _decode(text: str) -> dict[str, Any]:
    return {k: (base64.b64decode(v["b64"]) if isinstance(v, dict) and "b64" in v else v)
            for k, v in json.loads(text).items()}


def mark(db: sqlite_utils.Database, face_ids: Sequence[int]) -> int:
    """Remove ``face_ids`` as "not a face" (one journaled edit); returns how many were removed."""
    ids = sorted({int(f) for f in face_ids})
    if not ids:
        return 0
    marks = ",".join("?" for _ in ids)
    rows = list(db.query(f"SELECT f.id, f.x, f.y, f.w, f.h, p.content_hash, p.path FROM faces f JOIN photos p "
                         f"ON p.id = f.photo_id WHERE f.id IN ({marks})", ids))
    missing = sorted(set(ids) - {r["id"] for r in rows})
    if missing:
        raise NotFoundError(f"no face with id {missing[0]}")
    what = f"face {ids[0]}" if len(ids) == 1 else f"{len(ids)} faces"
    with transaction(db):
        with record_edit(db, "not_face", f"not a face: {what}") as edit:
            for r in rows:
                # A photo without a content hash (never hashed) is remembered by its path instead.
                edit.insert("not_faces", {"face_id": r["id"], "content_hash": r["content_hash"] or f"path:{r['path']}",
                                          "x": r["x"], "y": r["y"], "w": r["w"], "h": r["h"]})
        reconcile(db)
    return len(rows)


def reconcile(db: sqlite_utils.Database) -> None:
    """Make the faces table follow ``not_faces`` (after the edit, an undo or a redo)."""
    with transaction(db):
        db.execute("PRAGMA defer_foreign_keys = ON")
        for (face_id,) in db.execute("SELECT n.face_id FROM not_faces n JOIN faces f ON f.id = n.face_id").fetchall():
            _trash(db, face_id)
        for (face_id,) in db.execute("SELECT t.face_id FROM face_trash t WHERE NOT EXISTS "
                                     "(SELECT 1 FROM not_faces n WHERE n.face_id = t.face_id)").fetchall():
            _restore(db, face_id)


def _trash(db: sqlite_utils.Database, face_id: int) -> None:
    face = next(iter(db.query("SELECT * FROM faces WHERE id = ?", [face_id])))
    embedding = face.pop("embedding", None)
    chip = db.execute("SELECT chip FROM face_chips WHERE face_id = ?", [face_id]).fetchone()
    links = {
        "assignments": list(db.query("SELECT * FROM assignments WHERE face_id = ?", [face_id])),
        "rejections": list(db.query("SELECT * FROM rejections WHERE face_id = ?", [face_id])),
        "user_attributes": list(db.query("SELECT * FROM user_attributes WHERE face_id = ?", [face_id])),
        "covers": [r[0] for r in db.execute("SELECT id FROM people WHERE cover_face_id = ?", [face_id])],
    }
    db.execute("INSERT OR REPLACE INTO face_trash (face_id, face, embedding, chip, links) VALUES (?, ?, ?, ?, ?)",
               [face_id, _encode(face), embedding, chip[0] if chip else None, json.dumps(links)])
    db.execute("DELETE FROM faces WHERE id = ?", [face_id])  # chip, assignment, rejections cascade


def _insert(db: sqlite_utils.Database, table: str, row: dict[str, Any]) -> None:
    cols = ", ".join(f"[{c}]" for c in row)
    db.execute(f"INSERT OR REPLACE INTO [{table}] ({cols}) VALUES ({', '.join('?' for _ in row)})",
               list(row.values()))


def _restore(db: sqlite_utils.Database, face_id: int) -> None:
    row = db.execute("SELECT face, embedding, chip, links FROM face_trash WHERE face_id = ?", [face_id]).fetchone()
    face = {**_decode(row[0]), "embedding": row[1]}
    if db.execute("SELECT 1 FROM photos WHERE id = ?", [face["photo_id"]]).fetchone() is None:
        db.execute("DELETE FROM face_trash WHERE face_id = ?", [face_id])  # the photo itself is gone
        return
    _insert(db, "faces", face)
    if row[2] is not None:
        _insert(db, "face_chips", {"face_id": face_id, "chip": row[2]})
    links = json.loads(row[3])
    for table in ("assignments", "rejections", "user_attributes"):
        for link in links.get(table, []):
            person = link.get("person_id")
            if person is None or db.execute("SELECT 1 FROM people WHERE id = ?", [person]).fetchone():
                _insert(db, table, link)
    for person in links.get("covers", []):
        db.execute("UPDATE people SET cover_face_id = ? WHERE id = ? AND cover_face_id IS NULL", [face_id, person])
    db.execute("DELETE FROM face_trash WHERE face_id = ?", [face_id])


def remembered_boxes(db: sqlite_utils.Database, content_hash: str | None, path: str | None = None
                     ) -> list[tuple[float, float, float, float]]:
    """Boxes (x, y, w, h in upright-photo pixels) the user removed as "not a face" from this picture."""
    keys = [k for k in (content_hash, f"path:{path}" if path else None) if k]
    if not keys:
        return []
    marks = ",".join("?" for _ in keys)
    return [(r[0], r[1], r[2], r[3]) for r in
            db.execute(f"SELECT x, y, w, h FROM not_faces WHERE content_hash IN ({marks})", keys)]


def is_remembered(box: Sequence[float], remembered: Sequence[Sequence[float]]) -> bool:
    """Whether a detection's box (x, y, w, h) is one the user removed from this picture."""
    return any(box_iou(box, r) >= SAME_BOX_IOU for r in remembered)


def count(db: sqlite_utils.Database) -> int:
    """How many boxes are remembered as "not a face"."""
    return int(db.execute("SELECT COUNT(*) FROM not_faces").fetchone()[0])
