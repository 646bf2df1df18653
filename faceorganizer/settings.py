"""User settings: one JSON file in the config dir, validated on load and migrated between versions.

Settings are plain data (no QSettings): the CLI and the GUI read the same file, and the GUI's settings dialog
edits a copy and saves it through :func:`save_settings`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from faceorganizer import paths
from faceorganizer.errors import SettingsError

log = logging.getLogger("faceorganizer.settings")

SETTINGS_VERSION = 2


@dataclass(frozen=True)
class Settings:
    """Every user-visible setting with its default."""

    version: int = SETTINGS_VERSION
    library: str = ""  # last opened library folder; "" = the default library
    cluster_threshold: float = 0.55  # average-linkage distance in dlib space (people.cluster.DEFAULT_THRESHOLD)
    search_threshold: float = 0.6  # distance under which a search result counts as the same person
    min_face_size: int = 20  # smallest face the detector looks for, in pixels of its working copy (long side ≤ 1280)
    device: str = "auto"  # auto | cpu | cuda
    backend: str = "auto"  # auto | onnx | torch
    workers: int = 0  # 0 = follow the machine
    flip_fusion: bool = False  # embed each face and its mirror image (set by measurement, see README)
    calibrated_scores: bool = True  # rank search results by IDA-calibrated scores
    write_xmp: bool = True  # write person names to .xmp sidecars
    xmp_into_file: bool = False  # also embed them in the image file (never rewrites pixels)

    def validated(self) -> Settings:
        """Return self, or raise :class:`SettingsError` naming the bad value."""
        checks = [
            (0.1 <= self.cluster_threshold <= 1.5, "cluster_threshold must be between 0.1 and 1.5"),
            (0.1 <= self.search_threshold <= 1.5, "search_threshold must be between 0.1 and 1.5"),
            (8 <= self.min_face_size <= 1000, "min_face_size must be between 8 and 1000 pixels"),
            (self.device in ("auto", "cpu", "cuda"), "device must be auto, cpu or cuda"),
            (self.backend in ("auto", "onnx", "torch"), "backend must be auto, onnx or torch"),
            (0 <= self.workers <= 256, "workers must be between 0 (auto) and 256"),
        ]
        for ok, message in checks:
            if not ok:
                raise SettingsError(message)
        return self


def _migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring an older settings dict up to the current version."""
    version = int(raw.get("version", 1))
    if version < 2:
        # v1 called the grouping threshold "threshold" and the device "gpu": true/false.
        if "threshold" in raw:
            raw["cluster_threshold"] = raw.pop("threshold")
        if "gpu" in raw:
            raw["device"] = "cuda" if raw.pop("gpu") else "auto"
    raw["version"] = SETTINGS_VERSION
    return raw


def settings_path() -> Path:
    return paths.config_dir() / "settings.json"


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings file; a missing file gives defaults, an unreadable one is reported and replaced."""
    path = path or settings_path()
    if not path.is_file():
        return Settings()
    try:
        raw = json.loads(path.read_text())
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        log.warning("settings file %s is unreadable (%s); using defaults", path, exc)
        return Settings()
    raw = _migrate(raw)
    known = {f.name: f for f in fields(Settings)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            log.warning("ignoring unknown setting %r", key)
            continue
        default = getattr(Settings(), key)
        try:
            values[key] = type(default)(value) if not isinstance(default, bool) else bool(value)
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"setting {key}={value!r} is not a valid {type(default).__name__}") from exc
    return Settings(**values).validated()


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Validate and write the settings atomically."""
    settings.validated()
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2))
    os.replace(tmp, path)


def updated(settings: Settings, **changes: Any) -> Settings:
    """A copy with ``changes`` applied and validated."""
    return replace(settings, **changes).validated()
