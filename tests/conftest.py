"""Fixtures shared by core and GUI tests: the real photos in ../shared/faces and isolated user dirs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Resolved: the import stores real paths (a folder reached through a symlink is the same photos), so tests that
# compare stored paths with these must hold when ../shared is itself a symlink.
SHARED_FACES = Path(os.environ.get("FACEORGANIZER_SHARED_FACES", REPO.parent / "shared" / "faces")).resolve()

# The installed weights of the user running the tests (set-up installs them once); resolved before the
# per-test data dir override below so that tests share them instead of re-installing.
from faceorganizer import paths as _paths  # noqa: E402

MODELS_DIR = _paths.models_dir()


@pytest.fixture(scope="session")
def shared_faces() -> Path:
    """The folder of real photos (identities/, groups/, nonfaces/); skips when it is absent."""
    if not (SHARED_FACES / "manifest.json").is_file():
        pytest.skip(f"real photos not found at {SHARED_FACES} (expected ../shared/faces beside the repo)")
    return SHARED_FACES


@pytest.fixture(scope="session")
def manifest(shared_faces: Path) -> list[dict]:
    """Entries of ``manifest.json`` (path, identity, kind, width, height, optional face_boxes_xywh)."""
    return json.loads((shared_faces / "manifest.json").read_text())


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests away from the real user's data and config; models stay shared (installed once)."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("FACEORGANIZER_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("FACEORGANIZER_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("FACEORGANIZER_LOG_DIR", str(base / "logs"))
    monkeypatch.setenv("FACEORGANIZER_MODELS_DIR", str(MODELS_DIR))


@pytest.fixture(scope="session")
def shared_library_dir(shared_faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library holding every shared photo, imported once per test session (read-only for tests)."""
    from faceorganizer.library import Library

    folder = tmp_path_factory.mktemp("shared-library") / "lib"
    with Library.open(folder) as lib:
        for _ in lib.import_job([str(shared_faces)]).run():
            pass
    return folder


@pytest.fixture()
def library_copy(shared_library_dir: Path, tmp_path: Path):
    """A private, writable copy of the shared-photos library."""
    import shutil

    from faceorganizer.library import Library

    dest = tmp_path / "lib"
    shutil.copytree(shared_library_dir, dest)
    lib = Library.open(dest)
    yield lib
    lib.close()


def main_faces(lib, shared_faces: Path) -> tuple[list[int], list[str]]:
    """(face id, identity) of the main (largest) face of every ``identities/`` photo in a library."""
    ids, labels = [], []
    root = str(shared_faces / "identities")
    rows = lib.db.query(
        "SELECT p.path, f.id, f.w * f.h AS area FROM photos p JOIN faces f ON f.photo_id = p.id "
        "WHERE substr(p.path, 1, ?) = ? ORDER BY p.path, area DESC", [len(root), root])
    seen = set()
    for r in rows:
        if r["path"] in seen:
            continue
        seen.add(r["path"])
        ids.append(r["id"])
        labels.append(Path(r["path"]).parent.name)
    return ids, labels
