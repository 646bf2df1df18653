"""List models over ids: people, faces, photos, search hits. Rows load lazily; thumbnails arrive later.

A model holds only ids (paged in with ``fetchMore``); the display data of a row is read in blocks of rows
around the first one asked for, and forgotten when the cache grows. Decorations are placeholders until the
:class:`~faceorganizer.gui.thumbnails.ThumbnailLoader` has the pixmap; then only the affected rows repaint.
Refreshing keeps rows whose ids did not change (no reset while an import adds faces at the end).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication, QPalette

from faceorganizer.library import (FaceCard, FaceFilter, FaceScope, LibraryReader, PersonCard, PhotoCard,
                                   PhotoScope, display_path)
from faceorganizer.gui.thumbnails import ThumbnailLoader, placeholder
from faceorganizer.gui.workers import start_job

IdRole = Qt.ItemDataRole.UserRole + 1
SubtitleRole = Qt.ItemDataRole.UserRole + 2
CardRole = Qt.ItemDataRole.UserRole + 3
BadgeRole = Qt.ItemDataRole.UserRole + 4
MutedRole = Qt.ItemDataRole.UserRole + 5  # unnamed / unsorted: drawn in italics

FACE_MIME = "application/x-faceorganizer-face-ids"
PERSON_MIME = "application/x-faceorganizer-person-ids"

_Index = QModelIndex | QPersistentModelIndex


def encode_ids(mime: str, ids: Sequence[int]) -> QMimeData:
    data = QMimeData()
    data.setData(mime, json.dumps(list(ids)).encode())
    data.setText(", ".join(str(i) for i in ids))
    return data


def decode_ids(data: QMimeData, mime: str) -> list[int]:
    if not data.hasFormat(mime):
        return []
    try:
        return [int(i) for i in json.loads(bytes(data.data(mime)).decode())]
    except (ValueError, TypeError):
        return []


def photo_label(path: str, taken_at: str | None = None) -> str:
    """A short name for the photo a face comes from: always its file name without extension (the date, when
    known, goes in the subtitle), so captions read the same on every page."""
    name = os.path.basename(display_path(path))
    stem, _ext = os.path.splitext(name)
    return stem or name


def describe_face(attributes: dict[str, Any]) -> list[str]:
    """A face's estimates in words, for tooltips ("Estimated age: 34", "Looks female", ...)."""
    a = attributes
    out: list[str] = []
    if a.get("age") is not None:
        out.append(f"Estimated age: {a['age']:.0f}")
    if a.get("gender_label"):
        out.append(f"Looks {a['gender_label']}")
    if a.get("expression"):
        out.append(f"Expression: {a['expression']}")
    if a.get("pose"):
        out.append(f"Head pose: {str(a['pose']).replace('-', ' ')}")
    if a.get("size") is not None:
        out.append(f"Face height: {a['size']:.0f} px")
    if a.get("sharpness") is not None:
        out.append("Sharp" if a["sharpness"] >= SHARP else "Blurred")
    return out


#: Sharpness (variance of the Laplacian of the 150-px chip) from which a face reads as sharp: the core's
#: sharpness scale (pipeline/quality.py: the shared photos' median is 276, a σ = 2 px blur gives ≈ 8).
SHARP = 100.0


