"""What the XMP sync reads from the store: face boxes, named faces per photo, and the photos to visit.

Writes go through :mod:`faceorganizer.people.edits` (journaled); this module only reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils


@dataclass(frozen=True)
class PhotoFrame:
    """A photo as stored: its path (stored text) and upright pixel size."""

    path: str
    width: int
    height: int


@dataclass(frozen=True)
class NamedFace:
    """A face box in pixels of the upright photo and the name of the person it is assigned to."""

    name: str
    box: tuple[float, float, float, float]


def face_boxes(db: sqlite_utils.Database, photo_id: int) -> list[tuple[int, tuple[float, float, float, float]]]:
    """(face id, pixel box) of every face detected in a photo."""
    rows = db.execute("SELECT id, x, y, w, h FROM faces WHERE photo_id = ? ORDER BY id", [photo_id]).fetchall()
    return [(int(r[0]), (r[1], r[2], r[3], r[4])) for r in rows]


def photo_frame(db: sqlite_utils.Database, photo_id: int) -> PhotoFrame | None:
    """Path and size of a photo, None when there is no such photo."""
    row = db.execute("SELECT path, width, height FROM photos WHERE id = ?", [photo_id]).fetchone()
    return PhotoFrame(row[0], int(row[1] or 0), int(row[2] or 0)) if row else None


def named_faces(db: sqlite_utils.Database, photo_id: int) -> list[NamedFace]:
    """The faces of a photo assigned to a named person, left to right."""
    rows = db.execute(
        "SELECT f.x, f.y, f.w, f.h, pe.name FROM faces f JOIN assignments a ON a.face_id = f.id "
        "JOIN people pe ON pe.id = a.person_id WHERE f.photo_id = ? AND pe.name IS NOT NULL ORDER BY f.x",
        [photo_id]).fetchall()
    return [NamedFace(r[4], (r[0], r[1], r[2], r[3])) for r in rows]


def photos_with_named_faces(db: sqlite_utils.Database) -> list[int]:
    """Ids of the readable photos that have at least one face of a named person."""
    rows = db.execute(
        "SELECT DISTINCT f.photo_id FROM faces f JOIN assignments a ON a.face_id = f.id JOIN people pe "
        "ON pe.id = a.person_id JOIN photos p ON p.id = f.photo_id WHERE pe.name IS NOT NULL "
        "AND p.status = 'ok' ORDER BY f.photo_id").fetchall()
    return [int(r[0]) for r in rows]


def faces_of_person(db: sqlite_utils.Database,
                    person_id: int) -> list[tuple[PhotoFrame, tuple[float, float, float, float]]]:
    """(photo, pixel box) of every face assigned to the person."""
    rows = db.execute(
        "SELECT p.path, p.width, p.height, f.x, f.y, f.w, f.h FROM photos p JOIN faces f ON f.photo_id = p.id "
        "JOIN assignments a ON a.face_id = f.id WHERE a.person_id = ? ORDER BY p.path", [person_id]).fetchall()
    return [(PhotoFrame(r[0], int(r[1] or 0), int(r[2] or 0)), (r[3], r[4], r[5], r[6])) for r in rows]


def all_photo_paths(db: sqlite_utils.Database) -> list[str]:
    """Stored paths of every photo in the library."""
    return [r[0] for r in db.execute("SELECT path FROM photos ORDER BY path").fetchall()]


def person_name(db: sqlite_utils.Database, person_id: int) -> str | None:
    """A person's current name (None when unnamed or when there is no such person)."""
    row = db.execute("SELECT name FROM people WHERE id = ?", [person_id]).fetchone()
    return row[0] if row else None
