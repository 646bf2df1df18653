"""Quality measures for people grouping, face verification and "find this person" search.

These are the measures of ``docs/evaluation.md`` (shared by every bench and report), in plain numpy so that
benches, tests and the CLI compute them the same way:

- clustering: pairwise and BCubed precision / recall / F1, number of clusters and singletons;
- verification: ROC AUC, best-threshold accuracy, accuracy at a given distance threshold, TAR at a FAR;
- search: rank-1 accuracy, mean average precision and recall@k from a query × gallery score matrix.

Conventions: verification and search take *scores* where higher means "more likely the same person"; pass
``-distance`` for Euclidean distances (``pair_distances`` does this bookkeeping for embeddings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ClusteringScores",
    "SearchScores",
    "VerificationScores",
    "accuracy_at_threshold",
    "bcubed_scores",
    "best_threshold_accuracy",
    "clustering_scores",
    "pair_distances",
    "pairwise_scores",
    "roc_auc",
    "search_scores",
    "tar_at_far",
    "verification_scores",
]


# --------------------------------------------------------------------------------------------- clustering


@dataclass(frozen=True)
class ClusteringScores:
    """Agreement of predicted clusters with the true identities (all values in [0, 1] except counts)."""

    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    n_clusters: int
    n_identities: int
    n_singletons: int
    """Predicted clusters of exactly one face."""


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2.0 * precision * recall / (precision + recall)


def _contingency(true_labels: ArrayLike, pred_labels: ArrayLike) -> tuple[NDArray[np.int64], int]:
    """Counts n_ij of faces in true class i and predicted cluster j, as the non-zero cells only."""
    t = np.asarray(true_labels).ravel()
    p = np.asarray(pred_labels).ravel()
    if t.shape != p.shape:
        raise ValueError(f"label arrays differ in length: {t.shape[0]} vs {p.shape[0]}")
    _, ti = np.unique(t, return_inverse=True)
    _, pi = np.unique(p, return_inverse=True)
    # One cell id per (true, pred) pair; the non-zero cells are all the formulas need.
    cells = ti.astype(np.int64) * (int(pi.max(initial=-1)) + 1) + pi
    _, counts = np.unique(cells, return_counts=True)
    return counts.astype(np.int64), t.shape[0]


def _pairs(n: NDArray[np.int64]) -> int:
    return int((n * (n - 1) // 2).sum())


def pairwise_scores(true_labels: ArrayLike, pred_labels: ArrayLike) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 over all unordered pairs of faces.

    A pair is a true positive when both faces are one person in truth and in one predicted cluster. When no
    pair is predicted together precision is 1 (nothing wrongly merged); when no pair is truly together recall
    is 1 (nothing to find).
    """
    cells, _ = _contingency(true_labels, pred_labels)
    _, t_sizes = np.unique(np.asarray(true_labels).ravel(), return_counts=True)
    _, p_sizes = np.unique(np.asarray(pred_labels).ravel(), return_counts=True)
    tp = _pairs(cells)
    pred_pairs = _pairs(p_sizes.astype(np.int64))
    true_pairs = _pairs(t_sizes.astype(np.int64))
    precision = 1.0 if pred_pairs == 0 else tp / pred_pairs
    recall = 1.0 if true_pairs == 0 else tp / true_pairs
    return precision, recall, _f1(precision, recall)


def bcubed_scores(true_labels: ArrayLike, pred_labels: ArrayLike) -> tuple[float, float, float]:
    """BCubed precision, recall and F1 (Bagga & Baldwin), averaged over faces.

    A face's precision is the share of its predicted cluster that is its own person (itself included); its
    recall is the share of its person that is in its cluster.
    """
    t = np.asarray(true_labels).ravel()
    p = np.asarray(pred_labels).ravel()
    if t.size == 0:
        return 1.0, 1.0, 1.0
    _, ti, t_sizes = np.unique(t, return_inverse=True, return_counts=True)
    _, pi, p_sizes = np.unique(p, return_inverse=True, return_counts=True)
    cell = ti.astype(np.int64) * (int(pi.max()) + 1) + pi
    _, ci, c_sizes = np.unique(cell, return_inverse=True, return_counts=True)
    n_same = c_sizes[ci].astype(np.float64)  # faces sharing both this face's person and cluster
    precision = float(np.mean(n_same / p_sizes[pi]))
    recall = float(np.mean(n_same / t_sizes[ti]))
    return precision, recall, _f1(precision, recall)


