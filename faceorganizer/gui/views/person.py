"""One person: header with cover and name, then their faces, photos, summary and faces that may not belong."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (QHBoxLayout, QInputDialog, QLabel, QPushButton, QTabWidget, QToolButton, QVBoxLayout,
                               QWidget)

from faceorganizer.gui import core
from faceorganizer.gui.models import Hit, HitsModel
from faceorganizer.gui.session import Session
from faceorganizer.gui.views.faces import FaceGrid
from faceorganizer.gui.views.flow import FlowLayout
from faceorganizer.gui.views.grid import GridView
from faceorganizer.gui.views.photos import PhotoGrid
from faceorganizer.gui.views.rename import rename_person
from faceorganizer.gui.views.summary import SummaryWidget, summary_images
from faceorganizer.library import FaceFilter, FaceScope, PhotoScope



class PersonPage(QWidget):
    """Everything about one person. Tabs load lazily; the summary and outliers are computed in workers."""

    review_requested = Signal(int)
    split_requested = Signal(int)
    back_requested = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.person_id: int | None = None
        self._loaded: set[str] = set()

        self.cover = QLabel(self)
        self.cover.setFixedSize(96, 96)
        self.name = QLabel(self)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.name.setFont(font)
        self.counts = QLabel(self)
        back = QToolButton(self)
        back.setText("← People")
        back.setToolTip("Back to all people (Esc)")
        back.clicked.connect(self.back_requested)
        self.rename_button = QPushButton("Rename…", self)
        self.rename_button.setToolTip("Give this person a name (F2)")
        self.rename_button.clicked.connect(self.rename)
        review = QPushButton("Is this them?", self)
        review.setToolTip("Review faces that are probably this person: Y yes, N no, S skip (Ctrl+R)")
        review.clicked.connect(lambda: self.person_id and self.review_requested.emit(self.person_id))
        split = QPushButton("Split…", self)
        split.setToolTip("This group holds two people: split it in two")
        split.clicked.connect(lambda: self.person_id and self.split_requested.emit(self.person_id))
        self.hide_button = QPushButton("Hide", self)
        self.hide_button.setToolTip("Hide this person from the people view (Ctrl+H)")
        self.hide_button.clicked.connect(self.toggle_hidden)
        find = QPushButton("Find more", self)
        find.setToolTip("Search the library for faces like this person's cover")
        find.clicked.connect(self._find)

        head_text = QVBoxLayout()
        head_text.addWidget(back, 0, Qt.AlignmentFlag.AlignLeft)
        head_text.addWidget(self.name)
        head_text.addWidget(self.counts)
        # The buttons take the page's full width under the header and wrap on a narrow (or 150 %-scaled) screen.
        buttons = FlowLayout()
        buttons.setContentsMargins(10, 0, 10, 4)
        for b in (self.rename_button, review, split, self.hide_button, find):
            buttons.addWidget(b)
        head = QHBoxLayout()
        head.setContentsMargins(10, 8, 10, 4)
        head.addWidget(self.cover)
        head.addLayout(head_text, 1)

        self.tabs = QTabWidget(self)
        self.faces = FaceGrid(session, self, person_id=None)
        self.faces.model.show_person = False
        self.photos = PhotoGrid(session, self)
        self.summary = SummaryWidget(self)
        self.outlier_model = HitsModel(session.reader, session.thumbs, thumb_size=112, parent=self)
        self.outlier_model.threshold = 10.0
        self.outlier_view = GridView(112, self)
        self.outlier_view.setModel(self.outlier_model)
        self.outlier_view.empty_text = ("Faces that look least like the rest of this person show up here, for you to "
                                        "check.\n\nNone right now: every face fits, or the person has too few faces "
                                        "to tell (it takes at least 3).")
        self.outlier_view.opened.connect(self._open_outlier)
        outliers = QWidget(self)
        ol = QVBoxLayout(outliers)
        ol.setContentsMargins(0, 4, 0, 0)
        hint = QLabel("Faces least like the rest of this person. Select and press <b>N</b> (not this person) or "
                      "<b>Y</b> (yes, keep).", outliers)
        hint.setWordWrap(True)
        ol.addWidget(hint)
        row = FlowLayout()
        no = QPushButton("Not this person (N)", outliers)
        no.clicked.connect(lambda: self._judge_outliers(False))
        yes = QPushButton("Yes, keep (Y)", outliers)
        yes.clicked.connect(lambda: self._judge_outliers(True))
        row.addWidget(no)
        row.addWidget(yes)
        ol.addLayout(row)
        ol.addWidget(self.outlier_view, 1)
        for key, val in (("N", False), ("Y", True)):
            sc = QShortcut(QKeySequence(key), self.outlier_view)
            sc.setContext(Qt.ShortcutContext.WidgetShortcut)
            sc.activated.connect(lambda v=val: self._judge_outliers(v))
        self.tabs.addTab(self.faces, "Faces")
        self.tabs.addTab(self.photos, "Photos")
        self.tabs.addTab(self.summary, "Summary")
        self.tabs.addTab(outliers, "May not belong")
        self.tabs.currentChanged.connect(lambda _i: self._load_tab())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addLayout(buttons)
        layout.addWidget(self.tabs, 1)
        # F2 is the main window's Rename action (it renames this person when this page shows): only Escape here.
        for keys, slot in (("Escape", self.back_requested),):
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
        session.thumbs.pixmaps_ready.connect(self._on_pixmaps)
        self._summary_job = None

    # ------------------------------------------------------------------ loading
    def show_person(self, person_id: int, face_filter: FaceFilter | None = None) -> None:
        changed = person_id != self.person_id
        self.person_id = person_id
        self.faces.person_id = person_id
        if changed:
            self._loaded.clear()
            self.summary.clear()
            self.outlier_model.set_hits([])
        self._load_header()
        self.faces.set_scope(FaceScope("person", person_id=person_id, filter=face_filter, order="date"))
        self._loaded.add("faces")
        self._load_tab()

    def _load_header(self) -> None:
        card = self.session.reader.person(self.person_id) if self.person_id is not None else None
        self.card = card
        if card is None:
            self.name.setText("This person no longer exists")
            self.counts.setText("They were merged or removed; use Undo to bring them back.")
            self.cover.clear()
            return
        self.name.setText(card.label)
        self.counts.setText(f"{card.face_count} faces in {card.photo_count} photos"
                            + (" · hidden" if card.hidden else ""))
        self.hide_button.setText("Show again" if card.hidden else "Hide")
        self._set_cover()

    def _set_cover(self) -> None:
        if self.card is None or not self.card.cover_face_id:
            self.cover.clear()
            return
        pm = self.session.thumbs.pixmap(f"face:{self.card.cover_face_id}")
        if pm is not None:
            self.cover.setPixmap(pm.scaled(96, 96, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation))

    def _on_pixmaps(self, keys: list[str]) -> None:
        if getattr(self, "card", None) is not None and f"face:{self.card.cover_face_id}" in keys:
            self._set_cover()

    def _load_tab(self) -> None:
        if self.person_id is None:
            return
        w = self.tabs.currentWidget()
        pid = self.person_id
        if w is self.photos and "photos" not in self._loaded:
            self._loaded.add("photos")
            self.photos.set_scope(PhotoScope(person_id=pid))
        elif w is self.summary and "summary" not in self._loaded:
            self._loaded.add("summary")
            library = self.session.library

            def work(_cancel):
                s = core.person_summary(library, pid)
                return s, *summary_images(s)

            def done(result) -> None:
                if pid == self.person_id:
                    self.summary.set_summary(*result)

            self.session.start("Summary", work, on_done=done, context="Person summary")
        elif w is not self.faces and w is not self.photos and w is not self.summary and "outliers" not in self._loaded:
            self._loaded.add("outliers")
            library = self.session.library

            def done_outliers(result) -> None:
                if pid == self.person_id:
                    self.outlier_model.set_hits([Hit(s.face_id, s.distance) for s in result])

            self.session.start("Outliers", lambda _c: core.outliers(library, pid), on_done=done_outliers,
                               context="Finding faces that may not belong")

    def refresh(self) -> None:
        if self.person_id is None:
            return
        self._load_header()
        self.faces.refresh()
        if "photos" in self._loaded:
            self.photos.refresh()
        if self.outlier_model.hits:
            present = set(self.session.reader.face_ids_of_person(self.person_id))
            self.outlier_model.set_hits([h for h in self.outlier_model.hits if h.face_id in present])
        self._loaded.discard("summary")
        if self.tabs.currentWidget() is self.summary:
            self._load_tab()

    # ------------------------------------------------------------------ actions
    def rename(self) -> None:
        if self.person_id is None or self.card is None:
            return
        name, ok = QInputDialog.getText(self, "Rename", "Name:", text=self.card.name or "")
        if ok:
            rename_person(self, self.session, self.person_id, name)

    def toggle_hidden(self) -> None:
        if self.card is not None:
            self.session.edits.hide(self.card.id, not self.card.hidden)

    def _find(self) -> None:
        if self.card is not None and self.card.cover_face_id:
            self.session.nav.find_face.emit(self.card.cover_face_id)

    def _open_outlier(self, face_id: int) -> None:
        photo = self.session.reader.photo_of_face(face_id)
        if photo is not None:
            self.session.nav.open_photo.emit(photo, face_id)

    def _judge_outliers(self, keep: bool) -> None:
        ids = self.outlier_view.selected_ids()
        if not ids or self.person_id is None:
            return
        if keep:
            self.session.edits.confirm(ids, self.person_id)
        else:
            self.session.edits.reject(ids, self.person_id)
        self.outlier_model.set_hits([h for h in self.outlier_model.hits if h.face_id not in set(ids)])
