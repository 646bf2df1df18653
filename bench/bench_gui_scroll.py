"""Scrolling the face grid of a 100,000-face library: time to open the page and the GUI thread's frame gaps.

Usage: QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui_scroll.py [--faces 100000] [--seconds 8]

Builds a real library file with ``--faces`` synthetic face rows (``bench_filter.populate``: attributes,
embeddings, photos, people), every face unsorted and carrying a real JPEG chip cut from a shared photo, opens
the real main window on "Unsorted faces" (one grid of every face) and scrolls it the way a fast flick does:
a timer moves the scroll bar by one viewport height every 16 ms (60 Hz), down to the end of the grid (paging ids in as a
back. Meanwhile the GUI-thread stall meter records the gaps between 10 ms ticks, and the thumbnail loader
decodes chips off the GUI thread. Prints the time to show the page, pages scrolled, the longest gap and the
99th percentile, with the machine's load. Smooth means no gap well above a frame (16 ms).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
SHARED = Path(os.environ.get("FACEORGANIZER_SHARED_FACES", ROOT.parent / "shared" / "faces"))


def real_chip() -> bytes:
    """A 150×150 JPEG cut from a shared photo (what the import stores per face)."""
    from PIL import Image

    photo = sorted((SHARED / "identities").rglob("*.jpg"))[0]
    with Image.open(photo) as im:
        rgb = im.convert("RGB")
        side = min(rgb.size)
        crop = rgb.crop((0, 0, side, side)).resize((150, 150))
    buf = io.BytesIO()
    crop.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def build(folder: Path, n_faces: int) -> None:
    from bench_filter import populate

    from faceorganizer.library import Library
    from faceorganizer.store.db import transaction

    with Library.open(folder) as lib:
        populate(lib, n_faces, chip_bytes=0)
        chip = real_chip()
        with transaction(lib.db):
            lib.db.execute("DELETE FROM assignments")
            lib.db.conn.executemany("INSERT INTO face_chips (face_id, chip) VALUES (?, ?)",
                                    ((i + 1, chip) for i in range(n_faces)))


def scroll(folder: Path, seconds: float) -> dict:
    from PySide6.QtCore import QEventLoop, QModelIndex, QSettings, QTimer

    from faceorganizer.gui.main import make_app
    from faceorganizer.gui.mainwindow import MainWindow
    from faceorganizer.library import Library

    app = make_app([])
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder.parent))
    lib = Library.open(folder)
    window = MainWindow(lib, restore=False)
    window.errors.interactive = False
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    t0 = time.perf_counter()
    window.show_view("unsorted")
    grid = window.pages.unsorted
    while grid.model.rowCount() == 0 and time.perf_counter() - t0 < 60:
        app.processEvents()
    opened_ms = (time.perf_counter() - t0) * 1000
    rows = grid.model.rowCount()
    bar = grid.view.verticalScrollBar()
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000 - 10)
        last[0] = now

    meter = QTimer()
    meter.setInterval(10)
    meter.timeout.connect(tick)
    pages = [0]
    laps = [0]

    def flick() -> None:
        # Down one viewport per frame; the model pages in more ids near the end (fetchMore); at the real end,
        # back to the top for another lap.
        if bar.value() >= bar.maximum() and not grid.model.canFetchMore(QModelIndex()):
            bar.setValue(0)
            laps[0] += 1
        else:
            bar.setValue(min(bar.maximum(), bar.value() + grid.view.viewport().height()))
        pages[0] += 1

    mover = QTimer()
    mover.setInterval(16)
    mover.timeout.connect(flick)
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    from faceorganizer.gui.workers import StallMeter

    window.stall = StallMeter(parent=window)  # a bench instrument: only where measured
    window.stall.start()
    meter.start()
    mover.start()
    last[0] = time.perf_counter()
    profiler = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    loop.exec()
    if profiler:
        profiler.disable()
        profiler.print_stats("tottime")
    mover.stop()
    meter.stop()
    longest = window.stall.stop()
    window.close()
    app.processEvents()
    lib.close()
    gaps.sort()
    return {"rows": rows, "rows_end": grid.model.rowCount(), "laps": laps[0], "opened_ms": opened_ms,
            "pages": pages[0], "longest": longest,
            "p99": gaps[int(len(gaps) * 0.99)] if gaps else 0.0, "over30": sum(g > 30 for g in gaps),
            "ticks": len(gaps), "max_scroll": bar.maximum()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "lib"
        t = time.perf_counter()
        build(folder, args.faces)
        built = time.perf_counter() - t
        load = os.getloadavg()[0]
        r = scroll(folder, args.seconds)
    print(f"\nScrolling the unsorted-faces grid ({r['rows']:,} ids on opening, {r['rows_end']:,} paged in by the "
          f"end, {r['laps']} full laps top to bottom) (library built in {built:.0f} s; load "
          f"{load:.1f} at start, {os.getloadavg()[0]:.1f} at end, {os.cpu_count()} cores)")
    print(f"{'open page ms':>12} {'pages flicked':>13} {'ticks':>6} {'longest gap ms':>14} {'p99 ms':>7} "
          f"{'gaps>30ms':>9}")
    print(f"{r['opened_ms']:>12.0f} {r['pages']:>13} {r['ticks']:>6} {r['longest']:>14.1f} {r['p99']:>7.1f} "
          f"{r['over30']:>9}")
    print("smooth: the longest gap stays near a frame (16 ms); target for any GUI stall ≤ 100 ms")


if __name__ == "__main__":
    main()
