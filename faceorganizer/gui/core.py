"""The GUI's one door to the optional core features: grouping, search, filters, summaries, face detection.

Each function here runs in a worker thread (never on the GUI thread) unless noted, and returns plain typed
data. When a core module is present its function is used; while it is not (features still being written),
a small stand-in from :mod:`faceorganizer.gui.fallbacks` keeps the GUI usable and testable. Only this file
knows which is which, so a core API landing changes this file and nothing else.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceorganizer.errors import FaceOrganizerError
from faceorganizer.gui import fallbacks
from faceorganizer.gui.models import Hit

log = logging.getLogger("faceorganizer.gui")


def optional(module: str) -> Any | None:
    """The module if it exists in this build, else ``None`` (an import error *inside* it still raises)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


def _call(fn: Any, *candidates: dict[str, Any]) -> Any:
    """Call ``fn`` with the first keyword set its signature accepts (core signatures are still settling)."""
    params = inspect.signature(fn).parameters
    for kwargs in candidates:
        if all(k in params for k in kwargs):
            return fn(**kwargs)
    return fn(*candidates[0].values())


# ----------------------------------------------------------------------------- filters (GUI thread: pure)
def compile_filter(expr: str) -> tuple[str, list[Any]]:
    """``(sql over f/p, params)`` for a filter expression; raises FilterSyntaxError."""
    filters = optional("faceorganizer.attributes.filters")
    if filters is None:
        return fallbacks.compile_filter(expr)
    where, params = filters.compile_filter(expr)
    return where, list(params)


def filter_help() -> str:
    filters = optional("faceorganizer.attributes.filters")
    return filters.FILTER_HELP if filters is not None else "age>=30 and gender=female and pose=frontal"


# ----------------------------------------------------------------------------- grouping
def recluster(library: Any, threshold: float) -> Any:
    """Re-group unnamed, unconfirmed faces at ``threshold`` (confirmed faces and names never move)."""
    if hasattr(library, "recluster"):
        return _call(library.recluster, {"threshold": threshold})
    grouping = optional("faceorganizer.people.grouping")
    if grouping is not None and hasattr(grouping, "recluster"):
        return _call(grouping.recluster, {"library": library, "threshold": threshold},
                     {"db": library.connect_writer(), "threshold": threshold})
    return fallbacks.recluster(library, threshold)


@dataclass(frozen=True)
class Suggestion:
    """"Is this X?": a face that probably belongs to a person (or, for outliers, probably does not)."""

    face_id: int
    person_id: int
    distance: float


def _suggestions_from(result: Any, person_id: int) -> list[Suggestion]:
    out = []
    for item in result or []:
        if isinstance(item, Suggestion):
            out.append(item)
            continue
        get = item.get if isinstance(item, dict) else (lambda k, d=None, it=item: getattr(it, k, d))
        face = get("face_id", None)
        if face is None and isinstance(item, (tuple, list)):
            face = item[0]
        dist = get("distance", None)
        if dist is None and isinstance(item, (tuple, list)) and len(item) > 1:
            dist = item[1]
        out.append(Suggestion(int(face), int(get("person_id", person_id) or person_id), float(dist or 0.0)))
    return out


def suggestions(library: Any, person_id: int, limit: int = 50) -> list[Suggestion]:
    """Faces not in ``person_id`` that probably are that person, closest first."""
    if hasattr(library, "suggestions"):
        return _suggestions_from(_call(library.suggestions, {"person_id": person_id, "limit": limit},
                                       {"person_id": person_id}), person_id)
    grouping = optional("faceorganizer.people.grouping")
    if grouping is not None and hasattr(grouping, "suggestions"):
        db = library.connect_writer()
        try:
            return _suggestions_from(_call(grouping.suggestions, {"db": db, "person_id": person_id, "limit": limit},
                                           {"db": db, "person_id": person_id}), person_id)
        finally:
            db.conn.close()
    return fallbacks.suggestions(library, person_id, limit)


def outliers(library: Any, person_id: int, limit: int = 30) -> list[Suggestion]:
    """Faces of ``person_id`` that probably do not belong, least likely first."""
    if hasattr(library, "outliers"):
        return _suggestions_from(_call(library.outliers, {"person_id": person_id}), person_id)[:limit]
    grouping = optional("faceorganizer.people.grouping")
    if grouping is not None and hasattr(grouping, "outliers"):
        db = library.connect_writer()
        try:
            return _suggestions_from(_call(grouping.outliers, {"db": db, "person_id": person_id}), person_id)[:limit]
        finally:
            db.conn.close()
    return fallbacks.outliers(library, person_id, limit)


def propose_split(library: Any, person_id: int) -> list[int]:
    """Faces that would form the second person if ``person_id`` were split in two."""
    if hasattr(library, "propose_split"):
        result = _call(library.propose_split, {"person_id": person_id})
    else:
        grouping = optional("faceorganizer.people.grouping")
        if grouping is not None and hasattr(grouping, "propose_split"):
            db = library.connect_writer()
            try:
                result = _call(grouping.propose_split, {"db": db, "person_id": person_id})
            finally:
                db.conn.close()
        else:
            return fallbacks.propose_split(library, person_id)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], (list, tuple)):
        result = result[1]
    part_b = getattr(result, "part_b", result)
    return [int(f) for f in part_b]


