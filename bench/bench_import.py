"""End-to-end import throughput on generated ~2 MP and ~12 MP JPEG libraries, beside the baseline.

Usage: .venv/bin/python bench/bench_import.py [--photos 200] [--baseline 12] [--sizes 2,12] [--workers N]

Each library is made from the shared photos (../shared/faces: identity and group photos), resized to the
target size with a random crop/flip so every file has its own content hash. Our import runs in a fresh
library; the `face_recognition` package (dlib HOG detector + the same ResNet, what a user would otherwise
pick) runs on the first ``--baseline`` photos of the same library in the same run. Prints one table with
photos/s, faces/s, the per-stage time split, CPU time and the machine's load.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("FACEORGANIZER_SHARED_FACES", ROOT.parent / "shared" / "faces"))
SIZES = {2: (1600, 1200), 12: (4000, 3000)}


def make_library(folder: Path, n: int, size: tuple[int, int], seed: int = 0) -> list[Path]:
    sources = sorted((SHARED / "identities").rglob("*.jpg")) + sorted((SHARED / "groups").glob("*.jpg"))
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        src = Image.open(sources[i % len(sources)]).convert("RGB")
        w, h = src.size
        target_ratio = size[0] / size[1]
        # A random crop of at least 85 % that has the target's aspect ratio, then resize.
        cw = min(w, int(h * target_ratio)) * rng.uniform(0.85, 1.0)
        ch = cw / target_ratio
        x0, y0 = rng.uniform(0, w - cw), rng.uniform(0, h - ch)
        img = src.crop((int(x0), int(y0), int(x0 + cw), int(y0 + ch))).resize(size, Image.BICUBIC)
        if rng.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        path = folder / f"photo_{i:04d}.jpg"
        img.save(path, "JPEG", quality=90)
        out.append(path)
    return out


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


def run_ours(photos_dir: Path, lib_dir: Path, workers: int | None) -> dict:
    from faceorganizer.library import Library

    with Library.open(lib_dir) as lib:
        lib.analyzer.load_embedders()  # model loading is not import throughput
        t0, c0 = time.perf_counter(), cpu_seconds()
        progress = None
        for progress in lib.import_job([str(photos_dir)], workers=workers).run():
            pass
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    return {"wall": wall, "cpu": cpu, "photos": progress.photos_done, "faces": progress.faces_found,
            "stages": progress.stage_seconds}


def run_baseline(photos: list[Path]) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    import face_recognition

    t0, c0 = time.perf_counter(), cpu_seconds()
    faces = 0
    for path in photos:
        image = face_recognition.load_image_file(str(path))
        boxes = face_recognition.face_locations(image)  # HOG, upsample 1 (its default)
        faces += len(face_recognition.face_encodings(image, boxes))
    return {"wall": time.perf_counter() - t0, "cpu": cpu_seconds() - c0, "photos": len(photos), "faces": faces}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--baseline", type=int, default=12, help="photos given to the baseline (it is slow)")
    parser.add_argument("--sizes", default="2,12")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    load0 = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="fo-bench-import-") as tmp:
        for mp in [int(s) for s in args.sizes.split(",")]:
            folder = Path(tmp) / f"{mp}mp"
            photos = make_library(folder, args.photos, SIZES[mp])
            ours = run_ours(folder, Path(tmp) / f"lib{mp}", args.workers)
            base = run_baseline(photos[: args.baseline]) if args.baseline else None
            rows.append((mp, ours, base))
    load1 = os.getloadavg()
    print(f"\nImport throughput ({os.cpu_count()} cores; load average before {load0[0]:.2f}, after {load1[0]:.2f})")
    print(f"{'size':>6} {'who':>16} {'photos':>7} {'faces':>6} {'wall s':>8} {'photos/s':>9} {'faces/s':>8} "
          f"{'CPU s/photo':>12} {'vs baseline':>12}")
    for mp, ours, base in rows:
        ours_rate = ours["photos"] / ours["wall"]
        base_rate = base["photos"] / base["wall"] if base else None
        for who, r in (("FaceOrganizer", ours), ("face_recognition", base)):
            if r is None:
                continue
            rate = r["photos"] / r["wall"]
            ratio = f"{ours_rate / base_rate:.1f}x" if (base_rate and who == "FaceOrganizer") else ""
            print(f"{mp:>4}MP {who:>16} {r['photos']:>7} {r['faces']:>6} {r['wall']:>8.1f} {rate:>9.2f} "
                  f"{r['faces'] / r['wall']:>8.2f} {r['cpu'] / r['photos']:>12.3f} {ratio:>12}")
        stages = ours["stages"]
        total = sum(stages.values()) or 1.0
        print(f"{'':>6} stages (this thread's time; workers run in parallel): " +
              ", ".join(f"{k} {v:.1f}s ({100 * v / total:.0f}%)" for k, v in stages.items()))


if __name__ == "__main__":
    main()
