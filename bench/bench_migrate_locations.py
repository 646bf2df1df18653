"""How long migration 6 (one photo with several locations) takes on a library an older import filled with copies.

Starts from ``tests/core/fixtures/old_copies.db`` (schema 5: three pictures, each in a/ and b/ as photos of
their own, with user edits) and adds COPIES more old-style copies of each picture (photo row, faces and chips
copied, as the old import's ``copy_with_faces`` did; every tenth copy's first face confirmed as a person), then
times ``migrate``. Prints photos and faces before/after and the seconds taken.

    .venv/bin/python bench/bench_migrate_locations.py [COPIES ...]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from faceorganizer.store import connect, migrate

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "core" / "fixtures" / "old_copies.db"


def old_style_copies(db, copies: int) -> None:
    """Old behaviour: each copy a photo row of its own with the original's faces and chips copied."""
    pcols = [r[1] for r in db.execute("PRAGMA table_info(photos)") if r[1] not in ("id", "path")]
    fcols = [r[1] for r in db.execute("PRAGMA table_info(faces)") if r[1] not in ("id", "photo_id")]
    originals = [r[0] for r in db.execute("SELECT id FROM photos WHERE path LIKE '%/a/%' ORDER BY id")]
    person = db.execute("SELECT id FROM people ORDER BY id LIMIT 1").fetchone()[0]
    with db.conn:
        for k in range(copies):
            for original in originals:
                cur = db.execute(f"INSERT INTO photos (path, {', '.join(pcols)}) SELECT replace(path, '/a/', "
                                 f"'/copy{k}/'), {', '.join(pcols)} FROM photos WHERE id = ?", [original])
                new_id = cur.lastrowid
                old_faces = [r[0] for r in db.execute("SELECT id FROM faces WHERE photo_id = ? ORDER BY id",
                                                      [original])]
                for i, face in enumerate(old_faces):
                    fid = db.execute(f"INSERT INTO faces (photo_id, {', '.join(fcols)}) SELECT ?, "
                                     f"{', '.join(fcols)} FROM faces WHERE id = ?", [new_id, face]).lastrowid
                    db.execute("INSERT INTO face_chips (face_id, chip) SELECT ?, chip FROM face_chips "
                               "WHERE face_id = ?", [fid, face])
                    if i == 0 and k % 10 == 0:
                        db.execute("INSERT OR REPLACE INTO assignments (face_id, person_id, origin) "
                                   "VALUES (?, ?, 'confirmed')", [fid, person])


def one(copies: int) -> tuple[int, int, int, int, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "library.db"
        shutil.copy(FIXTURE, path)
        db = connect(path)
        old_style_copies(db, copies)
        count = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        before = (count("SELECT COUNT(*) FROM photos"), count("SELECT COUNT(*) FROM faces"))
        t = time.perf_counter()
        migrate(db)
        seconds = time.perf_counter() - t
        after = (count("SELECT COUNT(*) FROM photos"), count("SELECT COUNT(*) FROM faces"),
                 count("SELECT COUNT(*) FROM photo_locations"))
        db.conn.close()
        return (*before, *after, seconds)


def main(argv: list[str]) -> None:
    print(f"{'copies':>7} {'photos':>7} {'faces':>7} {'->photos':>9} {'->faces':>8} {'locations':>9} {'seconds':>8}")
    for copies in [int(a) for a in argv] or [10, 100, 1000]:
        p, f, p2, f2, n, s = one(copies)
        print(f"{copies:>7} {p:>7} {f:>7} {p2:>9} {f2:>8} {n:>9} {s:>8.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
