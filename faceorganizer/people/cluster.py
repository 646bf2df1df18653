"""Group faces into people: agglomerative clustering over a sparse nearest-neighbour graph.

How it works
------------
Every face starts as its own cluster. Candidate merges are the pairs of clusters joined by at least one
edge of the k-nearest-neighbour graph (``knn.knn_graph``), so the work grows with ``n·k`` instead of ``n²``.
Merges happen in increasing order of linkage distance, with union-find bookkeeping and a heap whose stale
entries are skipped when popped. The sequence of merges and their heights is a dendrogram
(``MergeTree``): the people at any threshold are the merges at or below it, so moving the threshold slider
is a cut of the cached tree (milliseconds), not a new clustering.

Linkage (what "distance between two groups of faces" means)
-----------------------------------------------------------
``"average"`` (the default) is the root-mean-square Euclidean distance over *all* pairs of faces of the
two clusters, exact, computed in O(d) from each cluster's mean and spread::

    rms(A, B)² = |μ_A − μ_B|² + s_A + s_B,   s_X = mean |x − μ_X|² over the faces of X

For two single faces it is their Euclidean distance, so the threshold is in the same unit as dlib's own
rule (same person when the distance is below 0.6). Unlike single linkage, one look-alike pair cannot chain
two people together: the whole groups must be close. The k-NN graph only proposes candidate pairs; the
mean kNN-edge distance between them orders the heap and the exact value decides (a pair is pushed back
with its exact value when that is larger).

``"graph"`` uses the mean distance over the kNN edges between the clusters (average linkage on the sparse
graph) and ``"single"`` the smallest edge; they are kept for comparison (``bench/eval_people.py``).

Constraints from the user's edits
---------------------------------
- ``must_link``: groups of faces that are one person, merged before anything else;
- ``cannot_link``: pairs of faces that never end in one cluster (checked at every merge through a
  per-cluster set of forbidden clusters);
- ``fixed``: faces the user confirmed, face index → person key. Faces with one key are one person, clusters
  holding two different keys never merge, and a cluster holding a key is labelled with it;
- ``seed_mask``: faces good enough to start a person (e.g. sharp, frontal). A cluster made only of other
  faces can join a person but two such clusters never merge on their own.

A merge blocked by a constraint is skipped, not postponed, so each clustering is still one cut of one
merge sequence; changing constraints needs a new tree (seconds at 1e5 faces).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from faceorganizer.errors import InvalidEditError
from faceorganizer.people.knn import as_float32, knn_graph

__all__ = [
    "DEFAULT_K",
    "DEFAULT_THRESHOLD",
    "Linkage",
    "MergeTree",
    "build_merge_tree",
    "cluster_faces",
    "cluster_to_n",
]

Linkage = Literal["average", "graph", "single"]

DEFAULT_THRESHOLD = 0.55
"""Default linkage distance (Euclidean, dlib face-descriptor space) under which two groups are one person.

