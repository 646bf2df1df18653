"""One root exception with named subclasses (see style.md: Anki's errors.py).

Library code raises these; the CLI prints ``str(error)`` (one clear line that names the fix) and the GUI
shows it in its one error dialog. A cancelled job is not an error and is never raised as one.
"""

from __future__ import annotations


class FaceOrganizerError(Exception):
    """Root of every error this package raises on purpose."""


class ModelMissingError(FaceOrganizerError):
    """A pretrained weight file is not installed (the message names `faceorganizer models install`)."""


class ModelCorruptError(FaceOrganizerError):
    """A weight file is present but its checksum does not match the pinned one."""


class ModelInstallError(FaceOrganizerError):
    """Fetching or converting weights failed (network, registry, or a bad package file)."""


class LibraryError(FaceOrganizerError):
    """The library folder or its database cannot be opened or is not a FaceOrganizer library."""


class NotFoundError(FaceOrganizerError):
    """A person, face or photo id that does not exist in the library."""


class InvalidEditError(FaceOrganizerError):
    """A user edit that cannot be applied (e.g. merging a person with itself, nothing to undo)."""


class ImageError(FaceOrganizerError):
    """An image that cannot be decoded; the message is the reason recorded for the skipped photo."""


class NoFaceError(FaceOrganizerError):
    """An image given as a query holds no detectable face."""


class FilterSyntaxError(FaceOrganizerError):
    """A ``--where`` filter expression that does not parse; the message points at the bad token."""


class SettingsError(FaceOrganizerError):
    """A settings value out of range or of the wrong type."""


class InvalidNameError(InvalidEditError):
    """A person's name that cannot be stored: empty, too long, or holding control characters (see names.py)."""


def explain_environment_error(exc: BaseException, folder: object = None) -> str | None:
    """One line naming the cause and the fix for a failure of the machine rather than of the program.

    Covers what SQLite and the OS report for a full disk, a read-only or unreadable library, a library
    another program holds locked, and a failing disk; ``folder`` (the library) is named in the message.
    Returns ``None`` for anything else (a bug: the caller logs its traceback).
    """
    import errno
    import sqlite3

    where = f" {folder}" if folder else ""
    text = str(exc).lower()
    full = f"disk full: free space on the disk holding{where or ' the library'} and run the command again"
    read_only = (f"the library{where} is read-only: make it writable (chmod -R u+w{where or ' LIBRARY'}) or copy "
                 "it to a writable folder and use --library")
    if isinstance(exc, sqlite3.IntegrityError) and "FOREIGN KEY" in str(exc):
        return ("a person or face id given does not exist (it may have been merged or deleted): check the ids "
                "with `faceorganizer people` or `faceorganizer faces`")
    if isinstance(exc, sqlite3.Error):
        if "disk is full" in text or "database or disk is full" in text:
            return full
        if "readonly" in text or "read-only" in text:
            return read_only
        if "unable to open database file" in text:
            if folder and _read_only(str(folder)):
                return read_only
            return (f"cannot open the library database in{where or ' the library'}: check that the folder exists, "
                    "is readable and writable (chmod -R u+rw), and that the disk is mounted")
        if "locked" in text or "busy" in text:
            return (f"the library{where} is busy: another FaceOrganizer (the app or an import) is writing to it; "
                    "wait for it to finish or close it, then run the command again")
        if "disk i/o error" in text:
            if folder and _nearly_full(str(folder)):  # SQLite reports a full disk in the WAL as an I/O error
                return full
            return (f"disk I/O error on the library{where}: the disk may be full, failing or unplugged; check it "
                    "(free space, `dmesg`) and run the command again")
        if "malformed" in text or "not a database" in text:
            return (f"the library database in{where or ' the library'} is damaged: restore library.db from a "
                    "backup (it was left untouched)")
        return None
    if isinstance(exc, OSError):
        name = f" ({exc.filename})" if exc.filename else ""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return full
        if exc.errno == errno.EROFS:
            return read_only
        if exc.errno in (errno.EACCES, errno.EPERM):
            return f"permission denied{name}: make it readable and writable for you (chmod u+rw) and run again"
        if exc.errno == errno.EIO:
            return f"disk I/O error{name}: the disk may be failing or unplugged; check it and run again"
        return None
    if isinstance(exc, ValueError) and "null byte" in text:
        return "a file or folder name contains a NUL character, which no file system allows: check the path"
    if isinstance(exc, RecursionError):
        return "the input is nested too deeply: simplify it (fewer nested parentheses or 'not's)"
    return None


def _nearly_full(folder: str) -> bool:
    """Whether the disk holding ``folder`` has less than 16 MB free."""
    import shutil

    try:
        return shutil.disk_usage(_existing(folder)).free < 16 << 20
    except OSError:
        return False


def _existing(folder: str) -> str:
    import os

    while folder and not os.path.exists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return folder


def _read_only(folder: str) -> bool:
    """Whether ``folder`` (or its nearest existing parent) is on a read-only disk or not writable for us."""
    import os

    folder = _existing(folder)
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY) or not os.access(folder, os.W_OK)
    except OSError:
        return False
