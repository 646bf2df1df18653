"""Before Qt starts on X11: name the system libraries its xcb plugin lacks, instead of Qt's generic
"could not load the Qt platform plugin xcb" abort (which names none of them).

Qt ≥ 6.5's X11 plugin links libraries minimal Debian/Ubuntu installs lack. ``installer/setup.sh`` installs
them; this check covers a machine set up another way.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

#: What libqxcb.so (Qt 6.5+) needs beyond a base system, by soname.
XCB_LIBRARIES = (
    "libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-image.so.0", "libxcb-keysyms.so.1", "libxcb-randr.so.0",
    "libxcb-render-util.so.0", "libxcb-shape.so.0", "libxcb-xinerama.so.0", "libxcb-xkb.so.1",
    "libxkbcommon-x11.so.0", "libxkbcommon.so.0", "libEGL.so.1", "libfontconfig.so.1", "libdbus-1.so.3",
)


def _loadable(soname: str) -> str | None:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return None
    return soname


def _xcb_plugin() -> Path | None:
    try:
        import PySide6
    except ImportError:
        return None
    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def missing_libraries(find: Callable[[str], str | None] | None = None) -> list[str]:
    """Sonames the X11 plugin cannot load. With ``find`` (soname → path or None) the known list is checked
    through it; otherwise ``ldd`` of the plugin says, or, without ldd, each known library is loaded."""
    if find is None:
        plugin = _xcb_plugin()
        if plugin is not None and shutil.which("ldd"):
            out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=30).stdout
            return sorted({m for m in re.findall(r"^\s*(\S+) => not found", out, re.MULTILINE)})
        find = _loadable
    return [name for name in XCB_LIBRARIES if find(name) is None]


def package_of(soname: str) -> str:
    """The Debian/Ubuntu package of a library (named after its soname: libxcb-icccm.so.4 → libxcb-icccm4)."""
    base, _, version = soname.partition(".so")
    version = version.lstrip(".").split(".")[0]
    name = base.lower()
    return f"{name}-{version}" if name[-1:].isdigit() else f"{name}{version}"


def message(missing: list[str]) -> str:
    """One paragraph naming the missing libraries and the command that installs them."""
    packages = " ".join(sorted({package_of(m) for m in missing}))
    return (f"FaceOrganizer cannot open a window: Qt's X11 support needs system libraries that are missing "
            f"({', '.join(missing)}). Install them with: sudo apt-get install {packages} "
            "(or run installer/setup.sh as root), then start the app again.")


def check_display() -> str | None:
    """The reason the app cannot open a window on this machine, or None when it can (or cannot tell)."""
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return None  # offscreen, wayland, vnc: not the X11 plugin
    if not os.environ.get("DISPLAY"):
        if os.environ.get("WAYLAND_DISPLAY"):
            return None
        return ("FaceOrganizer cannot open a window: no display (DISPLAY is not set). Start it from a desktop "
                "session, or use the headless commands (faceorganizer --help).")
    missing = missing_libraries()
    return message(missing) if missing else None
