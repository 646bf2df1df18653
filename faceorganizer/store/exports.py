"""The SQL behind exports: the photos a person appears in."""

from __future__ import annotations

import sqlite_utils


def person_photo_paths(db: sqlite_utils.Database, person_id: int) -> list[str]:
    """Stored paths of the available (status ok) photos showing ``person_id``, sorted."""
    return [r[0] for r in db.execute(
        "SELECT DISTINCT p.path FROM photos p JOIN faces f ON f.photo_id = p.id JOIN assignments a "
        "ON a.face_id = f.id WHERE a.person_id = ? AND p.status = 'ok' ORDER BY p.path", [person_id])]
