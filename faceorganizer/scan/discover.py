"""Walking import folders: which files are photos, which are unsupported, and which cannot be read.

The walk never raises for a bad entry: unreadable folders, broken symlinks, symlink loops and files that vanish
mid-scan come out as entries with an ``error``, so the import can record the reason and go on.

File names that are not valid UTF-8 (possible on Linux) cannot be stored as SQLite TEXT as they are, so
:func:`path_to_text` stores them as a marker plus the hex of their bytes; :func:`text_to_path` reverses it
exactly and :func:`display_path` shows a readable form.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# The stored-path helpers live in faceorganizer.paths (the GUI and the store use them without importing scan);
# re-exported here for the scan's own callers.
from faceorganizer.paths import display_path, path_to_text, text_to_path  # noqa: F401

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff",
                              ".heic", ".heif", ".avif"})
RAW_EXTENSIONS = frozenset({".cr2", ".cr3", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".orf", ".rw2",
                            ".raf", ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".erf", ".kdc", ".mrw"})

@dataclass(frozen=True)
class FileEntry:
    """One file found under an import root."""

    path: str  # real path as the OS gives it (may hold surrogate escapes)
    root: str
    size: int = 0
    mtime: float = 0.0
    kind: str = "image"  # image | raw | error
    error: str | None = None


def kind_of(name: str) -> str | None:
    ext = os.path.splitext(name)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in RAW_EXTENSIONS:
        return "raw"
    return None


def walk(root: str, *, follow_symlinks: bool = True, seen_dirs: set[tuple[int, int]] | None = None,
         seen_links: set[str] | None = None) -> Iterator[FileEntry]:
    """Every photo-like file below ``root`` (sorted per folder, so scans are repeatable), by real path.

    ``seen_dirs`` (device, inode) and ``seen_links`` (real paths of symlinked files) may be shared by the walks
    of several roots, so that a folder or file reached twice is listed once.
    """
    seen_dirs = set() if seen_dirs is None else seen_dirs
    seen_links = set() if seen_links is None else seen_links
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                continue  # a symlink loop, or a folder reached twice through links
            seen_dirs.add(key)
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except PermissionError:
            yield FileEntry(folder, root, kind="error", error="folder not readable (permission denied)")
            continue
        except FileNotFoundError:
            continue  # vanished while scanning
        except OSError as exc:
            yield FileEntry(folder, root, kind="error", error=f"folder not readable ({exc.strerror})")
            continue
        subdirs = []
        # Files are named by their real path (a folder or file reached through a symlink is one photo, however
        # it is reached); one realpath per folder, one more per symlinked file.
        real_folder = os.path.realpath(folder)
        for entry in entries:
            if entry.name.startswith("."):
                continue  # hidden files and our own sidecar caches
            try:
                is_link = entry.is_symlink()
                if entry.is_dir(follow_symlinks=follow_symlinks):
                    subdirs.append(entry.path)
                    continue
                kind = kind_of(entry.name)
                if kind is None:
                    continue
                try:
                    st = entry.stat(follow_symlinks=True)
                except FileNotFoundError:
                    if is_link:
                        yield FileEntry(entry.path, root, kind="error", error="broken symbolic link")
                    continue  # vanished mid-scan: nothing to record
                except OSError as exc:
                    if exc.errno == 40:  # ELOOP
                        yield FileEntry(entry.path, root, kind="error", error="symbolic link loop")
                    else:
                        yield FileEntry(entry.path, root, kind="error", error=f"cannot read ({exc.strerror})")
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                real = os.path.realpath(entry.path) if is_link else os.path.join(real_folder, entry.name)
                if is_link:
                    if real in seen_links:
                        continue
                    seen_links.add(real)
                yield FileEntry(real, root, st.st_size, st.st_mtime, kind)
            except OSError as exc:
                yield FileEntry(entry.path, root, kind="error", error=f"cannot read ({exc.strerror})")
        stack.extend(reversed(subdirs))


def walk_many(roots: Iterable[str]) -> Iterator[FileEntry]:
    """Every photo-like file below ``roots``, by real path; a folder reached from two roots is listed once."""
    seen_dirs: set[tuple[int, int]] = set()
    seen_links: set[str] = set()
    for root in roots:
        if os.path.isfile(root):
            st = os.stat(root)
            kind = kind_of(root) or "image"
            real = os.path.realpath(root)
            if real not in seen_links:
                seen_links.add(real)
                yield FileEntry(real, str(Path(root).parent), st.st_size, st.st_mtime, kind)
        else:
            yield from walk(root, seen_dirs=seen_dirs, seen_links=seen_links)


def root_is_reachable(root: str) -> bool:
    """Whether an import root can be listed now (an unplugged drive or offline share cannot)."""
    try:
        with os.scandir(root) as it:
            next(it, None)
        return True
    except OSError:
        return False
