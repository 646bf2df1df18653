"""Face regions in XMP: read the names and boxes other tools wrote, write ours back for them.

Formats
-------
* **MWG regions** (Metadata Working Group, *Guidelines for Handling Image Metadata* 2.0, §5.9):
  ``mwg-rs:Regions/mwg-rs:RegionList`` items with ``mwg-rs:Type`` ``Face``, ``mwg-rs:Name`` and an
  ``mwg-rs:Area`` whose ``stArea:x``/``stArea:y`` are the box *centre*, normalised 0..1. digiKam, Lightroom,
  Picasa, Apple Photos and Mylio write these.
* **Microsoft Photo regions** (Windows Live Photo Gallery): ``MP:RegionInfo/MPRI:Regions`` items with an
  ``MPReg:Rectangle`` ``"x, y, w, h"`` (top-left corner, normalised) and ``MPReg:PersonDisplayName``.

Both describe the *stored* pixels: the MWG guidelines say that regions apply to the image as stored and that
applying the Exif Orientation must rotate the regions too. :class:`FaceRegion` is in the coordinates of the
upright image (what ``PIL.ImageOps.exif_transpose`` gives), so this module rotates boxes on the way in and
back on the way out, using the orientation Pillow reports for the image file.

Where they are read from
------------------------
The sidecars ``photo.jpg.xmp`` (digiKam's and darktable's default) and ``photo.xmp`` (Adobe's convention,
digiKam's "commercial programs" option), then the XMP embedded in the image. As in digiKam, a sidecar that
holds a region list is authoritative: the embedded regions are used only when no sidecar has one, so a face
removed or renamed in the sidecar does not come back from the original file. Within one layer MWG and
Microsoft regions, and the two sidecars, are merged and duplicates (same box, same or missing name) dropped.

Where they are written
----------------------
By default to the sidecar ``photo.jpg.xmp``: it is digiKam's default, it never collides between the JPEG and
the raw file of a RAW+JPEG pair (``photo.xmp`` is the raw file's Lightroom sidecar there), and Lightroom never
reads sidecars for JPEGs anyway (it reads their embedded XMP). An existing ``photo.xmp`` is updated instead
when no ``photo.jpg.xmp`` exists and no other file shares the photo's stem. Every other property of an
existing sidecar is kept. ``into_file=True`` rewrites only the XMP segment of a JPEG (all other bytes,
including the compressed image data, are copied unchanged and checked before the file is replaced).

Library choice
--------------
* ``pyexiv2`` 2.16.0 (wheels bundle exiv2 0.28.8) works here: ``read_raw_xmp``/``modify_raw_xmp`` round-trip
  and keep JPEG scan data. But it is GPLv3 and bundles GPLv2+ exiv2, so shipping it in the MIT-licensed
  PyInstaller build would put the whole installer under the GPL; ``exiv2`` (python-exiv2) is GPL as well. Its
  structured ``modify_xmp`` also cannot build XMP structs or bags (every array becomes a Seq), so the region
  XML would have been ours to build either way, and its warnings go to stdout from C++.
* ``python-xmp-toolkit`` 2.1.0 is pure Python over ctypes and needs the system ``libexempi``, which no wheel
  provides: not installable with pip alone.
* So: the standard library's ElementTree for RDF/XML (:mod:`.rdf`; DTDs refused, so no entity expansion),
  Pillow (already a dependency) to find the embedded packet and the orientation in JPEG, PNG, WebP and TIFF,
  and a small JPEG segment splicer for writing (:mod:`.jpeg`). No new dependency.
"""

from __future__ import annotations

import logging
import math
import os
import re
import secrets
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from faceorganizer.errors import FaceOrganizerError
from faceorganizer.xmp import jpeg, rdf
from faceorganizer.xmp.rdf import NS_RDF, NS_X, RDF_BAG, RDF_LI, RDF_SEQ, Packet, qname

log = logging.getLogger(__name__)

__all__ = ["FaceRegion", "XmpWriteError", "read_regions", "sidecar_paths", "write_regions"]

