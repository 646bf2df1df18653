"""The accelerator import path: detection batched across photos in the one process that owns the accelerator.

On a GPU machine the per-photo pipeline (:meth:`FaceAnalyzer.analyze_file`, one photo at a time in CPU worker
processes) leaves the GPU idle: MTCNN detection is ~90 % of a photo's CPU time. Here CPU threads only read and
decode (reduced-size JPEG decode, :func:`decode_photo`), and one owner thread runs the detector's three
networks on several photos per call: the pyramid levels of equal size from all photos of a batch are stacked
into one P-Net call (photos from one camera share every level size), and the R-Net and O-Net crops of all
photos go in one call each. Alignment and attributes follow per photo; embedding stays with the import job
(same process, in batches across photos).

The numbers are the per-photo path's: the cascade, thresholds, NMS and the mapping back to the photo are the
same steps in the same order (:class:`BatchedDetector` mirrors ``FaceDetector.detect``; a test checks boxes
and embeddings against the per-photo path), only the network calls are grouped. The same code runs on CPU
(onnxruntime or PyTorch) for tests; with ``device = "cuda"`` the detector's networks run on the GPU.

The import engine built on this (decode threads, the owner thread, the import job's executor shape) is
:class:`faceorganizer.scan.batched_engine.BatchedEngine`.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from faceorganizer.errors import FaceOrganizerError
from faceorganizer.geometry import corners_iou
from faceorganizer.models import mtcnn
from faceorganizer.models.mtcnn import Detection, FaceDetector
from faceorganizer.pipeline.analyzer import CHIP_SOURCE_MIN, DETECT_SIDE, FaceAnalyzer, PhotoAnalysis
from faceorganizer.pipeline.decode import DecodedImage, load_image

log = logging.getLogger("faceorganizer.pipeline")

#: Photos per detector call: enough to fill a GPU with P-Net's first levels (8 × 1280 × 960 px).
BATCH_PHOTOS = 8
#: At most this many pyramid levels go into one P-Net call (bounds its activations: ~50 MB per 1280-px level).
PNET_MAX_BATCH = 16


# ---------------------------------------------------------------------------------------------- detection

class BatchedDetector:
    """``FaceDetector.detect`` for several images at once, the network calls grouped across images."""

    def __init__(self, detector: FaceDetector) -> None:
        self.detector = detector

    def detect_many(self, rgbs: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Faces of each H×W×3 uint8 RGB image, as ``detector.detect(rgb)`` finds them, highest score first."""
        det = self.detector
        rgbs = [np.ascontiguousarray(r) for r in rgbs]
        found = self._scaled_many(rgbs, [float(det.min_face_size)] * len(rgbs), pad=False,
                                  border_only=[False] * len(rgbs))
        if det.pad_retry:  # the padded re-detection for large faces (see FaceDetector.detect)
            large = [mtcnn.RETRY_MIN_FACE_FRACTION * min(r.shape[:2]) for r in rgbs]
            extra = self._scaled_many(rgbs, large, pad=True, border_only=[bool(f) for f in found])
            for i, more in enumerate(extra):
                found[i] = found[i] + [d for d in more if all(corners_iou(d.box, f.box) < 0.3 for f in found[i])]
                found[i].sort(key=lambda d: -d.score)
        return found

    def _scaled_many(self, rgbs: list[np.ndarray], min_faces: list[float], *, pad: bool,
                     border_only: list[bool]) -> list[list[Detection]]:
        """``FaceDetector._detect_scaled`` for each image: working copy, cascade, mapping back."""
        det = self.detector
        works, frames, mins = [], [], []
        for rgb, min_face in zip(rgbs, min_faces):
            h, w = rgb.shape[:2]
            grow = 2.0 if pad else 1.0
            factor = min(1.0, det.max_side / (grow * max(h, w)))
            work = mtcnn._Octaves(rgb).resize(max(1, round(w * factor)), max(1, round(h * factor)))
            fx, fy = w / work.shape[1], h / work.shape[0]
            px = py = 0
            if pad:
                min_face = max(det.min_face_size, min_face / max(fx, fy))
                py, px = (work.shape[0] + 1) // 2, (work.shape[1] + 1) // 2
                work = cv2.copyMakeBorder(work, py, py, px, px, cv2.BORDER_CONSTANT, value=(0, 0, 0))
            works.append(work)
            frames.append((w, h, fx, fy, px, py))
            mins.append(min_face)
        out = []
        for (boxes, scores, points), (w, h, fx, fy, px, py), only_border in zip(
                self._cascade_many(works, mins), frames, border_only):
            found = []
            for box, score, pts in zip(boxes, scores, points):
                if score < det.min_score:
                    continue
                raw = ((box[0] - px) * fx, (box[1] - py) * fy, (box[2] - px) * fx, (box[3] - py) * fy)
                if only_border and raw[0] >= 0 and raw[1] >= 0 and raw[2] <= w and raw[3] <= h:
                    continue
                mapped = mtcnn._clip_box(raw, w, h)
                if mapped is None:
                    continue
                lm = np.empty((5, 2), np.float32)
                lm[:, 0] = (pts[:, 0] - px + 0.5) * fx - 0.5
                lm[:, 1] = (pts[:, 1] - py + 0.5) * fy - 0.5
                found.append(Detection(mapped, float(score), lm))
            out.append(found)
        return out

    def _cascade_many(self, imgs: list[np.ndarray], min_faces: list[float]
                      ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``FaceDetector._cascade`` for each image, each stage's network called once for all images."""
        nets = _networks(self.detector)
        t1, t2, t3 = self.detector.thresholds
        empty = (np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))
        octaves = [mtcnn._Octaves(img) for img in imgs]
        boxes = _stage1_many(octaves, min_faces, nets["pnet"], t1)

        # Stage 2: R-Net on the 24×24 crops of every image's squared candidates, one call.
        boxes = [mtcnn._square(b) if len(b) else b for b in boxes]
        outs = _run_split(nets["rnet"], [o.crops(b, 24) for o, b in zip(octaves, boxes)])
        stage2 = []
        for b, out in zip(boxes, outs):
            scores = mtcnn._face_probability(out) if len(out) else np.zeros(0, np.float32)
            keep = scores > t2
            b, reg, scores = b[keep], out[keep, 2:6], scores[keep]
            if not len(b):
                stage2.append(b)
                continue
            keep = mtcnn._nms(b, scores, mtcnn.NMS_STAGE2)
            stage2.append(mtcnn._square(mtcnn._regress(b[keep], reg[keep])))

        # Stage 3: O-Net on the 48×48 crops, one call: final score, box refinement, landmarks.
        outs = _run_split(nets["onet"], [o.crops(b, 48) for o, b in zip(octaves, stage2)])
        result = []
        for b, out in zip(stage2, outs):
            scores = mtcnn._face_probability(out) if len(out) else np.zeros(0, np.float32)
            keep = scores > t3
            b, reg, lm, scores = b[keep], out[keep, 2:6], out[keep, 6:16], scores[keep]
            if not len(b):
                result.append(empty)
                continue
            wh = b[:, 2:4] - b[:, 0:2]
            points = np.stack([b[:, None, 0] + lm[:, 0:5] * wh[:, None, 0],
                               b[:, None, 1] + lm[:, 5:10] * wh[:, None, 1]], axis=2) - 0.5
            b = mtcnn._regress(b, reg)
            keep = mtcnn._nms(b, scores, mtcnn.NMS_STAGE3, mode="min")
            result.append((b[keep], scores[keep], points[keep].astype(np.float32)))
        return result


