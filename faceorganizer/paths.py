"""Where things live on disk: per-user data, config and log dirs (platformdirs), and the default library.

Environment overrides (used by tests, CI and portable installs):
``FACEORGANIZER_DATA_DIR``, ``FACEORGANIZER_CONFIG_DIR``, ``FACEORGANIZER_LOG_DIR`` and
``FACEORGANIZER_MODELS_DIR`` (weights shared by all libraries).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "FaceOrganizer"


def _env_dir(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser() if value else Path(default)


def data_dir() -> Path:
    """Per-user data directory (models and the default library live below it)."""
    return _env_dir("FACEORGANIZER_DATA_DIR", platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """Per-user config directory holding ``settings.json``."""
    return _env_dir("FACEORGANIZER_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    """Per-user log directory holding the rotating ``faceorganizer.log``."""
    return _env_dir("FACEORGANIZER_LOG_DIR", platformdirs.user_log_dir(APP_NAME, appauthor=False))


def models_dir() -> Path:
    """Installed weight files, shared by every library of this user."""
    value = os.environ.get("FACEORGANIZER_MODELS_DIR")
    return Path(value).expanduser() if value else data_dir() / "models"


def default_library_dir() -> Path:
    """The library opened when none is named."""
    return data_dir() / "Library"


def require_regular_file(path: str | os.PathLike[str], what: str = "photo") -> Path:
    """``path`` when it names a regular file, else a one-line :class:`~faceorganizer.errors.FaceOrganizerError`.

    Checked before anything opens the file: a folder, a missing file or a named pipe (opening a FIFO blocks
    until a writer appears, forever on the command line) is refused with the cause and the fix.
    """
    import stat

    from faceorganizer.errors import ImageError, NotFoundError

    p = Path(path).expanduser()
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {p} (check the path)") from None
    except OSError as exc:
        raise ImageError(f"cannot read {p}: {exc.strerror or exc} (check the path and its permissions)") from None
    if stat.S_ISDIR(mode):
        raise ImageError(f"{p} is a folder, not a {what}: give one {what} file (to add a folder, use `import`)")
    if not stat.S_ISREG(mode):
        raise ImageError(f"{p} is not a regular file (a pipe or device?): give a {what} file")
    return p


def ensure_cache_dir(path: Path) -> Path:
    """Create the library's ``cache`` folder; a file in its place is a one-line error naming the fix.

    The file is never deleted or moved: it may be the user's. Thumbnails and the search index are rebuilt
    from the database once the folder can be created.
    """
    from faceorganizer.errors import LibraryError

    if path.exists() and not path.is_dir():
        raise LibraryError(f"{path} is a file, but FaceOrganizer keeps thumbnails and the search index in a folder "
                           "of that name: move or delete the file and run again")
    path.mkdir(exist_ok=True)
    return path


# ----------------------------------------------------------------------------------------------- stored paths
# Paths as the library stores them. A file name that is not valid UTF-8 (possible on Linux) is stored as a
# marked hex string so SQLite can hold it; these three functions are the only place that knows the format.
_RAW_MARK = "\ufffe"  # a Unicode noncharacter: never part of a real file name


def path_to_text(path: str | os.PathLike[str]) -> str:
    """A string that SQLite can store for any file path, reversible with :func:`text_to_path`."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _RAW_MARK + os.fsencode(text).hex()


def text_to_path(text: str) -> str:
    """The real file-system path of a stored string."""
    if text.startswith(_RAW_MARK):
        return os.fsdecode(bytes.fromhex(text[1:]))
    return text


def display_path(text: str) -> str:
    """A readable form of a stored path (undecodable bytes shown as U+FFFD)."""
    if text.startswith(_RAW_MARK):
        return bytes.fromhex(text[1:]).decode("utf-8", "replace")
    return text
