"""The face pipeline for one photo: decode → detect → align → attributes (→ embed, by the embedder's owner).

One :class:`FaceAnalyzer` per process holds the models, loaded lazily, once. Import workers call
:meth:`FaceAnalyzer.analyze_file` (no embedding: the import job owns the embedder and batches across photos);
queries ("find this person" from an external photo) call :meth:`analyze_file` then :meth:`embed`.

Speed: detection runs on a reduced-size decode (JPEG DCT scaling) of at most ``DETECT_SIDE`` pixels; faces
are aligned from that same image when they are large enough there (a face box of ≥ ``CHIP_SOURCE_MIN`` px
gives a 150-px chip without upsampling), otherwise the photo is decoded at full size for their chips.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from faceorganizer.models import embedder as embedder_mod
from faceorganizer.pipeline import fusion
from faceorganizer.pipeline.align import align_arcface, align_face, predict_age_gender
from faceorganizer.pipeline.decode import load_image
from faceorganizer.pipeline.quality import FaceQuality, face_quality

if TYPE_CHECKING:
    from faceorganizer.models.sface import SFaceEmbedder

log = logging.getLogger("faceorganizer.pipeline")

DETECT_SIDE = 1280
CHIP_SOURCE_MIN = 100.0
CHIP_SIZE = 150
CHIP_PADDING = 0.25


@dataclass(frozen=True)
class AnalyzedFace:
    """One detected face with everything computed before embedding."""

    box: tuple[float, float, float, float]  # x, y, w, h in the upright full-resolution photo
    score: float
    landmarks: np.ndarray  # 5×2, full-resolution pixels
    chip: np.ndarray  # 150×150×3 uint8, dlib framing
    age: float
    gender: float  # probability of male
    quality: FaceQuality
    expressions: dict[str, float] | None = None
    attr_model: str = ""
    chip_sface: np.ndarray | None = None  # 112×112×3 uint8, ArcFace framing (SFace's input)

    @property
    def expression(self) -> str | None:
        probs = self.expressions
        return max(probs, key=lambda name: probs[name]) if probs else None

    @property
    def smile(self) -> float | None:
        return self.expressions.get("happy") if self.expressions else None


@dataclass(frozen=True)
class PhotoAnalysis:
    """A photo's pixel size (upright), capture time, orientation and faces."""

    width: int
    height: int
    taken_at: str | None
    orientation: int | None
    faces: list[AnalyzedFace] = field(default_factory=list)


def _sface_chip(face: AnalyzedFace) -> np.ndarray:
    if face.chip_sface is None:
        raise ValueError("this face was analysed without its SFace chip")
    return face.chip_sface


