"""What every view is constructed with: the open Library and the GUI services around it.

A :class:`Session` is created by the main window for one library and handed to each view's constructor
(never reached through a global). ``nav`` carries navigation requests ("open this person") from any view
to the main window, which decides where they go.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from faceorganizer.gui.edits import EditController
from faceorganizer.gui.errors import ErrorReporter
from faceorganizer.gui.thumbnails import ThumbnailLoader
from faceorganizer.gui.workers import Job, start_job
from faceorganizer.library import Library, PhotoScope


class Navigator(QObject):
    """Requests any view may make; the main window fulfils them."""

    open_person = Signal(int)
    open_photo = Signal(int, int)  # photo id, face id to highlight (0: none)
    find_face = Signal(int)  # "Find this person" from a library face
    show_faces = Signal(str)  # a face filter expression to show in the unsorted/all faces page
    status = Signal(str)  # a short message for the status bar


class Session(QObject):
    """The library plus reader, thumbnails, edit controller, error reporter and navigation of one window."""

    def __init__(self, library: Library, errors: ErrorReporter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.errors = errors
        self.reader = library.reader()
        self.thumbs = ThumbnailLoader(library.db_path, library.cache_dir, parent=self)
        self.edits = EditController(library, errors, self)
        self.nav = Navigator(self)
        self.jobs: list[Job] = []
        self.closed = False
        self.edits.names_changed.connect(self.write_names)

    def write_names(self, person_ids: list[int]) -> Job | None:
        """Settings ▸ "Write names to .xmp sidecar files": after a rename, merge or move, write the names of
        those people's photos to XMP in a worker (never on the GUI thread)."""
        if not self.library.settings.write_xmp or not person_ids:
            return None
        library = self.library

        def write(_cancel: threading.Event) -> int:
            with library.reader() as reader:
                photos = sorted({p for pid in person_ids for p in reader.photo_ids(PhotoScope(person_id=pid))})
            return library.write_xmp(photos) if photos else 0

        return self.start("Writing XMP sidecars", write, context="Writing names to XMP sidecars")

    def start(self, name: str, fn: Callable[[threading.Event], Any], *,
              on_done: Callable[[Any], None] | None = None, context: str | None = None,
              interval: float = 0.1) -> Job:
        """Run ``fn(cancel)`` in a worker thread; failures go to the error dialog under ``context``."""
        job = start_job(name, fn, interval=interval, parent=self)
        self.jobs.append(job)
        if on_done is not None:
            job.finished.connect(on_done)
        job.failed.connect(self.errors.handler(context or name))
        job.ended.connect(lambda: self.jobs.remove(job) if job in self.jobs else None)
        return job

    @property
    def idle(self) -> bool:
        """No job, edit or thumbnail decode in flight (tests wait for this)."""
        return not self.jobs and not self.edits.busy and self.thumbs.idle

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for job in list(self.jobs):
            job.cancel()
        for job in list(self.jobs):
            job.wait()
        self.edits.shutdown()
        self.thumbs.shutdown()
        self.reader.close()
