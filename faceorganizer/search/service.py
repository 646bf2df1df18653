""""Find this person" over a library: the cached index, calibrated ranking, filters, and face codes.

- The vector index (:class:`~faceorganizer.search.index.FaceIndex`) is a cache in ``cache/index.bin``,
  keyed by a fingerprint of the store's faces; a stale or damaged cache is rebuilt from SQLite.
- Ranking: the nearest candidates by Euclidean distance, re-scored with IDA calibration (each face's log
  density term cached in ``faces.density`` against an anchor set of person centroids) when enabled.
  The user's threshold is a distance (same person below 0.6, dlib's rule), so it means the same thing
  whatever the ranking; the calibrated score orders the results.
- 32-bit codes (``faces.code``) are fitted on the library and kept up to date after imports; they serve the
  bin search and the look-up-table attribute predictions.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from faceorganizer.errors import NoFaceError, NotFoundError
from faceorganizer.search import codes as codes_mod
from faceorganizer.search import ida
from faceorganizer.search.index import FaceIndex, IndexCacheError, similarity_from_distance
from faceorganizer.store import search as store

log = logging.getLogger("faceorganizer.search")

INDEX_FILE = "index.bin"
CANDIDATES = 200  # nearest faces re-scored per query (and filtered by people/attributes)
CODEC_KEY = "codec"
IDA_KEY = "ida_anchor_fingerprint"
ANCHORS_PER_PERSON = 2
"""IDA anchors: this many random faces of every person. On lfw_dev (``bench/bench_lfw.py``) person centroids
lost to plain distances (rank-1 0.918 vs 0.924, mAP 0.913 vs 0.919); two faces per person won in three of
three anchor draws (rank-1 0.928-0.931, mAP 0.924-0.925); one face per person in two of three."""


@dataclass(frozen=True)
class SearchHit:
    """One result: a face, its photo and person, its distance and display score (0..1)."""

    face_id: int
    photo_id: int
    photo: str
    person_id: int | None
    person_name: str | None
    distance: float
    score: float
    calibrated: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"face_id": self.face_id, "photo": self.photo, "person_id": self.person_id,
                "score": round(self.score, 4), "distance": round(self.distance, 4),
                "person_name": self.person_name}


def store_fingerprint(db: sqlite_utils.Database) -> str:
    """Changes whenever faces of the current model are added, removed or re-embedded."""
    return hashlib.blake2b(repr(store.faces_signature(db)).encode(), digest_size=12).hexdigest()


@dataclass
class _Densities:
    """The calibration in memory: the calibrator and every library face's log density, by face id."""

    key: str
    calibrator: ida.IDACalibrator
    ids: np.ndarray  # sorted face ids
    log_density: np.ndarray

    def of(self, face_ids: np.ndarray) -> np.ndarray:
        at = np.minimum(np.searchsorted(self.ids, face_ids), max(self.ids.size - 1, 0))
        found = self.ids.size > 0 and (self.ids[at] == face_ids)
        return np.where(found, self.log_density[at] if self.ids.size else 0.0, 0.0)


