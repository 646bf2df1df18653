"""The one place the GUI shows failures: a single non-blocking dialog with the message and the details.

Errors of the package (:class:`~faceorganizer.errors.FaceOrganizerError`) are shown by their message, which
names the fix; anything else is an unexpected error shown with its traceback. Errors arriving while the dialog
is open are appended to it instead of stacking dialogs. Every error is also logged.
"""

from __future__ import annotations

import logging
import sys
import traceback
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from faceorganizer.errors import FaceOrganizerError

log = logging.getLogger("faceorganizer.gui")


@dataclass(frozen=True)
class Reported:
    """One error as shown to the user (kept for tests and the Help ▸ Last errors view)."""

    context: str
    message: str
    details: str
    expected: bool


def describe(exc: BaseException) -> tuple[str, str, bool]:
    """(one-line message, full details, whether it is an expected error of the package)."""
    expected = isinstance(exc, FaceOrganizerError)
    message = str(exc) or type(exc).__name__
    if not expected:
        message = f"{type(exc).__name__}: {message}"
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return message, details, expected


class ErrorReporter(QObject):
    """Shows every failure in one dialog. ``reported`` carries each :class:`Reported` (tests listen to it)."""

    reported = Signal(object)

    def __init__(self, parent_widget: QWidget | None = None) -> None:
        super().__init__(parent_widget)
        self._parent = parent_widget
        self._box: QMessageBox | None = None
        self.history: list[Reported] = []
        self.interactive = True  # tests switch dialogs off and read ``history``

    def show(self, exc: BaseException, context: str = "") -> None:
        message, details, expected = describe(exc)
        if expected:
            log.warning("%s%s", f"{context}: " if context else "", message)
        else:
            log.error("%s%s\n%s", f"{context}: " if context else "", message, details)
        item = Reported(context, message, details, expected)
        self.history.append(item)
        self.reported.emit(item)
        if not self.interactive:
            return
        text = f"{context} failed" if context else "Something went wrong"
        info = message if expected else f"{message}\n\nThis is a bug; the details below help to report it."
        if self._box is not None and self._box.isVisible():
            self._box.setInformativeText(self._box.informativeText() + "\n\n" + info)
            self._box.setDetailedText((self._box.detailedText() or "") + "\n" + details)
            return
        box = QMessageBox(QMessageBox.Icon.Warning if expected else QMessageBox.Icon.Critical,
                          "FaceOrganizer", text, QMessageBox.StandardButton.Close, self._parent)
        box.setInformativeText(info)
        box.setDetailedText(details)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._closed)
        self._box = box
        box.open()

    def _closed(self) -> None:
        self._box = None

    def handler(self, context: str):
        """A callback ``f(exception)`` that reports under ``context`` (for worker ``failed`` signals)."""
        return lambda exc: self.show(exc, context)

    def install_excepthook(self) -> None:
        """Route exceptions escaping Qt slots to the dialog instead of only the console."""
        previous = sys.excepthook

        def hook(kind, value, tb):  # noqa: ANN001
            if issubclass(kind, KeyboardInterrupt):
                previous(kind, value, tb)
                return
            if value is not None and value.__traceback__ is None:
                value = value.with_traceback(tb)
            self.show(value)

        sys.excepthook = hook