NS_MWG_RS = "http://www.metadataworkinggroup.com/schemas/regions/"
NS_ST_AREA = "http://ns.adobe.com/xmp/sType/Area#"
NS_ST_DIM = "http://ns.adobe.com/xap/1.0/sType/Dimensions#"
NS_MP = "http://ns.microsoft.com/photo/1.2/"
NS_MPRI = "http://ns.microsoft.com/photo/1.2/t/RegionInfo#"
NS_MPREG = "http://ns.microsoft.com/photo/1.2/t/Region#"
NS_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
NS_DIGIKAM = "http://www.digikam.org/ns/1.0/"

#: Prefixes for the namespaces we write, unless the file already uses others.
_PREFIXES = {
    NS_X: "x",
    NS_RDF: "rdf",
    NS_MWG_RS: "mwg-rs",
    NS_ST_AREA: "stArea",
    NS_ST_DIM: "stDim",
    NS_MP: "MP",
    NS_MPRI: "MPRI",
    NS_MPREG: "MPReg",
    NS_IPTC_EXT: "Iptc4xmpExt",
    NS_DIGIKAM: "digiKam",
}

MWG_REGIONS, MWG_REGION_LIST = qname(NS_MWG_RS, "Regions"), qname(NS_MWG_RS, "RegionList")
MWG_DIMENSIONS, MWG_AREA = qname(NS_MWG_RS, "AppliedToDimensions"), qname(NS_MWG_RS, "Area")
MWG_NAME, MWG_TYPE = qname(NS_MWG_RS, "Name"), qname(NS_MWG_RS, "Type")
MP_REGION_INFO, MPRI_REGIONS = qname(NS_MP, "RegionInfo"), qname(NS_MPRI, "Regions")
MPREG_RECTANGLE, MPREG_NAME = qname(NS_MPREG, "Rectangle"), qname(NS_MPREG, "PersonDisplayName")
PERSON_IN_IMAGE = qname(NS_IPTC_EXT, "PersonInImage")
DIGIKAM_TAGS_LIST = qname(NS_DIGIKAM, "TagsList")

#: digiKam's default root tag for people; its face tags are ``People/<name>`` in ``digiKam:TagsList``.
PEOPLE_TAG_ROOT = "People"
#: Windows Live Photo Gallery's name for a face the user chose to ignore.
_MP_IGNORED_NAME = "ffffffffffffffff"
#: Boxes overlapping at least this much (intersection over union) are the same face.
_SAME_FACE_IOU = 0.5
_XMP_TOOLKIT = "FaceOrganizer"


class XmpWriteError(FaceOrganizerError):
    """Face regions could not be written (unreadable existing XMP, unsupported format, packet too large)."""


@dataclass(frozen=True)
class FaceRegion:
    """A named (or unnamed) face box, normalised 0..1, top-left corner, in the upright image."""

    name: str | None
    x: float
    y: float
    w: float
    h: float


# --------------------------------------------------------------------------------------------- reading


def read_regions(image_path: str | os.PathLike[str]) -> list[FaceRegion]:
    """The face regions recorded for a photo, from its sidecars or else its embedded XMP.

    Never raises on bad metadata: a malformed packet or a missing image is logged as a warning and
    contributes no regions.
    """
    path = Path(image_path)
    image = _ImageFacts.of(path)
    sidecars = [_read_sidecar(p) for p in sidecar_paths(path) if p.is_file()]
    sidecar_layer = [r for r in sidecars if r is not None and r.has_regions]
    found: list[_PacketRegions]
    if sidecar_layer:
        found = sidecar_layer
    elif image.xmp is not None:
        packet = rdf.parse_packet(image.xmp, f"XMP embedded in {path}")
        found = [_regions_in(packet)] if packet is not None else []
    else:
        found = []
    merged = _deduplicate(region for packet_regions in found for region in packet_regions.regions)
    upright = [_clip(_reorient(r, image.orientation)) for r in merged]
    return [r for r in upright if r is not None]


def sidecar_paths(image_path: str | os.PathLike[str]) -> list[Path]:
    """Both sidecar names for a photo, the preferred one first: ``photo.jpg.xmp``, ``photo.xmp``."""
    path = Path(image_path)
    names = [path.with_name(path.name + ".xmp")]
    if path.suffix and path.suffix.lower() != ".xmp":
        names.append(path.with_suffix(".xmp"))
    return names


