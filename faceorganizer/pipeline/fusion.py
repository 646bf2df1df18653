"""The stored face embedding: dlib's ResNet and SFace fused into one vector in dlib's distance units.

Two networks trained on different data with different losses make different mistakes: on ``../shared/lfw_dev``
dlib alone (flip fusion) verifies 99.27 % of the pairs and groups at BCubed F1 0.948 with two merged pairs of
people; fused with SFace it verifies 99.32–99.46 %, groups at 0.98+ with none merged, and "find this person"
ranks the right person first for 0.987 of the queries instead of 0.943 (README, "People on a large, diverse
library").

The fused vector is ``[d, c·s / |s|] / √2`` for dlib's vector ``d`` and SFace's ``s``: the Euclidean distance of
two fused vectors is the root mean square of dlib's distance and ``c`` times SFace's unit-vector distance. With
``c`` = :data:`SFACE_SCALE` the two terms have the same scale (SFace's best same-person threshold on lfw_dev,
1.15 on unit vectors, times ``c`` is dlib's, 0.62), so every threshold of the app keeps dlib's unit: same
person below ≈ 0.6. The first :data:`DLIB_DIM` numbers, times √2, are dlib's own vector (the face-ness gate
reads them).
"""

from __future__ import annotations

import math

import numpy as np

from faceorganizer.models import embedder as dlib_embedder
from faceorganizer.models import sface

#: SFace unit-vector distances × this ≈ dlib distances (ratio of their best thresholds on lfw_dev pairs).
SFACE_SCALE = 0.54
DLIB_DIM = dlib_embedder.DIM
DIM = dlib_embedder.DIM + sface.DIM
#: Networks and chip framings (dlib 150-px chip, ArcFace 112-px chip, both from MTCNN's 5 points).
MODEL_ID = f"{dlib_embedder.MODEL_ID}+{sface.MODEL_ID}"


def model_id(flip: bool = False) -> str:
    """The id stored with each fused embedding (flip fusion: dlib's part is the mean of the face's and its
    mirror's)."""
    return MODEL_ID + "+flip" if flip else MODEL_ID


def fuse(dlib_vectors: np.ndarray, sface_vectors: np.ndarray) -> np.ndarray:
    """N×256 fused embeddings from N×128 dlib vectors (as dlib gives them) and N×128 SFace vectors (any norm)."""
    d = np.asarray(dlib_vectors, np.float32).reshape(-1, dlib_embedder.DIM)
    s = np.asarray(sface_vectors, np.float32).reshape(-1, sface.DIM)
    norms = np.linalg.norm(s, axis=1, keepdims=True)
    s = s / np.maximum(norms, 1e-12)
    return (np.hstack([d, SFACE_SCALE * s]) / math.sqrt(2.0)).astype(np.float32)


def dlib_part(vectors: np.ndarray) -> np.ndarray:
    """dlib's own vectors inside fused ones (N×128)."""
    return np.asarray(vectors, np.float32)[..., :DLIB_DIM] * np.float32(math.sqrt(2.0))
