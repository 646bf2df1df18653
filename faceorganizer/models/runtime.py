"""The one place that decides where networks run (onnxruntime or PyTorch, CPU or CUDA) and logs why.

Rule (measured on this project's 2-core CPU machines and noted in ../shared/docs/models.md §2):

- CUDA present (a CUDA build of torch sees a GPU): PyTorch on the GPU in fp16 with channels-last memory —
  the lent GPU machines have CUDA torch but only the CPU onnxruntime. Without CUDA torch, onnxruntime's CUDA
  provider (the ``onnxruntime-gpu`` wheel) is used when it is installed.
- CPU only: onnxruntime (3.3 ms/face for the embedder at batch 32, against 4–5 ms for PyTorch), unless its
  ONNX file is missing, then PyTorch.

onnxruntime's TensorRT provider is never picked: it builds an engine per input shape at first use (minutes),
which a desktop app with varying batch sizes cannot afford.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np

from faceorganizer.errors import SettingsError

if TYPE_CHECKING:
    import onnxruntime

log = logging.getLogger("faceorganizer.models")

BACKENDS = ("auto", "onnx", "torch")
DEVICES = ("auto", "cpu", "cuda")
_CPU = "CPUExecutionProvider"
_CUDA = "CUDAExecutionProvider"


@dataclass(frozen=True)
class BackendChoice:
    """Where a network runs: ``backend`` "onnx"|"torch", ``device`` "cpu"|"cuda", onnxruntime providers."""

    backend: str
    device: str
    providers: tuple[str, ...]
    reason: str

    @property
    def half(self) -> bool:
        """Whether inference runs in fp16 (PyTorch on CUDA only)."""
        return self.backend == "torch" and self.device == "cuda"

    def __str__(self) -> str:
        precision = "fp16" if self.half else "fp32"
        return f"{self.backend} on {self.device} ({precision}; {self.reason})"


def cpu_count() -> int:
    """Cores this process may use (respects affinity masks and container CPU sets where the OS tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def torch_gpu_build() -> bool | None:
    """Whether the installed PyTorch was built for a GPU (CUDA or ROCm), read from ``torch/version.py`` without
    importing torch; None when torch is absent, False for a CPU-only build, True when unsure."""
    spec = importlib.util.find_spec("torch")
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    try:
        text = Path(locations[0], "version.py").read_text()
    except (IndexError, OSError):
        return True
    # A CPU-only build writes ``cuda: Optional[str] = None`` and ``hip: Optional[str] = None``.
    built_for = re.findall(r"^(cuda|hip)\b[^=\n]*=\s*(.+)$", text, re.MULTILINE)
    return not built_for or any(value.strip() != "None" for _, value in built_for)


@lru_cache(maxsize=1)
def torch_cuda_available() -> bool:
    """True when an installed PyTorch build can use a CUDA GPU (imports torch, once, unless it is a CPU-only
    build: importing torch costs ~2 s of CPU and holds the GIL long enough to freeze a window for ~150 ms)."""
    if not torch_gpu_build():
        return False
    import torch

    return bool(torch.cuda.is_available())


@lru_cache(maxsize=1)
def onnx_providers() -> tuple[str, ...]:
    """onnxruntime's execution providers on this machine; empty when onnxruntime is not installed."""
    if importlib.util.find_spec("onnxruntime") is None:
        return ()
    import onnxruntime as ort

    return tuple(ort.get_available_providers())


def preload() -> float:
    """Import the native libraries the pipeline, search and grouping use (and probe the GPU); returns seconds.

    Importing torch, onnxruntime, faiss or scipy runs extension-module initialisers that hold the GIL for up
    to ~200 ms at a time; done lazily from a worker thread (the first import job), that freezes a GUI thread.
    The desktop app calls this once before its first window so those costs are paid at start-up instead.
    """
    import time

    start = time.perf_counter()
    for name in ("cv2", "onnxruntime", "faiss", "scipy.cluster.hierarchy", "scipy.spatial", "sklearn.cluster"):
        if importlib.util.find_spec(name.split(".")[0]) is not None:
            importlib.import_module(name)
    onnx_providers()
    torch_cuda_available()
    return time.perf_counter() - start


def pick_backend(preference: str = "auto", device: str = "auto", *, onnx_model: bool = True) -> BackendChoice:
    """Choose the backend and device for a network, following the module's rule, and log the choice.

    ``preference`` is "auto", "onnx" or "torch"; ``device`` is "auto", "cpu" or "cuda". ``onnx_model`` says
    whether the network exists as an ONNX file (when not, only PyTorch can run it). A request that this
    machine cannot honour (e.g. "cuda" without a GPU) falls back, with a warning in the log, rather than
    failing: a library made on a GPU machine must still open on a laptop.
    """
    if preference not in BACKENDS:
        raise SettingsError(f"backend must be one of {', '.join(BACKENDS)}, not {preference!r}")
    if device not in DEVICES:
        raise SettingsError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")

    providers = onnx_providers()
    ort_cuda = _CUDA in providers and onnx_model
    torch_cuda = device != "cpu" and preference != "onnx" and torch_cuda_available()
    choice: BackendChoice | None = None
    fallback = ""

    if device in ("auto", "cuda"):
        if preference in ("auto", "torch") and torch_cuda:
            choice = BackendChoice("torch", "cuda", (), "CUDA GPU found; PyTorch fp16 channels-last")
        elif preference in ("auto", "onnx") and ort_cuda:
            choice = BackendChoice("onnx", "cuda", (_CUDA, _CPU), "CUDA GPU found via onnxruntime-gpu")
        elif device == "cuda":
            fallback = "no usable CUDA GPU for this backend; "

    if choice is None:
        can_onnx = _CPU in providers and onnx_model
        if preference == "torch":
            choice = BackendChoice("torch", "cpu", (), fallback + "PyTorch requested")
        elif not can_onnx:
            if preference == "onnx":
                fallback += "onnxruntime requested; "
            choice = BackendChoice("torch", "cpu", (), fallback + "onnxruntime or the ONNX file is missing")
        else:
            reason = "onnxruntime requested" if preference == "onnx" else "CPU only; onnxruntime is faster there"
            choice = BackendChoice("onnx", "cpu", (_CPU,), fallback + reason)

    if fallback:
        log.warning("backend %s/%s not available: using %s", preference, device, choice)
    else:
        log.info("backend: %s", choice)
    return choice


def ort_session(path: Path | str, choice: BackendChoice | None = None, *,
                threads: int | None = None) -> onnxruntime.InferenceSession:
    """An onnxruntime session for ``path`` on the choice's providers (CPU when ``choice`` is not onnx).

    ``threads`` is onnxruntime's intra-op thread count (default: every core this process may use); several
    sessions running at once (e.g. the embedder beside the age/gender nets) should split the cores.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads if threads and threads > 0 else cpu_count()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # onnxruntime's own warnings (e.g. unused initialisers) are noise here
    providers = list(choice.providers) if choice is not None and choice.backend == "onnx" else [_CPU]
    return ort.InferenceSession(str(path), sess_options=options, providers=providers)


Loaded = TypeVar("Loaded")


class LazyNetwork(Generic[Loaded]):
    """The shared base of the networks: backend choice on first need, weights loaded once, thread-safely.

    A subclass implements :meth:`_load` (build what runs the network on the chosen backend) and, when its
    network may lack an ONNX file, :meth:`_has_onnx`. Callers use :attr:`backend` (cheap: loads no weights),
    :meth:`load` (load now; the first use otherwise does) and :meth:`_loaded` inside their own methods.
    """

    def __init__(self, preference: str = "auto", device: str = "auto", *, threads: int | None = None) -> None:
        self._preference = preference
        self._device = device
        self._threads = threads
        self._choice: BackendChoice | None = None
        self._model: Loaded | None = None
        self._lock = threading.Lock()

    @property
    def backend(self) -> BackendChoice:
        """What runs the network (picked on first access; cheap, loads no weights)."""
        if self._choice is None:
            self._choice = pick_backend(self._preference, self._device, onnx_model=self._has_onnx())
        return self._choice

    def load(self) -> None:
        """Load the network now (otherwise its first use does); raises ModelMissingError when it is absent."""
        self._loaded()

    def _loaded(self) -> Loaded:
        with self._lock:
            if self._model is None:
                self._model = self._load(self.backend)
            return self._model

    def _has_onnx(self) -> bool:
        """Whether the network exists as an ONNX file (when not, only PyTorch can run it)."""
        return True

    def _load(self, choice: BackendChoice) -> Loaded:
        raise NotImplementedError


def embed_in_batches(load: Callable[[], Callable[[np.ndarray], np.ndarray]], chips: np.ndarray, *, size: int,
                     dim: int, batch: int, flip: bool = False) -> np.ndarray:
    """A network (``load()`` gives it: uint8 N×size×size×3 chips → N×dim) over ``chips`` (or one chip) in
    batches of ``batch``, as float32; ``load`` is not called for no chips (no weights loaded for nothing).

    With ``flip`` each row is the sum of the chip's output and its mirror image's (both in one batch).
    """
    chips = np.asarray(chips)
    if chips.ndim == 3:
        chips = chips[None]
    if chips.ndim != 4 or chips.shape[1:] != (size, size, 3) or chips.dtype != np.uint8:
        raise ValueError(f"expected uint8 chips N×{size}×{size}×3, got {chips.dtype} {chips.shape}")
    out = np.empty((len(chips), dim), dtype=np.float32)
    if not len(chips):
        return out
    run = load()
    for start in range(0, len(chips), batch):
        part = chips[start:start + batch]
        if flip:
            both = run(np.concatenate([part, part[:, :, ::-1]]))
            out[start:start + len(part)] = both[:len(part)] + both[len(part):]
        else:
            out[start:start + len(part)] = run(part)
    return out


class ChipEmbedder(LazyNetwork[Callable[[np.ndarray], np.ndarray]]):
    """The shared base of the embedding networks: square uint8 RGB chips in, float32 vectors out, in batches.

    A subclass sets :attr:`onnx_key` (its registry key), :attr:`chip_size`, :attr:`dim` and implements
    ``_load``. ``preference``/``device`` go to :func:`pick_backend`; ``threads`` is the onnxruntime intra-op
    thread count (default: all cores); ``batch_size`` overrides the per-device batch.
    """

    onnx_key = ""
    chip_size = 0
    dim = 0
    cpu_batch = 32
    gpu_batch = 256

    def __init__(self, preference: str = "auto", device: str = "auto", *, threads: int | None = None,
                 batch_size: int | None = None) -> None:
        super().__init__(preference, device, threads=threads)
        self._batch_size = batch_size

    def _has_onnx(self) -> bool:
        from faceorganizer.models.registry import model_path

        return model_path(self.onnx_key, must_exist=False).is_file()

    @property
    def batch_size(self) -> int:
        if self._batch_size:
            return self._batch_size
        return self.gpu_batch if self.backend.device == "cuda" else self.cpu_batch

    def embed(self, chips: np.ndarray, flip: bool = False) -> np.ndarray:
        """Embeddings (float32 N×dim, not normalised) of uint8 RGB chips N×size×size×3 (or one chip); with
        ``flip`` each row is the sum of the chip's embedding and its mirror image's (the seed paper's flip
        fusion; the analyzer halves it)."""
        return embed_in_batches(self._loaded, chips, size=self.chip_size, dim=self.dim, batch=self.batch_size,
                                flip=flip)
