"""The SQL behind the privacy commands: the recognition switch, forgetting a person, deleting all face data,
and making deleted bytes unrecoverable from the database file and its WAL.

``faceorganizer.privacy`` holds the policy (what to delete, when it counts as done); this module only reads and
writes rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import sqlite_utils

from faceorganizer.store.db import transaction

RECOGNITION_KEY = "recognition"
SCRUB_PENDING_KEY = "scrub_pending"
#: Tables holding face data, children first (delete-face-data empties them all).
FACE_DATA_TABLES = ("user_attributes", "rejections", "assignments", "faces", "people", "journal")


def recognition_enabled(db: sqlite_utils.Database) -> bool:
    """Whether this library detects and recognises faces on import (on unless the user turned it off)."""
    row = db.execute("SELECT value FROM kv WHERE key = ?", [RECOGNITION_KEY]).fetchone()
    return row is None or row[0] != "off"


def set_recognition(db: sqlite_utils.Database, enabled: bool) -> None:
    """Store the switch; turning it on queues the photos imported without analysis."""
    with transaction(db):
        db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)",
                   [RECOGNITION_KEY, "on" if enabled else "off"])
        if enabled:
            db.execute("UPDATE photos SET status = 'pending' WHERE status = 'ok' AND faces_model IS NULL")


def person_exists(db: sqlite_utils.Database, person_id: int) -> bool:
    return db.execute("SELECT 1 FROM people WHERE id = ?", [person_id]).fetchone() is not None


def missing_people(db: sqlite_utils.Database, person_ids: Iterable[int]) -> list[int]:
    """The ids among ``person_ids`` that name no person, in the order given."""
    return [pid for pid in person_ids if not person_exists(db, pid)]


def face_ids_of(db: sqlite_utils.Database, person_ids: Iterable[int]) -> set[int]:
    ids = list(person_ids)
    if not ids:
        return set()
    marks = ",".join("?" for _ in ids)
    return {r[0] for r in db.execute(f"SELECT face_id FROM assignments WHERE person_id IN ({marks})", ids)}


def _journal_changes(db: sqlite_utils.Database) -> list[tuple[int, list[dict]]]:
    return [(r[0], json.loads(r[1])) for r in db.execute("SELECT id, changes FROM journal ORDER BY id")]


def merged_into(db: sqlite_utils.Database, person_id: int) -> set[int]:
    """``person_id`` and every person the journal shows merged into it, directly or through others.

    A merge moves the merged person's faces (``before.person_id`` = merged, ``after.person_id`` = target) and
    deletes its row; that person's earlier names live on in the journal and must go when the target is forgotten.
    """
    people = {person_id}
    entries = _journal_changes(db)
    grew = True
    while grew:
        grew = False
        for _, changes in entries:
            for change in changes:
                before, after = change.get("before") or {}, change.get("after") or {}
                src, dst = before.get("person_id"), after.get("person_id")
                if dst in people and src is not None and src not in people:
                    people.add(src)
                    grew = True
    return people


def drop_journal_entries(db: sqlite_utils.Database, face_ids: set[int], person_ids: set[int]) -> int:
    """Delete every journal entry (done or undone) that touches one of the faces or people."""
    dropped = 0
    for entry_id, changes in _journal_changes(db):
        for change in changes:
            rows = [change.get("before") or {}, change.get("after") or {}]
            key = change.get("key") or {}
            faces = {r.get("face_id") for r in rows} | {key.get("face_id")}
            people = {r.get("person_id") for r in rows} | {key.get("person_id")}
            if change.get("table") == "people":
                people |= {key.get("id")} | {r.get("id") for r in rows}
            if faces & face_ids or people & person_ids:
                db.execute("DELETE FROM journal WHERE id = ?", [entry_id])
                dropped += 1
                break
    return dropped


def delete_person(db: sqlite_utils.Database, person_ids: set[int], face_ids: set[int]) -> int:
    """Delete the faces, the people and every journal entry about them, in one transaction."""
    db.execute("PRAGMA secure_delete = ON")  # freed pages are zeroed, not left for a file scan to find
    with transaction(db):
        faces, people = list(face_ids), list(person_ids)
        fmarks = ",".join("?" for _ in faces) or "NULL"
        pmarks = ",".join("?" for _ in people) or "NULL"
        if faces:
            db.execute(f"DELETE FROM faces WHERE id IN ({fmarks})", faces)
        db.execute(f"DELETE FROM rejections WHERE person_id IN ({pmarks})", people)
        db.execute(f"UPDATE people SET cover_face_id = NULL WHERE cover_face_id IN ({fmarks})", faces)
        db.execute(f"DELETE FROM people WHERE id IN ({pmarks})", people)
        return drop_journal_entries(db, face_ids, person_ids)


def count_faces(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT COUNT(*) FROM faces").fetchone()[0])


def switch_off_recognition(db: sqlite_utils.Database) -> None:
    """Commit "recognition off" on its own, first: a running import checks it before each batch it stores."""
    with transaction(db):
        db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, 'off')", [RECOGNITION_KEY])


def delete_all(db: sqlite_utils.Database) -> None:
    """Delete every face, embedding, person, name and edit; keep recognition off."""
    db.execute("PRAGMA secure_delete = ON")
    with transaction(db):
        for table in FACE_DATA_TABLES:
            db.execute(f"DELETE FROM {table}")
        db.execute("DELETE FROM kv")
        db.execute("INSERT INTO kv (key, value) VALUES (?, 'off')", [RECOGNITION_KEY])
        db.execute("UPDATE photos SET faces_model = NULL WHERE status = 'ok'")


def scrub(db: sqlite_utils.Database, *, wait_ms: int | None = None) -> bool:
    """VACUUM and truncate the WAL. True when no old page is left; False while another connection's read
    transaction pins the WAL (its frames still hold the deleted rows until that reader moves on).

    ``wait_ms`` replaces the busy timeout for the checkpoint (it waits that long for readers to finish).
    """
    db.execute("PRAGMA secure_delete = ON")
    db.execute("VACUUM")
    old = None
    if wait_ms is not None:
        old = db.execute("PRAGMA busy_timeout").fetchone()[0]
        db.execute(f"PRAGMA busy_timeout = {int(wait_ms)}")
    try:
        busy, log_frames, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        if old is not None:
            db.execute(f"PRAGMA busy_timeout = {int(old)}")
    done = busy == 0 and log_frames in (0, -1)
    with transaction(db):
        if done:
            db.execute("DELETE FROM kv WHERE key = ?", [SCRUB_PENDING_KEY])
        else:
            db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, '1')", [SCRUB_PENDING_KEY])
    if done and db.execute("SELECT COUNT(*) FROM kv WHERE key = ?", [SCRUB_PENDING_KEY]).fetchone()[0] == 0:
        # The kv write above went to the WAL: fold it in too, so the WAL is empty on disk.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return done


def scrub_pending(db: sqlite_utils.Database) -> bool:
    return db.execute("SELECT 1 FROM kv WHERE key = ?", [SCRUB_PENDING_KEY]).fetchone() is not None
