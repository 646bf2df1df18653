"""How long the GUI thread stalls while the window imports the shared photos (target: longest ≤ 100 ms).

Usage: QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui_stall.py [--runs 2] [--workers N] [--profile]

Opens the real main window on a new library in a temporary folder, imports ``../shared/faces`` through
``MainWindow.import_paths`` (what File ▸ Add folder… and drag-and-drop call) and measures the gaps between
ticks of a 10 ms precise timer on the GUI thread (:class:`faceorganizer.gui.workers.StallMeter`). Each run
uses a fresh library. ``--profile`` runs cProfile on the GUI thread only and prints what it spent time on.
Prints one table with the longest stall, the 99th-percentile gap, the gaps over 30 ms, the import time and
the machine's load.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("FACEORGANIZER_SHARED_FACES", ROOT.parent / "shared" / "faces"))


def one_run(workers: int | None, profile: bool) -> dict:
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from faceorganizer.gui.main import make_app
    from faceorganizer.gui.mainwindow import MainWindow
    from faceorganizer.library import Library
    from faceorganizer.settings import updated

    app = make_app([])
    with tempfile.TemporaryDirectory() as tmp:
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
        lib = Library.open(Path(tmp) / "lib")
        if workers:
            lib.settings = updated(lib.settings, workers=workers)
        window = MainWindow(lib, restore=False)
        window.errors.interactive = False
        window.show()
        app.processEvents()
        gaps: list[float] = []
        loop = QEventLoop()
        result: dict = {}

        def finished(progress) -> None:  # noqa: ANN001
            result["progress"] = progress
            QTimer.singleShot(500, loop.quit)  # let the views refresh after the job, inside the measurement

        window.importer.finished.connect(finished)
        # Record every tick gap, not just the longest, for a percentile.
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append((now - last[0]) * 1000 - 10)
            last[0] = now

        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(tick)
        profiler = cProfile.Profile() if profile else None
        t0 = time.perf_counter()
        from faceorganizer.gui.workers import StallMeter

        window.stall = StallMeter(parent=window)  # a bench instrument: only where measured
        window.stall.start()
        timer.start()
        if profiler:
            profiler.enable()
        window.import_paths([SHARED])
        loop.exec()
        if profiler:
            profiler.disable()
        timer.stop()
        longest = window.stall.stop()
        elapsed = time.perf_counter() - t0
        if window.skipped_dialog is not None:
            window.skipped_dialog.close()
        window.close()
        app.processEvents()
        lib.close()
    gaps.sort()
    out = {"longest": longest, "p99": gaps[int(len(gaps) * 0.99)] if gaps else 0.0,
           "over30": sum(g > 30 for g in gaps), "ticks": len(gaps), "elapsed": elapsed,
           "photos": result["progress"].photos_added if "progress" in result else 0}
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
        out["profile"] = text.getvalue()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rows = [one_run(args.workers, args.profile) for _ in range(args.runs)]
    print(f"\nGUI-thread stalls while the window imports {SHARED} (load {load:.1f} at start, "
          f"{os.getloadavg()[0]:.1f} at end, {os.cpu_count()} cores)")
    print(f"{'run':>3} {'photos':>6} {'import s':>8} {'ticks':>6} {'longest ms':>10} {'p99 ms':>7} {'gaps>30ms':>9}")
    for n, r in enumerate(rows, 1):
        print(f"{n:>3} {r['photos']:>6} {r['elapsed']:>8.1f} {r['ticks']:>6} {r['longest']:>10.1f} "
              f"{r['p99']:>7.1f} {r['over30']:>9}")
    print("target: longest ≤ 100 ms")
    for r in rows:
        if "profile" in r:
            print(r["profile"])


if __name__ == "__main__":
    main()
