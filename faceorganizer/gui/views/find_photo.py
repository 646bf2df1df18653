"""File ▸ Find person in photo…: show an outside photo, find its faces in a worker, let the user pick one."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QGraphicsRectItem, QGraphicsScene, QGraphicsView, QLabel,
                               QVBoxLayout, QWidget)

from faceorganizer.gui import core
from faceorganizer.gui.session import Session


class _PickBox(QGraphicsRectItem):
    def __init__(self, face: core.DetectedFace, dialog: FindInPhotoDialog) -> None:
        super().__init__(QRectF(*face.box))
        self.face = face
        self.dialog = dialog
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"Face {face.index + 1}: click to search for this person")
        self.set_selected(False)

    def set_selected(self, on: bool) -> None:
        pen = QPen(QColor("#ffb000") if on else QColor("#3daee9"), 4 if on else 2)
        pen.setCosmetic(True)
        self.setPen(pen)

    def mousePressEvent(self, event) -> None:  # noqa: ANN001
        self.dialog.pick(self.face.index)
        event.accept()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: ANN001
        self.dialog.pick(self.face.index)
        self.dialog.accept()


class FindInPhotoDialog(QDialog):
    """Shows the photo with its detected faces; ``chosen`` is the picked face's index once accepted."""

    def __init__(self, session: Session, path: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.path = str(path)
        self.key = f"file:{self.path}"
        self.faces: list[core.DetectedFace] = []
        self.chosen: int | None = None
        self.boxes: list[_PickBox] = []
        self.photo_width = 0
        self.setWindowTitle(f"Find person in {Path(path).name}")
        self.resize(900, 700)
        self.scene = QGraphicsScene(self)
        self.view = QGraphicsView(self.scene, self)
        self.view.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.info = QLabel("Looking for faces…", self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Find this person")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.buttons)
        self._pixmap_item = None
        session.thumbs.pixmaps_ready.connect(self._on_pixmaps)
        self._on_pixmaps([self.key])
        library = session.library
        self.job = session.start("Finding faces", lambda _c: core.detect_faces(library, self.path),
                                 on_done=self.set_faces, context="Finding faces in the photo")
        self.job.failed.connect(lambda exc: self.info.setText(f"Cannot find faces: {exc}"))

    def _on_pixmaps(self, keys: list[str]) -> None:
        if self.key not in keys:
            return
        pm = self.session.thumbs.pixmap(self.key)
        if pm is None:
            reason = self.session.thumbs.broken.get(self.key)
            if reason:
                self.info.setText(f"Cannot open the photo: {reason}")
            return
        self._pixmap_item = self.scene.addPixmap(pm)
        self._pixmap_item.setZValue(-1)
        self._scale_pixmap()
        self._fit()

    def _scale_pixmap(self) -> None:
        # Boxes are in full-resolution pixels; the displayed pixmap may be a scaled-down decode.
        if self._pixmap_item is not None and self.photo_width:
            width = self._pixmap_item.pixmap().deviceIndependentSize().width()
            self._pixmap_item.setScale(self.photo_width / max(1.0, width))

    def _fit(self) -> None:
        self.view.fitInView(self.scene.itemsBoundingRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def set_faces(self, photo: core.DetectedPhoto) -> None:
        faces = photo.faces
        self.faces = faces
        self.photo_width = photo.width
        self._scale_pixmap()
        for face in faces:
            box = _PickBox(face, self)
            self.scene.addItem(box)
            self.boxes.append(box)
        if not faces:
            self.info.setText("No face was found in this photo.")
            return
        self.info.setText(f"{len(faces)} face(s) found: click the one to search for, then “Find this person”.")
        largest = max(faces, key=lambda f: f.box[2] * f.box[3])
        self.pick(largest.index)
        self._fit()

    def pick(self, index: int) -> None:
        self.chosen = index
        for box in self.boxes:
            box.set_selected(box.face.index == index)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)

    def done(self, result: int) -> None:  # noqa: A003 - QDialog API
        self.session.thumbs.pixmaps_ready.disconnect(self._on_pixmaps)
        if self.job.running:
            self.job.cancel()
        super().done(result)

    def resizeEvent(self, event) -> None:  # noqa: ANN001
        super().resizeEvent(event)
        self._fit()
