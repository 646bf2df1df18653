"""The accelerator import path (pipeline/batched.py) against the per-photo process pool, at 2 MP and 12 MP.

Usage: .venv/bin/python bench/bench_gpu_import.py [--photos 48] [--sizes 2,12] [--device auto|cpu|cuda]
                                                  [--backend auto|torch|onnx] [--batch 8] [--decoders N]

Both imports run in fresh libraries from the same generated photos (bench_import.make_library). "batched": CPU
threads read and decode, one owner thread runs detection batched across photos (on the GPU with a CUDA
device), alignment and attributes; the job embeds and stores. "per-photo": the usual pool of worker processes.
Prints photos/s and the time split; on a machine without a GPU it says so and the numbers are CPU numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_import import SIZES, make_library  # noqa: E402


def run(photos_dir: Path, lib_dir: Path, engine: object | None, workers: int | None) -> dict:
    from faceorganizer.library import Library

    with Library.open(lib_dir) as lib:
        lib.analyzer.load_embedders()
        t0 = time.perf_counter()
        progress = None
        for progress in lib.import_job([str(photos_dir)], workers=workers, engine=engine).run():
            pass
        wall = time.perf_counter() - t0
    return {"wall": wall, "photos": progress.photos_done, "faces": progress.faces_found,
            "stages": dict(progress.stage_seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--sizes", default="2,12")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--decoders", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None, help="per-photo pool processes (default: cores)")
    args = parser.parse_args()
    from faceorganizer.models.runtime import torch_cuda_available
    from faceorganizer.scan.batched_engine import BatchedEngine

    gpu = torch_cuda_available()
    if gpu:
        import torch

        device_text = f"GPU: {torch.cuda.get_device_name(0)}"
    else:
        device_text = "no GPU available: CPU numbers only, no GPU figure"
    load0 = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="fo-bench-gpu-") as tmp:
        for mp in [int(s) for s in args.sizes.split(",")]:
            folder = Path(tmp) / f"{mp}mp"
            make_library(folder, args.photos, SIZES[mp])
            pools: list = []
            engine = BatchedEngine(decoders=args.decoders, batch=args.batch, device=args.device,
                                   backend=args.backend, on_start=pools.append)
            batched = run(folder, Path(tmp) / f"b{mp}", engine, None)
            batched["owner"] = dict(pools[0].batched.seconds)
            batched["backend"] = str(pools[0].batched.detector.detector.backend)
            local = run(folder, Path(tmp) / f"l{mp}", None, args.workers)
            rows.append((mp, local, batched))
    load1 = os.getloadavg()
    print(f"\nAccelerator import path ({device_text}; {os.cpu_count()} cores; load average before "
          f"{load0[0]:.2f}, after {load1[0]:.2f})")
    print(f"{'size':>6} {'path':>10} {'photos':>7} {'faces':>6} {'wall s':>8} {'photos/s':>9} {'vs per-photo':>13}")
    for mp, local, batched in rows:
        for name, r in (("per-photo", local), ("batched", batched)):
            ratio = f"{local['wall'] / r['wall']:.2f}x" if name == "batched" else ""
            print(f"{mp:>4}MP {name:>10} {r['photos']:>7} {r['faces']:>6} {r['wall']:>8.1f} "
                  f"{r['photos'] / r['wall']:>9.2f} {ratio:>13}")
        print(f"{'':>6} batched detector: {batched['backend']}")
        print(f"{'':>6} batched owner thread: " + ", ".join(f"{k} {v:.1f}s" for k, v in batched["owner"].items()))
        print(f"{'':>6} batched job thread: " + ", ".join(f"{k} {v:.1f}s" for k, v in batched["stages"].items()))


if __name__ == "__main__":
    main()
