"""The desktop app driven like a user would: real window, real library, the same actions as the menus."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QLineEdit

from tests.gui.conftest import wait_idle


def _people_names(window) -> dict[int, str | None]:  # noqa: ANN001
    model = window.pages.people.model
    return {model.id_at(r): model.card(r).name for r in range(model.rowCount())}


def _select(view, ids: list[int]) -> None:  # noqa: ANN001
    model = view.model()
    sel = view.selectionModel()
    sel.clearSelection()
    for i, item in enumerate(ids):
        ix = model.index(model.row_of(item), 0)
        flags = QItemSelectionModel.SelectionFlag.Select
        if i == 0:
            view.setCurrentIndex(ix)
        sel.select(ix, flags)


def test_window_shows_people_with_thumbnails(qtbot, window, sample):  # noqa: ANN001
    model = window.pages.people.model
    assert window.pages.kind == "people"
    assert model.rowCount() == len(window.library.people())
    assert set(sample.people.values()) <= set(model.ids)
    assert f"{sample.photo_count} photos" in window.stats.text()
    # Covers decode off the GUI thread and then replace the placeholders.
    key = model.thumb_key(model.card(0))
    qtbot.waitUntil(lambda: window.session.thumbs.pixmap(key, request=False) is not None, timeout=10_000)
    for kind in ("photos", "unsorted", "search", "people"):
        window.show_view(kind)
        assert window.pages.kind == kind
    wait_idle(qtbot, window)


def test_rename_in_place_with_f2(qtbot, window, sample):  # noqa: ANN001
    view = window.pages.people.view
    identity = next(i for i in sample.people if i not in sample.named and sample.people[i] != sample.mixed_person)
    pid = sample.people[identity]  # an unnamed person
    assert _people_names(window)[pid] is None
    _select(view, [pid])
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_F2)
    editor = qtbot.waitUntil(lambda: view.findChild(QLineEdit) is not None) or view.findChild(QLineEdit)
    editor = view.findChild(QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, "Ada Lovelace")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _people_names(window).get(pid) == "Ada Lovelace", timeout=10_000)
    assert window.library.people(include_hidden=True)
    assert window.act_undo.isEnabled()
    wait_idle(qtbot, window)


def test_merge_two_people_then_undo_and_redo(qtbot, window, sample):  # noqa: ANN001
    view = window.pages.people.view
    named = next(iter(sample.named))
    unnamed = next(i for i in sample.people if i not in sample.named and sample.people[i] != sample.mixed_person)
    a, b = sample.people[named], sample.people[unnamed]
    expected = len(sample.person_faces(window.library, a)) + len(sample.person_faces(window.library, b))
    before = window.pages.people.model.rowCount()
    _select(view, [a, b])
    window.act_merge.trigger()
    qtbot.waitUntil(lambda: window.pages.people.model.rowCount() == before - 1, timeout=10_000)
    assert window.pages.people.model.row_of(a) is not None  # the named person stays
    card = window.pages.people.model.card_by_id(a)
    assert card.face_count == expected
    window.act_undo.trigger()
    qtbot.waitUntil(lambda: window.pages.people.model.rowCount() == before, timeout=10_000)
    window.act_redo.trigger()
    qtbot.waitUntil(lambda: window.pages.people.model.rowCount() == before - 1, timeout=10_000)
    wait_idle(qtbot, window)


def test_reject_face_leaves_person_and_undo_brings_it_back(qtbot, window, sample):  # noqa: ANN001
    pid = sample.people["angelina_jolie"]
    count = len(sample.person_faces(window.library, pid))
    window.session.nav.open_person.emit(pid)
    assert window.pages.kind == "person"
    grid = window.pages.person.faces
    assert grid.model.rowCount() == count
    face = grid.model.id_at(0)
    _select(grid.view, [face])
    grid.view.setFocus()
    qtbot.keyClick(grid.view, Qt.Key.Key_Delete)  # "Not this person"
    qtbot.waitUntil(lambda: grid.model.rowCount() == count - 1, timeout=10_000)
    assert face not in grid.model.ids
    rejected = list(window.library.db.query("SELECT * FROM rejections WHERE face_id = ?", [face]))
    assert rejected and rejected[0]["person_id"] == pid
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: grid.model.rowCount() == count, timeout=10_000)
    assert face in grid.model.ids
    wait_idle(qtbot, window)


def test_move_faces_by_dropping_on_a_person(qtbot, window, sample):  # noqa: ANN001
    target = sample.people["angelina_jolie"]
    count = len(sample.person_faces(window.library, target))
    face = sample.unsorted[0]
    model = window.pages.people.model
    from faceorganizer.gui.models import FACE_MIME, encode_ids

    ix = model.index(model.row_of(target), 0)
    assert model.canDropMimeData(encode_ids(FACE_MIME, [face]), Qt.DropAction.MoveAction, -1, -1, ix)
    model.dropMimeData(encode_ids(FACE_MIME, [face]), Qt.DropAction.MoveAction, -1, -1, ix)
    qtbot.waitUntil(lambda: (model.card_by_id(target) or model.card(0)).face_count == count + 1, timeout=10_000)
    row = next(window.library.db.query("SELECT person_id, origin FROM assignments WHERE face_id = ?", [face]))
    assert row == {"person_id": target, "origin": "confirmed"}
    wait_idle(qtbot, window)


def test_find_this_person_from_a_face(qtbot, window, sample):  # noqa: ANN001
    identity = "angelina_jolie"
    face = sample.faces[identity][0]
    window.session.nav.find_face.emit(face)
    assert window.pages.kind == "search"
    search = window.pages.search
    qtbot.waitUntil(lambda: len(search.hits.hits) > 0, timeout=20_000)
    search.set_threshold(0.6)
    shown = search.hits.ids
    same = set(sample.person_faces(window.library, sample.people[identity])) - {face}
    assert same and set(shown[:len(same)]) <= same, "the same person's faces rank first"
    assert set(sample.faces[identity]) - {face} <= set(shown), "every photo of the person is found"
    search.set_threshold(0.3)
    assert search.hits.rowCount() < len(shown)
    search.group.setChecked(True)
    search.set_threshold(1.2)
    assert search.groups.rowCount() >= 2
    wait_idle(qtbot, window)


def test_find_person_in_an_outside_photo(qtbot, window, sample, shared_faces):  # noqa: ANN001
    photo = sorted((shared_faces / "identities" / "angelina_jolie").glob("*.jpg"))[-1]
    dialog = window.find_in_photo(str(photo))
    qtbot.waitUntil(lambda: dialog.chosen is not None or "No face" in dialog.info.text(), timeout=60_000)
    assert dialog.faces, dialog.info.text()
    dialog.accept()
    search = window.pages.search
    qtbot.waitUntil(lambda: len(search.hits.hits) > 0, timeout=60_000)
    search.set_threshold(0.7)
    top = search.hits.ids[:3]
    assert set(top) & set(sample.faces["angelina_jolie"])
    wait_idle(qtbot, window)


def test_filter_applies_to_the_current_view(qtbot, window, sample):  # noqa: ANN001
    window.show_view("photos")
    total = window.pages.photos.model.rowCount()
    panel = window.filters
    panel.gender.setCurrentText("female")
    panel.apply()
    assert panel.text.text() == "gender=female"
    photos = window.pages.photos.model.ids
    assert 0 < len(photos) < total
    # Every photo left shows a woman (group photos may show men beside her).
    women = {r[0] for r in window.library.db.execute(
        f"SELECT DISTINCT photo_id FROM faces WHERE gender < 0.5 AND photo_id IN ({','.join(map(str, photos))})")}
    assert women == set(photos)
    window.show_view("people")
    wait_idle(qtbot, window)  # the people list re-reads in the background
    people = window.pages.people.model.rowCount()
    everyone = len(window.library.people())
    assert 0 < people < everyone
    panel.set_expression("age>=")  # a syntax error is shown, nothing changes
    assert panel.error.isVisible()
    assert window.pages.people.model.rowCount() == people
    panel.clear()
    wait_idle(qtbot, window)
    assert window.pages.people.model.rowCount() == everyone
    wait_idle(qtbot, window)


def test_photo_viewer_shows_boxes_and_click_opens_person(qtbot, window, sample):  # noqa: ANN001
    pid = sample.people["angelina_jolie"]
    face = sample.faces["angelina_jolie"][0]
    photo = window.session.reader.photo_of_face(face)
    window.session.nav.open_photo.emit(photo, face)
    viewer = window.pages.viewer
    assert window.pages.kind == "photo"
    boxes = {b.card.id: b for b in viewer.boxes}
    assert face in boxes
    assert boxes[face].label.text() == "Angelina Jolie"
    qtbot.waitUntil(lambda: viewer._pixmap_item is not None, timeout=10_000)
    pos = viewer.face_center(face)
    qtbot.mouseClick(viewer.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert window.pages.kind == "person" and window.pages.person.person_id == pid
    wait_idle(qtbot, window)


def test_review_queue_yes_no_skip(qtbot, window, sample):  # noqa: ANN001
    pid = sample.people["angelina_jolie"]
    dialog = window.review(pid)
    qtbot.waitUntil(lambda: not dialog.job.running, timeout=20_000)
    if not dialog.queue:
        dialog.close()
        wait_idle(qtbot, window)
        return
    first = dialog.current().face_id
    qtbot.keyClick(dialog, Qt.Key.Key_Y)
    wait_idle(qtbot, window)
    row = next(window.library.db.query("SELECT person_id, origin FROM assignments WHERE face_id = ?", [first]))
    assert row == {"person_id": pid, "origin": "confirmed"}
    if dialog.current() is not None:
        second = dialog.current().face_id
        qtbot.keyClick(dialog, Qt.Key.Key_N)
        wait_idle(qtbot, window)
        assert list(window.library.db.query("SELECT 1 FROM rejections WHERE face_id = ? AND person_id = ?",
                                            [second, pid]))
    dialog.close()
    wait_idle(qtbot, window)


def test_split_preview_then_split(qtbot, window, sample):  # noqa: ANN001
    pid = sample.mixed_person
    before = window.pages.people.model.rowCount()
    dialog = window.split(pid)
    qtbot.waitUntil(lambda: not dialog.job.running, timeout=20_000)
    assert dialog.model_b.rowCount() > 0 and dialog.model_a.rowCount() > 0
    dialog.new_name.setText("Second Person")
    dialog.accept()
    qtbot.waitUntil(lambda: window.pages.people.model.rowCount() == before + 1, timeout=10_000)
    assert "Second Person" in _people_names(window).values()
    wait_idle(qtbot, window)


def test_granularity_slider_regroups_in_the_background(qtbot, window):  # noqa: ANN001
    page = window.pages.people
    with qtbot.waitSignal(page.regrouped, timeout=30_000):
        page.granularity.setValue(40)
    assert abs(window.library.settings.cluster_threshold - 0.40) < 1e-9
    wait_idle(qtbot, window)


def test_person_summary_tab(qtbot, window, sample):  # noqa: ANN001
    window.session.nav.open_person.emit(sample.people["angelina_jolie"])
    page = window.pages.person
    page.tabs.setCurrentWidget(page.summary)
    qtbot.waitUntil(lambda: page.summary.summary is not None, timeout=20_000)
    assert page.summary.summary.face_count == len(sample.person_faces(window.library, sample.people["angelina_jolie"]))
    wait_idle(qtbot, window)


def test_face_grid_pages_in_off_the_gui_thread(qtbot, window):  # noqa: ANN001
    from faceorganizer.library import FaceScope

    grid = window.pages.unsorted
    model = grid.model
    model.PAGE = 3  # small pages over the sample library (the app reads 3000 ids at a time)
    scope = FaceScope("all", order="newest")
    everything = window.session.reader.face_ids(scope)
    assert len(everything) > 6
    model.set_scope(scope)
    assert model.ids == everything[:3] and model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == 3  # the next page is read by a worker: nothing on the GUI thread yet
    qtbot.waitUntil(lambda: model.rowCount() == 6, timeout=10_000)
    assert model.ids == everything[:6]
    model.fetchMore()
    model.fetchMore()  # asked again while reading: one read in flight, not two
    model.set_scope(scope)  # the ids change meanwhile: the page read for the old ones is dropped
    wait_idle(qtbot, window)
    assert model.ids == everything[:3] and model.canFetchMore()
    model.fetchMore()
    qtbot.waitUntil(lambda: model.rowCount() == 6, timeout=10_000)
    assert model.ids == everything[:6]
    # Past the first page a refresh (the library changed) re-reads the loaded ids in a worker too.
    model.refresh()
    model.refresh()  # changed again while reading: read once more afterwards
    assert window.session.jobs and model.rowCount() == 6
    wait_idle(qtbot, window)
    assert model.ids == everything[:6] and model.canFetchMore()
