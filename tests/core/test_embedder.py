"""The dlib ResNet read without dlib: same embeddings as dlib itself on real chips, on every backend.

dlib (the ``dlib-bin`` wheel) is the reference only: it makes the chips (HOG detector, 5-point shape
predictor, ``get_face_chip`` with padding 0.25) and computes the descriptors our network must reproduce.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from faceorganizer.errors import ModelCorruptError, SettingsError
from faceorganizer.models import dlib_resnet, runtime
from faceorganizer.models.embedder import DIM, MODEL_ID, Embedder, model_id
from faceorganizer.models.registry import model_path
from tests.core.references import reference_model

dlib = pytest.importorskip("dlib")

# Two photos of each of seven people: 14 chips, enough for parity and a same/different sanity check while
# keeping dlib's slow reference (≈90 ms/face) and its HOG detector within a few seconds.
PEOPLE = ["angelina_jolie", "biden", "obama", "deepface_p03", "deepface_p11", "kit_harington", "deepface_p13"]
PARITY = 1e-4


def dlib_chips(shared_faces: Path, paths: list[str], size: int = 150, padding: float = 0.25
               ) -> tuple[np.ndarray, list[str]]:
    """dlib's own chips of the largest face in each photo, and the photos where one was found."""
    from PIL import Image

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(reference_model("shape_predictor_5_face_landmarks.dat"))
    chips, found = [], []
    for rel in paths:
        image = Image.open(shared_faces / rel).convert("RGB")
        image.thumbnail((800, 800))
        rgb = np.asarray(image)
        faces = detector(rgb, 1)
        if not faces:
            continue
        face = max(faces, key=lambda r: r.area())
        chips.append(dlib.get_face_chip(rgb, predictor(rgb, face), size, padding))
        found.append(rel)
    return np.stack(chips), found



@pytest.fixture(scope="module")
def chips_and_people(shared_faces, manifest) -> tuple[np.ndarray, list[str]]:
    by_person: dict[str, list[str]] = defaultdict(list)
    for entry in manifest:
        if entry["kind"] == "identity" and entry["identity"] in PEOPLE:
            by_person[entry["identity"]].append(entry["path"])
    paths = [p for person in PEOPLE for p in sorted(by_person[person])[:2]]
    chips, found = dlib_chips(shared_faces, paths)
    assert len(chips) >= 12, f"dlib found faces in only {len(chips)} of {len(paths)} photos"
    return chips, [p.split("/")[1] for p in found]


@pytest.fixture(scope="module")
def chips(chips_and_people) -> np.ndarray:
    return chips_and_people[0]


@pytest.fixture(scope="module")
def dlib_reference(chips) -> np.ndarray:
    net = dlib.face_recognition_model_v1(str(model_path("dlib_resnet")))
    return np.array([net.compute_face_descriptor(chip) for chip in chips], dtype=np.float32)


@pytest.fixture(scope="module")
def torch_embeddings(chips) -> np.ndarray:
    import torch

    module = dlib_resnet.load_torch()
    with torch.inference_mode():
        return module(torch.from_numpy(chips).permute(0, 3, 1, 2).float()).numpy()


@pytest.fixture
def models_with_fresh_onnx(tmp_path, monkeypatch) -> Path:
    """A models dir holding the installed .dat and an ONNX file exported by the code under test now."""
    models = tmp_path / "models"
    models.mkdir()
    (models / model_path("dlib_resnet").name).symlink_to(model_path("dlib_resnet"))
    monkeypatch.setenv("FACEORGANIZER_MODELS_DIR", str(models))
    dlib_resnet.export_onnx(model_path("dlib_resnet_onnx", must_exist=False))
    return models


# --------------------------------------------------------------------------------------------------------------
# The parser


def test_parser_reads_the_whole_file_into_dlibs_network():
    net = dlib_resnet.parse_dat()  # raises if any byte is left over or the layer sequence differs
    assert net.num_parameters == 5_614_592
    assert 1 + 2 * len(net.blocks) == 29  # convolutions
    assert net.size == 150 and net.fc.shape == (128, 256)
    assert np.allclose(net.mean_rgb, (122.782, 117.001, 104.298), atol=1e-3)
    assert abs(net.distance_threshold - 0.6) < 1e-6


@pytest.mark.parametrize("damage", ["truncated", "extra byte", "wrong layer"])
def test_parser_refuses_a_damaged_file(tmp_path, damage):
    data = model_path("dlib_resnet").read_bytes()
    if damage == "truncated":
        data = data[:-100]
    elif damage == "extra byte":
        data = data + b"\x00"
    else:
        data = data.replace(b"max_pool_2", b"avg_pool_2", 1)
    bad = tmp_path / "bad.dat"
    bad.write_bytes(data)
    with pytest.raises(ModelCorruptError, match="bad.dat"):
        dlib_resnet.parse_dat(bad)


# --------------------------------------------------------------------------------------------------------------
# Parity with dlib, and between backends


def test_torch_module_matches_dlib(torch_embeddings, dlib_reference):
    err = np.abs(torch_embeddings - dlib_reference).max()
    assert err <= PARITY, f"max abs difference to dlib {err:.2e}"
    norms = np.linalg.norm(dlib_reference, axis=1)
    assert np.all((norms > 1.0) & (norms < 2.0))  # unnormalised, as dlib's


