"""People from faces, over the store: full re-clustering, grouping after an import, and review helpers.

The user's edits are law (see :mod:`faceorganizer.people.edits`): confirmed faces never move; rejected
(face, person) pairs never come back together; two faces of one photo are never one automatic person.
Re-clustering only moves *automatic* assignments, and every name survives it: a person keeps its id when it
holds confirmed faces, and otherwise the new group that holds most of its former faces inherits it.

Import order does not decide who is who (``assign_new_faces``, run after every import):

- when the faces added since the last re-grouping reach ``REGROUP_SHARE`` of the library (a first import, a
  big new folder), the unnamed part is re-grouped together with them by the one-shot clustering: the result
  is the one a single import of everything would give (named people keep their faces and can gain new ones
  under the same linkage rule);
- smaller additions join an existing person only on the evidence the one-shot clustering needs for a merge
  (the average-linkage distance to *all* the person's faces within the threshold, not one close face), and
  the rest are grouped among themselves, so later faces form new people.
SQL lives in :mod:`faceorganizer.store.grouping`.

Quality floor: faces too small, too blurred or with a weak detection do not seed people (they can still
join one); faces that fail the face-ness gate (:func:`faceorganizer.pipeline.quality.face_like`: textures,
half-black crops, blurred fragments) neither start nor join an automatic person; a group needs two faces,
so a background stranger seen once stays in "Unsorted".
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import sqlite_utils

from faceorganizer.errors import InvalidEditError, NotFoundError
from faceorganizer.people import review
from faceorganizer.people.cluster import DEFAULT_K, DEFAULT_SIZE_PENALTY, build_merge_tree, cluster_faces
from faceorganizer.pipeline.quality import face_like_many
from faceorganizer.store import grouping as store
from faceorganizer.store import transaction
from faceorganizer.store.queries import EMBEDDING_DIM

log = logging.getLogger("faceorganizer.people")

#: A face seeds a new person only if it is at least this large (pixels, short side of the box) ...
SEED_MIN_SIZE = 36.0
#: ... sharp enough (variance of the Laplacian of the 150-px chip) ...
SEED_MIN_SHARPNESS = 10.0
#: ... and a confident detection.
SEED_MIN_SCORE = 0.9

#: After an import, re-group the unnamed part when the faces added since the last re-grouping are at least
#: this share of the faces then (or when there was none yet) — and at least ``REGROUP_MIN_FACES`` faces.
REGROUP_SHARE = 0.1
REGROUP_MIN_FACES = 20

@dataclass
class FaceSet:
    """Every embedded face of the current model with what the constraints need."""

    ids: np.ndarray
    vectors: np.ndarray
    photo: np.ndarray
    seed: np.ndarray
    person: np.ndarray  # current person id, or -1
    confirmed: np.ndarray  # bool
    face_like: np.ndarray | None = None  # bool: passes the face-ness gate (None: all do)
    index: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.face_like is None:
            self.face_like = np.ones(len(self.ids), bool)
        self.index = {int(f): i for i, f in enumerate(self.ids)}

    def subset(self, rows: np.ndarray) -> FaceSet:
        """The faces at ``rows`` (positions in this set)."""
        rows = np.asarray(rows, np.int64)
        return FaceSet(self.ids[rows], self.vectors[rows], self.photo[rows], self.seed[rows], self.person[rows],
                       self.confirmed[rows], self.face_like[rows])


@dataclass(frozen=True)
class GroupingResult:
    """What a (re)grouping changed."""

    faces: int
    people: int
    assigned: int
    unsorted: int
    new_people: int


def current_model(db: sqlite_utils.Database) -> str | None:
    """The embedding model most faces carry."""
    return store.current_model(db)


def _landmarks(value: str | None) -> np.ndarray:
    """5×2 landmarks from the stored JSON (NaN when missing or unreadable: not checked by the gate)."""
    try:
        return np.asarray(json.loads(value), np.float64).reshape(5, 2)
    except (ValueError, TypeError):
        return np.full((5, 2), np.nan)


def load_faces(db: sqlite_utils.Database, where: str = "1", params: list | tuple = ()) -> FaceSet:
    """Faces of the library's embedding model (those of an older model wait for re-embedding)."""
    rows = store.face_rows(db, store.current_model(db), where, params)
    n = len(rows)
    vectors = (np.frombuffer(b"".join(r["embedding"] for r in rows), np.float32).reshape(n, -1).copy()
               if n else np.zeros((0, EMBEDDING_DIM), np.float32))
    seed = np.array([min(r["w"], r["h"]) >= SEED_MIN_SIZE and (r["sharpness"] or 0) >= SEED_MIN_SHARPNESS
                     and r["det_score"] >= SEED_MIN_SCORE for r in rows], bool)
    like = face_like_many(
        np.array([r["det_score"] for r in rows], np.float64),
        np.array([np.nan if r["brightness"] is None else r["brightness"] for r in rows], np.float64),
        np.array([np.nan if r["sharpness"] is None else r["sharpness"] for r in rows], np.float64),
        np.array([_landmarks(r["landmarks"]) for r in rows]).reshape(n, 5, 2),
        np.array([(r["w"], r["h"]) for r in rows], np.float64).reshape(n, 2), vectors)
    return FaceSet(np.array([r["id"] for r in rows], np.int64), vectors,
                   np.array([r["photo_id"] for r in rows], np.int64), seed,
                   np.array([r["person"] for r in rows], np.int64),
                   np.array([bool(r["confirmed"]) for r in rows], bool), like)


