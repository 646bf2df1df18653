"""The status bar's job area: what runs, how far (photos done/total, rate, ETA), and a Cancel button."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from faceorganizer.gui.workers import Job


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def describe_progress(title: str, tick: Any) -> tuple[str, int, int]:
    """(text, done, total) for a progress tick; total 0 means "busy, no count"."""
    stage = getattr(tick, "stage", "")
    done = int(getattr(tick, "photos_done", 0) or 0)
    total = int(getattr(tick, "photos_total", 0) or 0)
    if stage == "discovering":
        return f"{title}: looking for photos…", 0, 0
    if total:
        parts = [f"{title}: {done:,}/{total:,} photos"]
        faces = getattr(tick, "faces_found", None)
        if faces:
            parts.append(f"{faces:,} faces")
        rate = getattr(tick, "rate", 0.0) or 0.0
        if rate:
            parts.append(f"{rate:.1f} photos/s")
        eta = format_eta(getattr(tick, "eta", None))
        if eta and done < total:
            parts.append(f"ETA {eta}")
        return " · ".join(parts), done, total
    return f"{title}…", 0, 0


class JobStatus(QWidget):
    """Shows the tracked job's progress; hidden when nothing runs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(False)
        self.cancel = QToolButton(self)
        self.cancel.setText("Cancel")
        self.cancel.setToolTip("Stop the running job (Esc in the status bar); work done so far is kept")
        self.cancel.clicked.connect(self._cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel)
        self.job: Job | None = None
        self.title = ""
        self.hide()

    def track(self, job: Job, title: str) -> None:
        self.job = job
        self.title = title
        self.label.setText(f"{title}…")
        self.bar.setRange(0, 0)
        self.cancel.setEnabled(True)
        self.show()
        job.progress.connect(self.update_tick)
        job.ended.connect(self._ended)

    def update_tick(self, tick: Any) -> None:
        text, done, total = describe_progress(self.title, tick)
        self.label.setText(text)
        if total:
            self.bar.setRange(0, total)
            self.bar.setValue(done)
        else:
            self.bar.setRange(0, 0)

    def _cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel.setEnabled(False)
            self.label.setText(f"{self.title}: stopping…")

    def _ended(self) -> None:
        self.job = None
        self.hide()
