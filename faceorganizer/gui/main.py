"""Application start-up: QApplication, the main window on a library, the event loop."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from faceorganizer.library import Library


def run(library: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("FaceOrganizer")
    lib = Library.open(library)
    window = QMainWindow()
    window.setWindowTitle(f"FaceOrganizer — {lib.folder}")
    stats = lib.stats()
    window.setCentralWidget(QLabel(f"{stats.photos} photos, {stats.faces} faces, {stats.people} people"))
    window.resize(1000, 700)
    window.show()
    code = app.exec()
    lib.close()
    return code
