"""Exports: a person's photos to a folder (copies or links), and people/faces as CSV or JSON.

Exports never include embeddings or codes: they hold names, boxes and attributes only.

CSV cells that a spreadsheet would run as a formula (text starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return; names can come from other programs' sidecars) are neutralised as OWASP recommends: prefixed
with a single quote, so the cell shows the text and runs nothing. Numbers stay numbers; JSON is unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import sqlite_utils

from faceorganizer.errors import FaceOrganizerError, NotFoundError
from faceorganizer.paths import display_path, text_to_path
from faceorganizer.store import queries
from faceorganizer.store.exports import person_photo_paths
from faceorganizer.store.privacy import person_exists

#: First characters that make a spreadsheet treat a cell as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_person_photos(db: sqlite_utils.Database, person_id: int, dest: Path, *, mode: str = "copy"
                         ) -> list[Path]:
    """Copy (or symlink, ``mode="link"``) every available photo of a person into ``dest``."""
    if not person_exists(db, person_id):
        raise NotFoundError(f"no person with id {person_id}")
    if mode not in ("copy", "link"):
        raise FaceOrganizerError("export mode must be copy or link")
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for stored in person_photo_paths(db, person_id):
        source = Path(text_to_path(stored))
        target = dest / source.name
        n = 1
        while target.exists() or target.is_symlink():
            target = dest / f"{source.stem}-{n}{source.suffix}"
            n += 1
        if mode == "link":
            os.symlink(source, target)
        else:
            shutil.copy2(source, target)
        written.append(target)
    return written


def people_table(db: sqlite_utils.Database) -> list[dict]:
    return [{"id": p.id, "name": p.name, "face_count": p.face_count, "photo_count": p.photo_count,
             "hidden": p.hidden, "face_ids": p.face_ids} for p in queries.people(db, include_hidden=True)]


def faces_table(db: sqlite_utils.Database) -> list[dict]:
    out = []
    for f in queries.faces(db):
        row = {"id": f.id, "photo": display_path(f.photo), "x": round(f.box[0], 1), "y": round(f.box[1], 1),
               "w": round(f.box[2], 1), "h": round(f.box[3], 1), "score": round(f.score, 4),
               "person_id": f.person_id, "origin": f.origin}
        row.update({k: (round(v, 4) if isinstance(v, float) else v) for k, v in f.attributes.items()})
        out.append(row)
    return out


def to_text(rows: list[dict], fmt: str) -> str:
    """Rows as JSON or CSV text (lists in CSV cells are joined with spaces)."""
    if fmt == "json":
        return json.dumps(rows, indent=1)
    if fmt != "csv":
        raise FaceOrganizerError("export format must be csv or json")
    columns: list[str] = []
    for r in rows:
        columns += [c for c in r if c not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=[safe_cell(c) for c in columns])
    writer.writeheader()
    for r in rows:
        writer.writerow({safe_cell(k): safe_cell(" ".join(map(str, v)) if isinstance(v, list) else v)
                         for k, v in r.items()})
    return buf.getvalue()


def safe_cell(value: object) -> object:
    """A CSV cell that cannot run as a formula: text starting with a formula character gets a leading ``'``.

    Numbers (``-3.5``) are left alone: a spreadsheet reads them as numbers, not formulas.
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value
