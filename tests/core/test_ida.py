"""IDA calibration: cached densities equal the formula, scores are symmetric, IDA-L learns and round-trips."""

from __future__ import annotations

import numpy as np
import pytest

from devkit.synthetic import synthetic_embeddings
from faceorganizer.search.ida import (
    DEFAULT_TAU,
    DensityMLP,
    IDACalibrator,
    calibrated_pair_scores,
    calibrated_scores,
    select_anchors,
)


@pytest.fixture(scope="module")
def library() -> tuple[np.ndarray, np.ndarray]:
    return synthetic_embeddings(600, 60, seed=11)


def direct_density(face, label, anchors, anchor_labels, k, tau, threshold=0.6):
    """d(f) = 1 / Σ_k exp(τ·cos) over the k most similar other-person anchors, straight from the definition."""
    sims = []
    for a, la in zip(anchors, anchor_labels):
        other = np.linalg.norm(face - a) >= threshold if (label < 0 or la < 0) else la != label
        if other:
            sims.append(float(face @ a / np.linalg.norm(face) / np.linalg.norm(a)))
    top = sorted(sims, reverse=True)[:k]
    return 1.0 / sum(np.exp(tau * s) for s in top)


@pytest.mark.parametrize("known", [True, False])
def test_cached_densities_give_the_direct_score(library, known):
    x, y = library
    anchors, anchor_labels = select_anchors(x, y, per_person=2, seed=0)
    tau, k = 12.0, 5
    calibrator = IDACalibrator(anchors, anchor_labels, k=k, tau=tau)
    labels = y if known else None
    faces = np.arange(0, 600, 37)
    log_d = calibrator.log_densities(x[faces], None if labels is None else labels[faces])
    direct = np.array([direct_density(x[f], y[f] if known else -1, anchors, anchor_labels, k, tau) for f in faces])
    np.testing.assert_allclose(log_d, np.log(direct), rtol=1e-4, atol=1e-4)
    # One index lookup + re-score: the cached terms give s* = exp(τ·cos)·(d1 + d2).
    q, cands = faces[0], faces[1:]
    got = calibrated_scores(x[q], log_d[0], x[cands], log_d[1:], tau)
    cos = (x[cands] @ x[q]) / np.linalg.norm(x[cands], axis=1) / np.linalg.norm(x[q])
    want = np.exp(tau * cos) * (direct[0] + direct[1:])
    np.testing.assert_allclose(got, np.log(want), rtol=1e-5, atol=1e-4)


def test_unknown_face_ignores_anchors_within_the_same_person_distance():
    rng = np.random.default_rng(0)
    face = rng.normal(0, 0.1, 128).astype(np.float32) + 1.0
    twin = face + 0.01  # 0.11 away: the same person by distance, however it is labelled
    far = face + rng.normal(0, 0.2, 128).astype(np.float32)  # ~2.3 away
    calibrator = IDACalibrator(np.stack([twin, far]), np.array([7, 8]), k=1, tau=10.0)
    support = calibrator.support_similarities(face[None], None)
    assert support[0, 0] == pytest.approx(np.dot(face, far) / np.linalg.norm(face) / np.linalg.norm(far), abs=1e-6)
    # Labelled 7, the twin is its own person; labelled 9, the twin is another person however close.
    assert calibrator.support_similarities(face[None], [7])[0, 0] == pytest.approx(support[0, 0])
    assert calibrator.support_similarities(face[None], [9])[0, 0] > 0.999


def test_too_few_anchors_pad_the_support_set(library):
    x, y = library
    calibrator = IDACalibrator(x[:3], y[:3], k=10)
    support = calibrator.support_similarities(x[3:5], y[3:5])
    assert support.shape == (2, 10) and np.isinf(support[:, 3:]).all() and np.isfinite(support[:, :2]).all()
    assert np.isfinite(calibrator.log_densities(x[3:5], y[3:5])).all()


def test_scores_are_symmetric(library):
    x, y = library
    calibrator = IDACalibrator(*select_anchors(x, y), k=10)
    log_d = calibrator.log_densities(x[:50])
    s = calibrated_pair_scores(x[:50], log_d, x[:50], log_d)
    # Cosines come from float32 BLAS, whose summation order differs between a·b and b·a: symmetry holds to the
    # float32 rounding bound of a d-term dot product of unit vectors (d·eps), scaled by τ — on any machine.
    tolerance = DEFAULT_TAU * x.shape[1] * float(np.finfo(np.float32).eps)
    np.testing.assert_allclose(s, s.T, rtol=0, atol=tolerance)
    assert np.abs(s - s.T).max() < 0.01 * np.abs(s).max()  # and never a real asymmetry
    ab = calibrated_scores(x[3], log_d[3], x[[8]], log_d[[8]])
    ba = calibrated_scores(x[8], log_d[8], x[[3]], log_d[[3]])
    assert ab[0] == pytest.approx(ba[0], rel=0, abs=tolerance)


def test_anchor_selection_is_seeded_and_one_face_per_person(library):
    x, y = library
    a1, l1 = select_anchors(x, y, seed=4)
    a2, l2 = select_anchors(x, y, seed=4)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(l1, l2)
    assert np.unique(l1).size == l1.size == np.unique(y).size
    c, lc = select_anchors(x, y, centroids=True, max_anchors=10)
    assert c.shape == (10, 128) and np.unique(lc).size == 10


def test_density_mlp_learns_and_round_trips(library):
    x, y = library
    log_d = IDACalibrator(*select_anchors(x, y, per_person=3), k=10).log_densities(x, y)
    model = DensityMLP(seed=1).fit(x[:500], log_d[:500], epochs=150)
    held_out = model.predict(x[500:])
    assert np.corrcoef(held_out, log_d[500:])[0, 1] > 0.5
    again = DensityMLP(seed=1).fit(x[:500], log_d[:500], epochs=150)
    np.testing.assert_array_equal(again.predict(x[500:]), held_out)
    restored = DensityMLP.from_bytes(model.to_bytes())
    np.testing.assert_array_equal(restored.predict(x[500:]), held_out)