def test_onnx_export_matches_torch_with_any_batch(chips, torch_embeddings, tmp_path):
    import time

    import onnxruntime as ort

    start = time.perf_counter()
    path = dlib_resnet.export_onnx(tmp_path / "net.onnx")
    assert time.perf_counter() - start < 10  # runs at install time
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = chips.transpose(0, 3, 1, 2).astype(np.float32)
    out = session.run(None, {"images": x})[0]
    assert out.shape == (len(chips), DIM)
    assert np.abs(out - torch_embeddings).max() <= PARITY
    one = session.run(None, {"images": x[:1]})[0]
    assert np.abs(one[0] - torch_embeddings[0]).max() <= PARITY


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_embedder_matches_dlib_on_each_backend(backend, chips, dlib_reference, models_with_fresh_onnx):
    embedder = Embedder(backend, "cpu")
    assert embedder.backend.backend == backend and embedder.backend.device == "cpu"
    out = embedder.embed(chips)
    assert out.dtype == np.float32 and out.shape == (len(chips), DIM)
    assert np.abs(out - dlib_reference).max() <= PARITY


def test_flip_fusion_returns_the_sum_of_chip_and_mirror(chips, models_with_fresh_onnx):
    embedder = Embedder("onnx", "cpu", batch_size=5)  # batches of 5 + mirrors: crosses batch boundaries
    plain = embedder.embed(chips)
    mirrored = embedder.embed(np.ascontiguousarray(chips[:, :, ::-1]))
    fused = embedder.embed(chips, flip=True)
    assert np.abs(fused - (plain + mirrored)).max() <= 1e-5
    assert np.abs(fused - 2 * plain).max() > 1e-3  # the mirror really is a different input
    assert model_id(True) != model_id(False) == MODEL_ID


def test_batch_of_one_equals_batch_of_many(chips, models_with_fresh_onnx):
    for backend in ("onnx", "torch"):
        embedder = Embedder(backend, "cpu", batch_size=4)
        many = embedder.embed(chips)
        singles = np.concatenate([embedder.embed(chip) for chip in chips[:5]])  # one HxWx3 chip at a time
        assert np.abs(singles - many[:5]).max() <= 1e-5, backend


def test_same_person_is_within_dlibs_distance(chips_and_people, torch_embeddings):
    _, people = chips_and_people
    right = total = 0
    for i in range(len(people)):
        for j in range(i + 1, len(people)):
            same = people[i] == people[j]
            close = np.linalg.norm(torch_embeddings[i] - torch_embeddings[j]) < 0.6
            right += same == close
            total += 1
    assert right / total >= 0.95, f"{right}/{total} pairs decided right at distance 0.6"


def test_embed_checks_its_input(models_with_fresh_onnx):
    embedder = Embedder("onnx", "cpu")
    assert embedder.embed(np.zeros((0, 150, 150, 3), np.uint8)).shape == (0, DIM)
    with pytest.raises(ValueError, match="uint8"):
        embedder.embed(np.zeros((2, 150, 150, 3), np.float32))
    with pytest.raises(ValueError, match="150"):
        embedder.embed(np.zeros((2, 112, 112, 3), np.uint8))


# --------------------------------------------------------------------------------------------------------------
# Backend choice


def test_auto_backend_on_cpu_is_onnx_and_is_logged(caplog):
    with caplog.at_level(logging.INFO, logger="faceorganizer.models"):
        choice = runtime.pick_backend("auto", "cpu")
    assert (choice.backend, choice.device, choice.providers) == ("onnx", "cpu", ("CPUExecutionProvider",))
    assert "onnx on cpu" in caplog.text


def test_without_the_onnx_file_torch_runs(tmp_path, monkeypatch):
    assert runtime.pick_backend("auto", "cpu", onnx_model=False).backend == "torch"
    models = tmp_path / "models"
    models.mkdir()
    (models / model_path("dlib_resnet").name).symlink_to(model_path("dlib_resnet"))
    monkeypatch.setenv("FACEORGANIZER_MODELS_DIR", str(models))
    assert Embedder("auto", "cpu").backend.backend == "torch"


def test_unavailable_cuda_falls_back_with_a_warning(caplog):
    if runtime.torch_cuda_available() or "CUDAExecutionProvider" in runtime.onnx_providers():
        pytest.skip("this machine has CUDA")
    with caplog.at_level(logging.WARNING, logger="faceorganizer.models"):
        choice = runtime.pick_backend("torch", "cuda")
    assert choice.device == "cpu" and choice.backend == "torch"
    assert "not available" in caplog.text


def test_bad_backend_names_are_settings_errors():
    with pytest.raises(SettingsError):
        runtime.pick_backend("tensorflow")
    with pytest.raises(SettingsError):
        runtime.pick_backend("auto", "tpu")


def test_cuda_choice_runs_in_half_precision(chips, torch_embeddings):
    if not runtime.torch_cuda_available():
        pytest.skip("no CUDA GPU")
    embedder = Embedder("torch", "cuda")
    assert embedder.backend.half
    out = embedder.embed(chips)
    # fp16: not bit-exact, but far below the 0.6 decision distance.
    assert np.linalg.norm(out - torch_embeddings, axis=1).max() < 0.02
