"""Find this person on the real shared photos: quality, external queries, cache consistency, codes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import os
import json

import numpy as np
import pytest

from faceorganizer.errors import NoFaceError
from faceorganizer.library import Library
from faceorganizer.search.service import store_fingerprint
from tests.conftest import main_faces


def test_main_face_queries_rank_the_same_person_first(shared_library_dir, shared_faces):
    with Library.open(shared_library_dir) as lib:
        ids, labels = main_faces(lib, shared_faces)
        label_of = dict(zip(ids, labels))
        rank1, aps = [], []
        for face_id, label in zip(ids, labels):
            hits = lib.search_face(face_id, top=200, threshold=None)
            ranked = [label_of.get(h.face_id) for h in hits if h.face_id in label_of]
            relevant = sum(1 for other in labels if other == label) - 1
            if relevant == 0:
                continue  # a person with one photo has nothing to find
            rank1.append(ranked[0] == label)
            found, precisions = 0, []
            for i, lab in enumerate(ranked, 1):
                if lab == label:
                    found += 1
                    precisions.append(found / i)
            aps.append(sum(precisions) / relevant)
    print(f"\nrank-1 {np.mean(rank1):.3f}  mAP {np.mean(aps):.3f} over {len(aps)} queries")
    assert np.mean(rank1) >= 0.98
    assert np.mean(aps) >= 0.95


def test_external_copy_finds_that_persons_photos_first(shared_library_dir, shared_faces, tmp_path):
    source = shared_faces / "identities" / "deepface_p03" / "img8.jpg"
    copy = tmp_path / "from_a_friend.jpg"
    shutil.copy(source, copy)
    with Library.open(shared_library_dir) as lib:
        hits = lib.search_image(copy, top=10)
    folders = [os.path.basename(os.path.dirname(h.photo)) for h in hits]
    assert hits[0].photo == str(source) and hits[0].distance < 0.05
    others = [f for f, h in zip(folders, hits) if h.photo != str(source)][:4]
    assert others and all(f == "deepface_p03" for f in others), folders


def test_image_without_a_face_gives_a_clear_message(shared_library_dir, shared_faces):
    with Library.open(shared_library_dir) as lib, pytest.raises(NoFaceError, match="no face found"):
        lib.search_image(shared_faces / "nonfaces" / "skimage_coffee.jpg")
    proc = subprocess.run([sys.executable, "-m", "faceorganizer", "search", "--library", str(shared_library_dir),
                           str(shared_faces / "nonfaces" / "dlib_eagle.jpg")], capture_output=True, text=True)
    assert proc.returncode == 2 and "no face found" in proc.stderr and "Traceback" not in proc.stderr


def test_search_json_shape_and_filters(shared_library_dir, shared_faces):
    proc = subprocess.run([sys.executable, "-m", "faceorganizer", "search", "--json", "--library",
                           str(shared_library_dir), str(shared_faces / "identities" / "angelina_jolie" / "img2.jpg"),
                           "--top", "5", "--where", "female"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)
    assert hits and all(set(h) >= {"face_id", "photo", "person_id", "score"} for h in hits)
    with Library.open(shared_library_dir) as lib:
        genders = [lib.faces("f.id = ?", [h["face_id"]])[0].attributes["gender"] for h in hits]
    assert all(g < 0.5 for g in genders)


def test_index_follows_the_store_after_deletes_and_merges(library_copy):
    lib = library_copy
    person = max(lib.people(), key=lambda p: p.face_count)
    query = person.face_ids[0]
    before = lib.search_face(query, top=5, threshold=None)
    fp = store_fingerprint(lib.db)
    victim = before[0].face_id
    lib.db.execute("DELETE FROM faces WHERE id = ?", [victim])
    assert store_fingerprint(lib.db) != fp
    after = lib.search_face(query, top=5, threshold=None)
    assert victim not in [h.face_id for h in after]
    assert [h.face_id for h in after[:3]] == [h.face_id for h in before[1:4]]
    # A merge changes people, not vectors: results keep their faces and show the new person.
    other = next(p for p in lib.people() if p.id != person.id)
    lib.merge(person.id, [other.id])
    merged = lib.search_face(other.face_ids[0], top=3, threshold=None)
    assert all(h.person_id in (person.id, None) or h.person_id != other.id for h in merged)
    # Another Library on the same folder (as a new process would) reads the cached index and answers the same.
    now = [h.face_id for h in lib.search_face(query, top=5, threshold=None)]
    assert (lib.cache_dir / "index.bin").is_file()
    lib2 = Library.open(lib.folder)
    assert [h.face_id for h in lib2.search_face(query, top=5, threshold=None)] == now
    lib2.close()


def test_codes_are_stable_and_verify_better_than_chance(library_copy, shared_faces):
    lib = library_copy
    codes1 = dict(lib.db.execute("SELECT id, code FROM faces WHERE code IS NOT NULL").fetchall())
    assert len(codes1) == lib.db.execute("SELECT COUNT(*) FROM faces").fetchone()[0]
    lib.db.execute("UPDATE faces SET code = NULL")
    lib.update_codes()  # same model, same codec: the same codes
    codes2 = dict(lib.db.execute("SELECT id, code FROM faces").fetchall())
    assert codes1 == codes2
    lib.db.execute("DELETE FROM kv WHERE key = 'codec'")
    lib.db.execute("UPDATE faces SET code = NULL")
    lib.update_codes()  # refitted from scratch: deterministic
    assert dict(lib.db.execute("SELECT id, code FROM faces").fetchall()) == codes1
    from faceorganizer.search.codes import code_verification_accuracy

    ids, labels = main_faces(lib, shared_faces)
    names = sorted(set(labels))
    acc = code_verification_accuracy(np.array([codes1[f] for f in ids], np.uint32),
                                     np.array([names.index(x) for x in labels]))[0]
    print(f"\ncode-only verification (balanced accuracy): {acc:.3f}")
    assert acc > 0.75


def test_photos_with_and_without_people(library_copy, shared_faces):
    lib = library_copy
    rows = lib.db.execute("SELECT f.photo_id, a.person_id FROM faces f JOIN assignments a ON a.face_id = f.id"
                          ).fetchall()
    by_photo: dict[int, set[int]] = {}
    for photo, person in rows:
        by_photo.setdefault(photo, set()).add(person)
    photo, people = next((p, s) for p, s in by_photo.items() if len(s) >= 2)
    a, b = sorted(people)[:2]
    both = lib.photos_with([a, b])
    assert photo in both and all({a, b} <= by_photo[p] for p in both)
    only_a = lib.photos_with([a], [b])
    assert photo not in only_a and all(a in by_photo[p] and b not in by_photo[p] for p in only_a)


def test_calibration_is_computed_once_per_library_change(library_copy, monkeypatch):
    """Densities of the whole library are computed when faces or people change, never per query."""
    from faceorganizer.search import ida
    from faceorganizer.store import search as store_search

    lib = library_copy
    calls: list[int] = []
    reads: list[int] = []
    original = ida.IDACalibrator.log_densities
    original_read = store_search.model_embeddings

    def counting(self, embeddings, labels=None):
        calls.append(len(np.atleast_2d(embeddings)))
        return original(self, embeddings, labels)

    def counting_read(db):
        reads.append(1)
        return original_read(db)

    monkeypatch.setattr(ida.IDACalibrator, "log_densities", counting)
    monkeypatch.setattr(store_search, "model_embeddings", counting_read)
    faces = [f.id for f in lib.faces()][:12]
    lib.db.execute("UPDATE faces SET density = NULL")  # as after an import
    first = lib.search_face(faces[0], top=5, threshold=1.5, calibrated=True)
    assert first and first[0].calibrated is not None
    n_faces = max(calls)
    assert n_faces > 100  # the whole library, once
    calls.clear()
    reads.clear()
    for f in faces[1:]:
        assert lib.search_face(f, top=5, threshold=1.5, calibrated=True)
    assert not calls  # library faces use their cached density
    assert not reads  # and no query re-reads the library's embeddings
    person = lib.people()[0]
    lib.reject([person.face_ids[0]], person.id)  # people changed: the calibration follows
    calls.clear()
    lib.search_face(faces[0], top=5, threshold=1.5, calibrated=True)
    assert max(calls, default=0) == n_faces
