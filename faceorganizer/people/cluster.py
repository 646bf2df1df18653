"""Group faces into people: average-linkage agglomerative clustering over a sparse nearest-neighbour graph.

How it works
------------
Every face starts as its own cluster. Candidate merges are the pairs of clusters joined by at least one
edge of the k-nearest-neighbour graph (``knn.knn_graph``), so the work grows with ``n·k`` instead of ``n²``.
Clusters that are each other's nearest neighbour merge, round after round (``_agglomerate``). The merges and
their heights form a dendrogram (``MergeTree``): the people at any threshold are the merges at or below it,
so moving the threshold slider is a cut of the cached tree (milliseconds), not a new clustering.

Linkage: what "distance between two groups of faces" means
-----------------------------------------------------------
The root-mean-square Euclidean distance over *all* pairs of faces of the two clusters, exact, computed in
O(d) from each cluster's mean and spread::

    rms(A, B)² = |μ_A − μ_B|² + s_A + s_B,   s_X = mean |x − μ_X|² over the faces of X

(this is average linkage on squared distances, scipy's ``average`` on ``sqeuclidean`` then a square root).
For two single faces it is their Euclidean distance, so the threshold is in the unit of dlib's own rule
(same person below 0.6). Unlike single linkage, one look-alike pair cannot chain two people together: the
groups as a whole must be close. Measured on real and synthetic faces (``bench/eval_people.py``), single
linkage and the mean over kNN edges only both chain people together from 0.55–0.6 up, this one does not.

Constraints from the user's edits
---------------------------------
- ``must_link``: groups of faces that are one person, joined before anything else;
- ``cannot_link``: pairs of faces that never end in one cluster (checked at every merge);
- ``fixed``: faces the user confirmed, face index → person key. Faces with one key are one person, clusters
  holding two different keys never merge, and a cluster holding a key is labelled with it;
- ``seed_mask``: faces good enough to start a person (sharp, large, confident; fixed faces always are). A
  cluster made only of other faces can join a person, but two such clusters never merge with each other.

A merge blocked by a constraint does not happen, and each clustering is still one cut of one merge
sequence; new constraints need a new tree (seconds at 1e5 faces).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from faceorganizer.errors import InvalidEditError
from faceorganizer.people.knn import as_float32, knn_graph, knn_search

__all__ = [
    "DEFAULT_K",
    "DEFAULT_SIZE_PENALTY",
    "DEFAULT_THRESHOLD",
    "MergeTree",
    "assign_incremental",
    "build_merge_tree",
    "cluster_faces",
    "cluster_to_n",
    "label_components",
]

DEFAULT_THRESHOLD = 0.55
"""Default linkage distance (Euclidean, in dlib's descriptor units) under which two groups are one person.

The library's embedding is dlib's fused with SFace (``pipeline.fusion``, flip fusion on), whose distances keep
dlib's scale. With ``DEFAULT_SIZE_PENALTY`` (as the library groups), measured on ``../shared/lfw_dev``
(``bench/bench_lfw.py``, curve in the README): the shared photos are grouped perfectly from 0.53 to 0.60 and
lfw_dev merges no two people below 0.57; 0.55 sits in the middle of both ranges. dlib alone needed 0.53–0.55
and grouped lfw_dev at BCubed F1 0.938–0.948 with two merges.
"""

DEFAULT_SIZE_PENALTY = 0.04
"""Small groups need closer evidence: the library adds ``0.04 / √(n_A·n_B)`` to the linkage of two groups.

The RMS over all face pairs of two groups estimates how far apart two people are; from one pair of faces
that estimate is noisy, from many pairs it is not. Without the term two look-alike strangers seen once each
(one pair of faces) merge as easily as two big groups whose hundreds of pairs agree — on lfw_dev most impure
people were such pairs. With it two single faces pair up at ≤ 0.51, a face joins a group of 4 at ≤ 0.53,
and big groups merge at the plain threshold. lfw_dev BCubed F1 (threshold 0.55 / best): 0 → 0.912 / 0.935,
0.02 → 0.929, 0.04 → 0.938 / 0.941, 0.06 → 0.943, 0.08 → 0.943, 0.1 → 0.936 / 0.943. From 0.05 up one
person of the shared photos splits at 0.55, so 0.04.
"""

DEFAULT_K = 20
"""Neighbours per face in the candidate graph; 10–30 give the same people on real faces."""


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
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Validated constraints: must-link edges (face pairs), cannot-link pairs, fixed faces and their keys."""

    def checked(a: NDArray[np.int64]) -> NDArray[np.int64]:
        if a.size and (a.min() < 0 or a.max() >= n):
            raise IndexError(f"face index {int(a.min() if a.min() < 0 else a.max())} out of range for {n} faces")
        return a

    links = [(int(g[0]), int(f)) for g in (list(g) for g in must_link) if len(g) > 1 for f in g[1:]]
    fixed = dict(fixed or {})
    fixed_faces = checked(np.array(sorted(int(f) for f in fixed), dtype=np.int64))
    fixed_keys = np.array([int(fixed[int(f)]) for f in fixed_faces], dtype=np.int64)
    # Faces confirmed as one person are one person.
    order = np.argsort(fixed_keys, kind="stable")
    same_key = fixed_keys[order][1:] == fixed_keys[order][:-1]
    links += list(zip(fixed_faces[order][:-1][same_key].tolist(), fixed_faces[order][1:][same_key].tolist()))
    must = checked(np.array(links, dtype=np.int64).reshape(-1, 2))
    cannot = checked(np.array([(int(a), int(b)) for a, b in cannot_link], dtype=np.int64).reshape(-1, 2))
    itself = cannot[cannot[:, 0] == cannot[:, 1]]
    if itself.size:
        raise InvalidEditError(f"face {int(itself[0, 0])} cannot be kept apart from itself")
    return must, cannot, fixed_faces, fixed_keys


@dataclass
class _Clusters:
    """Per-cluster state, indexed by cluster id = the index of one face of the cluster."""

    mean: NDArray[np.float64]
    spread: NDArray[np.float64]  # mean squared distance of the faces to the cluster mean
    mean32: NDArray[np.float32] = field(init=False, repr=False)  # for the many distance evaluations

    def __post_init__(self) -> None:
        self.mean32 = self.mean.astype(np.float32)
    size: NDArray[np.int64]
    key: NDArray[np.int64]  # code of the fixed person key held, −1 for none
    seed: NDArray[np.bool_]
    formed_at: NDArray[np.float64]  # height of the merge that made the cluster (0 for a base cluster)
    size_penalty: float = 0.0  # added as size_penalty / √(n_u·n_v): see DEFAULT_SIZE_PENALTY

    def rms(self, u: NDArray[np.int64], v: NDArray[np.int64]) -> NDArray[np.float64]:
        """Exact RMS distance over all face pairs of clusters ``u[t]`` and ``v[t]`` (chunked: bounded memory).

        The mean difference is taken in float32 (a few 1e-8 of error, far below any threshold step): the
        gathers of cluster means are the bulk of the clustering time, and half the bytes are half the time.
        """
        out = np.empty(u.size, np.float64)
        step = 1 << 15
        for s in range(0, u.size, step):
            a, b = u[s : s + step], v[s : s + step]
            diff = self.mean32[a] - self.mean32[b]
            out[s : s + step] = np.einsum("ij,ij->i", diff, diff) + self.spread[a] + self.spread[b]
        out = np.sqrt(np.maximum(out, 0.0))
        if self.size_penalty:
            out += self.size_penalty / np.sqrt(self.size[u].astype(np.float64) * self.size[v])
        return out

    def merge(self, u: NDArray[np.int64], v: NDArray[np.int64], height: NDArray[np.float64]) -> None:
        """Fold clusters ``v`` into ``u`` (disjoint pairs)."""
        nu, nv = self.size[u].astype(np.float64), self.size[v].astype(np.float64)
        n = (nu + nv)[:, None]
        mu, mv = self.mean[u], self.mean[v]
        new = (nu[:, None] * mu + nv[:, None] * mv) / n
        du, dv = mu - new, mv - new
        # The spread about the new mean: each part's own spread plus its offset from the new mean.
        su = self.spread[u] + np.einsum("ij,ij->i", du, du)
        sv = self.spread[v] + np.einsum("ij,ij->i", dv, dv)
        self.spread[u] = (nu * su + nv * sv) / n[:, 0]
        self.mean[u] = new
        self.mean32[u] = new
        self.size[u] += self.size[v]
        self.key[u] = np.where(self.key[u] >= 0, self.key[u], self.key[v])
        self.seed[u] |= self.seed[v]
        self.formed_at[u] = height


def _group_stats(
    x: NDArray[np.float32], must: NDArray[np.int64], key_code: NDArray[np.int64], seed: NDArray[np.bool_],
    size_penalty: float = 0.0,
) -> tuple[_Clusters, NDArray[np.int64], NDArray[np.int64]]:
    """Base clusters after the must-link joins: their state, each face's cluster id, the forced edges."""
    n = x.shape[0]
    owner = np.arange(n, dtype=np.int64)
    forced = np.empty((0, 2), np.int64)
    if must.size:
        graph = coo_matrix((np.ones(must.shape[0], np.int8), (must[:, 0], must[:, 1])), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        first = np.full(comp.max() + 1, n, np.int64)
        np.minimum.at(first, comp, np.arange(n))
        owner = first[comp]
        joined = np.flatnonzero(owner != np.arange(n))
        forced = np.stack([owner[joined], joined], axis=1)
    x64 = x.astype(np.float64)
    state = _Clusters(
        mean=x64.copy(),
        spread=np.zeros(n),
        size=np.ones(n, np.int64),
        key=key_code.copy(),
        seed=seed.copy(),
        formed_at=np.zeros(n),
        size_penalty=float(size_penalty),
    )
    if forced.size:
        ids = np.unique(owner[forced[:, 1]])
        members = np.flatnonzero(np.isin(owner, ids))
        size = np.bincount(owner[members], minlength=n)
        total = np.zeros((n, x.shape[1]))
        np.add.at(total, owner[members], x64[members])
        sq = np.zeros(n)
        np.add.at(sq, owner[members], np.einsum("ij,ij->i", x64[members], x64[members]))
        mean = total[ids] / size[ids, None]
        state.mean[ids] = mean
        state.mean32[ids] = mean
        state.spread[ids] = np.maximum(sq[ids] / size[ids] - np.einsum("ij,ij->i", mean, mean), 0.0)
        state.size[ids] = size[ids]
        held = members[key_code[members] >= 0]
        for c, codes in _values_by_owner(owner[held], key_code[held]):
            if codes.size > 1:
                raise InvalidEditError(f"faces joined with face {c} as one person are confirmed as different people")
            state.key[c] = codes[0]
        state.seed[ids] = np.bincount(owner[members], weights=seed[members], minlength=n)[ids] > 0
    return state, owner, forced


def _values_by_owner(owner: NDArray[np.int64], values: NDArray[np.int64]) -> list[tuple[int, NDArray[np.int64]]]:
    """Distinct ``values`` per distinct ``owner``."""
    if owner.size == 0:
        return []
    pairs = np.unique(np.stack([owner, values], axis=1), axis=0)
    cut = np.flatnonzero(np.diff(pairs[:, 0])) + 1
    return [(int(g[0, 0]), g[:, 1]) for g in np.split(pairs, cut)]


def _member(keys: NDArray[np.int64], sorted_set: NDArray[np.int64]) -> NDArray[np.bool_]:
    """``np.isin(keys, sorted_set)`` for a sorted unique set, in O(len(keys) · log len(set))."""
    if sorted_set.size == 0:
        return np.zeros(keys.size, bool)
    at = np.minimum(np.searchsorted(sorted_set, keys), sorted_set.size - 1)
    return sorted_set[at] == keys


def _agglomerate(
    state: _Clusters,
    eu: NDArray[np.int64],
    ev: NDArray[np.int64],
    fu: NDArray[np.int64],
    fv: NDArray[np.int64],
    max_distance: float,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Merge reciprocal nearest neighbours round by round; returns merges (u, v) and heights, in order.

    Each round every cluster finds its nearest allowed neighbour over the graph edges (``eu``, ``ev``,
    cluster ids); pairs that are each other's nearest are merged, all at once. For a reducible linkage such
    as this one (a merged cluster is never closer to a third than the nearer of its parts) this gives the
    same tree as merging one closest pair at a time, in a few dozen vectorised rounds instead of n Python
    steps. ``fu``/``fv`` are the cannot-link pairs of clusters.
    """
    n = state.size.size
    owner = np.arange(n, dtype=np.int64)
    # Cannot-link sets per cluster (Python sets: checked for a few chosen pairs per round, and moved to the
    # cluster with the bigger set on a merge, so a face's constraints move O(log n) times).
    forbid: dict[int, set[int]] = {}
    for a, b in zip(fu.tolist(), fv.tolist()):
        forbid.setdefault(a, set()).add(b)
        forbid.setdefault(b, set()).add(a)
    n_forbid = np.zeros(n, np.int64)
    for a, f in forbid.items():
        n_forbid[a] = len(f)
    use_keys = bool((state.key >= 0).any())
    use_seed = not bool(state.seed.all())
    keep = eu != ev
    eu, ev = eu[keep], ev[keep]
    dist = state.rms(eu, ev)
    merges_u: list[NDArray[np.int64]] = []
    merges_v: list[NDArray[np.int64]] = []
    heights: list[NDArray[np.float64]] = []
    live = n
    last_dedup = n
    while eu.size:
        if use_keys:  # edges between two different confirmed people can never be used again
            ku, kv = state.key[eu], state.key[ev]
            alive = (ku < 0) | (kv < 0) | (ku == kv)
            if not alive.all():
                eu, ev, dist = eu[alive], ev[alive], dist[alive]
        usable = dist <= max_distance
        if use_seed:
            usable &= state.seed[eu] | state.seed[ev]
        src = np.concatenate([eu[usable], ev[usable]])
        if src.size == 0:
            break
        dst = np.concatenate([ev[usable], eu[usable]])
        val = np.concatenate([dist[usable], dist[usable]])
        best = np.full(n, np.inf)
        np.minimum.at(best, src, val)
        at_best = val == best[src]
        nearest = np.full(n, n, np.int64)
        np.minimum.at(nearest, src[at_best], dst[at_best])  # ties: the lowest cluster id
        u = np.flatnonzero(nearest < n)
        v = nearest[u]
        banned = np.empty(0, np.int64)
        if forbid:
            # A cluster whose nearest is kept apart from it waits a round: that edge leaves the graph (the
            # pair stays forbidden for good) and its next nearest is found next round.
            check = np.flatnonzero((n_forbid[u] > 0) & (n_forbid[v] > 0))
            banned = np.array(
                [t for t, a, b in zip(check.tolist(), u[check].tolist(), v[check].tolist()) if b in forbid[a]],
                dtype=np.int64,
            )
            if banned.size:
                nearest[u[banned]] = n
                touched = np.zeros(n, bool)
                touched[u[banned]] = True
                near = np.flatnonzero(touched[eu] | touched[ev])
                ban_key = np.unique(np.concatenate([u[banned] * n + v[banned], v[banned] * n + u[banned]]))
                alive = np.ones(eu.size, bool)
                alive[near[_member(eu[near] * n + ev[near], ban_key)]] = False
                eu, ev, dist = eu[alive], ev[alive], dist[alive]
        mutual = (nearest[v] == u) & (u < v)
        u, v = u[mutual], v[mutual]
        if u.size == 0:
            if banned.size:
                continue  # forbidden edges left the graph: the next round sees the rest
            # Only possible through exact float ties: the globally closest usable edge is a safe merge.
            t = int(np.argmin(val))
            a, b = int(src[t]), int(dst[t])
            if b in forbid.get(a, ()):
                pair = np.isin(eu, (a, b)) & np.isin(ev, (a, b))
                eu, ev, dist = eu[~pair], ev[~pair], dist[~pair]
                continue
            u, v = np.array([min(a, b)]), np.array([max(a, b)])
        # Clamp so that a merge is never below the merges that made its parts: a cut is then a prefix.
        height = np.maximum(best[u], np.maximum(state.formed_at[u], state.formed_at[v]))
        if forbid:
            swap = n_forbid[v] > n_forbid[u]  # keep the id with the bigger cannot-link set
            u, v = np.where(swap, v, u), np.where(swap, u, v)
            moving = np.flatnonzero(n_forbid[v] > 0)
            for a, b in zip(u[moving].tolist(), v[moving].tolist()):
                fb = forbid.pop(b)
                for c in fb:
                    fc = forbid[c]
                    fc.discard(b)
                    fc.add(a)
                fa = forbid.setdefault(a, set())
                fa |= fb
                n_forbid[a] = len(fa)
                n_forbid[b] = 0
        state.merge(u, v, height)
        merges_u.append(u)
        merges_v.append(v)
        heights.append(height)
        live -= u.size
        owner[v] = u
        eu, ev = owner[eu], owner[ev]
        keep = eu != ev
        eu, ev, dist = eu[keep], ev[keep], dist[keep]
        if live * 2 < last_dedup:  # parallel edges pile up as clusters grow; drop them now and then
            lo, hi = np.minimum(eu, ev), np.maximum(eu, ev)
            _, first = np.unique(lo * n + hi, return_index=True)
            eu, ev, dist = lo[first], hi[first], dist[first]
            last_dedup = live
        merged = np.zeros(n, bool)
        merged[u] = True
        changed = np.flatnonzero(merged[eu] | merged[ev])
        dist[changed] = state.rms(eu[changed], ev[changed])
    if not heights:
        return np.empty((0, 2), np.int64), np.empty(0, np.float64)
    mu, mv, h = np.concatenate(merges_u), np.concatenate(merges_v), np.concatenate(heights)
    # Rounds are not in height order; a stable sort by height keeps every part before its parent.
    order = np.argsort(h, kind="stable")
    return np.stack([mu[order], mv[order]], axis=1), h[order]


def build_merge_tree(
    embeddings: ArrayLike,
    *,
    k: int = DEFAULT_K,
    max_distance: float = math.inf,
    cannot_link: Iterable[tuple[int, int]] = (),
    must_link: Iterable[Sequence[int]] = (),
    fixed: Mapping[int, int] | None = None,
    seed_mask: ArrayLike | None = None,
    size_penalty: float = 0.0,
) -> MergeTree:
    """Cluster ``embeddings`` (faces × dimensions) into a cached merge tree; see the module docstring.

    ``max_distance`` stops merging above that linkage distance (cuts above it see no further merges); keep
    it at the top of the threshold slider's range, or ``inf`` for ``labels_for_n``. Raises
    ``InvalidEditError`` when the constraints contradict each other (a must-link group holding a
    cannot-link pair or two fixed keys). ``size_penalty`` adds ``size_penalty / √(n_A·n_B)`` to the linkage
    of two groups of ``n_A`` and ``n_B`` faces (``DEFAULT_SIZE_PENALTY``; 0 gives plain average linkage).
    """
    x = as_float32(np.asarray(embeddings))
    n = x.shape[0]
    must, cannot, fixed_faces, fixed_keys = _normalise_constraints(n, cannot_link, must_link, fixed)
    key_code = np.full(n, -1, np.int64)
    if fixed_faces.size:
        key_code[fixed_faces] = np.unique(fixed_keys, return_inverse=True)[1]
    if seed_mask is None:
        seed = np.ones(n, bool)
    else:
        seed = np.asarray(seed_mask, dtype=bool).ravel().copy()
        if seed.shape[0] != n:
            raise ValueError(f"seed_mask has {seed.shape[0]} entries for {n} faces")
        seed[fixed_faces] = True  # a face the user confirmed anchors its person whatever its quality
    state, owner, forced = _group_stats(x, must, key_code, seed, size_penalty)
    fu, fv = owner[cannot[:, 0]], owner[cannot[:, 1]]
    if (fu == fv).any():
        a, b = cannot[fu == fv][0]
        raise InvalidEditError(f"faces {a} and {b} are both kept apart and joined as one person")
    if n > 1:
        i, j, _ = knn_graph(x, k)
        merges, heights = _agglomerate(state, owner[i], owner[j], fu, fv, float(max_distance))
    else:
        merges, heights = np.empty((0, 2), np.int64), np.empty(0, np.float64)
    return MergeTree(
        n_faces=n,
        merges=merges,
        heights=heights,
        forced=forced,
        fixed_faces=fixed_faces,
        fixed_keys=fixed_keys,
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
    size_penalty: float = 0.0,
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
        size_penalty=size_penalty,
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
    size_penalty: float = 0.0,
) -> NDArray[np.int64]:
    """People of ``embeddings`` when the user says "about ``n_clusters`` people" (see ``labels_for_n``)."""
    tree = build_merge_tree(
        embeddings,
        k=k,
        cannot_link=cannot_link,
        must_link=must_link,
        fixed=fixed,
        seed_mask=seed_mask,
        size_penalty=size_penalty,
    )
    return tree.labels_for_n(n_clusters)


def assign_incremental(
    new_embeddings: ArrayLike,
    member_embeddings: ArrayLike,
    member_labels: ArrayLike,
    threshold: float = DEFAULT_THRESHOLD,
    k: int = 10,
    size_penalty: float = 0.0,
) -> NDArray[np.int64]:
    """Person label for each new face (−1: nobody), given the faces already in people.

    The ``k`` nearest member faces nominate their people; the new face joins the nominee at the smallest
    average-linkage distance (RMS over all of that person's faces, as in ``cluster_faces``) if it is at most
    ``threshold``. So an import adds a face exactly where a re-clustering would merge it, and one look-alike
    face in a big person is not enough. Members labelled < 0 are ignored. Faces left at −1 are for
    ``cluster_faces`` to group among themselves.
    """
    new = as_float32(np.asarray(new_embeddings))
    members = as_float32(np.asarray(member_embeddings))
    labels = np.asarray(member_labels, dtype=np.int64).ravel()
    if labels.shape[0] != members.shape[0]:
        raise ValueError(f"{labels.shape[0]} member labels for {members.shape[0]} member faces")
    out = np.full(new.shape[0], -1, np.int64)
    keep = labels >= 0
    members, labels = members[keep], labels[keep]
    if new.shape[0] == 0 or members.shape[0] == 0:
        return out
    people, person = np.unique(labels, return_inverse=True)
    m64 = members.astype(np.float64)
    size = np.bincount(person).astype(np.float64)
    mean = np.zeros((people.size, m64.shape[1]))
    np.add.at(mean, person, m64)
    mean /= size[:, None]
    sq = np.bincount(person, weights=np.einsum("ij,ij->i", m64, m64))
    spread = np.maximum(sq / size - np.einsum("ij,ij->i", mean, mean), 0.0)

    idx, _ = knn_search(new, members, k)
    nominee = np.where(idx >= 0, person[np.maximum(idx, 0)], -1)
    rows = np.repeat(np.arange(new.shape[0]), nominee.shape[1])
    cand = nominee.ravel()
    ok = cand >= 0
    rows, cand = rows[ok], cand[ok]
    diff = new[rows].astype(np.float64) - mean[cand]
    rms = np.sqrt(np.maximum(np.einsum("ij,ij->i", diff, diff) + spread[cand], 0.0))
    rms += size_penalty / np.sqrt(size[cand])
    best = np.full(new.shape[0], np.inf)
    np.minimum.at(best, rows, rms)
    winner = (rms == best[rows]) & (rms <= threshold)
    out[rows[winner]] = people[cand[winner]]
    return out