# ----------------------------------------------------------------------------- search
def _hits_from(result: Any) -> list[Hit]:
    out = []
    items = getattr(result, "hits", result)
    for item in items or []:
        if isinstance(item, Hit):
            out.append(item)
            continue
        get = item.get if isinstance(item, dict) else (lambda k, d=None, it=item: getattr(it, k, d))
        face = get("face_id", None)
        if face is None:
            face = get("id", None)
        out.append(Hit(int(face), float(get("distance", 0.0)), get("score", None)))
    return out


def search_face(library: Any, face_id: int, top: int = 500) -> list[Hit]:
    """Faces most like ``face_id`` (the face itself left out), closest first, up to the loosest threshold."""
    if hasattr(library, "search_face"):
        hits = _hits_from(_call(library.search_face, {"face_id": face_id, "top": top, "threshold": 1.2},
                                {"face_id": face_id, "top": top}))
    else:
        hits = fallbacks.search_face(library, face_id, top)
    return [h for h in hits if h.face_id != face_id]


@dataclass(frozen=True)
class DetectedFace:
    """A face found in an external photo: its index (for search_image) and box in the upright photo."""

    index: int
    box: tuple[float, float, float, float]
    score: float


@dataclass(frozen=True)
class DetectedPhoto:
    """An outside photo's upright size and the faces found in it."""

    width: int
    height: int
    faces: list[DetectedFace]


def detect_faces(library: Any, path: str | Path) -> DetectedPhoto:
    """Faces of a photo outside the library (for "Find person in photo…"); loads the models if needed."""
    analysis = library.analyzer.analyze_file(str(path))
    return DetectedPhoto(int(analysis.width), int(analysis.height),
                         [DetectedFace(i, tuple(float(v) for v in f.box), float(f.score))
                          for i, f in enumerate(analysis.faces)])


def search_image(library: Any, path: str | Path, face_index: int, top: int = 500) -> list[Hit]:
    """Faces of the library most like face ``face_index`` of an external photo."""
    if hasattr(library, "search_image"):
        return _hits_from(_call(library.search_image,
                                {"path": str(path), "face_index": face_index, "top": top, "threshold": 1.2},
                                {"path": str(path), "face_index": face_index, "top": top},
                                {"path": str(path), "face_index": face_index}))
    analyzer = library.analyzer
    analysis = analyzer.analyze_file(str(path))
    if not 0 <= face_index < len(analysis.faces):
        raise FaceOrganizerError(f"the photo has no face number {face_index + 1}")
    vector = analyzer.embed([analysis.faces[face_index]])[0]
    return fallbacks.search_vector(library, vector, top)


# ----------------------------------------------------------------------------- person summary
@dataclass(frozen=True)
class PersonSummary:
    """What the person page's summary tab draws (natively, in the palette's colours)."""

    face_count: int
    photo_count: int
    first_date: str | None
    last_date: str | None
    mean_age: float | None
    age_trend_per_year: float | None
    age_over_time: list[tuple[str, float]]
    sections: list[tuple[str, list[tuple[str, int, int]]]]  # title, (label, count, total)
    mean_face: Any = None  # H×W×3 uint8, or None
    components: list[tuple[Any, float]] = field(default_factory=list)  # (H×W×3 uint8, explained share)


def _to_uint8(arr: Any, *, stretch: bool) -> Any:
    import numpy as np

    a = np.asarray(arr, np.float32)
    if stretch:
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) if hi > lo else a * 0
    a = (a.clip(0, 1) * 255).astype(np.uint8)
    return np.repeat(a[..., None], 3, axis=2) if a.ndim == 2 else a


def person_summary(library: Any, person_id: int) -> PersonSummary:
    """Counts, attribute occurrences, age over time and eigenfaces of a person's faces (worker thread)."""
    summary = optional("faceorganizer.attributes.summary")
    if summary is None:
        return fallbacks.person_summary(library, person_id)
    db = library.connect_writer()
    try:
        face_ids = [r[0] for r in db.execute("SELECT face_id FROM assignments WHERE person_id = ?", [person_id])]
        s = summary.summary_data(db, face_ids, colour=True)
    finally:
        db.conn.close()
    sections = [(sec.title, [(b.label, int(b.count), int(b.total)) for b in sec.bars]) for sec in s.sections]
    mean, comps = None, []
    if s.eigenfaces is not None:
        mean = _to_uint8(s.eigenfaces.mean, stretch=False)
        comps = [(_to_uint8(c, stretch=True), float(e))
                 for c, e in zip(s.eigenfaces.components, s.eigenfaces.explained)]
    return PersonSummary(s.face_count, s.photo_count, s.first_date, s.last_date, s.mean_age, s.age_trend_per_year,
                         list(s.age_over_time), sections, mean, comps)
