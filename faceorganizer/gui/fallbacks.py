"""Temporary stand-ins for core features still being written (used only through :mod:`gui.core`).

Each is the simplest correct version over the store (centroid distances, a brute-force nearest search, a
two-means split) so the GUI can be used and tested before the real modules land; none is Qt code and none
runs on the GUI thread. Delete a function here once its core counterpart exists.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from faceorganizer.errors import FaceOrganizerError, FilterSyntaxError
from faceorganizer.store import connect, queries


def compile_filter(expr: str) -> tuple[str, list[Any]]:
    if expr.strip():
        raise FilterSyntaxError("filters are not available in this build")
    return "1", []


def _db(library: Any):
    return connect(library.db_path)


def recluster(library: Any, threshold: float) -> None:
    raise FaceOrganizerError("re-grouping is not available in this build yet")


def _person_vectors(db, person_id: int) -> tuple[np.ndarray, np.ndarray]:
    return queries.embeddings(db, "f.embedding IS NOT NULL AND f.id IN "
                                  "(SELECT face_id FROM assignments WHERE person_id = ?)", [person_id])


def suggestions(library: Any, person_id: int, limit: int = 50, threshold: float = 0.62) -> list:
    from faceorganizer.gui.core import Suggestion

    db = _db(library)
    try:
        ids, x = _person_vectors(db, person_id)
        if not len(ids):
            return []
        centre = x.mean(axis=0)
        cand_ids, cand = queries.embeddings(
            db, "f.embedding IS NOT NULL AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.face_id = f.id "
                "AND (a.person_id = ? OR a.origin = 'confirmed')) AND NOT EXISTS (SELECT 1 FROM rejections r "
                "WHERE r.face_id = f.id AND r.person_id = ?)", [person_id, person_id])
        if not len(cand_ids):
            return []
        # Distance to the nearest member: a face like any photo of the person, not only like the average.
        d_centre = np.linalg.norm(cand - centre, axis=1)
        d_near = np.sqrt(np.maximum(((cand[:, None, :] - x[None, :min(len(x), 64), :]) ** 2).sum(-1), 0)).min(1)
        d = np.minimum(d_centre, d_near)
        order = np.argsort(d)
        return [Suggestion(int(cand_ids[i]), person_id, float(d[i])) for i in order[:limit] if d[i] <= threshold]
    finally:
        db.conn.close()


def outliers(library: Any, person_id: int, limit: int = 30, threshold: float = 0.5) -> list:
    from faceorganizer.gui.core import Suggestion

    db = _db(library)
    try:
        ids, x = _person_vectors(db, person_id)
        confirmed = {r[0] for r in db.execute(
            "SELECT face_id FROM assignments WHERE person_id = ? AND origin = 'confirmed'", [person_id])}
        if len(ids) < 3:
            return []
        total = x.sum(axis=0)
        d = np.array([np.linalg.norm(x[i] - (total - x[i]) / (len(x) - 1)) for i in range(len(x))])
        order = np.argsort(-d)
        return [Suggestion(int(ids[i]), person_id, float(d[i])) for i in order
                if d[i] > threshold and int(ids[i]) not in confirmed][:limit]
    finally:
        db.conn.close()


def propose_split(library: Any, person_id: int) -> list[int]:
    """Two-means from the farthest pair; returns the smaller part."""
    db = _db(library)
    try:
        ids, x = _person_vectors(db, person_id)
    finally:
        db.conn.close()
    if len(ids) < 2:
        return []
    a = x[0]
    b = x[int(np.argmax(np.linalg.norm(x - a, axis=1)))]
    a = x[int(np.argmax(np.linalg.norm(x - b, axis=1)))]
    labels = np.zeros(len(x), bool)
    for _ in range(20):
        new = np.linalg.norm(x - b, axis=1) < np.linalg.norm(x - a, axis=1)
        if new.all() or not new.any():
            break
        if (new == labels).all():
            break
        labels = new
        a, b = x[~labels].mean(axis=0), x[labels].mean(axis=0)
    part = labels if labels.sum() <= (~labels).sum() else ~labels
    return [int(i) for i in ids[part]]


def search_vector(library: Any, vector: np.ndarray, top: int = 500) -> list:
    from faceorganizer.gui.models import Hit

    db = _db(library)
    try:
        ids, x = queries.embeddings(db)
    finally:
        db.conn.close()
    if not len(ids):
        return []
    d = np.linalg.norm(x - np.asarray(vector, np.float32)[None, :], axis=1)
    order = np.argsort(d)[:top]
    return [Hit(int(ids[i]), float(d[i])) for i in order]


def search_face(library: Any, face_id: int, top: int = 500) -> list:
    db = _db(library)
    try:
        row = db.execute("SELECT embedding FROM faces WHERE id = ?", [face_id]).fetchone()
    finally:
        db.conn.close()
    if row is None:
        raise FaceOrganizerError(f"no face with id {face_id}")
    if row[0] is None:
        raise FaceOrganizerError("this face has no embedding yet (re-import the photo)")
    return search_vector(library, np.frombuffer(row[0], np.float32), top + 1)


def mean_face(db, person_id: int, limit: int = 200) -> np.ndarray | None:
    """The average of a person's aligned chips (an "eigenface" in the loose sense), as H×W×3 uint8."""
    import cv2

    acc = None
    n = 0
    for (chip,) in db.execute("SELECT f.chip FROM assignments a JOIN faces f ON f.id = a.face_id "
                              "WHERE a.person_id = ? AND f.chip IS NOT NULL LIMIT ?", [person_id, limit]):
        img = cv2.imdecode(np.frombuffer(chip, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            continue
        img = cv2.resize(img, (150, 150)).astype(np.float32)
        acc = img if acc is None else acc + img
        n += 1
    if not n:
        return None
    return cv2.cvtColor((acc / n).clip(0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB)


def person_summary(library: Any, person_id: int) -> Any:
    """Counts and age over time only (the summary module computes the rest)."""
    from faceorganizer.gui.core import PersonSummary

    db = _db(library)
    try:
        rows = list(db.query(
            "SELECT f.photo_id, f.age, p.taken_at FROM assignments a JOIN faces f ON f.id = a.face_id "
            "JOIN photos p ON p.id = f.photo_id WHERE a.person_id = ? ORDER BY p.taken_at", [person_id]))
        ages = [r["age"] for r in rows if r["age"] is not None]
        points = [(r["taken_at"][:10], float(r["age"])) for r in rows if r["age"] is not None and r["taken_at"]]
        dates = [d for d, _ in points]
        return PersonSummary(len(rows), len({r["photo_id"] for r in rows}), dates[0] if dates else None,
                             dates[-1] if dates else None, float(np.mean(ages)) if ages else None, None, points,
                             [], mean_face(db, person_id))
    finally:
        db.conn.close()
