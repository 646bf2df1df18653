"""Drive the real window through its main pages on a real X server and report whether it fits the screen.

Run by ``tests/gui/test_xvfb.py`` as a subprocess (Qt reads ``QT_SCALE_FACTOR`` and ``DISPLAY`` once, at start)::

    python tests/gui/xfit.py --library LIB [--out DIR] [--tag NAME]

Prints one JSON object: the screen, and per page the window, dock and status-bar geometry (global, logical
pixels) with the checks; with ``--out`` it also saves a screenshot of the window per page (``TAG-PAGE.png``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def _settle(app, window, seconds: float = 0.6) -> None:  # noqa: ANN001
    deadline = time.monotonic() + 30
    end = time.monotonic() + seconds
    while time.monotonic() < end or (not window.session.idle and time.monotonic() < deadline):
        app.processEvents()
        time.sleep(0.01)


def _rect(widget) -> list[int]:  # noqa: ANN001
    top_left = widget.mapToGlobal(widget.rect().topLeft())
    return [top_left.x(), top_left.y(), widget.width(), widget.height()]


def _inside(inner: list[int], outer: list[int], slack: int = 1) -> bool:
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack
            and inner[0] + inner[2] <= outer[0] + outer[2] + slack and inner[1] + inner[3] <= outer[1] + outer[3] + slack)


def _show_import_status(window) -> None:  # noqa: ANN001
    """The status bar as a long import shows it (progress text, bar and Cancel), without running one."""
    from types import SimpleNamespace

    from faceorganizer.gui.views.status import describe_progress

    window.show_view("people")
    tick = SimpleNamespace(stage="analyze", photos_done=12_345, photos_total=98_765, faces_found=23_456, rate=9.7,
                           eta=7_000.0)
    text, done, total = describe_progress("Importing", tick)
    window.job_status.label.setText(text)
    window.job_status.bar.setRange(0, total)
    window.job_status.bar.setValue(done)
    window.job_status.show()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--library", required=True)
    parser.add_argument("--out")
    parser.add_argument("--tag", default="shot")
    args = parser.parse_args()

    from PySide6.QtCore import QSettings

    from faceorganizer.gui.main import make_app
    from faceorganizer.gui.mainwindow import MainWindow
    from faceorganizer.library import Library
    from faceorganizer.settings import updated

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    app = make_app([], preload=False)
    lib = Library.open(args.library)
    lib.settings = updated(lib.settings, write_xmp=False, workers=1)
    window = MainWindow(lib, restore=False)
    window.errors.interactive = False
    window.show()
    _settle(app, window, 1.0)
    screen = window.screen().availableGeometry()
    screen_rect = [screen.x(), screen.y(), screen.width(), screen.height()]

    people = [p for p in lib.people() if p.name] or lib.people()
    person = max(people, key=lambda p: p.face_count)
    group_photo = max((f.photo_id for f in lib.faces()), key=lambda pid: len(lib.faces("f.photo_id = ?", [pid])))
    pages: list[tuple[str, object]] = [
        ("people", lambda: window.show_view("people")),
        ("photos", lambda: window.show_view("photos")),
        ("unsorted", lambda: window.show_view("unsorted")),
        ("person", lambda: window.show_view("person", person.id)),
        ("person-summary", lambda: window.pages.person.tabs.setCurrentIndex(2)),
        ("person-maynotbelong", lambda: window.pages.person.tabs.setCurrentIndex(3)),
        ("search", lambda: window.session.nav.find_face.emit(person.face_ids[0])),
        ("search-grouped", lambda: window.pages.search.group.setChecked(True)),
        ("filter", lambda: (window.show_view("people"), window.filters.set_expression("age>=30 and smiling"))),
        ("viewer", lambda: window.session.nav.open_photo.emit(group_photo, 0)),
        ("importing", lambda: _show_import_status(window)),
    ]
    report: dict[str, object] = {"screen": screen_rect, "scale": app.devicePixelRatio(), "pages": {}}
    for name, go in pages:
        go()
        _settle(app, window)
        frame = window.frameGeometry()
        win = [frame.x(), frame.y(), frame.width(), frame.height()]
        docks = {d.objectName(): {"visible": d.isVisible(), "rect": _rect(d),
                                  "min_width": d.minimumSizeHint().width()}
                 for d in (window.nav_dock, window.filter_dock)}
        bar = window.statusBar()
        status = {"visible": bar.isVisible(), "rect": _rect(bar)}
        cancel = window.job_status.cancel
        checks = {
            "cancel_on_screen": (not window.job_status.isVisible()
                                 or (cancel.isVisible() and _inside(_rect(cancel), screen_rect))),
            "window_fits": _inside(win, screen_rect),
            "docks_visible": all(d["visible"] for d in docks.values()),
            "docks_on_screen": all(_inside(d["rect"], screen_rect) for d in docks.values() if d["visible"]),
            "status_bar_on_screen": status["visible"] and _inside(status["rect"], screen_rect),
            "central_usable": window.centralWidget().width() >= 200 and window.centralWidget().height() >= 150,
            # The filter panel scrolls only vertically: wider than its viewport, its right edge is cut off.
            "filter_panel_unclipped": (not window.filter_dock.isVisible()
                                       or window.filters.width() <= window.filters.parentWidget().width()),
        }
        report["pages"][name] = {"window": win, "docks": docks, "status_bar": status, "checks": checks}
        if args.out:
            Path(args.out).mkdir(parents=True, exist_ok=True)
            window.grab().save(str(Path(args.out) / f"{args.tag}-{name}.png"))
            if name == "filter":  # the whole panel, also what lies below the dock's fold
                window.filters.grab().save(str(Path(args.out) / f"{args.tag}-filter-panel.png"))
    window.filters.clear()
    _settle(app, window, 0.2)
    window.close()
    lib.close()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
