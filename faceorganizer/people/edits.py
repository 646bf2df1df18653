"""User edits of people, each one journaled (undo/redo) and each one a constraint re-clustering honours.

Semantics (the user is always right):
- *confirmed* faces never leave their person on recluster; two persons holding confirmed faces never merge;
- *merge* confirms every face of the merged persons to the target (a must-link that survives recluster);
- *split* confirms each part to its own person (so the split sticks);
- *move* confirms the faces to the target person;
- *reject* ("not this person") records a cannot-link (face, person) and unassigns the face;
- *rename* to a name another person already has merges the two (names identify people).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlite_utils

from faceorganizer.errors import InvalidEditError, NotFoundError
from faceorganizer.names import clean_name, clean_optional_name
from faceorganizer.store import people as people_store
from faceorganizer.store.journal import EditRecorder, record_edit


def _person(db: sqlite_utils.Database, person_id: int) -> dict[str, Any]:
    row = people_store.person(db, person_id)
    if row is None:
        raise NotFoundError(f"no person with id {person_id}")
    return row


def _label(person: dict[str, Any]) -> str:
    return person["name"] or f"person {person['id']}"


def _faces_of(db: sqlite_utils.Database, person_id: int) -> list[int]:
    return people_store.face_ids_of(db, person_id)


def _check_faces(db: sqlite_utils.Database, face_ids: Sequence[int]) -> None:
    if not face_ids:
        raise InvalidEditError("no faces given")
    found = people_store.existing_faces(db, face_ids)
    missing = sorted(set(face_ids) - found)
    if missing:
        raise NotFoundError(f"no face with id {missing[0]}")


def _confirm(edit: EditRecorder, face_ids: Iterable[int], person_id: int) -> None:
    for face_id in face_ids:
        edit.upsert("assignments", {"face_id": face_id, "person_id": person_id, "origin": "confirmed",
                                    "distance": None})
        edit.delete("rejections", {"face_id": face_id, "person_id": person_id})


def _touch(edit: EditRecorder, person_id: int) -> None:
    edit.update("people", {"id": person_id}, updated_at=_now(edit.db))


def _now(db: sqlite_utils.Database) -> str:
    return people_store.now(db)


def rename(db: sqlite_utils.Database, person_id: int, name: str | None) -> int:
    """Name a person (``None``/empty clears it). Returns the id of the person that now has the name."""
    person = _person(db, person_id)
    name = clean_optional_name(name)
    same = people_store.person_named(db, name, except_id=person_id) if name else None
    if same:
        return merge(db, same["id"], [person_id], summary=f"rename {_label(person)} to {name} (merged)")
    with record_edit(db, "rename", f"rename {_label(person)} to {name or '(unnamed)'}") as edit:
        edit.update("people", {"id": person_id}, name=name, updated_at=_now(db))
    return person_id


def merge(db: sqlite_utils.Database, target_id: int, other_ids: Sequence[int], *, summary: str | None = None) -> int:
    """Merge ``other_ids`` into ``target_id``: all their faces become confirmed faces of the target."""
    target = _person(db, target_id)
    others = [_person(db, o) for o in other_ids if o != target_id]
    if not others:
        raise InvalidEditError("merge needs at least two different people")
    name = target["name"] or next((o["name"] for o in others if o["name"]), None)
    text = summary or f"merge {', '.join(_label(o) for o in others)} into {_label(target)}"
    with record_edit(db, "merge", text) as edit:
        _confirm(edit, _faces_of(db, target_id), target_id)
        for other in others:
            _confirm(edit, _faces_of(db, other["id"]), target_id)
            # Rejections of the merged person now apply to the target.
            for face_id in people_store.rejected_faces(db, other["id"]):
                edit.upsert("rejections", {"face_id": face_id, "person_id": target_id})
                edit.delete("rejections", {"face_id": face_id, "person_id": other["id"]})
            edit.update("people", {"id": other["id"]}, name=None, hidden=0, cover_face_id=None)
        if target["cover_face_id"] is None:
            cover = next((o["cover_face_id"] for o in others if o["cover_face_id"]), None)
            if cover:
                edit.update("people", {"id": target_id}, cover_face_id=cover)
        edit.update("people", {"id": target_id}, name=name, updated_at=_now(db))
    return target_id


def move(db: sqlite_utils.Database, face_ids: Sequence[int], person_id: int | None, *,
         new_name: str | None = None) -> int:
    """Move faces to a person (confirmed); ``person_id=None`` creates a new person (optionally named)."""
    face_ids = list(dict.fromkeys(face_ids))
    _check_faces(db, face_ids)
    new_name = clean_optional_name(new_name)
    if person_id is not None:
        target = _person(db, person_id)
        text = f"move {len(face_ids)} face(s) to {_label(target)}"
    else:
        text = f"move {len(face_ids)} face(s) to a new person" + (f" {new_name}" if new_name else "")
    with record_edit(db, "move", text) as edit:
        if person_id is None:
            person_id = edit.insert("people", {"name": new_name})
        _confirm(edit, face_ids, person_id)
        _touch(edit, person_id)
    return person_id


def confirm(db: sqlite_utils.Database, face_ids: Sequence[int], person_id: int) -> None:
    """"Yes, this is X": the faces become confirmed faces of the person."""
    face_ids = list(dict.fromkeys(face_ids))
    _check_faces(db, face_ids)
    person = _person(db, person_id)
    with record_edit(db, "confirm", f"confirm {len(face_ids)} face(s) as {_label(person)}") as edit:
        _confirm(edit, face_ids, person_id)


def reject(db: sqlite_utils.Database, face_ids: Sequence[int], person_id: int | None = None) -> None:
    """"Not this person": the faces leave the person (theirs, or ``person_id``) and never come back to it."""
    face_ids = list(dict.fromkeys(face_ids))
    _check_faces(db, face_ids)
    with record_edit(db, "reject", f"not this person: {len(face_ids)} face(s)") as edit:
        for face_id in face_ids:
            current = people_store.person_of_face(db, face_id)
            pid = person_id if person_id is not None else current
            if pid is None:
                raise InvalidEditError(f"face {face_id} is not in any person")
            edit.upsert("rejections", {"face_id": face_id, "person_id": pid})
            if current == pid:
                edit.delete("assignments", {"face_id": face_id})
            cover = _person(db, pid)["cover_face_id"]
            if cover == face_id:
                edit.update("people", {"id": pid}, cover_face_id=None)


def split(db: sqlite_utils.Database, person_id: int, part_b: Sequence[int], *, new_name: str | None = None) -> int:
    """Split a person: ``part_b`` faces go to a new person, the rest stay; both parts are confirmed."""
    person = _person(db, person_id)
    members = set(_faces_of(db, person_id))
    part_b = [f for f in dict.fromkeys(part_b)]
    if not part_b or not set(part_b) <= members:
        raise InvalidEditError("split needs a non-empty subset of the person's faces")
    part_a = sorted(members - set(part_b))
    if not part_a:
        raise InvalidEditError("split must leave at least one face with the person")
    with record_edit(db, "split", f"split {_label(person)} ({len(part_a)} + {len(part_b)} faces)") as edit:
        new_id = edit.insert("people", {"name": clean_optional_name(new_name)})
        _confirm(edit, part_a, person_id)
        _confirm(edit, part_b, new_id)
        for face_id in part_b:
            edit.upsert("rejections", {"face_id": face_id, "person_id": person_id})
        if person["cover_face_id"] in part_b:
            edit.update("people", {"id": person_id}, cover_face_id=None)
    return new_id


def hide(db: sqlite_utils.Database, person_id: int, hidden: bool = True) -> None:
    """Hide a person from the people view (or show it again)."""
    person = _person(db, person_id)
    with record_edit(db, "hide", f"{'hide' if hidden else 'show'} {_label(person)}") as edit:
        edit.update("people", {"id": person_id}, hidden=1 if hidden else 0)


def set_cover(db: sqlite_utils.Database, person_id: int, face_id: int) -> None:
    """Use ``face_id`` (one of the person's faces) as the person's cover."""
    person = _person(db, person_id)
    if face_id not in _faces_of(db, person_id):
        raise InvalidEditError(f"face {face_id} is not a face of {_label(person)}")
    with record_edit(db, "cover", f"set cover of {_label(person)}") as edit:
        edit.update("people", {"id": person_id}, cover_face_id=face_id)


def create_person(db: sqlite_utils.Database, name: str) -> int:
    """A new, empty, named person (faces can then be moved or confirmed to it)."""
    name = clean_name(name)
    with record_edit(db, "create", f"create person {name}") as edit:
        return edit.insert("people", {"name": name})


def not_face(db: sqlite_utils.Database, face_ids: Sequence[int]) -> int:
    """"Not a face": remove false detections and remember them (photo content + box) so no re-import brings
    them back; one journaled edit (undo restores the faces with their person). Returns how many."""
    from faceorganizer.store import notface

    _check_faces(db, face_ids)
    return notface.mark(db, face_ids)


def confirm_named_faces(db: sqlite_utils.Database, named: Sequence[tuple[int, str]], *, summary: str) -> int:
    """Confirm each (face id, name) to the person with that name, created when new; one journaled edit.

    This is how names read from other tools' XMP regions land: undoable like any edit. Returns faces confirmed.
    """
    if not named:
        return 0
    with record_edit(db, "name-from-xmp", summary) as edit:
        people: dict[str, int] = {}
        for face_id, raw in named:
            name = clean_name(raw)
            if name not in people:
                found = people_store.person_named(db, name)
                people[name] = found["id"] if found else edit.insert("people", {"name": name})
            _confirm(edit, [face_id], people[name])
        for person_id in people.values():
            _touch(edit, person_id)
    return len(named)
