"""Application start-up: QApplication, the library (argument, last used, or default), the window, the loop."""

from __future__ import annotations

import logging
import sys
import threading
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from faceorganizer import __version__
from faceorganizer.errors import FaceOrganizerError
from faceorganizer.library import Library, preload_runtimes
from faceorganizer.log import setup_logging
from faceorganizer.settings import load_settings, save_settings, updated
from faceorganizer.gui.workers import RUNTIMES_READY

log = logging.getLogger("faceorganizer.gui")


def _preload() -> None:
    try:
        log.info("native libraries loaded in %.2f s", preload_runtimes())
    except Exception:  # noqa: BLE001 - a failed preload only moves the cost to the first import
        log.exception("preloading native libraries failed")
    finally:
        RUNTIMES_READY.set()


def preload_in_background() -> threading.Thread:
    """Load the native libraries behind the first window (the window shows in ~1 s instead of ~9 s)."""
    thread = threading.Thread(target=_preload, name="preload-runtimes", daemon=True)
    thread.start()
    return thread


def make_app(argv: list[str] | None = None, *, preload: bool = True) -> QApplication:
    """The QApplication (created once), named so that QSettings and the desktop find it. With ``preload`` the
    native libraries load now, before any window (tests, benches); the app itself loads them behind its window."""
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
    if preload and not RUNTIMES_READY.is_set():
        # Loaded once, before the first import: importing them from the import job's thread holds the GIL long
        # enough to freeze the window (measured: 186 ms stalls; see bench/bench_gui_stall.py).
        _preload()
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
    started = time.perf_counter()
    setup_logging()
    from faceorganizer.gui.qtcheck import check_display

    problem = check_display()
    if problem:  # Qt would abort with "could not load the Qt platform plugin xcb", naming nothing
        log.error("%s", problem)
        print(f"faceorganizer: error: {problem}", file=sys.stderr)
        return 2
    app = make_app(preload=False)
    try:
        lib = open_library(library)
    except FaceOrganizerError as exc:
        QMessageBox.critical(None, "FaceOrganizer", f"Cannot open the library:\n{exc}")
        return 2
    from faceorganizer.gui.mainwindow import MainWindow

    window = MainWindow(lib)
    window.errors.install_excepthook()
    window.show()
    log.info("GUI started on %s: first window after %.2f s", lib.folder, time.perf_counter() - started)
    preload_in_background()
    try:
        return app.exec()
    finally:
        lib.close()
