"""Search latency and recall at 1e4, 1e5 and 1e6 synthetic faces (docs/evaluation.md, "Speed").

For each size: one-query latency (median wall and CPU ms over the queries) and recall@10 against exact search,
for exact search (numpy BLAS, torch float32, torch float16 scan + float32 re-rank, faiss flat), the inverted
file at several ``nprobe`` (the tuned one is the smallest reaching recall@10 ≥ 0.98), IVF-PQ, and the 32-bit
code bins visiting a fraction of the occupied bins. Queries are faces held out of the index.

Targets: exact CPU ≤ 30 ms at 1e6; IVF ≤ 3 ms with recall@10 ≥ 0.98; bins recall ≥ 0.9 visiting ≤ 1 % of bins.

    .venv/bin/python bench/bench_search.py [--sizes 10000 100000 1000000] [--queries 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devkit.synthetic import synthetic_embeddings  # noqa: E402
from faceorganizer.search.codes import BinIndex, PCACodec  # noqa: E402
from faceorganizer.search.index import FaceIndex  # noqa: E402
from faceorganizer.store.queries import EMBEDDING_DIM  # noqa: E402

K = 10


def timed(fn, n_queries: int) -> tuple[float, float, np.ndarray]:
    """Median wall ms, median CPU ms and the ids of ``fn(i)`` for queries i = 0..n_queries-1, one at a time."""
    fn(0)  # warm-up (lazy norms, device copies)
    walls, cpus, out = [], [], []
    for i in range(n_queries):
        w, c = time.perf_counter(), time.process_time()
        out.append(fn(i))
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return float(np.median(walls) * 1e3), float(np.median(cpus) * 1e3), np.stack(out)


def recall(got: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([np.isin(t, g).mean() for g, t in zip(got, truth)]))


def row(size: int, method: str, setting: str, build_s: float, wall: float, cpu: float, rec: float) -> None:
    print(f"| {size:>9,} | {method:<14} | {setting:<22} | {build_s:7.1f} | {wall:8.2f} | {cpu:8.2f} | {rec:6.4f} |",
          flush=True)


def bench_size(n: int, n_queries: int, seed: int, dim: int = EMBEDDING_DIM) -> None:
    x, _ = synthetic_embeddings(n + n_queries, max(1, (n + n_queries) // 10), dim=dim, seed=seed)
    queries, x = x[:n_queries], x[n_queries:]
    ids = np.arange(n, dtype=np.int64)

    t = time.perf_counter()
    exact = FaceIndex(ids, x, kind="exact", exact_backend="blas")
    build = time.perf_counter() - t
    truth, _ = exact.search(queries, K)
    for backend in ("blas", "torch", "fp16", "faiss"):
        exact.exact_backend, exact._device_cache = backend, None
        m = min(n_queries, 15) if backend == "faiss" and n >= 10**6 else n_queries  # one thread: slow
        wall, cpu, got = timed(lambda i: exact.search(queries[i], K)[0][0], m)
        row(n, "exact", backend, build, wall, cpu, recall(got, truth[:m]))

    t = time.perf_counter()
    ivf = FaceIndex(ids, x, kind="ivf")
    build = time.perf_counter() - t
    nlist = ivf._faiss.nlist  # type: ignore[union-attr]
    tuned = None
    for nprobe in (16, 32, 64, 128):
        ivf.nprobe = nprobe
        wall, cpu, got = timed(lambda i: ivf.search(queries[i], K)[0][0], n_queries)
        r = recall(got, truth)
        row(n, "ivf-sq8", f"nlist {nlist} nprobe {nprobe}", build, wall, cpu, r)
        if tuned is None and r >= 0.98:
            tuned = (nprobe, wall, r)
    print(f"|           | ivf tuned      | nprobe {tuned[0] if tuned else '-'}: "
          f"{tuned[1] if tuned else float('nan'):.2f} ms, recall {tuned[2] if tuned else float('nan'):.4f} |",
          flush=True)

    t = time.perf_counter()
    pq = FaceIndex(ids, x, kind="ivfpq")
    build = time.perf_counter() - t
    for nprobe, refine in ((64, 16), (64, 32)):
        pq.nprobe, pq.refine = nprobe, refine
        wall, cpu, got = timed(lambda i: pq.search(queries[i], K)[0][0], n_queries)
        row(n, "ivf-pq32", f"nprobe {nprobe} refine {refine}", build, wall, cpu, recall(got, truth))

    t = time.perf_counter()
    codec = PCACodec.fit(x, seed=0)
    codes = codec.encode(x)
    bins = BinIndex(ids, codes, x)
    build = time.perf_counter() - t
    query_codes = codec.encode(queries)
    for fraction in (0.001, 0.003, 0.01, 0.03):
        wall, cpu, got = timed(
            lambda i: bins.search(queries[i], int(query_codes[i]), K, bin_fraction=fraction)[0],  # noqa: B023
            n_queries)
        row(n, "code bins", f"{fraction:.1%} of {bins.n_bins:,} bins", build, wall, cpu, recall(got, truth))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dim", type=int, default=EMBEDDING_DIM,
                        help=f"embedding width (default {EMBEDDING_DIM}: the stored fused embedding)")
    args = parser.parse_args()
    import faiss
    import torch

    start = time.perf_counter()
    print(f"load average at start: {os.getloadavg()}; cpus {os.cpu_count()}; faiss threads "
          f"{faiss.omp_get_max_threads()}; torch threads {torch.get_num_threads()}; cuda {torch.cuda.is_available()}")
    print(f"one query at a time, k={K}, {args.queries} held-out queries; recall@10 against exact search")
    print("| faces     | method         | setting                | build s | wall ms  | cpu ms   | recall |")
    print("|-----------|----------------|------------------------|---------|----------|----------|--------|")
    for n in args.sizes:
        bench_size(n, args.queries, args.seed, args.dim)
    print(f"load average at end: {os.getloadavg()}; total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
