"""Ray engine overhead: the same photos imported by the local process pool and by Ray actors on this machine.

Usage: .venv/bin/python bench/bench_ray.py [--photos 40] [--size 2] [--workers 2] [--repeats 2]

Both imports run in fresh libraries from one generated ~2 MP (or 12 MP) library (bench_import.make_library),
alternating local and Ray ``--repeats`` times; each wall time counts worker start-up and model loading (the
local pool spawns its processes, Ray starts its actors). The local Ray instance itself is started once,
before the runs, and timed apart (a cluster outlives imports). Prints the medians and the overhead ratio
Ray / local (target ≤ 1.3×).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_import import SIZES, cpu_seconds, make_library  # noqa: E402


def run(photos_dir: Path, lib_dir: Path, workers: int, engine: object | None) -> dict:
    from faceorganizer.library import Library

    with Library.open(lib_dir) as lib:
        lib.analyzer.load_embedders()  # the driver's models are loaded before either run
        t0, c0 = time.perf_counter(), cpu_seconds()
        progress = None
        for progress in lib.import_job([str(photos_dir)], workers=workers, engine=engine).run():
            pass
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    return {"wall": wall, "cpu": cpu, "photos": progress.photos_done, "faces": progress.faces_found,
            "rate": progress.rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--size", type=int, default=2, choices=sorted(SIZES))
    parser.add_argument("--workers", type=int, default=2, help="local processes and Ray actors")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    import ray

    from faceorganizer.scan.ray_engine import RayEngine

    load0 = os.getloadavg()
    t = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, object_store_memory=200 * 1024 * 1024,
             log_to_driver=False)
    ray_start = time.perf_counter() - t
    runs: dict[str, list[dict]] = {"local pool": [], "Ray actors": []}
    try:
        with tempfile.TemporaryDirectory(prefix="fo-bench-ray-") as tmp:
            photos = Path(tmp) / "photos"
            make_library(photos, args.photos, SIZES[args.size])
            for r in range(args.repeats):
                runs["local pool"].append(run(photos, Path(tmp) / f"local{r}", args.workers, None))
                runs["Ray actors"].append(run(photos, Path(tmp) / f"ray{r}", args.workers,
                                              RayEngine(actors=args.workers)))
    finally:
        ray.shutdown()
    load1 = os.getloadavg()
    print(f"\nRay engine vs local pool: {args.photos} photos of {args.size} MP, {args.workers} workers, "
          f"{args.repeats} runs each, medians ({os.cpu_count()} cores; load average before {load0[0]:.2f}, "
          f"after {load1[0]:.2f}); local Ray instance started once in {ray_start:.1f}s")
    print(f"{'engine':>12} {'photos':>7} {'faces':>6} {'wall s':>8} {'photos/s':>9} {'rate*':>9} "
          f"{'CPU s/photo':>12} {'vs local':>9}")
    local_wall = statistics.median(r["wall"] for r in runs["local pool"])
    for name, rs in runs.items():
        wall = statistics.median(r["wall"] for r in rs)
        rate = statistics.median(r["rate"] for r in rs)
        cpu = statistics.median(r["cpu"] / r["photos"] for r in rs)
        print(f"{name:>12} {rs[0]['photos']:>7} {rs[0]['faces']:>6} {wall:>8.1f} {rs[0]['photos'] / wall:>9.2f} "
              f"{rate:>9.2f} {cpu:>12.3f} {wall / local_wall:>8.2f}x")
    print("rate*: the progress rate, from the first photo sent to a worker: Ray's actors have loaded their models "
          "by then, the local pool's processes start after it.")
    print("CPU s/photo counts this process and its children: Ray's workers are not its children, so Ray's "
          "figure is the driver's share only.")


if __name__ == "__main__":
    main()
