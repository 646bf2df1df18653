"""Search results ("find this person"): ranked faces, a threshold slider, optionally grouped by person."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QStackedWidget, QVBoxLayout, QWidget

from faceorganizer.gui.models import Hit, HitGroupsModel, HitsModel
from faceorganizer.gui.session import Session
from faceorganizer.gui.views.faces import face_menu
from faceorganizer.gui.views.flow import FlowLayout
from faceorganizer.gui.views.grid import GridView
from faceorganizer.library import FaceFilter


class SearchPage(QWidget):
    """The latest search. The slider cuts the ranked list at a distance without searching again."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.query_key: str | None = None
        self.face_filter: FaceFilter | None = None
        self.query_image = QLabel(self)
        self.query_image.setFixedSize(72, 72)
        self.query_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.query_text = QLabel("No search yet. Right-click a face and choose <b>Find this person</b>, "
                                 "or use <b>File ▸ Find person in photo…</b>", self)
        self.query_text.setWordWrap(True)
        font = QFont(self.query_text.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.query_text.setFont(font)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, 99)
        self.slider.setInvertedAppearance(True)  # left: fewer, closer matches; right: more faces
        self.slider.setValue(self.default_percent())
        self.slider.setMinimumWidth(120)
        self.slider.setMaximumWidth(220)
        self.slider.setToolTip("How similar a face must be to be shown: left shows only close matches (fewer "
                               "mistakes), right shows more faces (more mistakes). 50 % is the usual "
                               "same-person limit. Each new search starts there again.")
        self.slider.valueChanged.connect(self._threshold_changed)
        self.threshold_label = QLabel(self)
        self.group = QCheckBox("Group by person", self)
        self.group.setToolTip("Show one tile per person with their best match")
        self.group.toggled.connect(self._group_toggled)
        self.count = QLabel(self)

        self.hits = HitsModel(session.reader, session.thumbs, thumb_size=112, parent=self)
        self.hits.min_score = self.slider.value() / 100
        self.hits.allowed = self._allowed
        self.groups = HitGroupsModel(self.hits, thumb_size=112, parent=self)
        self.hit_view = GridView(112, self)
        self.hit_view.setModel(self.hits)
        self.hit_view.setDragEnabled(True)
        self.hit_view.opened.connect(self._open_hit)
        self.hit_view.context_requested.connect(self._menu)
        self.group_view = GridView(112, self)
        self.group_view.setModel(self.groups)
        self.group_view.opened.connect(self._open_group)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.hit_view)
        self.stack.addWidget(self.group_view)

        head = QHBoxLayout()
        head.setContentsMargins(10, 8, 10, 4)
        head.addWidget(self.query_image)
        head.addWidget(self.query_text, 1)
        controls = FlowLayout()  # wraps on a narrow (or 150 %-scaled) screen
        controls.setContentsMargins(10, 0, 10, 4)
        controls.addWidget(QLabel("Closer", self))
        controls.addWidget(self.slider)
        controls.addWidget(QLabel("More", self))
        controls.addWidget(self.threshold_label)
        controls.addWidget(self.group)
        controls.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addLayout(controls)
        layout.addWidget(self.stack, 1)
        session.thumbs.pixmaps_ready.connect(self._on_pixmaps)
        self._threshold_changed(self.slider.value())

    # ------------------------------------------------------------------ results
    def default_percent(self) -> int:
        """The similarity every new search starts at: that of the same-person distance in the settings."""
        return int(round(self.session.library.similarity(self.session.library.settings.search_threshold) * 100))

    def set_results(self, description: str, hits: list[Hit], query_key: str | None = None) -> None:
        self.query_text.setText(description)
        self.query_key = query_key
        self.query_image.clear()
        self._show_query_image()
        self.hits.set_hits(hits)
        self._regroup()

    def set_pending(self, description: str, query_key: str | None = None) -> None:
        self.query_text.setText(description + " <i>— searching…</i>")
        self.query_key = query_key
        self.slider.setValue(self.default_percent())  # a loosened cut is not carried into the next search
        self._show_query_image()
        self.hits.set_hits([])
        self._regroup()

    def _show_query_image(self) -> None:
        if self.query_key:
            pm = self.session.thumbs.pixmap(self.query_key)
            if pm is not None:
                self.query_image.setPixmap(pm.scaled(72, 72, Qt.AspectRatioMode.KeepAspectRatio,
                                                     Qt.TransformationMode.SmoothTransformation))

    def _on_pixmaps(self, keys: list[str]) -> None:
        if self.query_key in keys:
            self._show_query_image()

    def _threshold_changed(self, value: int) -> None:
        self.threshold_label.setText(f"at least {value} % similar")
        self.hits.set_min_score(value / 100)
        self._regroup()

    def set_threshold(self, distance: float) -> None:
        """Show the matches up to a face distance (set on the similarity scale the slider shows)."""
        self.slider.setValue(int(round(self.session.library.similarity(distance) * 100)))

    def _group_toggled(self, on: bool) -> None:
        self.stack.setCurrentWidget(self.group_view if on else self.hit_view)
        self._regroup()

    def _regroup(self) -> None:
        if self.group.isChecked():
            self.groups.refresh()
        n = self.hits.rowCount()
        total = len(self.hits.hits)
        people = len(self.groups.groups) if self.group.isChecked() else None
        text = f"{n} of {total} faces shown"
        if people is not None:
            text += f" · {people} {'person' if people == 1 else 'people'}"
        self.count.setText(text)

    def set_face_filter(self, face_filter: FaceFilter | None) -> None:
        self.face_filter = face_filter
        self.hits.refresh()
        self._regroup()

    def _allowed(self, face_ids: list[int]) -> set[int]:
        return self.session.reader.matching_faces(face_ids, self.face_filter)

    def refresh(self) -> None:
        """Names or assignments changed: redraw labels (the ranking itself does not change)."""
        with self.hit_view.keep_position():
            self.hits.refresh()
        self._regroup()

    # ------------------------------------------------------------------ actions
    def _open_hit(self, face_id: int) -> None:
        photo = self.session.reader.photo_of_face(face_id)
        if photo is not None:
            self.session.nav.open_photo.emit(photo, face_id)

    def _open_group(self, group_id: int) -> None:
        g = self.groups.groups.get(group_id)
        if g is None:
            return
        if g.person_id is not None:
            self.session.nav.open_person.emit(g.person_id)
        else:
            self._open_hit(g.best_face_id)

    def _menu(self, ids: list[int], pos: QPoint) -> None:
        face_menu(self, self.session, ids).exec(pos)
