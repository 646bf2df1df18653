"""Quality measures against hand-computed small cases and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.metrics.cluster import pair_confusion_matrix

from devkit.evaluation import (
    accuracy_at_threshold,
    bcubed_scores,
    best_threshold_accuracy,
    clustering_scores,
    pair_distances,
    pairwise_scores,
    roc_auc,
    search_scores,
    tar_at_far,
    verification_scores,
)

# Truth: persons a (3 faces) and b (2). Prediction: {0, 1}, {2, 3}, {4}.
TRUTH = ["a", "a", "a", "b", "b"]
PRED = [7, 7, 8, 8, 9]


def test_pairwise_by_hand():
    # True pairs: a 3 + b 1 = 4. Predicted pairs: (0,1), (2,3) = 2, of which (0,1) is right.
    p, r, f = pairwise_scores(TRUTH, PRED)
    assert p == pytest.approx(1 / 2)
    assert r == pytest.approx(1 / 4)
    assert f == pytest.approx(2 * (1 / 2) * (1 / 4) / (1 / 2 + 1 / 4))


def test_pairwise_matches_sklearn_pair_confusion():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 12, 300)
    pred = rng.integers(0, 9, 300)
    (_, fp), (fn, tp) = pair_confusion_matrix(truth, pred) // 2
    p, r, _ = pairwise_scores(truth, pred)
    assert p == pytest.approx(tp / (tp + fp))
    assert r == pytest.approx(tp / (tp + fn))


def test_bcubed_by_hand():
    # Per face precision: 1, 1, 1/2, 1/2, 1; recall: 2/3, 2/3, 1/3, 1/2, 1/2.
    p, r, f = bcubed_scores(TRUTH, PRED)
    assert p == pytest.approx(4 / 5)
    assert r == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 / 2 + 1 / 2) / 5)
    assert f == pytest.approx(2 * p * r / (p + r))


def test_perfect_and_degenerate_clusterings():
    s = clustering_scores(TRUTH, [1, 1, 1, 0, 0])
    assert (s.pairwise_f1, s.bcubed_f1, s.n_clusters, s.n_identities, s.n_singletons) == (1.0, 1.0, 2, 2, 0)
    all_apart = clustering_scores(TRUTH, range(5))
    assert all_apart.pairwise_precision == 1.0 and all_apart.pairwise_recall == 0.0
    assert all_apart.bcubed_precision == 1.0 and all_apart.bcubed_recall == pytest.approx((1 / 3 * 3 + 1 / 2 * 2) / 5)
    assert all_apart.n_singletons == 5
    one_blob = clustering_scores(TRUTH, [0] * 5)
    assert one_blob.pairwise_recall == 1.0 and one_blob.pairwise_precision == pytest.approx(4 / 10)
    with pytest.raises(ValueError):
        pairwise_scores([1, 2], [1])


SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.2])
SAME = np.array([1, 1, 0, 1, 0, 0, 1, 0], bool)


def test_roc_auc_by_hand_and_sklearn():
    # Positives 0.9, 0.8, 0.6, 0.3 against negatives 0.7, 0.55, 0.4, 0.2: 4 + 4 + 3 + 1 = 12 of 16 pairs.
    assert roc_auc(SCORES, SAME) == pytest.approx(12 / 16)
    rng = np.random.default_rng(1)
    s = rng.integers(0, 20, 500).astype(float)  # many ties
    y = rng.random(500) < 0.3
    assert roc_auc(s, y) == pytest.approx(roc_auc_score(y, s))


def test_best_threshold_accuracy_by_hand():
    # Threshold between 0.8 and 0.7 (or 0.6 and 0.55): 6 of 8 right; no cut does better.
    accuracy, threshold = best_threshold_accuracy(SCORES, SAME)
    assert accuracy == pytest.approx(6 / 8)
    assert accuracy_at_threshold(SCORES, SAME, threshold) == pytest.approx(6 / 8)
    assert threshold in (pytest.approx(0.75), pytest.approx(0.575))


def test_accuracy_at_distance_threshold():
    d = np.array([0.3, 0.5, 0.65, 0.7])
    same = np.array([True, False, True, False])
    # Same person when distance < 0.6: right, wrong, wrong, right.
    assert accuracy_at_threshold(-d, same, -0.6) == pytest.approx(0.5)


def test_tar_at_far():
    pos = np.linspace(0.5, 1.0, 10)
    neg = np.arange(1000) / 1000.0  # 0.000 … 0.999
    scores = np.concatenate([pos, neg])
    same = np.concatenate([np.ones(10, bool), np.zeros(1000, bool)])
    # FAR 1%: at most 10 negatives above the threshold: threshold = 0.989 (11th highest), TAR = pos > 0.989.
    assert tar_at_far(scores, same, 0.01) == pytest.approx(np.mean(pos > 0.989))
    # FAR 0.1%: one negative may pass: threshold 0.998.
    assert tar_at_far(scores, same, 0.001) == pytest.approx(np.mean(pos > 0.998))
    assert tar_at_far(scores, same, 1.0) == 1.0
    v = verification_scores(scores, same)
    assert v.n_positive == 10 and v.n_negative == 1000
    assert v.tar_at_far_1e_2 == tar_at_far(scores, same, 0.01)


def test_pair_distances():
    x = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    d, same = pair_distances(x, [0, 0, 1])
    np.testing.assert_allclose(d, [5.0, 1.0, np.sqrt(18.0)])
    np.testing.assert_array_equal(same, [True, False, False])


def test_search_by_hand():
    # Query p: gallery order (by score) p, q, p → rank-1 hit, AP = (1/1 + 2/3) / 2.
    # Query q: order p, p, q → miss at 1, AP = 1/3, first hit at rank 3.
    scores = np.array([[0.9, 0.5, 0.1], [0.8, 0.7, 0.6]])
    gallery = ["p", "q", "p"]
    gallery_scores = np.array([[0.9, 0.5, 0.1], [0.8, 0.6, 0.7]])
    s = search_scores(gallery_scores, ["p", "q"], ["p", "q", "p"], ks=(1, 2, 3))
    assert s.rank1 == pytest.approx(0.5)
    assert s.mean_average_precision == pytest.approx(((1 + 2 / 3) / 2 + 1 / 3) / 2)
    assert s.recall_at_k == {1: 0.5, 2: 0.5, 3: 1.0}
    assert s.n_queries == 2
    assert search_scores(scores, ["p", "z"], gallery).n_queries == 1  # a query with no match is left out


def test_search_exclude_self_matches_sklearn_ap():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 6, 40)
    x = rng.standard_normal((40, 8)) + labels[:, None]
    scores = -np.linalg.norm(x[:, None] - x[None], axis=2)
    s = search_scores(scores, labels, labels, ks=(1, 5), exclude_self=True)
    aps, hits1 = [], []
    for i in range(40):
        others = np.arange(40) != i
        relevant = labels[others] == labels[i]
        if relevant.any():
            aps.append(average_precision_score(relevant, scores[i, others]))
            hits1.append(relevant[np.argmax(scores[i, others])])
    assert s.n_queries == len(aps)
    assert s.mean_average_precision == pytest.approx(np.mean(aps))
    assert s.rank1 == pytest.approx(np.mean(hits1))
    assert s.recall_at_k[5] >= s.recall_at_k[1]
