"""Fixtures shared by the core tests."""

from __future__ import annotations

import pytest

from faceorganizer.errors import ModelMissingError
from faceorganizer.models.mtcnn import FaceDetector


@pytest.fixture(scope="session")
def detector() -> FaceDetector:
    """The MTCNN detector with its installed weights, loaded once (skips when the weights are missing)."""
    det = FaceDetector()
    try:
        det.load()
    except ModelMissingError as exc:
        pytest.skip(str(exc))
    return det