@dataclass
class _ImageFacts:
    """What the image file itself says: stored size, Exif orientation, embedded XMP packet."""

    size: tuple[int, int] | None = None
    orientation: int = 1
    xmp: bytes | None = None
    format: str | None = None

    @classmethod
    def of(cls, path: Path) -> _ImageFacts:
        if not path.is_file():
            log.warning("face regions: %s is not a file; reading sidecars only", path)
            return cls()
        try:
            # Opening reads the headers only; no pixels are decoded.
            with Image.open(path) as im:
                orientation = int(im.getexif().get(0x0112, 1) or 1)
                xmp = im.info.get("xmp")
                if isinstance(xmp, str):
                    xmp = xmp.encode("utf-8")
                return cls(
                    size=im.size,
                    orientation=orientation if 1 <= orientation <= 8 else 1,
                    xmp=xmp or None,
                    format=im.format,
                )
        except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            log.warning("face regions: cannot read the headers of %s (%s); reading sidecars only", path, e)
            return cls()


@dataclass
class _PacketRegions:
    """Face regions of one packet in stored-image coordinates; has_regions: it holds a region list."""

    has_regions: bool = False
    regions: list[FaceRegion] = field(default_factory=list)


def _read_sidecar(path: Path) -> _PacketRegions | None:
    try:
        data = path.read_bytes()
    except OSError as e:
        log.warning("face regions: cannot read sidecar %s (%s)", path, e)
        return None
    packet = rdf.parse_packet(data, f"sidecar {path}")
    return _regions_in(packet) if packet is not None else None


def _number(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        number = float(value.strip().replace(",", "."))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _box(values: Sequence[object]) -> tuple[float, float, float, float] | None:
    """Four numbers (x, y, w, h), or None when there are not exactly four readable ones."""
    numbers = [_number(v) for v in values]
    if len(numbers) != 4:
        return None
    x, y, w, h = numbers
    if x is None or y is None or w is None or h is None:
        return None
    return x, y, w, h


def _name(value: object) -> str | None:
    if isinstance(value, list):  # a lang-alt name; take the first (x-default comes first)
        value = value[0] if value else None
    return (value.strip() or None) if isinstance(value, str) else None


def _regions_in(packet: Packet) -> _PacketRegions:
    properties = packet.properties()
    found = _PacketRegions()
    mwg = properties.get(MWG_REGIONS)
    if isinstance(mwg, dict):
        found.has_regions = True
        found.regions += _mwg_regions(mwg)
    mp = properties.get(MP_REGION_INFO)
    if isinstance(mp, dict):
        found.has_regions = True
        found.regions += _mp_regions(mp)
    found.regions = _deduplicate(found.regions)
    return found


def _mwg_regions(regions: dict[str, object]) -> list[FaceRegion]:
    dimensions = regions.get(MWG_DIMENSIONS)
    dim_w, dim_h = _number(rdf.field(dimensions, "w")), _number(rdf.field(dimensions, "h"))
    items = regions.get(MWG_REGION_LIST)
    out: list[FaceRegion] = []
    for item in items if isinstance(items, list) else []:
        if not _is_face(item):
            continue
        name = _name(item.get(MWG_NAME))  # type: ignore[union-attr]
        area = item.get(MWG_AREA)  # type: ignore[union-attr]
        box = _box([rdf.field(area, k) for k in ("x", "y", "w", "h")])
        if box is None:
            log.debug("face regions: skipping an MWG region without a box: %r", item)
            continue
        x, y, w, h = box
        unit = rdf.field(area, "unit")
        if isinstance(unit, str) and unit.strip().lower() == "pixel":
            if not dim_w or not dim_h:
                continue
            x, w, y, h = x / dim_w, w / dim_w, y / dim_h, h / dim_h
        out.append(FaceRegion(name, x - w / 2, y - h / 2, w, h))
    return out


def _mp_regions(info: dict[str, object]) -> list[FaceRegion]:
    items = info.get(MPRI_REGIONS)
    out: list[FaceRegion] = []
    for item in items if isinstance(items, list) else []:
        rectangle = item.get(MPREG_RECTANGLE) if isinstance(item, dict) else None
        box = _box(rectangle.split(",")) if isinstance(rectangle, str) else None
        if box is None:
            log.debug("face regions: skipping a Microsoft region without a rectangle: %r", item)
            continue
        name = _name(item.get(MPREG_NAME))  # type: ignore[union-attr]
        out.append(FaceRegion(None if name == _MP_IGNORED_NAME else name, *box))
    return out


def _iou(a: FaceRegion, b: FaceRegion) -> float:
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


def _deduplicate(regions: Iterable[FaceRegion]) -> list[FaceRegion]:
    """Drop repeats of a face (boxes overlapping, names equal or one missing); a name beats no name."""
    kept: list[FaceRegion] = []
    for region in regions:
        for i, other in enumerate(kept):
            same_name = (
                region.name is None or other.name is None or region.name.casefold() == other.name.casefold()
            )
            if same_name and _iou(region, other) >= _SAME_FACE_IOU:
                if other.name is None and region.name is not None:
                    kept[i] = FaceRegion(region.name, other.x, other.y, other.w, other.h)
                break
        else:
            kept.append(region)
    return kept


# ------------------------------------------------------------------------------------------ orientation

# Exif orientation -> where a stored normalised point (u, v) lands in the upright image.
_UPRIGHT_POINT = {
    1: lambda u, v: (u, v),
    2: lambda u, v: (1 - u, v),  # mirrored left-right
    3: lambda u, v: (1 - u, 1 - v),  # rotated 180
    4: lambda u, v: (u, 1 - v),  # mirrored top-bottom
    5: lambda u, v: (v, u),  # transposed
    6: lambda u, v: (1 - v, u),  # shown rotated 90 clockwise
    7: lambda u, v: (1 - v, 1 - u),  # transversed
    8: lambda u, v: (v, 1 - u),  # shown rotated 90 counter-clockwise
}
# The transform that undoes each one: all are their own inverse but the two quarter turns.
_INVERSE_ORIENTATION = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}


