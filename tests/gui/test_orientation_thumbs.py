"""Thumbnails and the viewer turn a photo as the analysis did: EXIF, or the XMP sidecar's orientation when the
file has none (issue 15 item 28: the analysis already did; the picture must agree with its face boxes)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from faceorganizer.gui.thumbnails import ThumbnailLoader, _read_image
from faceorganizer.library import Library
from faceorganizer.xmp import sidecar_paths

SIDECAR = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           '<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/">'
           '<tiff:Orientation>{}</tiff:Orientation></rdf:Description></rdf:RDF></x:xmpmeta>')


def _pixels(image) -> np.ndarray:  # noqa: ANN001 - a QImage
    from PySide6.QtGui import QImage

    q = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(q.constBits(), np.uint8).reshape(q.height(), q.bytesPerLine())
    return rows[:, : q.width() * 3].reshape(q.height(), q.width(), 3).copy()  # q's buffer dies with q


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_given_orientation_turns_the_picture_as_exif_would(orientation: int) -> None:
    picture = Image.fromarray((np.random.default_rng(orientation).random((30, 50, 3)) * 255).astype(np.uint8))
    tagged, plain = io.BytesIO(), io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = orientation
    picture.save(tagged, "PNG", exif=exif)
    picture.save(plain, "PNG")
    want = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(tagged.getvalue()))).convert("RGB"))
    assert np.array_equal(_pixels(_read_image(plain.getvalue(), None, orientation)), want)
    # A file with its own EXIF orientation is turned once, by the file's tag, whatever the stored value says.
    assert np.array_equal(_pixels(_read_image(tagged.getvalue(), None, orientation)), want)


def test_sideways_photo_with_sidecar_orientation_shows_upright(qtbot, shared_faces: Path, tmp_path: Path) -> None:  # noqa: ANN001
    source = sorted((shared_faces / "identities" / "obama").glob("*.jpg"))[0]
    folder = tmp_path / "photos"
    folder.mkdir()
    target = folder / "turned.jpg"
    with Image.open(source) as im:
        upright = ImageOps.exif_transpose(im).convert("RGB")
    upright.transpose(Image.Transpose.ROTATE_90).save(target, "JPEG", quality=92)  # stored turned left, no EXIF
    sidecar_paths(target)[0].write_text(SIDECAR.format(6), encoding="utf-8")
    with Library.open(tmp_path / "lib") as lib:
        for _ in lib.import_job([str(folder)]).run():
            pass
        photo_id, width, height = lib.db.execute("SELECT id, width, height FROM photos").fetchone()
        assert (width, height) == upright.size  # the analysis turned it
        loader = ThumbnailLoader(lib.db_path, lib.cache_dir)
        try:
            with lib.reader() as conn:
                full = loader._decode(conn, f"full:{photo_id}")
                thumb = loader._decode(conn, f"photo:{photo_id}")
        finally:
            loader.shutdown()
    assert full is not None and (full.width(), full.height()) == upright.size
    assert thumb is not None and (thumb.width() > thumb.height()) == (upright.width > upright.height)
    # Upright pixels, not only the upright size: the viewer's picture matches the analysed one.
    small = np.asarray(upright.resize((full.width() // 8, full.height() // 8)), np.float32)
    shown = np.asarray(Image.fromarray(_pixels(full)).resize(small.shape[1::-1]), np.float32)
    assert np.abs(shown - small).mean() < 12
