"""One photo, several locations: an identical copy of a photo in another folder is the same photo (issue 15 item 25).

Real photos from ../shared/faces copied into temporary folders, a real library file, the real models.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from faceorganizer.errors import InvalidEditError
from faceorganizer.library import Library
from tests.core.test_cli import run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "old_copies.db"


def _run(lib: Library, roots: list[Path]):
    progress = None
    for progress in lib.import_job([str(r) for r in roots]).run():
        pass
    return progress


def _photos(shared_faces: Path, folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    files = [shared_faces / "identities" / "obama" / "obama.jpg", shared_faces / "groups" / "fr_two_people.jpg"]
    return [Path(shutil.copy(f, folder / f.name)) for f in files]


def _count(lib: Library, table: str) -> int:
    return int(lib.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _photo_at(lib: Library, path: Path) -> int:
    return int(lib.db.execute("SELECT id FROM photos WHERE path = ?", [str(path)]).fetchone()[0])


def _counts_agree(lib: Library) -> None:
    """The window's reader and the CLI's stats count the same photos and faces."""
    stats = lib.stats()
    with lib.reader() as r:
        counts = r.counts()
    assert (counts.photos, counts.faces) == (stats.photos, stats.faces)


def test_a_copy_in_another_folder_is_one_photo_with_two_locations(shared_faces, tmp_path):
    a = _photos(shared_faces, tmp_path / "a")
    with Library.open(tmp_path / "lib") as lib:
        _run(lib, [tmp_path / "a"])
        photos, faces = lib.stats().photos, lib.stats().faces
        assert photos == 2 and faces >= 3
        obama = _photo_at(lib, a[0])
        face = lib.db.execute("SELECT id FROM faces WHERE photo_id = ?", [obama]).fetchone()[0]
        person = lib.move([face], None, new_name="Barack")
        (tmp_path / "b").mkdir()
        copies = [Path(shutil.copy(f, tmp_path / "b" / f.name)) for f in a]

        progress = _run(lib, [tmp_path / "b"])
        assert progress.photos_added == 0 and progress.faces_found == 0 and progress.copies_found == 2
        assert "embed" not in progress.stage_seconds  # no model work for a copy
        assert (lib.stats().photos, lib.stats().faces) == (photos, faces)
        _counts_agree(lib)
        assert lib.photo_locations([obama]) == {obama: [str(copies[0])]}
        assert lib.photos_with([person]) == [obama]
        hits = lib.search_face(face, top=50, threshold=2.0)
        assert len({h.face_id for h in hits}) == len(hits) and face not in {h.face_id for h in hits}
        # Searching with the copy's picture finds the library face once, in the one photo.
        image_hits = lib.search_image(copies[0], top=50, threshold=2.0)
        assert [h.photo_id for h in image_hits].count(obama) == 1
        # Both folders list the photo; each folder counts it once.
        with lib.reader() as r:
            from faceorganizer.library import PhotoScope

            assert obama in r.photo_ids(PhotoScope(folder=str(tmp_path / "b") + "/"))
            assert r.photo(obama).also_at == (str(copies[0]),)
            assert sorted(root["photos"] for root in r.roots()) == [2, 2]
        # The filter language's folder term agrees: the faces of a photo with a copy in b/ are in b/.
        all_faces = set(lib.faces_where(None))
        assert set(lib.faces_where(f'folder="{tmp_path / "b"}"')) == all_faces
        assert set(lib.faces_where(f'folder!="{tmp_path / "b"}"')) == set()
        assert set(lib.faces_where(f'folder="{tmp_path / "c"}"')) == set()

        # Rescans change nothing; the same copy found through both folders at once is still one location.
        progress = _run(lib, [tmp_path / "a", tmp_path / "b"])
        assert progress.photos_total == 0
        assert (lib.stats().photos, lib.stats().faces, _count(lib, "photo_locations")) == (photos, faces, 2)


def test_copies_imported_together_are_one_photo(shared_faces, tmp_path):
    _photos(shared_faces, tmp_path / "a")
    _photos(shared_faces, tmp_path / "b")
    with Library.open(tmp_path / "lib") as lib:
        progress = _run(lib, [tmp_path / "a", tmp_path / "b"])
        assert progress.photos_added == 2 and progress.copies_found == 2
        assert lib.stats().photos == 2 and _count(lib, "photo_locations") == 2
        assert lib.stats().faces == progress.faces_found
        _counts_agree(lib)


def test_removing_one_copy_keeps_the_photo_and_its_names(shared_faces, tmp_path):
    a = _photos(shared_faces, tmp_path / "a")
    with Library.open(tmp_path / "lib") as lib:
        _run(lib, [tmp_path / "a"])
        (tmp_path / "b").mkdir()
        copies = [Path(shutil.copy(f, tmp_path / "b" / f.name)) for f in a]
        _run(lib, [tmp_path / "b"])
        obama, group = _photo_at(lib, a[0]), _photo_at(lib, a[1])
        face = lib.db.execute("SELECT id FROM faces WHERE photo_id = ?", [obama]).fetchone()[0]
        person = lib.move([face], None, new_name="Barack")
        faces = lib.stats().faces

        # The primary file goes: the copy becomes the photo's file; faces and names stay.
        a[0].unlink()
        # The copy of the other photo goes: the photo simply has one location less.
        copies[1].unlink()
        _run(lib, [tmp_path / "a", tmp_path / "b"])
        assert lib.photo_paths([obama, group]) == {obama: str(copies[0]), group: str(a[1])}
        assert lib.photo_locations([obama, group]) == {}
        assert lib.stats().photos == 2 and lib.stats().faces == faces
        assert [(p.id, p.name) for p in lib.people() if face in p.face_ids] == [(person, "Barack")]
        assert lib.photos_with([person]) == [obama]

        # Every copy gone: as before locations, the photo is missing, its faces and names kept.
        copies[0].unlink()
        _run(lib, [tmp_path / "a", tmp_path / "b"])
        assert lib.db.execute("SELECT status FROM photos WHERE id = ?", [obama]).fetchone()[0] == "missing"
        assert lib.stats().faces == faces and lib.stats().photos == 1
        assert any(p.id == person and p.name == "Barack" for p in lib.people())


def test_a_copy_that_changes_becomes_a_photo_of_its_own(shared_faces, tmp_path):
    a = _photos(shared_faces, tmp_path / "a")
    with Library.open(tmp_path / "lib") as lib:
        _run(lib, [tmp_path / "a"])
        (tmp_path / "b").mkdir()
        copy = Path(shutil.copy(a[0], tmp_path / "b" / "edited.jpg"))
        _run(lib, [tmp_path / "b"])
        assert _count(lib, "photo_locations") == 1
        shutil.copy(shared_faces / "identities" / "obama" / "obama2.jpg", copy)  # overwritten by another picture
        progress = _run(lib, [tmp_path / "b"])
        assert progress.photos_added == 1 and _count(lib, "photo_locations") == 0
        assert lib.stats().photos == 3
        _counts_agree(lib)


def test_recognition_off_lists_a_copy_once(shared_faces, tmp_path):
    _photos(shared_faces, tmp_path / "a")
    _photos(shared_faces, tmp_path / "b")
    with Library.open(tmp_path / "lib") as lib:
        lib.set_recognition(False)
        _run(lib, [tmp_path / "a", tmp_path / "b"])
        assert _count(lib, "photos") == 2 and _count(lib, "photo_locations") == 2
        lib.set_recognition(True)
        progress = _run(lib, [tmp_path / "a", tmp_path / "b"])
        assert progress.photos_total == 2 and lib.stats().photos == 2 and lib.stats().faces >= 3
        assert _count(lib, "photo_locations") == 2


def test_xmp_names_go_to_every_location_and_forget_takes_them_out(shared_faces, tmp_path):
    a = _photos(shared_faces, tmp_path / "a")
    with Library.open(tmp_path / "lib") as lib:
        _run(lib, [tmp_path / "a"])
        (tmp_path / "b").mkdir()
        copy = Path(shutil.copy(a[0], tmp_path / "b" / a[0].name))
        _run(lib, [tmp_path / "b"])
        obama = _photo_at(lib, a[0])
        face = lib.db.execute("SELECT id FROM faces WHERE photo_id = ?", [obama]).fetchone()[0]
        person = lib.move([face], None, new_name="Barack Obama")
        assert lib.write_xmp([obama]) == 2
        sidecars = [Path(f"{a[0]}.xmp"), Path(f"{copy}.xmp")]
        assert all("Barack Obama" in s.read_text() for s in sidecars)
        lib.forget_person(person)
        assert not any("Barack Obama" in s.read_text() for s in sidecars if s.exists())


def test_cli_photos_lists_the_other_locations(shared_faces, tmp_path):
    a = _photos(shared_faces, tmp_path / "a")
    with Library.open(tmp_path / "lib") as lib:
        _run(lib, [tmp_path / "a"])
    (tmp_path / "b").mkdir()
    copy = Path(shutil.copy(a[0], tmp_path / "b" / a[0].name))
    result = json.loads(run_cli("import", str(tmp_path / "b"), "--json", "--library", str(tmp_path / "lib")).stdout)
    assert (result["photos_added"], result["faces_added"], result["copies_found"]) == (0, 0, 1)
    with Library.open(tmp_path / "lib") as lib:
        obama = _photo_at(lib, a[0])
        face = lib.db.execute("SELECT id FROM faces WHERE photo_id = ?", [obama]).fetchone()[0]
        person = lib.move([face], None, new_name="Barack")
    out = json.loads(run_cli("photos", "--with", str(person), "--json", "--library", str(tmp_path / "lib")).stdout)
    assert out == [{"photo_id": obama, "photo": str(a[0]), "locations": [str(a[0]), str(copy)]}]
    text = run_cli("photos", "--with", str(person), "--library", str(tmp_path / "lib")).stdout
    assert text.splitlines() == [str(a[0]), f"  also at {copy}"]


def test_migration_folds_copies_an_older_import_made(tmp_path):
    """``old_copies.db`` was written by the import before locations (see fixtures/make_old_copies.py): three
    pictures in a/ and their copies in b/, each copy a photo of its own with its own faces and edits."""
    folder = tmp_path / "lib"
    folder.mkdir()
    shutil.copy(FIXTURE, folder / "library.db")
    with Library.open(folder) as lib:
        assert _count(lib, "photos") == 3 and _count(lib, "photo_locations") == 3
        # obama.jpg: b/ had more edits and is kept; a/'s name moved onto b/'s face, b/'s rejection and tag stay.
        obama = _photo_at(lib, Path("/tmp/old-copies/b/obama.jpg"))
        assert lib.photo_locations([obama]) == {obama: ["/tmp/old-copies/a/obama.jpg"]}
        faces = [r[0] for r in lib.db.execute("SELECT id FROM faces WHERE photo_id = ?", [obama])]
        assert len(faces) == 1
        barack = next(p for p in lib.people() if p.name == "Barack")
        assert barack.face_ids == faces
        other = lib.find_person("Somebody else")[0]
        assert lib.db.execute("SELECT person_id FROM rejections WHERE face_id = ?", faces).fetchall() == [(other,)]
        assert lib.faces_where("favourite") and set(faces) <= set(lib.faces_where("favourite"))
        # obama2.jpg: a/ kept with its tag; fr_two_people.jpg: b/'s "not a face" applies to a/'s matching face.
        assert len(lib.faces_where("favourite")) == 2
        group = _photo_at(lib, Path("/tmp/old-copies/a/fr_two_people.jpg"))
        assert lib.db.execute("SELECT COUNT(*) FROM faces WHERE photo_id = ?", [group]).fetchone()[0] == 1
        pair = next(p for p in lib.people() if p.name == "Pair")
        assert len(pair.face_ids) == 1
        assert lib.stats().faces == 3 and lib.stats().photos == 3
        _counts_agree(lib)
        assert lib.db.execute("PRAGMA foreign_key_check").fetchall() == []
        # The journal still makes sense: every edit undoes, onto the faces that carry them now, then redoes.
        assert lib.undo().summary.startswith("move 1 face(s) to a new person Pair")
        assert lib.undo().summary.startswith("not a face")
        assert lib.db.execute("SELECT COUNT(*) FROM faces WHERE photo_id = ?", [group]).fetchone()[0] == 2
        while True:
            try:
                lib.undo()
            except InvalidEditError:  # nothing to undo
                break
        assert not any(p.name for p in lib.people(include_hidden=True))
        assert _count(lib, "rejections") == 0 and _count(lib, "user_attributes") == 0
        for _ in range(7):
            lib.redo()
        assert sorted(p.name for p in lib.people() if p.name) == ["Barack", "Pair", "Somebody else"]
        assert next(p for p in lib.people() if p.name == "Barack").face_ids == faces
        assert lib.db.execute("SELECT COUNT(*) FROM faces WHERE photo_id = ?", [group]).fetchone()[0] == 1
        assert lib.db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_migration_drops_only_the_undo_of_a_face_that_went_with_its_copy(tmp_path):
    """A copy's face whose box the user removed as "not a face" on the kept photo goes with the copy; the journal
    entry about it is dropped (its undo would write rows for a face that no longer exists), the rest still undo."""
    from faceorganizer.people import edits
    from faceorganizer.store import connect

    folder = tmp_path / "lib"
    folder.mkdir()
    shutil.copy(FIXTURE, folder / "library.db")
    db = connect(folder / "library.db")  # still schema 5: the old code's edits, through the edit functions
    face_of = {path: fid for fid, path in db.execute("SELECT f.id, p.path FROM faces f JOIN photos p "
                                                      "ON p.id = f.photo_id WHERE p.path LIKE '%obama2.jpg'")}
    kept_face, copy_face = face_of["/tmp/old-copies/a/obama2.jpg"], face_of["/tmp/old-copies/b/obama2.jpg"]
    barack = db.execute("SELECT id FROM people WHERE name = 'Barack'").fetchone()[0]
    edits.confirm(db, [copy_face], barack)
    edits.not_face(db, [kept_face])
    entries = db.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
    db.conn.close()
    with Library.open(folder) as lib:
        assert _count(lib, "journal") == entries - 1
        assert lib.stats().photos == 3 and lib.stats().faces == 2  # obama2.jpg's only face is "not a face"
        assert lib.undo().summary.startswith("not a face")
        obama2 = _photo_at(lib, Path("/tmp/old-copies/a/obama2.jpg"))
        with lib.reader() as r:
            assert [f.id for f in r.faces_of_photo(obama2)] == [kept_face]
        while True:
            try:
                lib.undo()
            except InvalidEditError:  # nothing to undo
                break
        assert _count(lib, "assignments WHERE origin = 'confirmed'") == 0
        assert lib.db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_an_offline_drive_leaves_the_photo_at_its_copy_and_gets_it_back_as_a_location(shared_faces, tmp_path):
    usb = _photos(shared_faces, tmp_path / "usb")
    with Library.open(tmp_path / "lib") as lib:
        _run(lib, [tmp_path / "usb"])
        (tmp_path / "home").mkdir()
        copy = Path(shutil.copy(usb[0], tmp_path / "home" / usb[0].name))
        _run(lib, [tmp_path / "home"])
        obama = _photo_at(lib, usb[0])
        faces = lib.stats().faces
        shutil.move(str(tmp_path / "usb"), str(tmp_path / "unplugged"))  # the drive goes away
        _run(lib, [tmp_path / "usb", tmp_path / "home"])
        # The photo stays shown, at the copy that can be reached; the other photo is offline.
        assert lib.photo_paths([obama]) == {obama: str(copy)} and lib.photo_locations([obama]) == {}
        assert lib.stats().photos == 1 and lib.stats().faces == faces
        shutil.move(str(tmp_path / "unplugged"), str(tmp_path / "usb"))  # plugged back in
        progress = _run(lib, [tmp_path / "usb", tmp_path / "home"])
        assert progress.photos_added == 0 and progress.copies_found == 1 and progress.faces_found == 0
        assert lib.photo_locations([obama]) == {obama: [str(usb[0])]}
        assert lib.stats().photos == 2 and lib.stats().faces == faces
        _counts_agree(lib)


def test_migration_folds_the_duplicates_of_a_symlinked_folder_without_a_location(tmp_path):
    """``old_symlinked.db`` (fixtures/make_old_symlinked.py): real/ imported, then again through the symlink link/,
    by the import before it resolved real paths; the name was given on the duplicate. One photo per file, at its
    real path, no "also at" the symlinked path, the name kept."""
    import os

    base = Path("/tmp/fo-old-symlinked")  # the paths stored in the fixture; the migration resolves the symlink
    (base / "real").mkdir(parents=True, exist_ok=True)
    if not os.path.islink(base / "link"):
        os.symlink(base / "real", base / "link")
    folder = tmp_path / "lib"
    folder.mkdir()
    shutil.copy(Path(__file__).parent / "fixtures" / "old_symlinked.db", folder / "library.db")
    with Library.open(folder) as lib:
        assert _count(lib, "photos") == 2 and _count(lib, "photo_locations") == 0
        paths = sorted(lib.photo_paths(lib.photos_with([lib.find_person("Barack")[0]])).values())
        assert paths == [str(base / "real" / "obama.jpg")]
        assert sorted(r[0] for r in lib.db.execute("SELECT path FROM photos")) == \
            [str(base / "real" / "fr_two_people.jpg"), str(base / "real" / "obama.jpg")]
        assert lib.stats().faces == 3
        _counts_agree(lib)
