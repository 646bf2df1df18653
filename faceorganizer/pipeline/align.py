"""Face chips framed as dlib frames them, cut from MTCNN's 5 landmarks (no dlib at run time).

dlib's networks (the embedder, age and gender) were trained on chips from ``dlib.get_face_chip``: a
similarity transform of its own 5-point landmarks (eye corners, nose base) onto its mean face, with
``padding`` of the face's width added on every side. MTCNN gives other points (eye centres, nose tip, mouth
corners), so the template below is where those points fall in dlib's frame, measured: MTCNN landmarks of
131 faces (the shared photos, faces ≥ 80 px) were mapped through the chip transform of dlib's own pipeline
(HOG detector → 5-point shape predictor → ``get_face_chip_details``) at six sizes and paddings and averaged.

The fit weights the eyes most, the nose half and the mouth corners little (1, 1, 0.5, 0.1, 0.1): dlib aligns on
eye corners and the nose base, and mouth corners move with expression (a smile widens them). Measured in
the 150-px chip against dlib's frame (held-out people): equal weights 4.3 px mean disagreement, these weights
2.8 px; dlib's own frame moves 1.4 px (median) when its predictor starts from MTCNN's box instead of HOG's.

How close the embeddings get: the dlib ResNet is sensitive to framing — shifting dlib's own chip by 1 px
moves its embedding by 0.075 (L2), and dlib started from another box moves it by 0.084. These chips are
0.11 (mean L2) from dlib's pipeline chips of the same faces, far below the 0.6 same-person threshold.

In dlib's frame a normalised point q lands at ``(size − 1)·(padding + q) / (1 + 2·padding)`` chip pixels
(its chip rectangle spans ``size − 1`` pixels between the centres of the outer pixels); this held to 0.1 px
for 150/0.25, 64/0.2, 32/0.2, 200/0.2, 150/0 and 100/0.5, so one normalised template serves every chip size.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from faceorganizer.models.agegender import AgeGender

#: MTCNN's 5 points (image-left eye, image-right eye, nose tip, left and right mouth corners) in dlib's
#: normalised face frame (padding 0). At size 150, padding 0.25 this is ≈ eyes (46.1, 44.4) and (100.5, 44.4),
#: nose (73.5, 76.6), mouth (48.4, 101.6) and (98.4, 101.6).
TEMPLATE = np.array([[0.21401, 0.19663], [0.76154, 0.19665], [0.48975, 0.52143],
                     [0.23734, 0.77315], [0.74093, 0.77300]])
#: Weight of each landmark in the least-squares fit (see the module doc).
WEIGHTS = np.array([1.0, 1.0, 0.5, 0.1, 0.1])


def chip_template(size: int = 150, padding: float = 0.25) -> np.ndarray:
    """Where the 5 landmarks go in a ``size``×``size`` chip with dlib's ``padding`` (5×2, chip pixels)."""
    return (size - 1) * (padding + TEMPLATE) / (1 + 2 * padding)


def similarity_transform(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The weighted least-squares similarity (rotation, uniform scale, translation; no reflection) taking
    ``src`` points onto ``dst`` (both N×2), as a 2×3 matrix; unweighted it is dlib's
    ``find_similarity_transform``."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    s, d = src - mu_s, dst - mu_d
    norm = float(w @ (s ** 2).sum(axis=1))
    if norm <= 1e-12:
        raise ValueError("landmarks are degenerate (all at one point)")
    a = float(w @ (s * d).sum(axis=1)) / norm
    b = float(w @ (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0])) / norm
    rot = np.array([[a, -b], [b, a]])
    return np.concatenate([rot, (mu_d - rot @ mu_s)[:, None]], axis=1)


def chip_transform(landmarks5: np.ndarray, size: int = 150, padding: float = 0.25) -> np.ndarray:
    """The 2×3 matrix mapping image pixels to chip pixels for a face with these landmarks."""
    points = np.asarray(landmarks5, np.float64).reshape(5, 2)
    if not np.all(np.isfinite(points)):
        raise ValueError("landmarks must be finite")
    return similarity_transform(points, chip_template(size, padding), WEIGHTS)


