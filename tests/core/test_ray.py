"""Imports whose analysis runs on a Ray cluster (scan/ray_engine.py), against a local import of the same photos.

The tests start a local Ray cluster themselves (2 CPUs, no dashboard, a small object store) and check: the same
photos, boxes and embeddings as a local import; a worker killed mid-import loses nothing; a driver killed
mid-import resumes without redoing stored photos; paths the workers cannot read are reported; without Ray the
``--engine ray`` option says how to install it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from faceorganizer.library import Library
from faceorganizer.scan.ray_engine import RayEngine, WorkerCannotReadError, map_path

SUBSET = ("groups", "identities/biden", "identities/angelina_jolie", "identities/obama")


@pytest.fixture(scope="module")
def ray_cluster():
    """A local two-CPU Ray instance for this module (shut down after it)."""
    ray = pytest.importorskip("ray", reason='Ray is an optional extra: pip install -e ".[cluster]"')
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024 * 1024, log_to_driver=False)
    yield ray
    ray.shutdown()


def _import(lib: Library, roots: list[Path], engine: RayEngine | None) -> list:
    return list(lib.import_job([str(r) for r in roots], engine=engine).run())


def _photos(db_path: Path, roots: list[Path] | None = None) -> dict[str, dict]:
    """path → photo row and its faces (boxes, embeddings) sorted by position, optionally under ``roots``."""
    con = sqlite3.connect(db_path)
    con.row_factory = sqlite3.Row
    out: dict[str, dict] = {}
    for p in con.execute("SELECT id, path, status, width, height, content_hash FROM photos"):
        if roots and not any(p["path"].startswith(str(r) + os.sep) for r in roots):
            continue
        faces = con.execute("SELECT x, y, w, h, embedding FROM faces WHERE photo_id = ? ORDER BY x, y",
                            [p["id"]]).fetchall()
        out[p["path"]] = {
            "row": (p["status"], p["width"], p["height"], p["content_hash"]),
            "boxes": np.array([[f["x"], f["y"], f["w"], f["h"]] for f in faces], np.float64).reshape(-1, 4),
            "embeddings": np.stack([np.frombuffer(f["embedding"], np.float32) for f in faces])
            if faces else np.zeros((0, 128), np.float32)}
    con.close()
    return out


def _assert_same(got: dict[str, dict], want: dict[str, dict]) -> None:
    assert sorted(got) == sorted(want)
    for path, w in want.items():
        g = got[path]
        assert g["row"] == w["row"], path
        assert g["boxes"].shape == w["boxes"].shape, path
        if len(w["boxes"]):
            assert np.abs(g["boxes"] - w["boxes"]).max() <= 1e-3, path
            assert np.abs(g["embeddings"] - w["embeddings"]).max() <= 1e-5, path


def _no_duplicates(db_path: Path) -> None:
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT COUNT(*) FROM (SELECT path FROM photos GROUP BY path HAVING COUNT(*) > 1)"
                       ).fetchone()[0] == 0
    assert con.execute("SELECT COUNT(*) FROM (SELECT photo_id FROM faces GROUP BY photo_id, x, y "
                       "HAVING COUNT(*) > 1)").fetchone()[0] == 0
    con.close()


def test_map_path_replaces_the_first_matching_prefix():
    pairs = (("/Volumes/photos", "/mnt/photos"), ("/home/a", "/data/a"))
    assert map_path("/Volumes/photos/2024/x.jpg", pairs) == "/mnt/photos/2024/x.jpg"
    assert map_path("/Volumes/photos", pairs) == "/mnt/photos"
    assert map_path("/Volumes/photosets/x.jpg", pairs) == "/Volumes/photosets/x.jpg"  # not a folder prefix
    assert map_path("/home/a/b.jpg", pairs) == "/data/a/b.jpg"


def _stages(ticks: list) -> list[str]:
    return list(dict.fromkeys(t.stage for t in ticks))


def test_ray_import_matches_local_import(ray_cluster, shared_faces, shared_library_dir, tmp_path):
    with Library.open(tmp_path / "local") as lib:  # the stages a local import reports
        local_stages = _stages(_import(lib, [shared_faces / "identities" / "obama"], None))
    with Library.open(tmp_path / "ray") as lib:
        ticks = _import(lib, [shared_faces], RayEngine(actors=2))
    done = [t.photos_done for t in ticks]
    assert done == sorted(done)  # progress only moves forward
    assert _stages(ticks) == local_stages
    last = ticks[-1]
    want = _photos(shared_library_dir / "library.db")
    assert last.photos_done == last.photos_total == len(want)
    assert last.rate > 0 and last.eta == 0
    _assert_same(_photos(tmp_path / "ray" / "library.db"), want)


def test_killed_ray_worker_loses_nothing(ray_cluster, shared_faces, shared_library_dir, tmp_path):
    roots = [shared_faces / s for s in SUBSET]
    pools: list = []
    killed: list[int] = []
    with Library.open(tmp_path / "ray") as lib:
        for tick in lib.import_job([str(r) for r in roots], engine=RayEngine(actors=2, on_start=pools.append)
                                   ).run():
            if not killed and tick.photos_done >= 2:
                assert tick.photos_done < tick.photos_total, "the import ended before the worker was killed"
                pid = pools[0].worker_pids()[0]
                os.kill(pid, signal.SIGKILL)  # a worker crash, not a polite stop
                killed.append(pid)
            elif killed and len(killed) == 1 and tick.stage == "importing":
                # The killed actor came back as a new process (it is restarted, its photos re-run).
                pids = pools[0].worker_pids()
                assert killed[0] not in pids
                killed.append(pids[0])
        assert tick.stage == "done"
    assert len(killed) == 2, "the killed worker was never seen restarted"
    want = _photos(shared_library_dir / "library.db", roots)
    _assert_same(_photos(tmp_path / "ray" / "library.db"), want)
    _no_duplicates(tmp_path / "ray" / "library.db")


DRIVER = """
import sys, ray
from faceorganizer.library import Library
from faceorganizer.scan.ray_engine import RayEngine
ray.init(address=sys.argv[1], log_to_driver=False)
with Library.open(sys.argv[2]) as lib:
    for tick in lib.import_job(sys.argv[3:], engine=RayEngine(actors=2)).run():
        print(tick.photos_done, flush=True)
