"""Photos: a grid of thumbnails, and the viewer showing a full photo with its face boxes and names."""

from __future__ import annotations

import html
import os

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QKeySequence, QPainter, QPalette, QPen, QPixmap, QShortcut
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene,
                               QGraphicsSimpleTextItem, QGraphicsView, QHBoxLayout, QLabel, QSizePolicy, QToolButton,
                               QVBoxLayout, QWidget)

from faceorganizer.gui.models import PhotosModel
from faceorganizer.gui.session import Session
from faceorganizer.gui.views.grid import GridView
from faceorganizer.library import FaceCard, PhotoScope, display_path


class PhotoGrid(QWidget):
    """Photo thumbnails (newest first); double-click opens the viewer."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model = PhotosModel(session.reader, session.thumbs, thumb_size=160, parent=self)
        self.model.page_runner = lambda name, fn, done: session.start(name, fn, on_done=done, context=name)
        self.view = GridView(160, self)
        self.view.setModel(self.model)
        self.view.opened.connect(lambda pid: session.nav.open_photo.emit(pid, 0))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

    def set_scope(self, scope: PhotoScope) -> None:
        self.model.set_scope(scope)

    def refresh(self) -> None:
        with self.view.keep_position():
            self.model.refresh()

    def photo_ids(self) -> list[int]:
        return self.model.ids


class FaceBox(QGraphicsRectItem):
    """A face's box and name on the photo; click opens the person, right-click offers the face actions."""

    def __init__(self, card: FaceCard, viewer: PhotoViewer, highlight: bool) -> None:
        x, y, w, h = card.box
        super().__init__(QRectF(x, y, w, h))
        self.card = card
        self.viewer = viewer
        color = QColor("#ffb000") if highlight else (QColor("#3daee9") if card.person_id else QColor("#e0e0e0"))
        pen = QPen(color, 3 if highlight else 2)
        pen.setCosmetic(True)
        self.setPen(pen)
        self.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"{card.person_label}\nClick to open · right-click for more")
        self.label = QGraphicsSimpleTextItem(card.person_label, self)
        font = QFont()
        font.setBold(card.person_id is not None)
        font.setItalic(card.person_id is None)
        font.setPointSize(11)
        self.label.setFont(font)
        self.label.setBrush(QColor("white"))
        self.label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.label.setPos(x, y + h + 2)
        self.bg = QGraphicsRectItem(self.label.boundingRect().adjusted(-3, -1, 3, 1), self.label)
        self.bg.setBrush(QColor(0, 0, 0, 160))
        self.bg.setPen(QPen(Qt.PenStyle.NoPen))
        # A child paints over its parent unless told otherwise: keep the dark plate behind the white text.
        self.bg.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)

    def place_label(self, scale: float, photo_w: float, photo_h: float) -> None:
        """Keep the name on the photo at the view's ``scale``: under the box, else above it, else inside its
        bottom edge; shifted left when it would run past the right edge (the label keeps its pixel size)."""
        if scale <= 0:
            return
        x, y, w, h = self.card.box
        size = self.label.boundingRect().size()
        lw, lh, gap = size.width() / scale, size.height() / scale, 2 / scale
        if y + h + gap + lh <= photo_h:
            top = y + h + gap
        elif y - gap - lh >= 0:
            top = y - gap - lh
        else:
            top = y + h - lh - gap
        self.label.setPos(max(0.0, min(x, photo_w - lw)), top)

    def mousePressEvent(self, event) -> None:  # noqa: ANN001
        if event.button() == Qt.MouseButton.LeftButton:
            self.viewer.face_clicked.emit(self.card.id)
            event.accept()
        elif event.button() == Qt.MouseButton.RightButton:
            self.viewer.face_menu_requested(self.card.id, event.screenPos())
            event.accept()
        else:
            super().mousePressEvent(event)


