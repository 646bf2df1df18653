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
from faceorganizer.store import queries, transaction

log = logging.getLogger("faceorganizer.search")

INDEX_FILE = "index.bin"
CANDIDATES = 200  # nearest faces re-scored per query (and filtered by people/attributes)
CODEC_KEY = "codec"
IDA_KEY = "ida_anchor_fingerprint"


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


def _model(db: sqlite_utils.Database) -> str | None:
    from faceorganizer.people.grouping import current_model

    return current_model(db)


def store_fingerprint(db: sqlite_utils.Database) -> str:
    """Changes whenever faces of the current model are added, removed or re-embedded."""
    model = _model(db)
    row = db.execute("SELECT COUNT(*), MAX(id), TOTAL(id), TOTAL(length(embedding)) FROM faces "
                     "WHERE embedding IS NOT NULL AND embed_model IS ?", [model]).fetchone()
    return hashlib.blake2b(repr((model, *row)).encode(), digest_size=12).hexdigest()


class SearchService:
    """Search over one library; holds the index cache. Thread-safe (one lock)."""

    def __init__(self, db: sqlite_utils.Database, cache_dir: Path) -> None:
        self.db = db
        self.cache_dir = cache_dir
        self._index: FaceIndex | None = None
        self._densities: dict[int, float] | None = None  # only when the store could not be written
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ index
    def index(self) -> FaceIndex:
        """The current index: in memory, else from the cache file, else rebuilt from the store."""
        with self._lock:
            fingerprint = store_fingerprint(self.db)
            if self._index is not None and self._index.fingerprint == fingerprint:
                return self._index
            path = self.cache_dir / INDEX_FILE
            try:
                self._index = FaceIndex.load(path, fingerprint=fingerprint)
                return self._index
            except (IndexCacheError, OSError):
                pass
            ids, vectors = queries.embeddings(self.db, "f.embedding IS NOT NULL AND f.embed_model IS ?",
                                              [_model(self.db)])
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
        """Anchor set (person centroids) and each face's cached log density; recomputed when people change."""
        with self._lock:
            ids, vectors = queries.embeddings(self.db, "f.embedding IS NOT NULL AND f.embed_model IS ?",
                                              [_model(self.db)])
            if not len(ids):
                return None
            person = dict(self.db.execute("SELECT face_id, person_id FROM assignments").fetchall())
            labels = np.array([person.get(int(f), -1) for f in ids], np.int64)
            anchors, anchor_labels = ida.select_anchors(vectors, labels, centroids=True)
            if len(anchors) < 2:
                return None
            calibrator = ida.IDACalibrator(anchors, anchor_labels)
            # τ and k are part of the key: densities cached under other parameters are recomputed.
            params = f"{calibrator.tau}:{calibrator.k}".encode()
            fp = hashlib.blake2b(anchors.tobytes() + ids.tobytes() + params, digest_size=12).hexdigest()
            stored = list(self.db.query("SELECT value FROM kv WHERE key = ?", [IDA_KEY]))
            if not stored or stored[0]["value"] != fp or self.db.execute(
                    "SELECT COUNT(*) FROM faces WHERE embedding IS NOT NULL AND density IS NULL").fetchone()[0]:
                dens = calibrator.log_densities(vectors, labels)
                try:
                    with transaction(self.db):
                        self.db.conn.executemany("UPDATE faces SET density = ? WHERE id = ?",
                                                 [(float(d), int(f)) for d, f in zip(dens, ids)])
                        self.db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", [IDA_KEY, fp])
                    self._densities = None
                except sqlite3.OperationalError as exc:
                    # A full disk or a read-only library: the densities are a cache, search keeps them in
                    # memory and still answers (issue 15 item 14: search must not need to write).
                    log.warning("cannot cache face densities (%s); using them from memory", exc)
                    self._densities = {int(f): float(d) for d, f in zip(dens, ids)}
            return calibrator

    # ------------------------------------------------------------------ queries
    def search_vector(self, vector: np.ndarray, *, top: int = 50, threshold: float | None = 0.6,
                      calibrated: bool = True, where: str | None = None, params: list | tuple = (),
                      exclude_face: int | None = None, query_density: float | None = None) -> list[SearchHit]:
        """Faces most like ``vector``: at most ``top``, nearer than ``threshold``, matching ``where``."""
        index = self.index()
        if not len(index):
            return []
        k = min(len(index), max(CANDIDATES, top * 4) + 1)
        found_ids, dist = index.search(np.asarray(vector, np.float32)[None], k)
        pairs = [(int(f), float(d)) for f, d in zip(found_ids[0], dist[0])
                 if f >= 0 and f != exclude_face and (threshold is None or d <= threshold)]
        if not pairs:
            return []
        ids = [f for f, _ in pairs]
        marks = ",".join("?" for _ in ids)
        clause = f"f.id IN ({marks})" + (f" AND ({where})" if where else "")
        rows = {r["id"]: r for r in self.db.query(
            "SELECT f.id, f.photo_id, p.path, f.density, f.embedding, a.person_id, pe.name FROM faces f "
            "JOIN photos p ON p.id = f.photo_id LEFT JOIN assignments a ON a.face_id = f.id "
            f"LEFT JOIN people pe ON pe.id = a.person_id WHERE {clause}", [*ids, *params])}
        pairs = [(f, d) for f, d in pairs if f in rows]
        scores: dict[int, float] = {}
        if calibrated and pairs:
            calibrator = self.ensure_densities()
            if calibrator is not None:
                mem = self._densities
                dens = np.array([(mem.get(f, 0.0) if mem is not None else rows[f]["density"]) or 0.0
                                 for f, _ in pairs], np.float64)
                qd = query_density if query_density is not None else float(
                    calibrator.log_densities(np.asarray(vector, np.float32)[None])[0])
                vecs = np.frombuffer(b"".join(rows[f]["embedding"] for f, _ in pairs), np.float32).reshape(
                    len(pairs), -1)
                cal = ida.calibrated_scores(vector, qd, vecs, dens)
                scores = {f: float(c) for (f, _), c in zip(pairs, cal)}
                pairs.sort(key=lambda p: -scores[p[0]])
        hits = []
        for f, d in pairs[:top]:
            r = rows[f]
            hits.append(SearchHit(f, r["photo_id"], r["path"], r["person_id"], r["name"], d,
                                  float(similarity_from_distance(np.array([d]))[0]), scores.get(f)))
        return hits

    def face_vector(self, face_id: int) -> np.ndarray:
        row = self.db.execute("SELECT embedding FROM faces WHERE id = ?", [face_id]).fetchone()
        if row is None or row[0] is None:
            raise NotFoundError(f"no embedded face with id {face_id}")
        return np.frombuffer(row[0], np.float32).copy()

    # ------------------------------------------------------------------ people combinations
    def photos_with_people(self, with_people: list[int], without_people: list[int] = ()) -> list[int]:
        """Photo ids showing every person in ``with_people`` and none in ``without_people``."""
        if not with_people:
            raise NotFoundError("name at least one person to find photos of")
        sql = ["SELECT f.photo_id FROM faces f JOIN assignments a ON a.face_id = f.id WHERE a.person_id IN "
               f"({','.join('?' for _ in with_people)}) GROUP BY f.photo_id "
               "HAVING COUNT(DISTINCT a.person_id) = ?"]
        params: list[Any] = [*with_people, len(set(with_people))]
        rows = [r[0] for r in self.db.execute(sql[0], params).fetchall()]
        if without_people:
            banned = {r[0] for r in self.db.execute(
                "SELECT DISTINCT f.photo_id FROM faces f JOIN assignments a ON a.face_id = f.id WHERE "
                f"a.person_id IN ({','.join('?' for _ in without_people)})", list(without_people)).fetchall()}
            rows = [p for p in rows if p not in banned]
        return sorted(rows)

    # ------------------------------------------------------------------ codes
    def ensure_codes(self, *, refit_growth: float = 2.0) -> int:
        """Fit the 32-bit codec when missing (or the library grew ``refit_growth``×), encode uncoded faces."""
        with self._lock:
            ids, vectors = queries.embeddings(self.db, "f.embedding IS NOT NULL AND f.embed_model IS ?",
                                              [_model(self.db)])
            if len(ids) < 32:
                return 0  # too few faces to fit 16 quantile levels per dimension
            stored = list(self.db.query("SELECT value FROM kv WHERE key = ?", [CODEC_KEY]))
            codec = None
            fitted_on = 0
            if stored:
                try:
                    count, _, blob = stored[0]["value"].partition(":")
                    fitted_on = int(count)
                    codec = codes_mod.codec_from_bytes(base64.b64decode(blob, validate=True))
                except ValueError as exc:  # a damaged stored codec is a cache: refit it
                    log.warning("stored face codec is damaged (%s); refitting", exc)
                    codec, fitted_on = None, 0
            refit = codec is None or len(ids) >= refit_growth * max(fitted_on, 1)
            if refit:
                person = dict(self.db.execute("SELECT face_id, person_id FROM assignments").fetchall())
                labels = np.array([person.get(int(f), -1) for f in ids], np.int64)
                codec = codes_mod.fit_codec(vectors, labels).codec
                value = f"{len(ids)}:{base64.b64encode(codec.to_bytes()).decode()}"
                todo = np.ones(len(ids), bool)
            else:
                have = dict(self.db.execute("SELECT id, code FROM faces WHERE code IS NOT NULL").fetchall())
                todo = np.array([int(f) not in have for f in ids], bool)
            if not todo.any():
                return 0
            new_codes = codec.encode(vectors[todo])
            with transaction(self.db):
                if refit:
                    self.db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", [CODEC_KEY, value])
                self.db.conn.executemany("UPDATE faces SET code = ?, code_model = ? WHERE id = ?",
                                         [(int(c), type(codec).__name__, int(f))
                                          for c, f in zip(new_codes, ids[todo])])
            return int(todo.sum())

    def codec(self) -> Any:
        stored = list(self.db.query("SELECT value FROM kv WHERE key = ?", [CODEC_KEY]))
        if not stored:
            return None
        try:
            return codes_mod.codec_from_bytes(base64.b64decode(stored[0]["value"].partition(":")[2], validate=True))
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
