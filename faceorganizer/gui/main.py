"""Application start-up: QApplication, the library (argument, last used, or default), the window, the loop."""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from faceorganizer import __version__
from faceorganizer.errors import FaceOrganizerError
from faceorganizer.library import Library
from faceorganizer.log import setup_logging
from faceorganizer.settings import load_settings, save_settings, updated

log = logging.getLogger("faceorganizer.gui")


def make_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once), named so that QSettings and the desktop find it."""
    app = QApplication.instance()
    if app is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("FaceOrganizer")
    app.setOrganizationName("FaceOrganizer")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("faceorganizer")
    from faceorganizer.gui import icons

    app.setWindowIcon(icons.app_icon())
    if not getattr(app, "_runtimes_loaded", False):
        # Loaded here, once, because importing them later from the import job's thread holds the GIL long
        # enough to freeze the window (measured: 186 ms stalls; see bench/bench_gui_stall.py).
        from faceorganizer.models.runtime import preload

        log.info("native libraries loaded in %.2f s", preload())
        app._runtimes_loaded = True
    return app


def open_library(path: str | None) -> Library:
    """The library named, else the one used last, else the default; remembered for next time."""
    settings = load_settings()
    folder = path or settings.library or None
    library = Library.open(folder, settings=settings)
    if str(library.folder) != settings.library:
        try:
            save_settings(updated(settings, library=str(library.folder)))
        except (OSError, FaceOrganizerError) as exc:  # not remembering the library must not stop the app
            log.warning("cannot remember the library in the settings: %s", exc)
    return library


def run(library: str | None = None) -> int:
    """Open the main window on ``library`` and run the event loop; returns the exit code."""
    setup_logging()
    app = make_app()
    try:
        lib = open_library(library)
    except FaceOrganizerError as exc:
        QMessageBox.critical(None, "FaceOrganizer", f"Cannot open the library:\n{exc}")
        return 2
    from faceorganizer.gui.mainwindow import MainWindow

    window = MainWindow(lib)
    window.errors.install_excepthook()
    window.show()
    log.info("GUI started on %s", lib.folder)
    try:
        return app.exec()
    finally:
        lib.close()
