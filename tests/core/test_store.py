"""The SQLite store: migrations, transactions, concurrency, and the undo journal."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from faceorganizer.errors import InvalidEditError
from faceorganizer.store import connect, journal, migrate, transaction
from faceorganizer.store.schema import MIGRATION_NAMES, SCHEMA_VERSION, schema_version


def test_migrates_an_empty_file(tmp_path):
    db = connect(tmp_path / "lib.db")
    migrate(db)
    assert schema_version(db) == SCHEMA_VERSION
    assert {"photos", "faces", "people", "assignments", "rejections", "journal", "user_attributes"} <= set(
        db.table_names())
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("stop_before", MIGRATION_NAMES[1:])
def test_migrates_from_each_earlier_version_keeping_data(tmp_path, stop_before):
    path = tmp_path / "old.db"
    db = connect(path)
    migrate(db, stop_before=stop_before)
    assert schema_version(db) == MIGRATION_NAMES.index(stop_before)
    db.execute("INSERT INTO photos (path, status) VALUES ('/a.jpg', 'ok')")
    db.execute("INSERT INTO people (name) VALUES ('Ada')")
    db.conn.close()
    db = connect(path)
    migrate(db)
    assert schema_version(db) == SCHEMA_VERSION
    assert [r["name"] for r in db.query("SELECT name FROM people")] == ["Ada"]
    assert db.execute("SELECT count(*) FROM photos").fetchone()[0] == 1


def test_transaction_rolls_back_on_error(tmp_path):
    db = connect(tmp_path / "lib.db")
    migrate(db)
    with pytest.raises(RuntimeError):
        with transaction(db):
            db.execute("INSERT INTO people (name) VALUES ('x')")
            db.execute("INSERT INTO people (name) VALUES ('y')")
            raise RuntimeError("boom")
    assert db.execute("SELECT count(*) FROM people").fetchone()[0] == 0
    with transaction(db):
        db.execute("INSERT INTO people (name) VALUES ('z')")
    assert db.execute("SELECT count(*) FROM people").fetchone()[0] == 1


def test_reader_sees_consistent_snapshot_while_writer_commits(tmp_path):
    path = tmp_path / "lib.db"
    writer = connect(path)
    migrate(writer)
    reader = connect(path)
    started, release = threading.Event(), threading.Event()

    def write() -> None:
        with transaction(writer):
            for i in range(500):
                writer.execute("INSERT INTO people (name) VALUES (?)", [f"p{i}"])
            started.set()
            release.wait(5)

    t = threading.Thread(target=write)
    t.start()
    assert started.wait(5)
    # Mid-transaction, the reader is not blocked and sees none of the uncommitted rows.
    assert reader.execute("SELECT count(*) FROM people").fetchone()[0] == 0
    release.set()
    t.join(5)
    assert reader.execute("SELECT count(*) FROM people").fetchone()[0] == 500


def test_readonly_connection_refuses_writes(tmp_path):
    db = connect(tmp_path / "lib.db")
    migrate(db)
    ro = connect(tmp_path / "lib.db", readonly=True)
    with pytest.raises(sqlite3.OperationalError):
        ro.execute("INSERT INTO people (name) VALUES ('x')")


def _state(db):
    return (list(db.query("SELECT * FROM people ORDER BY id")),
            list(db.query("SELECT * FROM assignments ORDER BY face_id")))


def test_journal_undo_restores_exact_state_and_redo_reapplies(tmp_path):
    db = connect(tmp_path / "lib.db")
    migrate(db)
    db.execute("INSERT INTO photos (id, path, status) VALUES (1, '/a.jpg', 'ok')")
    for fid in (1, 2):
        db.execute("INSERT INTO faces (id, photo_id, x, y, w, h, landmarks, det_score) "
                   "VALUES (?, 1, 0, 0, 10, 10, '[]', 0.9)", [fid])
    with journal.record_edit(db, "create", "create two people") as edit:
        a = edit.insert("people", {"name": "A"})
        b = edit.insert("people", {"name": None})
        edit.upsert("assignments", {"face_id": 1, "person_id": a, "origin": "auto", "distance": 0.1})
        edit.upsert("assignments", {"face_id": 2, "person_id": b, "origin": "auto", "distance": 0.2})
    before = _state(db)
    with journal.record_edit(db, "merge", "merge B into A") as edit:
        edit.upsert("assignments", {"face_id": 2, "person_id": a, "origin": "confirmed", "distance": None})
        edit.delete("people", {"id": b})
    after = _state(db)
    assert after != before
    journal.undo(db)
    assert _state(db) == before
    journal.redo(db)
    assert _state(db) == after
    journal.undo(db)
    journal.undo(db)
    assert _state(db) == ([], [])
    with pytest.raises(InvalidEditError):
        journal.undo(db)
    # A new edit drops the redo history.
    with journal.record_edit(db, "rename", "new person") as edit:
        edit.insert("people", {"name": "C"})
    with pytest.raises(InvalidEditError):
        journal.redo(db)
