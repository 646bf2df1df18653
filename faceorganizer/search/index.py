"""The nearest-face index behind "find this person": face ids + embeddings → k nearest faces.

The kind of index follows the library's size, as in the billion-scale similarity search paper (Johnson,
Douze, Jégou: exact search while it is fast enough, then an inverted file, then an inverted file with product
quantisation):

- ``exact`` (up to ``EXACT_MAX_FACES``): one matrix–vector product over every embedding and a top-k.
  On CPU the product is numpy's BLAS and the top-k a one-pass selection (together ~10× faster than
  ``faiss.IndexFlatL2``, which gives one query a single thread); with CUDA it is a torch matmul on the GPU.
- ``ivf`` (up to ``IVF_MAX_FACES``): a coarse k-means quantiser; the ``nprobe`` nearest lists are scanned with
  8-bit scalar-quantised vectors, and the ``refine`` × k best are re-ranked with the exact embeddings.
- ``ivfpq``: the same with 16-byte product-quantised codes, for libraries of millions of faces. The exact
  embeddings are only read for re-ranking, so a loaded cache maps them from disk instead of holding them.

The index is a cache: SQLite holds the embeddings, and the library rebuilds this from it when the header or a
checksum of the payload (ids, vectors, faiss lists) does not hold, or when the
``fingerprint`` saved with the cache file no longer matches the store.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import math
import os
import struct
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import ArrayLike, NDArray

from faceorganizer.errors import FaceOrganizerError
from faceorganizer.store.queries import EMBEDDING_DIM

__all__ = [
    "EXACT_MAX_FACES",
    "IVF_MAX_FACES",
    "SAME_PERSON_DISTANCE",
    "FaceIndex",
    "IndexCacheError",
    "IndexKind",
    "choose_kind",
    "similarity_from_distance",
]

log = logging.getLogger(__name__)

SAME_PERSON_DISTANCE = 0.6
"""dlib's threshold: two ResNet face descriptors closer than this are the same person."""

EXACT_MAX_FACES = 200_000
"""Above this many faces one exact query on CPU costs several ms; switch to an inverted file."""

IVF_MAX_FACES = 3_000_000
"""Above this many faces the 128-byte-per-face IVF lists no longer fit comfortably; use product quantisation."""

DEFAULT_NPROBE = 64
"""Lists scanned per query; tuned in ``bench/bench_search.py`` for recall@10 ≥ 0.98 with ~1000 lists."""

DEFAULT_REFINE = {"ivf": 4, "ivfpq": 16}
"""Candidates re-ranked exactly, as a multiple of k (PQ distances are coarser than 8-bit ones)."""

_PQ_BYTES = 32
_EXACT_BACKENDS = ("blas", "torch", "fp16", "faiss")
_FP16_SHORTLIST = 64
_MAGIC = b"FOIDX\x01\n"
_VERSION = 2  # 2: the header carries a checksum of the payload
_ALIGN = 64


class IndexCacheError(FaceOrganizerError):
    """An index cache file that is corrupt, of another version, or stale (rebuild it from the store)."""


class IndexKind(str, enum.Enum):
    """How the index finds candidates; see the module docstring."""

    EXACT = "exact"
    IVF = "ivf"
    IVF_PQ = "ivfpq"


def choose_kind(n_faces: int) -> IndexKind:
    """The index kind for a library of ``n_faces`` faces (thresholds ``EXACT_MAX_FACES``, ``IVF_MAX_FACES``)."""
    if n_faces <= EXACT_MAX_FACES:
        return IndexKind.EXACT
    if n_faces <= IVF_MAX_FACES:
        return IndexKind.IVF
    return IndexKind.IVF_PQ


def similarity_from_distance(distances: ArrayLike, threshold: float = SAME_PERSON_DISTANCE) -> NDArray[np.float32]:
    """A display score in [0, 1] from Euclidean distances: 0.5 at the same-person threshold, ~0.9 at 0.45.

    Monotone in the distance, so it never changes a ranking; infinite distances (padding) give 0.
    """
    d = np.asarray(distances, dtype=np.float32)
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp((d - threshold) / (threshold / 8.0)))).astype(np.float32)


def _nlist_for(n_faces: int) -> int:
    # ~sqrt(N) lists (a power of two): ~1000 faces per list keeps the coarse search and the scan balanced.
    return int(min(4096, max(16, 2 ** round(math.log2(max(1.0, math.sqrt(n_faces)))))))


