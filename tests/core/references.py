"""Reference implementations the tests compare against (test-only packages, never used by the app)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


def reference_model(name: str) -> str:
    """A dlib model file from the test-only ``face-recognition-models`` package (skips the test without it)."""
    spec = importlib.util.find_spec("face_recognition_models")  # found, not imported: it needs pkg_resources
    path = Path(spec.submodule_search_locations[0]) / "models" / name if spec else Path("/nonexistent")
    if not path.is_file():
        pytest.skip(f"{name} not found in face_recognition_models")
    return str(path)
