"""Writing our face regions for other tools, and taking them out again (forget).

By default to the sidecar ``photo.jpg.xmp``: it is digiKam's default, it never collides between the JPEG and
the raw file of a RAW+JPEG pair (``photo.xmp`` is the raw file's Lightroom sidecar there), and Lightroom never
reads sidecars for JPEGs anyway (it reads their embedded XMP). An existing ``photo.xmp`` is updated instead
when no ``photo.jpg.xmp`` exists and no other file shares the photo's stem. Every other property of an
existing sidecar is kept. ``into_file=True`` rewrites only the XMP segment of a JPEG (all other bytes,
including the compressed image data, are copied unchanged and checked before the file is replaced).

Every name is checked with :func:`faceorganizer.names.clean_name` and all XML is produced by
:func:`faceorganizer.xmp.rdf.serialize`, which escapes every value and refuses characters XML cannot hold, so
no name can make a sidecar or a JPEG's packet unreadable. Each region we write carries our mark
(``faceorg:Written``, see :mod:`.regions`) so that our own names are never imported back as the user's.

Files are replaced atomically through a temporary file beside them (a rename cannot cross file systems);
like exiftool's ``FILE_exiftool_tmp``, a process killed mid-write can leave it behind, so the temp name
carries our pid and every later write sweeps the stale ones of its folder (:func:`sweep_stale_temps`).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from faceorganizer.errors import InvalidNameError
from faceorganizer.geometry import box_iou
from faceorganizer.names import clean_name
from faceorganizer.xmp import jpeg, rdf
from faceorganizer.xmp.model import (
    APP_MARK,
    DIGIKAM_TAGS_LIST,
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
    NS_ST_AREA,
    NS_ST_DIM,
    PEOPLE_TAG_ROOT,
    PERSON_IN_IMAGE,
    PREFIXES,
    XMP_TOOLKIT,
    FaceRegion,
    XmpWriteError,
)
from faceorganizer.xmp.orientation import INVERSE_ORIENTATION, checked, reorient
from faceorganizer.xmp.rdf import RDF_BAG, RDF_LI, RDF_SEQ, Packet, qname
from faceorganizer.xmp.reader import ImageFacts, effective_orientation, read_sidecar, sidecar_paths
from faceorganizer.xmp.regions import SAME_FACE_IOU, app_mark, is_face, number, raw_name, regions_in

log = logging.getLogger("faceorganizer.xmp")

#: Our temporary files: ``.<target name>.faceorganizer-<pid>-<random>.tmp``.
_TEMP = re.compile(r"^\.(?P<target>.+)\.faceorganizer-(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")
#: Temporaries of earlier versions: ``.<target name>.<8 hex>.tmp``, removed when the target exists.
_OLD_TEMP = re.compile(r"^\.(?P<target>.+)\.[0-9a-f]{8}\.tmp$")
#: Folders already swept by this process.
_SWEPT: set[str] = set()
#: A temporary this old is stale even if its pid is alive again (pids are reused).
_STALE_AFTER_S = 3600.0


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
    does not hide the new ones. Raises :class:`~faceorganizer.errors.InvalidNameError` for a name that
    cannot be a name and ValueError for a box outside the image (both before any file is touched), and
    :class:`XmpWriteError` when existing XMP cannot be parsed (it is never overwritten) or the photo cannot
    take embedded XMP.
    """
    path = Path(image_path)
    named = [_named(r) for r in regions]
    image = ImageFacts.of(path)
    packets = [p for p in (read_sidecar(s) for s in sidecar_paths(path) if s.is_file()) if p is not None]
    orientation = effective_orientation(image, packets)
    stored_size = _stored_size(image, orientation, image_size, path)
    stored = [reorient(checked(r), INVERSE_ORIENTATION[orientation]) for r in named]
    _sweep_once(path.parent)
    if into_file:
        _write_embedded(path, image, stored, stored_size)
        for sidecar in sidecar_paths(path):
            held = read_sidecar(sidecar) if sidecar.is_file() else None
            if held is not None and regions_in(held, str(sidecar)).has_regions:
                _write_sidecar(sidecar, stored, stored_size)
        return path
    target = _sidecar_for_writing(path)
    _write_sidecar(target, stored, stored_size)
    return target


