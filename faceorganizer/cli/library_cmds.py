"""Library-level commands: status, people, faces, undo, redo, history."""

from __future__ import annotations

import argparse

from faceorganizer.cli.common import command, emit, open_library, table
from faceorganizer.names import safe_text


@command("status", "show what the library holds: photos by status, faces, people, folders, skipped files")
def status(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        stats = lib.stats()
        skipped = lib.skipped()
    data = {**stats.to_json(), "library": str(lib.folder), "skipped": skipped}

    def text() -> str:
        lines = [f"Library: {lib.folder}",
                 f"Photos: {stats.photos} (" + ", ".join(f"{k} {v}" for k, v in
                                                          sorted(stats.photos_by_status.items())) + ")",
                 f"Faces: {stats.faces}, unassigned {stats.unassigned_faces}",
                 f"People: {stats.people} ({stats.named_people} named)"]
        for root in stats.roots:
            state = "online" if root["online"] else "OFFLINE"
            lines.append(f"Folder: {root['path']} [{state}] {root['photos']} photos")
        if skipped:
            lines.append(f"Skipped files ({len(skipped)}):")
            lines += [f"  {s['path']}: {s['reason']}" for s in skipped]
        return "\n".join(lines)

    emit(args, data, text)
    return 0


def _people_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", action="store_true", help="include hidden people")


@command("people", "list people (groups of faces) with face and photo counts", _people_args)
def people(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        rows = lib.people(include_hidden=args.all)
    emit(args, [r.to_json() for r in rows], lambda: table(
        [[r.id, r.name or "(unnamed)", r.face_count, r.photo_count, "hidden" if r.hidden else ""]
         for r in rows], ["id", "name", "faces", "photos", ""]))
    return 0


def _faces_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--person", type=int, help="only faces of this person id")
    p.add_argument("--unassigned", action="store_true", help="only faces not in any person")
    p.add_argument("--where", help='attribute filter, e.g. "age>=30 and smiling and pose=frontal" (README)')
    p.add_argument("--limit", type=int, default=None)


@command("faces", "list faces with their box, detector score, person and attributes", _faces_args)
def faces(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        rows = lib.list_faces(person_id=args.person, unassigned=args.unassigned, expr=args.where, limit=args.limit)
    emit(args, [r.to_json() for r in rows], lambda: table(
        [[r.id, r.photo, ",".join(f"{v:.0f}" for v in r.box), f"{r.score:.2f}", r.person_id,
          _short_attrs(r.attributes)] for r in rows], ["id", "photo", "box", "score", "person", "attributes"]))
    return 0


def _short_attrs(attrs: dict) -> str:
    parts = []
    if "age" in attrs:
        parts.append(f"age {attrs['age']:.0f}")
    if "gender_label" in attrs:
        parts.append(attrs["gender_label"])
    for key in ("pose", "expression"):
        if attrs.get(key):
            parts.append(str(attrs[key]))
    return " ".join(parts)


def _journal_step(args: argparse.Namespace, *, forward: bool) -> int:
    """``undo`` and ``redo``: one journal step through the Library, reported as ``{"undone"|"redone", "id"}``."""
    with open_library(args) as lib:
        entry = lib.redo() if forward else lib.undo()
    key, verb = ("redone", "Redone") if forward else ("undone", "Undone")
    emit(args, {key: entry.summary, "id": entry.id}, f"{verb}: {safe_text(entry.summary)}")
    return 0


@command("undo", "undo the latest edit (rename, merge, move, reject, ...)")
def undo(args: argparse.Namespace) -> int:
    return _journal_step(args, forward=False)


@command("redo", "redo the latest undone edit")
def redo(args: argparse.Namespace) -> int:
    return _journal_step(args, forward=True)


@command("history", "list recent edits (newest first)")
def history(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        entries = lib.history()
    emit(args, [e.__dict__ for e in entries], lambda: table(
        [[e.id, e.created_at, e.summary, "undone" if e.undone else ""] for e in entries],
        ["id", "when", "edit", ""]))
    return 0
