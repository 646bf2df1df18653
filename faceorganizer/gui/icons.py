"""Icons from ``resources/``: the app icon and line icons tinted with the palette (light and dark themes).

Line icons are SVGs drawn in ``currentColor``; each is rendered at the sizes a toolbar and menu need, at the
screen's device pixel ratio, in the palette's text colour. A missing file gives an empty icon, never an error.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer


def resources_dir() -> Path:
    """``resources/`` beside the package (source checkout) or inside it (installed/frozen builds)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "resources", here.parents[1] / "resources"):
        if candidate.is_dir():
            return candidate
    return here.parents[1] / "resources"


def app_icon() -> QIcon:
    icon = QIcon()
    root = resources_dir()
    svg = root / "faceorganizer.svg"
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        png = root / "png" / f"faceorganizer-{size}.png"
        if png.is_file():
            icon.addFile(str(png))
    if svg.is_file():
        icon.addFile(str(svg))
    return icon


def _render(svg: bytes, size: int, dpr: float) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg))
    pm = QPixmap(int(size * dpr), int(size * dpr))
    pm.setDevicePixelRatio(dpr)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    renderer.render(p, QRectF(0, 0, size, size))
    p.end()
    return pm


@lru_cache(maxsize=128)
def _icon(name: str, color: str, dpr: float) -> QIcon:
    path = resources_dir() / "icons" / f"{name}.svg"
    icon = QIcon()
    if not path.is_file():
        return icon
    text = path.read_text(encoding="utf-8").replace("currentColor", color).encode()
    disabled = path.read_text(encoding="utf-8").replace("currentColor", "#8a8a8a").encode()
    for size in (16, 20, 24, 32):
        icon.addPixmap(_render(text, size, dpr), QIcon.Mode.Normal)
        icon.addPixmap(_render(disabled, size, dpr), QIcon.Mode.Disabled)
    return icon


def icon(name: str) -> QIcon:
    """A line icon in the current palette's text colour."""
    app = QGuiApplication.instance()
    color = app.palette().color(QPalette.ColorRole.WindowText).name() if app else "#333333"
    screen = QGuiApplication.primaryScreen() if app else None
    dpr = max(1.0, screen.devicePixelRatio()) if screen else 1.0
    return _icon(name, color, max(dpr, 2.0))


def clear_cache() -> None:
    """After a palette change (light ↔ dark) the icons are re-tinted on next use."""
    _icon.cache_clear()
