"""People from faces, over the store: full re-clustering, incremental assignment, and review helpers.

The user's edits are law (see :mod:`faceorganizer.people.edits`): confirmed faces never move; rejected
(face, person) pairs never come back together; two faces of one photo are never one automatic person.
Re-clustering only moves *automatic* assignments, and every name survives it: a person keeps its id when it
holds confirmed faces, and otherwise the new group that holds most of its former faces inherits it.

Quality floor: faces too small, too blurred or with a weak detection do not seed people (they can still
join one); a group needs two faces, so a background stranger seen once stays in "Unsorted".
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import sqlite_utils

from faceorganizer.errors import InvalidEditError, NotFoundError
from faceorganizer.people import review
from faceorganizer.people.cluster import DEFAULT_K, build_merge_tree, cluster_faces
from faceorganizer.store import transaction

log = logging.getLogger("faceorganizer.people")

#: A face seeds a new person only if it is at least this large (pixels, short side of the box) ...
SEED_MIN_SIZE = 36.0
#: ... sharp enough (variance of the Laplacian of the 150-px chip) ...
SEED_MIN_SHARPNESS = 10.0
#: ... and a confident detection.
SEED_MIN_SCORE = 0.9


@dataclass
class FaceSet:
    """Every embedded face of the current model with what the constraints need."""

    ids: np.ndarray
    vectors: np.ndarray
    photo: np.ndarray
    seed: np.ndarray
    person: np.ndarray  # current person id, or -1
    confirmed: np.ndarray  # bool
    index: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {int(f): i for i, f in enumerate(self.ids)}


@dataclass(frozen=True)
class GroupingResult:
    """What a (re)grouping changed."""

    faces: int
    people: int
    assigned: int
    unsorted: int
    new_people: int


def current_model(db: sqlite_utils.Database) -> str | None:
    rows = list(db.query("SELECT embed_model, COUNT(*) AS n FROM faces WHERE embedding IS NOT NULL "
                         "GROUP BY embed_model ORDER BY n DESC LIMIT 1"))
    return rows[0]["embed_model"] if rows else None


def load_faces(db: sqlite_utils.Database, where: str = "1", params: list | tuple = ()) -> FaceSet:
    """Faces of the library's embedding model (those of an older model wait for re-embedding)."""
    model = current_model(db)
    rows = list(db.query(
        "SELECT f.id, f.photo_id, f.embedding, f.w, f.h, f.sharpness, f.det_score, "
        "COALESCE(a.person_id, -1) AS person, COALESCE(a.origin = 'confirmed', 0) AS confirmed "
        f"FROM faces f LEFT JOIN assignments a ON a.face_id = f.id WHERE f.embedding IS NOT NULL "
        f"AND f.embed_model = ? AND ({where}) ORDER BY f.id", [model, *params]))
    n = len(rows)
    vectors = (np.frombuffer(b"".join(r["embedding"] for r in rows), np.float32).reshape(n, -1).copy()
               if n else np.zeros((0, 128), np.float32))
    seed = np.array([min(r["w"], r["h"]) >= SEED_MIN_SIZE and (r["sharpness"] or 0) >= SEED_MIN_SHARPNESS
                     and r["det_score"] >= SEED_MIN_SCORE for r in rows], bool)
    return FaceSet(np.array([r["id"] for r in rows], np.int64), vectors,
                   np.array([r["photo_id"] for r in rows], np.int64), seed,
                   np.array([r["person"] for r in rows], np.int64),
                   np.array([bool(r["confirmed"]) for r in rows], bool))


def _same_photo_pairs(photo: np.ndarray) -> list[tuple[int, int]]:
    by_photo: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(photo):
        by_photo[int(p)].append(i)
    return [pair for members in by_photo.values() if len(members) > 1 for pair in combinations(members, 2)]


def _rejections(db: sqlite_utils.Database) -> set[tuple[int, int]]:
    return {(r["face_id"], r["person_id"]) for r in db.query("SELECT face_id, person_id FROM rejections")}


