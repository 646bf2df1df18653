"""The accelerator import path (pipeline/batched.py) on CPU: the same faces as the per-photo path.

Detection batched across photos must find what ``FaceDetector.detect`` finds photo by photo; the GPU code path
(PyTorch) run on CPU torch must match the normal (onnxruntime) path within tolerance; an import through the
batched engine must store what a local import stores.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceorganizer.library import Library
from faceorganizer.models.mtcnn import FaceDetector
from faceorganizer.pipeline.analyzer import DETECT_SIDE, FaceAnalyzer
from faceorganizer.pipeline.batched import BatchedAnalyzer, BatchedDetector
from faceorganizer.pipeline.decode import load_image
from faceorganizer.scan.batched_engine import BatchedEngine

SUBSET = ("groups", "identities/biden", "identities/obama")


def _photos(shared: Path, n_groups: int = 5) -> list[Path]:
    groups = sorted((shared / "groups").glob("*.jpg"))[:n_groups]
    return groups + sorted((shared / "identities" / "obama").iterdir())[:3] + \
        sorted((shared / "identities" / "biden").iterdir())[:2]


def _same_size_copies(photos: list[Path], folder: Path, size: tuple[int, int] = (1600, 1200)) -> list[Path]:
    """Photos resized to one size, so their pyramid levels share P-Net calls (a camera's photos do)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, p in enumerate(photos):
        dest = folder / f"same_{i}.jpg"
        Image.open(p).convert("RGB").resize(size, Image.BICUBIC).save(dest, quality=92)
        out.append(dest)
    return out


def _max_diff(a: list, b: list) -> tuple[float, float]:
    """Largest box and landmark difference between two lists of detections of one image (same count)."""
    assert len(a) == len(b)
    if not a:
        return 0.0, 0.0
    boxes = np.abs(np.array([d.box for d in a]) - np.array([d.box for d in b])).max()
    marks = np.abs(np.stack([d.landmarks for d in a]) - np.stack([d.landmarks for d in b])).max()
    return float(boxes), float(marks)


def test_batched_detection_finds_what_per_photo_detection_finds(detector, shared_faces, tmp_path):
    photos = _photos(shared_faces) + _same_size_copies(_photos(shared_faces, 3)[:3], tmp_path)
    images = [load_image(p, draft_size=DETECT_SIDE).rgb for p in photos]
    want = [detector.detect(img) for img in images]
    got = BatchedDetector(detector).detect_many(images)
    assert sum(map(len, want)) >= 15  # real faces, several per group photo
    for w, g in zip(want, got):
        boxes, marks = _max_diff(w, g)
        assert boxes <= 1e-3 and marks <= 1e-3
        assert [round(d.score, 5) for d in w] == [round(d.score, 5) for d in g]


def test_gpu_code_on_cpu_torch_matches_the_normal_path(shared_faces, tmp_path):
    photos = _photos(shared_faces, 3) + _same_size_copies(_photos(shared_faces, 2)[:2], tmp_path)
    normal = FaceAnalyzer(threads=1)  # the per-photo path as import workers run it (onnxruntime on CPU)
    try:
        normal.detector.load()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(str(exc))
    gpu_code = FaceAnalyzer(threads=1, with_embedder=False)
    gpu_code.detector = FaceDetector(min_face_size=20, max_side=DETECT_SIDE, preference="torch", device="cpu",
                                     threads=1)
    assert gpu_code.detector.backend.backend == "torch"
    got = BatchedAnalyzer(gpu_code).analyze_decoded([(str(p), load_image(p, draft_size=DETECT_SIDE))
                                                     for p in photos])
    faces = 0
    for path, g in zip(photos, got):
        w = normal.analyze_file(path)
        assert (g.width, g.height, g.taken_at, g.orientation) == (w.width, w.height, w.taken_at, w.orientation)
        assert len(g.faces) == len(w.faces), path
        if not w.faces:
            continue
        faces += len(w.faces)
        # PyTorch and onnxruntime round differently (measured ≤ 2e-4 px, ≤ 2.2e-4 in the embeddings).
        assert np.abs(np.array([f.box for f in g.faces]) - np.array([f.box for f in w.faces])).max() <= 1e-3
        assert np.abs(normal.embed(g.faces) - normal.embed(w.faces)).max() <= 1e-3
    assert faces >= 10


def _stored(db_path: Path, roots: list[Path]) -> dict[str, tuple]:
    con = sqlite3.connect(db_path)
    out = {}
    for pid, path, status, error in con.execute("SELECT id, path, status, error FROM photos"):
        if not any(path.startswith(str(r) + "/") for r in roots):
            continue
        rows = con.execute("SELECT x, y, w, h, embedding FROM faces WHERE photo_id = ? ORDER BY x, y",
                           [pid]).fetchall()
        out[path] = (status, error, np.array([r[:4] for r in rows], np.float64).reshape(-1, 4),
                     np.stack([np.frombuffer(r[4], np.float32) for r in rows]) if rows else np.zeros((0, 128)))
    con.close()
    return out


def test_batched_engine_import_stores_what_a_local_import_stores(shared_faces, shared_library_dir, tmp_path):
    roots = [shared_faces / s for s in SUBSET]
    with Library.open(tmp_path / "batched") as lib:
        ticks = list(lib.import_job([str(r) for r in roots], engine=BatchedEngine(decoders=2, batch=4)).run())
    assert ticks[-1].stage == "done" and ticks[-1].photos_done == ticks[-1].photos_total
    got = _stored(tmp_path / "batched" / "library.db", roots)
    want = _stored(shared_library_dir / "library.db", roots)
    assert sorted(got) == sorted(want)
    for path, (status, error, boxes, vectors) in want.items():
        g = got[path]
        assert (g[0], g[1]) == (status, error)
        assert g[2].shape == boxes.shape, path
        if len(boxes):
            assert np.abs(g[2] - boxes).max() <= 1e-3
            assert np.abs(g[3] - vectors).max() <= 1e-5


def test_batched_engine_skips_broken_files_with_the_local_reason(shared_faces, tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    good = sorted((shared_faces / "identities" / "biden").iterdir())[:2]
    for p in good:
        (src / p.name).write_bytes(p.read_bytes())
    data = good[0].read_bytes()
    (src / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (src / "text.jpg").write_bytes(b"not an image\n" * 10)
    results = {}
    for name, engine in (("local", None), ("batched", BatchedEngine(decoders=2, batch=4))):
        with Library.open(tmp_path / name) as lib:
            last = list(lib.import_job([str(src)], engine=engine).run())[-1]
        results[name] = (last.photos_added, last.faces_found, sorted((s["path"], s["reason"])
                                                                      for s in last.skipped))
    assert results["batched"] == results["local"]
    assert results["local"][0] == 2 and len(results["local"][2]) == 2