def clustering_scores(true_labels: ArrayLike, pred_labels: ArrayLike) -> ClusteringScores:
    """All clustering measures of ``docs/evaluation.md`` for one predicted labelling."""
    pp, pr, pf = pairwise_scores(true_labels, pred_labels)
    bp, br, bf = bcubed_scores(true_labels, pred_labels)
    _, p_sizes = np.unique(np.asarray(pred_labels).ravel(), return_counts=True)
    return ClusteringScores(
        pairwise_precision=pp,
        pairwise_recall=pr,
        pairwise_f1=pf,
        bcubed_precision=bp,
        bcubed_recall=br,
        bcubed_f1=bf,
        n_clusters=int(p_sizes.size),
        n_identities=int(np.unique(np.asarray(true_labels).ravel()).size),
        n_singletons=int((p_sizes == 1).sum()),
    )


# ------------------------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class VerificationScores:
    """Same-person / different-person pair decisions from one score per pair."""

    roc_auc: float
    best_accuracy: float
    best_threshold: float
    """Score threshold of ``best_accuracy`` (same person when score > threshold)."""
    tar_at_far_1e_2: float
    tar_at_far_1e_3: float
    n_positive: int
    n_negative: int


def _split_scores(scores: ArrayLike, same: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(same, dtype=bool).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in length: {s.shape[0]} vs {y.shape[0]}")
    if not (y.any() and (~y).any()):
        raise ValueError("verification needs at least one same-person and one different-person pair")
    return s[y], s[~y]


def roc_auc(scores: ArrayLike, same: ArrayLike) -> float:
    """Area under the ROC curve: the chance a random same pair scores above a random different pair.

    Ties count one half (the Mann–Whitney statistic), which is what ``sklearn.metrics.roc_auc_score`` gives.
    """
    pos, neg = _split_scores(scores, same)
    both = np.concatenate([pos, neg])
    # Mid-ranks handle ties without a pairwise comparison of all positives with all negatives.
    order = np.argsort(both, kind="mergesort")
    sorted_scores = both[order]
    ranks = np.empty(both.size, dtype=np.float64)
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    mid = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(mid, counts)
    rank_sum = ranks[: pos.size].sum()
    return float((rank_sum - pos.size * (pos.size + 1) / 2.0) / (pos.size * neg.size))


def best_threshold_accuracy(scores: ArrayLike, same: ArrayLike) -> tuple[float, float]:
    """Best accuracy over all thresholds (same when score > threshold) and that threshold.

    The threshold returned is the midpoint between the two neighbouring distinct scores, so it transfers to
    new pairs better than a score value itself.
    """
    pos, neg = _split_scores(scores, same)
    values = np.unique(np.concatenate([pos, neg]))
    # Candidate thresholds: below everything, between consecutive distinct scores, above everything.
    cuts = np.concatenate([[values[0] - 1.0], (values[:-1] + values[1:]) / 2.0, [values[-1] + 1.0]])
    pos_sorted = np.sort(pos)
    neg_sorted = np.sort(neg)
    true_accepts = pos.size - np.searchsorted(pos_sorted, cuts, side="right")
    true_rejects = np.searchsorted(neg_sorted, cuts, side="right")
    correct = true_accepts + true_rejects
    best = int(np.argmax(correct))
    return float(correct[best] / (pos.size + neg.size)), float(cuts[best])


def accuracy_at_threshold(scores: ArrayLike, same: ArrayLike, threshold: float) -> float:
    """Accuracy when a pair is called the same person exactly when its score is above ``threshold``.

    For distances call it with ``-distances`` and ``-threshold`` (same when distance < threshold).
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(same, dtype=bool).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in length: {s.shape[0]} vs {y.shape[0]}")
    return float(np.mean((s > threshold) == y)) if s.size else float("nan")


def tar_at_far(scores: ArrayLike, same: ArrayLike, far: float) -> float:
    """True accept rate at the strictest threshold whose false accept rate does not exceed ``far``.

    Accept when score > threshold, with the threshold at a different-pair score so that at most
    ``floor(far * n_negative)`` different pairs are accepted (ties at the threshold are rejected).
    """
    if not 0.0 <= far <= 1.0:
        raise ValueError(f"far must be in [0, 1], got {far}")
    pos, neg = _split_scores(scores, same)
    allowed = int(np.floor(far * neg.size + 1e-9))
    if allowed >= neg.size:
        return 1.0
    threshold = np.sort(neg)[::-1][allowed]  # the (allowed+1)-th highest different-pair score
    return float(np.mean(pos > threshold))


def verification_scores(scores: ArrayLike, same: ArrayLike) -> VerificationScores:
    """ROC AUC, best-threshold accuracy and TAR at FAR = 1% and 0.1% for one set of scored pairs."""
    pos, neg = _split_scores(scores, same)
    accuracy, threshold = best_threshold_accuracy(scores, same)
    return VerificationScores(
        roc_auc=roc_auc(scores, same),
        best_accuracy=accuracy,
        best_threshold=threshold,
        tar_at_far_1e_2=tar_at_far(scores, same, 1e-2),
        tar_at_far_1e_3=tar_at_far(scores, same, 1e-3),
        n_positive=int(pos.size),
        n_negative=int(neg.size),
    )


def pair_distances(embeddings: ArrayLike, labels: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Euclidean distance and same-person flag for every unordered pair of faces (O(n²): for test sets)."""
    x = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(labels).ravel()
    sq = (x * x).sum(axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0)
    i, j = np.triu_indices(x.shape[0], k=1)
    return np.sqrt(d2[i, j]), y[i] == y[j]


# ------------------------------------------------------------------------------------------------- search


@dataclass(frozen=True)
class SearchScores:
    """Retrieval quality of "find this person" over a set of queries."""

    rank1: float
    """Share of queries whose best-scored gallery face is the same person."""
    mean_average_precision: float
    recall_at_k: dict[int, float]
    """Share of queries with at least one same-person face among the k best (the hit rate at k)."""
    n_queries: int
    """Queries with at least one same-person face in the gallery; the others are left out of every measure."""


def search_scores(
    scores: ArrayLike,
    query_labels: ArrayLike,
    gallery_labels: ArrayLike,
    *,
    ks: Sequence[int] = (1, 5, 10),
    exclude_self: bool = False,
) -> SearchScores:
    """Rank-1, mAP and recall@k from a (queries × gallery) score matrix, higher = more similar.

    ``exclude_self`` drops the diagonal (query i is gallery face i), for "each face against all others".
    Ties in score are broken by gallery order, so give distinct scores where the order matters.
    """
    s = np.array(scores, dtype=np.float64, copy=True)
    q = np.asarray(query_labels).ravel()
    g = np.asarray(gallery_labels).ravel()
    if s.ndim != 2 or s.shape != (q.size, g.size):
        raise ValueError(f"scores must be queries × gallery = {(q.size, g.size)}, got {s.shape}")
    relevant = q[:, None] == g[None, :]
    if exclude_self:
        if q.size != g.size:
            raise ValueError("exclude_self needs the queries to be the gallery")
        np.fill_diagonal(s, -np.inf)
        np.fill_diagonal(relevant, False)
    has_match = relevant.any(axis=1)
    s, relevant = s[has_match], relevant[has_match]
    n_queries = int(has_match.sum())
    if n_queries == 0:
        return SearchScores(float("nan"), float("nan"), {k: float("nan") for k in ks}, 0)
    order = np.argsort(-s, axis=1, kind="stable")
    hits = np.take_along_axis(relevant, order, axis=1)
    if exclude_self:
        hits = hits[:, :-1]  # the query itself, sorted last
    first_hit = np.argmax(hits, axis=1)  # every remaining query has at least one hit
    ranks = np.arange(1, hits.shape[1] + 1, dtype=np.float64)
    precision_at_hits = np.cumsum(hits, axis=1) / ranks
    ap = (precision_at_hits * hits).sum(axis=1) / hits.sum(axis=1)
    return SearchScores(
        rank1=float(np.mean(first_hit == 0)),
        mean_average_precision=float(ap.mean()),
        recall_at_k={int(k): float(np.mean(first_hit < k)) for k in ks},
        n_queries=n_queries,
    )
