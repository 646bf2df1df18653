"""Region boxes between the stored pixels (what XMP describes) and the upright image (what we show).

The MWG guidelines say regions apply to the image as stored and that applying the Exif Orientation must
rotate the regions too; :class:`~faceorganizer.xmp.model.FaceRegion` is in upright coordinates (what
``PIL.ImageOps.exif_transpose`` gives). This module also decides which boxes are usable at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

from faceorganizer.xmp.model import FaceRegion

# Exif orientation -> where a stored normalised point (u, v) lands in the upright image.
_UPRIGHT_POINT: dict[int, Callable[[float, float], tuple[float, float]]] = {
    1: lambda u, v: (u, v),
    2: lambda u, v: (1 - u, v),  # mirrored left-right
    3: lambda u, v: (1 - u, 1 - v),  # rotated 180
    4: lambda u, v: (u, 1 - v),  # mirrored top-bottom
    5: lambda u, v: (v, u),  # transposed
    6: lambda u, v: (1 - v, u),  # shown rotated 90 clockwise
    7: lambda u, v: (1 - v, 1 - u),  # transversed
    8: lambda u, v: (v, 1 - u),  # shown rotated 90 counter-clockwise
}
#: The transform that undoes each one: all are their own inverse but the two quarter turns.
INVERSE_ORIENTATION = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}
#: Rounding slack on the 0..1 limits (writers print 6-8 decimals).
_EPS = 1e-6
#: The smallest side a face box may have (normalised). Below it the numbers are not a face (a 1e-227 width
#: is a number, not a region), they do not survive the writer's 8 decimals, and turning the box with the photo
#: cancels them to 0 (1 − y − h = 1.0).
MIN_SIDE = 1e-6
#: A box may overhang the image edge (detectors box a face cut by the frame), but at least this share of its
#: area must lie inside; otherwise the numbers are not a face on this photo.
_MIN_INSIDE = 0.5


def reorient(region: FaceRegion, orientation: int) -> FaceRegion:
    """The region as seen after applying Exif ``orientation`` (1..8; anything else counts as 1)."""
    point = _UPRIGHT_POINT.get(orientation, _UPRIGHT_POINT[1])
    x0, y0 = point(region.x, region.y)
    x1, y1 = point(region.x + region.w, region.y + region.h)
    return replace(region, x=min(x0, x1), y=min(y0, y1), w=abs(x1 - x0), h=abs(y1 - y0))


def fit(region: FaceRegion) -> FaceRegion | None:
    """A read region made safe to use, or None when its numbers cannot be a face on this image.

    Refused (issue: a w = h = 8 region became a full-frame face when clipped): a width or height outside
    [MIN_SIDE, 1], and a box with less than half of its area inside the image. A small overhang is clipped off.
    """
    values = (region.x, region.y, region.w, region.h)
    if not all(math.isfinite(v) for v in values):
        return None
    if not (MIN_SIDE <= region.w <= 1 + _EPS and MIN_SIDE <= region.h <= 1 + _EPS):
        return None
    x0, y0 = max(0.0, region.x), max(0.0, region.y)
    x1, y1 = min(1.0, region.x + region.w), min(1.0, region.y + region.h)
    if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE or (x1 - x0) * (y1 - y0) < _MIN_INSIDE * region.w * region.h:
        return None
    if (x0, y0, x1 - x0, y1 - y0) == values:
        return region
    return replace(region, x=x0, y=y0, w=x1 - x0, h=y1 - y0)


def checked(region: FaceRegion) -> FaceRegion:
    """A region to write: raises ValueError unless it is a box inside the image (normalised 0..1)."""
    values = (region.x, region.y, region.w, region.h)
    if not all(math.isfinite(v) for v in values) or region.w < MIN_SIDE or region.h < MIN_SIDE:
        raise ValueError(f"not a face box: {region!r}")
    if region.x < -_EPS or region.y < -_EPS or region.x + region.w > 1 + _EPS or region.y + region.h > 1 + _EPS:
        raise ValueError(f"face box outside the image (coordinates are normalised 0..1): {region!r}")
    return region
