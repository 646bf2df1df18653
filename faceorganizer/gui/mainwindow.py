"""The main window: assembles the sidebar, the central pages, the filter dock, menus, toolbar and status bar.

Behaviour lives elsewhere: pages and flows in :mod:`gui.pages`, edits in :mod:`gui.edits`, the import in
:mod:`gui.views.imports`. Window geometry and the last view are kept in ``QSettings`` (window state only);
the library path is a user setting (``faceorganizer.settings``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import shiboken6
from PySide6.QtCore import QEvent, QSettings, QSize, QStandardPaths, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence, QPainter
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QFrame, QLabel, QMainWindow, QMessageBox, QScrollArea,
                               QStackedWidget, QToolBar, QVBoxLayout, QWidget)

from faceorganizer import __version__
from faceorganizer.gui import icons
from faceorganizer.gui.errors import ErrorReporter
from faceorganizer.gui.pages import Pages
from faceorganizer.gui.session import Session
from faceorganizer.gui.views.filters import FilterBar, FilterPanel
from faceorganizer.gui.views.find_photo import FindInPhotoDialog
from faceorganizer.gui.views.imports import ImportController, SkippedDialog
from faceorganizer.gui.views.review import ReviewDialog, SplitDialog
from faceorganizer.gui.views.settings_dialog import SettingsDialog
from faceorganizer.gui.views.sidebar import Sidebar
from faceorganizer.gui.views.status import JobStatus
from faceorganizer.library import Library

PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.webp *.tif *.tiff *.bmp *.gif *.heic);;All files (*)"
VIEW_KINDS = ("photos", "people", "unsorted", "search")


class ElidedLabel(QLabel):
    """A one-line label that shrinks with "…" instead of widening its parent (status bar counts)."""

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(60, super().minimumSizeHint().height())

    def paintEvent(self, event) -> None:  # noqa: ANN001, N802
        painter = QPainter(self)
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.width())
        painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text)


def pictures_folder() -> str:
    """Where file dialogs open: the user's Pictures folder (as the anchors do), else their home."""
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return pictures if pictures and Path(pictures).is_dir() else str(Path.home())


class _TwinAction(QAction):
    """Triggers ``action`` and follows its enabled state; a bound-method slot, so Qt disconnects it when either
    side is destroyed (a lambda would outlive this action at shutdown)."""

    def __init__(self, action: QAction, text: str, parent: QWidget) -> None:
        super().__init__(action.icon(), text, parent)
        self.action = action
        self.setData(action.data())
        action.changed.connect(self.sync)
        self.triggered.connect(self.forward)
        self.sync()

    def sync(self) -> None:
        if not (shiboken6.isValid(self) and shiboken6.isValid(self.action)):  # the window is being torn down
            return
        self.setEnabled(self.action.isEnabled())
        full = self.action.text().replace("&", "")
        keys = self.action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        self.setToolTip(f"{full} ({keys})" if keys else full)

    def forward(self) -> None:
        self.action.trigger()


