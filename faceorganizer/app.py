"""Starting the desktop app (the only place outside ``gui/`` that mentions it, and only lazily)."""

from __future__ import annotations


def run_gui(library: str | None = None) -> int:
    """Open the main window on ``library`` (default library when ``None``); returns the exit code."""
    from faceorganizer.gui.main import run

    return run(library)
