"""People, verification and search on ``../shared/lfw_dev`` (6,241 LFW photos, 2,829 people): the hard set.

    .venv/bin/python bench/bench_lfw.py --library /work/lfwlib            # import with the CLI, then score
    .venv/bin/python bench/bench_lfw.py --library /work/lfwlib --reuse    # score an existing import

What it prints (see ``../shared/docs/evaluation.md`` and ``../shared/lfw_dev/README.md``):

1. Grouping of the library as the CLI import left it, and re-run on the stored embeddings through the real
   after-import code path (``people.grouping.group_after_import``, the function the importer calls) for one
   import and for three imports (alphabetical thirds of the people, one after the other). The batches are
   simulated on a copy of the database by hiding the embeddings of the later batches, so no re-import is
   needed. Scored on each photo's face nearest the image centre against the folder name: pairwise and BCubed
   precision/recall/F1 (counted from the contingency table, not looped over pairs), people found vs true
   people with ≥ 2 photos, true people split over several groups, impure groups, and merges (a group holding
   ≥ 5 faces of each of two people).
2. Verification on ``pairs_dev.txt``: mean 10-fold accuracy (threshold chosen on 9 contiguous folds) and
   accuracy at the fixed distance 0.6; a pair with a missing face counts as wrong.
3. Search through ``Library.search_face``: each person with ≥ 2 photos queries with their first photo's
   central face; the relevant results are the central faces of their other photos (faces whose identity is
   unknown — people in the background — are skipped in the ranking). Rank-1, mAP (AP over the top 100,
   normalised by min(relevant, 100)) and median query time, plain distances vs calibrated scores.

Only a bench: it never imports tests/. Run under ``nice``; a full import takes 7–10 min on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from faceorganizer.store import connect  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "lfw_dev"


# ----------------------------------------------------------------------------------------------- the data


class LibraryFaces:
    """The library's faces with the ground truth of their photos' central faces."""

    def __init__(self, db_path: Path) -> None:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        rows = conn.execute(
            "SELECT f.id, f.photo_id, f.x, f.y, f.w, f.h, p.path, p.width, p.height, f.embedding "
            "FROM faces f JOIN photos p ON p.id = f.photo_id WHERE f.embedding IS NOT NULL ORDER BY f.id"
        ).fetchall()
        self.n_photos = conn.execute("SELECT COUNT(*) FROM photos WHERE status = 'ok'").fetchone()[0]
        self.photo_paths = {r[0]: r[1] for r in conn.execute("SELECT id, path FROM photos")}
        conn.close()
        self.face_ids = np.array([r[0] for r in rows], np.int64)
        self.photo_of = np.array([r[1] for r in rows], np.int64)
        self.vectors = np.frombuffer(b"".join(r[9] for r in rows), np.float32).reshape(len(rows), -1)
        best: dict[int, tuple[float, int]] = {}
        for i, (_, pid, x, y, w, h, _, pw, ph, _) in enumerate(rows):
            d = (x + w / 2 - pw / 2) ** 2 + (y + h / 2 - ph / 2) ** 2
            if pid not in best or d < best[pid][0]:
                best[pid] = (d, i)
        # Central face of each photo: index into the face arrays, and its person (the folder name).
        self.central = np.array(sorted(i for _, i in best.values()), np.int64)
        self.name = np.array([Path(rows[i][6]).parent.name for i in self.central])
        self.path_of_central = {Path(rows[i][6]).name: i for i in self.central}
        self.row_of_face = {int(f): i for i, f in enumerate(self.face_ids)}


def truth_codes(names: np.ndarray) -> np.ndarray:
    return np.unique(names, return_inverse=True)[1].astype(np.int64)


# -------------------------------------------------------------------------------------------- grouping


def _c2(n: np.ndarray) -> float:
    n = n.astype(np.float64)
    return float((n * (n - 1) / 2).sum())


def grouping_scores(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Pairwise/BCubed P/R/F1 plus the counts; ``pred`` < 0 means unsorted (a singleton)."""
    pred = pred.copy()
    lone = pred < 0
    pred[lone] = pred.max(initial=0) + 1 + np.arange(lone.sum())
    _, t = np.unique(truth, return_inverse=True)
    _, p = np.unique(pred, return_inverse=True)
    pairs = np.stack([t, p], axis=1)
    cells, n_ij = np.unique(pairs, axis=0, return_counts=True)
    a = np.bincount(t)
    b = np.bincount(p)
    tp = _c2(n_ij)
    pp, pr = tp / max(_c2(b), 1), tp / max(_c2(a), 1)
    nij = n_ij.astype(np.float64)
    bp = float((nij**2 / b[cells[:, 1]]).sum() / len(t))
    br = float((nij**2 / a[cells[:, 0]]).sum() / len(t))
    f1 = lambda x, y: 0.0 if x + y == 0 else 2 * x * y / (x + y)  # noqa: E731
    # Per group: how many faces of each true person.
    by_group: dict[int, list[int]] = defaultdict(list)
    for (ti, pi), c in zip(cells.tolist(), n_ij.tolist()):
        by_group[pi].append(c)
    groups = [sorted(v, reverse=True) for g, v in by_group.items() if b[g] >= 2]
    parts_of_person = np.bincount(cells[:, 0])
    return {
        "pair_p": pp, "pair_r": pr, "pair_f1": f1(pp, pr), "b3_p": bp, "b3_r": br, "b3_f1": f1(bp, br),
        "people_found": len(groups), "people_true": int((a >= 2).sum()),
        "split": int(((a >= 2) & (parts_of_person > 1)).sum()),
        "impure": sum(len(g) > 1 for g in groups),
        "merges5": sum(len(g) > 1 and g[1] >= 5 for g in groups),
    }


