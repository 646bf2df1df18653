"""The import job: a generator that yields progress after every batch and stops cleanly when cancelled.

Stages: discover (walk + stat, into a temp table so memory stays flat) → read + content hash (thread pool) →
decode/detect/align/attributes (process pool on CPU, or in-process for small jobs) → embed (this thread: the
single owner of the accelerator, in batches) → store (this thread's own connection, one transaction per batch;
each photo is written together with all its faces, so a killed import leaves whole photos or none).

Identity is the content hash: an unchanged file (same size and mtime) costs no work at all, a moved or renamed
file keeps its faces and names, a copy reuses the faces of the original, a changed file is re-analysed (its
confirmed names carried over to the faces found at the same place). A file that disappeared is marked
``missing``; a root that cannot be reached marks its photos ``offline``: nothing is ever deleted by a scan.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np
import sqlite_utils

from faceorganizer.scan.discover import FileEntry, path_to_text, root_is_reachable, text_to_path, walk_many
from faceorganizer.scan.hashing import content_hash
from faceorganizer.scan.worker import WorkerResult, analyze_photo, init_worker, set_analyzer
from faceorganizer.store import transaction

log = logging.getLogger("faceorganizer.scan")

#: Below this many photos to analyse, worker processes cost more to start than they save.
INLINE_LIMIT = 12
EMBED_BATCH = 32
WRITE_BATCH_SECONDS = 0.5


@dataclass
class ImportProgress:
    """One progress tick (also the final state when ``stage`` is ``done`` or ``cancelled``)."""

    stage: str = "discovering"
    photos_done: int = 0
    photos_total: int = 0
    faces_found: int = 0
    photos_added: int = 0
    photos_updated: int = 0
    photos_skipped: int = 0
    current: str = ""
    elapsed: float = 0.0
    rate: float = 0.0  # photos per second over the analysed photos
    eta: float | None = None
    skipped: list[dict[str, str]] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def result_json(self) -> dict[str, Any]:
        """The stable ``import --json`` shape."""
        return {"photos_added": self.photos_added, "photos_updated": self.photos_updated,
                "photos_skipped": self.photos_skipped, "faces_added": self.faces_found,
                "seconds": round(self.elapsed, 3), "skipped": self.skipped}


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 16))


class ImportJob:
    """Import ``roots`` (folders or files) into ``library``; iterate :meth:`run` to drive it."""

    def __init__(self, library: Any, roots: Sequence[str | os.PathLike], *,
                 cancel: threading.Event | None = None, workers: int | None = None) -> None:
        self.library = library
        self.roots = [os.path.abspath(os.fspath(r)) for r in roots]
        self.cancel = cancel or threading.Event()
        self.workers = workers or library.settings.workers or default_workers()
        self.progress = ImportProgress()
        self._t0 = time.perf_counter()
        self._analysed_t0: float | None = None

    # ------------------------------------------------------------------ helpers
    def _tick(self, stage: str | None = None) -> ImportProgress:
        p = self.progress
        if stage:
            p.stage = stage
        p.elapsed = time.perf_counter() - self._t0
        if self._analysed_t0 is not None and p.photos_done:
            spent = time.perf_counter() - self._analysed_t0
            p.rate = p.photos_done / spent if spent > 0 else 0.0
            remaining = p.photos_total - p.photos_done
            p.eta = remaining / p.rate if p.rate > 0 else None
        return p

    def _time(self, stage: str, seconds: float) -> None:
        self.progress.stage_seconds[stage] = self.progress.stage_seconds.get(stage, 0.0) + seconds

    def _skip(self, db: sqlite_utils.Database, entry_path: str, root_id: int | None, reason: str,
              status: str = "skipped", size: int = 0, mtime: float = 0.0) -> None:
        text = path_to_text(entry_path)
        db.execute(
            "INSERT INTO photos (path, root_id, size, mtime, status, error, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, datetime('now')) ON CONFLICT(path) DO UPDATE SET "
            "status = excluded.status, error = excluded.error, size = excluded.size, mtime = excluded.mtime, "
            "updated_at = excluded.updated_at", [text, root_id, size, mtime, status, reason])
        self.progress.photos_skipped += 1
        from faceorganizer.scan.discover import display_path

        self.progress.skipped.append({"path": display_path(text), "reason": reason})

    # ------------------------------------------------------------------ the job
    def run(self) -> Iterator[ImportProgress]:
        db = self.library.connect_writer()
        try:
            yield from self._run(db)
        finally:
            db.conn.close()

    def _register_roots(self, db: sqlite_utils.Database) -> dict[str, int]:
        ids: dict[str, int] = {}
        with transaction(db):
            for root in self.roots:
                folder = root if not os.path.isfile(root) else os.path.dirname(root)
                text = path_to_text(folder)
                db.execute("INSERT OR IGNORE INTO roots (path) VALUES (?)", [text])
                ids[root] = next(db.query("SELECT id FROM roots WHERE path = ?", [text]))["id"]
        return ids

    def _run(self, db: sqlite_utils.Database) -> Iterator[ImportProgress]:
        from faceorganizer.privacy import recognition_enabled

        self.recognition = recognition_enabled(db)
        root_ids = self._register_roots(db)
        reachable = []
        for root in self.roots:
            if os.path.exists(root) and (os.path.isfile(root) or root_is_reachable(root)):
                reachable.append(root)
                with transaction(db):
                    db.execute("UPDATE roots SET online = 1, last_scan = datetime('now') WHERE id = ?",
                               [root_ids[root]])
            else:
                self._mark_offline(db, root, root_ids[root])
        yield self._tick("discovering")

        # Discovery into a temp table: flat memory whatever the library size.
        db.execute("CREATE TEMP TABLE IF NOT EXISTS seen (path TEXT PRIMARY KEY)")
        db.execute("CREATE TEMP TABLE IF NOT EXISTS todo (n INTEGER PRIMARY KEY, path TEXT, root TEXT, "
                   "size INTEGER, mtime REAL)")
        db.execute("DELETE FROM seen")
        db.execute("DELETE FROM todo")
        t = time.perf_counter()
        batch: list[FileEntry] = []
        for entry in walk_many(reachable):
            batch.append(entry)
            if len(batch) >= 512:
                self._classify(db, batch, root_ids)
                batch = []
                if self.cancel.is_set():
                    break
                yield self._tick()
        if batch:
            self._classify(db, batch, root_ids)
        self._time("discover", time.perf_counter() - t)
        self.progress.photos_total = next(db.query("SELECT COUNT(*) AS n FROM todo"))["n"]
        yield self._tick("importing")

        if not self.cancel.is_set():
            yield from self._process_todo(db, root_ids)
        if not self.cancel.is_set():
            self._mark_missing(db, reachable, root_ids)
        if self.progress.faces_found and not self.cancel.is_set():
            yield self._tick("grouping")
            t = time.perf_counter()
            from faceorganizer.people.grouping import assign_new_faces

            assign_new_faces(db, self.library.settings.cluster_threshold)
            self._time("group", time.perf_counter() - t)
            t = time.perf_counter()
            from faceorganizer.search.service import SearchService

            SearchService(db, self.library.cache_dir).ensure_codes()
            self._time("codes", time.perf_counter() - t)
        yield self._tick("cancelled" if self.cancel.is_set() else "done")

    def _mark_offline(self, db: sqlite_utils.Database, root: str, root_id: int) -> None:
        log.warning("import root %s is not reachable: its photos are marked offline", root)
        with transaction(db):
            db.execute("UPDATE roots SET online = 0 WHERE id = ?", [root_id])
            db.execute("UPDATE photos SET status = 'offline' WHERE root_id = ? AND status = 'ok'", [root_id])

    def _mark_missing(self, db: sqlite_utils.Database, reachable: list[str], root_ids: dict[str, int]) -> None:
        with transaction(db):
            for root in reachable:
                if os.path.isfile(root):
                    continue
                prefix = path_to_text(root).rstrip(os.sep) + os.sep
                db.execute(
                    "UPDATE photos SET status = 'missing', updated_at = datetime('now') "
                    "WHERE substr(path, 1, ?) = ? AND status IN ('ok', 'offline') "
                    "AND path NOT IN (SELECT path FROM temp.seen)", [len(prefix), prefix])

    def _classify(self, db: sqlite_utils.Database, entries: list[FileEntry], root_ids: dict[str, int]) -> None:
        """Record which files were seen; queue those that need reading; record unreadable ones."""
        texts = [path_to_text(e.path) for e in entries]
        marks = ",".join("?" for _ in texts)
        known = {r["path"]: r for r in db.query(
            f"SELECT id, path, size, mtime, status, content_hash FROM photos WHERE path IN ({marks})", texts)}
        with transaction(db):
            db.conn.executemany("INSERT OR IGNORE INTO temp.seen (path) VALUES (?)", [(t,) for t in texts])
            for entry, text in zip(entries, texts):
                root_id = root_ids.get(entry.root) or self._root_for(entry, root_ids)
                row = known.get(text)
                if entry.kind == "error":
                    self._skip(db, entry.path, root_id, entry.error or "unreadable")
                    continue
                if entry.kind == "raw":
                    if row is None or row["status"] != "unsupported":
                        self._skip(db, entry.path, root_id, "RAW photo files are not supported yet",
                                   status="unsupported", size=entry.size, mtime=entry.mtime)
                    continue
                done = ("ok", "missing", "offline", "skipped") if self.recognition else \
                    ("ok", "missing", "offline", "skipped", "pending")
                unchanged = (row is not None and row["size"] == entry.size and row["mtime"] == entry.mtime
                             and row["status"] in done)
                if unchanged:
                    if row["status"] in ("missing", "offline"):
                        db.execute("UPDATE photos SET status = 'ok' WHERE id = ?", [row["id"]])
                    continue
                db.execute("INSERT INTO temp.todo (path, root, size, mtime) VALUES (?, ?, ?, ?)",
                           [text, entry.root, entry.size, entry.mtime])

    def _root_for(self, entry: FileEntry, root_ids: dict[str, int]) -> int | None:
        for root, rid in root_ids.items():
            if entry.path.startswith(root):
                return rid
        return None

    # ------------------------------------------------------------------ analysis
    def _process_todo(self, db: sqlite_utils.Database, root_ids: dict[str, int]) -> Iterator[ImportProgress]:
        inline = self.progress.photos_total <= INLINE_LIMIT or self.workers <= 1
        pool: ProcessPoolExecutor | None = None
        embedder = None
        if not self.recognition:
            pass
        elif inline:
            analyzer = self.library.analyzer
            embedder = analyzer.embedder
            set_analyzer(analyzer)
        else:
            embedder = self.library.analyzer.embedder
            settings = asdict(self.library.settings)
            pool = ProcessPoolExecutor(max_workers=self.workers,
                                       mp_context=multiprocessing.get_context("spawn"),
                                       initializer=init_worker, initargs=(settings, 1))
        hasher = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fo-hash")
        # Each in-flight item is (row, stage, future): stage "hash" yields the content hash, stage "analyze"
        # the worker's result. Items are consumed in order, so photos are written in discovery order.
        in_flight: deque[tuple[dict, str, Future]] = deque()
        max_in_flight = max(4, self.workers * 3)
        pending_write: list[tuple[dict, str, WorkerResult]] = []
        last_write = time.perf_counter()
        self._analysed_t0 = time.perf_counter()
        rows_iter = _todo_rows(db)

        try:
            exhausted = False
            while True:
                while not exhausted and len(in_flight) < max_in_flight and not self.cancel.is_set():
                    row = next(rows_iter, None)
                    if row is None:
                        exhausted = True
                        break
                    in_flight.append((row, "hash", hasher.submit(content_hash, text_to_path(row["path"]))))
                if not in_flight:
                    break
                row, stage, fut = in_flight.popleft()
                path = text_to_path(row["path"])
                self.progress.current = path
                if stage == "hash":
                    t = time.perf_counter()
                    try:
                        digest = fut.result()
                    except OSError as exc:
                        with transaction(db):
                            self._skip(db, path, root_ids.get(row["root"]), _read_error(exc), size=row["size"],
                                       mtime=row["mtime"])
                        self.progress.photos_done += 1
                        continue
                    self._time("read+hash", time.perf_counter() - t)
                    if self._reuse_by_hash(db, row, digest, root_ids):
                        self.progress.photos_done += 1
                        continue
                    row = {**row, "hash": digest}
                    if not self.recognition:  # listed, not analysed: recognition is off for this library
                        pending_write.append((row, digest, WorkerResult(path)))
                        continue
                    if pool is None:
                        t = time.perf_counter()
                        done: Future = Future()
                        done.set_result(analyze_photo(path))
                        self._time("analyze", time.perf_counter() - t)
                        in_flight.appendleft((row, "analyze", done))
                    else:
                        in_flight.append((row, "analyze", pool.submit(analyze_photo, path)))
                    continue
                t = time.perf_counter()
                result: WorkerResult = fut.result()
                self._time("wait-workers", time.perf_counter() - t)
                pending_write.append((row, row["hash"], result))
                faces_waiting = sum(len(r.analysis.faces) for _, _, r in pending_write if r.analysis)
                if (faces_waiting >= EMBED_BATCH or time.perf_counter() - last_write > WRITE_BATCH_SECONDS
                        or (exhausted and not in_flight)):
                    self._write_batch(db, pending_write, embedder, root_ids)
                    pending_write = []
                    last_write = time.perf_counter()
                    yield self._tick()
                if self.cancel.is_set():
                    break
            if pending_write:
                self._write_batch(db, pending_write, embedder, root_ids)
                yield self._tick()
        finally:
            hasher.shutdown(wait=True, cancel_futures=True)
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _reuse_by_hash(self, db: sqlite_utils.Database, row: dict, digest: str, root_ids: dict[str, int]) -> bool:
        """A moved/renamed file keeps its photo row; a copy reuses its faces. True when no analysis is needed."""
        # Only photos whose faces were analysed can lend them (not pending ones, not failed ones).
        same = list(db.query("SELECT id, path, status FROM photos WHERE content_hash = ? AND faces_model IS NOT "
                             "NULL AND status IN ('ok', 'missing', 'offline') ORDER BY id LIMIT 1", [digest]))
        if not same:
            return False
        original = same[0]
        root_id = root_ids.get(row["root"])
        if original["path"] == row["path"]:
            with transaction(db):  # touched but unchanged (e.g. mtime only)
                db.execute("UPDATE photos SET size = ?, mtime = ?, status = 'ok' WHERE id = ?",
                           [row["size"], row["mtime"], original["id"]])
            return True
        old_exists = os.path.exists(text_to_path(original["path"]))
        with transaction(db):
            existing_here = list(db.query("SELECT id FROM photos WHERE path = ?", [row["path"]]))
            if not old_exists:
                # Moved or renamed: the same photo row (faces, names, edits) follows the file.
                if existing_here:
                    db.execute("DELETE FROM photos WHERE id = ?", [existing_here[0]["id"]])
                db.execute("UPDATE photos SET path = ?, root_id = ?, size = ?, mtime = ?, status = 'ok', "
                           "error = NULL, updated_at = datetime('now') WHERE id = ?",
                           [row["path"], root_id, row["size"], row["mtime"], original["id"]])
                self.progress.photos_updated += 1
                return True
            # A second copy of a known photo: a photo of its own, with the original's faces copied.
            if existing_here:
                db.execute("DELETE FROM photos WHERE id = ?", [existing_here[0]["id"]])
            cols = [r["name"] for r in db.query("PRAGMA table_info(photos)") if r["name"] not in ("id", "path")]
            new_id = db.execute(
                f"INSERT INTO photos (path, {', '.join(cols)}) SELECT ?, {', '.join(cols)} FROM photos "
                "WHERE id = ?", [row["path"], original["id"]]).lastrowid
            db.execute("UPDATE photos SET root_id = ?, size = ?, mtime = ?, status = 'ok' WHERE id = ?",
                       [root_id, row["size"], row["mtime"], new_id])
            fcols = [r["name"] for r in db.query("PRAGMA table_info(faces)") if r["name"] not in ("id", "photo_id")]
            db.execute(f"INSERT INTO faces (photo_id, {', '.join(fcols)}) SELECT ?, {', '.join(fcols)} "
                       "FROM faces WHERE photo_id = ? ORDER BY id", [new_id, original["id"]])
            added = db.execute("SELECT changes()").fetchone()[0]
            old_ids = [r[0] for r in db.execute("SELECT id FROM faces WHERE photo_id = ? ORDER BY id",
                                                [original["id"]]).fetchall()]
            new_ids = [r[0] for r in db.execute("SELECT id FROM faces WHERE photo_id = ? ORDER BY id",
                                                [new_id]).fetchall()]
            db.conn.executemany("INSERT INTO face_chips (face_id, chip) SELECT ?, chip FROM face_chips "
                                "WHERE face_id = ?", list(zip(new_ids, old_ids)))
        self.progress.photos_added += 1
        self.progress.faces_found += added
        return True

    def _write_batch(self, db: sqlite_utils.Database, batch: list[tuple[dict, str, WorkerResult]], embedder: Any,
                     root_ids: dict[str, int]) -> None:
        t = time.perf_counter()
        chips = [face.chip for _, _, r in batch if r.analysis for face in r.analysis.faces]
        vectors = self.library.analyzer.embed_chips(np.stack(chips)) if chips else None
        if chips:
            self._time("embed", time.perf_counter() - t)
        t = time.perf_counter()
        model_id = self.library.analyzer.model_id if self.recognition else None
        k = 0
        with transaction(db):
            for row, digest, result in batch:
                root_id = root_ids.get(row["root"])
                path = text_to_path(row["path"])
                self.progress.photos_done += 1
                if result.skipped is not None:
                    self._skip(db, path, root_id, result.skipped, size=row["size"], mtime=row["mtime"])
                    continue
                if result.analysis is None:
                    db.execute("INSERT INTO photos (path, root_id, content_hash, size, mtime, status) VALUES "
                               "(?, ?, ?, ?, ?, 'pending') ON CONFLICT(path) DO UPDATE SET content_hash = "
                               "excluded.content_hash, size = excluded.size, mtime = excluded.mtime, "
                               "status = 'pending'", [row["path"], root_id, digest, row["size"], row["mtime"]])
                    self.progress.photos_added += 1
                    continue
                a = result.analysis
                existing = list(db.query("SELECT id FROM photos WHERE path = ?", [row["path"]]))
                values = [root_id, digest, row["size"], row["mtime"], a.width, a.height, a.taken_at,
                          a.orientation, model_id]
                carried: list[dict] = []
                if existing:
                    photo_id = existing[0]["id"]
                    carried = self._confirmed_boxes(db, photo_id)
                    db.execute("DELETE FROM faces WHERE photo_id = ?", [photo_id])
                    db.execute("UPDATE photos SET root_id = ?, content_hash = ?, size = ?, mtime = ?, width = ?, "
                               "height = ?, taken_at = ?, orientation = ?, faces_model = ?, status = 'ok', "
                               "error = NULL, updated_at = datetime('now') WHERE id = ?", [*values, photo_id])
                    self.progress.photos_updated += 1
                else:
                    photo_id = db.execute(
                        "INSERT INTO photos (root_id, content_hash, size, mtime, width, height, taken_at, "
                        "orientation, faces_model, status, path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'ok', ?)",
                        [*values, row["path"]]).lastrowid
                    self.progress.photos_added += 1
                for face in a.faces:
                    vec = vectors[k]
                    k += 1
                    face_id = insert_face(db, photo_id, face, vec, model_id)
                    self._carry_confirmed(db, face_id, face, carried)
                if result.regions:
                    from faceorganizer.xmp_sync import apply_regions

                    apply_regions(db, photo_id, result.regions, a.width, a.height)
                self.progress.faces_found += len(a.faces)
        self._time("store", time.perf_counter() - t)

    @staticmethod
    def _confirmed_boxes(db: sqlite_utils.Database, photo_id: int) -> list[dict]:
        return list(db.query("SELECT f.x, f.y, f.w, f.h, a.person_id FROM faces f JOIN assignments a "
                             "ON a.face_id = f.id WHERE f.photo_id = ? AND a.origin = 'confirmed'", [photo_id]))

    @staticmethod
    def _carry_confirmed(db: sqlite_utils.Database, face_id: int, face: Any, carried: list[dict]) -> None:
        """An edited photo keeps its confirmed names on the faces found at the same place (IoU ≥ 0.5)."""
        for old in carried:
            if box_iou((old["x"], old["y"], old["w"], old["h"]), face.box) >= 0.5:
                db.execute("INSERT OR REPLACE INTO assignments (face_id, person_id, origin) "
                           "VALUES (?, ?, 'confirmed')", [face_id, old["person_id"]])
                return


def _todo_rows(db: sqlite_utils.Database, page: int = 1000) -> Iterator[dict]:
    """The queued files, read a page at a time (no cursor stays open across the writer's commits)."""
    last = 0
    while True:
        rows = list(db.query("SELECT n, path, root, size, mtime FROM temp.todo WHERE n > ? ORDER BY n LIMIT ?",
                             [last, page]))
        if not rows:
            return
        yield from rows
        last = rows[-1]["n"]


def _read_error(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "file vanished during import"
    return f"cannot read ({exc.strerror or exc})"


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def insert_face(db: sqlite_utils.Database, photo_id: int, face: Any, vector: np.ndarray, model_id: str) -> int:
    """Write one analysed face (box, landmarks, attributes, embedding, chip) and return its id."""
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(face.chip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    q = face.quality
    expressions = face.expressions
    face_id = int(db.execute(
        "INSERT INTO faces (photo_id, x, y, w, h, landmarks, det_score, embedding, embed_model, age, gender, "
        "sharpness, brightness, size, yaw, pitch, roll, pose, quality, attr_model, expression, smile, "
        "expressions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [photo_id, *[float(v) for v in face.box], json.dumps([round(float(v), 2) for v in face.landmarks.ravel()]),
         float(face.score), np.asarray(vector, np.float32).tobytes(), model_id,
         float(face.age), float(face.gender), q.sharpness, q.brightness, q.size, q.yaw, q.pitch, q.roll, q.pose,
         q.quality, face.attr_model, face.expression, face.smile,
         json.dumps({k: round(float(v), 4) for k, v in expressions.items()}) if expressions else None],
    ).lastrowid)
    if ok:
        db.execute("INSERT INTO face_chips (face_id, chip) VALUES (?, ?)", [face_id, jpeg.tobytes()])
    return face_id
