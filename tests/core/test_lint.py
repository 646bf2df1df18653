"""ruff (pyflakes, pycodestyle, import order, pyupgrade, bugbear) and mypy (strict on the core) are part of the
test run; their settings live in pyproject.toml ([tool.ruff], [tool.mypy])."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _tool(name: str) -> str:
    exe = shutil.which(name, path=str(Path(sys.executable).parent))
    assert exe, f"{name} is a test dependency: .venv/bin/pip install -e '.[test]'"
    return exe


def test_ruff_finds_nothing():
    proc = subprocess.run([_tool("ruff"), "check", "--no-cache", "--output-format", "concise", "."], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


def test_mypy_strict_on_the_core_finds_nothing():
    # The files and the strictness come from [tool.mypy]; the cache (.mypy_cache) keeps reruns fast.
    proc = subprocess.run([_tool("mypy")], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
