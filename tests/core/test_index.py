"""The nearest-face index: exact answers, updates, the cache file, and IVF recall on synthetic faces."""

from __future__ import annotations

import numpy as np
import pytest

from devkit.synthetic import synthetic_embeddings
from faceorganizer.search.index import (
    EXACT_MAX_FACES,
    IVF_MAX_FACES,
    FaceIndex,
    IndexCacheError,
    IndexKind,
    choose_kind,
    similarity_from_distance,
)


def brute_force(ids: np.ndarray, x: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    d = np.sqrt(((q[:, None, :].astype(np.float64) - x[None, :, :]) ** 2).sum(-1))
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    return ids[order], np.take_along_axis(d, order, 1)


@pytest.fixture(scope="module")
def faces() -> tuple[np.ndarray, np.ndarray]:
    x, _ = synthetic_embeddings(3000, 300, seed=3)
    ids = np.random.default_rng(0).permutation(10 * len(x))[: len(x)].astype(np.int64)  # ids are not rows
    return ids, x


@pytest.mark.parametrize("backend", ["blas", "torch", "fp16", "faiss"])
def test_exact_index_returns_true_nearest_neighbours(faces, backend):
    ids, x = faces
    q = x[:40] + np.random.default_rng(1).normal(0, 0.02, (40, x.shape[1])).astype(np.float32)
    index = FaceIndex(ids, x, kind="exact", exact_backend=backend)
    got_ids, got_d = index.search(q, 10)
    want_ids, want_d = brute_force(ids, x, q, 10)
    np.testing.assert_array_equal(got_ids, want_ids)
    np.testing.assert_allclose(got_d, want_d, rtol=1e-5, atol=1e-6)
    one_ids, _ = index.search(q[0], 10)  # a single vector is a batch of one
    np.testing.assert_array_equal(one_ids[0], want_ids[0])


def test_small_index_pads_and_empty_index_answers(faces):
    ids, x = faces
    index = FaceIndex(ids[:3], x[:3])
    got_ids, got_d = index.search(x[:1], 5)
    assert got_ids[0, 0] == ids[0] and got_d[0, 0] == 0.0
    assert (got_ids[0, 3:] == -1).all() and np.isinf(got_d[0, 3:]).all()
    empty = FaceIndex(np.empty(0, np.int64), np.empty((0, 128), np.float32))
    assert len(empty) == 0 and (empty.search(x[:2], 3)[0] == -1).all()


@pytest.mark.parametrize("kind", ["exact", "ivf"])
def test_add_and_remove_match_a_fresh_build(faces, kind):
    ids, x = faces
    index = FaceIndex(ids[:2000], x[:2000], kind=kind)
    index.add(ids[2000:], x[2000:])
    removed = ids[::3]
    assert index.remove(np.concatenate([removed, [-12345]])) == removed.size  # unknown ids are ignored
    keep = ~np.isin(ids, removed)
    assert len(index) == keep.sum()
    assert removed[0] not in index and ids[1] in index
    np.testing.assert_array_equal(np.sort(index.ids), np.sort(ids[keep]))
    got_ids, _ = index.search(x[:50], 5)
    assert not np.isin(got_ids, removed).any()
    if kind == "exact":
        want_ids, _ = brute_force(ids[keep], x[keep], x[:50], 5)
        np.testing.assert_array_equal(got_ids, want_ids)
    np.testing.assert_array_equal(index.vectors(ids[keep][:4]), x[keep][:4])
    with pytest.raises(KeyError):
        index.vectors(removed[:1])


def test_duplicate_ids_are_refused(faces):
    ids, x = faces
    index = FaceIndex(ids[:10], x[:10])
    with pytest.raises(ValueError):
        index.add(ids[:1], x[:1])
    with pytest.raises(ValueError):
        FaceIndex(np.array([1, 1]), x[:2])
    with pytest.raises(ValueError):
        index.add([10**9], x[:1, :64])


@pytest.fixture(scope="module")
def saved(faces, tmp_path_factory) -> dict[str, tuple[FaceIndex, object]]:
    """One index of each kind, saved once (IVF-PQ training is the slow part)."""
    ids, x = faces
    out = {}
    for kind in ("exact", "ivf", "ivfpq"):
        index = FaceIndex(ids, x, kind=kind, fingerprint="faces=3000;model=dlib")
        path = tmp_path_factory.mktemp(kind) / "faces.idx"
        index.save(path)
        out[kind] = (index, path)
    return out


@pytest.mark.parametrize("kind", ["exact", "ivf", "ivfpq"])
@pytest.mark.parametrize("mmap", [True, False])
def test_save_load_round_trip(faces, saved, kind, mmap):
    ids, x = faces
    index, path = saved[kind]
    assert FaceIndex.read_fingerprint(path) == "faces=3000;model=dlib"
    loaded = FaceIndex.load(path, fingerprint="faces=3000;model=dlib", mmap=mmap)
    assert (loaded.kind, len(loaded), loaded.nprobe, loaded.refine) == (IndexKind(kind), len(index), index.nprobe,
                                                                         index.refine)
    for a, b in zip(index.search(x[:20], 7), loaded.search(x[:20], 7)):
        np.testing.assert_array_equal(a, b)
    # A loaded (memory-mapped) index stays editable.
    loaded.remove(ids[:5])
    loaded.add(ids[:2], x[:2])
    assert len(loaded) == len(index) - 3 and ids[0] in loaded and ids[3] not in loaded


def test_stale_or_corrupt_cache_is_refused(faces, tmp_path):
    ids, x = faces
    path = tmp_path / "faces.idx"
    FaceIndex(ids[:100], x[:100], fingerprint="v1").save(path)
    with pytest.raises(IndexCacheError):
        FaceIndex.load(path, fingerprint="v2")
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    with pytest.raises(IndexCacheError):
        FaceIndex.load(path)
    path.write_bytes(b"not an index")
    with pytest.raises(IndexCacheError):
        FaceIndex.load(path)
    assert FaceIndex.read_fingerprint(path) is None
    assert FaceIndex.read_fingerprint(tmp_path / "missing.idx") is None


def test_ivf_recall_at_10_on_synthetic_faces():
    x, _ = synthetic_embeddings(40_000, 4000, seed=7)
    ids = np.arange(len(x), dtype=np.int64)
    queries = np.random.default_rng(2).choice(len(x), 200, replace=False)
    index = FaceIndex(ids, x, kind="ivf")
    got, _ = index.search(x[queries], 10)
    want, _ = FaceIndex(ids, x, kind="exact").search(x[queries], 10)
    recall = np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got, want)])
    assert recall >= 0.98


def test_kind_follows_library_size():
    assert choose_kind(1000) is IndexKind.EXACT
    assert choose_kind(EXACT_MAX_FACES) is IndexKind.EXACT
    assert choose_kind(EXACT_MAX_FACES + 1) is IndexKind.IVF
    assert choose_kind(IVF_MAX_FACES + 1) is IndexKind.IVF_PQ


def test_needs_rebuild_when_outgrown(faces):
    ids, x = faces
    index = FaceIndex(ids[:1000], x[:1000], kind="ivf")
    assert not index.needs_rebuild
    index.add(ids[1000:], x[1000:])  # 3× the faces the centroids were trained on
    assert index.needs_rebuild


def test_similarity_is_a_monotone_display_score():
    d = np.array([0.0, 0.3, 0.6, 0.9, np.inf])
    s = similarity_from_distance(d)
    assert np.all(np.diff(s) < 0) and s[2] == pytest.approx(0.5) and s[0] > 0.99 and s[-1] == 0.0
