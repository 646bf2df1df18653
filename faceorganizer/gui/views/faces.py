"""A grid of faces (a person's, the unsorted ones, a filter's) with the face actions in its context menu."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QCompleter, QDialog, QDialogButtonBox, QLabel, QMenu,
                               QVBoxLayout, QWidget)

from faceorganizer.gui.models import FacesModel
from faceorganizer.gui.session import Session
from faceorganizer.gui.views.grid import GridView
from faceorganizer.library import FaceScope


#: Del is "not this person" (the face stays, unsorted); Shift+Del removes a false detection for good, as
#: Shift+Del deletes for good where Del only moves to the bin in file managers and digiKam.
NOT_A_FACE_KEY = "Shift+Del"


def choose_person(parent: QWidget, session: Session, title: str = "Move to person") -> tuple[int | None, str] | None:
    """Ask for a person: an existing name (→ its id) or a new name (→ ``(None, name)``); ``None`` if cancelled."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    layout = QVBoxLayout(dialog)
    layout.addWidget(QLabel("Pick a person (named or an unnamed group), or type a new name"))
    combo = QComboBox(dialog)
    combo.setObjectName("person-choice")
    combo.setEditable(True)
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    people = [(pid, label) for pid, label, _n in session.reader.move_targets()]
    for pid, label, n in session.reader.move_targets():
        combo.addItem(f"{label} ({n} face{'s' if n != 1 else ''})", pid)
    combo.setCurrentIndex(-1)
    combo.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
    combo.completer().setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    layout.addWidget(combo)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    if choose_person_answer is not None:  # tests
        combo.setCurrentIndex(combo.findData(choose_person_answer) if isinstance(choose_person_answer, int) else -1)
        if isinstance(choose_person_answer, str):
            combo.setEditText(choose_person_answer)
    elif dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    if combo.currentIndex() >= 0 and combo.currentText() == combo.itemText(combo.currentIndex()):
        pid = combo.currentData()
        return pid, dict(people)[pid]
    text = combo.currentText().strip()
    if not text:
        return None
    for pid, name in people:
        if name.lower() == text.lower():
            return pid, name
    return None, text


#: Tests pick a person id (or type a name) here instead of answering the dialog.
choose_person_answer: int | str | None = None


