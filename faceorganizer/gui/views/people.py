"""The people grid: covers, names (rename in place), counts; merge, split, hide, review, re-group."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QMenu,
                               QSlider,
                               QToolButton, QVBoxLayout, QWidget)

from faceorganizer.gui import core
from faceorganizer.gui.models import PeopleModel
from faceorganizer.gui.session import Session
from faceorganizer.gui.views.flow import FlowLayout
from faceorganizer.gui.views.grid import GridView
from faceorganizer.gui.views.rename import rename_person
from faceorganizer.library import FaceFilter

SORTS = [("count", "Most faces"), ("name", "Name"), ("recent", "Recently seen")]


class PeoplePage(QWidget):
    """Every person as a tile. Drop faces on a tile to move them; drop a tile on another to merge."""

    review_requested = Signal(int)
    split_requested = Signal(int)
    regrouped = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model = PeopleModel(session.reader, session.thumbs, thumb_size=128, parent=self)
        self.model.runner = lambda name, fn, done: session.start(name, fn, on_done=done, context=name)
        self._keep = None
        self.model.applying.connect(self._keep_start)
        self.model.applied.connect(self._keep_end)
        self.model.rename_requested.connect(lambda pid, name: rename_person(self, session, pid, name))
        self.model.merge_requested.connect(session.edits.merge)
        self.model.move_requested.connect(lambda faces, pid: session.edits.move(faces, pid))

        self.view = GridView(128, self)
        self.view.setModel(self.model)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                                  | QAbstractItemView.EditTrigger.SelectedClicked)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.view.setDragEnabled(True)
        self.view.setAcceptDrops(True)
        self.view.setDropIndicatorShown(True)
        self.view.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.view.opened.connect(session.nav.open_person)
        self.view.context_requested.connect(self.show_menu)
        self.view.setToolTip("")

        bar = FlowLayout()  # wraps on a narrow (or 150 %-scaled) screen
        bar.setContentsMargins(8, 6, 8, 0)
        self.sort = QComboBox(self)
        for key, label in SORTS:
            self.sort.addItem(label, key)
        self.sort.setToolTip("Order of the people")
        self.sort.currentIndexChanged.connect(self._sort_changed)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search people")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Show only the people whose name contains this text (Ctrl+Shift+P)")
        self.search.setMaximumWidth(220)
        self.search.textChanged.connect(self._search_changed)
        self.hidden = QCheckBox("Show hidden", self)
        self.hidden.setToolTip("Also show people you hid")
        self.hidden.toggled.connect(self._hidden_changed)
        self.merge_button = self._button("Merge", "Merge the selected people into one (Ctrl+M)", self.merge_selected)
        self.review_button = self._button("Is this…?", "Review faces that are probably this person (Ctrl+R)",
                                          self._review_current)
        self.split_button = self._button("Split…", "Split the selected person in two", self._split_current)
        self.granularity = QSlider(Qt.Orientation.Horizontal, self)
        self.granularity.setRange(30, 90)
        self.granularity.setValue(int(round(session.library.settings.cluster_threshold * 100)))
        self.granularity.setMinimumWidth(90)
        self.granularity.setMaximumWidth(160)
        self.granularity.setToolTip("Grouping of unnamed faces: left keeps more, smaller groups; right merges "
                                    "more faces into fewer people. Names and confirmed faces never move.")
        self.granularity_label = QLabel(self)
        self.granularity_label.hide()  # a distance: the app shows one similarity scale, and only in search
        self.granularity.valueChanged.connect(self._granularity_moved)
        self._regroup_timer = QTimer(self)
        self._regroup_timer.setSingleShot(True)
        self._regroup_timer.setInterval(300)
        self._regroup_timer.timeout.connect(self._regroup)
        self._regrouping = False
        self._regroup_again = False
        self._granularity_moved(self.granularity.value(), run=False)
        bar.addWidget(self.search)
        bar.addWidget(QLabel("Sort:", self))
        bar.addWidget(self.sort)
        bar.addWidget(self.hidden)
        bar.addWidget(self.merge_button)
        bar.addWidget(self.split_button)
        bar.addWidget(self.review_button)
        grouping = QWidget(self)  # one piece, so that the row wraps around it and not inside it
        row = QHBoxLayout(grouping)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Grouping: separate", grouping))
        row.addWidget(self.granularity)
        row.addWidget(QLabel("together", grouping))
        row.addWidget(self.granularity_label)
        bar.addWidget(grouping)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        self._update_buttons()
        # Ctrl+M, Ctrl+R and Ctrl+H are the main window's actions (Edit and People menus): a second action with
        # the same keys here made Qt drop both ("Ambiguous shortcut overload").

    def _button(self, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setToolTip(tip)
        b.setAutoRaise(False)
        b.clicked.connect(slot)
        return b

    def _update_buttons(self) -> None:
        n = len(self.view.selected_ids())
        self.merge_button.setEnabled(n >= 2)
        self.split_button.setEnabled(n == 1)
        self.review_button.setEnabled(n == 1)

    # ------------------------------------------------------------------ data
    def refresh(self) -> None:
        self.model.refresh()  # may apply later, in the background: see _keep_start/_keep_end

    def _keep_start(self) -> None:
        self._keep = self.view.keep_position()
        self._keep.__enter__()

    def _keep_end(self) -> None:
        keep, self._keep = self._keep, None
        if keep is not None:
            keep.__exit__(None, None, None)
        self._update_buttons()

    def set_face_filter(self, face_filter: FaceFilter | None, match: str = "any") -> None:
        self.model.face_filter = face_filter if face_filter is not None and face_filter.active else None
        self.model.match = match
        self.refresh()

    def _sort_changed(self) -> None:
        self.model.sort = self.sort.currentData()
        self.model.set_ids([])
        self.refresh()

    def _search_changed(self, text: str) -> None:
        self.model.set_name_filter(text)

    def _hidden_changed(self, on: bool) -> None:
        self.model.include_hidden = on
        self.refresh()

    # ------------------------------------------------------------------ actions
    def rename_selected(self) -> None:
        ix = self.view.currentIndex()
        if ix.isValid():
            self.view.edit(ix)

    def merge_selected(self) -> None:
        ids = self.view.selected_ids()
        if len(ids) < 2:
            return
        cards = [self.model.card_by_id(i) for i in ids]
        # The named person with most faces stays; the others merge into it.
        target = max((c for c in cards if c), key=lambda c: (c.name is not None, c.face_count)).id
        self.session.edits.merge(target, [i for i in ids if i != target])

    def hide_selected(self) -> None:
        for pid in self.view.selected_ids():
            card = self.model.card_by_id(pid)
            self.session.edits.hide(pid, not (card and card.hidden))

    def _review_current(self) -> None:
        pid = self.view.current_id()
        if pid is not None:
            self.review_requested.emit(pid)

    def _split_current(self) -> None:
        pid = self.view.current_id()
        if pid is not None:
            self.split_requested.emit(pid)

    def show_menu(self, ids: list[int], pos: QPoint) -> None:
        menu = QMenu(self)
        first = self.model.card_by_id(ids[0])
        if len(ids) == 1 and first is not None:
            menu.addAction("Open", lambda: self.session.nav.open_person.emit(first.id))
            menu.addAction("Rename", self.rename_selected).setShortcut(QKeySequence(Qt.Key.Key_F2))
            menu.addAction("Is this " + first.label + "? Review…", lambda: self.review_requested.emit(first.id))
            menu.addAction("Split…", lambda: self.split_requested.emit(first.id))
            if first.cover_face_id:
                menu.addAction("Find this person", lambda: self.session.nav.find_face.emit(first.cover_face_id))
        if len(ids) >= 2:
            menu.addAction(f"Merge {len(ids)} people", self.merge_selected).setShortcut("Ctrl+M")
        hidden = bool(first and first.hidden)
        menu.addAction("Show again" if hidden else "Hide", self.hide_selected).setShortcut("Ctrl+H")
        menu.exec(pos)

    # ------------------------------------------------------------------ granularity
    def _granularity_moved(self, value: int, run: bool = True) -> None:
        self.granularity_label.setText(f"{value / 100:.2f}")
        if run:
            self._regroup_timer.start()

    def regroup_now(self) -> None:
        """People ▸ Regroup people: group the unnamed faces again at the current granularity."""
        self._regroup()

    def _regroup(self) -> None:
        if self._regrouping:
            self._regroup_again = True
            return
        self._regrouping = True
        threshold = self.granularity.value() / 100
        library = self.session.library

        def done(_result: object) -> None:
            self._regrouping = False
            self.regrouped.emit()
            if self._regroup_again:
                self._regroup_again = False
                self._regroup()

        def work() -> None:
            core.recluster(library, threshold)
            from faceorganizer.settings import save_settings, updated

            library.settings = updated(library.settings, cluster_threshold=threshold)
            save_settings(library.settings)

        self.session.nav.status.emit(f"Re-grouping faces at {threshold:.2f}…")
        self.session.edits.call("Re-grouping", work, on_done=done, on_error=lambda _exc: done(None))
