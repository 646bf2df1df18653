"""User edits from the GUI: run on the one edit thread, recorded on a ``QUndoStack`` over the core journal.

The core journal is the truth: an edit is pushed on the stack only after the Library applied (and journaled)
it, and the stack's undo/redo call ``Library.undo()`` / ``Library.redo()`` on the same edit thread, so the
order of edits, undos and redos is the order the user gave them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from faceorganizer.gui.errors import ErrorReporter
from faceorganizer.gui.workers import EditQueue


class _JournalCommand(QUndoCommand):
    """One journaled edit; its first redo is the edit itself, already applied."""

    def __init__(self, controller: EditController, text: str) -> None:
        super().__init__(text)
        self.controller = controller
        self.applied = True

    def redo(self) -> None:
        if self.applied:
            self.applied = False  # the push: the edit already ran
            return
        self.controller._journal("redo", self.text())

    def undo(self) -> None:
        self.controller._journal("undo", self.text())


def _people_named_by(method: str, args: tuple, result: Any) -> list[int]:
    """The people whose photos carry a changed name after ``library.<method>(*args)`` returned ``result``."""
    ids: list[Any] = []
    if method in ("rename", "merge"):
        ids = [result if isinstance(result, int) else args[0]]
    elif method == "move":
        ids = [args[1] if args[1] is not None else result]
    elif method == "split":
        ids = [args[0], result]
    elif method == "confirm":
        ids = [args[1]]
    return [int(i) for i in ids if isinstance(i, int)]


class EditController(QObject):
    """The only way widgets change the library. ``changed`` fires after every edit, undo and redo."""

    changed = Signal()
    applied = Signal(str, object)  # description, result (e.g. the id of a new person)
    names_changed = Signal(list)  # people whose name now stands on other photos (XMP sidecars follow)

    def __init__(self, library: Any, errors: ErrorReporter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.errors = errors
        self.queue = EditQueue(self)
        self.stack = QUndoStack(self)

    @property
    def busy(self) -> bool:
        return self.queue.busy

    def run(self, text: str, method: str, *args: Any, on_done: Callable[[Any], None] | None = None,
            undoable: bool = True) -> None:
        """Call ``library.<method>(*args)`` on the edit thread; on success push ``text`` on the undo stack."""
        fn = getattr(self.library, method)

        def done(result: Any) -> None:
            if undoable:
                self.stack.push(_JournalCommand(self, text))
            self.applied.emit(text, result)
            named = _people_named_by(method, args, result)
            if named:
                self.names_changed.emit(named)
            self.changed.emit()
            if on_done is not None:
                on_done(result)

        def failed(exc: BaseException) -> None:
            self.errors.show(exc, text[:1].upper() + text[1:])
            self.changed.emit()

        self.queue.submit(fn, *args, on_done=done, on_error=failed)

    def call(self, text: str, fn: Callable[..., Any], *args: Any,
             on_done: Callable[[Any], None] | None = None,
             on_error: Callable[[BaseException], None] | None = None) -> None:
        """Run a non-journaled write (e.g. re-grouping) on the edit thread, after the queued edits."""

        def done(result: Any) -> None:
            self.changed.emit()
            if on_done is not None:
                on_done(result)

        def failed(exc: BaseException) -> None:
            self.errors.show(exc, text)
            self.changed.emit()
            if on_error is not None:
                on_error(exc)

        self.queue.submit(fn, *args, on_done=done, on_error=failed)

    def _journal(self, which: str, text: str) -> None:
        fn = self.library.undo if which == "undo" else self.library.redo
        self.queue.submit(fn, on_done=lambda _entry: self.changed.emit(),
                          on_error=lambda exc: (self.errors.show(exc, f"{which.title()} {text}"),
                                                self.changed.emit()))

    # ------------------------------------------------------------------ the edits, in the user's words
    def rename(self, person_id: int, name: str) -> None:
        self.run(f"rename to {name or '(unnamed)'}", "rename", person_id, name)

    def merge(self, target_id: int, other_ids: list[int]) -> None:
        self.run(f"merge {len(other_ids) + 1} people", "merge", target_id, list(other_ids))

    def move(self, face_ids: list[int], person_id: int | None, new_name: str | None = None,
             on_done: Callable[[Any], None] | None = None) -> None:
        self.run(f"move {len(face_ids)} face(s)", "move", list(face_ids), person_id, new_name, on_done=on_done)

    def confirm(self, face_ids: list[int], person_id: int) -> None:
        self.run(f"confirm {len(face_ids)} face(s)", "confirm", list(face_ids), person_id)

    def reject(self, face_ids: list[int], person_id: int | None = None) -> None:
        self.run(f"not this person ({len(face_ids)} face(s))", "reject", list(face_ids), person_id)

    def split(self, person_id: int, part_b: list[int], new_name: str | None = None,
              on_done: Callable[[Any], None] | None = None) -> None:
        self.run("split person", "split", person_id, list(part_b), new_name, on_done=on_done)

    def hide(self, person_id: int, hidden: bool = True) -> None:
        self.run("hide person" if hidden else "show person", "hide", person_id, hidden)

    def set_cover(self, person_id: int, face_id: int) -> None:
        self.run("set cover", "set_cover", person_id, face_id)

    def not_face(self, face_ids: list[int]) -> None:
        n = len(face_ids)
        self.run(f"not a face ({n} face{'s' if n != 1 else ''})", "not_face", list(face_ids))

    def create_person(self, name: str, on_done: Callable[[Any], None] | None = None) -> None:
        self.run(f"create {name}", "create_person", name, on_done=on_done)

    def shutdown(self) -> None:
        self.queue.stop()
