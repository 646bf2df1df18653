"""The GUI's door to the core features: grouping, search, filters, summaries, face detection.

Each function here runs in a worker thread (never on the GUI thread) unless noted, and turns the core's
results into the small frozen records the Qt models hold, so the views never see core types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceorganizer.gui.models import Hit
from faceorganizer.library import Library


# ----------------------------------------------------------------------------- filters (GUI thread: pure)
def filter_help() -> str:
    return Library.filter_help()


# ----------------------------------------------------------------------------- grouping
def recluster(library: Library, threshold: float) -> Any:
    """Re-group unnamed, unconfirmed faces at ``threshold`` (confirmed faces and names never move)."""
    return library.recluster(threshold)


@dataclass(frozen=True)
class Suggestion:
    """"Is this X?": a face that probably belongs to a person (or, for outliers, probably does not)."""

    face_id: int
    person_id: int
    distance: float


def suggestions(library: Library, person_id: int, limit: int = 50) -> list[Suggestion]:
    """Faces not in ``person_id`` that probably are that person, closest first."""
    return [Suggestion(int(f), person_id, float(d)) for f, d in library.suggestions(person_id, limit=limit)]


def outliers(library: Library, person_id: int, limit: int = 30) -> list[Suggestion]:
    """Faces of ``person_id`` that probably do not belong, least likely first."""
    return [Suggestion(int(f), person_id, float(d)) for f, d in library.outliers(person_id)[:limit]]


def propose_split(library: Library, person_id: int) -> list[int]:
    """Faces that would form the second person if ``person_id`` were split in two."""
    _part_a, part_b = library.propose_split(person_id)
    return [int(f) for f in part_b]


# ----------------------------------------------------------------------------- search
def _hits(result: list) -> list[Hit]:
    return [Hit(int(h.face_id), float(h.distance), float(h.score)) for h in result]


def search_face(library: Library, face_id: int, top: int = 500) -> list[Hit]:
    """Faces most like ``face_id`` (the face itself left out), closest first, up to the loosest threshold
    (the results page cuts them with its slider without searching again)."""
    return _hits(library.search_face(face_id, top=top, threshold=1.2))


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


def detect_faces(library: Library, path: str | Path) -> DetectedPhoto:
    """Faces of a photo outside the library (for "Find person in photo…"); loads the models if needed."""
    analysis = library.analyzer.analyze_file(str(path))
    left_to_right = sorted(analysis.faces, key=lambda f: f.box[0])  # numbered as Library.search_image numbers
    return DetectedPhoto(int(analysis.width), int(analysis.height),
                         [DetectedFace(i, tuple(float(v) for v in f.box), float(f.score))
                          for i, f in enumerate(left_to_right)])


def search_image(library: Library, path: str | Path, face_index: int, top: int = 500) -> list[Hit]:
    """Faces of the library most like face ``face_index`` of an external photo (numbered as
    :func:`detect_faces` numbers them)."""
    return _hits(library.search_image(str(path), face_index=face_index, top=top, threshold=1.2))


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


def _component_image(arr: Any) -> Any:
    import numpy as np

    a = np.asarray(arr, np.float32)
    if a.ndim == 3:
        a = a.mean(axis=2)
    scale = float(np.abs(a).max()) or 1.0
    return _to_uint8(0.5 + 0.5 * a / scale, stretch=False)


def person_summary(library: Library, person_id: int) -> PersonSummary:
    """Counts, attribute occurrences, age over time and eigenfaces of a person's faces (worker thread)."""
    s = library.person_summary_data(person_id)
    sections = [(sec.title, [(b.label, int(b.count), int(b.total)) for b in sec.bars]) for sec in s.sections]
    mean, comps = None, []
    if s.eigenfaces is not None:
        mean = _to_uint8(s.eigenfaces.mean, stretch=False)
        # Components as grey images, zero at mid-grey (colour components read as odd tints, not as the
        # directions the faces vary along); components explaining almost nothing are noise and left out.
        comps = [(_component_image(c), float(e))
                 for c, e in zip(s.eigenfaces.components, s.eigenfaces.explained) if e >= 0.005]
    return PersonSummary(s.face_count, s.photo_count, s.first_date, s.last_date, s.mean_age, s.age_trend_per_year,
                         list(s.age_over_time), sections, mean, comps)
