"""User-taught attributes ("glasses", "beard", "in uniform"): tag a few faces, predict the rest.

The user tags faces yes or no (:func:`tag`, journaled so undo works). :func:`predict` then estimates the
attribute for every other face with an embedding from two sources of evidence, pooled as pseudo-counts:

1. **A code look-up table** (after the compact-representation paper, Fan et al. 2014, which packs a face into
   a 32-bit code): for each code bin, how many taught faces in it said yes and no. A face reads its own bin
   (weight 1) and the bins at code distance 1 (one level up or down in one of the 8 dimensions, weight 0.5).
   Faces of one person mostly share a bin or sit next to it, so this is cheap and person-aware.
2. **A k-nearest-neighbour vote** on the embeddings: the ``k`` nearest taught faces, each weighted
   ``exp(-(d/τ)²)``, so a same-person neighbour (d ≈ 0.4) counts ~10× more than a stranger (d ≈ 0.9).

``P(yes) = (knn_yes + lut_yes + α·π) / (knn_total + lut_total + α)``, where π is the taught yes-rate and α a
small prior weight: with little evidence a face gets its prior and a low confidence. Faces with no code yet
(codes not computed) use the vote alone.

Predictions are stored as ``origin='predicted'`` rows (``value`` = P ≥ 0.5, ``confidence`` = the probability
of that value) and replaced wholesale by the next :func:`predict`; ``origin='user'`` rows are never
overwritten, and every new user tag (a correction) is evidence in the next run. Predictions are derived
data, like an index: they are not journaled.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sqlite_utils
from numpy.typing import NDArray

from faceorganizer.attributes import NotEnoughFacesError
from faceorganizer.attributes.filters import normalise_tag_name
from faceorganizer.errors import InvalidEditError, NotFoundError
from faceorganizer.store import attributes as attr_store
from faceorganizer.store import queries
from faceorganizer.store.db import transaction
from faceorganizer.store.journal import record_edit
from faceorganizer.store.people import existing_faces

__all__ = ["TaughtAttribute", "attribute_names", "tag", "untag", "predict", "attribute_probability",
           "DEFAULT_K", "KNN_SCALE", "NEIGHBOUR_BIN_WEIGHT", "PRIOR_WEIGHT"]

log = logging.getLogger(__name__)

DEFAULT_K = 10
KNN_SCALE = 0.5  # τ: distances in dlib space; same person ≈ 0.4, different people ≈ 0.88
NEIGHBOUR_BIN_WEIGHT = 0.5  # a taught face one code step away counts half as much as one in the same bin
PRIOR_WEIGHT = 0.5  # α: pseudo-count of the taught yes-rate
MAX_NAME_LENGTH = 64

_CODE_DIMS, _CODE_LEVELS = 8, 16  # the layout of faceorganizer.search.codes (8 × 4-bit levels)


@dataclass(frozen=True)
class TaughtAttribute:
    """A taught attribute with its counts: what the user said, and what was predicted from it."""

    name: str
    user_yes: int
    user_no: int
    predicted_yes: int
    predicted_no: int

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def attribute_names(db: sqlite_utils.Database) -> list[TaughtAttribute]:
    """Every taught attribute of the library, by name."""
    return [TaughtAttribute(*row) for row in attr_store.taught_counts(db)]


def _checked_name(name: str) -> str:
    clean = normalise_tag_name(name)
    if not clean:
        raise InvalidEditError("an attribute needs a name (e.g. glasses)")
    if len(clean) > MAX_NAME_LENGTH:
        raise InvalidEditError(f"attribute names are at most {MAX_NAME_LENGTH} characters")
    return clean


def _checked_faces(db: sqlite_utils.Database, face_ids: Sequence[int]) -> list[int]:
    ids = sorted({int(f) for f in face_ids})
    if not ids:
        raise InvalidEditError("no faces given")
    found = existing_faces(db, ids)
    missing = [f for f in ids if f not in found]
    if missing:
        raise NotFoundError(f"no face with id {missing[0]}")
    return ids


def tag(db: sqlite_utils.Database, face_ids: Sequence[int], name: str, value: bool = True) -> int:
    """Teach ``name`` = yes (or no) on faces; replaces any prediction on them. Journaled (undoable).

    Returns the number of faces tagged.
    """
    attr = _checked_name(name)
    ids = _checked_faces(db, face_ids)
    word = attr if value else f"not {attr}"
    with record_edit(db, "tag", f"tag {len(ids)} face{'s' * (len(ids) != 1)} {word}") as edit:
        for face_id in ids:
            edit.upsert("user_attributes", {"face_id": face_id, "name": attr, "value": int(bool(value)),
                                            "origin": "user", "confidence": 1.0})
    return len(ids)


def untag(db: sqlite_utils.Database, face_ids: Sequence[int], name: str) -> int:
    """Forget what the user taught about ``name`` on these faces (their predictions come back on the next
    :func:`predict`). Journaled. Returns how many user tags were removed."""
    attr = _checked_name(name)
    ids = _checked_faces(db, face_ids)
    removed = 0
    with record_edit(db, "untag", f"clear {attr} on {len(ids)} face{'s' * (len(ids) != 1)}") as edit:
        for face_id in ids:
            if attr_store.origin_of(db, face_id, attr) == "user":
                edit.delete("user_attributes", {"face_id": face_id, "name": attr})
                removed += 1
    return removed


# ------------------------------------------------------------------------------------------ prediction
def _neighbour_codes(codes: NDArray[np.uint32]) -> NDArray[np.uint32]:
    """(n, 16) codes at distance 1: one of the 8 levels one step up or down (a missing step repeats the code
    itself, flagged by the caller)."""
    out = np.empty((codes.size, 2 * _CODE_DIMS), np.uint32)
    for d in range(_CODE_DIMS):
        shift = np.uint32(4 * d)
        level = (codes >> shift) & np.uint32(15)
        up = np.where(level < _CODE_LEVELS - 1, codes + (np.uint32(1) << shift), codes)
        down = np.where(level > 0, codes - (np.uint32(1) << shift), codes)
        out[:, 2 * d] = up
        out[:, 2 * d + 1] = down
    return out


def _lut_counts(train_codes: NDArray[np.uint32], train_y: NDArray[np.bool_], query_codes: NDArray[np.uint32]
                ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted yes / no counts of taught faces in each query's code bin and its distance-1 bins."""
    bins, inverse = np.unique(train_codes, return_inverse=True)
    yes = np.bincount(inverse, weights=train_y.astype(np.float64), minlength=bins.size)
    no = np.bincount(inverse, weights=(~train_y).astype(np.float64), minlength=bins.size)

    def look(codes: NDArray[np.uint32]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        at = np.clip(np.searchsorted(bins, codes), 0, bins.size - 1)
        hit = bins[at] == codes
        return np.where(hit, yes[at], 0.0), np.where(hit, no[at], 0.0)

    y0, n0 = look(query_codes)
    neighbours = _neighbour_codes(query_codes)
    real = neighbours != query_codes[:, None]  # edge levels have one neighbour per dimension, not two
    y1, n1 = look(neighbours.ravel())
    y1 = (y1.reshape(neighbours.shape) * real).sum(axis=1)
    n1 = (n1.reshape(neighbours.shape) * real).sum(axis=1)
    return y0 + NEIGHBOUR_BIN_WEIGHT * y1, n0 + NEIGHBOUR_BIN_WEIGHT * n1


def _knn_counts(train_emb: NDArray[np.float32], train_y: NDArray[np.bool_], query_emb: NDArray[np.float32],
                k: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Distance-weighted yes / no votes of each query's ``k`` nearest taught faces."""
    import faiss

    k = min(k, train_emb.shape[0])
    index = faiss.IndexFlatL2(train_emb.shape[1])
    index.add(np.ascontiguousarray(train_emb, np.float32))
    sq, nn = index.search(np.ascontiguousarray(query_emb, np.float32), k)
    weights = np.exp(-np.maximum(sq.astype(np.float64), 0.0) / KNN_SCALE ** 2)
    weights[nn < 0] = 0.0
    labels = train_y[np.maximum(nn, 0)]
    return (weights * labels).sum(axis=1), (weights * ~labels).sum(axis=1)


def attribute_probability(
    train_emb: NDArray[np.float32], train_y: NDArray[np.bool_], query_emb: NDArray[np.float32], *,
    train_codes: NDArray[np.uint32] | None = None, query_codes: NDArray[np.uint32] | None = None,
    query_has_code: NDArray[np.bool_] | None = None, train_has_code: NDArray[np.bool_] | None = None,
    k: int = DEFAULT_K,
) -> NDArray[np.float64]:
    """P(yes) for each query face from taught faces (embeddings, labels and optional 32-bit codes).

    ``*_has_code`` mark which rows carry a valid code (all, when codes are given without masks); queries
    without one use the k-NN vote alone.
    """
    train_y = np.asarray(train_y, bool)
    if train_y.all() or not train_y.any():
        raise NotEnoughFacesError("teach at least one face with the attribute and one without it")
    prior = float(np.clip(train_y.mean(), 0.05, 0.95))
    yes, no = _knn_counts(train_emb, train_y, query_emb, k)
    if train_codes is not None and query_codes is not None:
        t_ok = np.ones(train_y.size, bool) if train_has_code is None else np.asarray(train_has_code, bool)
        q_ok = np.ones(query_emb.shape[0], bool) if query_has_code is None else np.asarray(query_has_code, bool)
        if t_ok.any() and q_ok.any():
            ly, ln = _lut_counts(np.asarray(train_codes, np.uint32)[t_ok], train_y[t_ok],
                                 np.asarray(query_codes, np.uint32)[q_ok])
            yes[q_ok] += ly
            no[q_ok] += ln
    return (yes + PRIOR_WEIGHT * prior) / (yes + no + PRIOR_WEIGHT)


def _codes_of(db: sqlite_utils.Database, ids: NDArray[np.int64]) -> tuple[NDArray[np.uint32], NDArray[np.bool_]]:
    """Codes of the faces (in ``ids`` order) from the library's current code model; others count as none."""
    codes = np.zeros(ids.size, np.uint32)
    has = np.zeros(ids.size, bool)
    by_id = attr_store.current_codes(db)
    for i, face_id in enumerate(ids.tolist()):
        code = by_id.get(face_id)
        if code is not None:
            codes[i] = int(code) & 0xFFFFFFFF
            has[i] = True
    return codes, has


def predict(db: sqlite_utils.Database, name: str, *, k: int = DEFAULT_K) -> int:
    """Predict ``name`` for every face with an embedding that the user has not tagged; returns how many
    predictions were written (replacing the previous ones for this attribute).

    Raises :class:`NotEnoughFacesError` unless the user tagged at least one face yes and one no.
    """
    attr = _checked_name(name)
    taught = attr_store.user_values(db, attr)
    ids, emb = queries.embeddings(db)
    is_taught = np.fromiter((i in taught for i in ids.tolist()), bool, ids.size)
    train_y = np.fromiter((taught.get(i, False) for i in ids[is_taught].tolist()), bool, int(is_taught.sum()))
    if train_y.size == 0 or train_y.all() or not train_y.any():
        raise NotEnoughFacesError(
            f"to predict '{attr}', tag at least one face with it and one without it "
            f"(tag FACE --attr {attr!r} and tag FACE --attr {attr!r} --no); "
            f"now {int(train_y.sum())} yes, {int((~train_y).sum())} no")
    codes, has_code = _codes_of(db, ids)
    query = ~is_taught
    prob = attribute_probability(
        emb[is_taught], train_y, emb[query], train_codes=codes[is_taught], query_codes=codes[query],
        train_has_code=has_code[is_taught], query_has_code=has_code[query], k=k) if query.any() \
        else np.zeros(0)
    value = prob >= 0.5
    confidence = np.where(value, prob, 1.0 - prob)
    rows = [(int(f), attr, int(v), float(round(c, 4)))
            for f, v, c in zip(ids[query].tolist(), value.tolist(), confidence.tolist())]
    with transaction(db):
        attr_store.replace_predictions(db, attr, rows)
    log.info("predicted %s on %d faces (%d yes) from %d taught (%d with codes)", attr, len(rows),
             int(value.sum()), train_y.size, int(has_code[is_taught].sum()))
    return len(rows)