class SearchService:
    """Search over one library; holds the index cache. Thread-safe (one lock).

    Everything a query needs beyond one candidate lookup is cached in memory and recomputed only when the
    library changes (``store.change_stamp``, then the faces' and assignments' signatures): the index, the
    store fingerprint, the IDA calibrator and the faces' densities. A query costs one index search, one
    small SQL read of its candidates and a vectorised re-score.
    """

    def __init__(self, db: sqlite_utils.Database, cache_dir: Path) -> None:
        self.db = db
        self.cache_dir = cache_dir
        self._index: FaceIndex | None = None
        self._lock = threading.RLock()
        self._stamp: tuple[int, int] | None = None
        self._fingerprint: str | None = None
        self._densities: _Densities | None = None
        self._densities_stamp: tuple[int, int] | None = None

    def _current_fingerprint(self) -> str:
        stamp = store.change_stamp(self.db)
        if self._fingerprint is None or stamp != self._stamp:
            self._fingerprint = store_fingerprint(self.db)
            self._stamp = store.change_stamp(self.db)
        return self._fingerprint

    # ------------------------------------------------------------------ index
    def index(self) -> FaceIndex:
        """The current index: in memory, else from the cache file, else rebuilt from the store."""
        with self._lock:
            fingerprint = self._current_fingerprint()
            if self._index is not None and self._index.fingerprint == fingerprint:
                return self._index
            path = self.cache_dir / INDEX_FILE
            try:
                self._index = FaceIndex.load(path, fingerprint=fingerprint)
                return self._index
            except (IndexCacheError, OSError):
                pass
            ids, vectors = store.model_embeddings(self.db)
            self._index = FaceIndex(ids, vectors, fingerprint=fingerprint)
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                self._index.save(path)
            except OSError as exc:  # a read-only library still searches, just without the cache
                log.warning("cannot write the index cache %s: %s", path, exc)
            log.info("search index rebuilt: %d faces (%s)", len(ids), self._index.kind.value)
            return self._index

    # ------------------------------------------------------------------ calibration
    def ensure_densities(self) -> ida.IDACalibrator | None:
        """The IDA calibrator and every face's log density (cached in ``faces.density`` and in memory).

        Anchors: ``ANCHORS_PER_PERSON`` faces of each person (named or automatic). Recomputed only when faces
        or people change — once per library change, never per query.
        """
        with self._lock:
            cached = self._cached_densities()
            return cached.calibrator if cached is not None else None

    def _cached_densities(self) -> _Densities | None:
        stamp = store.change_stamp(self.db)
        if self._densities is not None and stamp == self._densities_stamp:
            return self._densities
        key = self._current_fingerprint() + repr(store.assignments_signature(self.db))
        if self._densities is not None and self._densities.key == key:
            self._densities_stamp = stamp
            return self._densities
        ids, vectors = store.model_embeddings(self.db)
        if not len(ids):
            return None
        person = store.person_of_faces(self.db)
        labels = np.array([person.get(int(f), -1) for f in ids], np.int64)
        anchors, anchor_labels = ida.select_anchors(vectors, labels, per_person=ANCHORS_PER_PERSON)
        if len(anchors) < 2:
            self._densities, self._densities_stamp = None, stamp
            return None
        calibrator = ida.IDACalibrator(anchors, anchor_labels)
        # τ, k and the anchor rule are part of the key: densities cached under others are recomputed. So are
        # the faces' people: a face's density leaves out its own person's anchors, so moving a face between
        # people changes it even when the anchors stay the same.
        params = f"{calibrator.tau}:{calibrator.k}:faces{ANCHORS_PER_PERSON}".encode()
        fp = hashlib.blake2b(anchors.tobytes() + ids.tobytes() + labels.tobytes() + params,
                             digest_size=12).hexdigest()
        if store.kv_get(self.db, IDA_KEY) != fp or store.missing_densities(self.db):
            dens = calibrator.log_densities(vectors, labels)
            try:
                store.write_densities(self.db, ids, dens, IDA_KEY, fp)
            except sqlite3.OperationalError as exc:
                # A full disk or a read-only library: the densities are a cache, search keeps them in
                # memory and still answers (issue 15 item 14: search must not need to write).
                log.warning("cannot cache face densities (%s); using them from memory", exc)
        else:
            stored = store.densities(self.db)
            dens = np.array([stored.get(int(f), 0.0) for f in ids], np.float32)
        order = np.argsort(ids)
        self._densities = _Densities(key, calibrator, ids[order], np.asarray(dens, np.float64)[order])
        self._densities_stamp = store.change_stamp(self.db)
        return self._densities

    # ------------------------------------------------------------------ queries
    def search_vector(self, vector: np.ndarray, *, top: int = 50, threshold: float | None = 0.6,
                      calibrated: bool = True, where: str | None = None, params: list | tuple = (),
                      exclude_face: int | None = None, query_density: float | None = None) -> list[SearchHit]:
        """Faces most like ``vector``: at most ``top``, nearer than ``threshold``, matching ``where``."""
        index = self.index()
        if not len(index):
            return []
        vector = np.asarray(vector, np.float32).ravel()
        # A pool of candidates when they are re-ranked or filtered; plain distances need only the top ones.
        pool = calibrated or bool(where)
        k = min(len(index), (max(CANDIDATES, top * 4) if pool else top) + 1)
        found_ids, dist = index.search(vector[None], k)
        keep = (found_ids[0] >= 0) & (found_ids[0] != (exclude_face if exclude_face is not None else -1))
        if threshold is not None:
            keep &= dist[0] <= threshold
        cand, cand_d = found_ids[0][keep], dist[0][keep].astype(np.float64)
        if not cand.size:
            return []
        rows: dict[int, dict[str, Any]] = {}
        if where:
            rows = store.candidate_rows(self.db, cand.tolist(), where, params)
            ok = np.array([int(f) in rows for f in cand], bool)
            cand, cand_d = cand[ok], cand_d[ok]
        scores = None
        if calibrated and cand.size:
            with self._lock:
                cached = self._cached_densities()
            if cached is not None:
                if query_density is None:
                    known = exclude_face is not None and exclude_face in cached.ids
                    query_density = (float(cached.of(np.array([exclude_face]))[0]) if known else
                                     float(cached.calibrator.log_densities(vector[None])[0]))
                scores = ida.calibrated_scores(vector, query_density, index.vectors(cand), cached.of(cand))
                order = np.argsort(-scores, kind="stable")
                cand, cand_d, scores = cand[order], cand_d[order], scores[order]
        cand, cand_d = cand[:top], cand_d[:top]
        if not where:  # photo, person and name of the shown results only
            rows = store.candidate_rows(self.db, cand.tolist(), None, ())
        display = similarity_from_distance(cand_d)
        hits = []
        for t, (f, d) in enumerate(zip(cand.tolist(), cand_d.tolist())):
            r = rows[f]
            hits.append(SearchHit(f, r["photo_id"], r["path"], r["person_id"], r["name"], d,
                                  float(display[t]), None if scores is None else float(scores[t])))
        return hits

    def face_vector(self, face_id: int) -> np.ndarray:
        blob = store.embedding_of(self.db, face_id)
        if blob is None:
            raise NotFoundError(f"no embedded face with id {face_id}")
        return np.frombuffer(blob, np.float32).copy()

    # ------------------------------------------------------------------ people combinations
    def photos_with_people(self, with_people: list[int], without_people: list[int] = ()) -> list[int]:
        """Photo ids showing every person in ``with_people`` and none in ``without_people``."""
        if not with_people:
            raise NotFoundError("name at least one person to find photos of")
        rows = store.photos_with_all(self.db, list(with_people))
        if without_people:
            banned = store.photos_with_any(self.db, list(without_people))
            rows = [p for p in rows if p not in banned]
        return sorted(rows)

    # ------------------------------------------------------------------ codes
    def ensure_codes(self, *, refit_growth: float = 2.0) -> int:
        """Fit the 32-bit codec when missing (or the library grew ``refit_growth``×), encode uncoded faces."""
        with self._lock:
            ids, vectors = store.model_embeddings(self.db)
            if len(ids) < 32:
                return 0  # too few faces to fit 16 quantile levels per dimension
            stored = store.kv_get(self.db, CODEC_KEY)
            codec = None
            fitted_on = 0
            if stored:
                try:
                    count, _, blob = stored.partition(":")
                    fitted_on = int(count)
                    codec = codes_mod.codec_from_bytes(base64.b64decode(blob, validate=True))
                except ValueError as exc:  # a damaged stored codec is a cache: refit it
                    log.warning("stored face codec is damaged (%s); refitting", exc)
                    codec, fitted_on = None, 0
            refit = codec is None or len(ids) >= refit_growth * max(fitted_on, 1)
            if refit:
                person = store.person_of_faces(self.db)
                labels = np.array([person.get(int(f), -1) for f in ids], np.int64)
                codec = codes_mod.fit_codec(vectors, labels).codec
                value = f"{len(ids)}:{base64.b64encode(codec.to_bytes()).decode()}"
                todo = np.ones(len(ids), bool)
            else:
                have = store.coded_faces(self.db)
                todo = np.array([int(f) not in have for f in ids], bool)
            if not todo.any():
                return 0
            new_codes = codec.encode(vectors[todo])
            store.write_codes(self.db, [(int(c), type(codec).__name__, int(f)) for c, f in zip(new_codes, ids[todo])],
                              CODEC_KEY if refit else None, value if refit else None)
            return int(todo.sum())

    def codec(self) -> Any:
        stored = store.kv_get(self.db, CODEC_KEY)
        if not stored:
            return None
        try:
            return codes_mod.codec_from_bytes(base64.b64decode(stored.partition(":")[2], validate=True))
        except ValueError as exc:
            log.warning("stored face codec is damaged (%s); it is refitted on the next import", exc)
            return None


def pick_face(faces: list[Any], face_index: int | None, source: str) -> Any:
    """The query face: ``face_index`` (0-based, left to right as numbered for the user) or the largest."""
    if not faces:
        raise NoFaceError(f"no face found in {source}: try a photo where the face is larger or clearer")
    if face_index is None:
        return max(faces, key=lambda f: f.box[2] * f.box[3])
    ordered = sorted(faces, key=lambda f: f.box[0])
    if not 0 <= face_index < len(ordered):
        raise NoFaceError(f"{source} has {len(ordered)} face(s); --face must be between 0 and {len(ordered) - 1}")
    return ordered[face_index]
