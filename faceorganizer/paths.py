"""Where things live on disk: per-user data, config and log dirs (platformdirs), and the default library.

Environment overrides (used by tests, CI and portable installs):
``FACEORGANIZER_DATA_DIR``, ``FACEORGANIZER_CONFIG_DIR``, ``FACEORGANIZER_LOG_DIR`` and
``FACEORGANIZER_MODELS_DIR`` (weights shared by all libraries).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "FaceOrganizer"


def _env_dir(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser() if value else Path(default)


def data_dir() -> Path:
    """Per-user data directory (models and the default library live below it)."""
    return _env_dir("FACEORGANIZER_DATA_DIR", platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """Per-user config directory holding ``settings.json``."""
    return _env_dir("FACEORGANIZER_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    """Per-user log directory holding the rotating ``faceorganizer.log``."""
    return _env_dir("FACEORGANIZER_LOG_DIR", platformdirs.user_log_dir(APP_NAME, appauthor=False))


def models_dir() -> Path:
    """Installed weight files, shared by every library of this user."""
    value = os.environ.get("FACEORGANIZER_MODELS_DIR")
    return Path(value).expanduser() if value else data_dir() / "models"


def default_library_dir() -> Path:
    """The library opened when none is named."""
    return data_dir() / "Library"