class FaceGrid(QWidget):
    """Faces matching a query; drag them onto a person, or use the context menu / keys."""

    selection_changed = Signal(list)

    def __init__(self, session: Session, parent: QWidget | None = None, *, thumb_size: int = 112,
                 person_id: int | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.person_id = person_id
        self.model = FacesModel(session.reader, session.thumbs, thumb_size=thumb_size, parent=self)
        self.model.show_person = person_id is None
        self.model.page_runner = lambda name, fn, done: session.start(name, fn, on_done=done, context=name)
        self.view = GridView(thumb_size, self)
        self.view.setModel(self.model)
        self.view.setDragEnabled(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.view.context_requested.connect(self.show_menu)
        self.view.opened.connect(self._open)
        self.view.selectionModel().selectionChanged.connect(
            lambda *_: self.selection_changed.emit(self.view.selected_ids()))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self._add_shortcuts()

    def _add_shortcuts(self) -> None:
        reject = QAction("Not this person", self)
        reject.setShortcuts([QKeySequence(Qt.Key.Key_Delete), QKeySequence(Qt.Key.Key_Backspace)])
        reject.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        reject.triggered.connect(lambda: self.reject(self.view.selected_ids()))
        not_face = QAction("Not a face", self)
        not_face.setShortcut(QKeySequence(NOT_A_FACE_KEY))
        not_face.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        not_face.triggered.connect(lambda: self.not_face(self.view.selected_ids()))
        find = QAction("Find this person", self)
        find.setShortcut(QKeySequence("Ctrl+F"))
        find.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.triggered.connect(self._find_current)
        self.addActions([reject, not_face, find])

    def set_scope(self, scope: FaceScope) -> None:
        self.model.set_scope(scope)

    def refresh(self) -> None:
        with self.view.keep_position():
            self.model.refresh()

    def _open(self, face_id: int) -> None:
        card = self.model.card_by_id(face_id)
        if card is not None:
            self.session.nav.open_photo.emit(card.photo_id, face_id)

    def _find_current(self) -> None:
        fid = self.view.current_id()
        if fid is not None:
            self.session.nav.find_face.emit(fid)

    def reject(self, face_ids: list[int]) -> None:
        cards = [self.model.card_by_id(f) for f in face_ids]
        ids = [c.id for c in cards if c is not None and c.person_id is not None]
        if ids:
            self.session.edits.reject(ids, self.person_id)

    def not_face(self, face_ids: list[int]) -> None:
        if face_ids:
            self.session.edits.not_face(face_ids)

    def show_menu(self, face_ids: list[int], pos: QPoint) -> None:
        menu = self.build_menu(face_ids)
        menu.exec(pos)

    def build_menu(self, face_ids: list[int]) -> QMenu:
        """The face context menu (also used by the search results and the photo viewer)."""
        return face_menu(self, self.session, face_ids, person_id=self.person_id)


def face_menu(parent: QWidget, session: Session, face_ids: list[int], *, person_id: int | None = None) -> QMenu:
    menu = QMenu(parent)
    cards = session.reader.face_cards(face_ids)
    first = cards.get(face_ids[0]) if face_ids else None
    edits = session.edits
    if first is not None and len(face_ids) == 1:
        menu.addAction("Find this person", lambda: session.nav.find_face.emit(first.id)).setShortcut("Ctrl+F")
        menu.addAction("Open photo", lambda: session.nav.open_photo.emit(first.photo_id, first.id))
        if first.person_id is not None:
            menu.addAction(f"Open {first.person_label}", lambda: session.nav.open_person.emit(first.person_id))
        menu.addSeparator()
    assigned = [c for c in cards.values() if c.person_id is not None]
    if assigned:
        pid = person_id if person_id is not None else None
        act = menu.addAction("Not this person", lambda: edits.reject([c.id for c in assigned], pid))
        act.setShortcut(QKeySequence(Qt.Key.Key_Delete))
        act.setToolTip("Remove the faces from their person; they will never be grouped with them again")
        auto = [c for c in assigned if c.origin != "confirmed"]
        if auto and len({c.person_id for c in auto}) == 1:
            menu.addAction("Yes, this is " + auto[0].person_label,
                           lambda: edits.confirm([c.id for c in auto], auto[0].person_id))
    n = len(face_ids)
    act = menu.addAction("Not a face", lambda: edits.not_face(list(face_ids)))
    act.setShortcut(QKeySequence(NOT_A_FACE_KEY))
    act.setToolTip(f"Remove {'this detection' if n == 1 else f'these {n} detections'}: a pattern or shadow, not "
                   "a face. It will not come back when the photo is scanned again (Ctrl+Z undoes it).")
    menu.setToolTipsVisible(True)
    menu.addSeparator()
    menu.addAction("Move to person…", lambda: _move(parent, session, face_ids))
    menu.addAction("New person from these faces…", lambda: _new_person(parent, session, face_ids))
    if first is not None and len(face_ids) == 1 and first.person_id is not None:
        menu.addAction("Use as cover", lambda: edits.set_cover(first.person_id, first.id))
    return menu


def _move(parent: QWidget, session: Session, face_ids: list[int]) -> None:
    choice = choose_person(parent, session)
    if choice is not None:
        pid, name = choice
        session.edits.move(face_ids, pid, None if pid is not None else name)


def _new_person(parent: QWidget, session: Session, face_ids: list[int]) -> None:
    from PySide6.QtWidgets import QInputDialog

    name, ok = QInputDialog.getText(parent, "New person", "Name (may be left empty):")
    if ok:
        session.edits.move(face_ids, None, name.strip() or None)
