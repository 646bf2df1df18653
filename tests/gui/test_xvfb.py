"""The main pages in a real X server (Xvfb) at 100 % and 150 % scale on 1366×768 and 1920×1080 screens: the
window fits the screen and both docks and the status bar (with an import's Cancel) are visible on it.

Skips when Xvfb is not installed (``installer/setup.sh --test`` installs it). Set
``FACEORGANIZER_SCREENSHOTS=DIR`` to keep a screenshot of every page of every run in DIR.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faceorganizer.gui.qtcheck import missing_libraries

DRIVER = Path(__file__).with_name("xfit.py")
SCREENS = [("1366x768", "1"), ("1366x768", "1.5"), ("1920x1080", "1"), ("1920x1080", "1.5")]


@pytest.fixture(scope="module")
def xvfb_ready() -> None:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (installer/setup.sh --test installs it)")
    missing = missing_libraries()
    if missing:
        pytest.skip(f"Qt's X11 plugin lacks {', '.join(missing)} (installer/setup.sh installs them)")


def _xvfb(size: str, display: int) -> subprocess.Popen:
    proc = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{display}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"Xvfb :{display} did not start")
        time.sleep(0.05)
    return proc


@pytest.mark.parametrize(("size", "scale"), SCREENS)
def test_main_pages_fit_the_screen(xvfb_ready, sample_dir, tmp_path, size, scale) -> None:  # noqa: ANN001
    library = tmp_path / "lib"
    shutil.copytree(sample_dir[0], library)
    display = 90 + SCREENS.index((size, scale)) + (os.getpid() % 50) * 4
    server = _xvfb(size, display)
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=f":{display}", QT_SCALE_FACTOR=scale, QT_QPA_PLATFORM="xcb",
               XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    out = os.environ.get("FACEORGANIZER_SCREENSHOTS")
    cmd = [sys.executable, str(DRIVER), "--library", str(library), "--tag", f"{size}-{scale}x"]
    if out:
        cmd += ["--out", out]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    finally:
        server.terminate()
        server.wait(10)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    w, h = (int(v) for v in size.split("x"))
    expected = [round(w / float(scale)), round(h / float(scale))]
    assert abs(report["screen"][2] - expected[0]) <= 2 and abs(report["screen"][3] - expected[1]) <= 40, report
    failures = {page: [name for name, ok in r["checks"].items() if not ok] for page, r in report["pages"].items()}
    failures = {page: names for page, names in failures.items() if names}
    assert not failures, json.dumps({"failures": failures, "report": report}, indent=1)
