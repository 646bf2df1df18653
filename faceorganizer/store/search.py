"""The SQL of "find this person" (``faceorganizer.search.service``): embeddings, candidates, densities, codes.

Plain reads and writes; ranking and caching decisions live in the service.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sqlite_utils

from faceorganizer.store import queries, transaction
from faceorganizer.store.grouping import current_model


def change_stamp(db: sqlite_utils.Database) -> tuple[int, int]:
    """Changes when anything in the database may have changed: another connection's commits
    (``PRAGMA data_version``) or this connection's own writes (``total_changes``). Costs microseconds."""
    return int(db.execute("PRAGMA data_version").fetchone()[0]), int(db.conn.total_changes)


def faces_signature(db: sqlite_utils.Database) -> tuple[Any, ...]:
    """(model, count, max id, id sum, embedding bytes) of the current model's faces: changes whenever faces
    are added, removed or re-embedded."""
    model = current_model(db)
    row = db.execute("SELECT COUNT(*), MAX(id), TOTAL(id), TOTAL(length(embedding)) FROM faces "
                     "WHERE embedding IS NOT NULL AND embed_model IS ?", [model]).fetchone()
    return (model, *row)


def assignments_signature(db: sqlite_utils.Database) -> tuple[Any, ...]:
    """Changes whenever a face moves between people."""
    return tuple(db.execute("SELECT COUNT(*), TOTAL(face_id * 1000003 + person_id), TOTAL(person_id * person_id) "
                            "FROM assignments").fetchone())


def model_embeddings(db: sqlite_utils.Database) -> tuple[np.ndarray, np.ndarray]:
    """(face ids, embeddings) of every face of the current model."""
    return queries.embeddings(db, "f.embedding IS NOT NULL AND f.embed_model IS ?", [current_model(db)])


def person_of_faces(db: sqlite_utils.Database) -> dict[int, int]:
    """face id → person id for every assigned face."""
    return dict(db.execute("SELECT face_id, person_id FROM assignments").fetchall())


def kv_get(db: sqlite_utils.Database, key: str) -> str | None:
    rows = list(db.query("SELECT value FROM kv WHERE key = ?", [key]))
    return rows[0]["value"] if rows else None


def kv_set(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", [key, value])


def missing_densities(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT COUNT(*) FROM faces WHERE embedding IS NOT NULL AND density IS NULL")
               .fetchone()[0])


def densities(db: sqlite_utils.Database) -> dict[int, float]:
    """face id → cached log density (faces without one are left out)."""
    return dict(db.execute("SELECT id, density FROM faces WHERE density IS NOT NULL").fetchall())


def write_densities(db: sqlite_utils.Database, ids: np.ndarray, dens: np.ndarray, key: str, fingerprint: str
                    ) -> None:
    with transaction(db):
        db.conn.executemany("UPDATE faces SET density = ? WHERE id = ?",
                            [(float(d), int(f)) for d, f in zip(dens, ids)])
        kv_set(db, key, fingerprint)


def candidate_rows(db: sqlite_utils.Database, ids: list[int], where: str | None, params: list | tuple
                   ) -> dict[int, dict[str, Any]]:
    """Photo, path, person and name of the candidate faces ``ids`` that match ``where`` (alias ``f``)."""
    if not ids:
        return {}
    marks = ",".join("?" for _ in ids)
    clause = f"f.id IN ({marks})" + (f" AND ({where})" if where else "")
    return {r["id"]: r for r in db.query(
        "SELECT f.id, f.photo_id, p.path, a.person_id, pe.name FROM faces f "
        "JOIN photos p ON p.id = f.photo_id LEFT JOIN assignments a ON a.face_id = f.id "
        f"LEFT JOIN people pe ON pe.id = a.person_id WHERE {clause}", [*ids, *params])}


def embedding_of(db: sqlite_utils.Database, face_id: int) -> bytes | None:
    row = db.execute("SELECT embedding FROM faces WHERE id = ?", [face_id]).fetchone()
    return None if row is None else row[0]


def photos_with_all(db: sqlite_utils.Database, people: list[int]) -> list[int]:
    """Photos showing every one of ``people``."""
    return [r[0] for r in db.execute(
        "SELECT f.photo_id FROM faces f JOIN assignments a ON a.face_id = f.id WHERE a.person_id IN "
        f"({','.join('?' for _ in people)}) GROUP BY f.photo_id HAVING COUNT(DISTINCT a.person_id) = ?",
        [*people, len(set(people))]).fetchall()]


def photos_with_any(db: sqlite_utils.Database, people: list[int]) -> set[int]:
    """Photos showing at least one of ``people``."""
    return {r[0] for r in db.execute(
        "SELECT DISTINCT f.photo_id FROM faces f JOIN assignments a ON a.face_id = f.id WHERE "
        f"a.person_id IN ({','.join('?' for _ in people)})", list(people)).fetchall()}


def coded_faces(db: sqlite_utils.Database) -> set[int]:
    return {r[0] for r in db.execute("SELECT id FROM faces WHERE code IS NOT NULL").fetchall()}


def write_codes(db: sqlite_utils.Database, rows: list[tuple[int, str, int]], codec_key: str | None,
                codec_value: str | None) -> None:
    """Store (code, code model, face id) rows, and the codec when it was refitted."""
    with transaction(db):
        if codec_key is not None and codec_value is not None:
            kv_set(db, codec_key, codec_value)
        db.conn.executemany("UPDATE faces SET code = ?, code_model = ? WHERE id = ?", rows)