def _reorient(region: FaceRegion, orientation: int) -> FaceRegion:
    point = _UPRIGHT_POINT.get(orientation, _UPRIGHT_POINT[1])
    x0, y0 = point(region.x, region.y)
    x1, y1 = point(region.x + region.w, region.y + region.h)
    return FaceRegion(region.name, min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))


def _clip(region: FaceRegion) -> FaceRegion | None:
    """The part of a box inside the image; None when nothing of it is."""
    x0, y0 = max(0.0, region.x), max(0.0, region.y)
    x1, y1 = min(1.0, region.x + region.w), min(1.0, region.y + region.h)
    if x1 <= x0 or y1 <= y0:
        return None
    if (x0, y0, x1 - x0, y1 - y0) == (region.x, region.y, region.w, region.h):
        return region
    return FaceRegion(region.name, x0, y0, x1 - x0, y1 - y0)


# --------------------------------------------------------------------------------------------- writing


def write_regions(
    image_path: str | os.PathLike[str],
    regions: Sequence[FaceRegion],
    *,
    image_size: tuple[int, int] | None = None,
    into_file: bool = False,
) -> Path:
    """Record these face regions for a photo; returns the file written.

    ``regions`` replace the photo's face regions (other region types, e.g. camera focus areas, are kept).
    Named regions are also listed in ``Iptc4xmpExt:PersonInImage`` and as ``People/<name>`` in
    ``digiKam:TagsList``; names that only the replaced regions carried are taken out of both.
    ``image_size`` is the upright size in pixels (read from the file when omitted); it is recorded as
    ``mwg-rs:AppliedToDimensions`` of the stored image. By default the sidecar is written (see the module
    docstring for its name) and the image is not touched. ``into_file=True`` rewrites the XMP of a JPEG
    instead, leaving every other byte as it was, and also updates any sidecar that holds regions so that it
    does not hide the new ones. Raises :class:`XmpWriteError` when existing XMP cannot be parsed (it is never
    overwritten) or the photo cannot take embedded XMP.
    """
    path = Path(image_path)
    image = _ImageFacts.of(path)
    stored_size = _stored_size(image, image_size, path)
    undo = _INVERSE_ORIENTATION[image.orientation]
    stored = [_reorient(_checked(r), undo) for r in regions]
    if into_file:
        _write_embedded(path, image, stored, stored_size)
        for sidecar in sidecar_paths(path):
            held = _read_sidecar(sidecar) if sidecar.is_file() else None
            if held is not None and held.has_regions:
                _write_sidecar(sidecar, stored, stored_size)
        return path
    target = _sidecar_for_writing(path)
    _write_sidecar(target, stored, stored_size)
    return target


