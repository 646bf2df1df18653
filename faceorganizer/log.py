"""Logging set-up: a rotating log file in the user's log dir, shared by the CLI and the GUI."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from faceorganizer import paths

LOG_NAME = "faceorganizer.log"
_configured = False


def log_file() -> Path:
    return paths.log_dir() / LOG_NAME


def setup_logging(level: int = logging.INFO, *, console: bool = False) -> Path:
    """Attach the rotating file handler (5 × 2 MB) to the package logger once; returns the log file path."""
    global _configured
    path = log_file()
    if _configured:
        return path
    logger = logging.getLogger("faceorganizer")
    logger.setLevel(level)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    except OSError:
        pass  # a read-only home must not stop the app; messages still reach the console handler if any
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        stream.setLevel(logging.WARNING)
        logger.addHandler(stream)
    _configured = True
    return path
