"""Screenshots of the real main window on the real shared photos, for looking at the GUI as a user would.

    .venv/bin/python bench/gui_screenshots.py [OUT_DIR] [--size 1400x900] [--library DIR] [--photos DIR]

Imports ``../shared/faces`` (111 photos, 21 people, group photos) into a new library in a temporary folder
through the window's own import (``MainWindow.import_paths``, the File ▸ Add folder… path), names a few people
through the window's edit controller, then drives the window like a user and saves PNGs to ``OUT_DIR``
(default ``bench/screenshots/``, ignored by git):

    01-main-after-import.png     the window as the import finishes (people grid, status bar counts)
    02-people-grid.png           the people grid, every cover loaded
    03-person-faces.png          one named person's page, "Faces" tab
    04-person-summary.png        the same person's "Summary" tab (attribute charts + mean face)
    05-search-results.png        "Find this person" from one of their faces
    06-filter-panel.png          the filter panel with gender=female and an age range applied (photos view)
    07-photo-viewer-group.png    the photo viewer on a group photo, face boxes and names
    08-photos-grid.png           all photos
    09-unsorted-faces.png        faces in no group yet

Runs offscreen (``QT_QPA_PLATFORM=offscreen``) unless a display is set; ``--library DIR`` reuses (or
creates and keeps) a library so that re-shooting after a GUI change skips the import (01 then shows the
names given on the first run). User settings and
window state go to the temporary folder, never to the user's own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main_faces_by_identity(lib, photos: Path) -> dict[str, list[int]]:  # noqa: ANN001
    """identity → the largest face of each of its ``identities/`` photos (through the Library's face list)."""
    root = str(photos / "identities") + os.sep
    best: dict[str, tuple[float, int]] = {}
    for face in lib.faces():
        if face.photo.startswith(root):
            area = face.box[2] * face.box[3]
            if face.photo not in best or area > best[face.photo][0]:
                best[face.photo] = (area, face.id)
    out: dict[str, list[int]] = {}
    for photo in sorted(best):
        out.setdefault(Path(photo).parent.name, []).append(best[photo][1])
    return out


def person_of(lib, face_ids: list[int]) -> int | None:  # noqa: ANN001
    """The person holding most of ``face_ids`` (None when none is assigned)."""
    from collections import Counter

    wanted = set(face_ids)
    votes = Counter(f.person_id for f in lib.faces() if f.id in wanted and f.person_id is not None)
    return votes.most_common(1)[0][0] if votes else None
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _isolate(tmp: Path) -> None:
    """Settings, data and logs of this run live in ``tmp``; the installed model weights are shared."""
    from faceorganizer import paths

    os.environ.setdefault("FACEORGANIZER_MODELS_DIR", str(paths.models_dir()))
    for name in ("DATA", "CONFIG", "LOG"):
        os.environ[f"FACEORGANIZER_{name}_DIR"] = str(tmp / name.lower())


def _wait(app, cond, timeout: float = 60.0, what: str = "") -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what or cond}")
        app.processEvents()
        time.sleep(0.01)


def _settle(app, window, ms: int = 300) -> None:  # noqa: ANN001
    """Wait for jobs and thumbnail decodes, then let queued signals and repaints through."""
    _wait(app, lambda: window.session.idle, 120, "the window to be idle")
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    _wait(app, lambda: window.session.idle, 120, "the window to be idle")


def _visible_keys(view) -> list[str]:  # noqa: ANN001
    """Thumbnail keys of the grid tiles inside ``view``'s viewport."""
    model = view.model()
    area = view.viewport().rect()
    keys = []
    for row in range(model.rowCount()):
        if view.visualRect(model.index(row, 0)).intersects(area):
            key = model.thumb_key(model.card(row))
            if key:
                keys.append(key)
    return keys


def _wait_thumbs(app, window, *views, timeout: float = 60.0) -> None:  # noqa: ANN001
    """Wait until every visible tile of ``views`` shows its thumbnail (or the thumbnail is known broken)."""
    thumbs = window.session.thumbs

    def loaded() -> bool:
        missing = [k for v in views if v.isVisible() for k in _visible_keys(v)
                   if thumbs.pixmap(k) is None and k not in thumbs.broken]
        return not missing

    _wait(app, loaded, timeout, "thumbnails")
    for v in views:
        v.viewport().update()
    _settle(app, window, 150)


def _shoot(app, widget, out: Path, name: str) -> Path:  # noqa: ANN001
    app.processEvents()
    path = out / name
    if not widget.grab().save(str(path)):
        raise OSError(f"cannot write {path}")
    print(f"  {path}")
    return path


