"""Face regions inside one parsed XMP packet: MWG and Microsoft regions in, our mark on the ones we wrote.

Reading is linear in the packet and capped at :data:`~faceorganizer.xmp.model.MAX_REGIONS` face regions;
whatever is skipped (over the cap, unreadable boxes, names that are not valid names) is reported in one
summary line per packet, never one line per region, and names are never logged.

When a packet holds both MWG and Microsoft regions, the MWG ones are used and the Microsoft copy is ignored:
the MWG guidelines (2.0, §5.9) give MWG regions precedence, and tools that rotate regions for the Exif
orientation often rotate only the MWG copy, so a stale Microsoft box could land on the wrong face.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from faceorganizer.errors import InvalidNameError
from faceorganizer.geometry import box_iou
from faceorganizer.names import clean_name
from faceorganizer.xmp import rdf
from faceorganizer.xmp.model import (
    APP_MARK,
    MAX_REGIONS,
    MP_REGION_INFO,
    MPREG_NAME,
    MPREG_RECTANGLE,
    MPRI_REGIONS,
    MWG_AREA,
    MWG_DIMENSIONS,
    MWG_NAME,
    MWG_REGION_LIST,
    MWG_REGIONS,
    MWG_TYPE,
    FaceRegion,
)
from faceorganizer.xmp.rdf import Packet

log = logging.getLogger("faceorganizer.xmp")

#: Windows Live Photo Gallery's name for a face the user chose to ignore.
_MP_IGNORED_NAME = "ffffffffffffffff"
#: Boxes overlapping at least this much (intersection over union) are the same face.
SAME_FACE_IOU = 0.5


@dataclass
class PacketRegions:
    """Face regions of one packet in stored-image coordinates; has_regions: it holds a region list."""

    has_regions: bool = False
    regions: list[FaceRegion] = field(default_factory=list)


@dataclass
class _Tally:
    """What was skipped while reading one packet, for its one summary line."""

    over_cap: int = 0
    no_box: int = 0
    bad_name: int = 0

    def report(self, source: str) -> None:
        if self.over_cap:
            log.warning("XMP: %s holds more than %d face regions; the other %d are ignored",
                        source, MAX_REGIONS, self.over_cap)
        if self.bad_name:
            log.warning("XMP: %d region name(s) in %s are not valid names (control characters, or longer than "
                        "the limit); those regions are read without a name", self.bad_name, source)
        if self.no_box:
            log.debug("XMP: %d region(s) in %s have no readable box and are skipped", self.no_box, source)


def app_mark(name: str | None, numbers: Sequence[str]) -> str:
    """The mark we write beside a region: a digest of its name and box exactly as written.

    A region counts as ours only while name and box still match the mark, so a region another tool renamed
    or moved (keeping our field) is that tool's statement, and is read as a foreign one.
    """
    text = "\x00".join(["FaceOrganizer", name or "", *numbers])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def regions_in(packet: Packet, source: str) -> PacketRegions:
    """The face regions of a packet (MWG when it has any, else Microsoft), duplicates dropped."""
    properties = packet.properties()
    found = PacketRegions()
    tally = _Tally()
    mwg, mp = properties.get(MWG_REGIONS), properties.get(MP_REGION_INFO)
    if isinstance(mwg, dict):
        found.has_regions = True
        found.regions = _mwg_regions(mwg, tally)
    if isinstance(mp, dict):
        found.has_regions = True
        if not found.regions:
            found.regions = _mp_regions(mp, tally)
    found.regions = deduplicate(found.regions)
    tally.report(source)
    return found


def number(value: object) -> float | None:
    """A finite number from XMP text (a decimal comma is accepted), else None."""
    if not isinstance(value, str):
        return None
    try:
        result = float(value.strip().replace(",", "."))
    except ValueError:
        return None
    return result if math.isfinite(result) else None


def _box(values: Sequence[object]) -> tuple[float, float, float, float] | None:
    """Four numbers (x, y, w, h), or None when there are not exactly four readable ones."""
    numbers = [number(v) for v in values]
    if len(numbers) != 4:
        return None
    x, y, w, h = numbers
    if x is None or y is None or w is None or h is None:
        return None
    return x, y, w, h


def raw_name(value: object) -> str | None:
    """The name text as written (a lang-alt name gives its first entry), None when there is none."""
    if isinstance(value, list):  # a lang-alt name; take the first (x-default comes first)
        value = value[0] if value else None
    return (value.strip() or None) if isinstance(value, str) else None


def _clean(name: str | None, tally: _Tally) -> str | None:
    if name is None:
        return None
    try:
        return clean_name(name)
    except InvalidNameError:
        tally.bad_name += 1
        return None


def is_face(region: object) -> bool:
    """An MWG region item of type Face; Type is optional, and an untyped region with a name is a face."""
    if not isinstance(region, dict):
        return False
    kind = region.get(MWG_TYPE)
    if isinstance(kind, str):
        return kind.strip().lower() == "face"
    return kind is None and raw_name(region.get(MWG_NAME)) is not None


def _mwg_regions(regions: dict[str, object], tally: _Tally) -> list[FaceRegion]:
    dimensions = regions.get(MWG_DIMENSIONS)
    dim_w, dim_h = number(rdf.field(dimensions, "w")), number(rdf.field(dimensions, "h"))
    items = regions.get(MWG_REGION_LIST)
    out: list[FaceRegion] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not is_face(item):
            continue
        if len(out) >= MAX_REGIONS:
            tally.over_cap += 1
            continue
        name = raw_name(item.get(MWG_NAME))
        area = item.get(MWG_AREA)
        texts = [rdf.field(area, k) for k in ("x", "y", "w", "h")]
        box = _box(texts)
        if box is None:
            tally.no_box += 1
            continue
        x, y, w, h = box
        unit = rdf.field(area, "unit")
        if isinstance(unit, str) and unit.strip().lower() == "pixel":
            if not dim_w or not dim_h:
                tally.no_box += 1
                continue
            x, w, y, h = x / dim_w, w / dim_w, y / dim_h, h / dim_h
        ours = item.get(APP_MARK) == app_mark(name, [str(t).strip() for t in texts])
        out.append(FaceRegion(_clean(name, tally), x - w / 2, y - h / 2, w, h, by_app=ours))
    return out


def _mp_regions(info: dict[str, object], tally: _Tally) -> list[FaceRegion]:
    items = info.get(MPRI_REGIONS)
    out: list[FaceRegion] = []
    for item in items if isinstance(items, list) else []:
        if len(out) >= MAX_REGIONS:
            tally.over_cap += 1
            continue
        rectangle = item.get(MPREG_RECTANGLE) if isinstance(item, dict) else None
        box = _box(rectangle.split(",")) if isinstance(rectangle, str) else None
        if box is None or not isinstance(item, dict) or not isinstance(rectangle, str):
            tally.no_box += 1
            continue
        name = raw_name(item.get(MPREG_NAME))
        ours = item.get(APP_MARK) == app_mark(name, [rectangle.strip()])
        name = None if name == _MP_IGNORED_NAME else _clean(name, tally)
        out.append(FaceRegion(name, *box, by_app=ours))
    return out


def deduplicate(regions: Iterable[FaceRegion]) -> list[FaceRegion]:
    """Drop repeats of a face (boxes overlapping, names equal or one missing).

    A name beats no name, and a foreign region beats our own copy of it (another tool's statement is the
    user's). Quadratic in the regions kept, which the reader caps at MAX_REGIONS per packet.
    """
    kept: list[FaceRegion] = []
    folded: list[str | None] = []
    for region in regions:
        key = region.name.casefold() if region.name else None
        box = (region.x, region.y, region.w, region.h)
        for i, other in enumerate(kept):
            same_name = key is None or folded[i] is None or key == folded[i]
            if same_name and box_iou(box, (other.x, other.y, other.w, other.h)) >= SAME_FACE_IOU:
                if other.name is None and region.name is not None:
                    kept[i], folded[i] = replace(other, name=region.name, by_app=region.by_app), key
                elif other.by_app and not region.by_app and region.name == other.name:
                    kept[i] = replace(other, by_app=False)
                break
        else:
            kept.append(region)
            folded.append(key)
    return kept
