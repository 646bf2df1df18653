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


# ------------------------------------------------------------------------------------------ face-ness gate

#: Mean dlib descriptor of 7,270 real faces (LFW development half): the centre of the face manifold.
#: Uninformative inputs — textures, blurred fragments, half-black crops — embed close to it ("an average
#: face"), which is why they pile up together and stray into people; real faces lie farther out (LFW central
#: faces: 0.1st percentile 0.46, median 0.57; with flip fusion, whose mean vectors sit a little closer in,
#: 0.45 and 0.56).
EMBEDDING_CENTRE = np.array([
    -0.097, 0.092, 0.053, -0.042, -0.097, -0.012, -0.018, -0.105, 0.139, -0.056, 0.201, -0.038, -0.245, -0.043,
    -0.032, 0.124, -0.148, -0.120, -0.121, -0.082, 0.012, 0.036, 0.034, 0.021, -0.137, -0.302, -0.068, -0.092,
    0.054, -0.095, 0.013, 0.056, -0.182, -0.057, 0.029, 0.062, -0.050, -0.068, 0.210, 0.011, -0.168, 0.011,
    0.058, 0.249, 0.201, 0.003, 0.020, -0.069, 0.115, -0.260, 0.051, 0.145, 0.116, 0.074, 0.086, -0.147, 0.018,
    0.136, -0.181, 0.071, 0.067, -0.084, -0.040, -0.043, 0.160, 0.089, -0.091, -0.139, 0.164, -0.138, -0.040,
    0.082, -0.092, -0.166, -0.259, 0.039, 0.368, 0.127, -0.179, 0.016, -0.071, -0.024, 0.032, 0.031, -0.076,
    -0.045, -0.091, 0.020, 0.194, -0.027, -0.019, 0.219, 0.012, -0.010, 0.043, 0.047, -0.113, -0.009, -0.115,
    -0.011, 0.045, -0.106, 0.006, 0.081, -0.176, 0.158, -0.017, -0.025, -0.011, -0.022, -0.084, -0.001, 0.177,
    -0.255, 0.213, 0.173, 0.002, 0.130, 0.068, 0.060, 0.003, -0.002, -0.126, -0.109, 0.034, -0.034, 0.017,
    0.037], np.float32)

#: Gate limits. Detector: MTCNN's last stage accepts from 0.7; real faces score ≥ 0.9 (LFW 99.9 %).
FACE_MIN_SCORE = 0.8
#: Mean luma of the chip's face region: a (half-)black crop. LFW's darkest central face: 31.
FACE_MIN_BRIGHTNESS = 25.0
#: Variance of the Laplacian: a blurred fragment (a σ = 2 px blur brings a face to ≈ 8). The shared photos'
#: blurred fragments score 3–6, their smallest annotated real faces (28–31 px) 7–8; under 0.1 % of LFW's
#: central faces are below 6, 12 % of its background faces.
FACE_MIN_SHARPNESS = 6.0
#: Distance of the embedding from ``EMBEDDING_CENTRE`` (dlib space; see above). The shared photos' sequin
#: texture, which only this test catches, lies at 0.42 (plain) / 0.37 (flip fusion), their closest real face at
#: 0.46 / 0.445: 0.42 separates them under both embeddings (0.45 gated that real face under flip fusion); no
#: LFW central face is below it under either.
FACE_MIN_CENTRE_DISTANCE = 0.42


def _dlib_vectors(embeddings: np.ndarray) -> np.ndarray | None:
    """dlib's vectors (N×128) from dlib or fused embeddings; None for any other width."""
    from faceorganizer.pipeline import fusion

    width = embeddings.shape[-1] if embeddings.ndim == 2 else 0
    if width == fusion.DIM:
        return fusion.dlib_part(embeddings)
    return embeddings if width == EMBEDDING_CENTRE.shape[0] else None


def face_like(det_score: float, brightness: float | None, sharpness: float | None,
              landmarks: np.ndarray | None, box_wh: tuple[float, float],
              embedding: np.ndarray | None = None) -> bool:
    """The face-ness gate: False for a detection that is probably not a face a person can be made of.

    Measured on the shared photos (a sequin dress, a half-black crop, blurred background fragments had become
    an automatic person) and on LFW (where it keeps 99.6 % of the central faces): a weak detection, a dark
    chip, a chip without detail, impossible landmark geometry (mouth not below the eyes, eyes collapsed
    in the box), or an embedding at the centre of the face manifold. Such faces stay searchable and
    can be confirmed by hand; grouping never starts or grows a person with them.
    """
    if det_score < FACE_MIN_SCORE:
        return False
    if brightness is not None and brightness < FACE_MIN_BRIGHTNESS:
        return False
    if sharpness is not None and sharpness < FACE_MIN_SHARPNESS:
        return False
    if landmarks is not None and np.shape(landmarks) == (5, 2):
        p = np.asarray(landmarks, np.float64)
        iod = float(np.linalg.norm(p[1] - p[0]))
        drop = (p[3, 1] + p[4, 1]) / 2 - (p[0, 1] + p[1, 1]) / 2
        if drop < 0.3 * iod or iod < 0.15 * max(min(box_wh), 1.0):
            return False
    if embedding is not None:
        dlib = _dlib_vectors(np.asarray(embedding, np.float32)[None])
        if dlib is not None and float(np.linalg.norm(dlib[0] - EMBEDDING_CENTRE)) < FACE_MIN_CENTRE_DISTANCE:
            return False
    return True


def face_like_many(det_score: np.ndarray, brightness: np.ndarray, sharpness: np.ndarray,
                   landmarks: np.ndarray, box_wh: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
    """:func:`face_like` for n faces at once (NaN brightness/sharpness/landmarks: not checked); bool (n,)."""
    n = len(det_score)
    ok = np.asarray(det_score, np.float64) >= FACE_MIN_SCORE
    with np.errstate(invalid="ignore"):
        ok &= ~(np.asarray(brightness, np.float64) < FACE_MIN_BRIGHTNESS)
        ok &= ~(np.asarray(sharpness, np.float64) < FACE_MIN_SHARPNESS)
        p = np.asarray(landmarks, np.float64).reshape(n, 5, 2)
        iod = np.linalg.norm(p[:, 1] - p[:, 0], axis=1)
        drop = (p[:, 3, 1] + p[:, 4, 1]) / 2 - (p[:, 0, 1] + p[:, 1, 1]) / 2
        short = np.maximum(np.asarray(box_wh, np.float64).reshape(n, 2).min(axis=1), 1.0)
        ok &= ~((drop < 0.3 * iod) | (iod < 0.15 * short))
    dlib = _dlib_vectors(np.asarray(embeddings, np.float32)) if n else None
    if dlib is not None:
        ok &= np.linalg.norm(dlib - EMBEDDING_CENTRE, axis=1) >= FACE_MIN_CENTRE_DISTANCE
    return ok
