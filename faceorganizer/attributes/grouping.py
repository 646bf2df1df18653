"""Attribute clustering: group faces by how they look (age, expression, pose, ...) rather than by who they are.

Each face becomes a vector of the attributes the user picks (any of :data:`ATTRIBUTE_FEATURES`), each
standardised to zero mean and unit variance over the faces clustered and multiplied by an optional weight, so
that "age counts twice as much as smile" is a weight of 2. Three methods run on the same vectors:

- **k-means** (``kmeans``) and **agglomerative** (``agglomerative``, Ward linkage) into the number of groups
  the user picks. Agglomerative clustering needs memory quadratic in the faces, so above
  :data:`AGGLOMERATIVE_MAX_FACES` it clusters a seeded sample and gives every other face the group of the
  nearest group mean.
- **DBSCAN** (``dbscan``) finds its own number of groups (dense regions) and leaves outliers as noise (label
  -1). Its radius ``eps`` is a parameter or, by default, the knee of the sorted distances to each face's
  ``min_samples``-th neighbour (the point of the curve farthest below its chord); when the knee leaves one
  blob (attributes often vary smoothly), the k-distance decile radius with the best silhouette among those
  giving two or more groups and at most 30 % noise.

Each method reports its silhouette score (−1…1, higher means tighter, better separated groups) computed in
the same weighted space, on non-noise faces for DBSCAN; ``None`` when undefined (fewer than two groups).
Faces missing any chosen attribute are left out and counted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import sqlite_utils
from numpy.typing import NDArray

from faceorganizer.attributes import NotEnoughFacesError
from faceorganizer.attributes.brackets import EXPRESSIONS
from faceorganizer.store import attributes as attr_store

__all__ = ["ATTRIBUTE_FEATURES", "DEFAULT_FEATURES", "METHODS", "AttributeClustering", "MethodResult",
           "GroupStats", "attribute_matrix", "cluster_attributes", "cluster_matrix", "knee_eps"]

_COLUMN_FEATURES = ("age", "gender", "smile", "yaw", "pitch", "roll", "sharpness", "brightness", "size")
#: Attributes a face vector can hold: the stored columns and the seven expression probabilities.
ATTRIBUTE_FEATURES: tuple[str, ...] = ("age", "gender", "smile", *EXPRESSIONS, "yaw", "pitch", "roll",
                                       "sharpness", "brightness", "size")
DEFAULT_FEATURES: tuple[str, ...] = ("age", "gender", "smile", "yaw")
METHODS: tuple[str, ...] = ("kmeans", "agglomerative", "dbscan")
AGGLOMERATIVE_MAX_FACES = 10_000
SILHOUETTE_SAMPLE = 5_000


@dataclass(frozen=True)
class GroupStats:
    """One group: its size, the mean of every chosen attribute in its own units, and the attributes that set
    it apart most (mean z-score, largest magnitude first)."""

    label: int
    size: int
    means: dict[str, float]
    distinctive: list[tuple[str, float]]

    def describe(self) -> str:
        """``'older, less smile'``-style words for the two attributes that set the group apart most."""
        words = []
        for name, z in self.distinctive[:2]:
            if abs(z) < 0.5:
                continue
            words.append(f"{'high' if z > 0 else 'low'} {name}")
        return ", ".join(words) or "average"

    def to_json(self) -> dict[str, object]:
        return {"label": self.label, "size": self.size, "means": self.means,
                "distinctive": [[n, round(z, 3)] for n, z in self.distinctive], "description": self.describe()}


@dataclass(frozen=True)
class MethodResult:
    """The grouping one method found."""

    method: str
    labels: NDArray[np.int64]
    silhouette: float | None
    groups: list[GroupStats]
    noise: int = 0
    params: dict[str, float] = field(default_factory=dict)

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    def to_json(self) -> dict[str, object]:
        return {"method": self.method, "n_groups": self.n_groups, "silhouette": self.silhouette,
                "noise": self.noise, "params": self.params, "groups": [g.to_json() for g in self.groups]}


@dataclass(frozen=True)
class AttributeClustering:
    """The result of :func:`cluster_attributes`: face ids (row order of every ``labels``) and one
    :class:`MethodResult` per method run."""

    face_ids: NDArray[np.int64]
    features: tuple[str, ...]
    weights: tuple[float, ...]
    skipped: int
    results: dict[str, MethodResult]

    @property
    def labels(self) -> dict[str, NDArray[np.int64]]:
        return {m: r.labels for m, r in self.results.items()}

    @property
    def silhouettes(self) -> dict[str, float | None]:
        return {m: r.silhouette for m, r in self.results.items()}

    def groups_of(self, method: str) -> dict[int, list[int]]:
        """Face ids per group label for one method (DBSCAN noise under -1)."""
        out: dict[int, list[int]] = {}
        for face_id, label in zip(self.face_ids.tolist(), self.results[method].labels.tolist()):
            out.setdefault(int(label), []).append(int(face_id))
        return out

    def to_json(self, *, with_labels: bool = False) -> dict[str, object]:
        data: dict[str, object] = {
            "faces": int(self.face_ids.size), "skipped": self.skipped, "features": list(self.features),
            "weights": list(self.weights), "methods": {m: r.to_json() for m, r in self.results.items()}}
        if with_labels:
            data["face_ids"] = self.face_ids.tolist()
            for m, r in self.results.items():
                data["methods"][m]["labels"] = r.labels.tolist()  # type: ignore[index]
        return data


def _check_features(features: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in features if f.strip()))
    unknown = [f for f in chosen if f not in ATTRIBUTE_FEATURES]
    if unknown:
        raise ValueError(f"unknown attribute {unknown[0]!r}; choose from {', '.join(ATTRIBUTE_FEATURES)}")
    if not chosen:
        raise ValueError("choose at least one attribute")
    return chosen


def attribute_matrix(db: sqlite_utils.Database, features: Sequence[str] = DEFAULT_FEATURES,
                     face_ids: Sequence[int] | None = None) -> tuple[NDArray[np.int64], NDArray[np.float64], int]:
    """``(face ids, raw attribute matrix, faces left out for a missing value)`` for the chosen attributes,
    over ``face_ids`` (default: every face)."""
    chosen = _check_features(features)
    columns = [c for c in _COLUMN_FEATURES if c in chosen]
    want_expr = any(f in EXPRESSIONS for f in chosen)
    wanted = None if face_ids is None else set(int(f) for f in face_ids)
    ids: list[int] = []
    rows: list[list[float]] = []
    skipped = 0
    for r in attr_store.face_columns(db, [*columns, *(["expressions"] if want_expr else [])]):
        if wanted is not None and r["id"] not in wanted:
            continue
        probs = json.loads(r["expressions"]) if want_expr and r["expressions"] else {}
        vec = []
        for f in chosen:
            v = probs.get(f) if f in EXPRESSIONS else r[f]
            vec.append(math.nan if v is None else float(v))
        if any(math.isnan(v) for v in vec):
            skipped += 1
            continue
        ids.append(r["id"])
        rows.append(vec)
    return np.asarray(ids, np.int64), np.asarray(rows, np.float64).reshape(len(rows), len(chosen)), skipped


def knee_eps(x: NDArray[np.float64], min_samples: int) -> float:
    """DBSCAN radius at the knee of the sorted ``min_samples``-th neighbour distances."""
    from sklearn.neighbors import NearestNeighbors

    k = min(min_samples, x.shape[0] - 1)
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    curve = np.sort(dist[:, k])
    if curve.size < 3 or curve[-1] - curve[0] <= 1e-12:
        return float(max(curve[-1], 1e-6))
    xs = np.linspace(0.0, 1.0, curve.size)
    ys = (curve - curve[0]) / (curve[-1] - curve[0])
    knee = int(np.argmax(xs - ys))  # farthest below the chord from first to last point
    return float(max(curve[knee], 1e-6))


def _auto_dbscan(x: NDArray[np.float64], min_samples: int, seed: int) -> tuple[float, NDArray[np.int64]]:
    """DBSCAN at the knee radius; when that leaves fewer than two groups (one dense blob, common with
    attributes that vary smoothly), the radius among the k-distance deciles that gives the best silhouette
    with at least two groups and at most 30 % noise."""
    from sklearn.cluster import DBSCAN
    from sklearn.neighbors import NearestNeighbors

    radius = knee_eps(x, min_samples)
    labels = DBSCAN(eps=radius, min_samples=min_samples).fit_predict(x)
    if np.unique(labels[labels >= 0]).size >= 2:
        return radius, labels
    k = min(min_samples, x.shape[0] - 1)
    kdist = np.sort(NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)[0][:, k])
    best: tuple[float, float, NDArray[np.int64]] | None = None
    for q in np.arange(0.1, 0.95, 0.1):
        r = float(max(np.quantile(kdist, q), 1e-6))
        cand = DBSCAN(eps=r, min_samples=min_samples).fit_predict(x)
        if (cand < 0).mean() > 0.3:
            continue
        score = _silhouette(x, cand, seed)
        if score is not None and (best is None or score > best[0]):
            best = (score, r, cand)
    return (radius, labels) if best is None else (best[1], best[2])


def _silhouette(x: NDArray[np.float64], labels: NDArray[np.int64], seed: int) -> float | None:
    from sklearn.metrics import silhouette_score

    keep = labels >= 0
    xs, ls = x[keep], labels[keep]
    n_labels = np.unique(ls).size
    if n_labels < 2 or n_labels >= xs.shape[0]:
        return None
    sample = SILHOUETTE_SAMPLE if xs.shape[0] > SILHOUETTE_SAMPLE else None
    return float(silhouette_score(xs, ls, sample_size=sample, random_state=seed))


def _groups(raw: NDArray[np.float64], z: NDArray[np.float64], labels: NDArray[np.int64],
            features: tuple[str, ...]) -> list[GroupStats]:
    out = []
    for label in sorted(int(v) for v in np.unique(labels) if v >= 0):
        rows = labels == label
        means = {f: float(raw[rows, j].mean()) for j, f in enumerate(features)}
        zmean = z[rows].mean(axis=0)
        order = np.argsort(-np.abs(zmean))[:3]
        out.append(GroupStats(label, int(rows.sum()), means, [(features[j], float(zmean[j])) for j in order]))
    return out


def _relabel_by_size(labels: NDArray[np.int64]) -> NDArray[np.int64]:
    """Group 0 is the largest (noise stays -1), so labels are stable and readable."""
    values, counts = np.unique(labels[labels >= 0], return_counts=True)
    order = values[np.lexsort((values, -counts))]
    mapping = {int(v): i for i, v in enumerate(order)}
    return np.asarray([mapping.get(int(v), -1) for v in labels], np.int64)


def cluster_matrix(raw: NDArray[np.float64], n_groups: int, features: Sequence[str], *,
                   weights: Sequence[float] | None = None, methods: Sequence[str] = METHODS,
                   eps: float | None = None, min_samples: int | None = None, seed: int = 0
                   ) -> tuple[dict[str, MethodResult], tuple[float, ...]]:
    """Cluster a raw attribute matrix (rows = faces) with each method; the array-level core of
    :func:`cluster_attributes`."""
    from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans

    features = tuple(features)
    n, d = raw.shape
    w = np.ones(d) if weights is None else np.asarray(weights, np.float64)
    if w.shape != (d,) or np.any(w < 0):
        raise ValueError(f"give one non-negative weight per attribute ({d})")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    if n_groups < 2:
        raise ValueError("ask for at least 2 groups")
    if n < max(n_groups + 1, 3):
        raise NotEnoughFacesError(f"{n} faces with these attributes: too few for {n_groups} groups")
    std = raw.std(axis=0)
    z = (raw - raw.mean(axis=0)) / np.where(std > 1e-12, std, 1.0)
    x = z * w
    results: dict[str, MethodResult] = {}
    for method in methods:
        params: dict[str, float] = {}
        noise = 0
        if method == "kmeans":
            labels = KMeans(n_clusters=n_groups, n_init=10, random_state=seed).fit_predict(x)
        elif method == "agglomerative":
            if n <= AGGLOMERATIVE_MAX_FACES:
                labels = AgglomerativeClustering(n_clusters=n_groups, linkage="ward").fit_predict(x)
            else:
                rng = np.random.default_rng(seed)
                sample = np.sort(rng.choice(n, AGGLOMERATIVE_MAX_FACES, replace=False))
                part = AgglomerativeClustering(n_clusters=n_groups, linkage="ward").fit_predict(x[sample])
                centres = np.stack([x[sample][part == g].mean(axis=0) for g in range(n_groups)])
                labels = np.argmin(((x[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
                labels[sample] = part
                params["sampled"] = float(AGGLOMERATIVE_MAX_FACES)
        else:
            ms = min_samples if min_samples is not None else max(3, min(2 * d, n // 20))
            if eps is not None:
                radius, labels = eps, DBSCAN(eps=eps, min_samples=ms).fit_predict(x)
            else:
                radius, labels = _auto_dbscan(x, ms, seed)
            noise = int((labels < 0).sum())
            params = {"eps": round(float(radius), 4), "min_samples": float(ms)}
        labels = _relabel_by_size(np.asarray(labels, np.int64))
        results[method] = MethodResult(method, labels, _silhouette(x, labels, seed), _groups(raw, z, labels, features),
                                       noise, params)
    return results, tuple(float(v) for v in w)


def cluster_attributes(db: sqlite_utils.Database, n_groups: int, features: Sequence[str] = DEFAULT_FEATURES, *,
                       weights: Sequence[float] | None = None, methods: Sequence[str] = METHODS,
                       face_ids: Sequence[int] | None = None, eps: float | None = None,
                       min_samples: int | None = None, seed: int = 0) -> AttributeClustering:
    """Group faces (default: all) by the chosen attributes with each of ``methods``; see the module doc."""
    chosen = _check_features(features)
    ids, raw, skipped = attribute_matrix(db, chosen, face_ids)
    results, w = cluster_matrix(raw, n_groups, chosen, weights=weights, methods=methods, eps=eps,
                                min_samples=min_samples, seed=seed)
    return AttributeClustering(ids, chosen, w, skipped, results)
