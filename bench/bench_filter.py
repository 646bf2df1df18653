"""Time the filter language on a real library file of 100,000 synthetic faces: compile + query, ms per filter.

Usage: python bench/bench_filter.py [--faces 100000] [--runs 7] [--keep DIR]
The rows are inserted into a library created by ``Library.open`` (same schema, indexes and pragmas as a
user's library). Each filter is compiled and run as ``SELECT f.id FROM faces f JOIN photos p ... WHERE``
(fetching every matching id, as the GUI's face list does); the median of ``--runs`` runs after one warm-up
is reported with the machine's load average, since other processes can skew timings. Target: ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
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

FILTERS = [
    "age>=30 and age<50 and smiling and pose=frontal",
    '(happy or surprised) and not profile and year>=2018 and person="Person 7"',
    'bracket=adult and female and tag:glasses and folder="/photos/2019"',
    "not unassigned and date>=2019-06 and smile>=0.3 and yaw>-20 and yaw<20",
    "(male and age>60 or female and age<10) and sharpness>100 and not tag:glasses>=0.8",
    "angry>=0.2 and brightness<80 and quality>0.5",
]
TARGET_MS = 50.0


def populate(lib: Library, n_faces: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    db = lib.db
    n_photos = n_faces // 3
    n_people = 300
    years = rng.integers(2010, 2025, n_photos)
    dates = [f"{y}-{m:02d}-{d:02d} 12:00:00" for y, m, d in
             zip(years, rng.integers(1, 13, n_photos), rng.integers(1, 29, n_photos))]
    with db.conn:
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
                         float(rng.uniform(0, 90)), float(rng.random()), expr["happy"], max(expr, key=expr.get),
                         json.dumps(expr), str(pose[i]), float(yaw[i]), float(rng.uniform(-30, 30)),
                         float(rng.uniform(-20, 20)), float(rng.uniform(0, 500)), float(rng.uniform(0, 255)),
                         float(rng.uniform(20, 800)), float(rng.random())))
        db.conn.executemany(
            "INSERT INTO faces (id, photo_id, x, y, w, h, landmarks, det_score, age, gender, smile, expression, "
            "expressions, pose, yaw, pitch, roll, sharpness, brightness, size, quality) "
            "VALUES (?, ?, 0, 0, 100, 100, '[]', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        assigned = rng.random(n_faces) < 0.7
        # Zipf-like people sizes: a few people hold most faces.
        owner = np.minimum(rng.zipf(1.5, n_faces), n_people)
        db.conn.executemany("INSERT INTO assignments (face_id, person_id, origin) VALUES (?, ?, 'auto')",
                            [(i + 1, int(owner[i])) for i in np.flatnonzero(assigned)])
        tagged = rng.random(n_faces) < 0.3
        db.conn.executemany(
            "INSERT INTO user_attributes (face_id, name, value, origin, confidence) VALUES (?, 'glasses', ?, ?, ?)",
            [(i + 1, int(rng.random() < 0.3), "user" if rng.random() < 0.05 else "predicted",
              float(rng.uniform(0.5, 1))) for i in np.flatnonzero(tagged)])


def time_filter(lib: Library, expr: str, runs: int) -> tuple[float, float, int]:
    """(median ms compile+query+fetch, compile ms, matches)."""
    times = []
    matches = 0
    for run in range(runs + 1):
        start = time.perf_counter()
        clause, params = compile_filter(expr)
        compiled = time.perf_counter()
        ids = [r[0] for r in lib.db.execute(
            f"SELECT f.id FROM faces f JOIN photos p ON p.id = f.photo_id WHERE {clause}", params)]
        end = time.perf_counter()
        if run:  # the first run warms the page cache
            times.append(((end - start) * 1000, (compiled - start) * 1000))
        matches = len(ids)
    return statistics.median(t for t, _ in times), statistics.median(c for _, c in times), matches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None, help="build the library here and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-filter-")) / "lib"
    fresh = not (folder / "library.db").exists()
    lib = Library.open(folder)
    if fresh:
        start = time.perf_counter()
        populate(lib, args.faces)
        print(f"inserted {args.faces} faces in {time.perf_counter() - start:.1f}s into {folder}")
    n = lib.db.execute("SELECT count(*) FROM faces").fetchone()[0]
    print(f"faces={n} loadavg={' '.join(f'{v:.2f}' for v in os.getloadavg())} sqlite={__import__('sqlite3').sqlite_version}")
    width = max(len(f) for f in FILTERS)
    print(f"{'filter':<{width}}  {'matches':>7}  {'compile ms':>10}  {'total ms':>8}  ok")
    worst = 0.0
    for expr in FILTERS:
        total, comp, matches = time_filter(lib, expr, args.runs)
        worst = max(worst, total)
        print(f"{expr:<{width}}  {matches:>7}  {comp:>10.3f}  {total:>8.1f}  {'yes' if total <= TARGET_MS else 'NO'}")
    print(f"worst {worst:.1f} ms (target ≤ {TARGET_MS:.0f} ms); loadavg after "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    lib.close()


if __name__ == "__main__":
    main()