def _fmt_grouping(label: str, s: dict[str, float]) -> str:
    return (f"{label:<34} {s['pair_p']:.3f} {s['pair_r']:.3f} {s['pair_f1']:.3f}  {s['b3_p']:.3f} "
            f"{s['b3_r']:.3f} {s['b3_f1']:.3f}  {s['people_found']:>5}/{s['people_true']:<4} "
            f"{s['split']:>5} {s['impure']:>6} {s['merges5']:>4}")


GROUPING_HEADER = (f"{'grouping':<34} pairP pairR pairF1  b3P   b3R   b3F1   found/true  split impure mrg5")


def current_labels(db_path: Path, lf: LibraryFaces) -> np.ndarray:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    person = dict(conn.execute("SELECT face_id, person_id FROM assignments").fetchall())
    conn.close()
    return np.array([person.get(int(lf.face_ids[i]), -1) for i in lf.central], np.int64)


def _after_import():
    from faceorganizer.people import grouping

    return getattr(grouping, "group_after_import", None) or grouping.assign_new_faces


def simulate_batches(db_path: Path, lf: LibraryFaces, n_batches: int, threshold: float | None) -> np.ndarray:
    """Labels of the central faces after importing the people in ``n_batches`` alphabetical batches.

    Runs on a copy of the database: the assignments are cleared, the embeddings of later batches hidden,
    and after each batch is revealed the importer's own grouping step runs.
    """
    from faceorganizer.settings import load_settings

    threshold = load_settings().cluster_threshold if threshold is None else threshold
    hook = _after_import()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "library.db"
        src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        dst = sqlite3.connect(str(copy))
        src.backup(dst)
        src.close()
        dst.close()
        db = connect(copy)
        db.execute("DELETE FROM assignments")
        db.execute("DELETE FROM rejections")
        db.execute("DELETE FROM people")
        db.execute("DELETE FROM kv WHERE key LIKE 'grouping%'")
        # Every photo's batch: alphabetical thirds of the people (folder names).
        people = sorted({Path(p).parent.name for p in lf.photo_paths.values()})
        batch_of_person = {name: min(i * n_batches // len(people), n_batches - 1) for i, name in enumerate(people)}
        batch_of_photo = {pid: batch_of_person[Path(p).parent.name] for pid, p in lf.photo_paths.items()}
        batch = np.array([batch_of_photo[int(p)] for p in lf.photo_of], np.int64)
        blobs = {int(f): lf.vectors[i].tobytes() for i, f in enumerate(lf.face_ids)}
        later = lf.face_ids[batch > 0]
        db.conn.executemany("UPDATE faces SET embedding = NULL WHERE id = ?", [(int(f),) for f in later])
        for b in range(n_batches):
            if b:
                db.conn.executemany("UPDATE faces SET embedding = ? WHERE id = ?",
                                    [(blobs[int(f)], int(f)) for f in lf.face_ids[batch == b]])
            hook(db, threshold)
        labels = current_labels(copy, lf)
        db.conn.close()
    return labels


# ---------------------------------------------------------------------------------------- verification


def read_pairs(path: Path) -> list[tuple[str, str, bool]]:
    out = []
    for line in path.read_text().splitlines():
        f = line.strip().split("\t")
        if f[-1] == "same":
            out.append((f"{f[0]}_{int(f[1]):04d}.jpg", f"{f[0]}_{int(f[2]):04d}.jpg", True))
        elif f[-1] == "different":
            out.append((f"{f[0]}_{int(f[1]):04d}.jpg", f"{f[2]}_{int(f[3]):04d}.jpg", False))
    return out


def verification(distances: np.ndarray, same: np.ndarray, folds: int = 10) -> tuple[float, float, float]:
    """(mean 10-fold accuracy, its std, accuracy at 0.6); NaN distances (no face) are always wrong."""
    n = len(distances)
    edges = np.linspace(0, n, folds + 1).astype(int)
    accs = []
    for f in range(folds):
        test = np.zeros(n, bool)
        test[edges[f]:edges[f + 1]] = True
        tr_d, tr_s = distances[~test], same[~test]
        ok = np.isfinite(tr_d)
        cands = np.unique(tr_d[ok])
        cands = np.concatenate([cands, [cands[-1] + 1e-6]]) if cands.size else np.array([0.6])
        acc = [((tr_d[ok] < t) == tr_s[ok]).sum() for t in cands]
        thr = cands[int(np.argmax(acc))]
        d, s = distances[test], same[test]
        accs.append(float((np.isfinite(d) & ((d < thr) == s)).mean()))
    at06 = float((np.isfinite(distances) & ((distances < 0.6) == same)).mean())
    return float(np.mean(accs)), float(np.std(accs)), at06


def pair_distances(lf: LibraryFaces, pairs: list[tuple[str, str, bool]], vectors: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    vectors = lf.vectors if vectors is None else vectors
    d = np.full(len(pairs), np.nan)
    for t, (a, b, _) in enumerate(pairs):
        ia, ib = lf.path_of_central.get(a), lf.path_of_central.get(b)
        if ia is not None and ib is not None:
            d[t] = float(np.linalg.norm(vectors[ia] - vectors[ib]))
    return d, np.array([s for _, _, s in pairs], bool)


# ---------------------------------------------------------------------------------------------- search


def search_eval(library_dir: Path, lf: LibraryFaces, calibrated: bool, top: int = 100,
                max_queries: int | None = None) -> dict[str, float]:
    from faceorganizer.library import Library

    by_person: dict[str, list[int]] = defaultdict(list)
    for i, name in zip(lf.central, lf.name):
        by_person[str(name)].append(int(i))
    name_of_face = {int(lf.face_ids[i]): str(n) for i, n in zip(lf.central, lf.name)}
    queries = [(name, rows) for name, rows in sorted(by_person.items()) if len(rows) >= 2]
    if max_queries:
        queries = queries[:max_queries]
    rank1, aps, times, cpu = [], [], [], []
    with Library.open(library_dir, create=False) as lib:
        lib.search_face(int(lf.face_ids[queries[0][1][0]]), top=5, calibrated=calibrated)  # warm caches
        for name, rows in queries:
            q = int(lf.face_ids[rows[0]])
            t, c = time.perf_counter(), time.process_time()
            hits = lib.search_face(q, top=top, threshold=1.5, calibrated=calibrated)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            ranked = [name_of_face[h.face_id] == name for h in hits if h.face_id in name_of_face]
            n_rel = min(len(rows) - 1, top)
            rank1.append(bool(ranked) and ranked[0])
            hits_so_far, ap = 0, 0.0
            for r, ok in enumerate(ranked, 1):
                if ok:
                    hits_so_far += 1
                    ap += hits_so_far / r
            aps.append(min(ap / n_rel, 1.0))
    return {"queries": len(queries), "rank1": float(np.mean(rank1)), "map": float(np.mean(aps)),
            "median_ms": 1000 * statistics.median(times), "p90_ms": 1000 * float(np.percentile(times, 90)),
            "cpu_ms": 1000 * statistics.median(cpu)}


# ------------------------------------------------------------------------------------------------ main


def run_import(photos: Path, library: Path) -> float:
    if library.exists():
        shutil.rmtree(library)
    t = time.perf_counter()
    subprocess.run([str(ROOT / ".venv" / "bin" / "faceorganizer"), "import", str(photos), "--library",
                    str(library)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--library", type=Path, default=Path("/work/lfwlib"))
    ap.add_argument("--reuse", action="store_true", help="score the existing library (no import)")
    ap.add_argument("--threshold", type=float, default=None, help="grouping threshold (default: settings)")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: cli,one,batches,verify,search")
    ap.add_argument("--queries", type=int, default=None, help="at most this many search queries")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if not args.reuse:
        secs = run_import(args.data / "photos", args.library)
        print(f"import: {secs:.0f} s, load {os.getloadavg()[0]:.1f}")
    db_path = args.library / "library.db"
    lf = LibraryFaces(db_path)
    truth = truth_codes(lf.name)
    print(f"{lf.n_photos} photos, {len(lf.face_ids)} faces, {len(lf.central)} central faces, "
          f"{len(np.unique(lf.name))} people")
    print(GROUPING_HEADER)
    if "cli" not in skip:
        print(_fmt_grouping("library as imported", grouping_scores(truth, current_labels(db_path, lf))))
    for n in ([] if "one" in skip else [1]) + ([] if "batches" in skip else [3]):
        t = time.perf_counter()
        labels = simulate_batches(db_path, lf, n, args.threshold)
        secs = time.perf_counter() - t
        print(_fmt_grouping(f"{n} import(s), stored embeddings", grouping_scores(truth, labels)) + f"  {secs:.0f}s")
    if "verify" not in skip:
        pairs = read_pairs(args.data / "pairs_dev.txt")
        d, same = pair_distances(lf, pairs)
        mean, std, at06 = verification(d, same)
        print(f"verification: {len(pairs)} pairs, missing faces {int(np.isnan(d).sum())}: 10-fold "
              f"{100 * mean:.2f} % (± {100 * std:.2f}), at 0.6 {100 * at06:.2f} %")
    if "search" not in skip:
        for cal in (False, True):
            s = search_eval(args.library, lf, cal, max_queries=args.queries)
            print(f"search {'calibrated' if cal else 'plain     '}: {s['queries']} queries, rank-1 {s['rank1']:.3f}, "
                  f"mAP {s['map']:.3f}, median {s['median_ms']:.1f} ms (p90 {s['p90_ms']:.1f}, CPU median "
                  f"{s['cpu_ms']:.1f} ms), load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
