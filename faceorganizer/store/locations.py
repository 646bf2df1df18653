"""The other locations of a photo: identical copies of one picture in several folders are one photo.

A photo's *primary* location is ``photos.path`` (thumbnails, the viewer, sidecars read on import); each other
path holding the same content is a row of ``photo_locations`` (path, root, size and mtime as last seen). A path
is either a photo's primary location or another location, never both: :func:`add` removes a photo row stored at
the path it takes, and the photo writers in :mod:`faceorganizer.store.photos` release a location whose file
became a different picture. Locations carry no user data (names and edits belong to the photo), so a scan drops
the locations it no longer finds; when the primary file is gone and another location is still there, that one
becomes the primary (:func:`promote`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlite_utils

CHUNK = 500


@dataclass(frozen=True)
class Location:
    """Another location of a photo as the last scan saw it."""

    id: int
    photo_id: int
    path: str
    root_id: int | None
    size: int | None
    mtime: float | None


def known(db: sqlite_utils.Database, paths: Sequence[str]) -> dict[str, Location]:
    """The other locations among ``paths`` (at most a few hundred per call), by path."""
    if not paths:
        return {}
    marks = ",".join("?" for _ in paths)
    rows = db.execute(f"SELECT id, photo_id, path, root_id, size, mtime FROM photo_locations WHERE path IN ({marks})",
                      list(paths)).fetchall()
    return {r[2]: Location(*r) for r in rows}


def owner(db: sqlite_utils.Database, path: str) -> int | None:
    """The photo that has ``path`` as another location, if any."""
    row = db.execute("SELECT photo_id FROM photo_locations WHERE path = ?", [path]).fetchone()
    return int(row[0]) if row else None


def add(db: sqlite_utils.Database, photo_id: int, path: str, root_id: int | None, size: int, mtime: float) -> None:
    """``path`` holds an identical copy of photo ``photo_id``: record it as one of its locations.

    A photo row stored at ``path`` (the file there was another picture, or a pending listing of this one) goes,
    as a file replaced by another picture loses its old faces on any re-scan.
    """
    db.execute("DELETE FROM photos WHERE path = ? AND id != ?", [path, photo_id])
    db.execute("INSERT INTO photo_locations (photo_id, path, root_id, size, mtime) VALUES (?, ?, ?, ?, ?) "
               "ON CONFLICT(path) DO UPDATE SET photo_id = excluded.photo_id, root_id = excluded.root_id, "
               "size = excluded.size, mtime = excluded.mtime", [photo_id, path, root_id, size, mtime])


def touch(db: sqlite_utils.Database, path: str, size: int, mtime: float) -> None:
    """The copy at ``path`` is unchanged apart from its size/mtime record."""
    db.execute("UPDATE photo_locations SET size = ?, mtime = ? WHERE path = ?", [size, mtime, path])


def release(db: sqlite_utils.Database, path: str) -> None:
    """``path`` no longer holds a copy of its photo (it is gone, or became a picture of its own)."""
    db.execute("DELETE FROM photo_locations WHERE path = ?", [path])


def drop_unseen_under(db: sqlite_utils.Database, prefix: str) -> int:
    """Locations under folder ``prefix`` (ending in a separator) the scan did not see go; returns how many.

    Needs the scan's ``temp.seen`` table (:class:`faceorganizer.store.photos.ScanTables`).
    """
    cur = db.execute("DELETE FROM photo_locations WHERE substr(path, 1, ?) = ? "
                     "AND path NOT IN (SELECT path FROM temp.seen)", [len(prefix), prefix])
    return int(cur.rowcount or 0)


def of_unreachable_photos(db: sqlite_utils.Database) -> dict[int, list[Location]]:
    """The other locations of photos whose primary file is missing or offline, by photo (oldest first)."""
    out: dict[int, list[Location]] = {}
    rows = db.execute("SELECT l.id, l.photo_id, l.path, l.root_id, l.size, l.mtime FROM photo_locations l JOIN "
                      "photos p ON p.id = l.photo_id WHERE p.status IN ('missing', 'offline') ORDER BY l.id")
    for r in rows.fetchall():
        out.setdefault(int(r[1]), []).append(Location(*r))
    return out


def promote(db: sqlite_utils.Database, location: Location) -> None:
    """The primary file of the photo is gone: the copy at ``location`` becomes its primary location."""
    db.execute("DELETE FROM photo_locations WHERE id = ?", [location.id])
    db.execute("UPDATE photos SET path = ?, root_id = ?, size = ?, mtime = ?, status = 'ok', error = NULL, "
               "updated_at = datetime('now') WHERE id = ?",
               [location.path, location.root_id, location.size, location.mtime, location.photo_id])


def paths_of(db: sqlite_utils.Database, photo_ids: Sequence[int]) -> dict[int, list[str]]:
    """The other locations of photos (stored path texts, by path), by photo id; photos with none are left out."""
    ids = list(photo_ids)
    out: dict[int, list[str]] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        marks = ",".join("?" for _ in chunk)
        for r in db.execute(f"SELECT photo_id, path FROM photo_locations WHERE photo_id IN ({marks}) "
                            "ORDER BY photo_id, path", chunk).fetchall():
            out.setdefault(int(r[0]), []).append(str(r[1]))
    return out


def paths_at(db: sqlite_utils.Database, primary_path: str) -> list[str]:
    """The other locations of the photo whose primary location is ``primary_path``."""
    return [str(r[0]) for r in db.execute(
        "SELECT l.path FROM photo_locations l JOIN photos p ON p.id = l.photo_id WHERE p.path = ? ORDER BY l.path",
        [primary_path]).fetchall()]


def all_paths(db: sqlite_utils.Database) -> list[str]:
    """Every other location of every photo."""
    return [str(r[0]) for r in db.execute("SELECT path FROM photo_locations ORDER BY path").fetchall()]


def count(db: sqlite_utils.Database) -> int:
    """How many other locations the library knows (copies beyond each photo's primary file)."""
    return int(db.execute("SELECT COUNT(*) FROM photo_locations").fetchone()[0])
