"""Decoding a photo file into an upright RGB array, with the facts the library keeps about it.

Every file the import meets comes through :func:`load_image`; what cannot be decoded raises
:class:`~faceorganizer.errors.ImageError` whose message is the reason recorded for the skipped photo.
``PermissionError`` and ``FileNotFoundError`` pass through unchanged (the import job words those itself).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from os import PathLike

import numpy as np
from PIL import Image, UnidentifiedImageError

from faceorganizer.errors import ImageError

#: Decoded pixels above this are refused before decoding (≈ 600 MB of RGB). Reduced-size JPEG decoding
#: (``draft_size``) counts the reduced size, so huge JPEGs can still be analysed at detection size.
DEFAULT_MAX_PIXELS = 200_000_000



def _register_heif() -> bool:
    """Let Pillow open HEIC/HEIF (phone photos) through pi-heif: the decode-only build of pillow-heif, which
    leaves out the GPL x265 encoder pillow-heif bundles. False when it is not installed (such files are then
    skipped as an unsupported format)."""
    try:
        from pi_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


#: Whether HEIC/HEIF files can be decoded here.
HEIF_SUPPORTED = _register_heif()

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED, _DATETIME = 0x9003, 0x9004, 0x0132
_ORIENTATION = 0x0112
_EXIF_TIME = re.compile(r"(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """An image decoded upright (EXIF orientation applied).

    ``rgb`` is H×W×3 uint8; ``width``/``height`` are the full-size upright dimensions, which differ from
    ``rgb``'s when a reduced-size decode was asked for: ``scale`` = rgb width / ``width`` (1.0 at full size).
    ``taken_at`` is the EXIF capture time as ``YYYY-MM-DD HH:MM:SS`` (SQLite's format) or None;
    ``orientation`` the EXIF orientation tag (1–8) or None when absent.
    """

    rgb: np.ndarray
    width: int
    height: int
    scale: float
    taken_at: str | None
    orientation: int | None


def load_image(path: str | PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS,
               draft_size: int | None = None) -> DecodedImage:
    """Decode ``path`` upright into RGB.

    With ``draft_size`` a JPEG is decoded at the smallest DCT scale (1/2, 1/4, 1/8) whose longest side is
    still at least ``draft_size`` — several times faster than a full decode; other formats decode at full
    size. Palette, grey, 16-bit, CMYK and alpha images become RGB (alpha over white); an animated GIF or
    WebP gives its first frame.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies below
            with Image.open(path) as im:
                return _decode(im, max_pixels, draft_size, path)
    except (PermissionError, FileNotFoundError, IsADirectoryError):
        raise
    except UnidentifiedImageError:
        raise ImageError("not an image (unknown or unsupported format)") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"image too large to decode safely ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # Pillow's decoders raise all of these
        text = str(exc)
        if "truncated" in text or isinstance(exc, EOFError):
            raise ImageError(f"truncated image file ({text or 'unexpected end of data'})") from None
        raise ImageError(f"cannot decode image ({text or type(exc).__name__})") from None


def _decode(im: Image.Image, max_pixels: int, draft_size: int | None, path: str | PathLike[str]) -> DecodedImage:
    exif = im.getexif()
    orientation = _orientation(exif) or _sidecar_orientation(path)
    full_w, full_h = im.size
    if orientation in (5, 6, 7, 8):
        full_w, full_h = full_h, full_w
    if draft_size and im.format == "JPEG" and max(im.size) > draft_size:
        f = draft_size / max(im.size)
        im.draft(im.mode, (math.ceil(im.size[0] * f), math.ceil(im.size[1] * f)))
    if im.size[0] * im.size[1] > max_pixels:
        raise ImageError(f"image too large: {im.size[0]}×{im.size[1]} pixels (limit {max_pixels:,})")
    im.load()  # decodes the first frame only, for animated GIF/WebP/PNG too
    rgb = _to_rgb(im)
    if orientation and orientation != 1:
        rgb = _orient(rgb, orientation)
    return DecodedImage(np.ascontiguousarray(rgb), full_w, full_h, rgb.shape[1] / full_w, _taken_at(exif),
                        orientation)


def _to_rgb(im: Image.Image) -> np.ndarray:
    """Any Pillow mode as H×W×3 uint8 RGB."""
    mode = im.mode
    if mode == "RGB":
        return np.asarray(im)
    if mode.startswith(("I", "F")):
        # 16/32-bit integer and float grey: Pillow's own conversion clips at 255 instead of scaling.
        grey = np.asarray(im).astype(np.float64)
        top = 65535.0 if grey.max(initial=0) > 255 else 255.0
        grey = np.clip(grey * (255.0 / top), 0, 255).round().astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(im.convert("RGB"))


def _orient(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (2–8) to an H×W×3 array: the result is how the photo is meant to be seen."""
    if orientation == 2:
        return rgb[:, ::-1]
    if orientation == 3:
        return rgb[::-1, ::-1]
    if orientation == 4:
        return rgb[::-1]
    if orientation == 5:
        return rgb.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(rgb, k=-1)  # the camera was turned clockwise: turn the pixels back
    if orientation == 7:
        return rgb[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:
        return np.rot90(rgb, k=1)
    return rgb


def _sidecar_orientation(path: str | PathLike[str]) -> int | None:
    """A ``tiff:Orientation`` that only the XMP sidecar gives (raw developers rotate there); the XMP reader
    rotates the sidecar's face regions by the same rule, so names land on the faces."""
    from faceorganizer.xmp import sidecar_orientation

    return sidecar_orientation(path)


def _orientation(exif: Image.Exif) -> int | None:
    value = exif.get(_ORIENTATION)
    try:
        value = int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return value if value is not None and 1 <= value <= 8 else None


def _taken_at(exif: Image.Exif) -> str | None:
    """The EXIF capture time (DateTimeOriginal, else DateTimeDigitized, else DateTime), or None."""
    try:
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:  # a malformed Exif IFD must not cost the photo; it only loses its date
        sub = {}
    for value in (sub.get(_DATETIME_ORIGINAL), sub.get(_DATETIME_DIGITIZED), exif.get(_DATETIME)):
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        match = _EXIF_TIME.match(str(value).strip()) if value else None
        if match:
            y, mo, d, h, mi, s = (int(g) for g in match.groups())
            if 1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 61 and y > 1800:
                return f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}"
    return None

