"""SFace, the second embedding, read without OpenCV's recogniser: OpenCV's ``FaceRecognizerSF`` (the model's
own runtime, in opencv-python) is the reference for the converted network and for the ArcFace chip; the fused
vector keeps dlib's distance units."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceorganizer.models import sface
from faceorganizer.models.registry import model_path
from faceorganizer.pipeline import fusion
from faceorganizer.pipeline.analyzer import FaceAnalyzer
from faceorganizer.pipeline.decode import load_image
from faceorganizer.store.queries import EMBEDDING_DIM

PEOPLE = ["angelina_jolie", "biden", "obama", "deepface_p03", "kit_harington"]


@pytest.fixture(scope="module")
def analysed(shared_faces: Path) -> list[tuple[np.ndarray, object]]:
    """(upright RGB photo, its largest analysed face) for two photos of each of five people."""
    analyzer = FaceAnalyzer(flip=False)
    out = []
    for person in PEOPLE:
        for path in sorted((shared_faces / "identities" / person).iterdir())[:2]:
            faces = analyzer.analyze_file(path).faces
            assert faces, path
            out.append((load_image(path).rgb, max(faces, key=lambda f: f.box[2] * f.box[3])))
    return out


@pytest.fixture(scope="module")
def reference() -> cv2.FaceRecognizerSF:
    return cv2.FaceRecognizerSF.create(str(model_path("sface")), "")


def test_converted_network_matches_opencv_on_the_same_chips(analysed, reference):
    embedder = sface.SFaceEmbedder("onnx", "cpu", threads=1)
    chips = np.stack([f.chip_sface for _, f in analysed])
    ours = embedder.embed(chips)
    theirs = np.stack([reference.feature(np.ascontiguousarray(c[:, :, ::-1])).ravel() for c in chips])  # BGR in
    assert np.abs(ours - theirs).max() < 1e-4
    # Batches of one give the same rows; the flip sum is the chip's plus its mirror's.
    assert np.abs(embedder.embed(chips[:1]) - ours[:1]).max() < 1e-4
    mirrored = embedder.embed(np.ascontiguousarray(chips[:, :, ::-1]))
    assert np.abs(embedder.embed(chips, flip=True) - (ours + mirrored)).max() < 1e-3


def test_torch_module_matches_onnx(analysed):
    chips = np.stack([f.chip_sface for _, f in analysed[:4]])
    onnx_rows = sface.SFaceEmbedder("onnx", "cpu", threads=1).embed(chips)
    torch_rows = sface.SFaceEmbedder("torch", "cpu", threads=1).embed(chips)
    assert np.abs(onnx_rows - torch_rows).max() < 1e-3


def test_arcface_chip_is_framed_as_opencv_frames_it(analysed, reference):
    embedder = sface.SFaceEmbedder("onnx", "cpu", threads=1)
    for rgb, face in analysed:
        row = np.zeros((1, 15), np.float32)
        row[0, :4], row[0, 4:14], row[0, 14] = face.box, np.asarray(face.landmarks).ravel(), face.score
        crop = reference.alignCrop(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), row)
        theirs = reference.feature(crop).ravel()
        ours = embedder.embed(face.chip_sface)[0]
        assert float(ours @ theirs / np.linalg.norm(ours) / np.linalg.norm(theirs)) > 0.95


def test_fused_vectors_keep_dlib_units_and_tell_people_apart(analysed):
    rng = np.random.default_rng(0)
    d, s = rng.normal(size=(6, 128)).astype(np.float32) * 0.1, rng.normal(size=(6, 128)).astype(np.float32)
    f = fusion.fuse(d, s)
    assert f.shape == (6, fusion.DIM) and fusion.DIM == EMBEDDING_DIM  # what the store expects
    assert np.allclose(fusion.dlib_part(f), d, atol=1e-6)
    unit = s / np.linalg.norm(s, axis=1, keepdims=True)
    for i, j in [(0, 1), (2, 5)]:
        dlib_d, sface_d = np.linalg.norm(d[i] - d[j]), fusion.SFACE_SCALE * np.linalg.norm(unit[i] - unit[j])
        rms = math.sqrt((dlib_d ** 2 + sface_d ** 2) / 2)
        assert abs(float(np.linalg.norm(f[i] - f[j])) - rms) < 1e-5
    # Real faces: the two photos of each person are nearer each other than any other person's photos.
    analyzer = FaceAnalyzer(flip=True)
    vectors = analyzer.embed([face for _, face in analysed])
    assert vectors.shape == (len(analysed), 256) and analyzer.model_id == fusion.model_id(True)
    dist = np.linalg.norm(vectors[:, None] - vectors[None], axis=2)
    same = np.equal.outer(np.arange(len(analysed)) // 2, np.arange(len(analysed)) // 2)
    np.fill_diagonal(same, False)
    off = ~same & ~np.eye(len(analysed), dtype=bool)
    assert dist[same].max() < 0.6 < dist[off].min()  # dlib's same-person rule holds in fused units
