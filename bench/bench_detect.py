"""Time face detection per photo at ~2 MP and ~12 MP: our MTCNN (onnxruntime and PyTorch) against the
face_recognition baseline (dlib HOG, ``face_locations``), all in one run.

Usage: python bench/bench_detect.py [--photos 8] [--threads N] [--baseline-photos 3] [--faces DIR]

Samples are shared photos (../shared/faces) resized to ~2 MP and ~12 MP and saved as JPEG (quality 90) in a
temporary folder, so decoding is timed as the import meets it. Two timings per photo:
"decode+detect" is the import's path (``load_image`` with reduced-size JPEG decoding to ≥ 1280 px, then
``detect``), "detect" is ``detect`` on the full decoded image (our detector downscales to 1280 itself).
The baseline is ``face_recognition.load_image_file`` + ``face_locations`` as its README shows (HOG,
upsampling once). Wall and process CPU time are recorded with the load average: on a shared machine
other processes skew wall times by 2–10×, so compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from faceorganizer.models.mtcnn import FaceDetector  # noqa: E402
from faceorganizer.pipeline.decode import load_image  # noqa: E402


def make_samples(faces: Path, count: int, megapixels: float, out: Path) -> list[Path]:
    """``count`` shared photos (identities and groups, largest first) resized to ``megapixels``, as JPEG."""
    manifest = json.loads((faces / "manifest.json").read_text())
    entries = sorted((e for e in manifest if e["kind"] in ("identity", "group")),
                     key=lambda e: -e["width"] * e["height"])
    step = max(1, len(entries) // count)
    paths = []
    for i, entry in enumerate(entries[::step][:count]):
        image = Image.open(faces / entry["path"]).convert("RGB")
        f = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
        image = image.resize((round(image.width * f), round(image.height * f)), Image.BICUBIC)
        path = out / f"{megapixels:g}mp_{i:02d}.jpg"
        image.save(path, quality=90)
        paths.append(path)
    return paths


def timed(fn, items) -> tuple[float, float, int]:
    """(wall ms per item, CPU ms per item, faces found) over ``items``."""
    faces = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for item in items:
        faces += len(fn(item))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return 1000 * wall / len(items), 1000 * cpu / len(items), faces


def ratio(slow: tuple[float, float, int], fast: tuple[float, float, int]) -> str:
    return f"{slow[0] / fast[0]:.1f}× wall, {slow[1] / fast[1]:.1f}× CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    parser.add_argument("--baseline-photos", type=int, default=3, help="photos for the slow HOG baseline")
    parser.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "faces")
    args = parser.parse_args()

    detectors = {"onnx": FaceDetector(preference="onnx", device="cpu", threads=args.threads),
                 "torch": FaceDetector(preference="torch", device="cpu", threads=args.threads)}
    rows, results = [], {}
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for mp in (2, 12):
            paths = make_samples(args.faces, args.photos, mp, Path(tmp))
            decoded = [load_image(p).rgb for p in paths]
            some = paths[: args.baseline_photos]
            for name, det in detectors.items():
                det.detect(decoded[0])  # load + warm up

                def ours(p: Path, det: FaceDetector = det) -> list:
                    return det.detect(load_image(p, draft_size=det.max_side).rgb)

                full = timed(ours, paths)
                results[(mp, name)] = full
                results[(mp, name, "subset")] = timed(ours, some)  # the baseline's photos, for its ratio
                rows.append((f"{mp} MP", f"mtcnn {name}", "decode+detect", *full))
                rows.append((f"{mp} MP", f"mtcnn {name}", "detect", *timed(det.detect, decoded)))
            try:
                import face_recognition
            except ImportError:
                rows.append((f"{mp} MP", "face_recognition", "not installed", float("nan"), float("nan"), 0))
                continue
            base = timed(lambda p: face_recognition.face_locations(face_recognition.load_image_file(p)), some)
            results[(mp, "hog")] = base
            rows.append((f"{mp} MP", "face_recognition HOG", f"decode+detect ({len(some)} photos)", *base))
    load_end = os.getloadavg()

    print(f"cores={os.cpu_count()} threads={args.threads or 'all'} photos={args.photos} "
          f"(baseline {args.baseline_photos}) loadavg start={load_start[0]:.2f} end={load_end[0]:.2f}")
    print(f"{'size':6s} {'detector':22s} {'timed':30s} {'wall ms/photo':>14s} {'cpu ms/photo':>13s} {'faces':>6s}")
    for size, name, what, wall, cpu, faces in rows:
        print(f"{size:6s} {name:22s} {what:30s} {wall:14.1f} {cpu:13.1f} {faces:6d}")
    for mp in (2, 12):
        if (mp, "hog") in results:
            for name in detectors:
                print(f"{mp} MP: mtcnn {name} vs face_recognition HOG (same photos): "
                      f"{ratio(results[(mp, 'hog')], results[(mp, name, 'subset')])} faster")
        print(f"{mp} MP: onnxruntime vs PyTorch: {ratio(results[(mp, 'torch')], results[(mp, 'onnx')])} faster")


if __name__ == "__main__":
    main()