def _checked(region: FaceRegion) -> FaceRegion:
    values = (region.x, region.y, region.w, region.h)
    if not all(math.isfinite(v) for v in values) or region.w <= 0 or region.h <= 0:
        raise ValueError(f"not a face box: {region!r}")
    eps = 1e-9
    if region.x < -eps or region.y < -eps or region.x + region.w > 1 + eps or region.y + region.h > 1 + eps:
        raise ValueError(f"face box outside the image (coordinates are normalised 0..1): {region!r}")
    return region


def _stored_size(image: _ImageFacts, upright: tuple[int, int] | None, path: Path) -> tuple[int, int]:
    if upright is None:
        if image.size is None:
            raise XmpWriteError(f"cannot read the size of {path}; pass image_size")
        return image.size
    width, height = (int(v) for v in upright)
    if width <= 0 or height <= 0:
        raise ValueError(f"image_size must be positive, got {upright!r}")
    return (height, width) if image.orientation >= 5 else (width, height)


def _sidecar_for_writing(path: Path) -> Path:
    preferred, *others = sidecar_paths(path)
    if preferred.exists() or not others:
        return preferred
    adobe = others[0]
    if adobe.exists():
        # photo.xmp is this photo's own only if no other file (a raw twin, say) could own it.
        siblings = [p for p in path.parent.glob(_glob_escape(path.stem) + ".*") if p not in (path, adobe)]
        if not any(p.stem == path.stem for p in siblings):
            return adobe
    return preferred


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _write_sidecar(target: Path, stored: list[FaceRegion], stored_size: tuple[int, int]) -> None:
    packet = None
    if target.exists():
        try:
            data = target.read_bytes()
        except OSError as e:
            raise XmpWriteError(f"cannot read the sidecar {target}: {e}") from e
        packet = rdf.parse_packet(data, f"sidecar {target}")
        if packet is None:
            raise XmpWriteError(f"the sidecar {target} is not valid XMP; fix or remove it to save faces")
    text = _updated_packet(packet, stored, stored_size)
    _replace_file(target, text.encode("utf-8"), like=target if target.exists() else None)


def _write_embedded(
    path: Path, image: _ImageFacts, stored: list[FaceRegion], stored_size: tuple[int, int]
) -> None:
    if image.format != "JPEG":
        raise XmpWriteError(f"face regions can be embedded in JPEG files only; {path.name} keeps a sidecar")
    packet = None
    if image.xmp is not None:
        packet = rdf.parse_packet(image.xmp, f"XMP embedded in {path}")
        if packet is None:
            raise XmpWriteError(f"the XMP embedded in {path} is not valid; it is left as it is")
    text = _updated_packet(packet, stored, stored_size)
    try:
        original = path.read_bytes()
    except OSError as e:
        raise XmpWriteError(f"cannot read {path}: {e}") from e
    try:
        updated = jpeg.with_xmp(original, text.encode("utf-8"))
    except ValueError as e:
        raise XmpWriteError(f"cannot embed face regions in {path} ({e}); use the sidecar") from e
    if jpeg.image_parts(updated) != jpeg.image_parts(original):
        raise XmpWriteError(f"refusing to write {path}: its image data would change")  # a bug if ever seen
    _replace_file(path, updated, like=path)


