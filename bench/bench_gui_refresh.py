"""GUI-thread stalls when the window re-reads a large library (what happens after every import batch or edit).

Usage: QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui_refresh.py [--faces 100000] [--refreshes 5]

Builds a real library file with ``--faces`` synthetic faces (``bench_filter.populate``: 70 % of them in 300
named people), opens the real main window on the People page, then asks it to re-read everything
``--refreshes`` times, 300 ms apart (``Pages.refresh_now``: what the window does when another connection
committed), while the stall meter records the gaps between 10 ms ticks on the GUI thread. Prints the longest
stall and every gap over 30 ms, with the machine's load. Target: any GUI stall ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--refreshes", type=int, default=5)
    args = parser.parse_args()

    from bench_filter import populate
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from faceorganizer.gui.main import make_app
    from faceorganizer.gui.mainwindow import MainWindow
    from faceorganizer.library import Library

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "lib"
        with Library.open(folder) as lib:
            populate(lib, args.faces, chip_bytes=0)
        app = make_app([])
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
        load = os.getloadavg()[0]
        lib = Library.open(folder)
        window = MainWindow(lib, restore=False)
        window.errors.interactive = False
        window.resize(1400, 900)
        window.show()
        window.show_view("people")
        for _ in range(50):
            app.processEvents()
        people = window.pages.people.model.rowCount()
        loop = QEventLoop()
        for k in range(args.refreshes):
            QTimer.singleShot(300 * k + 100, window.pages.refresh_now)
        QTimer.singleShot(300 * args.refreshes + 700, loop.quit)
        from faceorganizer.gui.workers import StallMeter

        window.stall = StallMeter(parent=window)  # a bench instrument: only where measured
        window.stall.start()
        loop.exec()
        longest = window.stall.stop()
        gaps = window.stall.gaps
        window.close()
        app.processEvents()
        lib.close()
    print(f"\nRe-reading the window {args.refreshes}× on a library of {args.faces:,} faces, {people} people "
          f"(load {load:.1f} at start, {os.getloadavg()[0]:.1f} at end, {os.cpu_count()} cores)")
    print(f"longest GUI-thread stall {longest:.1f} ms; gaps > 30 ms: {gaps or 'none'}; target ≤ 100 ms")


if __name__ == "__main__":
    main()
