"""The accelerator import engine: CPU threads read and decode, one owner thread runs the models batched.

:class:`BatchedEngine` plugs into the import job like the Ray engine (``ImportJob(engine=...)``): its pool
takes ``submit(analyze_photo, path)`` and answers, in submit order, with the same :class:`WorkerResult` the
per-photo worker gives, computed by :class:`~faceorganizer.pipeline.batched.BatchedAnalyzer` on batches of
photos (detection batched across photos; see that module).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from faceorganizer.errors import ModelCorruptError, ModelMissingError
from faceorganizer.models.mtcnn import FaceDetector
from faceorganizer.pipeline.analyzer import DETECT_SIDE, FaceAnalyzer
from faceorganizer.pipeline.batched import BATCH_PHOTOS, BatchedAnalyzer, Decoded, decode_photo, skip_reason
from faceorganizer.pipeline.decode import DecodedImage, load_image
from faceorganizer.scan.worker import WorkerResult, analyze_photo

log = logging.getLogger("faceorganizer.scan")


def _decoded(path: str, future: Future[Decoded]) -> Decoded:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a cancelled decode (import stopping) is a skip too
        return Decoded(path, skipped=skip_reason(exc))


@dataclass(frozen=True)
class BatchedEngine:
    """Import analysis in this process: ``decoders`` CPU threads decode, one owner thread runs the models.

    The owner's detector follows the library's ``backend``/``device`` settings (``device = "cuda"``: PyTorch
    on the GPU), or ``backend``/``device`` given here (tests run the GPU code with ``backend="torch",
    device="cpu"``); per-photo import workers, by contrast, always detect on their CPU.
    """

    decoders: int | None = None
    batch: int = BATCH_PHOTOS
    backend: str | None = None
    device: str | None = None
    on_start: Callable[[BatchedPool], None] | None = field(default=None, compare=False)

    def start(self, settings: dict[str, Any], roots: Sequence[str]) -> BatchedPool:
        """Load the models (detector on the accelerator) and start the decoders and the owner thread."""
        from faceorganizer.settings import Settings

        s = Settings(**settings)
        analyzer = FaceAnalyzer.from_settings(s, with_embedder=False)
        analyzer.detector = FaceDetector(min_face_size=s.min_face_size, max_side=DETECT_SIDE,
                                         preference=self.backend or s.backend, device=self.device or s.device)
        analyzer.detector.load()
        analyzer.agegender.load()  # before the first batch: a missing model fails here, not mid-import
        pool = BatchedPool(analyzer, decoders=self.decoders or max(1, (os.cpu_count() or 2) - 1), batch=self.batch)
        if self.on_start is not None:
            self.on_start(pool)
        return pool


class BatchedPool:
    """The executor shape the import job uses; photos are analysed in submit order, ``batch`` at a time."""

    def __init__(self, analyzer: FaceAnalyzer, *, decoders: int, batch: int) -> None:
        self.batched = BatchedAnalyzer(analyzer)
        self.batch = batch
        self.workers = max(decoders, batch)  # the job keeps 3× this in flight: batches fill while one runs
        self._decode = ThreadPoolExecutor(max_workers=decoders, thread_name_prefix="fo-decode")
        self._queue: queue.Queue[tuple[str, Future[Decoded], Future[WorkerResult]] | None] = queue.Queue()
        self._owner = threading.Thread(target=self._loop, name="fo-accelerator", daemon=True)
        self._owner.start()

    def submit(self, fn: Callable[[str], Any], path: str) -> Future[WorkerResult]:
        """Analyse ``path`` (``fn`` is the per-photo ``analyze_photo``; this pool runs its batched twin)."""
        if fn is not analyze_photo:
            raise ValueError("the batched pool runs analyze_photo only")
        result: Future[WorkerResult] = Future()
        self._queue.put((path, self._decode.submit(decode_photo, path), result))
        return result

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self.batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                batch.append(more)
            self._run(batch)

    def _run(self, batch: list[tuple[str, Future[Decoded], Future[WorkerResult]]]) -> None:
        t = time.perf_counter()
        decoded = [(path, _decoded(path, dec), res) for path, dec, res in batch]
        self.batched.seconds["wait-decode"] += time.perf_counter() - t
        ready = [(path, d.image, res) for path, d, res in decoded if d.image is not None]
        for path, d, res in decoded:
            if d.image is None:
                res.set_result(WorkerResult(path, skipped=d.skipped))
        if not ready:
            return
        try:
            analyses = self.batched.analyze_decoded([(p, img) for p, img, _ in ready], self._load_full)
        except (ModelMissingError, ModelCorruptError) as exc:
            for _p, _img, res in ready:
                res.set_exception(exc)  # the import stops with the message naming the fix
            return
        except Exception:  # noqa: BLE001 - one bad photo must not sink its batch: redo them one by one
            log.exception("batched analysis failed; analysing the batch photo by photo")
            for p, _img, res in ready:
                res.set_result(self._one(p))
            return
        from faceorganizer.xmp import read_regions

        for (path, _img, res), analysis in zip(ready, analyses):
            try:
                regions = tuple(r for r in read_regions(path) if r.name) if analysis.faces else ()
            except Exception as exc:  # noqa: BLE001
                res.set_result(WorkerResult(path, skipped=skip_reason(exc)))
                continue
            res.set_result(WorkerResult(path, analysis=analysis, regions=regions))

    def _one(self, path: str) -> WorkerResult:
        try:
            analysis = self.batched.analyze_decoded([(path, load_image(path, draft_size=DETECT_SIDE))],
                                                    self._load_full)[0]
            return WorkerResult(path, analysis=analysis)
        except Exception as exc:  # noqa: BLE001
            return WorkerResult(path, skipped=skip_reason(exc))

    def _load_full(self, path: str) -> DecodedImage:
        """A full-size decode for small faces' chips, on a CPU worker."""
        return self._decode.submit(load_image, path).result()

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        while cancel_futures:  # photos not yet taken by the owner are dropped
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[2].cancel()
        self._queue.put(None)
        if wait:
            self._owner.join()
        self._decode.shutdown(wait=wait, cancel_futures=cancel_futures)
