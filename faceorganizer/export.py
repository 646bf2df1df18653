"""Exports: a person's photos to a folder (copies or links), and people/faces as CSV or JSON.

Exports never include embeddings or codes: they hold names, boxes and attributes only.
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
from faceorganizer.scan.discover import display_path, text_to_path
from faceorganizer.store import queries


def export_person_photos(db: sqlite_utils.Database, person_id: int, dest: Path, *, mode: str = "copy"
                         ) -> list[Path]:
    """Copy (or symlink, ``mode="link"``) every available photo of a person into ``dest``."""
    if not list(db.query("SELECT id FROM people WHERE id = ?", [person_id])):
        raise NotFoundError(f"no person with id {person_id}")
    if mode not in ("copy", "link"):
        raise FaceOrganizerError("export mode must be copy or link")
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rows = db.query("SELECT DISTINCT p.path FROM photos p JOIN faces f ON f.photo_id = p.id JOIN assignments a "
                    "ON a.face_id = f.id WHERE a.person_id = ? AND p.status = 'ok' ORDER BY p.path", [person_id])
    for row in rows:
        source = Path(text_to_path(row["path"]))
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
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    for r in rows:
        writer.writerow({k: " ".join(map(str, v)) if isinstance(v, list) else v for k, v in r.items()})
    return buf.getvalue()