"""


def test_killed_driver_resumes_without_redoing_photos(ray_cluster, shared_faces, shared_library_dir, tmp_path):
    roots = [shared_faces / s for s in SUBSET]
    lib_dir = tmp_path / "ray"
    address = ray_cluster.get_runtime_context().gcs_address
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, address, str(lib_dir), *map(str, roots)],
                            stdout=subprocess.PIPE, text=True)
    stored = 0
    for line in proc.stdout:  # kill the driver once some photos are stored
        stored = int(line.strip() or 0)
        if stored >= 3:
            break
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert stored >= 3, "the driver stopped before storing photos"
    with sqlite3.connect(lib_dir / "library.db") as con:
        before = con.execute("SELECT COUNT(*) FROM photos WHERE status = 'ok'").fetchone()[0]
    want = _photos(shared_library_dir / "library.db", roots)
    assert 0 < before < len(want)
    with Library.open(lib_dir) as lib:
        ticks = _import(lib, roots, RayEngine(actors=2))
    # Stored photos are not analysed again: only the rest is queued.
    assert ticks[-1].photos_total == len(want) - before
    assert ticks[-1].stage == "done"
    _assert_same(_photos(lib_dir / "library.db"), want)
    _no_duplicates(lib_dir / "library.db")


def test_paths_workers_cannot_read_are_reported(ray_cluster, shared_faces, tmp_path):
    folder = shared_faces / "identities" / "obama"
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    # A root the workers see elsewhere (not shared storage): the import stops before any photo, naming it.
    elsewhere = RayEngine(actors=1, path_map=((str(folder), str(tmp_path / "not-mounted")),))
    with Library.open(tmp_path / "a") as lib:
        with pytest.raises(WorkerCannotReadError, match="cannot read .*not-mounted.*same path"):
            _import(lib, [folder], elsewhere)
    # One file the workers cannot read: skipped with that reason, the others imported.
    one = RayEngine(actors=1, path_map=((str(photos[0]), str(tmp_path / "gone.jpg")),))
    with Library.open(tmp_path / "b") as lib:
        last = _import(lib, [folder], one)[-1]
    assert last.photos_skipped == 1 and last.photos_added == len(photos) - 1
    reason = last.skipped[0]["reason"]
    assert "Ray worker on" in reason and "gone.jpg" in reason and "same path" in reason


def test_engine_ray_without_ray_says_how_to_install(tmp_path, shared_faces, capsys, monkeypatch):
    from faceorganizer.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets when Ray is not installed
    rc = main(["--library", str(tmp_path / "lib"), "import", "--engine", "ray",
               str(shared_faces / "identities" / "obama")])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and err.startswith("faceorganizer: error:")
    assert 'pip install -e ".[cluster]"' in err
