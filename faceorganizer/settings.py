"""User settings: one JSON file in the config dir, validated on load and migrated between versions.

Settings are plain data (no QSettings): the CLI and the GUI read the same file, and the GUI's settings dialog
edits a copy and saves it through :func:`save_settings`.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from faceorganizer import paths
from faceorganizer.errors import SettingsError

log = logging.getLogger("faceorganizer.settings")

SETTINGS_VERSION = 3


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
    flip_fusion: bool = True  # embed each face and its mirror image, keep the mean (measured, see README)
    calibrated_scores: bool = False  # rank search results by IDA-calibrated scores (measured: no gain, README)
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
    """Bring an older settings dict up to the current version (``version`` already checked to be an int)."""
    version = raw.get("version", 1)
    if version < 2:
        # v1 called the grouping threshold "threshold" and the device "gpu": true/false.
        if "threshold" in raw:
            raw["cluster_threshold"] = raw.pop("threshold")
        if "gpu" in raw:
            raw["device"] = "cuda" if raw.pop("gpu") else "auto"
    if version < 3 and raw.get("flip_fusion", False) is False and raw.get("cluster_threshold", 0.55) == 0.55:
        # v2's defaults (no flip fusion at 0.55) become v3's (flip fusion at 0.55: measured better on lfw_dev,
        # README); a user who chose other values keeps them. The library re-embeds its faces on next use.
        raw["flip_fusion"] = True
    if version < 3 and raw.get("calibrated_scores", True) is True:
        # v2's default: calibration won with dlib alone; with the fused embedding plain distances rank as well
        # or better (lfw_dev, README), so v3's default is off.
        raw["calibrated_scores"] = False
    raw["version"] = SETTINGS_VERSION
    return raw


def _coerce(key: str, value: Any, default: Any) -> Any:
    """``value`` as the type of ``default``, or ``ValueError`` naming what was expected.

    Strict on purpose: JSON ``null``, a string where a number belongs, a number too large for a float
    (``1e400`` reads as infinity) or a fractional count are mistakes to report, not values to guess at.
    """
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ValueError("must be true or false")
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("must be a whole number")
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise ValueError("must be a whole number")
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError("must be a number")
        return float(value)
    if not isinstance(value, str):
        raise ValueError("must be text")
    return value


def _bad(path: Path, key: str, value: Any, why: str) -> SettingsError:
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return SettingsError(f"{path.name} ({path}): setting {key}={shown} {why}; fix it there or delete the line "
                         "to use the default")


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
    except (OSError, ValueError, RecursionError) as exc:
        log.warning("settings file %s is unreadable (%s); using defaults", path, exc)
        return Settings()
    version = raw.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= SETTINGS_VERSION:
        raise _bad(path, "version", version, f"must be a whole number from 1 to {SETTINGS_VERSION}")
    raw = _migrate(raw)
    known = {f.name: f for f in fields(Settings)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            log.warning("ignoring unknown setting %r in %s", key, path)
            continue
        try:
            values[key] = _coerce(key, value, getattr(Settings(), key))
        except ValueError as exc:
            raise _bad(path, key, value, str(exc)) from None
    try:
        return Settings(**values).validated()
    except SettingsError as exc:
        # Name the file: the value came from there, and that is where the user fixes it (issue 15, item 18).
        raise SettingsError(f"{path.name} ({path}): {exc}; fix it there or delete the line to use the "
                            "default") from None


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