def remove_app_regions(
    image_path: str | os.PathLike[str],
    names: Collection[str] | None = None,
    *,
    boxes: Sequence[tuple[float, float, float, float]] = (),
) -> list[Path]:
    """Take face regions this app wrote out of a photo's sidecars and embedded XMP; returns the files changed.

    Which of ours go: with ``names=None`` all of them; otherwise those with one of ``names``, and those whose
    box overlaps one of ``boxes`` (normalised x, y, w, h in the upright photo; IoU >= 0.5) whatever name
    they carry: a person renamed or merged after the write is still found by where the face is. Foreign
    regions, and ours that another tool has since renamed or moved, are left alone, as is every other
    property; the removed names leave ``PersonInImage`` and the digiKam people tags unless a remaining
    region still carries them. Files that cannot be parsed are left untouched (logged). Used by ``forget``.
    """
    path = Path(image_path)
    wanted = None if names is None else {n for n in (_clean_or_none(x) for x in names) if n}
    if wanted is not None and not wanted and not boxes:
        return []  # we only ever wrote clean names: nothing of ours can carry these
    image = ImageFacts.of(path)
    packets = [(s, read_sidecar(s)) for s in sidecar_paths(path) if s.is_file()]
    orientation = effective_orientation(image, [p for _, p in packets if p is not None])
    doomed = _Doomed(wanted, list(boxes), orientation)
    changed: list[Path] = []
    for sidecar, packet in packets:
        if packet is not None and _remove_ours(packet, doomed):
            _replace_file(sidecar, packet.to_text(PREFIXES).encode("utf-8"), like=sidecar)
            changed.append(sidecar)
    if image.format == "JPEG" and image.xmp is not None:
        packet = rdf.parse_packet(image.xmp, f"XMP embedded in {path}")
        if packet is not None and _remove_ours(packet, doomed):
            _splice_into_jpeg(path, packet.to_text(PREFIXES))
            changed.append(path)
    return changed


def sweep_stale_temps(folder: Path) -> int:
    """Remove the temporary files a killed writer left in ``folder``; returns how many were removed.

    Ours are recognised by name; one is stale when its process is gone or it is over an hour old. Files
    in the older ``.NAME.XXXXXXXX.tmp`` form are removed only where NAME exists beside them.
    """
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(".") or not entry.name.endswith(".tmp") or not entry.is_file():
            continue
        ours = _TEMP.match(entry.name)
        old = None if ours else _OLD_TEMP.match(entry.name)
        if ours:
            stale = not _alive(int(ours["pid"])) or time.time() - entry.stat().st_mtime > _STALE_AFTER_S
        else:
            stale = old is not None and (folder / old["target"]).exists()
        if stale:
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                pass
    if removed:
        log.info("XMP: removed %d temporary file(s) left in %s by an interrupted write", removed, folder)
    return removed


def _sweep_once(folder: Path) -> None:
    """Sweep a folder the first time this process writes there (a scan per photo would be quadratic)."""
    key = os.path.abspath(folder)
    if key not in _SWEPT:
        _SWEPT.add(key)
        sweep_stale_temps(folder)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # it exists (someone else's) or cannot be asked: let the age decide
    return True


def _clean_or_none(name: str | None) -> str | None:
    try:
        return clean_name(name) if name else None
    except InvalidNameError:
        return None


def _named(region: FaceRegion) -> FaceRegion:
    if region.name is None:
        return region
    name = clean_name(region.name)
    return region if name == region.name else FaceRegion(name, region.x, region.y, region.w, region.h)


def _stored_size(image: ImageFacts, orientation: int, upright: tuple[int, int] | None,
                 path: Path) -> tuple[int, int]:
    if upright is None:
        if image.size is None:
            raise XmpWriteError(f"cannot read the size of {path}; pass image_size")
        return image.size
    width, height = (int(v) for v in upright)
    if width <= 0 or height <= 0:
        raise ValueError(f"image_size must be positive, got {upright!r}")
    return (height, width) if orientation >= 5 else (width, height)


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
    path: Path, image: ImageFacts, stored: list[FaceRegion], stored_size: tuple[int, int]
) -> None:
    if image.format != "JPEG":
        raise XmpWriteError(f"face regions can be embedded in JPEG files only; {path.name} keeps a sidecar")
    packet = None
    if image.xmp is not None:
        packet = rdf.parse_packet(image.xmp, f"XMP embedded in {path}")
        if packet is None:
            raise XmpWriteError(f"the XMP embedded in {path} is not valid; it is left as it is")
    _splice_into_jpeg(path, _updated_packet(packet, stored, stored_size))


def _splice_into_jpeg(path: Path, text: str) -> None:
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
    temp = target.with_name(f".{target.name}.faceorganizer-{os.getpid()}-{secrets.token_hex(4)}.tmp")
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
        raise XmpWriteError(f"cannot write {target}: {e.strerror or e}") from e


# ------------------------------------------------------------------------------------ building the XMP


def _updated_packet(packet: Packet | None, stored: list[FaceRegion], stored_size: tuple[int, int]) -> str:
    """The packet with our face regions and people lists in place of the old ones, everything else kept."""
    if packet is None:
        packet = Packet.new(XMP_TOOLKIT)
    old_names = {r.name for r in regions_in(packet, "the XMP being updated").regions if r.name}
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
    return packet.to_text(PREFIXES)


@dataclass
class _Doomed:
    """Which of our regions to remove: by name (None: all) or by an overlapping upright box."""

    names: set[str] | None
    boxes: list[tuple[float, float, float, float]]
    orientation: int

    def __call__(self, region: FaceRegion) -> bool:
        if self.names is None or (region.name is not None and region.name in self.names):
            return True
        upright = reorient(region, self.orientation)
        box = (upright.x, upright.y, upright.w, upright.h)
        return any(box_iou(box, other) >= SAME_FACE_IOU for other in self.boxes)


