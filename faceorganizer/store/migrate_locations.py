"""Migration 6: one photo with several locations (``photo_locations``), and identical copies folded into one.

Before it, an identical copy (same content hash) in another folder became a photo of its own with the
original's faces copied, so "find this person" listed the picture twice and people doubled in size. Now a photo
row has one *primary* location (``photos.path``) and any number of *other* locations (``photo_locations``: the
path, its root, size and mtime as last seen); the faces, names and edits belong to the photo, once.

Folding the copies of each content hash (photos listed or analysed: status ok, missing, offline or pending):

* The photo row kept is the one with the most user edits (confirmed names, "not this person" rejections, taught
  attributes, covers, "not a face" marks); analysed beats pending; on a tie the oldest row. The other copies'
  paths become its other locations. When the kept row's own file is missing or offline and a copy's is ``ok``,
  that copy's path becomes the primary one (the kept row's old path stays as another location: the next scan
  of its folder drops it if the file is gone).
* A "copy" that is the same file reached through a symlinked folder (what imports before real paths were
  resolved duplicated) becomes no location: its row folds away, and the photo keeps the real path.
* Each face of a dropped copy is matched to the kept photo's face with the highest box IoU (≥ 0.5; each kept
  face matched once). Its user edits move over where the kept face has none of that kind: a confirmed name
  (or, without one, an automatic assignment), rejections, attributes the user taught, covers.
  **Conflicts: the kept photo's edit wins.** A kept face confirmed as A keeps A when the copy's face was
  confirmed as B (the copy's confirmation is dropped), and keeps A when the copy rejected A (that rejection is
  dropped); a taught attribute the kept face already has keeps the kept face's value. A rejection of the
  person a kept face is only *automatically* assigned to wins over that assignment (re-grouping honours it).
* A face of a copy that matches no face of the kept photo is moved onto the kept photo whole (nothing is lost),
  unless the user removed that box as "not a face" from this picture (``not_faces`` is keyed by content, so it
  is already the picture's decision): then it goes with the copy.
* "Not a face" marks made on a copy move to the matching face of the kept photo (its ``not_faces`` row now names
  that face, and the face is moved to ``face_trash`` as if it had been marked there), so undo brings back the
  kept photo's face. When the kept face carries a confirmed name, the name wins and the mark is removed. A mark
  whose box matches no kept face keeps its trashed face, now belonging to the kept photo.
* The journal is rewritten with the same face mapping (a dropped face's id becomes its kept face's id in every
  recorded row), so undo and redo of earlier edits act on the faces that now carry them. In a conflict above,
  undoing the copy's old edit acts on the kept face (e.g. undoing the copy's confirmation puts back what the
  kept face had before *that* edit): rare, and never worse than a face without a name. A journal entry about a
  face that went with its copy (a face the user had removed as "not a face" on the kept photo) is deleted: its
  effect stays, only its undo goes (undoing it would write rows for a face that no longer exists).

This module is frozen with the migration (it runs once per library); the import's location reads and writes are
in :mod:`faceorganizer.store.locations`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import sqlite_utils

from faceorganizer.geometry import box_iou
from faceorganizer.paths import path_to_text, text_to_path

#: Boxes of the same face in two copies of one picture overlap this much (same content: same detections).
MATCH_IOU = 0.5
#: Photo statuses that hold a listed picture (skipped/unsupported rows have no content to share).
LISTED = ("ok", "missing", "offline", "pending")

FaceBox = tuple[int, tuple[float, float, float, float]]


def create_table(db: sqlite_utils.Database) -> None:
    """The other locations of a photo (its primary location stays ``photos.path``)."""
    db.executescript(
        """
        CREATE TABLE photo_locations (
            id INTEGER PRIMARY KEY,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            path TEXT NOT NULL UNIQUE,
            root_id INTEGER REFERENCES roots(id) ON DELETE SET NULL,
            size INTEGER,
            mtime REAL,
            added_at TEXT NOT NULL DEFAULT (datetime('now'))
        );
        CREATE INDEX photo_locations_photo ON photo_locations(photo_id);
        CREATE INDEX photo_locations_root ON photo_locations(root_id);
        """
    )


def fold_identical_copies(db: sqlite_utils.Database) -> int:
    """Fold every set of photos with the same content into one photo with several locations. Returns the
    photo rows folded away."""
    marks = ",".join("?" for _ in LISTED)
    hashes = [r[0] for r in db.execute(
        f"SELECT content_hash FROM photos WHERE content_hash IS NOT NULL AND status IN ({marks}) "
        "GROUP BY content_hash HAVING COUNT(*) > 1 ORDER BY MIN(id)", list(LISTED))]
    mapping: dict[int, int] = {}
    gone: set[int] = set()  # faces of copies that went with them (removed as "not a face" on the kept photo)
    trash = _trash_by_photo(db) if hashes else {}
    folded = 0
    for digest in hashes:
        members = list(db.query(f"SELECT id, path, root_id, size, mtime, status, faces_model FROM photos "
                                f"WHERE content_hash = ? AND status IN ({marks}) ORDER BY id", [digest, *LISTED]))
        kept = max(members, key=lambda m: (m["faces_model"] is not None,
                                           _edits(db, m["id"]) + len(trash.get(m["id"], [])), -m["id"]))
        others = [m for m in members if m["id"] != kept["id"]]
        reached = {_real(kept["path"])}
        for dropped in others:
            # The same file reached through a symlinked folder (issue 15 item 25: what older imports duplicated)
            # is no second location: its photo row folds away without one.
            real = _real(dropped["path"])
            _fold(db, kept["id"], dropped, digest, mapping, trash, gone, location=real not in reached)
            if real in reached and dropped["path"] == path_to_text(real) != kept["path"]:
                # The kept row was stored at the symlinked path: it takes the real one the import scans now.
                db.execute("UPDATE photos SET path = ?, root_id = ? WHERE id = ?",
                           [dropped["path"], dropped["root_id"], kept["id"]])
                kept = {**kept, "path": dropped["path"], "root_id": dropped["root_id"]}
            reached.add(real)
            folded += 1
        _keep_primary_reachable(db, kept, others)
    if mapping or gone:
        _rewrite_journal(db, mapping, gone)
    from faceorganizer.store.notface import reconcile

    reconcile(db)  # the "not a face" marks moved onto kept faces take those faces to face_trash
    return folded


def _real(stored: str) -> str:
    """The real path of a stored path text (symlinks resolved; a path that no longer exists only normalised)."""
    return os.path.realpath(text_to_path(stored))


def _trash_by_photo(db: sqlite_utils.Database) -> dict[int, list[tuple[int, dict[str, Any]]]]:
    """(face id, face row) of the faces removed as "not a face" (kept in face_trash for undo), by photo; read
    once (the photo id is inside each row's JSON)."""
    out: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for face_id, text in db.execute("SELECT face_id, face FROM face_trash ORDER BY face_id").fetchall():
        face = json.loads(text)
        out.setdefault(int(face.get("photo_id") or 0), []).append((int(face_id), face))
    return out


def _edits(db: sqlite_utils.Database, photo_id: int) -> int:
    """How many user edits hang on a photo's faces (what picks the row to keep)."""
    faces = "(SELECT id FROM faces WHERE photo_id = ?)"
    n = 0
    for sql in (f"SELECT COUNT(*) FROM assignments WHERE origin = 'confirmed' AND face_id IN {faces}",
                f"SELECT COUNT(*) FROM rejections WHERE face_id IN {faces}",
                f"SELECT COUNT(*) FROM user_attributes WHERE origin = 'user' AND face_id IN {faces}",
                f"SELECT COUNT(*) FROM people WHERE cover_face_id IN {faces}"):
        n += int(db.execute(sql, [photo_id]).fetchone()[0])
    return n


def _boxes(db: sqlite_utils.Database, photo_id: int) -> list[FaceBox]:
    return [(int(r[0]), (r[1], r[2], r[3], r[4])) for r in
            db.execute("SELECT id, x, y, w, h FROM faces WHERE photo_id = ? ORDER BY id", [photo_id])]


def _best(box: tuple[float, float, float, float], kept: list[FaceBox], used: set[int]) -> int | None:
    score, face = max(((box_iou(box, b), fid) for fid, b in kept if fid not in used), default=(0.0, None))
    return face if face is not None and score >= MATCH_IOU else None


def _fold(db: sqlite_utils.Database, kept_id: int, dropped: dict[str, Any], digest: str,
          mapping: dict[int, int], trash: dict[int, list[tuple[int, dict[str, Any]]]], gone: set[int], *,
          location: bool = True) -> None:
    """Fold the copy ``dropped`` into photo ``kept_id``: its user edits onto the matching faces, its path a location."""
    kept_faces = _boxes(db, kept_id)
    used: set[int] = set()
    removed = [(r[0], r[1], r[2], r[3]) for r in
               db.execute("SELECT x, y, w, h FROM not_faces WHERE content_hash = ?", [digest])]
    for face_id, box in _boxes(db, dropped["id"]):
        match = _best(box, kept_faces, used)
        if match is not None:
            used.add(match)
            mapping[face_id] = match
            _move_edits(db, face_id, match)
        elif not any(box_iou(box, r) >= MATCH_IOU for r in removed):
            db.execute("UPDATE faces SET photo_id = ? WHERE id = ?", [kept_id, face_id])  # a face only the copy has
            used.add(face_id)
        else:
            gone.add(face_id)
    for face_id, face in trash.pop(dropped["id"], []):
        match = _best((face["x"], face["y"], face["w"], face["h"]), kept_faces, used)
        if match is None:
            face["photo_id"] = kept_id  # undo brings it back on the kept photo
            db.execute("UPDATE face_trash SET face = ? WHERE face_id = ?", [json.dumps(face), face_id])
            trash.setdefault(kept_id, []).append((face_id, face))
            continue
        used.add(match)
        mapping[face_id] = match
        db.execute("DELETE FROM face_trash WHERE face_id = ?", [face_id])
        named = db.execute("SELECT 1 FROM assignments WHERE face_id = ? AND origin = 'confirmed'", [match]).fetchone()
        if named:  # conflict: the kept face's confirmed name wins over the copy's "not a face"
            db.execute("DELETE FROM not_faces WHERE face_id = ?", [face_id])
        else:
            db.execute("UPDATE not_faces SET face_id = ? WHERE face_id = ?", [match, face_id])
    db.execute("DELETE FROM photos WHERE id = ?", [dropped["id"]])  # its matched faces and their links cascade
    if location:
        db.execute("INSERT INTO photo_locations (photo_id, path, root_id, size, mtime) VALUES (?, ?, ?, ?, ?)",
                   [kept_id, dropped["path"], dropped["root_id"], dropped["size"], dropped["mtime"]])


def _move_edits(db: sqlite_utils.Database, src: int, dst: int) -> None:
    """The user edits of face ``src`` onto face ``dst`` where ``dst`` has none of that kind (see module doc)."""
    mine = db.execute("SELECT person_id, origin, distance FROM assignments WHERE face_id = ?", [src]).fetchone()
    theirs = db.execute("SELECT person_id, origin FROM assignments WHERE face_id = ?", [dst]).fetchone()
    if mine is not None and (theirs is None or (mine[1] == "confirmed" and theirs[1] != "confirmed")):
        db.execute("INSERT OR REPLACE INTO assignments (face_id, person_id, origin, distance) VALUES (?, ?, ?, ?)",
                   [dst, mine[0], mine[1], mine[2]])
    confirmed = db.execute("SELECT person_id FROM assignments WHERE face_id = ? AND origin = 'confirmed'",
                           [dst]).fetchone()
    for person_id, created_at in db.execute("SELECT person_id, created_at FROM rejections WHERE face_id = ?",
                                            [src]).fetchall():
        if confirmed is not None and confirmed[0] == person_id:
            continue  # conflict: the kept face's confirmation wins over the copy's rejection
        db.execute("INSERT OR IGNORE INTO rejections (face_id, person_id, created_at) VALUES (?, ?, ?)",
                   [dst, person_id, created_at])
        db.execute("DELETE FROM assignments WHERE face_id = ? AND person_id = ? AND origin = 'auto'", [dst, person_id])
    db.execute("INSERT INTO user_attributes (face_id, name, value, origin, confidence) SELECT ?, name, value, "
               "origin, confidence FROM user_attributes WHERE face_id = ? AND origin = 'user' "
               "ON CONFLICT (face_id, name) DO UPDATE SET value = excluded.value, origin = excluded.origin, "
               "confidence = excluded.confidence WHERE user_attributes.origin != 'user'", [dst, src])
    db.execute("UPDATE people SET cover_face_id = ? WHERE cover_face_id = ?", [dst, src])


def _keep_primary_reachable(db: sqlite_utils.Database, kept: dict[str, Any], others: list[dict[str, Any]]) -> None:
    """When the kept row's own file is missing or offline, a copy whose file was ``ok`` becomes the primary
    location (the kept row's old path becomes another location)."""
    if kept["status"] not in ("missing", "offline"):
        return
    new = next((m for m in others if m["status"] == "ok"), None)
    if new is None:
        return
    db.execute("UPDATE photo_locations SET path = ?, root_id = ?, size = ?, mtime = ? WHERE photo_id = ? AND path = ?",
               [kept["path"], kept["root_id"], kept["size"], kept["mtime"], kept["id"], new["path"]])
    db.execute("UPDATE photos SET path = ?, root_id = ?, size = ?, mtime = ?, status = 'ok' WHERE id = ?",
               [new["path"], new["root_id"], new["size"], new["mtime"], kept["id"]])


def _rewrite_journal(db: sqlite_utils.Database, mapping: dict[int, int], gone: set[int]) -> None:
    """Every recorded row naming a folded face names its kept face instead (undo/redo act on the kept faces).

    An entry naming a face that went with its copy (``gone``) is deleted: its effect stays, only its undo goes
    (undoing it would write rows for a face that no longer exists)."""
    for entry_id, text in db.execute("SELECT id, changes FROM journal ORDER BY id").fetchall():
        changes = json.loads(text)
        if any(isinstance(row, dict) and (row.get("face_id") in gone or row.get("cover_face_id") in gone)
               for change in changes for row in (change.get("key"), change.get("before"), change.get("after"))):
            db.execute("DELETE FROM journal WHERE id = ?", [entry_id])
            continue
        changed = False
        for change in changes:
            for part in ("key", "before", "after"):
                row = change.get(part)
                if not isinstance(row, dict):
                    continue
                for column in ("face_id", "cover_face_id"):
                    if row.get(column) in mapping:
                        row[column] = mapping[row[column]]
                        changed = True
        if changed:
            db.execute("UPDATE journal SET changes = ? WHERE id = ?", [json.dumps(changes), entry_id])
