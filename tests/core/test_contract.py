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
    # --no-cache: the cache keys on file metadata that a fast edit may leave unchanged (a stale pass or fail).
    proc = subprocess.run([exe, "--no-cache", "--config", str(REPO / "pyproject.toml")], cwd=REPO, capture_output=True,
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


def _imported_modules(path: Path) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_bench_never_imports_tests():
    offenders = {p.name: sorted(m for m in _imported_modules(p) if m == "tests" or m.startswith("tests."))
                 for p in sorted((REPO / "bench").glob("*.py"))}
    assert not {k: v for k, v in offenders.items() if v}, offenders


def test_test_and_bench_helpers_live_outside_the_package():
    package = Path(faceorganizer.__file__).parent
    assert not (package / "evaluation.py").exists() and not (package / "synthetic.py").exists()
    assert (REPO / "devkit" / "evaluation.py").is_file() and (REPO / "devkit" / "synthetic.py").is_file()
    for path in package.rglob("*.py"):
        assert not {m for m in _imported_modules(path) if m.split(".")[0] == "devkit"}, path
