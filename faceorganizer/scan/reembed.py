"""Re-embedding after a model change: every face keeps its id, so names, confirmations and rejections stay.

Faces whose ``embed_model`` differs from the current analyzer's model id are re-aligned from their stored
landmarks on a fresh full-resolution decode of their photo and embedded again; then automatic assignments are
refreshed by the ``after`` steps the caller gives (the ``Library``: recluster, face codes), with the fitted
code codec dropped first (codes are fitted per embedding model). Confirmed faces and names are untouched.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import sqlite_utils

from faceorganizer.errors import FaceOrganizerError
from faceorganizer.paths import text_to_path
from faceorganizer.pipeline.align import align_arcface, align_face
from faceorganizer.pipeline.decode import load_image
from faceorganizer.store import faces as face_store
from faceorganizer.store import photos as photo_store
from faceorganizer.store import queries, transaction

if TYPE_CHECKING:
    from faceorganizer.pipeline.analyzer import FaceAnalyzer

log = logging.getLogger("faceorganizer.scan")

#: Photos decoded per embedding batch (and per progress tick).
PHOTO_BATCH = 16


@dataclass
class ReembedProgress:
    stage: str = "re-embedding"
    photos_done: int = 0
    photos_total: int = 0
    faces_done: int = 0
    failed: int = 0
    elapsed: float = 0.0


def reembed_job(*, writer: Callable[[], sqlite_utils.Database], analyzer: Callable[[], FaceAnalyzer],
                after: Sequence[tuple[str, Callable[[sqlite_utils.Database], object]]] = (),
                cancel: threading.Event | None = None) -> Iterator[ReembedProgress]:
    """Re-embed every face of an older model id; yields after each photo batch; cancellable.

    ``writer`` opens the job's own connection; ``analyzer`` returns the loaded analyzer (called when the job
    starts); ``after`` runs on the writer once every face was re-embedded.
    """
    cancel = cancel or threading.Event()
    embedder = analyzer()
    model_id = embedder.model_id
    db = writer()
    t0 = time.perf_counter()
    progress = ReembedProgress()
    try:
        photos = face_store.photos_with_stale_embeddings(db, model_id)
        progress.photos_total = len(photos)
        yield progress
        for start in range(0, len(photos), PHOTO_BATCH):
            if cancel.is_set():
                progress.stage = "cancelled"
                break
            chips, sface_chips, face_ids = [], [], []
            for photo_id in photos[start:start + PHOTO_BATCH]:
                path = photo_store.photo_path(db, photo_id)
                try:
                    image = load_image(text_to_path(path))
                except (FaceOrganizerError, OSError) as exc:
                    log.warning("cannot re-embed faces of %s: %s", path, exc)
                    progress.failed += 1
                    continue
                for face_id, landmarks in face_store.stale_faces(db, photo_id, model_id):
                    points = queries.landmarks_of(landmarks)
                    chips.append(align_face(image.rgb, points))
                    sface_chips.append(align_arcface(image.rgb, points))
                    face_ids.append(face_id)
                progress.photos_done += 1
            if chips:
                vectors = embedder.embed_chips(np.stack(chips), np.stack(sface_chips))
                updates = [(v.astype(np.float32).tobytes(), model_id, f) for v, f in zip(vectors, face_ids)]
                with transaction(db):
                    face_store.set_embeddings(db, updates)
                progress.faces_done += len(updates)
            progress.elapsed = time.perf_counter() - t0
            yield progress
        if progress.stage != "cancelled":
            progress.stage = "grouping"
            yield progress
            face_store.forget_codec(db)
            for _name, step in after:
                step(db)
            progress.stage = "done"
            progress.elapsed = time.perf_counter() - t0
            yield progress
    finally:
        db.conn.close()