def align_face(rgb: np.ndarray, landmarks5: np.ndarray, size: int = 150, padding: float = 0.25) -> np.ndarray:
    """A ``size``×``size``×3 uint8 chip of the face with these 5 landmarks, framed as dlib frames it."""
    return warp_chip(rgb, chip_transform(landmarks5, size, padding), size)


def align_arcface(rgb: np.ndarray, landmarks5: np.ndarray) -> np.ndarray:
    """The 112×112×3 uint8 chip SFace takes: the 5 landmarks fitted (unweighted similarity) onto the ArcFace
    template, as OpenCV's ``FaceRecognizerSF.alignCrop`` frames it."""
    from faceorganizer.models.sface import CHIP_SIZE, TEMPLATE

    points = np.asarray(landmarks5, np.float64).reshape(5, 2)
    if not np.all(np.isfinite(points)):
        raise ValueError("landmarks must be finite")
    return warp_chip(rgb, similarity_transform(points, TEMPLATE), CHIP_SIZE)


def warp_chip(rgb: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """The ``size``×``size`` chip the 2×3 image→chip matrix ``m`` cuts from ``rgb``.

    Like dlib, the image is first halved with a Gaussian pyramid while the chip would shrink it more than
    2× (bilinear sampling alone would alias), then warped bilinearly; outside the image is black. Only the
    region under the chip is pyramided, so cost does not grow with the photo's size.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an H×W×3 uint8 RGB image, got {rgb.dtype} {rgb.shape}")
    if any(step < 0 for step in rgb.strides):
        rgb = np.ascontiguousarray(rgb)  # OpenCV refuses views with negative strides
    shrink = 1.0 / math.hypot(m[0, 0], m[1, 0])  # image pixels per chip pixel
    levels = math.ceil(math.log2(shrink)) - 1 if shrink > 2 else 0  # dlib: until at most 2× is left
    # Bounding box of the chip in the image, grown by the pyramid's filter reach, clipped to the image.
    inverse = cv2.invertAffineTransform(m)
    corners = np.array([[0, 0, 1], [size - 1, 0, 1], [0, size - 1, 1], [size - 1, size - 1, 1]], np.float64)
    img_corners = corners @ inverse.T
    margin = 2 + 3 * (2 ** levels)
    h, w = rgb.shape[:2]
    x0 = max(0, int(math.floor(img_corners[:, 0].min())) - margin)
    y0 = max(0, int(math.floor(img_corners[:, 1].min())) - margin)
    x1 = min(w, int(math.ceil(img_corners[:, 0].max())) + margin + 1)
    y1 = min(h, int(math.ceil(img_corners[:, 1].max())) + margin + 1)
    if x0 >= x1 or y0 >= y1:
        return np.zeros((size, size, 3), np.uint8)
    src = rgb[y0:y1, x0:x1]
    done = 0
    while done < levels and min(src.shape[:2]) >= 2:
        src = cv2.pyrDown(src)
        done += 1
    # cv2.pyrDown keeps pixel centres aligned: level-k pixel j sits at image pixel 2^k·j (plus the crop offset).
    f = float(2 ** done)
    to_src = np.array([[f, 0.0, x0], [0.0, f, y0], [0.0, 0.0, 1.0]])
    m_src = m @ to_src
    return cv2.warpAffine(src, m_src, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0, 0, 0))


def predict_age_gender(model: AgeGender, rgb: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(age_years, p_male)`` of the faces of one image from an ``models.agegender.AgeGender``.

    ``landmarks`` are K×5×2 (or 5×2) in image pixels. The chips are cut with :func:`align_face` (the same
    5-point alignment as the embedder's chips, with the age/gender models' sizes and padding); the model only
    sees chips, so ``models`` never imports the pipeline.
    """
    from faceorganizer.models.agegender import AGE_SIZE, CHIP_PADDING, GENDER_SIZE

    points = np.asarray(landmarks, dtype=np.float64).reshape(-1, 5, 2)
    chips64 = np.stack([align_face(rgb, p, AGE_SIZE, CHIP_PADDING) for p in points]) if len(points) else \
        np.empty((0, AGE_SIZE, AGE_SIZE, 3), np.uint8)
    chips32 = np.stack([align_face(rgb, p, GENDER_SIZE, CHIP_PADDING) for p in points]) if len(points) else \
        np.empty((0, GENDER_SIZE, GENDER_SIZE, 3), np.uint8)
    return model.predict(chips64, chips32)
