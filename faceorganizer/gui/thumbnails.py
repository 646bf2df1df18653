"""Thumbnails: decoded to ``QImage`` in a small thread pool, turned into ``QPixmap`` on the GUI thread.

Keys name what to draw: ``face:<id>`` (the stored 150-px face chip), ``photo:<id>`` (a photo thumbnail, cached
on disk under ``<library>/cache/thumbs``), ``full:<id>`` (a photo for the viewer, at most ``FULL_SIZE`` px) and
``file:<path>`` (an external photo). Requests are served newest first and the queue is bounded, so while a
grid scrolls fast the faces that scrolled past are dropped instead of delaying the visible ones. Finished
images are converted to pixmaps in time-budgeted batches on the GUI thread and announced with
``pixmaps_ready(keys)``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import queue
import threading
import time
import weakref
from collections import OrderedDict, deque
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QRunnable, QSize, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QImageIOHandler, QImageReader, QPainter, QPixmap, QTransform

from faceorganizer.library import LibraryReader, register_photo_formats, text_to_path

register_photo_formats()  # HEIC/HEIF thumbnails through Pillow

log = logging.getLogger("faceorganizer.gui")

THUMB_SIZE = 256
FULL_SIZE = 2560
LINGER_S = 0.3
MAX_PENDING = 400
PIXMAP_CACHE = 2500
BUDGET_MS = 8  # GUI time spent converting images per batch


def _read_image(data: bytes, max_side: int | None, orientation: int | None = None) -> QImage:
    """Decode image bytes (EXIF orientation applied), scaled down during decoding when the format allows.

    ``orientation`` is the one the analysis applied (EXIF, or the XMP sidecar's ``tiff:Orientation`` when the
    file has none): used when the file itself carries no orientation, so the picture and its face boxes agree.
    """
    buf = QBuffer()
    buf.setData(QByteArray(data))
    buf.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buf)
    reader.setAutoTransform(True)
    size = reader.size()
    if max_side and size.isValid() and max(size.width(), size.height()) > max_side:
        scale = max_side / max(size.width(), size.height())
        reader.setScaledSize(QSize(max(1, round(size.width() * scale)), max(1, round(size.height() * scale))))
    image = reader.read()
    file_oriented = reader.transformation() != QImageIOHandler.Transformation.TransformationNone
    if image.isNull():
        image, file_oriented = _read_with_pillow(data, max_side)
    if not file_oriented and orientation and orientation != 1:
        image = _orient(image, orientation)
    return image


def _orient(image: QImage, orientation: int) -> QImage:
    """Turn an image stored as EXIF ``orientation`` says upright (2–8; the same rule as the pipeline's decode)."""
    mirror = orientation in (2, 4, 5, 7)
    angle = {3: 180, 4: 180, 5: 90, 6: 90, 7: 270, 8: 270}.get(orientation, 0)
    if angle:
        image = image.transformed(QTransform().rotate(angle))
    return image.flipped(Qt.Orientation.Horizontal) if mirror else image


def _read_with_pillow(data: bytes, max_side: int | None) -> tuple[QImage, bool]:
    """Formats Qt cannot read (e.g. 16-bit PNG, CMYK variants) decoded with Pillow; (image, whether the file's
    own EXIF orientation was applied)."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as im:
        file_oriented = im.getexif().get(0x0112, 1) not in (None, 1)
        if max_side:
            im.draft("RGB", (max_side, max_side))
        im = ImageOps.exif_transpose(im).convert("RGB")
        if max_side:
            im.thumbnail((max_side, max_side))
        raw = im.tobytes()
        return QImage(raw, im.width, im.height, im.width * 3, QImage.Format.Format_RGB888).copy(), file_oriented


class _Drain(QRunnable):
    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self.loader = loader

    def run(self) -> None:  # noqa: D102 - runs in a pool thread
        self.loader._drain()


class ThumbnailLoader(QObject):
    """Decodes thumbnails off the GUI thread and keeps the most recent pixmaps."""

    pixmaps_ready = Signal(list)  # keys whose pixmap is now available
    _decoded = Signal(str, QImage)
    _broken = Signal(str, str)

    def __init__(self, db_path: os.PathLike | str, cache_dir: os.PathLike | str, *, threads: int = 2,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db_path = str(db_path)
        self.thumb_dir = Path(cache_dir) / "thumbs"
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # a lingering drain waits on it for new requests
        self._pending: deque[str] = deque()
        self._queued: set[str] = set()
        self._running = 0
        self._kick_scheduled = False
        self._closing = False
        self._connections: queue.SimpleQueue[LibraryReader] = queue.SimpleQueue()
        self._all_connections: list[LibraryReader] = []
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._incoming: OrderedDict[str, QImage] = OrderedDict()
        self.broken: dict[str, str] = {}
        self._convert = QTimer(self)
        self._convert.setSingleShot(True)
        self._convert.setInterval(15)
        self._convert.timeout.connect(self._convert_batch)
        self._decoded.connect(self._on_decoded, Qt.ConnectionType.QueuedConnection)
        self._broken.connect(self._on_broken, Qt.ConnectionType.QueuedConnection)
        _LOADERS.add(self)

    # ------------------------------------------------------------------ GUI side
    def pixmap(self, key: str, *, request: bool = True) -> QPixmap | None:
        """The pixmap for ``key`` if decoded, else ``None`` (and the decode is queued)."""
        pm = self._pixmaps.get(key)
        if pm is not None:
            self._pixmaps.move_to_end(key)
            return pm
        if request and key not in self.broken and key not in self._incoming:
            self.request(key)
        return None

    def request(self, key: str) -> None:
        with self._lock:
            if self._closing or key in self._queued:
                return
            self._queued.add(key)
            self._pending.append(key)
            while len(self._pending) > MAX_PENDING:  # the oldest requests scrolled out of view long ago
                self._queued.discard(self._pending.popleft())
            self._wake.notify()
        # A paint requests dozens of tiles: wake the pool once after it, not once per tile (QThreadPool.start
        # costs ~0.17 ms on the GUI thread, and drains started mid-paint compete with it for the GIL).
        if not self._kick_scheduled:
            self._kick_scheduled = True
            QTimer.singleShot(0, self, self._kick)

    def _kick(self) -> None:
        self._kick_scheduled = False
        with self._lock:
            start = 0 if self._closing else min(self.pool.maxThreadCount() - self._running, len(self._pending))
            start = max(0, start)
            self._running += start
        for _ in range(start):
            self.pool.start(_Drain(self))

    def forget(self, prefix: str = "") -> None:
        """Drop cached pixmaps (all, or those whose key starts with ``prefix``), e.g. after a re-import."""
        for key in [k for k in self._pixmaps if k.startswith(prefix)]:
            del self._pixmaps[key]
        for key in [k for k in self.broken if k.startswith(prefix)]:
            del self.broken[key]

    def _on_decoded(self, key: str, image: QImage) -> None:
        with self._lock:
            self._queued.discard(key)
        self._incoming[key] = image
        if not self._convert.isActive():
            self._convert.start()

    def _on_broken(self, key: str, reason: str) -> None:
        with self._lock:
            self._queued.discard(key)
        self.broken[key] = reason
        self.pixmaps_ready.emit([key])

    def _convert_batch(self) -> None:
        t0 = time.perf_counter()
        done: list[str] = []
        while self._incoming and (time.perf_counter() - t0) * 1000 < BUDGET_MS:
            key, image = self._incoming.popitem(last=False)
            self._pixmaps[key] = QPixmap.fromImage(image)
            done.append(key)
        while len(self._pixmaps) > PIXMAP_CACHE:
            self._pixmaps.popitem(last=False)
        if self._incoming:
            self._convert.start()
        if done:
            self.pixmaps_ready.emit(done)

    @property
    def idle(self) -> bool:
        """Nothing queued, decoding or waiting for conversion (a drain lingering for work counts as idle)."""
        with self._lock:
            return not self._pending and not self._queued and not self._incoming

    def shutdown(self) -> None:
        """Drop queued work, wait for the pool, close the worker connections."""
        with self._lock:
            self._closing = True
            self._pending.clear()
            self._queued.clear()
            self._wake.notify_all()  # lingering drains leave now
        self.pool.waitForDone()
        _LOADERS.discard(self)
        for conn in self._all_connections:
            conn.close()
        self._all_connections.clear()

    # ------------------------------------------------------------------ worker side
    def _connection(self) -> LibraryReader:
        try:
            return self._connections.get_nowait()
        except queue.Empty:
            conn = LibraryReader(self.db_path, readonly=True)
            with self._lock:
                self._all_connections.append(conn)
            return conn

    def _drain(self) -> None:
        conn = self._connection()
        try:
            while True:
                with self._lock:
                    if not self._closing and not self._pending:
                        # Linger a moment for the next paint's requests: starting a pool thread costs the GUI
                        # thread ~1 ms, and a scroll asks for tiles every frame.
                        self._wake.wait(LINGER_S)
                    if self._closing or not self._pending:
                        self._running -= 1
                        return
                    key = self._pending.pop()  # newest first: what is on screen now
                try:
                    image = self._decode(conn, key)
                except Exception as exc:  # a broken file shows a "broken" tile; the reason is logged
                    log.info("thumbnail %s failed: %s", key, exc)
                    image, reason = None, str(exc) or type(exc).__name__
                else:
                    reason = "cannot decode" if image is None or image.isNull() else ""
                with self._lock:
                    closing = self._closing
                    if closing:
                        self._queued.discard(key)
                if closing:
                    continue
                # Stays in _queued until the GUI thread receives it, so idle() never misses an image in flight.
                if reason:
                    self._broken.emit(key, reason)
                else:
                    self._decoded.emit(key, image)
        finally:
            self._connections.put(conn)

    def _decode(self, conn: LibraryReader, key: str) -> QImage | None:
        kind, _, ref = key.partition(":")
        if kind == "face":
            chip = conn.face_chip(int(ref))
            if chip is None:
                return None
            if chip[0]:
                image = QImage.fromData(chip[0])
                if not image.isNull():
                    return image
            return self._crop(text_to_path(chip[1]), chip[2], chip[3])
        if kind in ("photo", "full"):
            row = conn.photo_file(int(ref))
            if row is None:
                return None
            path = text_to_path(row[0])
            if kind == "full":
                return _read_image(Path(path).read_bytes(), FULL_SIZE, row[2])
            return self._photo_thumb(path, row[1], row[2])
        if kind == "file":
            return _read_image(Path(ref).read_bytes(), FULL_SIZE)
        raise ValueError(f"unknown thumbnail key {key!r}")

    def _photo_thumb(self, path: str, mtime: float | None, orientation: int | None = None) -> QImage:
        key = f"{path}|{mtime}|{THUMB_SIZE}" + (f"|o{orientation}" if orientation and orientation != 1 else "")
        name = hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()[:24]
        cached = self.thumb_dir / name[:2] / f"{name}.jpg"
        if cached.is_file():
            image = QImage(str(cached))
            if not image.isNull():
                return image
        image = _read_image(Path(path).read_bytes(), THUMB_SIZE, orientation)
        if not image.isNull():
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(".tmp.jpg")
                if image.save(str(tmp), "JPG", 85):
                    os.replace(tmp, cached)
            except OSError as exc:  # a read-only cache only costs speed
                log.info("cannot cache thumbnail %s: %s", cached, exc)
        return image

    @staticmethod
    def _crop(path: str, box: tuple, orientation: int | None = None) -> QImage:
        image = _read_image(Path(path).read_bytes(), None, orientation)
        x, y, w, h = box
        pad = 0.25 * max(w, h)
        return image.copy(int(x - pad), int(y - pad), int(w + 2 * pad), int(h + 2 * pad)).scaled(
            150, 150, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


_LOADERS: weakref.WeakSet = weakref.WeakSet()


def busy_pools() -> list[ThumbnailLoader]:
    """Loaders whose pool still has threads working (tests assert none is left after each test)."""
    import shiboken6

    return [loader for loader in list(_LOADERS)
            if shiboken6.isValid(loader.pool) and loader.pool.activeThreadCount()]


_placeholders: dict[tuple, QPixmap] = {}


def placeholder(size: int, color: QColor, *, broken: bool = False, dpr: float = 1.0) -> QPixmap:
    """A neutral tile drawn while a thumbnail decodes (a crossed tile when it cannot be decoded)."""
    key = (size, color.rgba(), broken, dpr)
    pm = _placeholders.get(key)
    if pm is None:
        pm = QPixmap(int(size * dpr), int(size * dpr))
        pm.setDevicePixelRatio(dpr)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        p.drawRoundedRect(0, 0, size, size, 8, 8)
        mark = QColor(color)
        mark = mark.lighter(130) if mark.lightness() < 128 else mark.darker(115)
        p.setBrush(mark)
        if broken:
            p.setPen(mark)
            p.drawLine(size // 4, size // 4, 3 * size // 4, 3 * size // 4)
            p.drawLine(3 * size // 4, size // 4, size // 4, 3 * size // 4)
        else:
            p.drawEllipse(size * 0.35, size * 0.22, size * 0.3, size * 0.3)
            p.drawRoundedRect(size * 0.22, size * 0.58, size * 0.56, size * 0.3, size * 0.12, size * 0.12)
        p.end()
        _placeholders[key] = pm
    return pm
