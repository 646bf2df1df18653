"""Analysis on a Ray cluster: the import job's per-photo work runs in Ray actors instead of local processes.

Each actor loads the face analyzer once (like a local pool worker) and runs :func:`~faceorganizer.scan.worker.
analyze_photo` (decode, detect, align, attributes) on the photos it is sent; the results come back to the
driver, where the import job embeds them in batches and the one library writer stores them (SQLite keeps a
single writer). :class:`RayAnalysisPool` has the shape of the ``ProcessPoolExecutor`` the import job uses
(``submit(fn, path)`` → ``concurrent.futures.Future``, ``shutdown``), so discovery, hashing, progress, skips,
batching and storing are the local import's own code.

Crashes: actors restart after a crash (``max_restarts=-1``) and Ray re-runs the photos they held
(``max_task_retries=-1``), so a killed worker delays an import but loses nothing; the driver writes each photo
with all its faces in one transaction, so after a driver crash the next import skips every stored photo
(unchanged size and mtime) and analyses only the rest.

Photos must be readable by the workers at the path the driver sees (shared storage), or at a mapped path
(``path_map``: driver prefix → worker prefix). Before the first photo every actor checks that it can read the
import roots; a root it cannot read stops the import with one message naming the host and the path, and a
single file a worker cannot read is skipped with that reason.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from faceorganizer.errors import FaceOrganizerError
from faceorganizer.scan.worker import WorkerResult, init_worker

INSTALL_HINT = ('the Ray engine needs Ray, which is not installed: pip install -e ".[cluster]" '
                '(or pip install "ray==2.60.0")')
#: Environment passed on to the actors when set on the driver (a local cluster shares the driver's weights).
FORWARDED_ENV = ("FACEORGANIZER_MODELS_DIR",)
#: Seconds to wait for every actor to load its models and answer the readability check.
START_TIMEOUT = 300.0


class RayUnavailableError(FaceOrganizerError):
    """Ray is not installed, or the cluster cannot be reached."""


class WorkerCannotReadError(FaceOrganizerError):
    """A Ray worker cannot read an import root: the photos are not on storage the workers share."""


def require_ray() -> Any:
    """The ``ray`` module, or :class:`RayUnavailableError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise RayUnavailableError(INSTALL_HINT) from None
    return ray


def map_path(path: str, path_map: Sequence[tuple[str, str]]) -> str:
    """The worker's path for a driver path: the first matching (driver prefix, worker prefix) is replaced."""
    for driver_prefix, worker_prefix in path_map:
        head = driver_prefix.rstrip(os.sep)
        if path == head or path.startswith(head + os.sep):
            return worker_prefix.rstrip(os.sep) + path[len(head):]
    return path


def cannot_read_reason(local_path: str) -> str:
    """The skip reason recorded for a photo the worker cannot open (names the host and the fix)."""
    return (f"Ray worker on {socket.gethostname()} cannot read {local_path}: photos must be on storage every "
            "worker mounts at the same path (or map the path)")


class _AnalysisActor:
    """One Ray actor: a loaded analyzer that analyses the photos it is sent, one at a time."""

    def __init__(self, settings: dict[str, Any], path_map: tuple[tuple[str, str], ...], threads: int) -> None:
        self.path_map = path_map
        init_worker(settings, threads)

    def where(self) -> tuple[str, int]:
        """(host name, process id): for messages, and for tests that kill a worker."""
        return socket.gethostname(), os.getpid()

    def unreadable(self, roots: list[str]) -> list[str]:
        """The roots this worker cannot read (as the worker sees them)."""
        bad = []
        for root in roots:
            local = map_path(root, self.path_map)
            if not os.access(local, os.R_OK) or (os.path.isdir(local) and not os.access(local, os.X_OK)):
                bad.append(local)
        return bad

    def analyze(self, fn: Callable[[str], WorkerResult], path: str) -> WorkerResult:
        local = map_path(path, self.path_map)
        if not os.access(local, os.R_OK):
            return WorkerResult(path, skipped=cannot_read_reason(local))
        return fn(local)


@dataclass(frozen=True)
class RayEngine:
    """Where the analysis runs: a Ray cluster (``address``; None starts a local one) and how many actors.

    ``actors`` defaults to one per CPU of the cluster; ``gpus_per_actor`` > 0 places actors on GPU nodes
    (set ``device = "cuda"`` in the library's settings so their detector runs there). ``on_start`` is called
    with each pool this engine starts (to show where the work runs, or for tests to reach the workers).
    """

    address: str | None = None
    actors: int | None = None
    path_map: tuple[tuple[str, str], ...] = ()
    gpus_per_actor: float = 0.0
    threads_per_actor: int = 1
    on_start: Callable[[RayAnalysisPool], None] | None = field(default=None, compare=False)

    def start(self, settings: dict[str, Any], roots: Sequence[str]) -> RayAnalysisPool:
        """Connect, start the actors, check that they can read ``roots``; the pool the import job submits to."""
        pool = RayAnalysisPool(self, settings, roots)
        if self.on_start is not None:
            self.on_start(pool)
        return pool


class RayAnalysisPool:
    """Ray actors with the executor shape the import job uses: ``submit(fn, path)`` and ``shutdown()``."""

    def __init__(self, engine: RayEngine, settings: dict[str, Any], roots: Sequence[str]) -> None:
        ray = require_ray()
        self._ray = ray
        self._owns_ray = False
        if not ray.is_initialized():
            try:
                ray.init(address=engine.address, include_dashboard=False, log_to_driver=False)
            except ConnectionError as exc:
                raise RayUnavailableError(f"cannot reach the Ray cluster at {engine.address}: {exc} (start it "
                                          "with `ray start --head`, or check --address)") from None
            self._owns_ray = True
        count = engine.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
        actor_cls = ray.remote(_AnalysisActor).options(
            num_cpus=engine.threads_per_actor, num_gpus=engine.gpus_per_actor, max_restarts=-1,
            max_task_retries=-1, runtime_env={"env_vars": env} if env else None)
        self.actors = [actor_cls.remote(settings, tuple(engine.path_map), engine.threads_per_actor)
                       for _ in range(count)]
        self.workers = count
        self._next = 0
        try:
            self._check_roots(list(roots))
        except BaseException:
            self.shutdown()
            raise

    def _check_roots(self, roots: list[str]) -> None:
        ray = self._ray
        try:
            answers = ray.get([a.unreadable.remote(roots) for a in self.actors], timeout=START_TIMEOUT)
            where = ray.get([a.where.remote() for a in self.actors], timeout=START_TIMEOUT)
        except ray.exceptions.GetTimeoutError:
            raise RayUnavailableError(f"the Ray workers did not start within {START_TIMEOUT:.0f} s: the cluster "
                                      "lacks the CPUs or GPUs asked for, or its nodes cannot import "
                                      "faceorganizer") from None
        except ray.exceptions.RayError as exc:
            first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
            raise RayUnavailableError(f"the Ray workers failed to start: {first}") from None
        for (host, _pid), bad in zip(where, answers):
            if bad:
                raise WorkerCannotReadError(
                    f"Ray worker on {host} cannot read {bad[0]}: photos must be on storage every worker mounts "
                    "at the same path (README: Ray)")

    def worker_pids(self) -> list[int]:
        """The actors' process ids (they change when an actor restarts)."""
        return [pid for _host, pid in self._ray.get([a.where.remote() for a in self.actors])]

    def submit(self, fn: Callable[[str], WorkerResult], path: str) -> Future[WorkerResult]:
        """Run ``fn(path)`` on the next actor (round robin: per-photo work is similar in cost)."""
        actor = self.actors[self._next % len(self.actors)]
        self._next += 1
        future: Future[WorkerResult] = actor.analyze.remote(fn, path).future()
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """Stop the actors (and the local Ray instance this pool started)."""
        for actor in self.actors if hasattr(self, "actors") else ():
            self._ray.kill(actor)
        self.actors = []
        if self._owns_ray:
            self._ray.shutdown()
