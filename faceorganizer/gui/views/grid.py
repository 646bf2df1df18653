"""The grid every list of faces, people and photos uses: a uniform-size icon list with a painted delegate."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPalette, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from faceorganizer.gui.models import BadgeRole, IdRole, MutedRole, SubtitleRole

PAD = 6
TEXT_LINES = 2


def _value(index: QModelIndex, role: int) -> object:
    """``index.data(role)`` asked of the (Python) model directly: the delegate reads five roles per tile on
    every paint, and the round trip through QVariant costs ~27 µs a call (measured: a third of the GUI
    thread's time while flicking through a 100k-face grid, bench/bench_gui_scroll.py)."""
    model = index.model()
    return model.data(index, role) if model is not None else None


class GridDelegate(QStyledItemDelegate):
    """Thumbnail, title (editable for people), subtitle and an optional badge; follows the palette."""

    def __init__(self, thumb_size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumb_size = thumb_size

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        fm = option.fontMetrics
        return QSize(self.thumb_size + 2 * PAD + 8, self.thumb_size + 2 * PAD + fm.height() * TEXT_LINES + 6)

    def _thumb_rect(self, rect: QRect) -> QRect:
        x = rect.x() + (rect.width() - self.thumb_size) // 2
        return QRect(x, rect.y() + PAD, self.thumb_size, self.thumb_size)

    def _title_rect(self, option: QStyleOptionViewItem) -> QRect:
        r = option.rect
        fm = option.fontMetrics
        return QRect(r.x() + 2, r.y() + PAD + self.thumb_size + 3, r.width() - 4, fm.height() + 2)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = option.palette
        r = option.rect.adjusted(2, 2, -2, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if selected or hover:
            color = QColor(pal.color(QPalette.ColorRole.Highlight))
            color.setAlpha(110 if selected else 40)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRoundedRect(r, 8, 8)
        if option.state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(pal.color(QPalette.ColorRole.Highlight))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(r, 8, 8)

        thumb = self._thumb_rect(option.rect)
        pm = _value(index, Qt.ItemDataRole.DecorationRole)
        if isinstance(pm, QPixmap) and not pm.isNull():
            size = pm.deviceIndependentSize().toSize().scaled(thumb.size(), Qt.AspectRatioMode.KeepAspectRatio)
            # Bottom-aligned (like a file manager's icon view): the caption stays right under a wide photo.
            target = QRect(thumb.x() + (thumb.width() - size.width()) // 2,
                           thumb.y() + thumb.height() - size.height(), size.width(), size.height())
            path = QPainterPath()
            path.addRoundedRect(target, 8, 8)
            painter.setClipPath(path)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawPixmap(target, pm)
            painter.setClipping(False)

        badge = _value(index, BadgeRole)
        if badge:
            b = QRect(thumb.right() - 20, thumb.top() + 4, 18, 18)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(pal.color(QPalette.ColorRole.Highlight))
            painter.drawEllipse(b)
            painter.setPen(pal.color(QPalette.ColorRole.HighlightedText))
            painter.drawText(b, Qt.AlignmentFlag.AlignCenter, badge)

        text_color = pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        title_font = QFont(option.font)
        muted = bool(_value(index, MutedRole))
        title_font.setItalic(muted)
        title_font.setBold(not muted)
        fm = QFontMetrics(title_font)
        tr = self._title_rect(option)
        painter.setFont(title_font)
        painter.setPen(text_color)
        title = _value(index, Qt.ItemDataRole.DisplayRole) or ""
        painter.drawText(tr, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                         fm.elidedText(title, Qt.TextElideMode.ElideRight, tr.width()))
        sub = _value(index, SubtitleRole) or ""
        if sub:
            small = QFont(option.font)
            small.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.88))
            painter.setFont(small)
            sub_color = QColor(text_color)
            sub_color.setAlpha(170)
            painter.setPen(sub_color)
            sr = tr.translated(0, fm.height() + 1)
            painter.drawText(sr, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                             QFontMetrics(small).elidedText(sub, Qt.TextElideMode.ElideRight, sr.width()))
        painter.restore()

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        editor.setGeometry(self._title_rect(option).adjusted(0, -2, 0, 4))


class GridView(QListView):
    """Icon grid over an id model: uniform sizes (fast layout at 100k rows), extended selection, keyboard.

    ``context_requested(ids, global_pos)`` asks for a context menu over the selected ids; ``opened(id)`` is
    double-click / Enter.
    """

    context_requested = Signal(list, QPoint)
    opened = Signal(int)

    def __init__(self, thumb_size: int = 112, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumb_size = thumb_size
        #: What an empty grid says (what the page is for and how to fill it); blank says nothing.
        self.empty_text = ""
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(500)
        self.setSpacing(4)
        self.setWordWrap(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setMouseTracking(True)
        self.setItemDelegate(GridDelegate(thumb_size, self))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context)
        self.activated.connect(lambda ix: self.opened.emit(int(ix.data(IdRole))))
        self.verticalScrollBar().setSingleStep(24)

    def tile_size(self) -> QSize:
        """The size of one tile (what the delegate asks for)."""
        fm = self.fontMetrics()
        return QSize(self.thumb_size + 2 * PAD + 8, self.thumb_size + 2 * PAD + fm.height() * TEXT_LINES + 6)

    def _justify(self) -> None:
        """Spread the columns over the whole width (no ragged empty band on the right): the grid cell is the
        tile plus an equal share of the room left over."""
        tile = self.tile_size()
        gap = 2 * self.spacing()
        # What QListView lays out in: the largest viewport, less a vertical scroll bar it always reserves, less
        # the spacing it keeps at the edges.
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self.verticalScrollBar())
        width = self.maximumViewportSize().width() - bar - 2 * self.spacing() - 2
        cols = max(1, (width + gap) // (tile.width() + gap))
        cell = QSize(max(tile.width() + gap, width // cols), tile.height() + gap)
        if cell != self.gridSize():
            self.setGridSize(cell)

    def resizeEvent(self, event) -> None:  # noqa: ANN001
        self._justify()
        super().resizeEvent(event)

    def paintEvent(self, event) -> None:  # noqa: ANN001
        super().paintEvent(event)
        model = self.model()
        if self.empty_text and (model is None or model.rowCount() == 0):
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            rect = self.viewport().rect().adjusted(24, 24, -24, -24)
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self.empty_text)
            painter.end()

    def selected_ids(self) -> list[int]:
        rows = sorted(ix.row() for ix in self.selectionModel().selectedIndexes()) if self.selectionModel() else []
        return [int(self.model().index(r, 0).data(IdRole)) for r in rows]

    def current_id(self) -> int | None:
        ix = self.currentIndex()
        return int(ix.data(IdRole)) if ix.isValid() else None

    def select_id(self, item_id: int) -> bool:
        model = self.model()
        row = model.row_of(item_id) if hasattr(model, "row_of") else None
        if row is None:
            return False
        ix = model.index(row, 0)
        self.setCurrentIndex(ix)
        self.scrollTo(ix)
        return True

    def _context(self, pos: QPoint) -> None:
        ix = self.indexAt(pos)
        if ix.isValid() and not self.selectionModel().isSelected(ix):
            self.setCurrentIndex(ix)
        ids = self.selected_ids()
        if ids:
            self.context_requested.emit(ids, self.viewport().mapToGlobal(pos))

    def keep_position(self):
        """A context manager keeping selection and scroll position across a model refresh (reset)."""
        view = self

        class _Keep:
            def __enter__(self):
                self.ids = set(view.selected_ids())
                self.current = view.current_id()
                self.scroll = view.verticalScrollBar().value()

            def __exit__(self, *exc):
                model = view.model()
                sel = view.selectionModel()
                if self.ids and hasattr(model, "row_of"):
                    for i in self.ids:
                        row = model.row_of(i)
                        if row is not None:
                            sel.select(model.index(row, 0), sel.SelectionFlag.Select)
                if self.current is not None and hasattr(model, "row_of") and model.row_of(self.current) is not None:
                    sel.setCurrentIndex(model.index(model.row_of(self.current), 0), sel.SelectionFlag.NoUpdate)
                view.verticalScrollBar().setValue(self.scroll)

        return _Keep()