class ZoomView(QGraphicsView):
    """The viewer's canvas: the mouse wheel (or a trackpad's scroll) zooms around the pointer, as in the
    anchors' viewers; ``zoomed(factor)`` lets the viewer re-place the face labels."""

    zoomed = Signal(float)

    def wheelEvent(self, event) -> None:  # noqa: ANN001
        steps = event.angleDelta().y() / 120.0
        if not steps:
            super().wheelEvent(event)
            return
        factor = 1.25 ** steps
        self.scale(factor, factor)
        self.zoomed.emit(factor)
        event.accept()


class PhotoViewer(QWidget):
    """One photo at full size (decoded off-thread) with face boxes and names; ←/→ step through a list."""

    face_clicked = Signal(int)
    closed = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.photo_id: int | None = None
        self.highlight = 0
        self.sequence: list[int] = []
        self.scene = QGraphicsScene(self)
        self.view = ZoomView(self.scene, self)
        self.view.zoomed.connect(lambda _f: self._place_labels())
        self.view.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.view.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.view.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.view.setBackgroundBrush(self.palette().color(QPalette.ColorRole.Window).darker(115))
        self.title = QLabel(self)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A long path must not widen the window: the label takes the room there is (full path in the tooltip).
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setMinimumWidth(0)
        back = QToolButton(self)
        back.setText("← Back")
        back.setToolTip("Back to the previous view (Esc)")
        back.clicked.connect(lambda: (self.leave_full_screen(), self.closed.emit()))
        prev = QToolButton(self)
        prev.setText("‹")
        prev.setToolTip("Previous photo (Left)")
        prev.clicked.connect(lambda: self.step(-1))
        nxt = QToolButton(self)
        nxt.setText("›")
        nxt.setToolTip("Next photo (Right)")
        nxt.clicked.connect(lambda: self.step(1))
        fit = QToolButton(self)
        fit.setText("Fit")
        fit.setToolTip("Fit the photo to the window (0)")
        fit.clicked.connect(self.fit)
        self.full = QToolButton(self)
        self.full.setText("Full screen")
        self.full.setToolTip("Show the photo on the whole screen (F11; Esc leaves). Mouse wheel: zoom")
        self.full.clicked.connect(self.toggle_full_screen)
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 6, 8, 0)
        for w in (back, prev, nxt, fit, self.full):
            bar.addWidget(w)
        bar.addWidget(self.title, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        for keys, slot in [("Left", lambda: self.step(-1)), ("Right", lambda: self.step(1)), ("Escape", self.escape),
                           ("F11", self.toggle_full_screen), ("F", self.toggle_full_screen),
                           ("0", self.fit), ("+", lambda: self.zoom(1.25)), ("-", lambda: self.zoom(0.8))]:
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
        self._pixmap_item: QGraphicsPixmapItem | None = None
        self.boxes: list[FaceBox] = []
        session.thumbs.pixmaps_ready.connect(self._on_pixmaps)

    def show_photo(self, photo_id: int, highlight: int = 0, sequence: list[int] | None = None) -> None:
        if sequence is not None:
            self.sequence = sequence
        self.photo_id = photo_id
        self.highlight = highlight
        card = self.session.reader.photo(photo_id)
        self.scene.clear()
        self.boxes = []
        self._pixmap_item = None
        if card is None:
            self.title.setText("This photo is no longer in the library")
            return
        self.card = card
        faces = {0: "no faces", 1: "1 face"}.get(card.face_count, f"{card.face_count} faces")
        date = (card.taken_at or "")[:10] or "no date"
        where = os.path.dirname(display_path(card.path))
        self.title.setText(f"<b>{html.escape(card.filename)}</b>  ·  {date}  ·  {faces}  ·  "
                           f"<span style='color:gray'>{html.escape(where)}</span>")
        also = "".join(f"\nalso at {display_path(p)}" for p in card.also_at)  # identical copies elsewhere
        if card.also_at:
            self.title.setText(self.title.text() + f"  ·  <span style='color:gray'>also in {len(card.also_at)} "
                               f"other folder{'s' if len(card.also_at) > 1 else ''}</span>")
        self.title.setToolTip(display_path(card.path) + also)
        w, h = card.width or 800, card.height or 600
        self.scene.setSceneRect(0, 0, w, h)
        pm = self.session.thumbs.pixmap(f"full:{photo_id}") or self.session.thumbs.pixmap(f"photo:{photo_id}")
        self._set_pixmap(pm)
        for face in self.session.reader.faces_of_photo(photo_id):
            box = FaceBox(face, self, face.id == highlight)
            box.setZValue(1)
            self.scene.addItem(box)
            self.boxes.append(box)
        self.fit()

    def _set_pixmap(self, pm: QPixmap | None) -> None:
        if pm is None:
            return
        if self._pixmap_item is None:
            self._pixmap_item = self.scene.addPixmap(pm)
            self._pixmap_item.setZValue(0)
            self._pixmap_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        else:
            self._pixmap_item.setPixmap(pm)
        rect = self.scene.sceneRect()
        size = pm.deviceIndependentSize()
        if size.width() > 0:
            self._pixmap_item.setScale(rect.width() / size.width())

    def _on_pixmaps(self, keys: list[str]) -> None:
        if self.photo_id is None:
            return
        full = f"full:{self.photo_id}"
        if full in keys:
            self._set_pixmap(self.session.thumbs.pixmap(full, request=False))
        elif f"photo:{self.photo_id}" in keys and self._pixmap_item is None:
            self._set_pixmap(self.session.thumbs.pixmap(f"photo:{self.photo_id}", request=False))

    def fit(self) -> None:
        self.view.fitInView(self.scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self._place_labels()

    def toggle_full_screen(self) -> None:
        """Full screen for the photo: the window goes full screen and hides its docks, toolbar and menus."""
        win = self.window()
        if win.isFullScreen():
            self.leave_full_screen()
            return
        self._chrome = [w for w in win.findChildren(QWidget) if w.parent() is win and w.isVisible()
                        and w is not getattr(win, "centralWidget", lambda: None)()]
        for w in self._chrome:
            w.hide()
        win.showFullScreen()
        self.full.setText("Leave full screen")

    def leave_full_screen(self) -> None:
        win = self.window()
        if win.isFullScreen():
            win.showNormal()
        for w in getattr(self, "_chrome", []):
            w.show()
        self._chrome = []
        self.full.setText("Full screen")

    def escape(self) -> None:
        if self.window().isFullScreen():
            self.leave_full_screen()
        else:
            self.closed.emit()

    def zoom(self, factor: float) -> None:
        self.view.scale(factor, factor)
        self._place_labels()

    def _place_labels(self) -> None:
        rect = self.scene.sceneRect()
        scale = self.view.transform().m11()
        for box in self.boxes:
            box.place_label(scale, rect.width(), rect.height())

    def resizeEvent(self, event) -> None:  # noqa: ANN001
        super().resizeEvent(event)
        self.fit()

    def step(self, delta: int) -> None:
        if self.photo_id in self.sequence:
            i = self.sequence.index(self.photo_id) + delta
            if 0 <= i < len(self.sequence):
                self.show_photo(self.sequence[i])

    def face_menu_requested(self, face_id: int, pos) -> None:  # noqa: ANN001
        from faceorganizer.gui.views.faces import face_menu

        face_menu(self, self.session, [face_id]).exec(pos)

    def refresh(self) -> None:
        if self.photo_id is not None:
            self.show_photo(self.photo_id, self.highlight)

    def face_center(self, face_id: int) -> QPointF | None:
        """Where a face box is on screen (viewport coordinates), for tests."""
        for box in self.boxes:
            if box.card.id == face_id:
                return self.view.mapFromScene(box.rect().center())
        return None
