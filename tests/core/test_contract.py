"""The core never imports Qt: checked by import-linter's contract and by importing every core module."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import faceorganizer

REPO = Path(__file__).resolve().parents[2]


def test_import_linter_contract_holds():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is a test dependency (installed by `installer/setup.sh --test`)"
    proc = subprocess.run([exe, "--config", str(REPO / "pyproject.toml")], cwd=REPO, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_importing_every_core_module_loads_no_qt():
    names = [m.name for m in pkgutil.walk_packages(faceorganizer.__path__, "faceorganizer.")
             if not m.name.startswith("faceorganizer.gui") and not m.name.endswith("__main__")]
    code = ("import sys, importlib\n"
            f"for n in {names!r}: importlib.import_module(n)\n"
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]\n"
            "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