def _networks(detector: FaceDetector) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """The detector's loaded networks by name (pnet, rnet, onet), each taking an N×3×H×W float32 batch."""
    return detector._loaded()  # the shared model base's loader (models/runtime.LazyNetwork): loads once


def _stage1_many(octaves: list[Any], min_faces: list[float], pnet: Callable[[np.ndarray], np.ndarray],
                 threshold: float) -> list[np.ndarray]:
    """``mtcnn._stage1`` for each image; pyramid levels of equal size (across images) share P-Net calls."""
    min_logit = math.log(threshold / (1.0 - threshold))
    # Every image's pyramid: (image, level index, scale, level size), exactly as _stage1 walks it.
    levels: dict[tuple[int, int], list[tuple[int, int, int, int]]] = defaultdict(list)
    sizes: list[list[tuple[int, int]]] = [[] for _ in octaves]
    for i, (oct_, min_face) in enumerate(zip(octaves, min_faces)):
        h, w = oct_.levels[0].shape[:2]
        scale = 12.0 / min_face
        while min(h, w) * scale >= 12:
            sh, sw = int(math.ceil(h * scale)), int(math.ceil(w * scale))
            levels[(sh, sw)].append((i, len(sizes[i]), sh, sw))
            sizes[i].append((sh, sw))
            scale *= mtcnn.PYRAMID_FACTOR
    maps: dict[tuple[int, int], np.ndarray] = {}
    for (sh, sw), members in levels.items():
        for start in range(0, len(members), PNET_MAX_BATCH):
            chunk = members[start:start + PNET_MAX_BATCH]
            blob = np.concatenate([mtcnn._blob(octaves[i].resize(sw, sh)) for i, _k, _h, _w in chunk])
            for (i, k, _h, _w), out in zip(chunk, pnet(blob)):
                maps[(i, k)] = out
    result = []
    for i, oct_ in enumerate(octaves):
        h, w = oct_.levels[0].shape[:2]
        candidates = []
        for k, (sh, sw) in enumerate(sizes[i]):
            out = maps[(i, k)]
            ys, xs = np.nonzero(out[1] - out[0] >= min_logit)
            if not len(ys):
                continue
            sx, sy = w / sw, h / sh
            b = np.stack([2 * xs * sx, 2 * ys * sy, (2 * xs + 12) * sx, (2 * ys + 12) * sy], axis=1)
            cells = out[:, ys, xs].T
            s = mtcnn._face_probability(cells)
            keep = mtcnn._nms(b, s, mtcnn.NMS_SCALE)
            candidates.append(np.concatenate([b[keep], s[keep, None], cells[keep, 2:6]], axis=1))
        if not candidates:
            result.append(np.zeros((0, 4), np.float32))
            continue
        allc = np.concatenate(candidates)
        keep = mtcnn._nms(allc[:, :4], allc[:, 4], mtcnn.NMS_STAGE1)
        result.append(mtcnn._regress(allc[keep, :4], allc[keep, 5:9]))
    return result


