"""Flip fusion is the default embedding (measured on lfw_dev, README): older settings files move to it, and a
library whose faces were embedded under other settings is brought up to date before new faces arrive —
by the CLI's import and (tests/gui/test_reembed_on_open.py) by the window — with names kept."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from faceorganizer.library import Library
from faceorganizer.pipeline.fusion import model_id
from faceorganizer.settings import SETTINGS_VERSION, Settings, load_settings
from tests.core.test_cli import run_cli


@pytest.mark.parametrize(("stored", "flip", "threshold"), [
    ({"cluster_threshold": 0.55, "flip_fusion": False}, True, 0.55),  # v2's defaults: v3's defaults
    ({}, True, 0.55),  # a v2 file that never wrote them
    ({"cluster_threshold": 0.6, "flip_fusion": False}, False, 0.6),  # the user's own threshold: kept as is
    ({"cluster_threshold": 0.5, "flip_fusion": True}, True, 0.5),  # flip chosen with 0.5: kept
])
def test_v2_settings_move_to_the_new_defaults_only_where_they_were_the_old_ones(tmp_path, stored, flip, threshold):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 2, "workers": 3, **stored}))
    s = load_settings(path)
    assert (s.flip_fusion, s.cluster_threshold, s.workers, s.version) == (flip, threshold, 3, SETTINGS_VERSION)
    assert Settings().flip_fusion and Settings().cluster_threshold == 0.55 and not Settings().calibrated_scores
    assert not s.calibrated_scores  # v2's default (on) moved to v3's


def test_changing_flip_fusion_gives_new_faces_the_new_model_and_drops_the_loaded_pipeline(tmp_path):
    with Library.open(tmp_path / "lib", settings=Settings(workers=1)) as lib:
        assert lib.embedding_model_id == model_id(True) == lib.analyzer.model_id
        lib.settings = Settings(workers=1, flip_fusion=False)
        assert lib.embedding_model_id == model_id(False) == lib.analyzer.model_id  # not the cached one


@pytest.fixture()
def stale_library(tmp_path: Path, shared_faces: Path) -> tuple[Path, Path, int]:
    """A library of three photos embedded without flip fusion (an older version's default), one person named."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("alex-lacamoire.jpg", "alex_lacamoire_img1.jpg", "test_alex_lacamoire1.jpg"):
        shutil.copy(shared_faces / "identities" / "alex_lacamoire" / name, photos / name)
    folder = tmp_path / "lib"
    with Library.open(folder, settings=Settings(workers=1, flip_fusion=False, cluster_threshold=0.55)) as lib:
        for _ in lib.import_job([str(photos)]).run():
            pass
        person = max(lib.people(), key=lambda p: p.face_count)
        lib.rename(person.id, "Alex")
        assert lib.faces_to_reembed() == 0
        lib.settings = Settings(workers=1)  # today's defaults
        assert lib.faces_to_reembed() == lib.reader().counts().faces > 0
    return folder, photos, person.id


def _models(folder: Path) -> set[str]:
    with Library.open(folder, create=False) as lib:
        return {r[0] for r in lib.db.execute("SELECT DISTINCT embed_model FROM faces")}


def test_cli_import_reembeds_faces_of_other_settings_before_adding_new_ones(stale_library, shared_faces):
    folder, photos, person_id = stale_library
    assert _models(folder) == {model_id(False)}
    shutil.copy(shared_faces / "identities" / "biden" / sorted(p.name for p in (shared_faces / "identities" /
                                                                                   "biden").iterdir())[0],
                photos / "new.jpg")
    proc = run_cli("import", str(photos), "--library", str(folder))
    assert "re-embedding" in proc.stderr and "1 new photos" in proc.stdout
    assert _models(folder) == {model_id(True)}  # old and new faces compared under one model
    with Library.open(folder, create=False) as lib:
        named = [p for p in lib.people() if p.name == "Alex"]
        assert [p.id for p in named] == [person_id] and named[0].face_count >= 2
        assert lib.faces_to_reembed() == 0
    proc = run_cli("import", str(photos), "--library", str(folder))
    assert "re-embedding" not in proc.stderr  # once only
