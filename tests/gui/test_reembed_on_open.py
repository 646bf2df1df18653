"""The window brings faces embedded under other settings up to date in the background: on opening such a
library (an older version's default embedding) and after flip fusion is switched in Settings — names kept."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from faceorganizer.library import Library
from faceorganizer.pipeline.fusion import model_id
from faceorganizer.settings import Settings
from tests.core.test_default_embedding import stale_library  # noqa: F401 (the fixture)
from tests.gui.conftest import _window, wait_idle


def _models(lib: Library) -> set[str]:
    return {r[0] for r in lib.db.execute("SELECT DISTINCT embed_model FROM faces")}


def test_opening_a_library_of_older_embeddings_reembeds_it_and_keeps_names(qtbot, stale_library,  # noqa: F811
                                                                            tmp_path, monkeypatch):
    folder, _photos, person_id = stale_library
    monkeypatch.setenv("FACEORGANIZER_CONFIG_DIR", str(tmp_path / "config"))  # the dialog saves settings.json
    with Library.open(folder, create=False, settings=Settings(workers=1, write_xmp=False)) as lib:
        assert _models(lib) == {model_id(False)}
        window = _window(qtbot, lib)
        try:
            qtbot.waitUntil(lambda: _models(lib) == {model_id(True)}, timeout=60_000)
            wait_idle(qtbot, window, timeout=60_000)
            assert lib.faces_to_reembed() == 0
            assert [p.id for p in lib.people() if p.name == "Alex"] == [person_id]
            assert "Re-embedded" in window.statusBar().currentMessage()

            # Settings ▸ flip fusion off: the faces follow in the background.
            def untick() -> None:
                dialog = QApplication.activeModalWidget()
                dialog.flip.setChecked(False)
                dialog.accept()

            QTimer.singleShot(0, untick)
            window.settings_dialog()
            assert lib.settings.flip_fusion is False
            qtbot.waitUntil(lambda: _models(lib) == {model_id(False)}, timeout=60_000)
            wait_idle(qtbot, window, timeout=60_000)
            assert [p.id for p in lib.people() if p.name == "Alex"] == [person_id]
        finally:
            window.close()
