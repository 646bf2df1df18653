"""The central stack of views and the flows between them: navigation, refresh, filters, searches.

The main window assembles widgets and actions; this object decides which page shows what, keeps a back
history, re-reads the visible page when the library changed (polling ``PRAGMA data_version`` once a second,
which also catches the import's commits), applies the filter to whichever page is shown, and runs searches.
"""

from __future__ import annotations

import html
import os
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QStackedWidget, QWidget

from faceorganizer.gui import core
from faceorganizer.gui.models import Hit
from faceorganizer.gui.session import Session
from faceorganizer.gui.views.faces import FaceGrid
from faceorganizer.gui.views.filters import FilterResult
from faceorganizer.gui.views.people import PeoplePage
from faceorganizer.gui.views.person import PersonPage
from faceorganizer.gui.views.photos import PhotoGrid, PhotoViewer
from faceorganizer.gui.views.search import SearchPage
from faceorganizer.library import FaceScope, PhotoScope, path_to_text

REFRESH_MS = 1000


class Pages(QObject):
    """Owns the page widgets inside ``stack``. ``page_changed(kind, ident)`` follows every switch."""

    page_changed = Signal(str, object)
    refreshed = Signal()

    def __init__(self, session: Session, stack: QStackedWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.stack = stack
        self.photos = PhotoGrid(session)
        self.people = PeoplePage(session)
        self.person = PersonPage(session)
        self.unsorted = FaceGrid(session)
        self.search = SearchPage(session)
        self.viewer = PhotoViewer(session)
        for w in (self.photos, self.people, self.person, self.unsorted, self.search, self.viewer):
            stack.addWidget(w)
        add = "Add a folder of photos (File ▸ Add folder…, Ctrl+O) or drop folders on this window."
        self.photos.view.empty_text = f"No photos here.\n\n{add}"
        self.people.view.empty_text = ("No people yet. People appear here while photos are imported: faces of "
                                       f"the same person are grouped for you to name.\n\n{add}")
        self.unsorted.view.empty_text = "No unsorted faces: every face found belongs to a person."
        self.search.hit_view.empty_text = ("Right-click any face and choose “Find this person”, or use "
                                           "File ▸ Find person in photo… to search with an outside photo.")
        self.empty_texts = {w: w.view.empty_text for w in (self.photos, self.people, self.unsorted)}
        self.empty_texts[self.search] = self.search.hit_view.empty_text
        self.kind = "people"
        self.ident: Any = None
        self.history: list[tuple[str, Any]] = []
        self.filter = FilterResult()
        self._stale: set[str] = set()
        self._loaded: set[str] = set()
        # The library as the pages are first read: the first poll must not re-read everything (with -1 it did,
        # 1 s after start, on the GUI thread, while the models loaded behind the window: a 50-180 ms stall).
        self._version = session.reader.data_version()
        self.person.back_requested.connect(lambda: self.show("people"))
        self.viewer.closed.connect(self.back)
        self.viewer.face_clicked.connect(self._face_clicked)
        nav = session.nav
        nav.open_person.connect(lambda pid: self.show("person", pid))
        nav.open_photo.connect(self.open_photo)
        nav.find_face.connect(self.find_face)
        session.edits.changed.connect(self.refresh_now)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    # ------------------------------------------------------------------ navigation
    def widget(self, kind: str) -> QWidget:
        return {"photos": self.photos, "folder": self.photos, "people": self.people, "person": self.person,
                "unsorted": self.unsorted, "search": self.search, "photo": self.viewer}[kind]

    def show(self, kind: str, ident: Any = None, *, remember: bool = True) -> None:
        if remember and (kind, ident) != (self.kind, self.ident) and self.kind != "photo":
            self.history.append((self.kind, self.ident))
            del self.history[:-50]
        same = (kind, ident) == (self.kind, self.ident) and kind in self._loaded
        self.kind, self.ident = kind, ident
        w = self.widget(kind)
        self.stack.setCurrentWidget(w)
        if not same or kind in self._stale:
            self._load(kind, ident)
        self.page_changed.emit(kind, ident)
        w.setFocus()

    def back(self) -> None:
        if self.history:
            kind, ident = self.history.pop()
            self.show(kind, ident, remember=False)

    def _set_empty_texts(self) -> None:
        """Under a filter an empty page says that nothing matches it (and how to clear it), not that the
        library has nothing of the kind."""
        expr = self.filter.expr or "the ticked people"
        nothing = f"Nothing here matches the filter “{expr}”.\n\nChange it in the filter panel or press Clear filter."
        for widget, text in self.empty_texts.items():
            view = widget.hit_view if widget is self.search else widget.view
            view.empty_text = nothing if self.filter.active else text
            view.viewport().update()
        self.person.faces.view.empty_text = nothing if self.filter.active else "No faces."

    def _load(self, kind: str, ident: Any) -> None:
        self._stale.discard(kind)
        self._loaded.add(kind)
        self._set_empty_texts()
        face_filter = self.filter.face_filter
        if kind in ("photos", "folder"):
            folder = None
            if kind == "folder" and ident:
                folder = path_to_text(str(ident)).rstrip(os.sep) + os.sep
            self.photos.set_scope(PhotoScope(folder=folder, all_people=self.filter.all_people, filter=face_filter))
        elif kind == "people":
            self.people.set_face_filter(face_filter, self.filter.match)
        elif kind == "unsorted":
            self.unsorted.set_scope(FaceScope("unsorted", filter=face_filter, order="newest"))
        elif kind == "person":
            self.person.show_person(int(ident), face_filter)
        elif kind == "search":
            self.search.set_face_filter(face_filter)

    def open_photo(self, photo_id: int, face_id: int = 0) -> None:
        sequence = self.photos.photo_ids() if self.kind in ("photos", "folder") else None
        if self.kind != "photo":
            self.history.append((self.kind, self.ident))
        self.kind, self.ident = "photo", photo_id
        self.stack.setCurrentWidget(self.viewer)
        self.viewer.show_photo(photo_id, face_id, sequence)
        self.page_changed.emit("photo", photo_id)
        self.viewer.setFocus()

    def _face_clicked(self, face_id: int) -> None:
        card = self.session.reader.face_cards([face_id]).get(face_id)
        if card is not None and card.person_id is not None:
            self.show("person", card.person_id)
        elif card is not None:
            self.find_face(face_id)

    # ------------------------------------------------------------------ refresh
    def _poll(self) -> None:
        version = self.session.reader.data_version()
        if version != self._version:
            self._version = version
            self.refresh_now()

    def refresh_now(self) -> None:
        """Re-read the visible page now; the others re-read when next shown."""
        self._stale.update({"photos", "folder", "people", "unsorted", "person", "search"} - {self.kind})
        w = self.stack.currentWidget()
        if hasattr(w, "refresh"):
            w.refresh()
        self.refreshed.emit()

    # ------------------------------------------------------------------ filter
    def set_filter(self, result: FilterResult) -> None:
        self.filter = result
        self._stale.update({"photos", "folder", "people", "unsorted", "person", "search"})
        if self.kind != "photo":
            self._load(self.kind, self.ident)

    # ------------------------------------------------------------------ search
    def find_face(self, face_id: int) -> None:
        """Find this person: faces like ``face_id``, ranked, on the search page."""
        card = self.session.reader.face_cards([face_id]).get(face_id)
        who = card.person_label if card and card.person_id else "this face"
        where = f" in {os.path.basename(card.photo)}" if card is not None else ""
        description = f"Faces like <b>{html.escape(who)}</b>{html.escape(where)}"
        self.search.set_pending(description, f"face:{face_id}")
        self.show("search")
        library = self.session.library
        self.session.start("Search", lambda _c: core.search_face(library, face_id),
                           on_done=lambda hits: self.search.set_results(description, hits, f"face:{face_id}"),
                           context="Find this person")

    def find_in_file(self, path: str, face_index: int) -> None:
        """Find the person of face ``face_index`` of an outside photo."""
        name = os.path.basename(path)
        description = f"Faces like face {face_index + 1} of <b>{name}</b>"
        self.search.set_pending(description, f"file:{path}")
        self.show("search")
        library = self.session.library

        def done(hits: list[Hit]) -> None:
            self.search.set_results(description, hits, f"file:{path}")

        self.session.start("Search", lambda _c: core.search_image(library, path, face_index), on_done=done,
                           context="Find person in photo")