Chosen by measurement (``bench/eval_people.py``): with average linkage the pairwise and BCubed F1 on the
shared photos are at their plateau between about 0.5 and 0.65; 0.55 sits inside it, a little below dlib's
0.6 pair rule because a group's average is a steadier estimate than one pair.
"""

DEFAULT_K = 20
"""Neighbours per face in the candidate graph; 10–30 give the same people on real faces."""

_EPS = 1e-5  # float32 kNN distances vs float64 statistics


@dataclass(frozen=True, eq=False)
class MergeTree:
    """A cached merge sequence (dendrogram) of ``n_faces`` faces under fixed constraints.

    ``merges[t]`` joins the clusters holding faces ``merges[t, 0]`` and ``merges[t, 1]`` at linkage
    distance ``heights[t]``; heights never decrease. ``forced`` are the must-link joins applied before any
    merge. ``labels``/``labels_for_n`` cut the tree; rebuild it only when the faces or constraints change.
    """

    n_faces: int
    merges: NDArray[np.int64]
    heights: NDArray[np.float64]
    forced: NDArray[np.int64]
    fixed_faces: NDArray[np.int64] = field(repr=False)
    fixed_keys: NDArray[np.int64] = field(repr=False)
    linkage: Linkage = "average"
    k: int = DEFAULT_K

    @property
    def n_base_clusters(self) -> int:
        """Clusters after the forced (must-link) joins and before any merge."""
        return self.n_faces - int(self.forced.shape[0])

    def n_merges_at(self, threshold: float) -> int:
        """How many merges a cut at ``threshold`` applies (those with height ≤ threshold)."""
        return int(np.searchsorted(self.heights, threshold, side="right"))

    def labels(self, threshold: float) -> NDArray[np.int64]:
        """One label per face for the people at ``threshold`` (see ``label_components`` for numbering)."""
        return self._cut(self.n_merges_at(threshold))

    def labels_for_n(self, n_clusters: int) -> NDArray[np.int64]:
        """Labels with ``n_clusters`` people, or as close as the tree allows.

        Fewer people than the tree's last level cannot be made: faces with no chain of neighbours between
        them (or kept apart by constraints) stay apart.
        """
        if n_clusters < 1:
            raise ValueError(f"n_clusters must be at least 1, got {n_clusters}")
        wanted = self.n_base_clusters - int(n_clusters)
        return self._cut(min(max(wanted, 0), self.merges.shape[0]))

    def threshold_for_n(self, n_clusters: int) -> float:
        """The smallest threshold that gives at most ``n_clusters`` people (``inf`` if the tree cannot)."""
        wanted = self.n_base_clusters - int(n_clusters)
        if wanted <= 0:
            return 0.0
        if wanted > self.merges.shape[0]:
            return math.inf
        return float(self.heights[wanted - 1])

    def _cut(self, n_merges: int) -> NDArray[np.int64]:
        edges = np.concatenate([self.forced.reshape(-1, 2), self.merges[:n_merges]], axis=0)
        return label_components(self.n_faces, edges, self.fixed_faces, self.fixed_keys)


def label_components(
    n_faces: int,
    edges: NDArray[np.int64],
    fixed_faces: NDArray[np.int64] | None = None,
    fixed_keys: NDArray[np.int64] | None = None,
) -> NDArray[np.int64]:
    """Labels of the connected components of ``edges`` over ``n_faces`` faces.

    A component holding a fixed face takes that face's person key. The others are numbered from one past
    the largest key (from 0 without keys), biggest first, ties by lowest face index, so numbers are stable
    for a given partition.
    """
    if n_faces == 0:
        return np.empty(0, np.int64)
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(e.shape[0], np.int8), (e[:, 0], e[:, 1])), shape=(n_faces, n_faces))
    _, comp = connected_components(graph, directed=False)
    comp = comp.astype(np.int64)
    n_comp = int(comp.max()) + 1
    label_of = np.full(n_comp, -1, np.int64)
    has_key = np.zeros(n_comp, bool)
    start = 0
    if fixed_faces is not None and fixed_keys is not None and fixed_faces.size:
        label_of[comp[fixed_faces]] = fixed_keys
        has_key[comp[fixed_faces]] = True
        start = int(fixed_keys.max()) + 1
    sizes = np.bincount(comp, minlength=n_comp)
    first_face = np.full(n_comp, n_faces, np.int64)
    np.minimum.at(first_face, comp, np.arange(n_faces))
    free = np.flatnonzero(~has_key)
    free = free[np.lexsort((first_face[free], -sizes[free]))]
    label_of[free] = start + np.arange(free.size)
    return label_of[comp]


# ------------------------------------------------------------------------------------------------- building


def _normalise_constraints(
    n: int,
    cannot_link: Iterable[tuple[int, int]],
    must_link: Iterable[Sequence[int]],
    fixed: Mapping[int, int] | None,
) -> tuple[list[list[int]], list[tuple[int, int]], NDArray[np.int64], NDArray[np.int64]]:
    def check(i: int) -> int:
        i = int(i)
        if not 0 <= i < n:
            raise IndexError(f"face index {i} out of range for {n} faces")
        return i

    groups = [[check(i) for i in g] for g in must_link]
    pairs = [(check(a), check(b)) for a, b in cannot_link]
    for a, b in pairs:
        if a == b:
            raise InvalidEditError(f"face {a} cannot be kept apart from itself")
    fixed_faces = np.array(sorted(fixed or {}), dtype=np.int64)
    fixed_keys = np.array([int((fixed or {})[int(f)]) for f in fixed_faces], dtype=np.int64)
    for f in fixed_faces:
        check(int(f))
    # Faces confirmed as one person are one person.
    by_key: dict[int, list[int]] = {}
    for f, key in zip(fixed_faces.tolist(), fixed_keys.tolist()):
        by_key.setdefault(key, []).append(f)
    groups.extend(g for g in by_key.values() if len(g) > 1)
    return groups, pairs, fixed_faces, fixed_keys


class _Agglomerator:
    """The mutable state of one clustering run (union-find, cluster statistics, adjacency, heap)."""

    def __init__(
        self,
        x: NDArray[np.float32],
        linkage: Linkage,
        max_distance: float,
        key_code: list[int],
        seed: list[bool],
    ) -> None:
        n = x.shape[0]
        self.linkage = linkage
        self.max_distance = max_distance
        self.parent = list(range(n))
        self.size = [1] * n
        # Only average linkage needs the statistics (float64: the spread is a difference of squares).
        self.mean = x.astype(np.float64) if linkage == "average" else None
        self.spread = [0.0] * n
        self.adj: list[dict[int, tuple[float, int]]] = [{} for _ in range(n)]
        self.forbid: dict[int, set[int]] = {}
        self.key = key_code
        self.seed = seed
        self.heap: list[tuple[float, int, int, int, tuple[float, int] | None]] = []
        self.seq = 0
        self.level = -math.inf
        self.merges: list[tuple[int, int]] = []
        self.heights: list[float] = []

    # -- graph

    def add_edges(self, i: NDArray[np.int64], j: NDArray[np.int64], d: NDArray[np.float32]) -> None:
        adj = self.adj
        for a, b, w in zip(i.tolist(), j.tolist(), d.tolist()):
            e = (w, 1)
            adj[a][b] = e
            adj[b][a] = e

    def fill_heap(self) -> None:
        heap = []
        seq = 0
        maxd = self.max_distance
        for a, nbrs in enumerate(self.adj):
            if self.parent[a] != a:
                continue
            for b, e in nbrs.items():
                if a < b:
                    key = e[0] / e[1]
                    if key <= maxd:
                        heap.append((key, seq, a, b, e))
                        seq += 1
        heapq.heapify(heap)
        self.heap, self.seq = heap, seq

    # -- constraints

    def forbid_pair(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            raise InvalidEditError(f"faces {a} and {b} are both kept apart and joined as one person")
        self.forbid.setdefault(ra, set()).add(rb)
        self.forbid.setdefault(rb, set()).add(ra)

    def blocked(self, a: int, b: int) -> bool:
        ka, kb = self.key[a], self.key[b]
        if ka >= 0 and kb >= 0 and ka != kb:
            return True
        if not (self.seed[a] or self.seed[b]):
            return True
        f = self.forbid.get(a)
        return f is not None and b in f

    # -- union-find

    def find(self, a: int) -> int:
        parent = self.parent
        root = a
        while parent[root] != root:
            root = parent[root]
        while parent[a] != root:
            parent[a], a = root, parent[a]
        return root

    def rms(self, a: int, b: int) -> float:
        assert self.mean is not None
        diff = self.mean[a] - self.mean[b]
        return math.sqrt(max(float(diff @ diff) + self.spread[a] + self.spread[b], 0.0))

    def merge(self, a: int, b: int, push: bool) -> int:
        """Join roots ``a`` and ``b``; the one with fewer neighbours is folded into the other."""
        adj = self.adj
        if len(adj[a]) > len(adj[b]):
            a, b = b, a
        small, large = a, b
        self.parent[small] = large
        ns, nl = self.size[small], self.size[large]
        self.size[large] = ns + nl
        if self.mean is not None:
            ms, ml = self.mean[small], self.mean[large]
            new = (ns * ms + nl * ml) / (ns + nl)
            ds, dl = ms - new, ml - new
            self.spread[large] = (ns * (self.spread[small] + float(ds @ ds)) + nl * (self.spread[large] + float(dl @ dl))) / (
                ns + nl
            )
            self.mean[large] = new
        if self.key[large] < 0:
            self.key[large] = self.key[small]
        self.seed[large] = self.seed[large] or self.seed[small]
        fs = self.forbid.pop(small, None)
        if fs is not None:
            for c in fs:
                fc = self.forbid[c]
                fc.discard(small)
                fc.add(large)
            self.forbid.setdefault(large, set()).update(fs)

        single = self.linkage == "single"
        level, maxd, heap = self.level, self.max_distance, self.heap
        al = adj[large]
        al.pop(small, None)
        for c, es in adj[small].items():
            if c == large:
                continue
            ac = adj[c]
            del ac[small]
            old = al.get(c)
            if old is None:
                e = es
            elif single:
                if es[0] >= old[0]:
                    continue  # the pair's linkage is unchanged and already in the heap
                e = es
            else:
                e = (old[0] + es[0], old[1] + es[1])
            al[c] = e
            ac[large] = e
            if push:
                key = e[0] / e[1]
                if key <= maxd:
                    # Never below the current level: keeps heights monotone so a cut is a prefix.
                    heapq.heappush(heap, (key if key > level else level, self.seq, large, c, e))
                    self.seq += 1
        adj[small] = {}
        return large

    def run(self) -> None:
        heap, adj, parent = self.heap, self.adj, self.parent
        average = self.linkage == "average"
        maxd = self.max_distance
        pop, push = heapq.heappop, heapq.heappush
        while heap:
            key, _, a, b, e = pop(heap)
            if parent[a] != a or parent[b] != b:
                continue
            current = adj[a].get(b)
            if current is None or (e is not None and current is not e):
                continue  # a newer entry for this pair is in the heap
            if self.blocked(a, b):
                continue
            self.level = key
            if average:
                exact = self.rms(a, b)
                if exact > key + _EPS:
                    if exact <= maxd:
                        push(heap, (exact, self.seq, a, b, None))
                        self.seq += 1
                    continue
            self.merge(a, b, push=True)
            self.merges.append((a, b))
            self.heights.append(key)


def build_merge_tree(
    embeddings: ArrayLike,
    *,
    k: int = DEFAULT_K,
    max_distance: float = math.inf,
    cannot_link: Iterable[tuple[int, int]] = (),
    must_link: Iterable[Sequence[int]] = (),
    fixed: Mapping[int, int] | None = None,
    seed_mask: ArrayLike | None = None,
    linkage: Linkage = "average",
) -> MergeTree:
    """Cluster ``embeddings`` (faces × dimensions) into a cached merge tree; see the module docstring.

    ``max_distance`` stops merging above that linkage distance (cuts above it see no further merges); keep
    it at the top of the threshold slider's range, or ``inf`` for ``labels_for_n``. Raises
    ``InvalidEditError`` when the constraints contradict each other (a must-link group holding a
    cannot-link pair or two fixed keys).
    """
    if linkage not in ("average", "graph", "single"):
        raise ValueError(f"unknown linkage {linkage!r}")
    x = as_float32(np.asarray(embeddings))
    n = x.shape[0]
    groups, pairs, fixed_faces, fixed_keys = _normalise_constraints(n, cannot_link, must_link, fixed)
    key_code = [-1] * n
    if fixed_faces.size:
        _, codes = np.unique(fixed_keys, return_inverse=True)
        for f, c in zip(fixed_faces.tolist(), codes.tolist()):
            key_code[f] = int(c)
    if seed_mask is None:
        seed = [True] * n
    else:
        seed_arr = np.asarray(seed_mask, dtype=bool).ravel()
        if seed_arr.shape[0] != n:
            raise ValueError(f"seed_mask has {seed_arr.shape[0]} entries for {n} faces")
        seed = seed_arr.tolist()

    agg = _Agglomerator(x, linkage, float(max_distance), key_code, seed)
    if n > 1:
        agg.add_edges(*knn_graph(x, k))
    for a, b in pairs:
        agg.forbid_pair(a, b)
    forced: list[tuple[int, int]] = []
    for group in groups:
        for face in group[1:]:
            ra, rb = agg.find(group[0]), agg.find(face)
            if ra == rb:
                continue
            ka, kb = agg.key[ra], agg.key[rb]
            if ka >= 0 and kb >= 0 and ka != kb:
                raise InvalidEditError(f"faces {group[0]} and {face} are joined but confirmed as different people")
            if rb in agg.forbid.get(ra, ()):
                raise InvalidEditError(f"faces {group[0]} and {face} are joined but also kept apart")
            agg.merge(ra, rb, push=False)
            forced.append((group[0], face))
    agg.fill_heap()
    agg.run()
    return MergeTree(
        n_faces=n,
        merges=np.array(agg.merges, dtype=np.int64).reshape(-1, 2),
        heights=np.array(agg.heights, dtype=np.float64),
        forced=np.array(forced, dtype=np.int64).reshape(-1, 2),
        fixed_faces=fixed_faces,
        fixed_keys=fixed_keys,
        linkage=linkage,
        k=int(k),
    )


def cluster_faces(
    embeddings: ArrayLike,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    k: int = DEFAULT_K,
    cannot_link: Iterable[tuple[int, int]] = (),
    must_link: Iterable[Sequence[int]] = (),
    fixed: Mapping[int, int] | None = None,
    seed_mask: ArrayLike | None = None,
    linkage: Linkage = "average",
) -> NDArray[np.int64]:
    """People of ``embeddings`` at one threshold: one label per face (numbering: ``label_components``).

    Equal to ``build_merge_tree(...).labels(threshold)`` but faster, since it stops at the threshold. Keep
    the tree instead when the threshold may change.
    """
    tree = build_merge_tree(
        embeddings,
        k=k,
        max_distance=threshold,
        cannot_link=cannot_link,
        must_link=must_link,
        fixed=fixed,
        seed_mask=seed_mask,
        linkage=linkage,
    )
    return tree.labels(threshold)


def cluster_to_n(
    embeddings: ArrayLike,
    n_clusters: int,
    *,
    k: int = DEFAULT_K,
    cannot_link: Iterable[tuple[int, int]] = (),
    must_link: Iterable[Sequence[int]] = (),
    fixed: Mapping[int, int] | None = None,
    seed_mask: ArrayLike | None = None,
    linkage: Linkage = "average",
) -> NDArray[np.int64]:
    """People of ``embeddings`` when the user says "about ``n_clusters`` people" (see ``labels_for_n``)."""
    tree = build_merge_tree(
        embeddings,
        k=k,
        cannot_link=cannot_link,
        must_link=must_link,
        fixed=fixed,
        seed_mask=seed_mask,
        linkage=linkage,
    )
    return tree.labels_for_n(n_clusters)
