"""Fixtures shared by core and GUI tests: the real photos in ../shared/faces and isolated user dirs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_FACES = Path(os.environ.get("FACEORGANIZER_SHARED_FACES", REPO.parent / "shared" / "faces"))

# The installed weights of the user running the tests (set-up installs them once); resolved before the
# per-test data dir override below so that tests share them instead of re-installing.
from faceorganizer import paths as _paths  # noqa: E402

MODELS_DIR = _paths.models_dir()


@pytest.fixture(scope="session")
def shared_faces() -> Path:
    """The folder of real photos (identities/, groups/, nonfaces/); skips when it is absent."""
    if not (SHARED_FACES / "manifest.json").is_file():
        pytest.skip(f"real photos not found at {SHARED_FACES} (expected ../shared/faces beside the repo)")
    return SHARED_FACES


@pytest.fixture(scope="session")
def manifest(shared_faces: Path) -> list[dict]:
    """Entries of ``manifest.json`` (path, identity, kind, width, height, optional face_boxes_xywh)."""
    return json.loads((shared_faces / "manifest.json").read_text())


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests away from the real user's data and config; models stay shared (installed once)."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("FACEORGANIZER_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("FACEORGANIZER_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("FACEORGANIZER_LOG_DIR", str(base / "logs"))
    monkeypatch.setenv("FACEORGANIZER_MODELS_DIR", str(MODELS_DIR))
