"""Between the store and XMP face regions: names other tools wrote come in, our names go out.

On import, a *named* region that overlaps a detected face (IoU ≥ ``MATCH_IOU``) makes that face a confirmed
face of the person with that name (created when new), through :func:`faceorganizer.people.edits.
confirm_named_faces`: one journaled, undoable edit per photo. Regions this app wrote itself (they carry our
mark) are never imported back: after ``delete-face-data``, ``forget`` or recognition off and on, our own
sidecars must not restore the names the user removed.

Writing exports every named face of a photo as an MWG region (plus ``Iptc4xmpExt:PersonInImage``) to its
sidecar, or into the file when the user opted in. :func:`forget_names` takes a person's names back out of
the sidecars (and JPEG packets) we wrote.

A photo with identical copies in other folders (other *locations*, ``store/locations.py``) is one photo: names
are written to the sidecar (or file) of every location and taken out of every location's, so each copy carries
the same names for other tools. Reading goes the other way only from the primary location: regions are read
when the photo's file is analysed, and a copy found later is not analysed (its faces are the photo's), so names
another tool wrote into a copy's own sidecar only are not imported.

Names are never logged: a log outlives ``delete-face-data``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from faceorganizer.errors import InvalidNameError
from faceorganizer.geometry import Box, box_iou, normalised_to_pixels, pixels_to_normalised
from faceorganizer.names import clean_name
from faceorganizer.paths import text_to_path
from faceorganizer.people import edits
from faceorganizer.store import locations, sidecars
from faceorganizer.xmp import (
    FaceRegion,
    XmpWriteError,
    remove_app_regions,
    sidecar_paths,
    write_regions,
)

log = logging.getLogger("faceorganizer.xmp")

MATCH_IOU = 0.3


def apply_regions(db: sqlite_utils.Database, photo_id: int, regions: Sequence[FaceRegion], width: int,
                  height: int) -> int:
    """Confirm the photo's faces named by ``regions`` (inside or outside a transaction). Returns matches.

    Regions we wrote ourselves are skipped. Each named region takes the unused detected face it overlaps
    most, if that overlap reaches MATCH_IOU; the rest are counted in one debug line, without names.
    """
    named = [r for r in regions if r.name and not r.by_app]
    if not named or not width or not height:
        return 0
    faces = sidecars.face_boxes(db, photo_id)
    used: set[int] = set()
    matches: list[tuple[int, str]] = []
    for region in named:
        box = normalised_to_pixels((region.x, region.y, region.w, region.h), width, height)
        best = max(((box_iou(box, face_box), face_id) for face_id, face_box in faces if face_id not in used),
                   default=(0.0, None))
        if best[1] is None or best[0] < MATCH_IOU:
            continue
        used.add(best[1])
        matches.append((best[1], region.name or ""))
    if len(matches) < len(named):
        log.debug("XMP: %d of %d named region(s) of photo %d match no detected face",
                  len(named) - len(matches), len(named), photo_id)
    return edits.confirm_named_faces(db, matches, summary=f"names of {len(matches)} face(s) in photo {photo_id} "
                                                          "from XMP")


def regions_of_photo(db: sqlite_utils.Database, photo_id: int) -> tuple[str, list[FaceRegion], tuple[int, int]]:
    """(stored path, named regions, upright size) of a photo as the store knows it."""
    frame = sidecars.photo_frame(db, photo_id)
    if frame is None:
        raise ValueError(f"no photo with id {photo_id}")
    regions = []
    for face in sidecars.named_faces(db, photo_id):
        regions.append(FaceRegion(face.name, *pixels_to_normalised(face.box, frame.width, frame.height)))
    return frame.path, regions, (frame.width, frame.height)


@dataclass(frozen=True)
class WriteCounts:
    """What a names write did: files written, and named faces left out because their name cannot be written."""

    written: int
    left_out: int


def write_names(db: sqlite_utils.Database, photo_ids: Iterable[int] | None = None, *, into_file: bool = False
                ) -> WriteCounts:
    """Write the named faces of photos (default: every photo with a named face) as XMP; returns the files
    written and the faces left out.

    A face whose person has a name that cannot be written (a control character stored before names were
    checked) is left out, with one warning per run naming how many; the rest of its photo is written.
    """
    if photo_ids is None:
        photo_ids = sidecars.photos_with_named_faces(db)
    photo_ids = list(photo_ids)
    copies = locations.paths_of(db, photo_ids)
    written = 0
    bad_names = 0
    for photo_id in photo_ids:
        path, regions, size = regions_of_photo(db, photo_id)
        usable = [r for r in regions if _writable(r.name)]
        bad_names += len(regions) - len(usable)
        if not usable:
            continue
        # write_regions sweeps the temporaries a killed earlier run left, once per folder and process.
        write_regions(Path(text_to_path(path)), usable, image_size=size, into_file=into_file)
        written += 1
        for copy in copies.get(photo_id, []):  # every location of the photo carries its names
            image = Path(text_to_path(copy))
            if not image.is_file():
                continue  # a copy gone since the last scan (the next scan drops it)
            try:
                write_regions(image, usable, image_size=size, into_file=into_file)
                written += 1
            except (OSError, XmpWriteError) as e:  # a copy that cannot be written does not stop the rest
                log.warning("XMP: cannot write the names of a copy of photo %d at %s (%s)", photo_id, image, e)
    if bad_names:
        log.warning("XMP: %d face(s) not written: their person's name holds control characters or is too long; "
                    "rename the person (faceorganizer rename) and write again", bad_names)
    return WriteCounts(written, bad_names)


def _writable(name: str | None) -> bool:
    try:
        return clean_name(name or "") == name
    except InvalidNameError:
        return False


@dataclass
class ForgetPlan:
    """What to take out of our XMP when a person is forgotten, read before their rows are deleted."""

    names: list[str] = field(default_factory=list)
    #: stored photo path -> normalised upright boxes of the person's faces there
    boxes: dict[str, list[Box]] = field(default_factory=dict)


def person_plan(db: sqlite_utils.Database, person_id: int) -> ForgetPlan:
    """The person's name and face boxes per photo, to find their regions in our XMP after they are deleted."""
    name = sidecars.person_name(db, person_id)
    plan = ForgetPlan([name] if name else [])
    for frame, box in sidecars.faces_of_person(db, person_id):
        if frame.width and frame.height:
            plan.boxes.setdefault(frame.path, []).append(pixels_to_normalised(box, frame.width, frame.height))
    for primary in list(plan.boxes):  # the same boxes at every other location of the photo
        for copy in locations.paths_at(db, primary):
            plan.boxes[copy] = plan.boxes[primary]
    return plan


def forget_names(db: sqlite_utils.Database, plan: ForgetPlan | None) -> int:
    """Take a forgotten person's regions out of the sidecars and JPEG packets we wrote; returns files changed.

    ``plan`` (from :func:`person_plan`): regions of ours that carry one of its names, in any photo of the
    library (its sidecars are visited: a stat each), and regions of ours at the person's face boxes whatever
    their name (the sidecars and JPEG packets of those photos), so a name changed by a rename or a merge
    after the write is found too. ``plan=None`` takes out every region we wrote. Regions other tools wrote
    are the user's own data there and stay.
    """
    if plan is not None and not plan.names and not plan.boxes:
        return 0
    changed = 0
    for stored in sidecars.all_photo_paths(db) + locations.all_paths(db):
        image = Path(text_to_path(stored))
        boxes = plan.boxes.get(stored, []) if plan is not None else []
        if plan is not None and not boxes and not any(p.is_file() for p in sidecar_paths(image)):
            continue
        try:
            changed += len(remove_app_regions(image, plan.names if plan is not None else None, boxes=boxes))
        except (OSError, XmpWriteError) as e:  # one file that cannot be changed does not stop the rest
            log.warning("XMP: cannot take names out of the XMP of %s (%s)", image, e)
    return changed