class FaceAnalyzer:
    """Detector, aligner, attribute models and (optionally) the embedder, created from settings."""

    def __init__(self, *, min_face_size: int = 20, device: str = "auto", backend: str = "auto",
                 flip: bool = False, threads: int | None = None, with_embedder: bool = True,
                 with_expression: bool = True) -> None:
        from faceorganizer.models.agegender import MODEL_ID as AGE_MODEL_ID
        from faceorganizer.models.agegender import AgeGender
        from faceorganizer.models.mtcnn import FaceDetector

        self.min_face_size = min_face_size
        self.flip = flip
        self.detector = FaceDetector(min_face_size=min_face_size, max_side=DETECT_SIDE, threads=threads)
        self.agegender = AgeGender(device="cpu", threads=threads)
        self.expression = None
        attr_ids = [AGE_MODEL_ID]
        if with_expression:
            from faceorganizer.models.expression import ExpressionNet

            self.expression = ExpressionNet(threads=threads)
            attr_ids.append("faceapi_expression_v1")
        self.attr_model = "+".join(attr_ids)
        self._embedder = (embedder_mod.Embedder(backend, device, threads=threads) if with_embedder else None)
        self._sface: SFaceEmbedder | None = None
        if with_embedder:
            from faceorganizer.models.sface import SFaceEmbedder

            self._sface = SFaceEmbedder(backend, device, threads=threads)

    @classmethod
    def from_settings(cls, settings: Any, *, threads: int | None = None, with_embedder: bool = True
                      ) -> FaceAnalyzer:
        return cls(min_face_size=settings.min_face_size, device=settings.device, backend=settings.backend,
                   flip=settings.flip_fusion, threads=threads, with_embedder=with_embedder)

    # ------------------------------------------------------------------ embedding
    @property
    def embedder(self) -> embedder_mod.Embedder:
        if self._embedder is None:
            raise RuntimeError("this analyzer was created without an embedder")
        return self._embedder

    @property
    def sface(self) -> SFaceEmbedder:
        if self._sface is None:
            raise RuntimeError("this analyzer was created without an embedder")
        return self._sface

    def load_embedders(self) -> None:
        """Load both embedding networks now (the first embedding otherwise does)."""
        self.embedder.load()
        self.sface.load()

    @property
    def model_id(self) -> str:
        """Stored with every embedding: networks and preprocessing version (flip fusion included)."""
        return fusion.model_id(self.flip)

    def embed(self, faces: list[AnalyzedFace]) -> np.ndarray:
        """Embeddings (N×256 float32, :mod:`~faceorganizer.pipeline.fusion`) of analysed faces, as import makes
        them."""
        if not faces:
            return np.zeros((0, fusion.DIM), np.float32)
        return self.embed_chips(np.stack([f.chip for f in faces]), np.stack([_sface_chip(f) for f in faces]))

    def embed_chips(self, chips: np.ndarray, sface_chips: np.ndarray) -> np.ndarray:
        """Fused embeddings of aligned chips: dlib's 150-px and SFace's 112-px chip of each face.

        With flip fusion dlib's network also sees the mirror image and the mean is kept (the seed paper's flip
        fusion, halved so that distances keep dlib's scale). SFace sees the chip only: its mirror pass measured
        no gain once fused (lfw_dev: verification 99.32 % both, BCubed F1 0.988 / 0.987, search identical) and
        would double its cost, the largest of the embedding step.
        """
        dlib_vectors = self.embedder.embed(chips, flip=self.flip)
        return fusion.fuse(dlib_vectors * 0.5 if self.flip else dlib_vectors, self.sface.embed(sface_chips))

    # ------------------------------------------------------------------ analysis
    def analyze_file(self, path: str | Path) -> PhotoAnalysis:
        """Decode, detect and align every face of a photo file; raises ImageError for undecodable files."""
        # The detector works on its own copy of at most DETECT_SIDE px and maps results back to this image.
        small = load_image(path, draft_size=DETECT_SIDE)
        detections = self.detector.detect(small.rgb)
        to_full = small.width / small.rgb.shape[1]  # decoded image → upright full-resolution photo
        source, source_scale = small.rgb, 1.0
        small_face = any((d.box[2] - d.box[0]) < CHIP_SOURCE_MIN for d in detections)
        if small_face and to_full > 1.01:
            # Some face is too small in the reduced decode for a sharp chip: decode at full size for chips.
            full = load_image(path)
            source, source_scale = full.rgb, full.rgb.shape[1] / small.rgb.shape[1]
        faces = self._faces(source, detections, source_scale, to_full)
        return PhotoAnalysis(small.width, small.height, small.taken_at, small.orientation, faces)

    def analyze_image(self, rgb: np.ndarray) -> list[AnalyzedFace]:
        """Faces of an already decoded upright RGB image (coordinates in that image)."""
        return self._faces(rgb, self.detector.detect(rgb), 1.0, 1.0)

    def _faces(self, source: np.ndarray, detections: list[Any], source_scale: float, to_full: float
               ) -> list[AnalyzedFace]:
        if not detections:
            return []
        points_src = [np.asarray(d.landmarks, np.float64) * source_scale for d in detections]
        chips = [align_face(source, p, CHIP_SIZE, CHIP_PADDING) for p in points_src]
        sface_chips = [align_arcface(source, p) for p in points_src]
        ages, males = predict_age_gender(self.agegender, source, np.stack(points_src))
        expressions: list[dict[str, float] | None] = [None] * len(detections)
        if self.expression is not None:
            from faceorganizer.models.expression import EXPRESSIONS, face_crop

            crops = np.stack([face_crop(source, np.asarray(d.box, np.float64) * source_scale) for d in detections])
            probs = self.expression.predict(crops)
            expressions = [{name: float(p) for name, p in zip(EXPRESSIONS, row)} for row in probs]
        out = []
        for d, chip, sface_chip, age, male, expr in zip(detections, chips, sface_chips, ages, males, expressions):
            x1, y1, x2, y2 = (float(v) * to_full for v in d.box)
            landmarks_full = np.asarray(d.landmarks, np.float64) * to_full
            quality = face_quality(chip, landmarks_full, (x1, y1, x2, y2), float(d.score))
            out.append(AnalyzedFace((x1, y1, x2 - x1, y2 - y1), float(d.score), landmarks_full.astype(np.float32),
                                    chip, float(age), float(male), quality, expr, self.attr_model, sface_chip))
        return out

