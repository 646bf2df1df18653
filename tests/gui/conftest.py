"""GUI test fixtures: offscreen Qt, a real window on a real library in tmp_path, no threads left behind."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from tests.gui.sample import SampleInfo, build_sample_library  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _qsettings_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Window state written by tests goes to a temporary folder, not the user's."""
    from PySide6.QtCore import QSettings

    folder = tmp_path_factory.mktemp("qsettings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))


@pytest.fixture(scope="session")
def sample_dir(shared_library_dir: Path, shared_faces: Path, tmp_path_factory: pytest.TempPathFactory
               ) -> tuple[Path, SampleInfo]:
    """The real shared-photos library, named and edited like a user's (see ``tests/gui/sample.py``)."""
    folder = tmp_path_factory.mktemp("sample") / "lib"
    info = build_sample_library(folder, shared_library_dir, shared_faces)
    return folder, info


@pytest.fixture()
def sample(sample_dir: tuple[Path, SampleInfo]) -> SampleInfo:
    return sample_dir[1]


def _prepare(lib) -> None:  # noqa: ANN001
    from faceorganizer.settings import updated

    # CI has two cores (the GUI thread needs one of them); the sample's photos are the shared ones, which
    # tests never write XMP sidecars next to (the XMP test imports private copies).
    lib.settings = updated(lib.settings, workers=1, write_xmp=False)


@pytest.fixture()
def library(sample_dir: tuple[Path, SampleInfo], tmp_path: Path):
    """A private copy of the sample library."""
    from faceorganizer.library import Library

    dest = tmp_path / "lib"
    shutil.copytree(sample_dir[0], dest)
    lib = Library.open(dest)
    _prepare(lib)
    yield lib
    lib.close()


@pytest.fixture()
def empty_library(tmp_path: Path):
    from faceorganizer.library import Library

    lib = Library.open(tmp_path / "empty")
    _prepare(lib)
    yield lib
    lib.close()


def _window(qtbot, lib):  # noqa: ANN001, ANN202
    from faceorganizer.gui.main import make_app
    from faceorganizer.gui.mainwindow import MainWindow

    make_app([])
    w = MainWindow(lib, restore=False)
    w.errors.interactive = False
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture()
def window(qtbot, library):  # noqa: ANN001, ANN201
    w = _window(qtbot, library)
    yield w
    w.close()
    unexpected = [e for e in w.errors.history if not e.expected]
    assert not unexpected, "unexpected errors reached the error dialog:\n" + "\n".join(e.details for e in unexpected)


@pytest.fixture()
def empty_window(qtbot, empty_library):  # noqa: ANN001, ANN201
    w = _window(qtbot, empty_library)
    yield w
    w.close()
    unexpected = [e for e in w.errors.history if not e.expected]
    assert not unexpected, "unexpected errors reached the error dialog:\n" + "\n".join(e.details for e in unexpected)


@pytest.fixture(autouse=True)
def _no_threads_left(qapp):  # noqa: ANN001
    """Fail a test that leaves a worker thread or thread-pool work running (napari's conftest does this)."""
    yield
    from PySide6.QtCore import QThreadPool

    from faceorganizer.gui.thumbnails import busy_pools
    from faceorganizer.gui.workers import live_workers

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = live_workers() + busy_pools()
        if not left and QThreadPool.globalInstance().activeThreadCount() == 0:
            return
        qapp.processEvents()
        time.sleep(0.02)
    left = live_workers() + busy_pools()
    global_active = QThreadPool.globalInstance().activeThreadCount()
    pytest.fail(f"threads left running after the test: {left!r}, global pool active: {global_active}")


def wait_idle(qtbot, window, timeout: int = 30_000) -> None:  # noqa: ANN001
    """Wait until no job, edit or thumbnail decode is in flight and queued signals are delivered."""
    qtbot.waitUntil(lambda: window.session.idle, timeout=timeout)
    qtbot.wait(30)