def _constraints(db: sqlite_utils.Database, fs: FaceSet) -> tuple[list[tuple[int, int]], dict[int, int]]:
    cannot = _same_photo_pairs(fs.photo)
    fixed = {i: int(fs.person[i]) for i in np.flatnonzero(fs.confirmed)}
    confirmed_of: dict[int, list[int]] = defaultdict(list)
    for i, p in fixed.items():
        confirmed_of[p].append(i)
    for face_id, person_id in _rejections(db):
        i = fs.index.get(face_id)
        if i is not None:
            cannot += [(i, j) for j in confirmed_of.get(person_id, ())]
    return cannot, fixed


def recluster(db: sqlite_utils.Database, threshold: float, *, n_people: int | None = None,
              k: int = DEFAULT_K) -> GroupingResult:
    """Re-group every automatic face at ``threshold`` (or into about ``n_people`` groups); keeps all names."""
    fs = load_faces(db)
    if not len(fs.ids):
        return GroupingResult(0, 0, 0, 0, 0)
    cannot, fixed = _constraints(db, fs)
    kk = max(1, min(k, len(fs.ids) - 1))
    if n_people is not None:
        tree = build_merge_tree(fs.vectors, k=kk, cannot_link=cannot, fixed=fixed, seed_mask=fs.seed)
        labels = tree.labels_for_n(n_people)
    else:
        labels = cluster_faces(fs.vectors, threshold, k=kk, cannot_link=cannot, fixed=fixed, seed_mask=fs.seed)
    return _write_groups(db, fs, np.asarray(labels), fixed)


def _write_groups(db: sqlite_utils.Database, fs: FaceSet, labels: np.ndarray, fixed: dict[int, int]
                  ) -> GroupingResult:
    members: dict[int, list[int]] = defaultdict(list)
    for i, lab in enumerate(labels):
        members[int(lab)].append(i)
    named = {r["id"] for r in db.query("SELECT id FROM people WHERE name IS NOT NULL")}
    person_of_cluster: dict[int, int] = {}
    # 1. Clusters holding confirmed faces belong to that person.
    for lab, idx in members.items():
        keys = {fixed[i] for i in idx if i in fixed}
        if keys:
            person_of_cluster[lab] = min(keys)  # the clustering never joins two keys; min() is defensive
    taken = set(person_of_cluster.values())
    photos_of: dict[int, set[int]] = defaultdict(set)
    for lab, pid in person_of_cluster.items():
        photos_of[pid] |= {int(fs.photo[i]) for i in members[lab]}
    # 2. Other groups of ≥ 2 faces inherit the person that held most of their faces (named persons first).
    #    A named person also keeps every such group (a name is never lost because the faces it covered now
    #    fall into two groups), unless that would put two faces of one photo into it.
    candidates = []
    for lab, idx in members.items():
        if lab in person_of_cluster or len(idx) < 2:
            continue
        votes = Counter(int(fs.person[i]) for i in idx if fs.person[i] >= 0 and not fs.confirmed[i])
        for pid, count in votes.items():
            if 2 * count > len(idx) or pid in named:
                candidates.append((pid not in named, -count, lab, pid))
    for _, _, lab, pid in sorted(candidates):
        if lab in person_of_cluster:
            continue
        photos = {int(fs.photo[i]) for i in members[lab]}
        if pid in taken and (pid not in named or photos & photos_of[pid]):
            continue
        person_of_cluster[lab] = pid
        taken.add(pid)
        photos_of[pid] |= photos
    rejected = _rejections(db)
    new_people = assigned = unsorted = 0
    with transaction(db):
        for lab, idx in members.items():
            auto = [i for i in idx if not fs.confirmed[i]]
            if not auto:
                continue
            pid = person_of_cluster.get(lab)
            if pid is None and len(idx) >= 2:
                pid = db.execute("INSERT INTO people (name) VALUES (NULL)").lastrowid
                new_people += 1
            centre = fs.vectors[idx].mean(axis=0) if pid is not None else None
            for i in auto:
                face_id = int(fs.ids[i])
                if pid is None or (face_id, pid) in rejected:
                    db.execute("DELETE FROM assignments WHERE face_id = ?", [face_id])
                    unsorted += 1
                    continue
                dist = float(np.linalg.norm(fs.vectors[i] - centre))
                db.execute("INSERT OR REPLACE INTO assignments (face_id, person_id, origin, distance) "
                           "VALUES (?, ?, 'auto', ?)", [face_id, pid, dist])
                assigned += 1
        people = db.execute("SELECT COUNT(DISTINCT person_id) FROM assignments").fetchone()[0]
    log.info("grouped %d faces: %d people, %d assigned, %d unsorted, %d new", len(fs.ids), people, assigned,
             unsorted, new_people)
    return GroupingResult(len(fs.ids), people, assigned, unsorted, new_people)


