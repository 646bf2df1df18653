"""Face data is biometric data: turning recognition off, forgetting a person, deleting every face.

Deleting is real: rows are removed with ``secure_delete`` on (freed pages are zeroed), the database is
VACUUMed and the WAL checkpointed and truncated, thumbnails and the vector index are removed from the cache,
and journal entries that mention the deleted faces or person go too (undo must not resurrect them).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import sqlite_utils

from faceorganizer.errors import NotFoundError
from faceorganizer.store import transaction

log = logging.getLogger("faceorganizer.privacy")

RECOGNITION_KEY = "recognition"


def recognition_enabled(db: sqlite_utils.Database) -> bool:
    """Whether this library detects and recognises faces on import (on unless the user turned it off)."""
    rows = list(db.query("SELECT value FROM kv WHERE key = ?", [RECOGNITION_KEY]))
    return not rows or rows[0]["value"] != "off"


def set_recognition(db: sqlite_utils.Database, enabled: bool) -> None:
    """Turn face recognition on or off for this library.

    Turning it off stops future analysis (photos are still listed); existing face data stays until the user
    deletes it. Turning it on again queues every photo that was imported without analysis.
    """
    with transaction(db):
        db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)",
                   [RECOGNITION_KEY, "on" if enabled else "off"])
        if enabled:
            db.execute("UPDATE photos SET status = 'pending' WHERE status = 'ok' AND faces_model IS NULL")


def _scrub(db: sqlite_utils.Database) -> None:
    """Make deleted bytes unrecoverable from the database file and its WAL."""
    db.execute("VACUUM")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _drop_journal_entries(db: sqlite_utils.Database, face_ids: set[int], person_ids: set[int]) -> int:
    dropped = 0
    for row in list(db.query("SELECT id, changes FROM journal")):
        for change in json.loads(row["changes"]):
            rows = [change.get("before") or {}, change.get("after") or {}]
            key = change.get("key") or {}
            faces = {r.get("face_id") for r in rows} | {key.get("face_id")}
            people = {r.get("person_id") for r in rows} | {key.get("person_id")}
            if change["table"] == "people":
                people |= {key.get("id")}
            if faces & face_ids or people & person_ids:
                db.execute("DELETE FROM journal WHERE id = ?", [row["id"]])
                dropped += 1
                break
    return dropped


def _remove_thumbnails(cache_dir: Path, face_ids: set[int] | None) -> None:
    thumbs = cache_dir / "thumbs"
    if face_ids is None:
        shutil.rmtree(thumbs, ignore_errors=True)
    elif thumbs.is_dir():
        for face_id in face_ids:
            for path in thumbs.glob(f"face-{face_id}[-.]*"):
                path.unlink(missing_ok=True)
    for index_file in cache_dir.glob("index*"):
        index_file.unlink(missing_ok=True)  # rebuilt from the store on next search


def forget_person(db: sqlite_utils.Database, person_id: int, cache_dir: Path) -> int:
    """Delete a person and all their faces' data for good (not undoable). Returns the faces removed.

    The photos stay; their other faces stay. A later import of an unchanged photo does not re-detect the
    forgotten faces (no model work on unchanged files); re-analysing a photo that changed may find them again.
    """
    if not list(db.query("SELECT id FROM people WHERE id = ?", [person_id])):
        raise NotFoundError(f"no person with id {person_id}")
    face_ids = {r["face_id"] for r in db.query("SELECT face_id FROM assignments WHERE person_id = ?", [person_id])}
    db.execute("PRAGMA secure_delete = ON")
    with transaction(db):
        marks = ",".join("?" for _ in face_ids)
        if face_ids:
            db.execute(f"DELETE FROM faces WHERE id IN ({marks})", list(face_ids))
        db.execute("DELETE FROM rejections WHERE person_id = ?", [person_id])
        db.execute("UPDATE people SET cover_face_id = NULL WHERE cover_face_id IN "
                   f"({marks or 'NULL'})", list(face_ids))
        db.execute("DELETE FROM people WHERE id = ?", [person_id])
        dropped = _drop_journal_entries(db, face_ids, {person_id})
    _scrub(db)
    _remove_thumbnails(cache_dir, face_ids)
    log.info("forgot person %d: %d faces, %d journal entries", person_id, len(face_ids), dropped)
    return len(face_ids)


def delete_all_face_data(db: sqlite_utils.Database, cache_dir: Path) -> int:
    """Delete every face, embedding, code, person, name and edit of the library. Returns the faces removed.

    Recognition is turned off for the library at the same time (otherwise the next import would find every
    face again); turning it back on queues the photos for analysis.
    """
    n = db.execute("SELECT COUNT(*) FROM faces").fetchone()[0]
    db.execute("PRAGMA secure_delete = ON")
    with transaction(db):
        for table in ("user_attributes", "rejections", "assignments", "faces", "people", "journal"):
            db.execute(f"DELETE FROM {table}")
        db.execute("DELETE FROM kv")
        db.execute("INSERT INTO kv (key, value) VALUES (?, 'off')", [RECOGNITION_KEY])
        db.execute("UPDATE photos SET faces_model = NULL WHERE status = 'ok'")
    _scrub(db)
    _remove_thumbnails(cache_dir, None)
    log.info("deleted all face data: %d faces", n)
    return n