class FaceIndex:
    """k nearest faces by Euclidean distance over (face id, embedding) pairs; see the module docstring.

    ``kind=None`` picks the kind from the number of faces at build time (``choose_kind``); a later ``add`` never
    switches kind by itself, ``needs_rebuild`` says when the library should rebuild.
    """

    def __init__(
        self,
        ids: ArrayLike,
        embeddings: ArrayLike,
        *,
        kind: IndexKind | str | None = None,
        fingerprint: str = "",
        exact_backend: str | None = None,
        nprobe: int = DEFAULT_NPROBE,
        refine: int | None = None,
        seed: int = 0,
    ) -> None:
        """Build the index. ``exact_backend``: ``"blas"`` (numpy float32 product + selection), ``"torch"``
        (float32 torch matmul + top-k; GPU when CUDA is available), ``"fp16"`` (a half-precision torch scan of
        every face, then the best ``max(4k, 64)`` re-ranked in float32: half the memory traffic, the same
        answers but for float16 ties), or ``"faiss"`` (``faiss.knn``, one thread per query);
        ``None`` = torch on a GPU, else blas."""
        ids_arr, vecs = _check_batch(ids, embeddings, None)
        if np.unique(ids_arr).size != ids_arr.size:
            raise ValueError("face ids must be unique")
        self.dim = int(vecs.shape[1]) if vecs.ndim == 2 and vecs.shape[1] else EMBEDDING_DIM
        self.kind = IndexKind(kind) if kind is not None else choose_kind(len(ids_arr))
        self._auto_kind = kind is None
        self.fingerprint = fingerprint
        self.exact_backend = exact_backend or _default_exact_backend()
        if self.exact_backend not in _EXACT_BACKENDS:
            raise ValueError(f"unknown exact backend {self.exact_backend!r}")
        self.nprobe = int(nprobe)
        self.refine = int(refine if refine is not None else DEFAULT_REFINE.get(self.kind.value, 1))
        self.seed = int(seed)
        self._ids = np.empty(0, np.int64)
        self._vecs: NDArray[np.float32] = np.empty((0, self.dim), np.float32)
        self._n = 0
        self._trained_on = 0
        self._lookup: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None
        self._norms: NDArray[np.float32] | None = None
        self._device_cache: Any = None
        self._faiss: faiss.Index | None = None
        if self.kind is not IndexKind.EXACT:
            self._faiss = self._train(vecs)
        self.add(ids_arr, vecs)

    # ------------------------------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return self._n

    def __contains__(self, face_id: object) -> bool:
        if not isinstance(face_id, (int, np.integer)):
            return False
        return bool(self._rows_of(np.array([face_id], np.int64))[0] >= 0)

    @property
    def ids(self) -> NDArray[np.int64]:
        """The face ids held, in insertion order (a copy)."""
        return self._ids[: self._n].copy()

    @property
    def needs_rebuild(self) -> bool:
        """True when the library has outgrown the kind chosen at build time, or an inverted file's centroids
        were trained on less than half of the faces it now holds."""
        if self.kind is not IndexKind.EXACT and self._n > 2 * max(self._trained_on, 1):
            return True
        return choose_kind(self._n) is not self.kind and self._auto_kind

    def vectors(self, ids: ArrayLike) -> NDArray[np.float32]:
        """The embeddings of ``ids`` (for re-scoring candidates); raises ``KeyError`` for an unknown id."""
        rows = self._rows_of(np.asarray(ids, np.int64).ravel())
        if (rows < 0).any():
            raise KeyError(f"face ids not in the index: {np.asarray(ids).ravel()[rows < 0][:5].tolist()}")
        return np.asarray(self._vecs[rows], dtype=np.float32)

    def search(self, query_vectors: ArrayLike, k: int) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The ``k`` nearest faces of each query: ``(ids, distances)``, each (n_queries, k), nearest first.

        Distances are Euclidean (``similarity_from_distance`` turns them into a display score). When the index
        holds fewer than ``k`` faces the rows are padded with id -1 and distance +inf. A single vector of
        shape (dim,) is a batch of one.
        """
        q = np.ascontiguousarray(np.atleast_2d(np.asarray(query_vectors, dtype=np.float32)))
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"queries must be (n, {self.dim}), got {q.shape}")
        k = int(k)
        if k < 1:
            raise ValueError("k must be at least 1")
        out_ids = np.full((q.shape[0], k), -1, np.int64)
        out_d = np.full((q.shape[0], k), np.inf, np.float32)
        if self._n == 0 or q.shape[0] == 0:
            return out_ids, out_d
        if self.kind is IndexKind.EXACT:
            rows = self._exact_rows(q, min(k, self._n))
        else:
            rows = self._ivf_rows(q, k)
        ids, dist = self._rerank(q, rows, k)
        out_ids[:, : ids.shape[1]] = ids
        out_d[:, : dist.shape[1]] = dist
        return out_ids, out_d

    # ------------------------------------------------------------------------------------------ updates

    def add(self, ids: ArrayLike, embeddings: ArrayLike) -> None:
        """Add faces; an id already in the index is an error (``remove`` it first to replace its embedding)."""
        ids_arr, vecs = _check_batch(ids, embeddings, self.dim)
        if ids_arr.size == 0:
            return
        if np.unique(ids_arr).size != ids_arr.size or (self._rows_of(ids_arr) >= 0).any():
            raise ValueError("face ids must be unique and not already in the index")
        self._make_writable(self._n + ids_arr.size)
        self._ids[self._n : self._n + ids_arr.size] = ids_arr
        self._vecs[self._n : self._n + ids_arr.size] = vecs
        self._n += ids_arr.size
        if self._faiss is not None:
            self._faiss.add_with_ids(vecs, ids_arr)
        self._changed()

    def remove(self, ids: ArrayLike) -> int:
        """Remove faces by id (unknown ids are ignored); returns how many were removed."""
        ids_arr = np.unique(np.asarray(ids, np.int64).ravel())
        rows = self._rows_of(ids_arr)
        rows = rows[rows >= 0]
        if rows.size == 0:
            return 0
        self._make_writable(self._n)
        keep = np.ones(self._n, bool)
        keep[rows] = False
        m = int(keep.sum())
        self._ids[:m] = self._ids[: self._n][keep]
        self._vecs[:m] = self._vecs[: self._n][keep]
        self._n = m
        if self._faiss is not None:
            self._faiss.remove_ids(faiss.IDSelectorBatch(ids_arr))
        self._changed()
        return int(rows.size)

    # ------------------------------------------------------------------------------------------ cache file

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index to one cache file (atomically: a temporary file renamed over ``path``)."""
        path = Path(path)
        faiss_bytes = b"" if self._faiss is None else faiss.serialize_index(self._faiss).tobytes()
        ids_part = np.ascontiguousarray(self._ids[: self._n])
        vecs_part = np.ascontiguousarray(self._vecs[: self._n])
        header: dict[str, Any] = {
            "version": _VERSION, "kind": self.kind.value, "dim": self.dim, "n": self._n,
            "fingerprint": self.fingerprint, "nprobe": self.nprobe, "refine": self.refine, "seed": self.seed,
            "trained_on": self._trained_on, "auto_kind": self._auto_kind, "faiss_bytes": len(faiss_bytes),
            "checksum": _checksum(ids_part, vecs_part, faiss_bytes),
        }
        head = json.dumps(header).encode()
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(_MAGIC + struct.pack("<Q", len(head)) + head)
            _pad(f)
            f.write(memoryview(ids_part).cast("B"))
            _pad(f)
            f.write(memoryview(vecs_part).cast("B"))
            _pad(f)
            f.write(faiss_bytes)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @staticmethod
    def read_fingerprint(path: str | os.PathLike[str]) -> str | None:
        """The fingerprint saved in a cache file, or ``None`` when the file is missing or unreadable."""
        try:
            return str(_read_header(Path(path))[0]["fingerprint"])
        except (OSError, IndexCacheError, ValueError):
            return None

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, fingerprint: str | None = None, mmap: bool = True,
        exact_backend: str | None = None,
    ) -> FaceIndex:
        """Read a cache file written by ``save``.

        Raises ``IndexCacheError`` when it is corrupt or, given ``fingerprint``, when it was saved with
        another one (the store changed: rebuild). With ``mmap`` the embeddings stay on disk until used.
        """
        path = Path(path)
        try:
            header, offset = _read_header(path)
            n, dim, faiss_size = header["n"], header["dim"], header["faiss_bytes"]
            if fingerprint is not None and header["fingerprint"] != fingerprint:
                raise IndexCacheError(f"index cache {path} is stale (fingerprint {header['fingerprint']!r})")
            ids_at = _aligned(offset)
            vecs_at = _aligned(ids_at + 8 * n)
            faiss_at = _aligned(vecs_at + 4 * n * dim)
            if path.stat().st_size != faiss_at + faiss_size:
                raise IndexCacheError(f"index cache {path} is truncated or corrupt")
            ids = np.fromfile(path, np.int64, count=n, offset=ids_at)
            if mmap and n:
                vecs: NDArray[np.float32] = np.memmap(path, np.float32, "r", offset=vecs_at, shape=(n, dim))
            else:
                vecs = np.fromfile(path, np.float32, count=n * dim, offset=vecs_at).reshape(n, dim)
            raw = np.fromfile(path, np.uint8, count=faiss_size, offset=faiss_at) if faiss_size else None
            # End to end: a flipped byte anywhere in the payload (an intact header over damaged vectors gave
            # other people's faces at 0.98) fails here and the library rebuilds the cache from the store.
            if _checksum(ids, vecs, b"" if raw is None else raw.tobytes()) != header["checksum"]:
                raise IndexCacheError(f"index cache {path} fails its checksum")
            if ids.size != n or (n and (ids.min() < 0 or np.unique(ids).size != n)):
                raise IndexCacheError(f"index cache {path} holds invalid face ids")
            faiss_index = faiss.deserialize_index(raw) if raw is not None else None
            kind = IndexKind(header["kind"])
            if (faiss_index is None) != (kind is IndexKind.EXACT) or (
                    faiss_index is not None and (faiss_index.d != dim or faiss_index.ntotal != n)):
                raise IndexCacheError(f"index cache {path} does not match its header")
        except IndexCacheError:
            raise
        except Exception as error:  # noqa: BLE001 - any damage means "rebuild", never a crash
            raise IndexCacheError(f"index cache {path} is unreadable: {error}") from error
        self = cls.__new__(cls)
        self.dim, self.kind, self.fingerprint = dim, kind, header["fingerprint"]
        self.exact_backend = exact_backend or _default_exact_backend()
        self.nprobe, self.refine, self.seed = header["nprobe"], header["refine"], header["seed"]
        self._ids, self._vecs, self._n = ids, vecs, n
        self._trained_on, self._auto_kind = header["trained_on"], header["auto_kind"]
        self._lookup = self._norms = self._device_cache = None
        self._faiss = faiss_index
        return self

    # ------------------------------------------------------------------------------------------ internals

    def _train(self, vecs: NDArray[np.float32]) -> faiss.Index:
        n = vecs.shape[0]
        if self.kind is IndexKind.IVF_PQ and n < 256:
            raise ValueError(f"an IVF-PQ index needs at least 256 faces to train, got {n}")
        nlist = max(1, min(_nlist_for(n), n // 8))
        quantiser = faiss.IndexFlatL2(self.dim)
        if self.kind is IndexKind.IVF:
            index = faiss.IndexIVFScalarQuantizer(quantiser, self.dim, nlist, faiss.ScalarQuantizer.QT_8bit)
        else:
            index = faiss.IndexIVFPQ(quantiser, self.dim, nlist, _PQ_BYTES, 8)
            index.pq.cp.niter = 10  # the default 25 k-means rounds per sub-quantiser buy no recall here
        index.cp.seed = self.seed
        sample = vecs
        limit = 64 * nlist if self.kind is IndexKind.IVF else max(64 * nlist, 40 * 256)  # PQ: 256 centroids
        if n > limit:
            sample = vecs[np.sort(np.random.default_rng(self.seed).choice(n, limit, replace=False))]
        index.train(np.ascontiguousarray(sample))
        self._trained_on = n
        log.info("trained %s index: %d lists on %d of %d faces", self.kind.value, nlist, sample.shape[0], n)
        return index

    def _changed(self) -> None:
        self._lookup = None
        self._norms = None
        self._device_cache = None

    def _make_writable(self, needed: int) -> None:
        # Rows are stored with spare capacity so that adding faces one batch at a time stays amortised O(1);
        # a loaded cache maps its embeddings read-only, so the first change copies them into memory.
        grow = self._ids.size < needed
        if grow or isinstance(self._vecs, np.memmap) or not self._vecs.flags.writeable:
            capacity = max(16, needed + needed // 2) if grow else self._ids.size
            vecs = np.empty((capacity, self.dim), np.float32)
            ids = np.empty(capacity, np.int64)
            vecs[: self._n] = self._vecs[: self._n]
            ids[: self._n] = self._ids[: self._n]
            self._vecs, self._ids = vecs, ids

    def _rows_of(self, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        if self._lookup is None:
            order = np.argsort(self._ids[: self._n], kind="stable")
            self._lookup = (self._ids[: self._n][order], order.astype(np.int64))
        sorted_ids, order = self._lookup
        if sorted_ids.size == 0:
            return np.full(ids.shape, -1, np.int64)
        pos = np.minimum(np.searchsorted(sorted_ids, ids), sorted_ids.size - 1)
        return np.where(sorted_ids[pos] == ids, order[pos], -1).astype(np.int64)

    def _exact_rows(self, q: NDArray[np.float32], k: int) -> NDArray[np.int64]:
        """Row numbers of the k nearest (by a fast formula; ``_rerank`` recomputes the distances)."""
        vecs = self._vecs[: self._n]
        if self.exact_backend == "faiss":
            _, rows = faiss.knn(q, np.ascontiguousarray(vecs), k)
            return rows.astype(np.int64)
        if self._norms is None:
            self._norms = np.einsum("ij,ij->i", vecs, vecs).astype(np.float32)
        # Bound the (queries × faces) score block to ~256 MB.
        chunk = max(1, (1 << 26) // max(self._n, 1))
        out = np.empty((q.shape[0], k), np.int64)
        if self.exact_backend in ("torch", "fp16"):
            import torch

            half = self.exact_backend == "fp16"
            device = "cuda" if torch.cuda.is_available() else "cpu"
            if self._device_cache is None:
                tv = torch.as_tensor(np.asarray(vecs), device=device)
                self._device_cache = (tv.half() if half else tv, torch.as_tensor(self._norms, device=device))
            tv, tn = self._device_cache
            # fp16 keeps a shortlist for the float32 re-rank in ``_rerank``; its scores err by ~1e-3.
            kk = min(self._n, max(4 * k, _FP16_SHORTLIST)) if half else k
            out = np.empty((q.shape[0], kk), np.int64)
            for s in range(0, q.shape[0], chunk):
                tq = torch.as_tensor(q[s : s + chunk], device=device)
                dots = (tq.half() @ tv.T).float() if half else tq @ tv.T
                scores = tn[None, :] - 2.0 * dots
                out[s : s + chunk] = torch.topk(scores, kk, dim=1, largest=False).indices.cpu().numpy()
            return out
        for s in range(0, q.shape[0], chunk):
            block = q[s : s + chunk]
            dots = np.atleast_2d(vecs @ block[0] if block.shape[0] == 1 else block @ vecs.T)  # BLAS gemv/gemm
            for i, row in enumerate(dots):
                out[s + i] = _smallest(self._norms - 2.0 * row, k)
        return out

    def _ivf_rows(self, q: NDArray[np.float32], k: int) -> NDArray[np.int64]:
        ivf = faiss.extract_index_ivf(self._faiss)
        ivf.nprobe = self.nprobe
        # faiss runs one query on one thread (parallel_mode 0). Splitting its lists over threads
        # (parallel_mode 1) is ~2× faster on an idle machine but 10–25× slower on a busy one, where
        # the threads wait on each other at the barrier.
        ivf.parallel_mode = 0
        _, cand_ids = self._faiss.search(q, min(k * max(self.refine, 1), self._n))
        rows = self._rows_of(cand_ids.ravel()).reshape(cand_ids.shape)
        return rows  # -1 where the lists held fewer candidates

    def _rerank(self, q: NDArray[np.float32], rows: NDArray[np.int64], k: int
                ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Exact distances of the candidate rows (direct differences, no cancellation) and the k best."""
        valid = rows >= 0
        safe = np.where(valid, rows, 0)
        cand = np.asarray(self._vecs[safe.ravel()]).reshape(*rows.shape, self.dim)
        diff = cand - q[:, None, :]
        dist = np.sqrt(np.einsum("qcd,qcd->qc", diff, diff)).astype(np.float32)
        dist[~valid] = np.inf
        kk = min(k, rows.shape[1])
        order = np.argsort(dist, axis=1, kind="stable")[:, :kk]
        best_rows = np.take_along_axis(safe, order, 1)
        best_d = np.take_along_axis(dist, order, 1)
        ids = np.where(np.isfinite(best_d), self._ids[best_rows], -1)
        return ids.astype(np.int64), best_d


def _smallest(scores: NDArray[np.float32], k: int) -> NDArray[np.int64]:
    """Indices of the k smallest scores, in no particular order, in one pass over the scores.

    The k-th smallest of every 64th score bounds the answer: at least k scores lie at or below it and about
    64·k do, so only those are partitioned. (Mixing torch's top-k with numpy's BLAS makes their two thread
    pools fight over the cores: ~3× slower on two.)
    """
    n = scores.size
    if n <= 64 * k:
        return np.argpartition(scores, k - 1)[:k] if k < n else np.arange(n)
    sample = scores[::64]
    bound = np.partition(sample, k - 1)[k - 1]
    inside = np.flatnonzero(scores <= bound)
    return inside[np.argpartition(scores[inside], k - 1)[:k]] if inside.size > k else inside


def _default_exact_backend() -> str:
    import importlib.util

    from faceorganizer.models.runtime import torch_cuda_available

    if importlib.util.find_spec("torch") is None:  # pragma: no cover - torch is a dependency
        return "faiss"
    # Asked without importing a CPU-only torch: its import holds the GIL long enough to freeze the window.
    return "torch" if torch_cuda_available() else "blas"


def _check_batch(ids: ArrayLike, embeddings: ArrayLike, dim: int | None
                 ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    ids_arr = np.ascontiguousarray(np.asarray(ids, dtype=np.int64).ravel())
    vecs = np.ascontiguousarray(np.asarray(embeddings, dtype=np.float32))
    if vecs.size == 0 and ids_arr.size == 0:
        return ids_arr, vecs.reshape(0, dim or (vecs.shape[-1] if vecs.ndim == 2 else EMBEDDING_DIM))
    if vecs.ndim != 2 or vecs.shape[0] != ids_arr.size or (dim is not None and vecs.shape[1] != dim):
        raise ValueError(f"need one {dim or 'd'}-vector per id: {ids_arr.size} ids, embeddings {vecs.shape}")
    if not np.isfinite(vecs).all():
        raise ValueError("embeddings must be finite")
    if (ids_arr < 0).any():
        raise ValueError("face ids must be non-negative (-1 marks padding in search results)")
    return ids_arr, vecs


def _aligned(offset: int) -> int:
    return (offset + _ALIGN - 1) // _ALIGN * _ALIGN


def _pad(f: Any) -> None:
    f.write(b"\0" * (_aligned(f.tell()) - f.tell()))


#: Header fields of a cache file and a test of each value: any other value is a damaged cache.
_HEADER_FIELDS: dict[str, Any] = {
    "version": lambda v: v == _VERSION,
    "kind": lambda v: v in {k.value for k in IndexKind},
    "dim": lambda v: _is_int(v) and 1 <= v <= 4096,
    "n": lambda v: _is_int(v) and 0 <= v < 1 << 40,
    "fingerprint": lambda v: isinstance(v, str),
    "nprobe": lambda v: _is_int(v) and 1 <= v <= 1 << 20,
    "refine": lambda v: _is_int(v) and 1 <= v <= 1 << 10,
    "seed": lambda v: _is_int(v) and 0 <= v < 1 << 63,
    "trained_on": lambda v: _is_int(v) and 0 <= v < 1 << 40,
    "auto_kind": lambda v: isinstance(v, bool),
    "faiss_bytes": lambda v: _is_int(v) and 0 <= v < 1 << 40,
    "checksum": lambda v: isinstance(v, str) and len(v) == 32,
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checksum(ids: NDArray[np.int64], vecs: NDArray[np.float32], faiss_bytes: bytes) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.ascontiguousarray(ids).data)
    digest.update(np.ascontiguousarray(vecs).data)
    digest.update(faiss_bytes)
    return digest.hexdigest()


def _read_header(path: Path) -> tuple[dict[str, Any], int]:
    """The header of a cache file, every field present and of the right type, and where it ends."""
    with open(path, "rb") as f:
        magic = f.read(len(_MAGIC))
        if magic != _MAGIC:
            raise IndexCacheError(f"{path} is not a FaceOrganizer index cache (or of another version)")
        raw_length = f.read(8)
        if len(raw_length) != 8:
            raise IndexCacheError(f"index cache {path} is truncated")
        (length,) = struct.unpack("<Q", raw_length)
        if length > 1 << 20:
            raise IndexCacheError(f"index cache {path} is corrupt")
        try:
            header = json.loads(f.read(length))
        except (ValueError, RecursionError) as error:
            raise IndexCacheError(f"index cache {path} is corrupt: {error}") from error
    if not isinstance(header, dict):
        raise IndexCacheError(f"index cache {path} has a damaged header")
    for name, valid in _HEADER_FIELDS.items():
        if name not in header or not valid(header[name]):
            raise IndexCacheError(f"index cache {path} has a damaged header field {name!r}")
    return header, len(_MAGIC) + 8 + length
