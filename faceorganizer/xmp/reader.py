"""Reading a photo's face regions: from its sidecars, else from the XMP embedded in the image.

As in digiKam, a sidecar that holds a region list is authoritative: the embedded regions are used only when
no sidecar has one, so a face removed or renamed in the sidecar does not come back from the original file.
Within one layer the two sidecars are merged and duplicates (same box, same or missing name) dropped.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from faceorganizer.xmp import rdf
from faceorganizer.xmp.model import MAX_REGIONS, TIFF_ORIENTATION, FaceRegion
from faceorganizer.xmp.orientation import fit, reorient
from faceorganizer.xmp.rdf import Packet
from faceorganizer.xmp.regions import PacketRegions, deduplicate, number, regions_in

log = logging.getLogger("faceorganizer.xmp")

#: Sidecars larger than this are not read: XMP sidecars are kilobytes; a 50 MB one is an attack or an error.
MAX_SIDECAR_BYTES = 8 * 1024 * 1024


def read_regions(image_path: str | os.PathLike[str]) -> list[FaceRegion]:
    """The face regions recorded for a photo, from its sidecars or else its embedded XMP.

    Boxes are returned in the upright image: rotated by the Exif orientation of the file, or, when the file
    has none, by a ``tiff:Orientation`` given in the sidecar (see :func:`sidecar_orientation`). Never
    raises on bad metadata: a malformed packet or a missing image is logged as one warning line and
    contributes no regions.
    """
    path = Path(image_path)
    image = ImageFacts.of(path)
    packets = sidecar_packets(path)
    sidecar_layer = [regions_in(p, str(path) + " (sidecar)") for p in packets]
    found: list[PacketRegions] = [r for r in sidecar_layer if r.has_regions]
    if not found and image.xmp is not None:
        packet = rdf.parse_packet(image.xmp, f"XMP embedded in {path}")
        found = [regions_in(packet, f"XMP embedded in {path}")] if packet is not None else []
    orientation = effective_orientation(image, packets)
    merged = deduplicate(region for layer in found for region in layer.regions)[:MAX_REGIONS]
    # Checked on the stored box: reorienting first would turn a negative width into a positive one.
    usable = [fit(r) for r in merged]
    return [reorient(r, orientation) for r in usable if r is not None]


def sidecar_paths(image_path: str | os.PathLike[str]) -> list[Path]:
    """Both sidecar names for a photo, the preferred one first: ``photo.jpg.xmp``, ``photo.xmp``."""
    path = Path(image_path)
    names = [path.with_name(path.name + ".xmp")]
    if path.suffix and path.suffix.lower() != ".xmp":
        names.append(path.with_suffix(".xmp"))
    return names


def sidecar_orientation(image_path: str | os.PathLike[str]) -> int | None:
    """The ``tiff:Orientation`` (1..8) a sidecar gives for the photo, None when none does.

    Raw developers (Lightroom, darktable, digiKam) record a rotation in the sidecar and leave the file as it
    is; the decoder applies it when the file itself carries no Exif orientation, and :func:`read_regions`
    rotates the regions by the same rule, so boxes and pixels agree.
    """
    return _orientation_in(sidecar_packets(Path(image_path)))


def effective_orientation(image: ImageFacts, packets: list[Packet]) -> int:
    """The file's Exif orientation; when it has none, the one its sidecar gives; else 1."""
    return image.orientation or _orientation_in(packets) or 1


def sidecar_packets(image_path: Path) -> list[Packet]:
    """The parsed packets of the photo's existing, readable sidecars, preferred name first."""
    return [p for p in (read_sidecar(s) for s in sidecar_paths(image_path) if s.is_file()) if p is not None]


def _orientation_in(packets: list[Packet]) -> int | None:
    for packet in packets:
        value = number(packet.properties().get(TIFF_ORIENTATION))
        if value is not None and value.is_integer() and 1 <= value <= 8:
            return int(value)
    return None


def read_sidecar(path: Path) -> Packet | None:
    """A sidecar's parsed packet; None (one warning line) when it is unreadable, too large or not XMP."""
    try:
        size = path.stat().st_size
        if size > MAX_SIDECAR_BYTES:
            log.warning("XMP: ignoring sidecar %s: %d bytes is more than the %d an XMP sidecar can need",
                        path, size, MAX_SIDECAR_BYTES)
            return None
        data = path.read_bytes()
    except OSError as e:
        log.warning("XMP: cannot read sidecar %s (%s)", path, e.strerror or e)
        return None
    return rdf.parse_packet(data, f"sidecar {path}")


@dataclass
class ImageFacts:
    """What the image file itself says: stored size, Exif orientation (None: no tag), embedded XMP."""

    size: tuple[int, int] | None = None
    orientation: int | None = None
    xmp: bytes | None = None
    format: str | None = None

    @classmethod
    def of(cls, path: Path) -> ImageFacts:
        if not path.is_file():
            log.warning("XMP: %s is not a file; reading sidecars only", path)
            return cls()
        try:
            # Opening reads the headers only; no pixels are decoded.
            with Image.open(path) as im:
                tag = im.getexif().get(0x0112)
                orientation = int(tag) if isinstance(tag, int) and 1 <= tag <= 8 else None
                xmp = im.info.get("xmp")
                if isinstance(xmp, str):
                    xmp = xmp.encode("utf-8")
                return cls(size=im.size, orientation=orientation, xmp=xmp or None, format=im.format)
        except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            log.warning("XMP: cannot read the headers of %s (%s); reading sidecars only", path, e)
            return cls()
