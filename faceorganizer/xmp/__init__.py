"""Face regions in XMP: read the names and boxes other tools wrote, write ours back for them.

Formats
-------
* **MWG regions** (Metadata Working Group, *Guidelines for Handling Image Metadata* 2.0, §5.9):
  ``mwg-rs:Regions/mwg-rs:RegionList`` items with ``mwg-rs:Type`` ``Face``, ``mwg-rs:Name`` and an
  ``mwg-rs:Area`` whose ``stArea:x``/``stArea:y`` are the box *centre*, normalised 0..1. digiKam, Lightroom,
  Picasa, Apple Photos and Mylio write these. They take precedence over Microsoft regions in the same packet.
* **Microsoft Photo regions** (Windows Live Photo Gallery): ``MP:RegionInfo/MPRI:Regions`` items with an
  ``MPReg:Rectangle`` ``"x, y, w, h"`` (top-left corner, normalised) and ``MPReg:PersonDisplayName``.

Both describe the *stored* pixels; :class:`FaceRegion` is in the upright image (:mod:`.orientation`).

Modules
-------
=================  ==================================================================================
:mod:`.model`      FaceRegion, XmpWriteError, namespaces, limits (MAX_REGIONS)
:mod:`.rdf`        parsing any packet safely (any encoding, no DTD, depth cap) and the escaping writer
:mod:`.regions`    MWG/Microsoft regions in one packet, our mark, de-duplication
:mod:`.orientation` stored <-> upright boxes, which boxes are usable
:mod:`.reader`     read_regions, sidecar names, sidecar tiff:Orientation
:mod:`.writer`     write_regions, remove_app_regions, atomic replace and stale-temp sweep
:mod:`.jpeg`       splicing the XMP segment of a JPEG, every other byte kept
=================  ==================================================================================

Library choice
--------------
* ``pyexiv2`` 2.16.0 (wheels bundle exiv2 0.28.8) works here: ``read_raw_xmp``/``modify_raw_xmp`` round-trip
  and keep JPEG scan data. But it is GPLv3 and bundles GPLv2+ exiv2, so shipping it in the MIT-licensed
  PyInstaller build would put the whole installer under the GPL; ``exiv2`` (python-exiv2) is GPL as well. Its
  structured ``modify_xmp`` also cannot build XMP structs or bags (every array becomes a Seq), so the region
  XML would have been ours to build either way, and its warnings go to stdout from C++.
* ``python-xmp-toolkit`` 2.1.0 is pure Python over ctypes and needs the system ``libexempi``, which no wheel
  provides: not installable with pip alone.
* So: the standard library's ElementTree for RDF/XML (:mod:`.rdf`), Pillow (already a dependency) to find
  the embedded packet and the orientation in JPEG, PNG, WebP and TIFF, and a small JPEG segment splicer for
  writing (:mod:`.jpeg`). No new dependency.
"""

from __future__ import annotations

from faceorganizer.xmp.model import MAX_REGIONS, FaceRegion, XmpWriteError
from faceorganizer.xmp.reader import read_regions, sidecar_orientation, sidecar_paths
from faceorganizer.xmp.writer import remove_app_regions, sweep_stale_temps, write_regions

__all__ = [
    "MAX_REGIONS",
    "FaceRegion",
    "XmpWriteError",
    "read_regions",
    "remove_app_regions",
    "sidecar_orientation",
    "sidecar_paths",
    "sweep_stale_temps",
    "write_regions",
]