def _remove_ours(packet: Packet, doomed: _Doomed) -> bool:
    """Take our (marked, unchanged) face regions that ``doomed`` picks out of the packet; True if any were."""
    removed: set[str] = set()
    for description in packet.descriptions():
        for container in description.iterfind(f".//{MWG_REGION_LIST}/*"):
            removed |= _remove_items(container, doomed, _our_mwg_region)
        for container in description.iterfind(f".//{MPRI_REGIONS}/*"):
            removed |= _remove_items(container, doomed, _our_mp_region)
    if not removed:
        return False
    still = {r.name for r in regions_in(packet, "the XMP being updated").regions if r.name}
    gone = {n for n in removed if n} - still
    if gone:
        properties = packet.properties()
        people = [p for p in rdf.strings(properties.get(PERSON_IN_IMAGE)) if p not in gone]
        tags = [t for t in rdf.strings(properties.get(DIGIKAM_TAGS_LIST)) if _person_tag(t) not in gone]
        had_people, had_tags = PERSON_IN_IMAGE in properties, DIGIKAM_TAGS_LIST in properties
        packet.remove(PERSON_IN_IMAGE, DIGIKAM_TAGS_LIST)
        target = packet.descriptions()[0]
        if had_people and people:
            target.append(rdf.array(PERSON_IN_IMAGE, RDF_BAG, people))
        if had_tags and tags:
            target.append(rdf.array(DIGIKAM_TAGS_LIST, RDF_SEQ, tags))
    return True


def _remove_items(container: ET.Element, doomed: _Doomed,
                  ours: Callable[[object], FaceRegion | None]) -> set[str]:
    """Remove the items of one region array that are ours and doomed; returns their names ('' unnamed)."""
    removed: set[str] = set()
    for item in list(container):
        if item.tag != RDF_LI:
            continue
        region = ours(rdf.value(item))
        if region is None or not doomed(region):
            continue
        container.remove(item)
        removed.add(region.name or "")
    return removed


def _our_mwg_region(value: object) -> FaceRegion | None:
    """One of our MWG face regions (stored coordinates), None when the item is not ours (or not a face)."""
    if not isinstance(value, dict) or not is_face(value):
        return None
    name = raw_name(value.get(MWG_NAME))
    area = value.get(MWG_AREA)
    texts = [str(rdf.field(area, k) or "").strip() for k in ("x", "y", "w", "h")]
    numbers = [number(t) for t in texts]
    if value.get(APP_MARK) != app_mark(name, texts) or None in numbers:
        return None
    x, y, w, h = (float(n or 0.0) for n in numbers)
    return FaceRegion(name, x - w / 2, y - h / 2, w, h, by_app=True)


def _our_mp_region(value: object) -> FaceRegion | None:
    if not isinstance(value, dict) or not isinstance(value.get(MPREG_RECTANGLE), str):
        return None
    name = raw_name(value.get(MPREG_NAME))
    rectangle = str(value[MPREG_RECTANGLE]).strip()
    numbers = [number(t) for t in rectangle.split(",")]
    if value.get(APP_MARK) != app_mark(name, [rectangle]) or len(numbers) != 4 or None in numbers:
        return None
    x, y, w, h = (float(n or 0.0) for n in numbers)
    return FaceRegion(name, x, y, w, h, by_app=True)


def _person_tag(tag: str) -> str | None:
    """The person a digiKam tag names (``People/Family/Ann`` -> ``Ann``), None for other tags."""
    return tag.rpartition("/")[2] if tag.startswith(f"{PEOPLE_TAG_ROOT}/") else None


def _non_face_mwg_items(packet: Packet) -> list[ET.Element]:
    """The rdf:li elements of non-face MWG regions (focus areas, pets, ...), to carry over unchanged."""
    kept: list[ET.Element] = []
    for description in packet.descriptions():
        for regions in description.findall(MWG_REGIONS):
            for item in regions.iterfind(f".//{MWG_REGION_LIST}/*/{RDF_LI}"):
                region = rdf.value(item)
                if isinstance(region, dict) and not is_face(region):
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
        texts = [_number_text(v) for v in (*centre, region.w, region.h)]
        for key, text in zip("xywh", texts, strict=True):
            rdf.text(area, qname(NS_ST_AREA, key), text)
        rdf.text(area, qname(NS_ST_AREA, "unit"), "normalized")
        rdf.text(item, APP_MARK, app_mark(region.name, texts))
    bag.extend(kept)
    return regions


def _mp_element(stored: list[FaceRegion]) -> ET.Element:
    info = ET.Element(MP_REGION_INFO, {rdf.RDF_PARSE_TYPE: "Resource"})
    bag = ET.SubElement(ET.SubElement(info, MPRI_REGIONS), RDF_BAG)
    for region in stored:
        item = rdf.resource(bag, RDF_LI)
        rectangle = ", ".join(_number_text(v) for v in (region.x, region.y, region.w, region.h))
        rdf.text(item, MPREG_RECTANGLE, rectangle)
        if region.name:
            rdf.text(item, MPREG_NAME, region.name)
        rdf.text(item, APP_MARK, app_mark(region.name, [rectangle]))
    return info
