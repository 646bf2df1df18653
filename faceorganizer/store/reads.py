"""The one read API of a library: counts, people, faces and photos for the window, the status bar and the CLI.

``LibraryReader`` owns a read-only-by-pragma connection of its own (WAL: it never waits for the import's
writer), so the GUI thread and each worker can hold one. Every count the app or ``faceorganizer status``
shows is defined here once (:meth:`LibraryReader.counts`). Callers never write SQL: they describe what they
want with :class:`FaceScope`, :class:`PhotoScope` and a compiled :class:`FaceFilter`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlite_utils

from faceorganizer.store import locations, queries
from faceorganizer.store.db import connect


# ----------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Counts:
    """The library's counts, one definition for every front end.

    ``photos``: photos imported and shown (status ok); ``people``: visible people holding a face or a name;
    ``named_people``: visible named people; ``unsorted``: faces in no person; ``skipped``: files not imported.
    """

    photos: int
    photos_by_status: dict[str, int]
    faces: int
    people: int
    named_people: int
    unsorted: int
    skipped: int


@dataclass(frozen=True)
class FaceFilter:
    """A compiled filter expression (made by ``Library.compile_filter``); opaque to the front ends."""

    expr: str = ""
    where: str = ""
    params: tuple[Any, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.where and self.where != "1")


#: How a person-level page reads a face filter: keep people with ``any`` matching face, or whose ``most``
#: (more than half of the) faces match.
PersonMatch = Literal["any", "most"]


@dataclass(frozen=True)
class FaceScope:
    """Which faces a grid lists: ``all``, ``unsorted``, a ``person``'s, a ``photo``'s or the given ``ids``."""

    kind: Literal["all", "unsorted", "person", "photo", "ids"] = "all"
    person_id: int | None = None
    photo_id: int | None = None
    ids: tuple[int, ...] = ()
    filter: FaceFilter | None = None
    order: Literal["id", "date", "newest"] = "id"


@dataclass(frozen=True)
class PhotoScope:
    """Which photos a grid lists: all (status ok), inside ``folder``, showing ``person_id``, showing every one of
    ``all_people``, holding a face matching ``filter``; newest first."""

    folder: str | None = None
    person_id: int | None = None
    all_people: tuple[int, ...] = ()
    filter: FaceFilter | None = None


@dataclass(frozen=True)
class PersonCard:
    """A person as the people grid shows it (``matching``: faces matching the page's filter, else None)."""

    id: int
    name: str | None
    hidden: bool
    face_count: int
    photo_count: int
    cover_face_id: int | None  # the chosen cover, else the best face
    last_seen: str | None
    matching: int | None = None

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
    #: The other locations of the photo (identical copies in other folders; stored path texts, by path).
    also_at: tuple[str, ...] = ()

    @property
    def filename(self) -> str:
        return os.path.basename(self.path)


PEOPLE_ORDER = {
    "count": "face_count DESC, pe.id",
    "name": "pe.name IS NULL, pe.name COLLATE NOCASE, face_count DESC, pe.id",
    "recent": "last_seen IS NULL, last_seen DESC, face_count DESC, pe.id",
}
FACE_ORDER = {"id": "f.id", "date": "COALESCE(p.taken_at, p.imported_at), f.id",
              "newest": "COALESCE(p.taken_at, p.imported_at) DESC, f.id"}
PHOTO_ORDER = "COALESCE(p.taken_at, p.imported_at) DESC, p.id DESC"
_PHOTO_HAS_PERSON = ("p.id IN (SELECT f2.photo_id FROM faces f2 JOIN assignments a2 ON a2.face_id = f2.id "
                     "WHERE a2.person_id = ?)")


def _scope_sql(scope: FaceScope) -> tuple[str, list[Any]]:
    parts: list[str] = []
    args: list[Any] = []
    if scope.kind == "unsorted":
        parts.append("a.face_id IS NULL")
    elif scope.kind == "person":
        parts.append("a.person_id = ?")
        args.append(int(scope.person_id or 0))
    elif scope.kind == "photo":
        parts.append("f.photo_id = ?")
        args.append(int(scope.photo_id or 0))
    elif scope.kind == "ids":
        parts.append(f"f.id IN ({','.join(str(int(i)) for i in scope.ids) or 'NULL'})")
    if scope.filter is not None and scope.filter.active:
        parts.append(f"({scope.filter.where})")
        args += list(scope.filter.params)
    return " AND ".join(parts) or "1", args


class LibraryReader:
    """A read connection to a library (one per thread). Close it with :meth:`close`."""

    def __init__(self, db_path: os.PathLike[str] | str, *, readonly: bool = False) -> None:
        self.path = os.fspath(db_path)
        # ``readonly`` opens the file read-only (thumbnail workers); otherwise query_only keeps it a reader
        # while still letting SQLite create the WAL index when this is the first connection.
        self.db: sqlite_utils.Database = connect(db_path, readonly=readonly)
        self.db.execute("PRAGMA query_only = 1")

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> LibraryReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def data_version(self) -> int:
        """Changes whenever another connection (the import, the edit thread, the CLI) committed."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    # ------------------------------------------------------------------ counts
    def counts(self) -> Counts:
        """Every count the window, the status bar and ``faceorganizer status`` show."""
        one = lambda sql: int(self.db.execute(sql).fetchone()[0])  # noqa: E731
        by_status = {r[0]: int(r[1]) for r in
                     self.db.execute("SELECT status, COUNT(*) FROM photos GROUP BY status ORDER BY status")}
        return Counts(
            photos=by_status.get("ok", 0),
            photos_by_status=by_status,
            faces=one("SELECT COUNT(*) FROM faces"),
            people=one("SELECT COUNT(*) FROM people pe WHERE hidden = 0 AND "
                       "(name IS NOT NULL OR EXISTS (SELECT 1 FROM assignments a WHERE a.person_id = pe.id))"),
            named_people=one("SELECT COUNT(*) FROM people WHERE hidden = 0 AND name IS NOT NULL"),
            # A face has at most one assignment (its primary key): two counts, no per-face look-up.
            unsorted=one("SELECT (SELECT COUNT(*) FROM faces) - (SELECT COUNT(*) FROM assignments)"),
            skipped=by_status.get("skipped", 0) + by_status.get("unsupported", 0),
        )

    def roots(self) -> list[dict[str, Any]]:
        """Imported folders with their photo count (a photo with a copy in the folder counts once), by path."""
        return [{**r, "online": bool(r["online"])} for r in self.db.query(
            "SELECT r.id, r.path, r.online, r.last_scan, "
            "(SELECT COUNT(*) FROM photos p WHERE p.root_id = r.id) + (SELECT COUNT(DISTINCT l.photo_id) FROM "
            "photo_locations l WHERE l.root_id = r.id AND NOT EXISTS (SELECT 1 FROM photos p WHERE p.id = l.photo_id "
            "AND p.root_id = r.id)) AS photos FROM roots r ORDER BY r.path")]

    def skipped(self) -> list[dict[str, str]]:
        """Photos not imported, with the reason recorded for each."""
        return [{"path": r["path"], "reason": r["error"] or r["status"], "status": r["status"]}
                for r in self.db.query("SELECT path, status, error FROM photos "
                                       "WHERE status IN ('skipped', 'unsupported') ORDER BY path")]

    def faces_to_reembed(self, model_id: str) -> int:
        """Faces embedded by another model than ``model_id`` (``Library.faces_to_reembed`` on this reader)."""
        from faceorganizer.store.faces import count_stale_faces

        return count_stale_faces(self.db, model_id)

    def offline_roots(self) -> list[str]:
        return [r["path"] for r in self.db.query("SELECT path FROM roots WHERE online = 0 ORDER BY path")]

    # ------------------------------------------------------------------ people
    def people(self, *, sort: str = "count", include_hidden: bool = False, named_only: bool = False,
               face_filter: FaceFilter | None = None, match: PersonMatch = "any") -> list[PersonCard]:
        """Every person with counts and a cover. With ``face_filter``, only people with a matching face
        (``match="any"``) or whose faces match more than half (``"most"``); ``matching`` says how many match."""
        where = "(? OR pe.hidden = 0)"
        args: list[Any] = [1 if include_hidden else 0]
        if named_only:
            where += " AND pe.name IS NOT NULL"
        filtered = face_filter is not None and face_filter.active
        matching_sql = "NULL"
        if filtered:
            assert face_filter is not None
            matching_sql = ("(SELECT COUNT(*) FROM faces f JOIN photos p ON p.id = f.photo_id JOIN assignments a "
                            f"ON a.face_id = f.id WHERE a.person_id = pe.id AND ({face_filter.where}))")
            args = [*face_filter.params, *args]
        having = "face_count > 0 OR pe.name IS NOT NULL"
        if filtered:
            having = "matching > 0" if match == "any" else "matching * 2 > face_count"
        rows = list(self.db.query(
            f"""
            SELECT pe.id, pe.name, pe.hidden, pe.cover_face_id,
                   COUNT(a.face_id) AS face_count, COUNT(DISTINCT f.photo_id) AS photo_count,
                   MAX(COALESCE(p.taken_at, p.imported_at)) AS last_seen, {matching_sql} AS matching
            FROM people pe
            LEFT JOIN assignments a ON a.person_id = pe.id
            LEFT JOIN faces f ON f.id = a.face_id
            LEFT JOIN photos p ON p.id = f.photo_id
            WHERE {where}
            GROUP BY pe.id
            HAVING {having}
            ORDER BY {PEOPLE_ORDER.get(sort, PEOPLE_ORDER['count'])}
            """, args))
        best = self.best_faces()
        return [PersonCard(r["id"], r["name"], bool(r["hidden"]), r["face_count"], r["photo_count"],
                           r["cover_face_id"] or best.get(r["id"]), r["last_seen"], r["matching"]) for r in rows]

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

    def person_by_name(self, name: str, *, exclude: int | None = None) -> PersonCard | None:
        """The person already called ``name`` (case-insensitively), other than ``exclude``."""
        row = self.db.execute("SELECT id FROM people WHERE name = ? COLLATE NOCASE AND id != ? ORDER BY id LIMIT 1",
                              [name, -1 if exclude is None else exclude]).fetchone()
        return self.person(row[0]) if row else None

    def person_names(self) -> list[tuple[int, str]]:
        """Named people (for the filter panel), by name."""
        return [(r["id"], r["name"]) for r in
                self.db.query("SELECT id, name FROM people WHERE name IS NOT NULL AND hidden = 0 "
                              "ORDER BY name COLLATE NOCASE")]

    def move_targets(self) -> list[tuple[int, str, int]]:
        """Every visible person a face can be moved to: (id, label, face count); named by name, then unnamed
        groups by size ("Unnamed #12")."""
        rows = self.db.execute(
            "SELECT pe.id, pe.name, COUNT(a.face_id) AS n FROM people pe LEFT JOIN assignments a "
            "ON a.person_id = pe.id WHERE pe.hidden = 0 GROUP BY pe.id HAVING n > 0 OR pe.name IS NOT NULL "
            "ORDER BY pe.name IS NULL, pe.name COLLATE NOCASE, n DESC, pe.id").fetchall()
        return [(r[0], r[1] or f"Unnamed #{r[0]}", int(r[2])) for r in rows]

    # ------------------------------------------------------------------ faces
    def face_ids(self, scope: FaceScope = FaceScope(), *, limit: int = -1, offset: int = 0) -> list[int]:
        where, args = _scope_sql(scope)
        order = FACE_ORDER[scope.order]
        if scope.kind == "unsorted":  # faces that failed the face-ness gate (textures, fragments) come last
            order = "f.doubtful, " + order
        return queries.face_ids(self.db, where, args, order=order, limit=limit, offset=offset)

    def count_faces(self, scope: FaceScope = FaceScope()) -> int:
        where, args = _scope_sql(scope)
        return len(queries.face_ids(self.db, where, args))

    def matching_faces(self, ids: list[int], face_filter: FaceFilter | None) -> set[int]:
        """Those of ``ids`` matching ``face_filter`` (all of them without one)."""
        if face_filter is None or not face_filter.active:
            return set(ids)
        out: set[int] = set()
        for start in range(0, len(ids), 500):
            out.update(self.face_ids(FaceScope("ids", ids=tuple(ids[start:start + 500]), filter=face_filter)))
        return out

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
        ids = self.face_ids(FaceScope("photo", photo_id=photo_id))
        cards = self.face_cards(ids)
        return [cards[i] for i in ids if i in cards]

    def face_chip(self, face_id: int
                  ) -> tuple[bytes | None, str, tuple[float, float, float, float], int | None] | None:
        """(stored chip JPEG or None, stored photo path, box, orientation the analysis applied) of a face, for
        thumbnails."""
        row = self.db.execute("SELECT c.chip, p.path, f.x, f.y, f.w, f.h, p.orientation FROM faces f JOIN photos p "
                              "ON p.id = f.photo_id LEFT JOIN face_chips c ON c.face_id = f.id "
                              "WHERE f.id = ?", [face_id]).fetchone()
        return None if row is None else (row[0], row[1], (row[2], row[3], row[4], row[5]), row[6])

    def photo_file(self, photo_id: int) -> tuple[str, float | None, int | None] | None:
        """(stored path, mtime, orientation the analysis applied — EXIF or, without one, the XMP sidecar's) of a
        photo, for thumbnails and the viewer."""
        row = self.db.execute("SELECT path, mtime, orientation FROM photos WHERE id = ?", [photo_id]).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def face_ids_of_person(self, person_id: int) -> list[int]:
        return self.face_ids(FaceScope("person", person_id=person_id))

    # ------------------------------------------------------------------ photos
    def photo_ids(self, scope: PhotoScope = PhotoScope(), *, limit: int = -1, offset: int = 0) -> list[int]:
        """Photos (status ok) in ``scope``, newest first."""
        parts = ["p.status = 'ok'"]
        args: list[Any] = []
        if scope.folder:  # the photo's file or one of its copies is inside the folder
            parts.append("(substr(p.path, 1, ?) = ? OR p.id IN (SELECT l.photo_id FROM photo_locations l "
                         "WHERE substr(l.path, 1, ?) = ?))")
            args += [len(scope.folder), scope.folder] * 2
        for pid in ([scope.person_id] if scope.person_id is not None else []) + list(scope.all_people):
            parts.append(_PHOTO_HAS_PERSON)
            args.append(int(pid))
        if scope.filter is not None and scope.filter.active:
            parts.append("p.id IN (SELECT f.photo_id FROM faces f JOIN photos p ON p.id = f.photo_id "
                         f"LEFT JOIN assignments a ON a.face_id = f.id WHERE {scope.filter.where})")
            args += list(scope.filter.params)
        sql = f"SELECT p.id FROM photos p WHERE {' AND '.join(parts)} ORDER BY {PHOTO_ORDER} LIMIT ? OFFSET ?"
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
        for photo_id, paths in locations.paths_of(self.db, [i for i in ids if i in out]).items():
            out[photo_id] = dataclasses.replace(out[photo_id], also_at=tuple(paths))
        return out

    def photo(self, photo_id: int) -> PhotoCard | None:
        return self.photo_cards([photo_id]).get(photo_id)

    def photo_of_face(self, face_id: int) -> int | None:
        row = self.db.execute("SELECT photo_id FROM faces WHERE id = ?", [face_id]).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------------ attribute values
    def distinct(self, column: str) -> list[str]:
        if column not in ("pose", "expression"):
            raise ValueError(column)
        return [r[0] for r in self.db.execute(
            f"SELECT DISTINCT {column} FROM faces WHERE {column} IS NOT NULL ORDER BY {column} LIMIT 50")]

    def taught_names(self) -> list[str]:
        """Names of the attributes the user taught (the filter language accepts them as bare words)."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT name FROM user_attributes ORDER BY name")]

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


def open_reader(db_path: os.PathLike[str] | str, *, readonly: bool = False) -> LibraryReader:
    """A new reader on the library database at ``db_path`` (for a worker thread)."""
    return LibraryReader(db_path, readonly=readonly)