class IdListModel(QAbstractListModel):
    """Base: ids paged in, cards (display rows) read in blocks, thumbnails from the loader."""

    PAGE = 3000
    BLOCK = 240
    MAX_CARDS = 30_000

    def __init__(self, reader: LibraryReader, thumbs: ThumbnailLoader, *, thumb_size: int = 112,
                 parent: Any = None) -> None:
        super().__init__(parent)
        self.reader = reader
        self.thumbs = thumbs
        self.thumb_size = thumb_size
        self._ids: list[int] = []
        self._row_of: dict[int, int] = {}
        self._more = False
        self._paging = False  # a page of ids is being read off the GUI thread
        self._refreshing = False  # the loaded ids are being re-read off the GUI thread (see refresh)
        self._refresh_again = False
        self._epoch = 0  # bumped whenever the ids are set: a page read for older ids is dropped
        #: Runs ``fn(cancel)`` off the GUI thread and calls ``done(result)`` on it; with one (and
        #: :meth:`ids_reader`), ``fetchMore`` reads the next page there (pages pass the session's runner).
        self.page_runner: Callable[[str, Callable[[Any], Any], Callable[[Any], None]], Any] | None = None
        self._cards: dict[int, Any] = {}
        self._key_ids: dict[str, int] = {}
        self.placeholder_color = QGuiApplication.palette().color(QPalette.ColorRole.Mid)
        thumbs.pixmaps_ready.connect(self._on_pixmaps)

    # ------------------------------------------------------------------ subclass hooks
    def fetch_ids(self, offset: int, limit: int) -> list[int]:
        raise NotImplementedError

    def fetch_cards(self, ids: list[int]) -> dict[int, Any]:
        raise NotImplementedError

    def ids_reader(self) -> Callable[[LibraryReader, int, int], list[int]] | None:
        """``read(reader, offset, limit)`` giving what :meth:`fetch_ids` gives, through another connection, to
        page ids in off the GUI thread; None (the default): ids are read in memory or here."""
        return None

    def thumb_key(self, card: Any) -> str | None:
        return None

    def title(self, card: Any) -> str:
        return str(card)

    def subtitle(self, card: Any) -> str:
        return ""

    def tooltip(self, card: Any) -> str:
        return self.title(card)

    def muted(self, card: Any) -> bool:
        return False

    def badge(self, card: Any) -> str:
        return ""

    # ------------------------------------------------------------------ ids
    @property
    def ids(self) -> list[int]:
        return list(self._ids)

    def id_at(self, row: int) -> int:
        return self._ids[row]

    def row_of(self, item_id: int) -> int | None:
        return self._row_of.get(item_id)

    def refresh(self) -> None:
        """Re-read the ids (as many as were loaded) and forget cached cards; unchanged rows stay put.

        Past the first page (and with :attr:`page_runner`) the ids are re-read off the GUI thread and arrive a
        moment later: re-reading 51,000 of 100,000 faces newest first took ~160 ms, once a second during an
        import. Within the first page (every test library, any small scope) it is done here, at once.
        """
        want = max(len(self._ids), self.PAGE)
        read = self.ids_reader()
        if len(self._ids) <= self.PAGE or read is None or self.page_runner is None:
            self._apply_refresh(self.fetch_ids(0, want + 1), want)
            return
        if self._refreshing:
            self._refresh_again = True  # the library changed again: read once more when this read is in
            return
        epoch = self._epoch
        self._refreshing, self._refresh_again = True, False
        self._paging = True  # no page is added meanwhile (the re-read covers it)

        def done(ids: list[int]) -> None:
            again = self._refresh_again and epoch == self._epoch
            self._refreshing = self._refresh_again = False
            if epoch == self._epoch:  # else the ids were set meanwhile (a new scope): those stand
                self._apply_refresh(ids, want)
            if again:
                self.refresh()

        self.page_runner("Re-reading", self._off_thread(read, 0, want + 1), done)

    def _apply_refresh(self, ids: list[int], want: int) -> None:
        self._cards.clear()
        self.set_ids(ids[:want], more=len(ids) > want)

    def set_ids(self, ids: list[int], *, more: bool = False) -> None:
        old = self._ids
        self._more = more
        self._epoch += 1
        self._paging = False  # a page or re-read in flight for the old ids is dropped when it arrives
        self._refreshing = self._refresh_again = False
        if ids == old:
            if old:
                self.dataChanged.emit(self.index(0), self.index(len(old) - 1))
            return
        if len(ids) > len(old) and ids[:len(old)] == old:
            self.beginInsertRows(QModelIndex(), len(old), len(ids) - 1)
            self._ids = ids
            self._row_of.update((i, r) for r, i in enumerate(ids[len(old):], len(old)))
            self.endInsertRows()
            if old:
                self.dataChanged.emit(self.index(0), self.index(len(old) - 1))
            return
        self.beginResetModel()
        self._ids = list(ids)
        self._row_of = {i: r for r, i in enumerate(self._ids)}
        self._cards.clear()
        self.endResetModel()

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or not self._more or self._paging:
            return
        read = self.ids_reader()
        if read is None or self.page_runner is None:
            self._add_page(self.fetch_ids(len(self._ids), self.PAGE + 1))
            return
        # Off the GUI thread: a page of a large sorted scope (100k unsorted faces, newest first) is a full sort
        # in SQLite, ~100 ms, which froze the grid while flicking through it (bench/bench_gui_scroll.py).
        epoch = self._epoch

        def done(new: list[int]) -> None:
            if epoch == self._epoch:  # else the ids changed meanwhile (refresh, new scope): page again
                self._paging = False
                self._add_page(new)

        self._paging = True
        self.page_runner("Reading more", self._off_thread(read, len(self._ids), self.PAGE + 1), done)

    def _off_thread(self, read: Callable[[LibraryReader, int, int], list[int]], offset: int, limit: int
                    ) -> Callable[[Any], list[int]]:
        """The job for :attr:`page_runner`: ``read`` through a read-only connection of the worker's own."""
        path = self.reader.path

        def work(_cancel: Any) -> list[int]:
            reader = LibraryReader(path, readonly=True)
            try:
                return read(reader, offset, limit)
            finally:
                reader.close()

        return work

    def _add_page(self, new: list[int]) -> None:
        self._more = len(new) > self.PAGE
        new = [i for i in new[:self.PAGE] if i not in self._row_of]
        if new:
            self.set_ids(self._ids + new, more=self._more)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    # ------------------------------------------------------------------ rows
    def card(self, row: int) -> Any:
        item_id = self._ids[row]
        card = self._cards.get(item_id)
        if card is None:
            if len(self._cards) > self.MAX_CARDS:
                self._cards.clear()
            lo = max(0, row - self.BLOCK // 4)
            block = [i for i in self._ids[lo:lo + self.BLOCK] if i not in self._cards]
            self._cards.update(self.fetch_cards(block))
            card = self._cards.get(item_id)
        return card

    def card_by_id(self, item_id: int) -> Any:
        row = self._row_of.get(item_id)
        return None if row is None else self.card(row)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._ids):
            return None
        if role == IdRole:
            return self._ids[index.row()]
        card = self.card(index.row())
        if card is None:  # deleted since the ids were read; the next refresh drops it
            return "…" if role == Qt.ItemDataRole.DisplayRole else None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.title(card)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._decoration(card)
        if role == SubtitleRole:
            return self.subtitle(card)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(card)
        if role == CardRole:
            return card
        if role == BadgeRole:
            return self.badge(card)
        if role == MutedRole:
            return self.muted(card)
        if role == Qt.ItemDataRole.FontRole and self.muted(card):
            font = QFont()
            font.setItalic(True)
            return font
        return None

    def _decoration(self, card: Any):
        key = self.thumb_key(card)
        if key is None:
            return placeholder(self.thumb_size, self.placeholder_color)
        self._key_ids[key] = card.id
        pm = self.thumbs.pixmap(key)
        if pm is not None:
            return pm
        return placeholder(self.thumb_size, self.placeholder_color, broken=key in self.thumbs.broken)

    def _on_pixmaps(self, keys: list[str]) -> None:
        for key in keys:
            item_id = self._key_ids.get(key)
            row = self._row_of.get(item_id) if item_id is not None else None
            if row is not None:
                ix = self.index(row)
                self.dataChanged.emit(ix, ix, [Qt.ItemDataRole.DecorationRole])


