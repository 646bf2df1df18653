"""Time to first window: from starting the app's process to its main window painted, with the native libraries
loaded before the window (the old start-up) and behind it (now), on a real library.

    .venv/bin/python bench/bench_gui_startup.py --library DIR [--runs 3]

Each run is a fresh process (``QT_QPA_PLATFORM=offscreen`` unless a display is set) that does what
``faceorganizer`` does at start (``gui.main``: settings, library, QApplication, MainWindow, show) and reports
when the first paint is done; the table gives the median over ``--runs``, when the libraries and the face
models (detector, age/gender, expression, embedder) finished loading, and the longest GUI-thread stall (a 10 ms
timer's longest gap, max over the runs) meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time
t0 = float(sys.argv[3])  # the parent's clock when it started this process: interpreter start-up counts
from PySide6.QtCore import QElapsedTimer, QTimer
from faceorganizer.gui import main as m
from faceorganizer.gui.workers import RUNTIMES_READY
from faceorganizer.log import setup_logging
setup_logging()
app = m.make_app([], preload=(sys.argv[2] == "before"))
lib = m.open_library(sys.argv[1])
from faceorganizer.gui.mainwindow import MainWindow
w = MainWindow(lib, restore=False)
w.errors.interactive = False
w.show()
app.processEvents()
w.repaint()
shown = time.time() - t0
thread = None
if sys.argv[2] == "behind":
    thread = m.preload_in_background(lib)
else:
    m._warm_models(lib)  # the old start-up loaded the models at the first import: count them as ready here
# GUI-thread stalls while the libraries load behind the window: a 10 ms timer's longest gap, and how much of
# it the GUI thread spent runnable but waiting for a CPU (Linux schedstat): that part is the machine's load
# (other processes on the 2 cores), not this process holding the GIL.
def cpu_wait_ms():
    try:
        with open("/proc/thread-self/schedstat") as fh:
            return int(fh.read().split()[1]) / 1e6
    except OSError:
        return 0.0
clock = QElapsedTimer(); clock.start(); last = [0, cpu_wait_ms()]; longest = [0, 0.0]
def tick():
    now, wait = clock.elapsed(), cpu_wait_ms()
    if now - last[0] > longest[0]:
        longest[:] = [now - last[0], wait - last[1]]
    last[:] = [now, wait]
timer = QTimer(); timer.setInterval(10); timer.timeout.connect(tick); timer.start()
while not (RUNTIMES_READY.is_set() and m.MODELS_READY.is_set()):
    app.processEvents(); time.sleep(0.002)
ready = time.time() - t0
while thread is not None and thread.is_alive():  # what it opens after the models counts for stalls too
    app.processEvents(); time.sleep(0.002)
print(json.dumps({"shown": shown, "ready": ready, "stall_ms": longest[0], "stall_cpu_wait_ms": longest[1]}))
w.close(); lib.close()
"""


def run_once(library: str, mode: str) -> dict:
    env = dict(os.environ)
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    out = subprocess.run([sys.executable, "-c", CHILD, library, mode, repr(time.time())], capture_output=True,
                         text=True, env=env,
                         timeout=300)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="before,behind", help="before, behind or both (comma-separated)")
    args = parser.parse_args()
    print(f"cores={os.cpu_count()} loadavg={os.getloadavg()[0]:.2f} runs={args.runs}")
    print(f"{'libraries loaded':<18} {'first window (s)':>17} {'models ready (s)':>17} {'longest stall (ms)':>19} "
          f"{'of it CPU wait (ms)':>20} {'stalls per run (ms)':>20}")
    for mode in args.modes.split(","):
        runs = [run_once(args.library, mode) for _ in range(args.runs)]
        shown = statistics.median(r["shown"] for r in runs)
        ready = statistics.median(r["ready"] for r in runs)
        worst = max(runs, key=lambda r: r["stall_ms"])
        each = "/".join(f"{r['stall_ms']:.0f}" for r in runs)
        print(f"{mode + ' the window':<18} {shown:>17.2f} {ready:>17.2f} {worst['stall_ms']:>19.0f} "
              f"{worst['stall_cpu_wait_ms']:>20.0f} {each:>20}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
