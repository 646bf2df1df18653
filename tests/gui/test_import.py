"""Importing through the window: the File ▸ Add folder… code path, progress, cancel, report, responsiveness."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.gui.conftest import wait_idle

IDENTITIES = ("angelina_jolie", "obama", "deepface_p03")


def _photo_folder(shared_faces: Path, dest: Path, per_identity: int = 3) -> Path:
    """A few real photos copied into ``dest``, one sub-folder per person, plus one broken file."""
    for identity in IDENTITIES:
        sub = dest / identity
        sub.mkdir(parents=True)
        for p in sorted((shared_faces / "identities" / identity).glob("*.jpg"))[:per_identity]:
            shutil.copy(p, sub / p.name)
    (dest / "broken.jpg").write_bytes(b"not a photo at all")
    return dest


def test_import_folder_with_progress_report_and_no_stalls(qtbot, empty_window, shared_faces, tmp_path):  # noqa: ANN001
    window = empty_window
    folder = _photo_folder(shared_faces, tmp_path / "photos")
    ticks = []
    from faceorganizer.gui.workers import StallMeter

    window.stall = StallMeter(parent=window)  # a bench instrument: only where measured
    window.stall.start()
    with qtbot.waitSignal(window.importer.finished, timeout=300_000) as finished:
        job = window.import_paths([folder])  # exactly what File ▸ Add folder… and drag-and-drop call
        job.progress.connect(ticks.append)
        assert window.job_status.isVisible()
    longest = window.stall.stop()
    progress = finished.args[0]
    print(f"\nGUI stall while importing {progress.photos_added} photos: longest {longest:.1f} ms "
          f"(gaps > 30 ms: {window.stall.gaps}); {window.stall.ticks} timer ticks in {progress.elapsed:.1f} s")
    assert progress.stage == "done"
    assert progress.photos_added == 3 * len(IDENTITIES)
    assert progress.photos_skipped == 1
    assert ticks, "progress reached the status bar"
    assert window.stall.ticks > 0  # the stall meter ran; its numbers are benchmarked in bench/bench_gui_stall.py

    # Views refreshed; the skipped file is listed with its reason.
    qtbot.waitUntil(lambda: window.pages.people.model.rowCount() > 0, timeout=10_000)
    assert f"{3 * len(IDENTITIES)} photos" in window.stats.text()
    dialog = window.skipped_dialog
    assert dialog is not None and dialog.isVisible()
    rows = dialog.rows
    assert any("broken.jpg" in path and reason for path, reason in rows), rows
    dialog.close()
    assert not window.job_status.isVisible()
    wait_idle(qtbot, window)


def test_import_can_be_cancelled(qtbot, empty_window, shared_faces, tmp_path):  # noqa: ANN001
    window = empty_window
    folder = _photo_folder(shared_faces, tmp_path / "photos", per_identity=8)
    with qtbot.waitSignal(window.importer.finished, timeout=300_000) as finished:
        job = window.import_paths([folder])
        job.progress.connect(lambda _tick: window.job_status.cancel.click())
    progress = finished.args[0]
    assert progress.stage == "cancelled"
    assert "cancelled" in window.statusBar().currentMessage()
    wait_idle(qtbot, window)
    # Importing again resumes: the photos not done yet are added now.
    with qtbot.waitSignal(window.importer.finished, timeout=300_000) as again:
        window.import_paths([folder])
    assert again.args[0].stage == "done"
    total = window.session.reader.counts().photos
    assert total == sum(min(8, len(list((shared_faces / "identities" / i).glob("*.jpg")))) for i in IDENTITIES)
    if window.skipped_dialog is not None:
        window.skipped_dialog.close()
    wait_idle(qtbot, window)


def test_drop_folder_on_window_imports_it(qtbot, empty_window, shared_faces, tmp_path):  # noqa: ANN001
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    window = empty_window
    folder = _photo_folder(shared_faces, tmp_path / "photos", per_identity=1)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.importer.finished, timeout=300_000):
        window.dropEvent(event)
    if window.skipped_dialog is not None:
        window.skipped_dialog.close()
    assert window.session.reader.counts().photos == len(IDENTITIES)
    wait_idle(qtbot, window)
