"""Derived model files (written at install time from the pinned weights): the networks they hold give the same
results as the in-memory build, a missing one falls back to that build, and the install records their checksums
and converter versions (a damaged file is reported, a new converter rebuilds it)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from faceorganizer.errors import ModelCorruptError
from faceorganizer.models import expression, install, mtcnn
from faceorganizer.models.expression import ExpressionNet, face_crop
from faceorganizer.models.mtcnn import FaceDetector
from faceorganizer.models.registry import DERIVED, WEIGHTS, model_path
from faceorganizer.pipeline.decode import load_image
from tests.conftest import MODELS_DIR
from tests.core.test_expression import NEUTRAL, SMILING

MTCNN_FILES = [DERIVED[key] for key in mtcnn.ONNX_KEYS.values()]
NEW_FILES = [*MTCNN_FILES, DERIVED["expression_onnx"]]  # derived files after dlib's (same install, same checks)


@pytest.fixture
def weights_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A models dir with the pinned weight files but none of the derived ones: an install from before them."""
    folder = tmp_path / "models"
    folder.mkdir()
    for weight in WEIGHTS:
        (folder / weight.filename).symlink_to(MODELS_DIR / weight.filename)
    monkeypatch.setenv("FACEORGANIZER_MODELS_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def photos(manifest: list[dict], shared_faces: Path) -> list[np.ndarray]:
    """A few real photos: single portraits and group photos."""
    paths = [e["path"] for e in manifest if e["kind"] == "group"][:2]
    paths += [e["path"] for e in manifest if e["kind"] == "identity"][:3]
    return [load_image(shared_faces / p).rgb for p in paths]


def _detect_all(photos: list[np.ndarray]) -> list[list[mtcnn.Detection]]:
    detector = FaceDetector(preference="onnx", device="cpu", threads=1)
    return [detector.detect(rgb) for rgb in photos]


def test_installed_files_hold_what_the_converters_build():
    for net, key in mtcnn.ONNX_KEYS.items():
        assert model_path(key).read_bytes() == mtcnn.onnx_model(net), f"{net}: installed file is stale"
    assert model_path("expression_onnx").read_bytes() == expression.onnx_model()


def test_mtcnn_detections_from_files_equal_the_in_memory_build(photos, weights_only, monkeypatch, caplog):
    built = []
    with caplog.at_level(logging.INFO, logger="faceorganizer.models"):
        built = _detect_all(photos)  # no derived files here: each net is built in memory
    assert sum("building the" in r.getMessage() for r in caplog.records) == 3
    monkeypatch.setenv("FACEORGANIZER_MODELS_DIR", str(MODELS_DIR))  # the installed derived files
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="faceorganizer.models"):
        from_files = _detect_all(photos)
    assert not any("building the" in r.getMessage() for r in caplog.records)
    assert sum(len(found) for found in from_files) >= len(photos)  # real faces were found
    for a, b in zip(built, from_files):
        assert len(a) == len(b)
        for da, db in zip(a, b):
            np.testing.assert_allclose(da.box, db.box, rtol=0, atol=1e-3)
            assert abs(da.score - db.score) < 1e-5
            np.testing.assert_allclose(da.landmarks, db.landmarks, rtol=0, atol=1e-3)


def test_expression_file_gives_the_pytorch_networks_probabilities(shared_faces, weights_only, monkeypatch):
    crops = np.stack([face_crop(load_image(shared_faces / path).rgb, box) for path, box in SMILING + NEUTRAL])
    fallback = ExpressionNet(batch_size=8)  # no derived file here: PyTorch, as before the file existed
    assert fallback.backend == "torch"
    expected = fallback.predict(crops)
    monkeypatch.setenv("FACEORGANIZER_MODELS_DIR", str(MODELS_DIR))
    net = ExpressionNet(batch_size=8, threads=1)
    assert net.backend == "onnx"
    got = net.predict(crops)
    assert got.shape == (len(crops), len(expression.EXPRESSIONS))
    assert np.abs(got - expected).max() < 1e-5
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    happy = expression.EXPRESSIONS.index("happy")
    assert (got[: len(SMILING), happy] > 0.5).mean() > 0.8  # real smiles, not a constant output


def test_install_writes_derived_files_with_checksums_and_rebuilds_on_new_converter(weights_only, monkeypatch):
    statuses = {s.filename: s for s in install.install_models()}  # weights present: converts only, no download
    manifest = json.loads((weights_only / install.MANIFEST).read_text())
    for name in NEW_FILES:
        assert statuses[name].installed and statuses[name].checksum_ok
        assert manifest[name] == install.sha256_of(weights_only / name)
        version = expression.CONVERTER_VERSION if name == DERIVED["expression_onnx"] else mtcnn.CONVERTER_VERSION
        assert manifest[f"{name}#converter"] == version
        assert (weights_only / name).read_bytes() == (MODELS_DIR / name).read_bytes()
    install.ensure_models()

    damaged = weights_only / MTCNN_FILES[0]
    damaged.write_bytes(damaged.read_bytes()[:-16])
    with pytest.raises(ModelCorruptError, match="--force"):
        install.ensure_models([mtcnn.ONNX_KEYS["pnet"]])
    install.install_models()  # the next install repairs it
    install.ensure_models()

    before = {name: (weights_only / name).stat().st_mtime_ns for name in NEW_FILES}
    monkeypatch.setattr(mtcnn, "CONVERTER_VERSION", "test-new")
    monkeypatch.setattr(expression, "CONVERTER_VERSION", "test-new")
    install.install_models()
    manifest = json.loads((weights_only / install.MANIFEST).read_text())
    for name in NEW_FILES:
        assert manifest[f"{name}#converter"] == "test-new"
        assert (weights_only / name).stat().st_mtime_ns != before[name]


def test_old_install_whose_derived_files_cannot_be_written_still_detects(weights_only, photos, caplog):
    from faceorganizer.library import Library

    # An install from before the MTCNN and expression files: the weights, the embedders' ONNX files (dlib's, and
    # SFace's, which an update installs with its weights) and their manifest entries.
    embedders = [DERIVED["dlib_resnet_onnx"], DERIVED["sface_onnx"]]
    for name in embedders:
        (weights_only / name).symlink_to(MODELS_DIR / name)
    installed = json.loads((MODELS_DIR / install.MANIFEST).read_text())
    old = {k: v for k, v in installed.items() if k.startswith(tuple(embedders))}
    (weights_only / install.MANIFEST).write_text(json.dumps(old))
    # A directory where mtcnn_pnet.onnx belongs: writing the file fails for real, as on a read-only models dir.
    (weights_only / DERIVED["mtcnn_pnet_onnx"]).mkdir()
    with caplog.at_level(logging.WARNING, logger="faceorganizer.models"):
        install.ensure_models(auto_install=True)  # converts what it can, then carries on
    assert any("could not write the derived model files" in r.getMessage() for r in caplog.records)
    statuses = {s.key: s for s in install.model_statuses()}
    assert not statuses["mtcnn_pnet_onnx"].installed
    assert all(s.installed and s.checksum_ok for key, s in statuses.items() if key != "mtcnn_pnet_onnx"), statuses
    with Library.open(weights_only.parent / "lib") as lib:
        found = lib.analyzer.detector.detect(photos[-1])  # P-Net built in memory, R-Net and O-Net from files
    assert found and found[0].score > 0.9
