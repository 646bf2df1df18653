"""Renaming a person, the way the anchors do it: a name already in use asks before two people become one."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QMessageBox, QWidget

from faceorganizer.gui.session import Session

#: Tests answer the merge question through this hook (None: ask the user with a modal box).
auto_answer: bool | None = None


def _faces(n: int) -> str:
    return f"{n:,} face{'s' if n != 1 else ''}"


def merge_question(session: Session, person_id: int, name: str) -> tuple[str, int] | None:
    """(question text, id of the person already called ``name``) when renaming would merge; else None."""
    other = session.reader.person_by_name(name, exclude=person_id) if name else None
    me = session.reader.person(person_id)
    if other is None or me is None:
        return None
    text = (f"<b>{html.escape(other.label)}</b> already exists ({_faces(other.face_count)}).<br><br>"
            f"Merge <b>{html.escape(me.label)}</b> ({_faces(me.face_count)}) into "
            f"<b>{html.escape(other.label)}</b>? They become one person with "
            f"{_faces(me.face_count + other.face_count)}. You can undo this (Ctrl+Z).")
    return text, other.id


def rename_person(parent: QWidget, session: Session, person_id: int, name: str) -> bool:
    """Rename ``person_id`` to ``name``; asks first when another person has that name (then merges on yes).
    Returns whether an edit was started."""
    name = name.strip()
    question = merge_question(session, person_id, name)
    if question is None:
        session.edits.rename(person_id, name)
        return True
    text, other_id = question
    if auto_answer is None:
        box = QMessageBox(QMessageBox.Icon.Question, "Merge two people?", text,
                          QMessageBox.StandardButton.Cancel, parent)
        merge = box.addButton("Merge", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setObjectName("merge-on-rename")
        box.exec()
        yes = box.clickedButton() is merge
    else:
        yes = auto_answer
    if not yes:
        session.nav.status.emit("Rename cancelled: no one was merged")
        return False
    session.edits.run(f"merge into {name}", "rename", person_id, name)
    return True
