"""Between the store and XMP face regions: names other tools wrote come in, our names go out.

On import, a *named* region that overlaps a detected face (IoU ≥ ``MATCH_IOU``) makes that face a confirmed
face of the person with that name (created when new). Writing exports every named face of a photo as an MWG
region (plus ``Iptc4xmpExt:PersonInImage``) to its sidecar, or into the file when the user opted in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import sqlite_utils

from faceorganizer.scan.discover import text_to_path
from faceorganizer.geometry import box_iou
from faceorganizer.xmp import FaceRegion, write_regions

log = logging.getLogger("faceorganizer.xmp")

MATCH_IOU = 0.3


def apply_regions(db: sqlite_utils.Database, photo_id: int, regions: Sequence[FaceRegion], width: int,
                  height: int) -> int:
    """Confirm the photo's faces named by ``regions`` (call inside the writer's transaction). Returns matches."""
    named = [r for r in regions if r.name]
    if not named or not width or not height:
        return 0
    faces = list(db.query("SELECT id, x, y, w, h FROM faces WHERE photo_id = ?", [photo_id]))
    matched = 0
    used: set[int] = set()
    for region in named:
        box = (region.x * width, region.y * height, region.w * width, region.h * height)
        best = max(((box_iou(box, (f["x"], f["y"], f["w"], f["h"])), f["id"]) for f in faces if f["id"] not in used),
                   default=(0.0, None))
        if best[1] is None or best[0] < MATCH_IOU:
            log.info("XMP region %r in photo %d matches no detected face", region.name, photo_id)
            continue
        person = list(db.query("SELECT id FROM people WHERE name = ? ORDER BY id LIMIT 1", [region.name]))
        person_id = person[0]["id"] if person else db.execute(
            "INSERT INTO people (name) VALUES (?)", [region.name]).lastrowid
        db.execute("INSERT OR REPLACE INTO assignments (face_id, person_id, origin) VALUES (?, ?, 'confirmed')",
                   [best[1], person_id])
        used.add(best[1])
        matched += 1
    return matched


def regions_of_photo(db: sqlite_utils.Database, photo_id: int) -> tuple[str, list[FaceRegion], tuple[int, int]]:
    """(stored path, named regions, upright size) of a photo as the store knows it."""
    photo = next(iter(db.query("SELECT path, width, height FROM photos WHERE id = ?", [photo_id])))
    w, h = photo["width"], photo["height"]
    rows = db.query("SELECT f.x, f.y, f.w, f.h, pe.name FROM faces f JOIN assignments a ON a.face_id = f.id "
                    "JOIN people pe ON pe.id = a.person_id WHERE f.photo_id = ? AND pe.name IS NOT NULL "
                    "ORDER BY f.x", [photo_id])
    regions = []
    for r in rows:
        x, y = max(0.0, r["x"] / w), max(0.0, r["y"] / h)
        regions.append(FaceRegion(r["name"], x, y, min(r["w"] / w, 1.0 - x), min(r["h"] / h, 1.0 - y)))
    return photo["path"], regions, (w, h)


def write_names(db: sqlite_utils.Database, photo_ids: Iterable[int] | None = None, *, into_file: bool = False
                ) -> int:
    """Write the named faces of photos (default: every photo with a named face) as XMP. Returns files written."""
    if photo_ids is None:
        photo_ids = [r["photo_id"] for r in db.query(
            "SELECT DISTINCT f.photo_id FROM faces f JOIN assignments a ON a.face_id = f.id JOIN people pe "
            "ON pe.id = a.person_id JOIN photos p ON p.id = f.photo_id WHERE pe.name IS NOT NULL "
            "AND p.status = 'ok'")]
    written = 0
    for photo_id in photo_ids:
        path, regions, size = regions_of_photo(db, photo_id)
        if not regions:
            continue
        write_regions(text_to_path(path), regions, image_size=size, into_file=into_file)
        written += 1
    return written
