"""Re-embedding after a model change: every face keeps its id, so names, confirmations and rejections stay.

Faces whose ``embed_model`` differs from the current analyzer's model id are re-aligned from their stored
landmarks on a fresh full-resolution decode of their photo and embedded again; then automatic assignments are
refreshed by a recluster (confirmed faces and names are untouched by construction).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from faceorganizer.errors import FaceOrganizerError
from faceorganizer.pipeline.align import align_face
from faceorganizer.pipeline.decode import load_image
from faceorganizer.scan.discover import text_to_path
from faceorganizer.store import queries, transaction

log = logging.getLogger("faceorganizer.scan")


@dataclass
class ReembedProgress:
    stage: str = "re-embedding"
    photos_done: int = 0
    photos_total: int = 0
    faces_done: int = 0
    failed: int = 0
    elapsed: float = 0.0


def reembed_job(library: Any, *, cancel: threading.Event | None = None) -> Iterator[ReembedProgress]:
    """Re-embed every face of an older model id; yields after each photo batch; cancellable."""
    cancel = cancel or threading.Event()
    analyzer = library.analyzer
    model_id = analyzer.model_id
    db = library.connect_writer()
    t0 = time.perf_counter()
    progress = ReembedProgress()
    try:
        photos = [r["photo_id"] for r in db.query(
            "SELECT DISTINCT photo_id FROM faces WHERE embed_model IS NOT ? ORDER BY photo_id", [model_id])]
        progress.photos_total = len(photos)
        yield progress
        for start in range(0, len(photos), 16):
            if cancel.is_set():
                progress.stage = "cancelled"
                break
            updates: list[tuple[bytes, str, int]] = []
            chips, face_ids = [], []
            for photo_id in photos[start:start + 16]:
                path = next(iter(db.query("SELECT path FROM photos WHERE id = ?", [photo_id])))["path"]
                try:
                    image = load_image(text_to_path(path))
                except (FaceOrganizerError, OSError) as exc:
                    log.warning("cannot re-embed faces of %s: %s", path, exc)
                    progress.failed += 1
                    continue
                for row in db.query("SELECT id, landmarks FROM faces WHERE photo_id = ? AND embed_model IS NOT ?",
                                    [photo_id, model_id]):
                    chips.append(align_face(image.rgb, queries.landmarks_of(row["landmarks"])))
                    face_ids.append(row["id"])
                progress.photos_done += 1
            if chips:
                vectors = analyzer.embed_chips(np.stack(chips))
                updates = [(v.astype(np.float32).tobytes(), model_id, f) for v, f in zip(vectors, face_ids)]
                with transaction(db):
                    db.conn.executemany("UPDATE faces SET embedding = ?, embed_model = ?, code = NULL, "
                                        "density = NULL WHERE id = ?", updates)
                progress.faces_done += len(updates)
            progress.elapsed = time.perf_counter() - t0
            yield progress
        if progress.stage != "cancelled":
            progress.stage = "grouping"
            yield progress
            from faceorganizer.people.grouping import recluster
            from faceorganizer.search.service import SearchService

            db.execute("DELETE FROM kv WHERE key = 'codec'")  # codes are fitted per embedding model
            recluster(db, library.settings.cluster_threshold)
            SearchService(db, library.cache_dir).ensure_codes()
            progress.stage = "done"
            progress.elapsed = time.perf_counter() - t0
            yield progress
    finally:
        db.conn.close()