class PeopleModel(IdListModel):
    """People with a cover face, name (editable in place) and face count.

    The list is one aggregate over every face (counts, last seen, best face: ~160 ms at 100k faces), so only
    the first read — an empty grid — happens on the GUI thread; later re-reads (each import batch, each edit)
    run in a worker and replace the list when done. ``applying``/``applied`` bracket each replacement (the
    page keeps the selection and scroll position across it).
    """

    rename_requested = Signal(int, str)
    merge_requested = Signal(int, list)  # target person, people dropped on it
    move_requested = Signal(list, int)  # face ids dropped on a person
    applying = Signal()
    applied = Signal()

    def __init__(self, reader: LibraryReader, thumbs: ThumbnailLoader, **kw: Any) -> None:
        super().__init__(reader, thumbs, **kw)
        self.sort = "count"
        self.include_hidden = False
        self.face_filter: FaceFilter | None = None
        self.match = "any"  # person-level filter: people with any matching face, or with most faces matching
        self._all: list[PersonCard] = []  # what the grid shows
        self._read: list[PersonCard] = []  # the last read, before the name search
        self.name_filter = ""
        self._generation = 0  # the newest re-read asked for; older results are dropped
        #: Runs ``fn(cancel)`` off the GUI thread and calls ``done(result)`` on it (the page passes the
        #: session's, so that failures reach the error dialog and tests can wait for the session to be idle).
        self.runner: Callable[[str, Callable[[Any], Any], Callable[[Any], None]], Any] = self._run

    def _run(self, name: str, fn: Callable[[Any], Any], done: Callable[[Any], None]) -> None:
        start_job(name, fn, parent=self).finished.connect(done)

    def _query(self) -> dict[str, Any]:
        return {"sort": self.sort, "include_hidden": self.include_hidden, "face_filter": self.face_filter,
                "match": self.match}

    def fetch_ids(self, offset: int, limit: int) -> list[int]:
        return [p.id for p in self._all[offset:offset + limit if limit >= 0 else None]]

    def fetch_cards(self, ids: list[int]) -> dict[int, PersonCard]:
        wanted = set(ids)
        return {p.id: p for p in self._all if p.id in wanted}

    def refresh(self) -> None:
        self._generation += 1
        if not self._ids:
            self._apply(self.reader.people(**self._query()))
            return
        generation, path, query = self._generation, self.reader.path, self._query()

        def read(_cancel: Any) -> list[PersonCard]:
            reader = LibraryReader(path)  # a connection of the worker's own
            try:
                return reader.people(**query)
            finally:
                reader.close()

        self.runner("Reading people", read,
                    lambda people: self._apply(people) if generation == self._generation else None)

    def set_name_filter(self, text: str) -> None:
        """Show only people whose label contains ``text`` (case-insensitive; the people search box)."""
        self.name_filter = text.strip().casefold()
        self._apply(self._read)

    def _apply(self, people: list[PersonCard]) -> None:
        self.applying.emit()
        self._read = people
        if self.name_filter:
            people = [p for p in people if self.name_filter in p.label.casefold()]
        self._all = people
        self._cards.clear()
        self.set_ids([p.id for p in people])
        self._cards = {p.id: p for p in people}
        self.applied.emit()

    def thumb_key(self, card: PersonCard) -> str | None:
        return f"face:{card.cover_face_id}" if card.cover_face_id else None

    def title(self, card: PersonCard) -> str:
        return card.label

    def subtitle(self, card: PersonCard) -> str:
        n = card.face_count
        faces = f"{n} face{'s' if n != 1 else ''}"
        if card.matching is not None:  # under a filter: how many of them match it
            faces = f"{card.matching} of {faces} match"
        return faces + (" · hidden" if card.hidden else "")

    def tooltip(self, card: PersonCard) -> str:
        return (f"{card.label}\n{card.face_count} faces in {card.photo_count} photos"
                + (f"\nlast seen {card.last_seen[:10]}" if card.last_seen else "")
                + "\nDouble-click to open · F2 to rename · drop faces here to move them")

    def muted(self, card: PersonCard) -> bool:
        return card.name is None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if not index.isValid():
            return base | Qt.ItemFlag.ItemIsDropEnabled
        return (base | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsDragEnabled
                | Qt.ItemFlag.ItemIsDropEnabled)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.EditRole and index.isValid():
            card = self.card(index.row())
            return (card.name or "") if card else ""
        return super().data(index, role)

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        card = self.card(index.row())
        name = str(value).strip()
        if card is None or name == (card.name or ""):
            return False
        self.rename_requested.emit(card.id, name)
        return True

    def mimeTypes(self) -> list[str]:
        return [FACE_MIME, PERSON_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        return encode_ids(PERSON_MIME, sorted({self._ids[i.row()] for i in indexes}))

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                        parent: _Index) -> bool:
        return parent.isValid() and (data.hasFormat(FACE_MIME) or data.hasFormat(PERSON_MIME))

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                     parent: _Index) -> bool:
        if not parent.isValid():
            return False
        target = self._ids[parent.row()]
        faces = decode_ids(data, FACE_MIME)
        if faces:
            self.move_requested.emit(faces, target)
            return False  # the edit thread moves them; nothing to remove from the source model here
        people = [p for p in decode_ids(data, PERSON_MIME) if p != target]
        if people:
            self.merge_requested.emit(target, people)
        return False