def assign_new_faces(db: sqlite_utils.Database, threshold: float, *, k: int = 10) -> GroupingResult:
    """After an import: put unassigned faces into existing people by a k-NN vote, group the rest.

    A face joins the person most of its neighbours within ``threshold`` belong to (weighted by closeness),
    unless it was rejected for that person or another face of its photo is already that person.
    """
    fs = load_faces(db)
    todo = np.flatnonzero(fs.person < 0)
    if not len(todo):
        return GroupingResult(len(fs.ids), 0, 0, 0, 0)
    members = np.flatnonzero(fs.person >= 0)
    rejected = _rejections(db)
    photo_people: dict[int, set[int]] = defaultdict(set)
    for i in members:
        photo_people[int(fs.photo[i])].add(int(fs.person[i]))
    assigned: dict[int, tuple[int, float]] = {}
    if len(members):
        import faiss

        index = faiss.IndexFlatL2(fs.vectors.shape[1])
        index.add(fs.vectors[members])
        kk = min(k, len(members))
        d2, nn = index.search(fs.vectors[todo], kk)
        dist = np.sqrt(np.maximum(d2, 0))
        order = np.argsort(dist[:, 0])  # most certain first, so photo conflicts favour the closest face
        for row in order:
            i = todo[row]
            votes: dict[int, float] = defaultdict(float)
            for d, j in zip(dist[row], nn[row]):
                if j < 0 or d >= threshold:
                    continue
                votes[int(fs.person[members[j]])] += 1.0 / (d + 1e-3)
            for pid, _ in sorted(votes.items(), key=lambda kv: -kv[1]):
                face_id = int(fs.ids[i])
                if (face_id, pid) in rejected or pid in photo_people[int(fs.photo[i])]:
                    continue
                assigned[i] = (pid, float(dist[row][0]))
                photo_people[int(fs.photo[i])].add(pid)
                break
    with transaction(db):
        for i, (pid, d) in assigned.items():
            db.execute("INSERT OR REPLACE INTO assignments (face_id, person_id, origin, distance) "
                       "VALUES (?, ?, 'auto', ?)", [int(fs.ids[i]), pid, d])
    rest = np.array([i for i in todo if i not in assigned], np.int64)
    new_people = grouped = 0
    if len(rest) >= 2:
        sub = FaceSet(fs.ids[rest], fs.vectors[rest], fs.photo[rest], fs.seed[rest],
                      np.full(len(rest), -1, np.int64), np.zeros(len(rest), bool))
        labels = cluster_faces(sub.vectors, threshold, k=max(1, min(DEFAULT_K, len(rest) - 1)),
                               cannot_link=_same_photo_pairs(sub.photo), seed_mask=sub.seed)
        result = _write_groups(db, sub, np.asarray(labels), {})
        new_people, grouped = result.new_people, result.assigned
    return GroupingResult(len(fs.ids), new_people, len(assigned) + grouped,
                          len(rest) - grouped, new_people)


def _person_faces(db: sqlite_utils.Database, person_id: int) -> FaceSet:
    if not list(db.query("SELECT id FROM people WHERE id = ?", [person_id])):
        raise NotFoundError(f"no person with id {person_id}")
    return load_faces(db, "a.person_id = ?", [person_id])


