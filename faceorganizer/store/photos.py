"""Roots and photo rows as the import writes them, and the scan's temporary work tables.

Paths are stored path texts (see ``faceorganizer.scan.discover.path_to_text``); callers convert. Every
function runs on the caller's connection; multi-row writes are wrapped by the caller in one
:func:`faceorganizer.store.transaction` so a photo and all its faces commit together.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from faceorganizer.store import locations
from faceorganizer.store.db import inserted_id

#: The columns of an analysed photo that the import sets (besides path, status and bookkeeping).
ANALYSED_COLUMNS = ("root_id", "content_hash", "size", "mtime", "width", "height", "taken_at", "orientation",
                    "faces_model")


@dataclass(frozen=True)
class KnownPhoto:
    """What discovery needs to know about a stored photo to decide whether a file changed."""

    id: int
    path: str
    size: int | None
    mtime: float | None
    status: str
    content_hash: str | None


@dataclass(frozen=True)
class QueuedFile:
    """A discovered file waiting to be read, hashed and analysed."""

    n: int
    path: str
    root: str
    size: int
    mtime: float


# ---------------------------------------------------------------------------------------------- roots
def register_root(db: sqlite_utils.Database, path: str) -> int:
    """The id of the root folder ``path``, added when new."""
    db.execute("INSERT OR IGNORE INTO roots (path) VALUES (?)", [path])
    return int(db.execute("SELECT id FROM roots WHERE path = ?", [path]).fetchone()[0])


def mark_root_scanned(db: sqlite_utils.Database, root_id: int) -> None:
    """The root is reachable: online, scanned now."""
    db.execute("UPDATE roots SET online = 1, last_scan = datetime('now') WHERE id = ?", [root_id])


def mark_root_offline(db: sqlite_utils.Database, root_id: int) -> None:
    """The root cannot be reached: it and its ``ok`` photos are marked offline (nothing is deleted)."""
    db.execute("UPDATE roots SET online = 0 WHERE id = ?", [root_id])
    db.execute("UPDATE photos SET status = 'offline' WHERE root_id = ? AND status = 'ok'", [root_id])


# ---------------------------------------------------------------------------------------------- photos
def known_photos(db: sqlite_utils.Database, paths: Sequence[str]) -> dict[str, KnownPhoto]:
    """The stored photos among ``paths`` (at most a few hundred per call), by path."""
    if not paths:
        return {}
    marks = ",".join("?" for _ in paths)
    rows = db.execute(f"SELECT id, path, size, mtime, status, content_hash FROM photos WHERE path IN ({marks})",
                      list(paths)).fetchall()
    return {r[1]: KnownPhoto(*r) for r in rows}


def photo_id_at(db: sqlite_utils.Database, path: str) -> int | None:
    """The id of the photo stored at ``path``, if any."""
    row = db.execute("SELECT id FROM photos WHERE path = ?", [path]).fetchone()
    return int(row[0]) if row else None


def photo_path(db: sqlite_utils.Database, photo_id: int) -> str:
    """The stored path of a photo."""
    return str(db.execute("SELECT path FROM photos WHERE id = ?", [photo_id]).fetchone()[0])


def set_status(db: sqlite_utils.Database, photo_id: int, status: str) -> None:
    db.execute("UPDATE photos SET status = ? WHERE id = ?", [status, photo_id])


def record_skipped(db: sqlite_utils.Database, path: str, root_id: int | None, reason: str, *,
                   status: str = "skipped", size: int = 0, mtime: float = 0.0) -> None:
    """Record a file that was not imported and why (``skipped`` or ``unsupported``)."""
    locations.release(db, path)  # a copy of another photo that is now a photo of its own (or this one's primary)
    db.execute(
        "INSERT INTO photos (path, root_id, size, mtime, status, error, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, datetime('now')) ON CONFLICT(path) DO UPDATE SET "
        "status = excluded.status, error = excluded.error, size = excluded.size, mtime = excluded.mtime, "
        "updated_at = excluded.updated_at", [path, root_id, size, mtime, status, reason])


def record_pending(db: sqlite_utils.Database, path: str, root_id: int | None, content_hash: str, size: int,
                   mtime: float) -> None:
    """A listed photo that is not analysed (recognition is off): ``pending`` until it is turned on."""
    locations.release(db, path)  # a copy of another photo that is now a photo of its own (or this one's primary)
    db.execute("INSERT INTO photos (path, root_id, content_hash, size, mtime, status) VALUES "
               "(?, ?, ?, ?, ?, 'pending') ON CONFLICT(path) DO UPDATE SET content_hash = "
               "excluded.content_hash, size = excluded.size, mtime = excluded.mtime, "
               "status = 'pending'", [path, root_id, content_hash, size, mtime])


def insert_analysed(db: sqlite_utils.Database, path: str, values: Sequence[Any]) -> int:
    """A new analysed photo; ``values`` follow :data:`ANALYSED_COLUMNS`. Returns its id."""
    locations.release(db, path)  # a copy of another photo that is now a photo of its own (or this one's primary)
    return inserted_id(db.execute(
        "INSERT INTO photos (root_id, content_hash, size, mtime, width, height, taken_at, "
        "orientation, faces_model, status, path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'ok', ?)",
        [*values, path]))


def update_analysed(db: sqlite_utils.Database, photo_id: int, values: Sequence[Any]) -> None:
    """A changed photo analysed again; ``values`` follow :data:`ANALYSED_COLUMNS`."""
    db.execute("UPDATE photos SET root_id = ?, content_hash = ?, size = ?, mtime = ?, width = ?, "
               "height = ?, taken_at = ?, orientation = ?, faces_model = ?, status = 'ok', "
               "error = NULL, updated_at = datetime('now') WHERE id = ?", [*values, photo_id])


# ---------------------------------------------------------------------------------------------- same content
def analysed_with_hash(db: sqlite_utils.Database, content_hash: str) -> tuple[int, str] | None:
    """(id, path) of the first photo with this content whose faces were analysed and can be lent."""
    row = db.execute("SELECT id, path FROM photos WHERE content_hash = ? AND faces_model IS NOT NULL "
                     "AND status IN ('ok', 'missing', 'offline') ORDER BY id LIMIT 1", [content_hash]).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def touch(db: sqlite_utils.Database, photo_id: int, size: int, mtime: float) -> None:
    """The file is unchanged apart from its size/mtime record."""
    db.execute("UPDATE photos SET size = ?, mtime = ?, status = 'ok' WHERE id = ?", [size, mtime, photo_id])


def move(db: sqlite_utils.Database, photo_id: int, path: str, root_id: int | None, size: int,
         mtime: float) -> None:
    """A moved or renamed file: its photo row (faces, names, edits) follows it; a stale row at the target goes."""
    locations.release(db, path)  # a copy of another photo that is now a photo of its own (or this one's primary)
    db.execute("DELETE FROM photos WHERE path = ? AND id != ?", [path, photo_id])
    db.execute("UPDATE photos SET path = ?, root_id = ?, size = ?, mtime = ?, status = 'ok', "
               "error = NULL, updated_at = datetime('now') WHERE id = ?", [path, root_id, size, mtime, photo_id])


def listed_with_hash(db: sqlite_utils.Database, content_hash: str, other_than: str
                     ) -> tuple[int, str, bool] | None:
    """(id, path, analysed) of a listed photo with this content stored at another path than ``other_than``
    (analysed ones first): the photo an identical copy at ``other_than`` becomes a location of."""
    row = db.execute("SELECT id, path, faces_model IS NOT NULL FROM photos WHERE content_hash = ? AND path != ? "
                     "AND status IN ('ok', 'missing', 'offline', 'pending') ORDER BY faces_model IS NULL, id LIMIT 1",
                     [content_hash, other_than]).fetchone()
    return (int(row[0]), str(row[1]), bool(row[2])) if row else None


# ---------------------------------------------------------------------------------------------- scan tables
class ScanTables:
    """The scan's temporary tables on the writer connection: files ``seen`` and files ``todo``.

    Discovery goes through them so memory stays flat whatever the library size.
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS seen (path TEXT PRIMARY KEY)")
        db.execute("CREATE TEMP TABLE IF NOT EXISTS todo (n INTEGER PRIMARY KEY, path TEXT, root TEXT, "
                   "size INTEGER, mtime REAL)")
        db.execute("DELETE FROM seen")
        db.execute("DELETE FROM todo")

    def add_seen(self, paths: Sequence[str]) -> None:
        self.db.conn.executemany("INSERT OR IGNORE INTO temp.seen (path) VALUES (?)", [(p,) for p in paths])

    def add_todo(self, path: str, root: str, size: int, mtime: float) -> None:
        self.db.execute("INSERT INTO temp.todo (path, root, size, mtime) VALUES (?, ?, ?, ?)",
                        [path, root, size, mtime])

    def todo_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM todo").fetchone()[0])

    def todo(self, page: int = 1000) -> Iterator[QueuedFile]:
        """The queued files, read a page at a time (no cursor stays open across the writer's commits)."""
        last = 0
        while True:
            rows = self.db.execute("SELECT n, path, root, size, mtime FROM temp.todo WHERE n > ? ORDER BY n "
                                   "LIMIT ?", [last, page]).fetchall()
            if not rows:
                return
            for r in rows:
                yield QueuedFile(*r)
            last = rows[-1][0]

    def mark_missing_under(self, prefix: str) -> None:
        """Photos under folder ``prefix`` (ending in a separator) that were not seen are ``missing``."""
        self.db.execute(
            "UPDATE photos SET status = 'missing', updated_at = datetime('now') "
            "WHERE substr(path, 1, ?) = ? AND status IN ('ok', 'offline') "
            "AND path NOT IN (SELECT path FROM temp.seen)", [len(prefix), prefix])


def skipped_photos(db: sqlite_utils.Database) -> list[tuple[str, str, str | None]]:
    """(path, status, error) of the photos not imported (skipped or unsupported), by path."""
    return [(r[0], r[1], r[2]) for r in db.execute(
        "SELECT path, status, error FROM photos WHERE status IN ('skipped', 'unsupported') ORDER BY path"
    ).fetchall()]
