"""Time the filter language on a real library file of 100,000 synthetic faces: compile + query, ms per filter.

Usage: python bench/bench_filter.py [--faces 100000] [--runs 7] [--chip-bytes 6000] [--mmap MB] [--keep DIR]
The rows are inserted into a library created by ``Library.open`` (same schema, indexes and pragmas as a
user's library). Each filter is compiled and run through ``store.queries.face_ids`` (fetching every matching
id, as the GUI's face lists do; photos are joined only when the filter reads them); the median of ``--runs`` runs
after one warm-up
(with the minimum and the process CPU time) is reported with the machine's load average, since other
processes can skew timings. Target: median ≤ 50 ms.

Each face row carries a 512-byte embedding; its ~5 KB JPEG chip lives in ``face_chips`` as in a real library
(migration m004 moved chips out of ``faces`` because a filter that must look at every face reads every row:
with chips in the row, full scans took 250–600 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script from a checkout: import the package beside this folder
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faceorganizer.attributes.brackets import EXPRESSIONS
from faceorganizer.attributes.filters import compile_filter
from faceorganizer.library import Library
from faceorganizer.store import queries, transaction

FILTERS = [
    "age>=30 and age<50 and smiling and pose=frontal",
    '(happy or surprised) and not profile and year>=2018 and person="Person 7"',
    'bracket=adult and female and tag:glasses and folder="/photos/2019"',
    "not unassigned and date>=2019-06 and smile>=0.3 and yaw>-20 and yaw<20",
    "(male and age>60 or female and age<10) and sharpness>100 and not tag:glasses>=0.8",
    "angry>=0.2 and brightness<80 and quality>0.5",
]
TARGET_MS = 50.0
CHIP_BYTES = 5_200  # a 150×150 JPEG face chip at quality 85: the mean over ../shared/faces is 5.2 KB


def populate(lib: Library, n_faces: int, seed: int = 0, chip_bytes: int = CHIP_BYTES) -> None:
    rng = np.random.default_rng(seed)
    # Real rows carry a 512-byte embedding and a JPEG chip: they decide how many pages a scan reads.
    chip = rng.integers(0, 256, chip_bytes, dtype=np.uint8).tobytes() if chip_bytes else None
    db = lib.db
    n_photos = n_faces // 3
    n_people = 300
    years = rng.integers(2010, 2025, n_photos)
    dates = [f"{y}-{m:02d}-{d:02d} 12:00:00" for y, m, d in
             zip(years, rng.integers(1, 13, n_photos), rng.integers(1, 29, n_photos))]
    with transaction(db):
        db.execute("INSERT INTO roots (path) VALUES ('/photos')")
        db.conn.executemany(
            "INSERT INTO photos (id, root_id, path, status, taken_at) VALUES (?, 1, ?, 'ok', ?)",
            [(i + 1, f"/photos/{years[i]}/img_{i:06d}.jpg", dates[i] if rng.random() < 0.9 else None)
             for i in range(n_photos)])
        db.conn.executemany("INSERT INTO people (id, name) VALUES (?, ?)",
                            [(i + 1, f"Person {i + 1}") for i in range(n_people)])
        probs = rng.dirichlet(np.full(len(EXPRESSIONS), 0.4), n_faces)
        yaw = rng.uniform(-80, 80, n_faces)
        pose = np.where(np.abs(yaw) < 20, "frontal", np.where(np.abs(yaw) < 50, "three-quarter", "profile"))
        rows = []
        for i in range(n_faces):
            expr = {e: round(float(p), 4) for e, p in zip(EXPRESSIONS, probs[i])}
            rows.append((i + 1, int(rng.integers(1, n_photos + 1)), float(rng.uniform(0.5, 1)),
                         rng.standard_normal(128).astype(np.float32).tobytes(),
                         float(rng.uniform(0, 90)), float(rng.random()), expr["happy"], max(expr, key=expr.get),
                         json.dumps(expr), str(pose[i]), float(yaw[i]), float(rng.uniform(-30, 30)),
                         float(rng.uniform(-20, 20)), float(rng.uniform(0, 500)), float(rng.uniform(0, 255)),
                         float(rng.uniform(20, 800)), float(rng.random())))
        db.conn.executemany(
            "INSERT INTO faces (id, photo_id, x, y, w, h, landmarks, det_score, embedding, age, gender, smile, "
            "expression, expressions, pose, yaw, pitch, roll, sharpness, brightness, size, quality) "
            "VALUES (?, ?, 0, 0, 100, 100, '[]', " + ", ".join("?" * 15) + ")", rows)
        if chip is not None:  # chips live in their own table (migration m004), as in a real library
            db.conn.executemany("INSERT INTO face_chips (face_id, chip) VALUES (?, ?)",
                                ((i + 1, chip) for i in range(n_faces)))
        assigned = rng.random(n_faces) < 0.7
        # Zipf-like people sizes: a few people hold most faces.
        owner = np.minimum(rng.zipf(1.5, n_faces), n_people)
        db.conn.executemany("INSERT INTO assignments (face_id, person_id, origin) VALUES (?, ?, 'auto')",
                            [(int(i) + 1, int(owner[i])) for i in np.flatnonzero(assigned)])
        tagged = rng.random(n_faces) < 0.3
        db.conn.executemany(
            "INSERT INTO user_attributes (face_id, name, value, origin, confidence) VALUES (?, 'glasses', ?, ?, ?)",
            [(int(i) + 1, int(rng.random() < 0.3), "user" if rng.random() < 0.05 else "predicted",
              float(rng.uniform(0.5, 1))) for i in np.flatnonzero(tagged)])


def time_filter(lib: Library, expr: str, runs: int) -> tuple[float, float, float, float, int]:
    """(min ms, median ms, median process-CPU ms, compile ms, matches) of compile + query + fetching ids."""
    walls, cpus, compiles = [], [], []
    matches = 0
    for run in range(runs + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        clause, params = compile_filter(expr)
        compiled = time.perf_counter()
        ids = queries.face_ids(lib.db, clause, params)  # the query the app's face lists run
        if run:  # the first run warms the page cache
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
            compiles.append((compiled - wall) * 1000)
        matches = len(ids)
    return min(walls), statistics.median(walls), statistics.median(cpus), statistics.median(compiles), matches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--chip-bytes", type=int, default=CHIP_BYTES,
                        help="size of each face's stored chip (0: none, to see what chips cost)")
    parser.add_argument("--mmap", type=int, default=0, metavar="MB",
                        help="override PRAGMA mmap_size for the run (0: keep the library's own, 512 MB)")
    parser.add_argument("--keep", type=Path, default=None, help="build the library here and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-filter-")) / "lib"
    fresh = not (folder / "library.db").exists()
    lib = Library.open(folder)
    if fresh:
        start = time.perf_counter()
        populate(lib, args.faces, chip_bytes=args.chip_bytes)
        print(f"inserted {args.faces} faces in {time.perf_counter() - start:.1f}s into {folder}")
    if args.mmap:
        lib.db.execute(f"PRAGMA mmap_size = {args.mmap * 1024 * 1024}")
    n = lib.db.execute("SELECT count(*) FROM faces").fetchone()[0]
    chip = lib.db.execute("SELECT avg(length(chip)) FROM face_chips").fetchone()[0] or 0
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    mmap_mb = lib.db.execute("PRAGMA mmap_size").fetchone()[0] // 2 ** 20
    print(f"faces={n} chip={chip:.0f}B mmap={mmap_mb}MB cores={os.cpu_count()} loadavg={load} "
          f"sqlite={sqlite3.sqlite_version}")
    width = max(len(f) for f in FILTERS)
    print(f"{'filter':<{width}}  {'matches':>7}  {'compile':>7}  {'min ms':>6}  {'median':>6}  {'cpu ms':>6}  ok")
    worst = 0.0
    for expr in FILTERS:
        best, median, cpu, comp, matches = time_filter(lib, expr, args.runs)
        worst = max(worst, median)
        print(f"{expr:<{width}}  {matches:>7}  {comp:>7.3f}  {best:>6.1f}  {median:>6.1f}  {cpu:>6.1f}  "
              f"{'yes' if median <= TARGET_MS else 'NO'}")
    print(f"worst median {worst:.1f} ms (target <= {TARGET_MS:.0f} ms); loadavg after "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    lib.close()


if __name__ == "__main__":
    main()