def _group_photo(lib, photos: Path) -> int:  # noqa: ANN001
    """The group photo with most faces, at least one of them named (boxes with names and without)."""
    root = str(photos / "groups")
    rows = list(lib.db.query(
        "SELECT p.id, COUNT(f.id) AS n, SUM(pe.name IS NOT NULL) AS named FROM photos p "
        "JOIN faces f ON f.photo_id = p.id LEFT JOIN assignments a ON a.face_id = f.id "
        "LEFT JOIN people pe ON pe.id = a.person_id WHERE substr(p.path, 1, ?) = ? "
        "GROUP BY p.id ORDER BY named > 0 DESC, n BETWEEN 3 AND 8 DESC, n DESC", [len(root), root]))
    return rows[0]["id"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default=str(REPO / "bench" / "screenshots"), help="folder for the PNGs")
    ap.add_argument("--size", default="1400x900", help="window size, WxH (default 1400x900)")
    ap.add_argument("--photos", default=str(REPO.parent / "shared" / "faces"), help="photos to import")
    ap.add_argument("--library", help="library folder to use (kept; imported only when new)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    photos = Path(args.photos).resolve()
    width, height = (int(v) for v in args.size.lower().split("x"))
    if not (photos / "manifest.json").is_file():
        print(f"no photos at {photos} (expected ../shared/faces beside the repo)", file=sys.stderr)
        return 2

    tmp_ctx = tempfile.TemporaryDirectory(prefix="fo-shots-")
    tmp = Path(tmp_ctx.name)
    _isolate(tmp)
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "qsettings"))

    from faceorganizer.gui.main import make_app
    from faceorganizer.gui.mainwindow import MainWindow
    from faceorganizer.library import Library
    from faceorganizer.settings import updated

    folder = Path(args.library) if args.library else tmp / "library"
    from faceorganizer.library import DB_NAME

    new = not (folder / DB_NAME).exists()
    app = make_app([])
    lib = Library.open(folder)
    lib.settings = updated(lib.settings, workers=1)  # two cores: keep one for the GUI thread
    window = MainWindow(lib, restore=False)
    window.errors.interactive = False
    window.resize(width, height)
    window.show()
    _wait(app, lambda: window.isVisible(), 10, "the window")
    try:
        if new or lib.stats().photos == 0:
            print(f"importing {photos} into {folder} …")
            done: list[object] = []
            window.importer.finished.connect(done.append)
            t0 = time.monotonic()
            window.import_paths([photos])
            _wait(app, lambda: bool(done), 1800, "the import")
            print(f"  imported in {time.monotonic() - t0:.0f} s: {window.stats.text()}")
            if window.skipped_dialog is not None:
                window.skipped_dialog.close()
        _settle(app, window)
        window.show_view("people")
        _settle(app, window)
        _wait_thumbs(app, window, window.pages.people.view)
        _shoot(app, window, out, "01-main-after-import.png")

        # Name the identities with most photos, every other one (a library half sorted), like a user would.
        mains = main_faces_by_identity(lib, photos)
        people = {i: p for i, faces in mains.items() if (p := person_of(lib, faces)) is not None}
        order = sorted(people, key=lambda i: (-len(mains[i]), i))
        named = {}
        for n, identity in enumerate(order):
            card = window.session.reader.person(people[identity])
            if n % 2 == 0 and card is not None and not card.name:
                named[identity] = identity.replace("_", " ").title()
                window.session.edits.rename(people[identity], named[identity])
            elif card is not None and card.name:
                named[identity] = card.name
        _settle(app, window, 1200)  # edits, then the once-a-second refresh
        window.pages.refresh_now()
        _settle(app, window)
        _wait_thumbs(app, window, window.pages.people.view)
        _shoot(app, window, out, "02-people-grid.png")

        star = next(i for i in order if i in named)
        pid = people[star]
        window.session.nav.open_person.emit(pid)
        page = window.pages.person
        _settle(app, window)
        _wait(app, lambda: page.cover.pixmap() is not None and not page.cover.pixmap().isNull(), 20, "the cover")
        _wait_thumbs(app, window, page.faces.view)
        _shoot(app, window, out, "03-person-faces.png")
        page.tabs.setCurrentWidget(page.summary)
        _wait(app, lambda: page.summary.summary is not None, 120, "the summary")
        _settle(app, window)
        _shoot(app, window, out, "04-person-summary.png")

        window.session.nav.find_face.emit(mains[star][0])
        search = window.pages.search
        _wait(app, lambda: len(search.hits.hits) > 0, 120, "search results")
        _settle(app, window)
        _wait_thumbs(app, window, search.hit_view)
        _shoot(app, window, out, "05-search-results.png")

        window.show_view("photos")
        panel = window.filters
        window.filter_dock.show()
        panel.gender.setCurrentText("female")
        panel.age_on.setChecked(True)
        panel.age_min.setValue(20)
        panel.age_max.setValue(45)
        panel.apply()
        _settle(app, window)
        _wait_thumbs(app, window, window.pages.photos.view)
        _shoot(app, window, out, "06-filter-panel.png")
        panel.clear()
        _settle(app, window)

        photo = _group_photo(lib, photos)
        window.session.nav.open_photo.emit(photo, 0)
        full = f"full:{photo}"
        _wait(app, lambda: window.session.thumbs.pixmap(full, request=False) is not None
              or full in window.session.thumbs.broken, 60, "the full-size photo")
        _settle(app, window)
        _shoot(app, window, out, "07-photo-viewer-group.png")
        window.pages.back()

        window.show_view("photos")
        _settle(app, window)
        _wait_thumbs(app, window, window.pages.photos.view)
        _shoot(app, window, out, "08-photos-grid.png")
        window.show_view("unsorted")
        _settle(app, window)
        _wait_thumbs(app, window, window.pages.unsorted.view)
        _shoot(app, window, out, "09-unsorted-faces.png")
        (out / "info.json").write_text(json.dumps({"library": str(folder), "person": star, "person_id": pid,
                                                   "group_photo": photo, "named": named}, indent=1))
        errors = [e for e in window.errors.history if not e.expected]
        for e in errors:
            print("error shown to the user:", e.details, file=sys.stderr)
        return 1 if errors else 0
    finally:
        window.close()
        app.processEvents()
        lib.close()
        tmp_ctx.cleanup()


if __name__ == "__main__":
    sys.exit(main())
