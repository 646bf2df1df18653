"""Importing: the job in a worker with progress and cancel, then the skipped files and offline folders."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from faceorganizer.gui.session import Session
from faceorganizer.gui.views.status import JobStatus, format_eta
from faceorganizer.gui.workers import RUNTIMES_READY, Job
from faceorganizer.library import display_path


GROUP_EVERY_MS = 4000


class ImportController(QObject):
    """Runs one import at a time; paths added while one runs are imported right after it.

    ``finished(progress)`` carries the final tick (also when cancelled); ``failed`` goes to the error dialog.
    """

    started = Signal()
    finished = Signal(object)
    reembedded = Signal(object)

    def __init__(self, session: Session, status: JobStatus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.status = status
        self.job: Job | None = None
        self.queued: list[str] = []
        self.reembed_queued = False
        self.last: Any = None
        # People appear while the import runs (as in Apple Photos and Immich), not only at its end: every few
        # seconds the faces found so far are grouped on the edit thread, and once more after a cancel.
        self.grouping = False
        self._faces_grouped = 0
        self._faces_found = 0
        self.group_timer = QTimer(self)
        self.group_timer.setInterval(GROUP_EVERY_MS)
        self.group_timer.timeout.connect(self.group_now)

    @property
    def running(self) -> bool:
        return self.job is not None

    def import_paths(self, paths: Sequence[str | os.PathLike]) -> Job | None:
        """Import folders and/or photos (the File ▸ Add folder… and drag-and-drop path)."""
        paths = [os.path.abspath(os.fspath(p)) for p in paths]
        if not paths:
            return None
        if self.job is not None:  # an import or a re-embedding: this import follows it
            self.queued += [p for p in paths if p not in self.queued]
            self.session.nav.status.emit(f"Queued {len(paths)} more to import after this one")
            return self.job
        library = self.session.library

        def run(cancel):
            RUNTIMES_READY.wait(120)  # the app loads them behind its first window
            return library.import_job(paths, cancel=cancel).run()

        job = self.session.start("Import", run, context="Import", interval=0.1)
        self.job = job
        self.status.track(job, "Importing")
        job.finished.connect(self._done)
        job.cancelled.connect(self._done)
        job.cancelled.connect(lambda _p: self.group_now(force=True))
        job.progress.connect(self._tick)
        self._faces_grouped = self._faces_found = 0
        self.group_timer.start()
        job.ended.connect(self._ended)
        self.started.emit()
        return job

    def reembed_if_needed(self) -> Job | None:
        """Re-embed faces made under other settings (flip fusion, an older model) in the background, before
        any import queued meanwhile: grouping and search compare faces of one model only."""
        if self.session.closed:  # the window closed before its first event-loop turn (the check is queued)
            return None
        if self.job is not None:
            self.reembed_queued = True
            return self.job
        library = self.session.library
        # One COUNT on the window's read connection: the library's own connection and lock may be busy.
        stale = self.session.reader.faces_to_reembed(library.embedding_model_id)
        if not stale:
            return None

        def run(cancel):
            RUNTIMES_READY.wait(120)
            progress = None
            for progress in library.reembed_job(cancel=cancel):
                pass
            return progress

        job = self.session.start("Re-embed", run, context="Re-embedding faces", interval=0.1)
        self.job = job
        self.status.track(job, f"Re-embedding {stale:,} faces")
        job.finished.connect(self._reembedded)
        job.ended.connect(self._ended)
        self.started.emit()
        return job

    def _reembedded(self, progress: Any) -> None:
        if progress is not None and progress.stage == "done":
            self.session.nav.status.emit(f"Re-embedded {progress.faces_done:,} faces; people regrouped "
                                         "(names and edits kept)")
        self.reembedded.emit(progress)

    def cancel(self) -> None:
        self.queued.clear()
        self.reembed_queued = False
        if self.job is not None:
            self.job.cancel()

    def _done(self, progress: Any) -> None:
        self.last = progress
        stage = getattr(progress, "stage", "done")
        if progress is not None:
            msg = (f"Import {'cancelled' if stage == 'cancelled' else 'finished'}: "
                   f"{progress.photos_added:,} new, {progress.photos_updated:,} updated, "
                   f"{progress.photos_skipped:,} skipped, {progress.faces_found:,} faces "
                   f"in {format_eta(progress.elapsed)}")
            if getattr(progress, "copies_found", 0):  # identical copies: another location of a photo, not a photo
                msg += f"; {progress.copies_found:,} copies of photos already in the library"
            self.session.nav.status.emit(msg)
        self.finished.emit(progress)

    def _tick(self, progress: Any) -> None:
        self._faces_found = int(getattr(progress, "faces_found", 0) or 0)

    def group_now(self, *, force: bool = False) -> None:
        """Group the faces found so far into people (on the edit thread; one grouping at a time)."""
        if self.grouping or (not force and self._faces_found <= self._faces_grouped):
            return
        self.grouping = True
        self._faces_grouped = self._faces_found
        library = self.session.library

        def done(_result: Any = None) -> None:
            self.grouping = False

        self.session.edits.call("Grouping new faces", library.group_new_faces, on_done=done, on_error=done)

    def _ended(self) -> None:
        self.group_timer.stop()
        self.job = None
        if self.reembed_queued:
            self.reembed_queued = False
            if self.reembed_if_needed() is not None:
                return  # the queued imports follow the re-embedding
        if self.queued:
            paths, self.queued = self.queued, []
            self.import_paths(paths)


class SkippedDialog(QDialog):
    """Files not imported (with the reason) and folders that could not be reached."""

    def __init__(self, skipped: list[dict[str, str]], offline: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import report")
        self.resize(760, 420)
        layout = QVBoxLayout(self)
        summary = []
        if skipped:
            summary.append(f"{len(skipped)} file(s) were not imported.")
        if offline:
            summary.append(f"{len(offline)} folder(s) could not be reached; their photos are kept and marked "
                           "offline until the folder is back (plug the drive in and add the folder again).")
        label = QLabel(" ".join(summary) or "Every file was imported.", self)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(["File or folder", "Reason"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        for folder in offline:
            QTreeWidgetItem(self.tree, [display_path(folder), "folder offline (cannot be reached)"])
        for s in skipped:
            item = QTreeWidgetItem(self.tree, [display_path(s["path"]), s.get("reason") or s.get("status", "")])
            item.setToolTip(0, display_path(s["path"]))
            item.setToolTip(1, s.get("reason", ""))
        layout.addWidget(self.tree, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    @property
    def rows(self) -> list[tuple[str, str]]:
        return [(self.tree.topLevelItem(i).text(0), self.tree.topLevelItem(i).text(1))
                for i in range(self.tree.topLevelItemCount())]