def _same_photo_pairs(photo: np.ndarray) -> list[tuple[int, int]]:
    by_photo: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(photo):
        by_photo[int(p)].append(i)
    return [pair for members in by_photo.values() if len(members) > 1 for pair in combinations(members, 2)]


def _rejections(db: sqlite_utils.Database) -> set[tuple[int, int]]:
    return store.rejections(db)


def _constraints(db: sqlite_utils.Database, fs: FaceSet, fixed: dict[int, int] | None = None
                 ) -> tuple[list[tuple[int, int]], dict[int, int]]:
    cannot = _same_photo_pairs(fs.photo)
    if fixed is None:
        fixed = {i: int(fs.person[i]) for i in np.flatnonzero(fs.confirmed)}
    confirmed_of: dict[int, list[int]] = defaultdict(list)
    for i, p in fixed.items():
        confirmed_of[p].append(i)
    for face_id, person_id in _rejections(db):
        i = fs.index.get(face_id)
        if i is not None:
            cannot += [(i, j) for j in confirmed_of.get(person_id, ())]
    return cannot, fixed


def _drop_non_faces(db: sqlite_utils.Database, fs: FaceSet) -> FaceSet:
    """The faces grouping may use: those passing the face-ness gate, and every confirmed face (the user's
    word); automatic assignments of the others go back to Unsorted."""
    out = ~fs.face_like & ~fs.confirmed
    stale = np.flatnonzero(out & (fs.person >= 0))
    with transaction(db):
        store.mark_doubtful(db, fs.ids.tolist(), (~fs.face_like).tolist())  # Unsorted lists them last
        for i in stale:
            store.unassign(db, int(fs.ids[i]))
    return fs.subset(np.flatnonzero(~out)) if out.any() else fs


def recluster(db: sqlite_utils.Database, threshold: float, *, n_people: int | None = None,
              k: int = DEFAULT_K, keep_named: bool = False) -> GroupingResult:
    """Re-group every automatic face at ``threshold`` (or into about ``n_people`` groups); keeps all names.

    ``keep_named`` re-groups only the unnamed part: automatic faces of named people stay where they are
    (as if confirmed) and new faces can still join those people.
    """
    fs = _drop_non_faces(db, load_faces(db))
    if not len(fs.ids):
        store.set_regrouped_at(db, 0)
        return GroupingResult(0, 0, 0, 0, 0)
    fixed = {i: int(fs.person[i]) for i in np.flatnonzero(fs.confirmed)}
    if keep_named:
        named = store.named_people(db)
        fixed.update({int(i): int(fs.person[i]) for i in np.flatnonzero(np.isin(fs.person, list(named)))})
    cannot, fixed = _constraints(db, fs, fixed)
    kk = max(1, min(k, len(fs.ids) - 1))
    if n_people is not None:
        tree = build_merge_tree(fs.vectors, k=kk, cannot_link=cannot, fixed=fixed, seed_mask=fs.seed,
                                size_penalty=DEFAULT_SIZE_PENALTY)
        labels = tree.labels_for_n(n_people)
    else:
        labels = cluster_faces(fs.vectors, threshold, k=kk, cannot_link=cannot, fixed=fixed, seed_mask=fs.seed,
                               size_penalty=DEFAULT_SIZE_PENALTY)
    result = _write_groups(db, fs, np.asarray(labels), fixed)
    store.set_regrouped_at(db, store.count_faces(db, store.current_model(db)))
    return result


def _write_groups(db: sqlite_utils.Database, fs: FaceSet, labels: np.ndarray, fixed: dict[int, int]
                  ) -> GroupingResult:
    members: dict[int, list[int]] = defaultdict(list)
    for i, lab in enumerate(labels):
        members[int(lab)].append(i)
    named = store.named_people(db)
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
                pid = store.new_person(db)
                new_people += 1
            centre = fs.vectors[idx].mean(axis=0) if pid is not None else None
            for i in auto:
                face_id = int(fs.ids[i])
                if pid is None or (face_id, pid) in rejected:
                    store.unassign(db, face_id)
                    unsorted += 1
                    continue
                store.set_auto(db, face_id, pid, float(np.linalg.norm(fs.vectors[i] - centre)))
                assigned += 1
        people = store.people_with_faces(db)
    log.info("grouped %d faces: %d people, %d assigned, %d unsorted, %d new", len(fs.ids), people, assigned,
             unsorted, new_people)
    return GroupingResult(len(fs.ids), people, assigned, unsorted, new_people)


def regroup_due(db: sqlite_utils.Database) -> bool:
    """Whether enough faces arrived since the last re-grouping to re-group the unnamed part."""
    total = store.count_faces(db, store.current_model(db))
    before = store.regrouped_at(db)
    added = total - before
    return before == 0 or added >= max(REGROUP_MIN_FACES, REGROUP_SHARE * before) or added < 0