class FacesModel(IdListModel):
    """Faces matching a condition (a person's, unsorted ones, a filter): drag them onto people."""

    def __init__(self, reader: LibraryReader, thumbs: ThumbnailLoader, **kw: Any) -> None:
        super().__init__(reader, thumbs, **kw)
        self.scope = FaceScope("ids")  # nothing until a page sets its scope
        self.show_person = True

    def set_scope(self, scope: FaceScope) -> None:
        self.scope = scope
        self.set_ids([])
        self.refresh()

    def fetch_ids(self, offset: int, limit: int) -> list[int]:
        return self.reader.face_ids(self.scope, limit=limit, offset=offset)

    def ids_reader(self) -> Callable[[LibraryReader, int, int], list[int]] | None:
        scope = self.scope
        return lambda reader, offset, limit: reader.face_ids(scope, limit=limit, offset=offset)

    def fetch_cards(self, ids: list[int]) -> dict[int, FaceCard]:
        return self.reader.face_cards(ids)

    def thumb_key(self, card: FaceCard) -> str:
        return f"face:{card.id}"

    def title(self, card: FaceCard) -> str:
        if self.show_person and card.person_id is not None:
            return card.person_label
        return photo_label(card.photo, card.taken_at)  # on a person's page / among unsorted faces: which photo

    def subtitle(self, card: FaceCard) -> str:
        """The same caption on every face grid: the date when known (else the expression), estimated age."""
        a = card.attributes
        bits = []
        if card.taken_at:
            bits.append(str(card.taken_at)[:10])
        elif a.get("expression"):
            bits.append(str(a["expression"]))
        if "age" in a:
            bits.append(f"~{a['age']:.0f} y")
        return " · ".join(bits)

    def tooltip(self, card: FaceCard) -> str:
        lines = [card.person_label + (" (you confirmed this)" if card.origin == "confirmed" else ""),
                 display_path(card.photo)]
        if card.taken_at:
            lines.append(f"Taken {card.taken_at[:10]}")
        lines += describe_face(card.attributes)
        return "\n".join(lines)

    def muted(self, card: FaceCard) -> bool:
        return self.show_person and card.person_id is None

    def badge(self, card: FaceCard) -> str:
        return "✓" if card.origin == "confirmed" else ""

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return [FACE_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        return encode_ids(FACE_MIME, sorted({self._ids[i.row()] for i in indexes}))

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction


class PhotosModel(IdListModel):
    """Photos (newest first) in a folder / matching a face filter."""

    def __init__(self, reader: LibraryReader, thumbs: ThumbnailLoader, **kw: Any) -> None:
        super().__init__(reader, thumbs, **kw)
        self.scope = PhotoScope()

    def set_scope(self, scope: PhotoScope) -> None:
        self.scope = scope
        self.set_ids([])
        self.refresh()

    def fetch_ids(self, offset: int, limit: int) -> list[int]:
        return self.reader.photo_ids(self.scope, limit=limit, offset=offset)

    def ids_reader(self) -> Callable[[LibraryReader, int, int], list[int]] | None:
        scope = self.scope
        return lambda reader, offset, limit: reader.photo_ids(scope, limit=limit, offset=offset)

    def fetch_cards(self, ids: list[int]) -> dict[int, PhotoCard]:
        return self.reader.photo_cards(ids)

    def thumb_key(self, card: PhotoCard) -> str:
        return f"photo:{card.id}"

    def title(self, card: PhotoCard) -> str:
        return card.filename

    def subtitle(self, card: PhotoCard) -> str:
        date = (card.taken_at or "")[:10]
        faces = {0: "no faces", 1: "1 face"}.get(card.face_count, f"{card.face_count} faces")
        return f"{date} · {faces}" if date else faces

    def tooltip(self, card: PhotoCard) -> str:
        size = f"{card.width}×{card.height}" if card.width else ""
        also = "".join(f"\nalso at {display_path(p)}" for p in card.also_at)  # identical copies elsewhere
        return f"{display_path(card.path)}{also}\n{size}  {card.taken_at or ''}\nDouble-click to view"


@dataclass(frozen=True)
class Hit:
    """One search result: a face and how far it is from the query (smaller is closer)."""

    face_id: int
    distance: float
    score: float | None = None


class HitsModel(IdListModel):
    """Search results (faces ranked by distance), cut at a threshold the slider moves without re-searching."""

    def __init__(self, reader: LibraryReader, thumbs: ThumbnailLoader, **kw: Any) -> None:
        super().__init__(reader, thumbs, **kw)
        self.hits: list[Hit] = []
        self.threshold = 0.6  # cut on distance for hits without a similarity (a person's outliers)
        self.min_score = 0.5  # cut on the app's similarity scale (search results)
        self.allowed: Callable[[list[int]], set[int]] | None = None
        self._by_id: dict[int, Hit] = {}

    def set_hits(self, hits: list[Hit]) -> None:
        self.hits = sorted(hits, key=lambda h: h.distance)
        self._by_id = {h.face_id: h for h in self.hits}
        self.set_ids([])
        self.refresh()

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        self.refresh()

    def set_min_score(self, score: float) -> None:
        self.min_score = score
        self.refresh()

    def visible_hits(self) -> list[Hit]:
        hits = [h for h in self.hits
                if (h.score >= self.min_score - 1e-9 if h.score is not None else h.distance <= self.threshold)]
        if self.allowed is not None and hits:
            ok = self.allowed([h.face_id for h in hits])
            hits = [h for h in hits if h.face_id in ok]
        return hits

    def fetch_ids(self, offset: int, limit: int) -> list[int]:
        ids = [h.face_id for h in self.visible_hits()]
        return ids[offset:offset + limit if limit >= 0 else None]

    def refresh(self) -> None:
        self._cards.clear()
        self.set_ids(self.fetch_ids(0, -1))

    def fetch_cards(self, ids: list[int]) -> dict[int, FaceCard]:
        return self.reader.face_cards(ids)

    def thumb_key(self, card: FaceCard) -> str:
        return f"face:{card.id}"

    def title(self, card: FaceCard) -> str:
        return card.person_label

    def subtitle(self, card: FaceCard) -> str:
        """The photo the face is in, and how similar it is (the app's one similarity scale)."""
        hit = self._by_id.get(card.id)
        photo = photo_label(card.photo)
        if hit is None or hit.score is None:
            return photo
        return f"{photo} · {hit.score:.0%} similar"

    def tooltip(self, card: FaceCard) -> str:
        hit = self._by_id.get(card.id)
        how = "" if hit is None or hit.score is None else f"\n{hit.score:.0%} similar to the face searched for"
        return f"{card.person_label}\n{display_path(card.photo)}{how}\nDouble-click to see the photo"

    def muted(self, card: FaceCard) -> bool:
        return card.person_id is None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return [FACE_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        return encode_ids(FACE_MIME, sorted({self._ids[i.row()] for i in indexes}))


@dataclass(frozen=True)
class HitGroup:
    """Search results grouped by person: the person, their best (closest) face and how many matched."""

    id: int  # person id, or -face id for an unsorted face
    person_id: int | None
    label: str
    best_face_id: int
    best_distance: float
    count: int
    best_score: float | None = None


class HitGroupsModel(IdListModel):
    """The visible hits of a :class:`HitsModel` grouped by person, closest person first."""

    def __init__(self, hits: HitsModel, **kw: Any) -> None:
        super().__init__(hits.reader, hits.thumbs, **kw)
        self.hits_model = hits
        self.groups: dict[int, HitGroup] = {}

    def refresh(self) -> None:
        visible = self.hits_model.visible_hits()
        cards = self.reader.face_cards([h.face_id for h in visible])
        groups: dict[int, HitGroup] = {}
        for h in visible:  # closest first
            c = cards.get(h.face_id)
            if c is None:
                continue
            gid = c.person_id if c.person_id is not None else -c.id
            g = groups.get(gid)
            if g is None:
                groups[gid] = HitGroup(gid, c.person_id, c.person_label, c.id, h.distance, 1, h.score)
            else:
                groups[gid] = HitGroup(gid, g.person_id, g.label, g.best_face_id, g.best_distance, g.count + 1,
                                       g.best_score)
        self.groups = groups
        self._cards = dict(groups)
        self.set_ids(list(groups))
        self._cards = dict(groups)

    def fetch_ids(self, offset: int, limit: int) -> list[int]:
        return list(self.groups)[offset:offset + limit if limit >= 0 else None]

    def fetch_cards(self, ids: list[int]) -> dict[int, HitGroup]:
        return {i: self.groups[i] for i in ids if i in self.groups}

    def thumb_key(self, card: HitGroup) -> str:
        return f"face:{card.best_face_id}"

    def title(self, card: HitGroup) -> str:
        return card.label

    def subtitle(self, card: HitGroup) -> str:
        best = f" · best {card.best_score:.0%}" if card.best_score is not None else ""
        return f"{card.count} face{'s' if card.count != 1 else ''}{best}"

    def muted(self, card: HitGroup) -> bool:
        return card.person_id is None
