"""What an analysis engine gives the import job: a pool that analyses one photo a call, elsewhere.

The local process pool (``concurrent.futures.ProcessPoolExecutor``), ``ray_engine.RayEngine`` and
``batched_engine.BatchedEngine`` all fit; the job embeds and stores the results itself (one writer).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Protocol

from faceorganizer.scan.worker import WorkerResult


class AnalysisPool(Protocol):
    """Runs ``fn(path)`` (decode, detect, align, attributes) somewhere and hands back a future of the result."""

    def submit(self, fn: Callable[[str], WorkerResult], path: str, /) -> Future[WorkerResult]: ...

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None: ...


class AnalysisEngine(Protocol):
    """Starts an :class:`AnalysisPool` for one import of ``roots`` with the library's settings."""

    def start(self, settings: dict[str, Any], roots: Sequence[str]) -> AnalysisPool: ...
