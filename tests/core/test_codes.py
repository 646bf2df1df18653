"""32-bit face codes: packing, distance, stable fits and encodes, and the bin search."""

from __future__ import annotations

import numpy as np
import pytest

from devkit.synthetic import synthetic_embeddings
from faceorganizer.search.codes import (
    BinIndex,
    LearnedCodec,
    PCACodec,
    code_distance,
    code_verification_accuracy,
    codec_from_bytes,
    fit_codec,
    pack_levels,
    unpack_levels,
)


@pytest.fixture(scope="module")
def library() -> tuple[np.ndarray, np.ndarray]:
    return synthetic_embeddings(4000, 400, seed=5)


def test_pack_unpack_and_l1_distance():
    rng = np.random.default_rng(0)
    levels = rng.integers(0, 16, (50, 8))
    codes = pack_levels(levels)
    assert codes.dtype == np.uint32
    np.testing.assert_array_equal(unpack_levels(codes), levels)
    want = np.abs(levels[:, None, :] - levels[None, :, :]).sum(-1)
    np.testing.assert_array_equal(code_distance(codes[:, None], codes[None, :]), want)
    assert code_distance(pack_levels([[15] * 8]), pack_levels([[0] * 8]))[0] == 120


@pytest.mark.parametrize("rotate", [False, True])
def test_pca_codes_are_stable_across_encodes_fits_and_bytes(library, rotate):
    x, _ = library
    codec = PCACodec.fit(x, rotate=rotate, seed=3)
    first = codec.encode(x)
    np.testing.assert_array_equal(codec.encode(x), first)
    np.testing.assert_array_equal(PCACodec.fit(x, rotate=rotate, seed=3).encode(x), first)
    np.testing.assert_array_equal(codec_from_bytes(codec.to_bytes()).encode(x), first)
    # Quantile bins: every one of the 16 levels of every dimension is used about equally.
    counts = np.stack([np.bincount(col, minlength=16) for col in unpack_levels(first).T])
    assert counts.min() > 0.8 * len(x) / 16 and counts.max() < 1.2 * len(x) / 16


def test_rotation_changes_with_the_seed(library):
    x, _ = library
    a = PCACodec.fit(x, rotate=True, seed=1).encode(x)
    b = PCACodec.fit(x, rotate=True, seed=2).encode(x)
    assert (a != b).mean() > 0.5


def test_learned_codes_are_stable_and_round_trip(library):
    x, y = library
    labels = np.where(np.arange(len(y)) % 5 == 0, -1, y)  # some unknown faces
    codec = LearnedCodec.fit(x, labels, seed=2, epochs=5)
    again = LearnedCodec.fit(x, labels, seed=2, epochs=5)
    codes = codec.encode(x)
    np.testing.assert_array_equal(again.encode(x), codes)
    np.testing.assert_array_equal(codec.encode(x), codes)
    np.testing.assert_array_equal(codec_from_bytes(codec.to_bytes()).encode(x), codes)


def test_codes_verify_faces_better_than_chance(library):
    x, y = library
    accuracy, threshold = code_verification_accuracy(PCACodec.fit(x).encode(x), y)
    assert accuracy > 0.8 and 0 < threshold < 120


def test_fit_codec_compares_on_held_out_people(library):
    x, y = library
    choice = fit_codec(x, y, seed=0, min_people=50, epochs=5)
    assert choice.learned_accuracy is not None and 0.5 < choice.pca_accuracy <= 1.0
    assert isinstance(choice.codec, LearnedCodec if choice.learned_accuracy > choice.pca_accuracy else PCACodec)
    assert fit_codec(x[:100], y[:100], min_people=500).learned_accuracy is None


def test_bin_search_recall_rises_with_bins_visited_and_is_exact_with_all_bins(library):
    x, _ = library
    ids = np.arange(len(x), dtype=np.int64) + 1000
    codes = PCACodec.fit(x).encode(x)
    bins = BinIndex(ids, codes, x)
    assert 0 < bins.n_bins <= len(x)
    queries = np.arange(0, len(x), 40)
    d = ((x[queries, None, :] - x[None, :, :]) ** 2).sum(-1)
    truth = ids[np.argsort(d, axis=1)[:, 1:11]]  # the 10 true neighbours, leaving out the query itself
    recalls = []
    for fraction in (0.001, 0.01, 0.05, 0.2, 1.0):
        hits = [np.isin(truth[i], bins.candidates(codes[q], bin_fraction=fraction)).mean()
                for i, q in enumerate(queries)]
        recalls.append(float(np.mean(hits)))
    assert all(b >= a for a, b in zip(recalls, recalls[1:]))
    assert recalls[0] < 0.9 and recalls[-1] == 1.0
    for q in queries[:20]:
        probe = x[q] + 0.01
        got_ids, got_d = bins.search(probe, codes[q], 3, bin_fraction=None)
        exact = np.sqrt(((x - probe) ** 2).sum(1))
        assert got_ids[0] == ids[np.argmin(exact)]
        assert got_d[0] == pytest.approx(exact.min(), rel=1e-5)


def test_bin_budget_by_candidate_count(library):
    x, _ = library
    codes = PCACodec.fit(x).encode(x)
    bins = BinIndex(np.arange(len(x)), codes)
    rows = bins.candidate_rows(codes[0], max_candidates=50)
    assert 50 <= rows.size < 50 + bins._counts.max() and np.unique(rows).size == rows.size
    assert codes[0] in codes[rows]  # the query's own bin comes first
    with pytest.raises(ValueError):
        bins.search(x[0], codes[0], 5)
