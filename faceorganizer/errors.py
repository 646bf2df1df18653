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