def _replace_file(target: Path, data: bytes, *, like: Path | None) -> None:
    """Write beside the target, then swap it in: a crash leaves the old file or the new, never half."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if like is not None:
            shutil.copymode(like, temp)
        os.replace(temp, target)
    except OSError as e:
        temp.unlink(missing_ok=True)
        raise XmpWriteError(f"cannot write {target}: {e}") from e


# ------------------------------------------------------------------------------------ building the XMP


def _updated_packet(packet: Packet | None, stored: list[FaceRegion], stored_size: tuple[int, int]) -> str:
    """The packet with our face regions and people lists in place of the old ones, everything else kept."""
    if packet is None:
        packet = Packet.new(_XMP_TOOLKIT)
    old_names = {r.name for r in _regions_in(packet).regions if r.name}
    properties = packet.properties()
    had_mp = MP_REGION_INFO in properties
    kept_regions = _non_face_mwg_items(packet)
    people = rdf.strings(properties.get(PERSON_IN_IMAGE))
    tags = rdf.strings(properties.get(DIGIKAM_TAGS_LIST))
    packet.remove(MWG_REGIONS, MP_REGION_INFO, PERSON_IN_IMAGE, DIGIKAM_TAGS_LIST)

    # Names only the replaced regions carried leave the people lists; names never in a region stay.
    names = list(dict.fromkeys(r.name for r in stored if r.name))
    dropped = old_names - set(names)
    people = [p for p in people if p not in dropped] + [n for n in names if n not in people]
    tags = [t for t in tags if _person_tag(t) not in dropped]
    tags += [f"{PEOPLE_TAG_ROOT}/{n}" for n in names if n not in {_person_tag(t) for t in tags}]

    target = packet.descriptions()[0]
    target.append(_mwg_element(stored, stored_size, kept_regions))
    if had_mp:  # keep Windows' copy in step rather than leave it stale
        target.append(_mp_element(stored))
    if people:
        target.append(rdf.array(PERSON_IN_IMAGE, RDF_BAG, people))
    if tags:
        target.append(rdf.array(DIGIKAM_TAGS_LIST, RDF_SEQ, tags))
    return packet.to_text(_PREFIXES)


def _person_tag(tag: str) -> str | None:
    """The person a digiKam tag names (``People/Family/Ann`` -> ``Ann``), None for other tags."""
    return tag.rpartition("/")[2] if tag.startswith(f"{PEOPLE_TAG_ROOT}/") else None


def _is_face(region: object) -> bool:
    """An MWG region item of type Face; Type is optional, and an untyped region with a name is a face."""
    if not isinstance(region, dict):
        return False
    kind = region.get(MWG_TYPE)
    if isinstance(kind, str):
        return kind.strip().lower() == "face"
    return kind is None and _name(region.get(MWG_NAME)) is not None


def _non_face_mwg_items(packet: Packet) -> list[ET.Element]:
    """The rdf:li elements of non-face MWG regions (focus areas, pets, ...), to carry over unchanged."""
    kept: list[ET.Element] = []
    for description in packet.descriptions():
        for regions in description.findall(MWG_REGIONS):
            for item in regions.iterfind(f".//{MWG_REGION_LIST}/*/{RDF_LI}"):
                region = rdf.value(item)
                if isinstance(region, dict) and not _is_face(region):
                    kept.append(item)
    return kept


def _number_text(value: float) -> str:
    text = f"{value:.8f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _mwg_element(
    stored: list[FaceRegion], stored_size: tuple[int, int], kept: list[ET.Element]
) -> ET.Element:
    regions = ET.Element(MWG_REGIONS, {rdf.RDF_PARSE_TYPE: "Resource"})
    dimensions = rdf.resource(regions, MWG_DIMENSIONS)
    rdf.text(dimensions, qname(NS_ST_DIM, "w"), str(stored_size[0]))
    rdf.text(dimensions, qname(NS_ST_DIM, "h"), str(stored_size[1]))
    rdf.text(dimensions, qname(NS_ST_DIM, "unit"), "pixel")
    bag = ET.SubElement(ET.SubElement(regions, MWG_REGION_LIST), RDF_BAG)
    for region in stored:
        item = rdf.resource(bag, RDF_LI)
        if region.name:
            rdf.text(item, MWG_NAME, region.name)
        rdf.text(item, MWG_TYPE, "Face")
        area = rdf.resource(item, MWG_AREA)
        centre = (region.x + region.w / 2, region.y + region.h / 2)
        for key, value in zip("xywh", (*centre, region.w, region.h), strict=True):
            rdf.text(area, qname(NS_ST_AREA, key), _number_text(value))
        rdf.text(area, qname(NS_ST_AREA, "unit"), "normalized")
    bag.extend(kept)
    return regions


def _mp_element(stored: list[FaceRegion]) -> ET.Element:
    info = ET.Element(MP_REGION_INFO, {rdf.RDF_PARSE_TYPE: "Resource"})
    bag = ET.SubElement(ET.SubElement(info, MPRI_REGIONS), RDF_BAG)
    for region in stored:
        item = rdf.resource(bag, RDF_LI)
        box = (region.x, region.y, region.w, region.h)
        rdf.text(item, MPREG_RECTANGLE, ", ".join(_number_text(v) for v in box))
        if region.name:
            rdf.text(item, MPREG_NAME, region.name)
    return info