def propose_split(db: sqlite_utils.Database, person_id: int) -> tuple[list[int], list[int]]:
    """Two parts of a person (face ids, the larger part first), from the top split of its own hierarchy."""
    fs = _person_faces(db, person_id)
    if len(fs.ids) < 2:
        raise InvalidEditError("a person needs at least two faces to be split")
    part_a, part_b = review.propose_split(fs.vectors)
    return sorted(int(f) for f in fs.ids[part_a]), sorted(int(f) for f in fs.ids[part_b])


def outliers(db: sqlite_utils.Database, person_id: int) -> list[tuple[int, float]]:
    """Faces that are probably not this person: (face id, distance to the others' centre), farthest first.

    The seed paper's cleaning step (see :func:`faceorganizer.people.review.outliers`); confirmed faces are
    the user's word and are never flagged.
    """
    fs = _person_faces(db, person_id)
    flagged = review.outliers(fs.vectors)
    if not flagged.any():
        return []
    n = len(fs.ids)
    others_mean = (fs.vectors.sum(axis=0)[None, :] - fs.vectors) / max(n - 1, 1)
    dist = np.linalg.norm(fs.vectors - others_mean, axis=1)
    out = [(int(fs.ids[i]), float(dist[i])) for i in np.flatnonzero(flagged) if not fs.confirmed[i]]
    return sorted(out, key=lambda t: -t[1])


def suggestions(db: sqlite_utils.Database, person_id: int, *, limit: int = 50, max_distance: float = 0.7
                ) -> list[tuple[int, float]]:
    """"Is this X?": faces not yet in the person (unsorted, or in unnamed groups), closest first."""
    person = _person_faces(db, person_id)
    if not len(person.ids):
        return []
    cand = load_faces(db, "(a.person_id IS NULL OR (a.origin = 'auto' AND a.person_id IN "
                          "(SELECT id FROM people WHERE name IS NULL))) AND COALESCE(a.person_id, -1) != ?",
                      [person_id])
    if not len(cand.ids):
        return []
    rejected = {f for f, p in _rejections(db) if p == person_id}
    d = np.sqrt(np.maximum(((cand.vectors[:, None, :] - person.vectors[None, :, :]) ** 2).sum(-1), 0)).min(1)
    order = np.argsort(d)
    return [(int(cand.ids[i]), float(d[i])) for i in order
            if d[i] < max_distance and int(cand.ids[i]) not in rejected][:limit]


@dataclass(frozen=True)
class Explanation:
    """Why a face is where it is: its nearest faces in its person and outside it."""

    face_id: int
    person_id: int | None
    origin: str | None
    distance_to_centre: float | None
    nearest_in_person: list[tuple[int, float, str]]
    nearest_elsewhere: list[tuple[int, int | None, float]]


def explain(db: sqlite_utils.Database, face_id: int, *, n: int = 5) -> Explanation:
    """The nearest confirmed/automatic faces of the face's person (and of others) with their distances."""
    fs = load_faces(db)
    i = fs.index.get(face_id)
    if i is None:
        raise NotFoundError(f"no embedded face with id {face_id}")
    d = np.linalg.norm(fs.vectors - fs.vectors[i], axis=1)
    d[i] = np.inf
    pid = int(fs.person[i]) if fs.person[i] >= 0 else None
    same = [j for j in np.argsort(d) if pid is not None and fs.person[j] == pid and np.isfinite(d[j])]
    # Confirmed faces are the evidence the user gave: list them first among the nearest.
    same.sort(key=lambda j: (not fs.confirmed[j], d[j]))
    other = [j for j in np.argsort(d) if fs.person[j] != (pid if pid is not None else -2) and np.isfinite(d[j])]
    row = list(db.query("SELECT origin, distance FROM assignments WHERE face_id = ?", [face_id]))
    return Explanation(
        face_id, pid, row[0]["origin"] if row else None, row[0]["distance"] if row else None,
        [(int(fs.ids[j]), float(d[j]), "confirmed" if fs.confirmed[j] else "auto") for j in same[:n]],
        [(int(fs.ids[j]), int(fs.person[j]) if fs.person[j] >= 0 else None, float(d[j])) for j in other[:n]])
