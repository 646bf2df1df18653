"""Clustering time and peak memory at 1e4 and 1e5 synthetic faces, and the cost of a threshold change.

Usage: python bench/bench_cluster.py [--sizes 10000 100000] [--repeats 3] [--k 20]

Each run is a fresh subprocess (so its peak resident memory, ``ru_maxrss``, is its own) that builds
``devkit.synthetic`` faces (10 faces per person on average, Zipf-sized, 5 % strangers), then times:
the k-NN graph, the agglomeration (the whole merge tree, no distance cap, as ``cluster_to_n`` needs),
``cluster_faces`` at the default threshold (which stops at it), and a threshold change on the cached tree
(one cut). Rows marked "+photos" add what the library always passes: faces of one photo are never one person
(``synthetic_photos``: about two faces per photo, so about one cannot-link pair per face). Wall and process
CPU time, medians over the repeats; quality at the default threshold on the same faces. The machine is
shared: the load average is printed before and after.
Targets (2 cores): 1e5 faces ≤ 60 s and ≤ 4 GB; a threshold change at 1e4 ≤ 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # runnable from a checkout without `pip install -e`

from faceorganizer.store.queries import EMBEDDING_DIM  # noqa: E402

TARGET_SECONDS_1E5 = 60.0
TARGET_GB_1E5 = 4.0
TARGET_CUT_SECONDS = 3.0


def _timed(fn):  # type: ignore[no-untyped-def]
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def child(n: int, k: int, seed: int, photos: bool, dim: int) -> dict[str, float]:
    """One measurement in this process (run as a subprocess by ``main``)."""
    import numpy as np

    from devkit.evaluation import clustering_scores
    from devkit.synthetic import synthetic_embeddings, synthetic_photos
    from faceorganizer.people import cluster
    from faceorganizer.people.knn import knn_graph

    x, truth = synthetic_embeddings(n, n // 10, dim=dim, seed=seed)
    cannot: list[tuple[int, int]] = []
    if photos:
        photo = synthetic_photos(truth, seed)
        order = np.argsort(photo, kind="stable")
        starts = np.flatnonzero(np.diff(photo[order], prepend=-1))
        for group in np.split(order, starts[1:]):
            g = group.tolist()
            cannot += [(a, b) for i, a in enumerate(g) for b in g[i + 1 :]]
    edges, knn_wall, knn_cpu = _timed(lambda: knn_graph(x, k))
    # Time the agglomeration alone by handing it the graph just built.
    original = cluster.knn_graph
    cluster.knn_graph = lambda _x, _k: edges  # type: ignore[assignment]
    try:
        tree, tree_wall, tree_cpu = _timed(lambda: cluster.build_merge_tree(
            x, k=k, cannot_link=cannot, size_penalty=cluster.DEFAULT_SIZE_PENALTY))
    finally:
        cluster.knn_graph = original  # type: ignore[assignment]
    _, direct_wall, _ = _timed(
        lambda: cluster.cluster_faces(x, cluster.DEFAULT_THRESHOLD, k=k, cannot_link=cannot,
                                      size_penalty=cluster.DEFAULT_SIZE_PENALTY)
    )
    cuts = []
    for t in (0.5, 0.6, cluster.DEFAULT_THRESHOLD):
        labels, wall, _ = _timed(lambda t=t: tree.labels(t))
        cuts.append(wall)
    s = clustering_scores(truth, labels)
    return {
        "knn_wall": knn_wall,
        "knn_cpu": knn_cpu,
        "tree_wall": tree_wall,
        "tree_cpu": tree_cpu,
        "total_wall": knn_wall + tree_wall,
        "direct_wall": direct_wall,
        "cut_wall": statistics.median(cuts),
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "pairwise_f1": s.pairwise_f1,
        "bcubed_f1": s.bcubed_f1,
        "clusters": s.n_clusters,
        "identities": s.n_identities,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--photos", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dim", type=int, default=EMBEDDING_DIM,
                        help=f"embedding width (default {EMBEDDING_DIM}: the stored fused embedding)")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.k, args.seed, args.photos, args.dim)))
        return 0

    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {os.cpu_count()} CPUs")
    print(
        f"{'faces':>14} {'kNN s':>6} {'tree s':>7} {'total s':>7} {'CPU s':>6} {'at-threshold s':>14} "
        f"{'cut ms':>7} {'peak GB':>7} {'pair F1':>7} {'B3 F1':>6} {'clusters':>13}"
    )
    ok = True
    for n, photos in [(n, photos) for n in args.sizes for photos in (False, True)]:
        runs = []
        for r in range(args.repeats):
            command = [sys.executable, __file__, "--child", str(n), "--k", str(args.k), "--seed", str(args.seed + r),
                       "--dim", str(args.dim)]
            out = subprocess.run(command + ["--photos"] * photos, check=True, capture_output=True, text=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(
            f"{str(n) + (' +photos' if photos else ''):>14} {med['knn_wall']:6.1f} {med['tree_wall']:7.1f} "
            f"{med['total_wall']:7.1f} {med['knn_cpu'] + med['tree_cpu']:6.1f} {med['direct_wall']:14.1f} "
            f"{1000 * med['cut_wall']:7.1f} {med['peak_gb']:7.2f} {med['pairwise_f1']:7.3f} {med['bcubed_f1']:6.3f} "
            f"{int(med['clusters']):>6}/{int(med['identities']):<6}"
        )
        if n >= 100_000:
            ok &= med["total_wall"] <= TARGET_SECONDS_1E5 * n / 100_000 and med["peak_gb"] <= TARGET_GB_1E5
        ok &= med["cut_wall"] <= TARGET_CUT_SECONDS
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(
        f"targets (1e5 ≤ {TARGET_SECONDS_1E5:.0f} s and ≤ {TARGET_GB_1E5:.0f} GB, threshold change ≤ "
        f"{TARGET_CUT_SECONDS:.0f} s): {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
