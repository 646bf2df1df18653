"""The clustering engine on synthetic faces: linkage, constraints, tree cuts, split, outliers, assignment."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist

from devkit.evaluation import clustering_scores, pair_distances, pairwise_scores
from devkit.synthetic import synthetic_embeddings, synthetic_person
from faceorganizer.errors import InvalidEditError
from faceorganizer.people.cluster import (
    DEFAULT_THRESHOLD,
    assign_incremental,
    build_merge_tree,
    cluster_faces,
    cluster_to_n,
    label_components,
)
from faceorganizer.people.knn import knn_graph
from faceorganizer.people.review import outliers, propose_split


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return pairwise_scores(a, b) == (1.0, 1.0, 1.0) and np.unique(a).size == np.unique(b).size


@pytest.fixture(scope="module")
def library() -> tuple[np.ndarray, np.ndarray]:
    return synthetic_embeddings(3000, 300, seed=21)


@pytest.fixture(scope="module")
def tree(library):
    x, _ = library
    return build_merge_tree(x)


# ------------------------------------------------------------------------------------------ synthetic faces


def test_synthetic_faces_have_dlib_scales():
    x, truth = synthetic_embeddings(2000, 200, seed=0)
    assert x.shape == (2000, 128) and x.dtype == np.float32
    np.testing.assert_array_equal(x, synthetic_embeddings(2000, 200, seed=0)[0])
    people, sizes = np.unique(truth, return_counts=True)
    assert np.isin(np.arange(200), people).all()  # every person has a face
    assert (sizes == 1).sum() >= 100  # strangers (100) and rare people
    assert sizes.max() >= 50  # and a few people in many photos
    assert 1.4 < np.linalg.norm(x, axis=1).mean() < 1.6
    d, same = pair_distances(x, truth)
    assert 0.3 < d[same].mean() < 0.5
    assert 0.8 < d[~same].mean() < 1.0
    assert np.percentile(d[~same], 1) > 0.6  # look-alikes exist, but rarely under dlib's 0.6


# ---------------------------------------------------------------------------------------------- the linkage


def test_full_graph_equals_exact_average_linkage_on_squared_distances():
    # With every pair in the graph the result must be scipy's exact average linkage on squared distances.
    x, _ = synthetic_embeddings(300, 30, seed=1)
    reference = linkage(pdist(x.astype(np.float64), "sqeuclidean"), "average")
    t = build_merge_tree(x, k=x.shape[0] - 1)
    for threshold in (0.3, 0.45, 0.55, 0.65, 0.8, 1.0):
        assert same_partition(fcluster(reference, threshold**2, "distance"), t.labels(threshold)), threshold


def test_sparse_graph_matches_full_graph_on_people():
    x, _ = synthetic_embeddings(1200, 100, seed=20)
    full = build_merge_tree(x, k=x.shape[0] - 1)
    sparse = build_merge_tree(x)
    for threshold in (0.5, DEFAULT_THRESHOLD, 0.6):
        assert pairwise_scores(full.labels(threshold), sparse.labels(threshold))[2] > 0.995


def test_quality_on_synthetic_library(library, tree):
    _, truth = library
    s = clustering_scores(truth, tree.labels(DEFAULT_THRESHOLD))
    assert s.pairwise_f1 > 0.97 and s.bcubed_f1 > 0.97
    assert abs(s.n_clusters - s.n_identities) < 0.1 * s.n_identities


def test_heights_sorted_and_cut_consistent_with_direct_clustering(library, tree):
    x, _ = library
    assert np.all(np.diff(tree.heights) >= 0)
    for threshold in (0.45, DEFAULT_THRESHOLD, 0.62):
        assert same_partition(tree.labels(threshold), cluster_faces(x, threshold))


def test_threshold_is_monotone(tree):
    # A higher threshold only merges: every cluster at t is inside one cluster at t' > t.
    previous = tree.labels(0.0)
    assert np.unique(previous).size == tree.n_faces
    for threshold in np.arange(0.3, 1.01, 0.05):
        labels = tree.labels(threshold)
        pairs = np.unique(np.stack([previous, labels], axis=1), axis=0)
        assert np.unique(pairs[:, 0]).size == pairs.shape[0]  # each old cluster maps to one new one
        assert np.unique(labels).size <= np.unique(previous).size
        previous = labels


def test_labels_for_n_and_cluster_to_n(library, tree):
    x, _ = library
    for n in (1000, 300, 50):
        labels = tree.labels_for_n(n)
        assert np.unique(labels).size == max(n, tree.n_base_clusters - tree.merges.shape[0])
        assert same_partition(labels, tree.labels(tree.threshold_for_n(n)))
    assert same_partition(cluster_to_n(x, 300), tree.labels_for_n(300))


def test_labels_numbered_biggest_first():
    labels = label_components(6, np.array([[0, 5], [3, 4], [4, 2]]))
    np.testing.assert_array_equal(labels, [1, 2, 0, 0, 0, 1])


def test_tiny_inputs():
    assert build_merge_tree(np.zeros((0, 128), np.float32)).labels(0.6).size == 0
    np.testing.assert_array_equal(cluster_faces(np.zeros((1, 128), np.float32)), [0])
    two = np.zeros((2, 128), np.float32)
    two[1, 0] = 0.3
    np.testing.assert_array_equal(cluster_faces(two, 0.5), [0, 0])
    np.testing.assert_array_equal(cluster_faces(two, 0.2), [0, 1])


def test_knn_graph_edges_are_unique_and_exact():
    x, _ = synthetic_embeddings(500, 50, seed=2)
    i, j, d = knn_graph(x, 5)
    assert np.all(i < j)
    assert np.unique(i * 500 + j).size == i.size
    np.testing.assert_allclose(d, np.linalg.norm(x[i] - x[j], axis=1), atol=1e-4)
    approx_i, approx_j, _ = knn_graph(x, 5, exact=False)
    exact_pairs = set(zip(i.tolist(), j.tolist()))
    found = len(exact_pairs & set(zip(approx_i.tolist(), approx_j.tolist())))
    assert found / len(exact_pairs) > 0.8


# ------------------------------------------------------------------------------------------------ constraints


def test_cannot_link_never_violated(library, tree):
    x, truth = library
    rng = np.random.default_rng(3)
    # Pairs of the same person (the clustering wants them together) that the user said are different.
    big = np.unique(truth, return_counts=True)
    people = big[0][big[1] >= 6]
    pairs = []
    for person in people[:40]:
        faces = np.flatnonzero(truth == person)
        a, b = rng.choice(faces, 2, replace=False)
        pairs.append((int(a), int(b)))
    free = tree.labels(DEFAULT_THRESHOLD)
    assert sum(free[a] == free[b] for a, b in pairs) > 30  # without the constraint most would merge
    t = build_merge_tree(x, cannot_link=pairs)
    for threshold in (DEFAULT_THRESHOLD, 0.8, 2.0):
        labels = t.labels(threshold)
        assert all(labels[a] != labels[b] for a, b in pairs)
    labels = t.labels_for_n(1)
    assert all(labels[a] != labels[b] for a, b in pairs)


def test_must_link_groups_are_together(library):
    x, truth = library
    rng = np.random.default_rng(4)
    # Faces of different people that the user joined.
    groups = [rng.choice(x.shape[0], 3, replace=False).tolist() for _ in range(20)]
    t = build_merge_tree(x, must_link=groups)
    for threshold in (0.0, DEFAULT_THRESHOLD):
        labels = t.labels(threshold)
        assert all(np.unique(labels[g]).size == 1 for g in groups)
    assert t.n_base_clusters < x.shape[0]


def test_fixed_keys_never_merge_and_label_their_cluster():
    x, truth = synthetic_person(40, seed=5)  # one person: everything merges without constraints
    assert np.unique(cluster_faces(x, 0.8)).size == 1
    fixed = {0: 101, 1: 101, 2: 202, 3: 303}
    for threshold in (DEFAULT_THRESHOLD, 0.8, 5.0):
        labels = cluster_faces(x, threshold, fixed=fixed)
        assert labels[0] == labels[1] == 101
        assert labels[2] == 202 and labels[3] == 303
        assert set(np.unique(labels)) >= {101, 202, 303}
        assert np.all((labels >= 304) | np.isin(labels, [101, 202, 303]))  # new people never reuse a key
    labels = cluster_to_n(x, 1, fixed=fixed)
    assert np.unique(labels).size == 3


def test_contradicting_constraints_raise():
    x, _ = synthetic_embeddings(50, 5, seed=6)
    with pytest.raises(InvalidEditError):
        build_merge_tree(x, must_link=[[0, 1, 2]], cannot_link=[(0, 2)])
    with pytest.raises(InvalidEditError):
        build_merge_tree(x, must_link=[[0, 1]], fixed={0: 1, 1: 2})
    with pytest.raises(InvalidEditError):
        build_merge_tree(x, cannot_link=[(3, 3)])
    with pytest.raises(IndexError):
        build_merge_tree(x, cannot_link=[(0, 50)])


def test_seed_mask_faces_join_but_do_not_start_people():
    x, truth = synthetic_person(30, seed=7, n_people=2)  # persons 0 (faces 0–14) and 1 (15–29)
    seed = np.ones(30, bool)
    seed[15:] = False  # person 1 has no face good enough to start a person
    labels = cluster_faces(x, 0.6, seed_mask=seed)
    assert np.unique(labels[:15]).size == 1
    assert np.unique(labels[15:]).size == 15  # they stay apart (they are far from person 0)
    seed[20] = True  # one good face: the person forms around it
    labels = cluster_faces(x, 0.6, seed_mask=seed)
    assert np.unique(labels[15:]).size == 1 and labels[15] != labels[0]


def test_random_constraints_invariants():
    x, truth = synthetic_embeddings(600, 40, seed=8)
    rng = np.random.default_rng(8)
    for trial in range(5):
        cannot = [tuple(map(int, rng.choice(600, 2, replace=False))) for _ in range(30)]
        faces = rng.permutation(600)
        fixed = {int(f): int(rng.integers(0, 4)) for f in faces[:12]}
        try:
            t = build_merge_tree(x, cannot_link=cannot, fixed=fixed)
        except InvalidEditError:
            continue  # a random cannot-link between two faces of one key
        for threshold in (0.5, 0.7, 3.0):
            labels = t.labels(threshold)
            assert same_partition(labels, cluster_faces(x, threshold, cannot_link=cannot, fixed=fixed))
            assert all(labels[a] != labels[b] for a, b in cannot)
            for (fa, ka), (fb, kb) in itertools.combinations(fixed.items(), 2):
                assert (labels[fa] == labels[fb]) == (ka == kb)
                assert labels[fa] == ka


# ---------------------------------------------------------------------------------------- review and import


def test_propose_split_separates_two_planted_people():
    x, truth = synthetic_person(60, seed=9, n_people=2)
    a, b = propose_split(x)
    assert sorted(np.concatenate([a, b]).tolist()) == list(range(60))
    assert same_partition(truth, np.isin(np.arange(60), a))


def test_propose_split_ignores_a_stray_face():
    x, truth = synthetic_person(51, seed=10, n_people=3)  # 17 + 17 + 17: keep two people and one stray
    keep = np.concatenate([np.flatnonzero(truth == 0), np.flatnonzero(truth == 1)[:8], np.flatnonzero(truth == 2)[:1]])
    a, b = propose_split(x[keep])
    parts = np.isin(np.arange(keep.size), a)
    core = truth[keep] != 2
    assert same_partition(truth[keep][core], parts[core])
    assert a.size >= b.size


def test_propose_split_large_person_subsamples():
    x, truth = synthetic_person(4000, seed=11, n_people=2)
    a, b = propose_split(x)
    assert pairwise_scores(truth, np.isin(np.arange(4000), a))[2] > 0.99


def test_outliers_flag_planted_intruders():
    x, truth = synthetic_person(400, seed=14, n_people=10)  # 40 faces each
    own = x[truth == 0]
    mix = np.concatenate([own, x[truth == 3][:1], x[truth == 6][:1], x[truth == 9][:1]])
    flags = outliers(mix)
    assert flags[40:].all()
    assert not flags[:40].any()
    assert not outliers(own).any()
    assert not outliers(mix[:2]).any()
    small = np.concatenate([own[:5], x[truth == 3][:1]])  # one intruder among five faces
    np.testing.assert_array_equal(outliers(small), [False] * 5 + [True])


def test_assign_incremental():
    x, truth = synthetic_embeddings(3000, 200, seed=15, stranger_fraction=0.1)
    new, old = np.arange(300), np.arange(300, 3000)
    labels = assign_incremental(x[new], x[old], truth[old])
    expected = np.where(np.isin(truth[new], truth[old]), truth[new], -1)
    assert np.mean(labels == expected) > 0.95
    assert np.sum((labels >= 0) & (labels != expected)) <= 3  # almost never the wrong person
    member_labels = truth[old].copy()
    member_labels[:] = -1  # nobody is a person yet
    assert (assign_incremental(x[new], x[old], member_labels) == -1).all()
    assert assign_incremental(x[:0], x[old], truth[old]).size == 0


def test_eval_people_bench_on_synthetic_embeddings(tmp_path):
    # The real-photo quality check is bench/eval_people.py; here it runs on a synthetic file of that format.
    x, truth = synthetic_embeddings(600, 60, seed=16)
    np.savez(tmp_path / "faces.npz", embeddings=x, labels=np.array([f"p{t}" for t in truth]))
    bench = Path(__file__).resolve().parents[2] / "bench" / "eval_people.py"
    out = subprocess.run([sys.executable, str(bench), str(tmp_path / "faces.npz")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "PASS" in out.stdout and "BCubed F1" in out.stdout
