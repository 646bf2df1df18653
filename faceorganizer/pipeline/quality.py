"""How usable a detected face is: sharpness, exposure, size, head pose and one 0..1 quality score.

Everything is computed from what the pipeline already has (the aligned chip, the 5 landmarks, the box), in
microseconds, with no model. Head pose from 5 points is approximate (a few degrees from the landmarks, and
people's proportions differ by ±10°): good for sorting and for 'frontal' / 'three-quarter' / 'profile'
filters, not for geometry.

Pose model: a rigid face in units of the inter-ocular distance (IOD), eyes at depth 0, nose tip ``NOSE_DEPTH``
in front of them, mouth corners ``MOUTH_DEPTH``; the vertical layout is that of the alignment template
(nose 0.59 IOD below the eyes, mouth 1.05). With the eye line made horizontal (roll removed):

- yaw: the nose tip moves sideways by ``NOSE_DEPTH·sin(yaw)`` while the eyes shrink by ``cos(yaw)``, so
  ``(dl − dr) / (dl + dr) = 2·NOSE_DEPTH·tan(yaw)``, with dl, dr the nose's horizontal distances to each eye.
  Positive yaw: the nose points towards the image's right.
- pitch: the nose's relative height between the eye line and the mouth line, ``t``, solves
  ``t·(b·cos − MOUTH_DEPTH·sin) = a·cos − NOSE_DEPTH·sin``. Positive pitch: looking up.
- roll: the eye line's angle. Positive roll: the image-right eye is lower (head tilted clockwise on screen).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

NOSE_DEPTH = 0.4  # IOD units: nose tip in front of the eyes (≈ 25 mm for a 63 mm IOD)
MOUTH_DEPTH = 0.15
_NOSE_DROP, _MOUTH_DROP = 0.593, 1.052  # IOD units below the eye line, from the alignment template

#: |yaw| below this is frontal, below ``PROFILE_YAW`` three-quarter, above it profile (degrees).
FRONTAL_YAW = 20.0
PROFILE_YAW = 45.0
POSES = ("frontal", "three-quarter", "profile")

#: Sharpness (variance of the Laplacian of the grey 150-px chip) at which the sharpness factor is 0.63.
#: On the shared photos' faces the median is 276; a Gaussian blur of σ = 2 px brings a face to ≈ 8.
SHARPNESS_SCALE = 100.0
#: Face size (shorter box side, full-resolution px) from which the size factor is 1, and below which it is 0.
GOOD_SIZE, MIN_SIZE = 100.0, 20.0


@dataclass(frozen=True)
class FaceQuality:
    """Measures of one face (see the module doc for the definitions)."""

    sharpness: float  # variance of the Laplacian of the grey chip
    brightness: float  # mean luma of the chip's face region, 0..255
    size: float  # shorter side of the face box, full-resolution pixels
    yaw: float  # degrees
    pitch: float  # degrees
    roll: float  # degrees
    pose: str  # 'frontal' | 'three-quarter' | 'profile'
    quality: float  # 0..1, see :func:`quality_score`


def sharpness(chip: np.ndarray) -> float:
    """Variance of the Laplacian of the grey chip: high for crisp detail, low for blur."""
    grey = cv2.cvtColor(np.ascontiguousarray(chip), cv2.COLOR_RGB2GRAY) if chip.ndim == 3 else chip
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def brightness(chip: np.ndarray) -> float:
    """Mean luma (0..255) of the chip's central half in each direction: the face, not the padding around it."""
    grey = cv2.cvtColor(np.ascontiguousarray(chip), cv2.COLOR_RGB2GRAY) if chip.ndim == 3 else chip
    h, w = grey.shape[:2]
    return float(grey[h // 4: h - h // 4, w // 4: w - w // 4].mean())


def head_pose(landmarks5: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from the 5 MTCNN landmarks (image-left eye first)."""
    p = np.asarray(landmarks5, np.float64).reshape(5, 2)
    eye_l, eye_r, nose = p[0], p[1], p[2]
    dx, dy = eye_r - eye_l
    roll = math.atan2(dy, dx)
    c, s = math.cos(-roll), math.sin(-roll)
    q = p @ np.array([[c, s], [-s, c]])  # rotate by −roll: the eye line becomes horizontal
    dl, dr = q[2, 0] - q[0, 0], q[1, 0] - q[2, 0]
    yaw = math.atan2(dl - dr, 2.0 * NOSE_DEPTH * max(dl + dr, 1e-6))
    eye_y = (q[0, 1] + q[1, 1]) / 2
    mouth_y = (q[3, 1] + q[4, 1]) / 2
    span = mouth_y - eye_y
    if abs(span) < 1e-6 or not np.isfinite(nose).all():
        pitch = 0.0
    else:
        t = (q[2, 1] - eye_y) / span
        pitch = math.atan2(_NOSE_DROP - t * _MOUTH_DROP, NOSE_DEPTH - t * MOUTH_DEPTH)
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


def pose_class(yaw: float) -> str:
    """'frontal', 'three-quarter' or 'profile' from the yaw in degrees."""
    a = abs(yaw)
    return POSES[0] if a < FRONTAL_YAW else POSES[1] if a < PROFILE_YAW else POSES[2]


def quality_score(sharp: float, bright: float, size: float, yaw: float, pitch: float,
                  score: float = 1.0) -> float:
    """0..1: the product of soft factors for sharpness, size, pose, exposure and detector confidence.

    1.0 means sharp, at least ``GOOD_SIZE`` px, frontal, well exposed; each factor only falls off where a
    face becomes a worse example of its person (for a cluster's cover or the search's query picking).
    """
    f_sharp = 1.0 - math.exp(-max(sharp, 0.0) / SHARPNESS_SCALE)
    f_size = min(max((size - MIN_SIZE) / (GOOD_SIZE - MIN_SIZE), 0.0), 1.0)
    f_pose = max(0.0, math.cos(math.radians(min(abs(yaw), 90.0)))) ** 2 * \
        max(0.0, math.cos(math.radians(min(abs(pitch), 90.0))))
    f_bright = min(max((bright - 20.0) / 60.0, 0.0), 1.0) * min(max((250.0 - bright) / 50.0, 0.0), 1.0)
    f_score = min(max((score - 0.5) / 0.4, 0.0), 1.0)
    return float(f_sharp * f_size * f_pose * f_bright * f_score)


def face_quality(chip: np.ndarray, landmarks5: np.ndarray, box: tuple[float, float, float, float],
                 score: float = 1.0) -> FaceQuality:
    """All measures of one face: its aligned chip, its landmarks and box ``(x1, y1, x2, y2)`` in the
    full-resolution photo, and the detector's score."""
    sharp = sharpness(chip)
    bright = brightness(chip)
    size = float(min(box[2] - box[0], box[3] - box[1]))
    yaw, pitch, roll = head_pose(landmarks5)
    return FaceQuality(sharp, bright, size, yaw, pitch, roll, pose_class(yaw),
                       quality_score(sharp, bright, size, yaw, pitch, score))