def assign_new_faces(db: sqlite_utils.Database, threshold: float, *, k: int = 10) -> GroupingResult:
    """After an import: re-group the unnamed part when many faces arrived, else place the new ones.

    See the module docstring. A new face joins the person at the smallest average-linkage distance among the
    people of its ``k`` nearest faces if that distance is within ``threshold`` — unless it was rejected for
    that person or another face of its photo is already that person; the others are grouped among themselves.
    """
    if regroup_due(db):
        return recluster(db, threshold, keep_named=True)
    fs = _drop_non_faces(db, load_faces(db))
    todo = np.flatnonzero(fs.person < 0)
    if not len(todo):
        return GroupingResult(len(fs.ids), 0, 0, 0, 0)
    assigned = _join_people(db, fs, todo, threshold, k)
    rest = np.array([i for i in todo if i not in assigned], np.int64)
    new_people = grouped = 0
    if len(rest) >= 2:
        sub = fs.subset(rest)
        sub.person[:] = -1
        labels = cluster_faces(sub.vectors, threshold, k=max(1, min(DEFAULT_K, len(rest) - 1)),
                               cannot_link=_same_photo_pairs(sub.photo), seed_mask=sub.seed,
                               size_penalty=DEFAULT_SIZE_PENALTY)
        result = _write_groups(db, sub, np.asarray(labels), {})
        new_people, grouped = result.new_people, result.assigned
    return GroupingResult(len(fs.ids), new_people, len(assigned) + grouped,
                          len(rest) - grouped, new_people)


def _join_people(db: sqlite_utils.Database, fs: FaceSet, todo: np.ndarray, threshold: float, k: int
                 ) -> dict[int, tuple[int, float]]:
    """New faces (rows ``todo``) that join an existing person by the average-linkage rule; written here."""
    from faceorganizer.people.knn import knn_search

    members = np.flatnonzero(fs.person >= 0)
    if not len(members):
        return {}
    rejected = _rejections(db)
    photo_people: dict[int, set[int]] = defaultdict(set)
    for i in members:
        photo_people[int(fs.photo[i])].add(int(fs.person[i]))
    people, person_of = np.unique(fs.person[members], return_inverse=True)
    x = fs.vectors[members].astype(np.float64)
    size = np.bincount(person_of).astype(np.float64)
    mean = np.zeros((people.size, x.shape[1]))
    np.add.at(mean, person_of, x)
    mean /= size[:, None]
    spread = np.maximum(np.bincount(person_of, weights=np.einsum("ij,ij->i", x, x)) / size
                        - np.einsum("ij,ij->i", mean, mean), 0.0)
    nn, _ = knn_search(fs.vectors[todo], fs.vectors[members], min(k, len(members)))
    choice: list[tuple[float, int, int]] = []
    for row, i in enumerate(todo):
        cands = np.unique(person_of[nn[row][nn[row] >= 0]])
        diff = fs.vectors[i].astype(np.float64)[None, :] - mean[cands]
        rms = np.sqrt(np.einsum("ij,ij->i", diff, diff) + spread[cands]) + DEFAULT_SIZE_PENALTY / np.sqrt(size[cands])
        for r in np.argsort(rms):
            if rms[r] > threshold:
                break
            choice.append((float(rms[r]), int(i), int(people[cands[r]])))
    assigned: dict[int, tuple[int, float]] = {}
    for d, i, pid in sorted(choice):  # most certain first, so photo conflicts favour the closest face
        if i in assigned or (int(fs.ids[i]), pid) in rejected or pid in photo_people[int(fs.photo[i])]:
            continue
        assigned[i] = (pid, d)
        photo_people[int(fs.photo[i])].add(pid)
    with transaction(db):
        for i, (pid, d) in assigned.items():
            store.set_auto(db, int(fs.ids[i]), pid, d)
    return assigned


def _person_faces(db: sqlite_utils.Database, person_id: int) -> FaceSet:
    if not store.person_exists(db, person_id):
        raise NotFoundError(f"no person with id {person_id}")
    return load_faces(db, store.OF_PERSON, [person_id])


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
    """"Is this X?": faces not yet in the person (unsorted, or in unnamed groups), closest first.

    Faces that fail the face-ness gate are never proposed (junk used to come first: it sits near everyone).
    """
    person = _person_faces(db, person_id)
    if not len(person.ids):
        return []
    cand = load_faces(db, store.SUGGESTION_CANDIDATES, [person_id])
    cand = cand.subset(np.flatnonzero(cand.face_like))
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
    row = store.assignment(db, face_id)
    return Explanation(
        face_id, pid, row["origin"] if row else None, row["distance"] if row else None,
        [(int(fs.ids[j]), float(d[j]), "confirmed" if fs.confirmed[j] else "auto") for j in same[:n]],
        [(int(fs.ids[j]), int(fs.person[j]) if fs.person[j] >= 0 else None, float(d[j])) for j in other[:n]])
