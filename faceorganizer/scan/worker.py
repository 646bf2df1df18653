"""What a worker process does with one photo: decode, detect, align, attributes (no embedding, no database).

Workers load the face analyzer once (``init_worker``) and return plain picklable data; the import job owns the
embedder (one owner of the accelerator) and the database writer.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

from faceorganizer.errors import FaceOrganizerError, ModelCorruptError, ModelMissingError

log = logging.getLogger("faceorganizer.scan")

_analyzer = None


@dataclass(frozen=True)
class WorkerResult:
    """The outcome for one photo: an analysis, or the reason it was skipped."""

    path: str
    analysis: Any = None  # faceorganizer.pipeline.analyzer.PhotoAnalysis
    skipped: str | None = None
    regions: tuple[Any, ...] = ()  # named XMP face regions found beside or inside the file


def init_worker(settings_dict: dict[str, Any], threads: int = 1) -> None:
    """Process-pool initializer: limit threads (the pool is the parallelism) and load the models once."""
    global _analyzer
    # The thread limit reaches PyTorch through the environment, read when (and only if) a model needs torch:
    # on the onnxruntime backend a worker never imports it (~2 s of CPU per worker at start).
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["MKL_NUM_THREADS"] = str(threads)
    torch = sys.modules.get("torch")  # already imported (a forked worker): limit it now
    if torch is not None:
        torch.set_num_threads(threads)
    from faceorganizer.pipeline.analyzer import FaceAnalyzer
    from faceorganizer.settings import Settings

    _analyzer = FaceAnalyzer.from_settings(Settings(**settings_dict), threads=threads, with_embedder=False)


def set_analyzer(analyzer: Any) -> None:
    """Use an already loaded analyzer (in-process mode for small imports)."""
    global _analyzer
    _analyzer = analyzer


def analyze_photo(path: str) -> WorkerResult:
    """Analyze one photo; any failure becomes a skip reason, never an exception across the pool."""
    assert _analyzer is not None, "init_worker was not called"
    try:
        analysis = _analyzer.analyze_file(path)
        from faceorganizer.xmp import read_regions

        regions = tuple(r for r in read_regions(path) if r.name) if analysis.faces else ()
        return WorkerResult(path, analysis=analysis, regions=regions)
    except (ModelMissingError, ModelCorruptError):
        raise  # not the photo's fault: the whole import stops with the message naming the fix
    except FaceOrganizerError as exc:
        return WorkerResult(path, skipped=str(exc))
    except PermissionError:
        return WorkerResult(path, skipped="permission denied")
    except FileNotFoundError:
        return WorkerResult(path, skipped="file vanished during import")
    except MemoryError:
        return WorkerResult(path, skipped="image too large to decode in memory")
    except Exception as exc:  # a bad file must never stop an import: record why and go on
        log.exception("unexpected error analysing %r", path)
        return WorkerResult(path, skipped=f"unexpected error: {type(exc).__name__}: {exc}")
