"""Box geometry shared by the detector, the importer and the XMP code (one home for IoU and box mapping).

Two box forms appear in the core: ``(x, y, w, h)`` (top-left corner and size; the store, the importer and
XMP regions) and ``(x1, y1, x2, y2)`` (corners; the detector's NMS). Pure functions, no dependencies.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "Box",
    "box_iou",
    "corners_iou",
    "normalised_to_pixels",
    "pixels_to_normalised",
]

#: A box as (x, y, w, h): top-left corner and size, in pixels or normalised 0..1.
Box = tuple[float, float, float, float]


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes; 0.0 when the union is empty."""
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def corners_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes; 0.0 when the union is empty."""
    return box_iou((a[0], a[1], a[2] - a[0], a[3] - a[1]), (b[0], b[1], b[2] - b[0], b[3] - b[1]))


def normalised_to_pixels(box: Sequence[float], width: float, height: float) -> Box:
    """A normalised (x, y, w, h) box in pixels of a ``width`` x ``height`` image."""
    return box[0] * width, box[1] * height, box[2] * width, box[3] * height


def pixels_to_normalised(box: Sequence[float], width: float, height: float) -> Box:
    """A pixel (x, y, w, h) box normalised to 0..1 and clipped to the image (no part outside it)."""
    x, y = max(0.0, box[0] / width), max(0.0, box[1] / height)
    return x, y, max(0.0, min(box[2] / width, 1.0 - x)), max(0.0, min(box[3] / height, 1.0 - y))
