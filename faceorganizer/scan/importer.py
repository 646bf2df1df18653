"""The import job: a generator that yields progress after every batch and stops cleanly when cancelled.

Stages: discover (walk + stat, into a temp table so memory stays flat) → read + content hash (thread pool) →
decode/detect/align/attributes (process pool on CPU, or in-process for small jobs) → embed (this thread: the
single owner of the accelerator, in batches) → store (this thread's own connection, one transaction per batch;
each photo is written together with all its faces, so a killed import leaves whole photos or none).

Identity is the content hash: an unchanged file (same size and mtime) costs no work at all, a moved or renamed
file keeps its faces and names, an identical copy in another folder is one more *location* of the same photo
(no new photo, no new faces: ``store/locations.py``), a changed file is re-analysed (its confirmed names carried
over to the faces found at the same place). A file that disappeared is marked ``missing`` (when another location
of its photo is still there, that one becomes the photo's file instead, and a copy that disappeared is simply no
longer one of its locations); a root that cannot be reached marks its photos ``offline``: no photo and no user
edit is ever deleted by a scan.

The job owns stages, pools and progress only. What it needs comes in explicitly (see :class:`ImportJob`):
a function opening its own writer connection, a function giving the loaded analyzer, the settings, and the
steps to run after the last photo (grouping, face codes: given by the ``Library`` so ``scan`` never calls up
into ``people`` or ``search``). Every row it writes goes through ``faceorganizer.store.photos``/``faces``.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import sqlite_utils

from faceorganizer.geometry import box_iou
from faceorganizer.paths import display_path, path_to_text, text_to_path
from faceorganizer.scan.discover import FileEntry, root_is_reachable, walk_many
from faceorganizer.scan.engine import AnalysisEngine, AnalysisPool
from faceorganizer.scan.hashing import content_hash
from faceorganizer.scan.worker import WorkerResult, analyze_photo, init_worker, set_analyzer
from faceorganizer.settings import Settings
from faceorganizer.store import faces as face_store
from faceorganizer.store import locations as location_store
from faceorganizer.store import notface, transaction
from faceorganizer.store import photos as photo_store
from faceorganizer.store import privacy as store_privacy
from faceorganizer.store.photos import QueuedFile, ScanTables

if TYPE_CHECKING:
    from faceorganizer.pipeline.analyzer import AnalyzedFace, FaceAnalyzer

log = logging.getLogger("faceorganizer.scan")

#: Below this many photos to analyse, worker processes cost more to start than they save.
INLINE_LIMIT = 12
EMBED_BATCH = 32
WRITE_BATCH_SECONDS = 0.5
#: A confirmed name stays on the face re-detected at the same place in an edited photo.
CARRY_IOU = 0.5

#: A step run on the writer connection after the last photo (name for ``stage_seconds``, function).
AfterStep = tuple[str, Callable[[sqlite_utils.Database], object]]


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
    copies_found: int = 0  # identical copies recorded as another location of a known photo
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
                "copies_found": self.copies_found,
                "seconds": round(self.elapsed, 3), "skipped": self.skipped}


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 16))


class ImportJob:
    """Import ``roots`` (folders or files); iterate :meth:`run` to drive it.

    ``writer`` opens the job's own connection (closed when the job ends); ``analyzer`` returns the loaded face
    analyzer (called only when recognition is on); ``after`` runs on the writer once faces were added.
    """

    def __init__(self, roots: Sequence[str | os.PathLike[str]], *, writer: Callable[[], sqlite_utils.Database],
                 analyzer: Callable[[], FaceAnalyzer], settings: Settings, after: Sequence[AfterStep] = (),
                 cancel: threading.Event | None = None, workers: int | None = None,
                 engine: AnalysisEngine | None = None) -> None:
        # Real paths: a folder reached through a symlink is the same folder, its files the same photos.
        self.roots = [os.path.realpath(os.fspath(r)) for r in roots]
        self.engine = engine  # None: local processes; else ray_engine.RayEngine or batched_engine.BatchedEngine
        self.open_writer = writer
        self.get_analyzer = analyzer
        self.settings = settings
        self.after = list(after)
        self.cancel = cancel or threading.Event()
        self.workers = workers or settings.workers or default_workers()
        self.progress = ImportProgress()
        self.recognition = True
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
        photo_store.record_skipped(db, text, root_id, reason, status=status, size=size, mtime=mtime)
        self.progress.photos_skipped += 1
        self.progress.skipped.append({"path": display_path(text), "reason": reason})

    # ------------------------------------------------------------------ the job
    def run(self) -> Iterator[ImportProgress]:
        db = self.open_writer()
        try:
            yield from self._run(db)
        finally:
            db.conn.close()

    def _register_roots(self, db: sqlite_utils.Database) -> dict[str, int]:
        ids: dict[str, int] = {}
        with transaction(db):
            for root in self.roots:
                folder = root if not os.path.isfile(root) else os.path.dirname(root)
                ids[root] = photo_store.register_root(db, path_to_text(folder))
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
                    photo_store.mark_root_scanned(db, root_ids[root])
            else:
                log.warning("import root %s is not reachable: its photos are marked offline", root)
                with transaction(db):
                    photo_store.mark_root_offline(db, root_ids[root])
        yield self._tick("discovering")

        # Discovery into a temp table: flat memory whatever the library size.
        tables = ScanTables(db)
        t = time.perf_counter()
        batch: list[FileEntry] = []
        for entry in walk_many(reachable):
            batch.append(entry)
            if len(batch) >= 512:
                self._classify(db, tables, batch, root_ids)
                batch = []
                if self.cancel.is_set():
                    break
                yield self._tick()
        if batch:
            self._classify(db, tables, batch, root_ids)
        self._time("discover", time.perf_counter() - t)
        self.progress.photos_total = tables.todo_count()
        yield self._tick("importing")

        if not self.cancel.is_set():
            yield from self._process_todo(db, tables, root_ids)
        if not self.cancel.is_set():
            self._mark_missing(db, tables, reachable)
        if self.progress.faces_found and not self.cancel.is_set() and self.after:
            yield self._tick("grouping")
            for name, step in self.after:
                t = time.perf_counter()
                step(db)
                self._time(name, time.perf_counter() - t)
        yield self._tick("cancelled" if self.cancel.is_set() else "done")

    def _mark_missing(self, db: sqlite_utils.Database, tables: ScanTables, reachable: list[str]) -> None:
        with transaction(db):
            for root in reachable:
                if not os.path.isfile(root):
                    prefix = path_to_text(root).rstrip(os.sep) + os.sep
                    tables.mark_missing_under(prefix)
                    location_store.drop_unseen_under(db, prefix)  # copies no longer there: no user data on them
            # A photo whose file is gone (or offline) but whose copy is still there lives on at the copy.
            for candidates in location_store.of_unreachable_photos(db).values():
                here = next((c for c in candidates if os.path.exists(text_to_path(c.path))), None)
                if here is not None:
                    location_store.promote(db, here)

    def _classify(self, db: sqlite_utils.Database, tables: ScanTables, entries: list[FileEntry],
                  root_ids: dict[str, int]) -> None:
        """Record which files were seen; queue those that need reading; record unreadable ones."""
        texts = [path_to_text(e.path) for e in entries]
        known = photo_store.known_photos(db, texts)
        copies = location_store.known(db, texts)
        done = ("ok", "missing", "offline", "skipped") if self.recognition else \
            ("ok", "missing", "offline", "skipped", "pending")
        with transaction(db):
            tables.add_seen(texts)
            for entry, text in zip(entries, texts):
                root_id = root_ids.get(entry.root) or self._root_for(entry, root_ids)
                row = known.get(text)
                if entry.kind == "error":
                    self._skip(db, entry.path, root_id, entry.error or "unreadable")
                    continue
                if entry.kind == "raw":
                    if row is None or row.status != "unsupported":
                        self._skip(db, entry.path, root_id, "RAW photo files are not supported yet",
                                   status="unsupported", size=entry.size, mtime=entry.mtime)
                    continue
                copy = copies.get(text) if row is None else None
                if copy is not None and copy.size == entry.size and copy.mtime == entry.mtime:
                    continue  # an unchanged copy of a known photo (another location of it)
                unchanged = (row is not None and row.size == entry.size and row.mtime == entry.mtime
                             and row.status in done)
                if unchanged:
                    assert row is not None
                    if row.status in ("missing", "offline"):
                        photo_store.set_status(db, row.id, "ok")
                    continue
                tables.add_todo(text, entry.root, entry.size, entry.mtime)

    def _root_for(self, entry: FileEntry, root_ids: dict[str, int]) -> int | None:
        for root, rid in root_ids.items():
            if entry.path.startswith(root):
                return rid
        return None

    # ------------------------------------------------------------------ analysis
    def _process_todo(self, db: sqlite_utils.Database, tables: ScanTables, root_ids: dict[str, int]
                      ) -> Iterator[ImportProgress]:
        inline = self.engine is None and (self.progress.photos_total <= INLINE_LIMIT or self.workers <= 1)
        pool: AnalysisPool | None = None
        analyzer: FaceAnalyzer | None = None
        if self.recognition:
            analyzer = self.get_analyzer()
            if self.engine is not None:  # decode/detect/align/attributes elsewhere; embed and store stay here
                pool = self.engine.start(asdict(self.settings), self.roots)
            elif inline:
                set_analyzer(analyzer)
            else:
                pool = ProcessPoolExecutor(max_workers=self.workers,
                                           mp_context=multiprocessing.get_context("spawn"),
                                           initializer=init_worker, initargs=(asdict(self.settings), 1))
        hasher = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fo-hash")
        # Each in-flight item is (file, digest, stage, future): stage "hash" yields the content hash, stage
        # "analyze" the worker's result. Items are consumed in order, so photos are written in discovery order.
        in_flight: deque[tuple[QueuedFile, str, str, Future[Any]]] = deque()
        max_in_flight = max(4, getattr(pool, "workers", self.workers) * 3)
        pending_write: list[tuple[QueuedFile, str, WorkerResult]] = []
        last_write = time.perf_counter()
        self._analysed_t0 = time.perf_counter()
        rows_iter = tables.todo()

        try:
            exhausted = False
            while True:
                while not exhausted and len(in_flight) < max_in_flight and not self.cancel.is_set():
                    queued = next(rows_iter, None)
                    if queued is None:
                        exhausted = True
                        break
                    in_flight.append((queued, "", "hash", hasher.submit(content_hash, text_to_path(queued.path))))
                if not in_flight:
                    break
                row, digest, stage, fut = in_flight.popleft()
                path = text_to_path(row.path)
                self.progress.current = path
                if stage == "hash":
                    t = time.perf_counter()
                    try:
                        digest = fut.result()
                    except OSError as exc:
                        with transaction(db):
                            self._skip(db, path, root_ids.get(row.root), _read_error(exc), size=row.size,
                                       mtime=row.mtime)
                        self.progress.photos_done += 1
                        continue
                    self._time("read+hash", time.perf_counter() - t)
                    if self._reuse_by_hash(db, row, digest, root_ids):
                        self.progress.photos_done += 1
                        continue
                    if not self.recognition:  # listed, not analysed: recognition is off for this library
                        pending_write.append((row, digest, WorkerResult(path)))
                        continue
                    if pool is None:
                        t = time.perf_counter()
                        done: Future[Any] = Future()
                        done.set_result(analyze_photo(path))
                        self._time("analyze", time.perf_counter() - t)
                        in_flight.appendleft((row, digest, "analyze", done))
                    else:
                        in_flight.append((row, digest, "analyze", pool.submit(analyze_photo, path)))
                    continue
                t = time.perf_counter()
                result: WorkerResult = fut.result()
                self._time("wait-workers", time.perf_counter() - t)
                pending_write.append((row, digest, result))
                faces_waiting = sum(len(r.analysis.faces) for _, _, r in pending_write if r.analysis)
                if (faces_waiting >= EMBED_BATCH or time.perf_counter() - last_write > WRITE_BATCH_SECONDS
                        or (exhausted and not in_flight)):
                    self._write_batch(db, pending_write, analyzer, root_ids)
                    pending_write = []
                    last_write = time.perf_counter()
                    yield self._tick()
                if self.cancel.is_set():
                    break
            if pending_write:
                self._write_batch(db, pending_write, analyzer, root_ids)
                yield self._tick()
        finally:
            hasher.shutdown(wait=True, cancel_futures=True)
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _reuse_by_hash(self, db: sqlite_utils.Database, row: QueuedFile, digest: str,
                       root_ids: dict[str, int]) -> bool:
        """A moved/renamed file keeps its photo row; a copy is another location of it. True when no analysis is
        needed."""
        # Only photos whose faces were analysed can lend them (not pending ones, not failed ones).
        same = photo_store.analysed_with_hash(db, digest)
        if same is None:
            return False
        original_id, original_path = same
        root_id = root_ids.get(row.root)
        if original_path == row.path:
            with transaction(db):  # touched but unchanged (e.g. mtime only)
                photo_store.touch(db, original_id, row.size, row.mtime)
            return True
        old_exists = os.path.exists(text_to_path(original_path))
        with transaction(db):
            if location_store.owner(db, row.path) == original_id:  # a known copy, touched but unchanged
                location_store.touch(db, row.path, row.size, row.mtime)
                return True
            if not old_exists:
                # Moved or renamed: the same photo row (faces, names, edits) follows the file.
                photo_store.move(db, original_id, row.path, root_id, row.size, row.mtime)
                self.progress.photos_updated += 1
                return True
            # An identical copy in another folder: one photo with two locations (no new photo, no new faces).
            location_store.add(db, original_id, row.path, root_id, row.size, row.mtime)
        self.progress.copies_found += 1
        return True

    def _fold_copy(self, db: sqlite_utils.Database, row: QueuedFile, digest: str, root_id: int | None,
                   analysed: bool) -> bool:
        """An identical copy of a photo stored earlier in this import (two copies analysed in one batch), or of a
        photo listed without analysis, becomes one of its locations, inside the batch's write transaction. True
        when folded (the result at hand is not stored). An analysis is never folded into a photo waiting for
        one: the copy is stored, and the waiting photo becomes its location when its own file is scanned."""
        same = photo_store.listed_with_hash(db, digest, row.path)
        if same is None or (analysed and not same[2]) or not os.path.exists(text_to_path(same[1])):
            return False
        location_store.add(db, same[0], row.path, root_id, row.size, row.mtime)
        self.progress.copies_found += 1
        return True

    def _write_batch(self, db: sqlite_utils.Database, batch: list[tuple[QueuedFile, str, WorkerResult]],
                     analyzer: FaceAnalyzer | None, root_ids: dict[str, int]) -> None:
        t = time.perf_counter()
        faces = [face for _, _, r in batch if r.analysis for face in r.analysis.faces]
        chips = [face.chip for face in faces]
        vectors = analyzer.embed(faces) if chips and analyzer is not None else None
        if chips:
            self._time("embed", time.perf_counter() - t)
        t = time.perf_counter()
        model_id = analyzer.model_id if analyzer is not None and self.recognition else None
        k = 0
        with transaction(db):
            if self.recognition and not store_privacy.recognition_enabled(db):
                # `delete-face-data` or `recognition off` committed while this import ran. Checked inside the
                # write transaction, so no face is stored after the switch: the rest is listed, not analysed.
                log.info("recognition was turned off during the import: storing no more faces")
                self.recognition, model_id = False, None
            if not self.recognition:
                batch = [(row, digest, WorkerResult(result.path) if result.analysis is not None else result)
                         for row, digest, result in batch]
            for row, digest, result in batch:
                root_id = root_ids.get(row.root)
                path = text_to_path(row.path)
                self.progress.photos_done += 1
                if result.skipped is not None:
                    self._skip(db, path, root_id, result.skipped, size=row.size, mtime=row.mtime)
                    continue
                if self._fold_copy(db, row, digest, root_id, result.analysis is not None):
                    k += len(result.analysis.faces) if result.analysis is not None else 0  # their vectors go unused
                    continue
                if result.analysis is None:
                    photo_store.record_pending(db, row.path, root_id, digest, row.size, row.mtime)
                    self.progress.photos_added += 1
                    continue
                a = result.analysis
                values = [root_id, digest, row.size, row.mtime, a.width, a.height, a.taken_at, a.orientation,
                          model_id]
                carried: list[face_store.ConfirmedBox] = []
                photo_id = photo_store.photo_id_at(db, row.path)
                if photo_id is not None:
                    carried = face_store.confirmed_boxes(db, photo_id)
                    face_store.delete_faces_of_photo(db, photo_id)
                    photo_store.update_analysed(db, photo_id, values)
                    self.progress.photos_updated += 1
                else:
                    photo_id = photo_store.insert_analysed(db, row.path, values)
                    self.progress.photos_added += 1
                # Boxes the user removed as "not a face" from this picture stay removed (store/notface.py).
                not_faces = notface.remembered_boxes(db, digest, row.path)
                kept = 0
                for face in a.faces:
                    assert vectors is not None
                    vec = vectors[k]
                    k += 1
                    if not_faces and notface.is_remembered(face.box, not_faces):
                        continue
                    face_id = insert_face(db, photo_id, face, vec, model_id)
                    _carry_confirmed(db, face_id, face.box, carried)
                    kept += 1
                if result.regions:
                    from faceorganizer.xmp_sync import apply_regions

                    apply_regions(db, photo_id, result.regions, a.width, a.height)
                self.progress.faces_found += kept
        self._time("store", time.perf_counter() - t)


def _carry_confirmed(db: sqlite_utils.Database, face_id: int, box: Sequence[float],
                     carried: list[face_store.ConfirmedBox]) -> None:
    """An edited photo keeps its confirmed names on the faces found at the same place (IoU ≥ 0.5)."""
    for old in carried:
        if box_iou(old.box, box) >= CARRY_IOU:
            face_store.carry_confirmed(db, face_id, old.person_id)
            return


def _read_error(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "file vanished during import"
    return f"cannot read ({exc.strerror or exc})"


def face_values(photo_id: int, face: AnalyzedFace, vector: np.ndarray, model_id: str | None) -> list[Any]:
    """The stored column values of an analysed face, in ``store.faces.FACE_COLUMNS`` order."""
    q = face.quality
    expressions = face.expressions
    return [photo_id, *[float(v) for v in face.box], json.dumps([round(float(v), 2) for v in face.landmarks.ravel()]),
            float(face.score), np.asarray(vector, np.float32).tobytes(), model_id,
            float(face.age), float(face.gender), q.sharpness, q.brightness, q.size, q.yaw, q.pitch, q.roll, q.pose,
            q.quality, face.attr_model, face.expression, face.smile,
            json.dumps({k: round(float(v), 4) for k, v in expressions.items()}) if expressions else None]


def chip_jpeg(chip: np.ndarray) -> bytes | None:
    """The aligned RGB chip as the stored JPEG (quality 85), ``None`` if it cannot be encoded."""
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(chip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return jpeg.tobytes() if ok else None


def insert_face(db: sqlite_utils.Database, photo_id: int, face: AnalyzedFace, vector: np.ndarray,
                model_id: str | None) -> int:
    """Write one analysed face (box, landmarks, attributes, embedding, chip) and return its id."""
    return face_store.insert_face(db, face_values(photo_id, face, vector, model_id), chip_jpeg(face.chip))