def _run_split(run: Callable[[np.ndarray], np.ndarray], parts: list[np.ndarray]) -> list[np.ndarray]:
    """Run one network on the concatenation of ``parts`` (each N_i×…) and split its output back."""
    sizes = [len(p) for p in parts]
    if not sum(sizes):
        return [np.zeros((0, 16), np.float32) for _ in parts]
    out = mtcnn._run_batched(run, np.concatenate([p for p in parts if len(p)]))
    return np.split(out, np.cumsum(sizes)[:-1])


# ---------------------------------------------------------------------------------------------- analysis

@dataclass(frozen=True)
class Decoded:
    """What a CPU worker hands the owner: a photo decoded at detection size, or why it was skipped."""

    path: str
    image: DecodedImage | None = None
    skipped: str | None = None


def skip_reason(exc: BaseException) -> str:
    """The reason recorded for a photo whose analysis raised ``exc`` (the per-photo worker's wording)."""
    if isinstance(exc, FaceOrganizerError):
        return str(exc)
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "file vanished during import"
    if isinstance(exc, MemoryError):
        return "image too large to decode in memory"
    return f"unexpected error: {type(exc).__name__}: {exc}"


def decode_photo(path: str) -> Decoded:
    """A CPU worker's share: read and decode at detection size (reduced-size JPEG decode)."""
    try:
        return Decoded(path, image=load_image(path, draft_size=DETECT_SIDE))
    except Exception as exc:  # noqa: BLE001 - a bad file is a skip, never a stopped import
        return Decoded(path, skipped=skip_reason(exc))


class BatchedAnalyzer:
    """Per-photo analyses of several decoded photos, detection batched (see the module doc)."""

    def __init__(self, analyzer: FaceAnalyzer) -> None:
        self.analyzer = analyzer
        self.detector = BatchedDetector(analyzer.detector)
        #: Owner-thread seconds by step (for the benchmark's time split).
        self.seconds: dict[str, float] = defaultdict(float)

    def analyze_decoded(self, items: Sequence[tuple[str, DecodedImage]],
                        load_full: Callable[[str], DecodedImage] = load_image) -> list[PhotoAnalysis]:
        """What ``analyzer.analyze_file(path)`` returns for each (path, detection-size decode) pair."""
        t = time.perf_counter()
        found = self.detector.detect_many([small.rgb for _path, small in items])
        self.seconds["detect"] += time.perf_counter() - t
        t = time.perf_counter()
        out = []
        for (path, small), detections in zip(items, found):
            # As FaceAnalyzer.analyze_file: chips from a full-size decode when some face is small here.
            to_full = small.width / small.rgb.shape[1]
            source, source_scale = small.rgb, 1.0
            if any((d.box[2] - d.box[0]) < CHIP_SOURCE_MIN for d in detections) and to_full > 1.01:
                full = load_full(path)
                source, source_scale = full.rgb, full.rgb.shape[1] / small.rgb.shape[1]
            faces = self.analyzer._faces(source, detections, source_scale, to_full)
            out.append(PhotoAnalysis(small.width, small.height, small.taken_at, small.orientation, faces))
        self.seconds["align+attributes"] += time.perf_counter() - t
        return out