class MainWindow(QMainWindow):
    """One window on one library."""

    def __init__(self, library: Library, *, restore: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.owns_library = False
        self.errors = ErrorReporter(self)
        self.session = Session(library, self.errors, self)
        self.setWindowTitle(f"FaceOrganizer — {library.folder}")
        self.setWindowIcon(icons.app_icon())
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        central = QWidget(self)
        self.stack = QStackedWidget(central)
        self.filter_bar = FilterBar(central)
        box = QVBoxLayout(central)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.filter_bar)
        box.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.pages = Pages(self.session, self.stack, self)
        self.sidebar = Sidebar(self.session.reader, self)
        self.sidebar.selected.connect(self._sidebar_selected)
        self.sidebar.faces_dropped.connect(lambda faces, pid: self.session.edits.move(faces, pid))
        self.nav_dock = self._dock("Navigation", "navigation", self.sidebar, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.filters = FilterPanel(self.session, self)
        self.filters.changed.connect(self.pages.set_filter)
        self.filters.changed.connect(lambda _r: self._update_filter_bar())
        self.filter_bar.clear_requested.connect(self.filters.clear)
        scroller = QScrollArea(self)
        scroller.setWidget(self.filters)
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroller.setMinimumWidth(220)
        self.filter_dock = self._dock("Filter", "filter", scroller, Qt.DockWidgetArea.RightDockWidgetArea)

        self.job_status = JobStatus(self)
        # The counts give way to the job's progress and Cancel on a narrow screen: elided, full text in the tooltip.
        self.stats = ElidedLabel(self)
        # Permanent, so that passing messages ("Done: rename …") do not hide the library's counts.
        self.statusBar().addPermanentWidget(self.job_status)
        self.statusBar().addPermanentWidget(self.stats)
        self.importer = ImportController(self.session, self.job_status, self)
        self.importer.finished.connect(self._import_finished)
        self.importer.reembedded.connect(lambda _p: (self.pages.refresh_now(), self._refresh_chrome()))
        # Faces embedded under other settings (an older version's defaults, or flip fusion switched
        # elsewhere) are brought up to date in the background once the window is up.
        QTimer.singleShot(0, self.importer.reembed_if_needed)
        self.session.nav.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.session.edits.applied.connect(lambda text, _r: self.statusBar().showMessage(f"Done: {text}", 4000))
        self.pages.refreshed.connect(self._refresh_chrome)
        self.pages.refreshed.connect(self._update_filter_bar)
        # The people list re-reads in a worker: count what is shown once it has arrived, not before.
        self.pages.people.model.applied.connect(self._update_filter_bar)
        self.pages.page_changed.connect(self._page_changed)
        self.pages.people.review_requested.connect(self.review)
        self.pages.people.split_requested.connect(self.split)
        self.pages.person.review_requested.connect(self.review)
        self.pages.person.split_requested.connect(self.split)
        self.skipped_dialog: SkippedDialog | None = None

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._refresh_chrome()
        start_view = "people"
        self._geometry_restored = False  # set by _restore_state when a saved window size exists
        if restore:
            start_view = self._restore_state()
        if start_view == "search":  # a search is not kept across restarts: its page would open empty
            start_view = "people"
        if self.session.reader.counts().photos == 0:
            # Nothing to filter yet: the filter panel would only take room beside "Add a folder" (Ctrl+L opens it).
            self.filter_dock.hide()
        # A first start (no saved size) gets the default size, not Qt's 640×480.
        self.fit_to_screen(restored=self._geometry_restored)
        self.show_view(start_view if start_view in VIEW_KINDS else "people")

    def fit_to_screen(self, *, restored: bool = False) -> None:
        """Size the window to the screen it opens on: 1280×820 where that fits, else the available area
        (at 150 % scaling a 1366×768 screen has 911×512 logical pixels); never larger than the screen."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(1280, 820)
            return
        area = screen.availableGeometry()
        frame = 0 if self.isVisible() else 32  # title bar and borders the window manager adds
        want_w = min(self.width() if restored else 1280, area.width())
        want_h = min(self.height() if restored else 820, area.height() - frame)
        self.resize(max(want_w, 200), max(want_h, 200))
        if not area.contains(self.frameGeometry()):
            self.move(area.topLeft())
        # The docks leave the page most of the width, on a small or scaled screen too.
        width = self.width()
        self.resizeDocks([self.nav_dock, self.filter_dock], [min(240, int(width * 0.18)), min(320, int(width * 0.27))],
                         Qt.Orientation.Horizontal)

    # ------------------------------------------------------------------ assembly
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot: Callable, shortcut: str | QKeySequence.StandardKey | None = None,
                tip: str = "", icon: str | None = None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setToolTip(tip)
            act.setStatusTip(tip)
        if icon:
            act.setIcon(icons.icon(icon))
            act.setData(icon)
        act.triggered.connect(lambda _checked=False: slot())
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        a = self._action
        stack = self.session.edits.stack
        self.act_add_folder = a("&Add folder…", self.add_folder_dialog, "Ctrl+O",
                                "Import a folder of photos (it is scanned in the background)", "add-folder")
        self.act_add_photos = a("Add &photos…", self.add_photos_dialog, "Ctrl+Shift+O", "Import single photos")
        self.act_find_photo = a("&Find person in photo…", self.find_in_photo_dialog, "Ctrl+Shift+F",
                                "Pick a face in any photo and find that person in the library", "find-in-photo")
        self.act_report = a("Import &report…", self.show_import_report, None,
                            "Files that were not imported, and folders that are offline")
        self.act_settings = a("&Settings…", self.settings_dialog, QKeySequence.StandardKey.Preferences,
                              "Thresholds, devices and file options", "settings")
        if self.act_settings.shortcut().isEmpty():
            self.act_settings.setShortcut(QKeySequence("Ctrl+,"))
        self.act_quit = a("&Quit", self.close, "Ctrl+Q", "Quit FaceOrganizer")
        self.act_undo = stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence("Ctrl+Z"))
        self.act_undo.setIcon(icons.icon("undo"))
        self.act_undo.setData("undo")
        self.act_redo = stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.act_redo.setIcon(icons.icon("redo"))
        self.act_redo.setData("redo")
        self.addActions([self.act_undo, self.act_redo])
        self.act_rename = a("Re&name person", self._rename, "F2", "Rename the selected person", "rename")
        self.act_merge = a("&Merge people", self.pages.people.merge_selected, "Ctrl+M",
                           "Merge the selected people into one", "merge")
        self.act_review = a("&Is this…? Review", self._review_current, "Ctrl+R",
                            "Review faces that are probably the selected person (Y/N/S)", "review")
        self.act_split = a("&Split person…", self._split_current, None, "Split the selected person in two", "split")
        self.act_hide = a("&Hide person", self._hide_current, "Ctrl+H", "Hide or show the selected "
                          "people", "hide")
        self.act_find_people = a("Search &people…", self._search_people, "Ctrl+Shift+P",
                                 "Find a person by name on the People page", "search")
        self.act_regroup = a("Re&group people", self.pages.people.regroup_now, None,
                             "Group the unnamed faces again (names and confirmed faces never move)", "refresh")
        self.act_new_library = a("&New library…", self.new_library_dialog, "Ctrl+Shift+N",
                                 "Create an empty library in a folder you choose and open it")
        self.act_open_library = a("Open &library…", self.open_library_dialog, "Ctrl+Shift+L",
                                  "Open another FaceOrganizer library folder")
        self.act_views = []
        for i, (kind, label, icon) in enumerate([("photos", "All &photos", "photos"), ("people", "&People", "people"),
                                                 ("unsorted", "&Unsorted faces", "unsorted"),
                                                 ("search", "&Search results", "search")], 1):
            act = a(label, lambda k=kind: self.show_view(k), f"Ctrl+{i}", f"Show {label.replace('&', '').lower()}",
                    icon)
            self.act_views.append(act)
        self.act_back = a("&Back", self.pages.back, QKeySequence.StandardKey.Back, "Back to the previous view")
        self.act_refresh = a("&Refresh", self.pages.refresh_now, "F5", "Re-read the library", "refresh")
        self.act_filter = self.filter_dock.toggleViewAction()
        self.act_filter.setText("&Filter panel")
        self.act_filter.setShortcut(QKeySequence("Ctrl+L"))
        self.act_filter.setIcon(icons.icon("filter"))
        self.act_filter.setData("filter")
        self.act_filter.setToolTip("Show or hide the filter panel (Ctrl+L)")
        self.act_nav = self.nav_dock.toggleViewAction()
        self.act_nav.setText("&Navigation panel")
        self.act_cancel = a("&Cancel job", self._cancel_jobs, None, "Stop the running import", "cancel")
        self.act_about = a("&About FaceOrganizer", self.about, None, "Version and where data is kept")
        self.act_shortcuts = a("&Keyboard shortcuts", self.shortcuts_help, "F1", "All keyboard shortcuts")
        self.act_logs = a("Open &log folder", self._open_logs, None, "The folder holding the log files")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        m.addActions([self.act_new_library, self.act_open_library])
        m.addSeparator()
        m.addActions([self.act_add_folder, self.act_add_photos])
        m.addSeparator()
        m.addAction(self.act_find_photo)
        m.addAction(self.act_report)
        m.addSeparator()
        m.addAction(self.act_settings)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = bar.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addActions([self.act_rename, self.act_merge, self.act_hide])
        m = bar.addMenu("&View")
        m.addActions(self.act_views)
        m.addAction(self.act_find_people)
        m.addSeparator()
        m.addActions([self.act_back, self.act_refresh])
        m.addSeparator()
        m.addActions([self.act_nav, self.act_filter])
        m = bar.addMenu("&People")
        m.addActions([self.act_review, self.act_split, self.act_merge, self.act_rename, self.act_hide])
        m.addSeparator()
        m.addAction(self.act_regroup)
        m = bar.addMenu("&Help")
        m.addActions([self.act_shortcuts, self.act_logs, self.act_about])
        for menu in bar.findChildren(type(m)):
            menu.setToolTipsVisible(True)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main", self)
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addActions([self.act_add_folder, self.act_find_photo])
        tb.addSeparator()
        tb.addActions([self._toolbar_twin(self.act_undo, "Undo"), self._toolbar_twin(self.act_redo, "Redo")])
        tb.addSeparator()
        tb.addActions(self.act_views[:3])
        tb.addSeparator()
        tb.addAction(self.act_filter)
        self.addToolBar(tb)
        self.toolbar = tb

    def _toolbar_twin(self, action: QAction, text: str) -> QAction:
        """A toolbar button for ``action`` with a short fixed label (the menu keeps "Undo rename to …"); the full
        text goes to the tooltip, so the toolbar does not change width with every edit."""
        return _TwinAction(action, text, self)

    # ------------------------------------------------------------------ views
    def show_view(self, kind: str, ident: object = None) -> None:
        self.pages.show(kind, ident)

    def _sidebar_selected(self, kind: str, ident: object) -> None:
        self.pages.show(kind, ident)

    def _page_changed(self, kind: str, ident: object) -> None:
        if kind != "photo":
            self.sidebar.select(kind, ident)
        target = {"photos": "photos", "folder": "photos in this folder", "people": "people (who have such faces)",
                  "person": "this person's faces", "unsorted": "unsorted faces", "search": "search results",
                  "photo": "the grids (not a single photo)"}.get(kind, kind)
        self.filters.set_target(target)
        self._update_filter_bar()
        self.act_merge.setEnabled(kind == "people")
        self.act_hide.setEnabled(kind in ("people", "person"))

    def _update_filter_bar(self) -> None:
        """Show, above the page, that a filter hides part of it and how much is left."""
        result = self.filters.result
        if not result.active or self.pages.kind == "photo":
            self.filter_bar.hide()
            return
        models = {"photos": (self.pages.photos.model, "photo"), "folder": (self.pages.photos.model, "photo"),
                  "people": (self.pages.people.model, "person"), "unsorted": (self.pages.unsorted.model, "face"),
                  "person": (self.pages.person.faces.model, "face"), "search": (self.pages.search.hits, "face")}
        model, noun = models.get(self.pages.kind, (None, ""))
        count = ""
        if model is not None:
            n = model.rowCount()
            more = "+" if model.canFetchMore() else ""
            plural = {"person": "people"}.get(noun, noun + "s") if n != 1 else noun
            count = f"{n:,}{more} {plural} shown"
        what = result.expr or "the ticked people are all in the photo"
        self.filter_bar.set_text(what, count)
        self.filter_bar.show()

    def _refresh_chrome(self) -> None:
        counts = self.session.reader.counts()
        text = (f"{counts.photos:,} photos · {counts.faces:,} faces · {counts.people:,} people"
                + (f" · {counts.skipped:,} skipped" if counts.skipped else ""))
        self.stats.setText(text)
        self.stats.setToolTip(text)
        self.sidebar.refresh(counts)
        self.filters.reload_choices()

    # ------------------------------------------------------------------ import
    def import_paths(self, paths: Sequence[str | os.PathLike]):
        """Import folders and photos: the code path of File ▸ Add folder… and of drag-and-drop."""
        return self.importer.import_paths(paths)

    def add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add folder", pictures_folder())
        if folder:
            self.import_paths([folder])

    def add_photos_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add photos", pictures_folder(), PHOTO_FILTER)
        if files:
            self.import_paths(files)

    def _import_finished(self, progress: object) -> None:
        self.pages.refresh_now()
        self._refresh_chrome()
        skipped = list(getattr(progress, "skipped", []) or [])
        offline = self.session.reader.offline_roots()
        if skipped or offline:
            self.show_import_report(skipped, offline)

    def show_import_report(self, skipped: list | None = None, offline: list | None = None) -> SkippedDialog:
        if skipped is None:
            skipped = self.session.reader.skipped()
        if offline is None:
            offline = self.session.reader.offline_roots()
        if self.skipped_dialog is not None:
            self.skipped_dialog.close()
        self.skipped_dialog = SkippedDialog(skipped, offline, self)
        self.skipped_dialog.destroyed.connect(lambda: setattr(self, "skipped_dialog", None))
        self.skipped_dialog.show()
        return self.skipped_dialog

    def _cancel_jobs(self) -> None:
        self.importer.cancel()

    def dragEnterEvent(self, event) -> None:  # noqa: ANN001
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: ANN001
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.import_paths(paths)
            event.acceptProposedAction()

    # ------------------------------------------------------------------ people actions
    def _rename(self) -> None:
        if self.pages.kind == "person":
            self.pages.person.rename()
        else:
            self.show_view("people") if self.pages.kind != "people" else None
            self.pages.people.rename_selected()

    def _search_people(self) -> None:
        self.show_view("people")
        self.pages.people.search.setFocus()
        self.pages.people.search.selectAll()

    def _hide_current(self) -> None:
        if self.pages.kind == "person":
            self.pages.person.toggle_hidden()
        else:
            self.pages.people.hide_selected()

    def _current_person(self) -> int | None:
        if self.pages.kind == "person":
            return self.pages.person.person_id
        if self.pages.kind == "people":
            return self.pages.people.view.current_id()
        return None

    def _review_current(self) -> None:
        pid = self._current_person()
        if pid is not None:
            self.review(pid)

    def _split_current(self) -> None:
        pid = self._current_person()
        if pid is not None:
            self.split(pid)

    def review(self, person_id: int) -> ReviewDialog:
        dialog = ReviewDialog(self.session, person_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def split(self, person_id: int) -> SplitDialog:
        dialog = SplitDialog(self.session, person_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    # ------------------------------------------------------------------ find person in photo
    def find_in_photo_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Find person in photo", pictures_folder(), PHOTO_FILTER)
        if path:
            self.find_in_photo(path)

    def find_in_photo(self, path: str, face_index: int | None = None) -> FindInPhotoDialog | None:
        """Pick a face of an outside photo (dialog), or search face ``face_index`` directly."""
        if face_index is not None:
            self.pages.find_in_file(path, face_index)
            return None
        dialog = FindInPhotoDialog(self.session, path, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: dialog.chosen is not None and self.pages.find_in_file(path, dialog.chosen))
        dialog.open()
        return dialog

    # ------------------------------------------------------------------ libraries
    def new_library_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "New library: choose an empty folder", str(Path.home()))
        if folder:
            self.switch_library(folder, create=True)

    def open_library_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open library", str(self.library.folder.parent))
        if folder:
            self.switch_library(folder, create=False)

    def switch_library(self, folder: str, *, create: bool) -> MainWindow | None:
        """Open the library in ``folder`` (creating it when asked) in a new window that replaces this one."""
        from faceorganizer.library import LibraryError
        from faceorganizer.settings import save_settings, updated

        try:
            library = Library.open(folder, create=create, settings=self.library.settings)
        except LibraryError as exc:
            self.errors.show(exc, "Open library")
            return None
        library.settings = updated(library.settings, library=str(library.folder))
        try:
            save_settings(library.settings)
        except OSError as exc:  # not remembering it must not stop the switch
            self.statusBar().showMessage(f"Cannot remember the library: {exc}", 8000)
        window = MainWindow(library, restore=False)
        window.owns_library = True
        window.errors.interactive = self.errors.interactive
        window.show()
        self.close()
        return window

    # ------------------------------------------------------------------ settings, help
    def settings_dialog(self) -> None:
        dialog = SettingsDialog(self.library.settings, self)
        if dialog.exec():
            self.library.settings = dialog.settings
            self.importer.reembed_if_needed()  # flip fusion changed: the faces follow (names and edits kept)

    def about(self) -> None:
        QMessageBox.about(self, "About FaceOrganizer",
                          f"<b>FaceOrganizer {__version__}</b><br>Find, group and search the people in your photos, "
                          f"locally.<br><br>Library: {self.library.folder}")

    def shortcuts_help(self) -> None:
        lines = []
        for act in self.findChildren(QAction):
            if not act.shortcut().isEmpty() and act.text():
                lines.append(f"<tr><td>{act.text().replace('&', '')}</td>"
                             f"<td><b>{act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)}</b></td></tr>")
        extra = ("<tr><td>Review: yes / no / skip</td><td><b>Y / N / S</b></td></tr>"
                 "<tr><td>Not this person (in a face grid)</td><td><b>Del</b></td></tr>"
                 "<tr><td>Photo viewer: previous / next / fit</td><td><b>← / → / 0</b></td></tr>")
        QMessageBox.information(self, "Keyboard shortcuts", "<table>" + "".join(sorted(set(lines))) + extra
                                + "</table>")

    def _open_logs(self) -> None:
        from faceorganizer import paths

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.log_dir())))

    # ------------------------------------------------------------------ state, palette, shutdown
    def _qsettings(self) -> QSettings:
        return QSettings("FaceOrganizer", "FaceOrganizer")

    def _restore_state(self) -> str:
        qs = self._qsettings()
        geometry = qs.value("window/geometry")
        if geometry is not None:
            self._geometry_restored = bool(self.restoreGeometry(geometry))
        state = qs.value("window/state")
        if state is not None:
            self.restoreState(state)
        return str(qs.value("window/view", "people"))

    def save_state(self) -> None:
        qs = self._qsettings()
        qs.setValue("window/geometry", self.saveGeometry())
        qs.setValue("window/state", self.saveState())
        kind = self.pages.kind if self.pages.kind in VIEW_KINDS else "people"
        qs.setValue("window/view", kind)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            icons.clear_cache()
            for act in self.findChildren(QAction):
                name = act.data()
                if isinstance(name, str) and name:
                    act.setIcon(icons.icon(name))
        super().changeEvent(event)

    def closeEvent(self, event) -> None:  # noqa: ANN001
        self.save_state()
        self.pages.timer.stop()
        self.importer.cancel()
        self.session.close()
        if self.owns_library:  # a library opened from File ▸ Open/New library: this window closes it
            self.library.close()
        super().closeEvent(event)
