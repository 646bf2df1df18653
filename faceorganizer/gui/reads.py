"""Quick read-only SQL for the GUI thread, on the GUI's own connection.

The GUI reads through its own connection (WAL: readers never wait for the import's writer) instead of the
Library's shared one, so a read never waits on the Library lock while the edit thread or a recluster holds it.
Every query here is an indexed lookup or a page of rows; anything slow belongs in a worker.

(Core candidate: ``Library.reader()`` returning such an object; it lives here until the core grows one.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from faceorganizer.store import connect, queries


@dataclass(frozen=True)
class PersonCard:
    """A person as the people grid shows it."""

    id: int
    name: str | None
    hidden: bool
    face_count: int
    photo_count: int
    cover_face_id: int | None  # the chosen cover, else the best face
    last_seen: str | None

    @property
    def label(self) -> str:
        return self.name or f"Unnamed #{self.id}"


@dataclass(frozen=True)
class FaceCard:
    """A face as a grid shows it."""

    id: int
    photo_id: int
    photo: str
    box: tuple[float, float, float, float]
    person_id: int | None
    person_name: str | None
    origin: str | None
    taken_at: str | None
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def person_label(self) -> str:
        if self.person_id is None:
            return "Unsorted"
        return self.person_name or f"Unnamed #{self.person_id}"


@dataclass(frozen=True)
class PhotoCard:
    """A photo as a grid or the viewer shows it."""

    id: int
    path: str
    width: int | None
    height: int | None
    taken_at: str | None
    mtime: float | None
    face_count: int
    status: str

    @property
    def filename(self) -> str:
        return os.path.basename(self.path)


PEOPLE_ORDER = {
    "count": "face_count DESC, pe.id",
    "name": "pe.name IS NULL, pe.name COLLATE NOCASE, face_count DESC, pe.id",
    "recent": "last_seen IS NULL, last_seen DESC, face_count DESC, pe.id",
}


class Reader:
    """The GUI thread's read connection to a library."""

    def __init__(self, db_path: os.PathLike | str) -> None:
        self.path = os.fspath(db_path)
        self.db: sqlite_utils.Database = connect(db_path)
        self.db.execute("PRAGMA query_only = 1")

    def close(self) -> None:
        self.db.conn.close()

    def data_version(self) -> int:
        """Changes whenever another connection (the import, the edit thread, the CLI) committed."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    # ------------------------------------------------------------------ counts
    def counts(self) -> dict[str, int]:
        one = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "photos": one("SELECT COUNT(*) FROM photos WHERE status = 'ok'"),
            "faces": one("SELECT COUNT(*) FROM faces"),
            "people": one("SELECT COUNT(*) FROM people pe WHERE hidden = 0 AND "
                          "(name IS NOT NULL OR EXISTS (SELECT 1 FROM assignments a WHERE a.person_id = pe.id))"),
            # A face has at most one assignment (its primary key): two counts, no per-face look-up.
            "unsorted": one("SELECT (SELECT COUNT(*) FROM faces) - (SELECT COUNT(*) FROM assignments)"),
            "skipped": one("SELECT COUNT(*) FROM photos WHERE status IN ('skipped', 'unsupported')"),
        }

    def roots(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT id, path, online, last_scan FROM roots ORDER BY path"))

    def skipped(self) -> list[dict[str, str]]:
        return [{"path": r["path"], "reason": r["error"] or r["status"], "status": r["status"]}
                for r in self.db.query("SELECT path, status, error FROM photos "
                                       "WHERE status IN ('skipped', 'unsupported') ORDER BY path")]

    def offline_roots(self) -> list[str]:
        return [r["path"] for r in self.db.query("SELECT path FROM roots WHERE online = 0 ORDER BY path")]

    # ------------------------------------------------------------------ people
    def people(self, *, sort: str = "count", include_hidden: bool = False, named_only: bool = False,
               face_filter: str = "", params: list | tuple = ()) -> list[PersonCard]:
        """Every person with counts and a cover; ``face_filter`` restricts to people having a matching face."""
        where = "(? OR pe.hidden = 0)"
        args: list[Any] = [1 if include_hidden else 0]
        if named_only:
            where += " AND pe.name IS NOT NULL"
        if face_filter:
            where += (" AND pe.id IN (SELECT a.person_id FROM faces f JOIN photos p ON p.id = f.photo_id "
                      f"JOIN assignments a ON a.face_id = f.id WHERE {face_filter})")
            args += list(params)
        rows = self.db.query(
            f"""
            SELECT pe.id, pe.name, pe.hidden, pe.cover_face_id,
                   COUNT(a.face_id) AS face_count, COUNT(DISTINCT f.photo_id) AS photo_count,
                   MAX(COALESCE(p.taken_at, p.imported_at)) AS last_seen
            FROM people pe
            LEFT JOIN assignments a ON a.person_id = pe.id
            LEFT JOIN faces f ON f.id = a.face_id
            LEFT JOIN photos p ON p.id = f.photo_id
            WHERE {where}
            GROUP BY pe.id
            HAVING face_count > 0 OR pe.name IS NOT NULL
            ORDER BY {PEOPLE_ORDER.get(sort, PEOPLE_ORDER['count'])}
            """, args)
        rows = list(rows)
        best = self.best_faces()
        return [PersonCard(r["id"], r["name"], bool(r["hidden"]), r["face_count"], r["photo_count"],
                           r["cover_face_id"] or best.get(r["id"]), r["last_seen"]) for r in rows]

    def named_people(self) -> list[tuple[int, str, int]]:
        """(id, name, face count) of the visible named people, most faces first: what the sidebar lists.
        Counted through the assignments' person index, so it costs what the named people hold, not the
        library (the full :meth:`people` aggregate is ~160 ms at 100k faces)."""
        return [(r[0], r[1], r[2]) for r in self.db.execute(
            "SELECT pe.id, pe.name, COUNT(a.face_id) AS n FROM people pe "
            "LEFT JOIN assignments a ON a.person_id = pe.id WHERE pe.name IS NOT NULL AND pe.hidden = 0 "
            "GROUP BY pe.id ORDER BY n DESC, pe.id")]

    def best_faces(self) -> dict[int, int]:
        """person id → its best-quality face (SQLite takes the bare column from the MAX row)."""
        return {r[0]: r[1] for r in self.db.execute(
            "SELECT a.person_id, f.id, MAX(COALESCE(f.quality, f.det_score)) FROM assignments a "
            "JOIN faces f ON f.id = a.face_id GROUP BY a.person_id")}

    def _best_face(self, person_id: int) -> int | None:
        row = self.db.execute(
            "SELECT f.id FROM assignments a JOIN faces f ON f.id = a.face_id WHERE a.person_id = ? "
            "ORDER BY COALESCE(f.quality, f.det_score) DESC, f.id LIMIT 1", [person_id]).fetchone()
        return row[0] if row else None

    def person(self, person_id: int) -> PersonCard | None:
        r = self.db.execute(
            "SELECT pe.id, pe.name, pe.hidden, pe.cover_face_id, COUNT(a.face_id), COUNT(DISTINCT f.photo_id), "
            "MAX(COALESCE(p.taken_at, p.imported_at)) FROM people pe LEFT JOIN assignments a "
            "ON a.person_id = pe.id LEFT JOIN faces f ON f.id = a.face_id LEFT JOIN photos p ON p.id = f.photo_id "
            "WHERE pe.id = ? GROUP BY pe.id", [person_id]).fetchone()
        if r is None:
            return None
        return PersonCard(r[0], r[1], bool(r[2]), r[4], r[5], r[3] or self._best_face(r[0]), r[6])

    def person_names(self) -> list[tuple[int, str]]:
        """Named people (for "Move to…" pickers and the filter panel), by name."""
        return [(r["id"], r["name"]) for r in
                self.db.query("SELECT id, name FROM people WHERE name IS NOT NULL AND hidden = 0 "
                              "ORDER BY name COLLATE NOCASE")]

    # ------------------------------------------------------------------ faces
    def face_ids(self, where: str = "1", params: list | tuple = (), *, order: str = "f.id",
                 limit: int = -1, offset: int = 0) -> list[int]:
        return queries.face_ids(self.db, where, params, order=order, limit=limit, offset=offset)

    def face_cards(self, ids: list[int]) -> dict[int, FaceCard]:
        if not ids:
            return {}
        out: dict[int, FaceCard] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" for _ in chunk)
            sql = (queries.FACE_SELECT.replace(" FROM faces f", ", pe.name AS person_name, p.taken_at AS taken_at "
                                               "FROM faces f")
                   + f" LEFT JOIN people pe ON pe.id = a.person_id WHERE f.id IN ({marks})")
            for r in self.db.query(sql, chunk):
                row = queries.face_from_row(r)
                out[row.id] = FaceCard(row.id, row.photo_id, row.photo, row.box, row.person_id, r["person_name"],
                                       row.origin, r["taken_at"], row.attributes)
        return out

    def faces_of_photo(self, photo_id: int) -> list[FaceCard]:
        ids = self.face_ids("f.photo_id = ?", [photo_id])
        cards = self.face_cards(ids)
        return [cards[i] for i in ids if i in cards]

    # ------------------------------------------------------------------ photos
    def photo_ids(self, where: str = "1", params: list | tuple = (), *, face_filter: str = "",
                  face_params: list | tuple = (), order: str = "COALESCE(p.taken_at, p.imported_at) DESC, p.id DESC",
                  limit: int = -1, offset: int = 0) -> list[int]:
        """Photos (status ok) matching ``where`` (alias ``p``) that hold a face matching ``face_filter``."""
        args: list[Any] = list(params)
        sql = f"SELECT p.id FROM photos p WHERE p.status = 'ok' AND ({where})"
        if face_filter:
            sql += (" AND p.id IN (SELECT f.photo_id FROM faces f JOIN photos p ON p.id = f.photo_id "
                    f"LEFT JOIN assignments a ON a.face_id = f.id WHERE {face_filter})")
            args += list(face_params)
        sql += f" ORDER BY {order} LIMIT ? OFFSET ?"
        return [r[0] for r in self.db.execute(sql, [*args, limit, offset])]

    def photo_cards(self, ids: list[int]) -> dict[int, PhotoCard]:
        out: dict[int, PhotoCard] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" for _ in chunk)
            for r in self.db.query(
                    "SELECT p.id, p.path, p.width, p.height, p.taken_at, p.mtime, p.status, "
                    "(SELECT COUNT(*) FROM faces f WHERE f.photo_id = p.id) AS n "
                    f"FROM photos p WHERE p.id IN ({marks})", chunk):
                out[r["id"]] = PhotoCard(r["id"], r["path"], r["width"], r["height"], r["taken_at"], r["mtime"],
                                         r["n"], r["status"])
        return out

    def photo(self, photo_id: int) -> PhotoCard | None:
        return self.photo_cards([photo_id]).get(photo_id)

    def photo_of_face(self, face_id: int) -> int | None:
        row = self.db.execute("SELECT photo_id FROM faces WHERE id = ?", [face_id]).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------------ attribute values (filter panel)
    def distinct(self, column: str) -> list[str]:
        if column not in ("pose", "expression"):
            raise ValueError(column)
        return [r[0] for r in self.db.execute(
            f"SELECT DISTINCT {column} FROM faces WHERE {column} IS NOT NULL ORDER BY {column} LIMIT 50")]

    def ages_over_time(self, person_id: int) -> list[tuple[str, float]]:
        """(photo date, estimated age) of a person's faces with both known, oldest first."""
        return [(r[0], r[1]) for r in self.db.execute(
            "SELECT COALESCE(p.taken_at, p.imported_at) AS t, f.age FROM assignments a JOIN faces f "
            "ON f.id = a.face_id JOIN photos p ON p.id = f.photo_id WHERE a.person_id = ? AND f.age IS NOT NULL "
            "ORDER BY t", [person_id])]

    def attribute_rows(self, person_id: int) -> list[dict[str, Any]]:
        """Per-face attributes of a person (for the summary fallback)."""
        return list(self.db.query(
            "SELECT f.age, f.gender, f.expression, f.smile, f.pose, f.sharpness, f.quality FROM assignments a "
            "JOIN faces f ON f.id = a.face_id WHERE a.person_id = ?", [person_id]))
