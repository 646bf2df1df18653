"""The window shows a photo's other locations (identical copies in other folders): viewer caption and tooltips."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.gui.conftest import _prepare, _window, wait_idle


def test_viewer_and_grid_tooltip_show_the_other_location(qtbot, shared_faces, tmp_path) -> None:  # noqa: ANN001
    from faceorganizer.library import Library, display_path

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    original = Path(shutil.copy(shared_faces / "identities" / "obama" / "obama.jpg", tmp_path / "a"))
    copy = Path(shutil.copy(original, tmp_path / "b"))
    lib = Library.open(tmp_path / "lib")
    _prepare(lib)
    try:
        for _ in lib.import_job([str(tmp_path / "a"), str(tmp_path / "b")]).run():
            pass
        window = _window(qtbot, lib)
        reader = window.session.reader
        [photo] = reader.photo_ids()
        face = reader.faces_of_photo(photo)[0].id
        window.session.nav.open_photo.emit(photo, face)
        viewer = window.pages.viewer
        qtbot.waitUntil(lambda: viewer.card is not None and viewer.card.id == photo, timeout=10_000)
        assert "also in 1 other folder" in viewer.title.text()
        assert viewer.title.toolTip().splitlines() == [display_path(str(original)), f"also at {display_path(str(copy))}"]
        tip = window.pages.photos.model.tooltip(reader.photo(photo))
        assert f"also at {display_path(str(copy))}" in tip
        wait_idle(qtbot, window)
        window.close()
    finally:
        lib.close()
