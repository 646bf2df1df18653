"""Review queues: "Is this X?" (Y yes / N no / S skip) and the split preview."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from faceorganizer.gui import core
from faceorganizer.gui.models import FACE_MIME, FacesModel, decode_ids
from faceorganizer.gui.session import Session
from faceorganizer.gui.views.grid import GridView
from faceorganizer.library import FaceScope


class ReviewDialog(QDialog):
    """Shows one suggested face at a time beside the person's cover; Y confirms, N rejects, S skips.

    Answers are sent to the edit thread as they are given, so closing the dialog loses nothing.
    """

    def __init__(self, session: Session, person_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.person_id = person_id
        self.queue: list[core.Suggestion] = []
        self.position = 0
        self.answers: dict[int, str] = {}
        card = session.reader.person(person_id)
        self.person_label = card.label if card else f"person {person_id}"
        self.cover_key = f"face:{card.cover_face_id}" if card and card.cover_face_id else None
        self.setWindowTitle(f"Is this {self.person_label}?")
        self.question = QLabel(f"Is this <b>{self.person_label}</b>?", self)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.question.setFont(font)
        self.cover = QLabel(self)
        self.face = QLabel(self)
        for lbl in (self.cover, self.face):
            lbl.setFixedSize(200, 200)
            lbl.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cover.setToolTip(self.person_label)
        self.detail = QLabel("Looking for faces…", self)
        faces = QHBoxLayout()
        faces.addWidget(self.cover)
        faces.addWidget(QLabel("?", self))
        faces.addWidget(self.face)
        yes = QPushButton("&Yes (Y)", self)
        no = QPushButton("&No (N)", self)
        skip = QPushButton("&Skip (S)", self)
        done = QPushButton("Done", self)
        yes.setToolTip("This is them: confirm the face")
        no.setToolTip("Not them: the face will never be suggested or grouped with them again")
        skip.setToolTip("Not sure: leave this face as it is")
        yes.clicked.connect(lambda: self.answer("yes"))
        no.clicked.connect(lambda: self.answer("no"))
        skip.clicked.connect(lambda: self.answer("skip"))
        done.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        for b in (yes, no, skip):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(done)
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        layout.addLayout(faces)
        layout.addWidget(self.detail)
        layout.addLayout(buttons)
        for key, what in (("Y", "yes"), ("N", "no"), ("S", "skip"), ("Right", "skip")):
            QShortcut(QKeySequence(key), self).activated.connect(lambda w=what: self.answer(w))
        session.thumbs.pixmaps_ready.connect(self._on_pixmaps)
        self.buttons = (yes, no, skip)
        for b in self.buttons:
            b.setEnabled(False)
        library = session.library
        self.job = session.start("Suggestions", lambda _c: core.suggestions(library, person_id), on_done=self.set_queue,
                                 context="Finding faces to review")
        self._show_cover()

    def set_queue(self, suggestions: list[core.Suggestion]) -> None:
        self.queue = list(suggestions)
        self.position = 0
        self._show_current()

    def current(self) -> core.Suggestion | None:
        return self.queue[self.position] if self.position < len(self.queue) else None

    def answer(self, what: str) -> None:
        s = self.current()
        if s is None:
            return
        self.answers[s.face_id] = what
        if what == "yes":
            self.session.edits.confirm([s.face_id], self.person_id)
        elif what == "no":
            self.session.edits.reject([s.face_id], self.person_id)
        self.position += 1
        self._show_current()

    def _show_cover(self) -> None:
        if self.cover_key:
            pm = self.session.thumbs.pixmap(self.cover_key)
            if pm is not None:
                self.cover.setPixmap(pm.scaled(200, 200, Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))

    def _show_current(self) -> None:
        s = self.current()
        for b in self.buttons:
            b.setEnabled(s is not None)
        if s is None:
            self.face.clear()
            n = sum(1 for a in self.answers.values() if a == "yes")
            self.detail.setText(f"No more faces to review. {n} confirmed, "
                                f"{sum(1 for a in self.answers.values() if a == 'no')} rejected.")
            return
        card = self.session.reader.face_cards([s.face_id]).get(s.face_id)
        where = f" (now in {card.person_label})" if card and card.person_id else ""
        self.detail.setText(f"Face {self.position + 1} of {len(self.queue)}{where} · distance {s.distance:.2f}")
        pm = self.session.thumbs.pixmap(f"face:{s.face_id}")
        if pm is not None:
            self.face.setPixmap(pm.scaled(200, 200, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))
        else:
            self.face.setText("…")
        for upcoming in self.queue[self.position + 1:self.position + 4]:  # decode the next ones ahead
            self.session.thumbs.pixmap(f"face:{upcoming.face_id}")

    def _on_pixmaps(self, keys: list[str]) -> None:
        if self.cover_key in keys:
            self._show_cover()
        s = self.current()
        if s is not None and f"face:{s.face_id}" in keys:
            self._show_current()

    def done(self, result: int) -> None:  # noqa: A003 - QDialog API
        self.session.thumbs.pixmaps_ready.disconnect(self._on_pixmaps)
        if self.job.running:
            self.job.cancel()
        super().done(result)


class _PartView(GridView):
    """One side of the split preview: faces can be dragged to the other side."""

    def __init__(self, dialog: SplitDialog, side: str) -> None:
        super().__init__(96, dialog)
        self.dialog = dialog
        self.side = side
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)

    def dragEnterEvent(self, event) -> None:  # noqa: ANN001
        if event.mimeData().hasFormat(FACE_MIME) and event.source() is not self:
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: ANN001
        if event.mimeData().hasFormat(FACE_MIME) and event.source() is not self:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: ANN001
        ids = decode_ids(event.mimeData(), FACE_MIME)
        if ids:
            self.dialog.move_to(self.side, ids)
            event.acceptProposedAction()


class SplitDialog(QDialog):
    """Preview of a proposed split: left stays, right becomes a new person; drag faces across to adjust."""

    def __init__(self, session: Session, person_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.person_id = person_id
        card = session.reader.person(person_id)
        label = card.label if card else f"person {person_id}"
        self.setWindowTitle(f"Split {label}")
        self.resize(900, 560)
        self.members = session.reader.face_ids_of_person(person_id)
        self.part_b: set[int] = set()
        self.model_a = FacesModel(session.reader, session.thumbs, thumb_size=96, parent=self)
        self.model_b = FacesModel(session.reader, session.thumbs, thumb_size=96, parent=self)
        for m in (self.model_a, self.model_b):
            m.show_person = False
        self.view_a = _PartView(self, "a")
        self.view_a.setModel(self.model_a)
        self.view_b = _PartView(self, "b")
        self.view_b.setModel(self.model_b)
        self.info = QLabel("Computing a proposal…", self)
        self.new_name = QLineEdit(self)
        self.new_name.setPlaceholderText("Name of the new person (optional)")
        to_b = QPushButton("Move selected →", self)
        to_b.clicked.connect(lambda: self.move_to("b", self.view_a.selected_ids()))
        to_a = QPushButton("← Move selected", self)
        to_a.clicked.connect(lambda: self.move_to("a", self.view_b.selected_ids()))
        cols = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(QLabel(f"Stays <b>{label}</b>", self))
        left.addWidget(self.view_a, 1)
        left.addWidget(to_b)
        right = QVBoxLayout()
        right.addWidget(QLabel("Becomes a new person", self))
        right.addWidget(self.view_b, 1)
        right.addWidget(to_a)
        right.addWidget(self.new_name)
        cols.addLayout(left, 1)
        cols.addLayout(right, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Split")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addLayout(cols, 1)
        layout.addWidget(self.buttons)
        self._update()
        library = session.library
        self.job = session.start("Split proposal", lambda _c: core.propose_split(library, person_id),
                                 on_done=self.set_proposal, context="Proposing a split")

    def set_proposal(self, part_b: list[int]) -> None:
        self.part_b = set(part_b) & set(self.members)
        self.info.setText("Proposed split: check both sides, drag faces across if needed, then press Split.")
        self._update()

    def move_to(self, side: str, ids: list[int]) -> None:
        if side == "b":
            self.part_b |= set(ids)
        else:
            self.part_b -= set(ids)
        self._update()

    def _update(self) -> None:
        a = [f for f in self.members if f not in self.part_b]
        b = [f for f in self.members if f in self.part_b]
        self.model_a.set_scope(FaceScope("ids", ids=tuple(a)))
        self.model_b.set_scope(FaceScope("ids", ids=tuple(b)))
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(a) and bool(b))

    def accept(self) -> None:
        part_b = [f for f in self.members if f in self.part_b]
        if part_b and len(part_b) < len(self.members):
            self.session.edits.split(self.person_id, part_b, self.new_name.text().strip() or None)
        super().accept()

    def done(self, result: int) -> None:  # noqa: A003 - QDialog API
        if self.job.running:
            self.job.cancel()
        super().done(result)
