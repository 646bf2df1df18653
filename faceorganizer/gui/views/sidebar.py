"""The sidebar: Library (all photos, folders), People (named ones are drop targets), Unsorted, Search."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QPalette
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem, QWidget

from faceorganizer.gui.models import FACE_MIME, decode_ids
from faceorganizer.library import Counts, LibraryReader, display_path

KIND = Qt.ItemDataRole.UserRole
IDENT = Qt.ItemDataRole.UserRole + 1
MAX_PEOPLE = 40


class Sidebar(QTreeWidget):
    """Navigation tree. ``selected(kind, ident)``: kind in photos, folder, people, person, unsorted, search."""

    selected = Signal(str, object)
    faces_dropped = Signal(list, int)  # face ids, person id

    def __init__(self, reader: LibraryReader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reader = reader
        self.setHeaderHidden(True)
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setMinimumWidth(140)  # narrow screens: the page keeps most of the width
        self.library = self._item(None, "Library", "photos", None)
        self.all_photos = self._item(self.library, "All photos", "photos", None)
        self.folders = self._item(self.library, "Folders", "photos", None)
        self.people = self._item(None, "People", "people", None)
        self.unsorted = self._item(None, "Unsorted faces", "unsorted", None)
        self.search = self._item(None, "Search results", "search", None)
        for top in (self.library, self.people, self.unsorted, self.search):
            f = top.font(0)
            f.setBold(True)
            top.setFont(0, f)
        self.library.setExpanded(True)
        self.people.setExpanded(True)
        self.all_photos.setToolTip(0, "Every photo in the library, newest first")
        self.people.setToolTip(0, "Everyone found in your photos (Ctrl+2). Drop faces on a name to move them.")
        self.unsorted.setToolTip(0, "Faces not in any person yet (Ctrl+3)")
        self.search.setToolTip(0, "The latest “Find this person” results (Ctrl+4)")
        self.currentItemChanged.connect(self._changed)
        self.refresh()

    def _item(self, parent: QTreeWidgetItem | None, text: str, kind: str, ident: object) -> QTreeWidgetItem:
        item = QTreeWidgetItem([text])
        item.setData(0, KIND, kind)
        item.setData(0, IDENT, ident)
        if parent is None:
            self.addTopLevelItem(item)
        else:
            parent.addChild(item)
        return item

    def refresh(self, counts: Counts | None = None) -> None:
        """Re-read counts (unless given), folders and the named people (keeps the current item)."""
        current = self.current()
        self.blockSignals(True)
        try:
            counts = counts or self.reader.counts()
            self.all_photos.setText(0, f"All photos ({counts.photos:,})")
            self.people.setText(0, f"People ({counts.people:,})")
            self.unsorted.setText(0, f"Unsorted faces ({counts.unsorted:,})")
            self.folders.takeChildren()
            muted = QBrush(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
            for root in self.reader.roots():
                name = display_path(root["path"])
                item = self._item(self.folders, name.rstrip("/").rsplit("/", 1)[-1] or name, "folder", root["path"])
                item.setToolTip(0, name + ("" if root["online"] else "\nOffline: the folder cannot be reached"))
                if not root["online"]:
                    item.setText(0, item.text(0) + " (offline)")
                    item.setForeground(0, muted)
            self.folders.setExpanded(True)
            self.people.takeChildren()
            for person_id, name, face_count in self.reader.named_people()[:MAX_PEOPLE]:
                item = self._item(self.people, f"{name} ({face_count})", "person", person_id)
                item.setToolTip(0, f"Open {name} · drop faces here to move them to {name}")
            if current is not None:
                self.select(*current)
        finally:
            self.blockSignals(False)

    def current(self) -> tuple[str, object] | None:
        item = self.currentItem()
        return (item.data(0, KIND), item.data(0, IDENT)) if item is not None else None

    def select(self, kind: str, ident: object = None, *, emit: bool = False) -> None:
        """Make the item for (kind, ident) current; with ``emit`` the view switches too."""
        target = {"photos": self.all_photos, "people": self.people, "unsorted": self.unsorted,
                  "search": self.search}.get(kind)
        if kind in ("folder", "person"):
            parent = self.folders if kind == "folder" else self.people
            target = next((parent.child(i) for i in range(parent.childCount())
                           if parent.child(i).data(0, IDENT) == ident), None)
            if target is None and kind == "person":
                target = self.people
        if target is None:
            return
        if not emit:
            self.blockSignals(True)
        self.setCurrentItem(target)
        if not emit:
            self.blockSignals(False)

    def _changed(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        if item is not None:
            self.selected.emit(item.data(0, KIND), item.data(0, IDENT))

    # ------------------------------------------------------------------ dropping faces on people
    def _person_at(self, pos) -> int | None:  # noqa: ANN001
        item = self.itemAt(pos)
        if item is not None and item.data(0, KIND) == "person":
            return int(item.data(0, IDENT))
        return None

    def dragEnterEvent(self, event) -> None:  # noqa: ANN001
        if event.mimeData().hasFormat(FACE_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: ANN001
        if event.mimeData().hasFormat(FACE_MIME) and self._person_at(event.position().toPoint()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: ANN001
        pid = self._person_at(event.position().toPoint())
        ids = decode_ids(event.mimeData(), FACE_MIME)
        if pid is not None and ids:
            self.faces_dropped.emit(ids, pid)
            event.acceptProposedAction()
        else:
            event.ignore()
