""""Not a face": the edit removes a detection, undo brings it back whole, the CLI does the same, and the box is
remembered by photo content so a re-import does not add it again (real library of the shared photos)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from faceorganizer.store import notface


def _person_with_faces(lib):  # noqa: ANN001, ANN202
    return next(p for p in lib.people() if p.face_count >= 3)


def test_not_face_removes_and_undo_restores_everything(library_copy):
    lib = library_copy
    person = _person_with_faces(lib)
    face = person.face_ids[0]
    lib.set_cover(person.id, face)
    before = lib.stats()
    row_before = lib.faces("f.id = ?", [face])[0]

    assert lib.not_face([face]) == 1
    after = lib.stats()
    assert after.faces == before.faces - 1
    assert lib.faces("f.id = ?", [face]) == []
    assert face not in next(p for p in lib.people() if p.id == person.id).face_ids
    assert notface.count(lib.db) == 1
    assert lib.history(1)[0].op == "not_face"

    lib.undo()
    restored = lib.faces("f.id = ?", [face])
    assert restored == [row_before]  # same box, person, origin and attributes
    assert lib.stats() == before
    assert next(p for p in lib.people() if p.id == person.id).cover_face_id == face
    with lib.reader() as r:
        assert r.face_chip(face)[0]  # the chip came back too
    assert notface.count(lib.db) == 0

    lib.redo()
    assert lib.faces("f.id = ?", [face]) == []
    assert lib.stats().faces == before.faces - 1


def test_not_face_unknown_id_is_an_error(library_copy):
    import pytest

    from faceorganizer.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no face with id 999999"):
        library_copy.not_face([999999])


def test_remembered_box_matches_the_same_detection_only(library_copy):
    lib = library_copy
    face = lib.faces(limit=1)[0]
    photo_hash = lib.db.execute("SELECT content_hash FROM photos WHERE id = ?", [face.photo_id]).fetchone()[0]
    lib.not_face([face.id])
    boxes = notface.remembered_boxes(lib.db, photo_hash)
    assert boxes == [face.box]
    x, y, w, h = face.box
    assert notface.is_remembered((x + 0.05 * w, y, w, h), boxes)  # the detector's box moves a little
    assert not notface.is_remembered((x + 2 * w, y, w, h), boxes)  # another face of the photo


def test_cli_not_face_json_and_undo(library_copy):
    folder = str(library_copy.folder)
    face = library_copy.faces(limit=1)[0].id
    faces_before = library_copy.stats().faces
    library_copy.close()
    env = dict(os.environ)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "faceorganizer", *args, "--library", folder], env=env,
                              capture_output=True, text=True, timeout=300)

    proc = cli("not-face", str(face), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"removed": [face], "count": 1}
    status = json.loads(cli("status", "--json").stdout)
    assert status["faces"] == faces_before - 1
    assert cli("undo").returncode == 0
    assert json.loads(cli("status", "--json").stdout)["faces"] == faces_before
    bad = cli("not-face", "999999")
    assert bad.returncode == 2 and bad.stderr.startswith("faceorganizer: error: no face with id 999999")


def test_reimport_does_not_bring_a_removed_face_back(tmp_path, shared_faces):
    """A photo analysed again (here: forgotten by the library and imported again) keeps its removed box out."""
    import shutil

    from faceorganizer.library import Library

    folder = tmp_path / "photos"
    folder.mkdir()
    group = sorted((shared_faces / "groups").glob("*.jpg"))[0]
    shutil.copy(group, folder / group.name)
    with Library.open(tmp_path / "lib") as lib:
        for _ in lib.import_job([str(folder)], workers=1).run():
            pass
        faces = lib.faces()
        assert len(faces) >= 2
        junk = faces[0]
        lib.not_face([junk.id])
        # Forget the photo (as a library rebuilt from scratch would) and import the folder again.
        lib.db.execute("DELETE FROM photos WHERE id = ?", [junk.photo_id])
        for progress in lib.import_job([str(folder)], workers=1).run():
            pass
        again = lib.faces()
        assert len(again) == len(faces) - 1
        assert progress.faces_found == len(faces) - 1
        assert not any(notface.is_remembered(f.box, [junk.box]) for f in again)
