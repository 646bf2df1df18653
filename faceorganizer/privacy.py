"""Face data is biometric data: turning recognition off, forgetting a person, deleting every face.

Deleting is real: rows are removed with ``secure_delete`` on (freed pages are zeroed), the database is
VACUUMed and the WAL checkpointed and truncated, thumbnails and the vector index are removed from the cache,
and journal entries that mention the deleted faces or person go too, including the names of people merged
into a forgotten person (undo must not resurrect them). A deletion is only reported done when the bytes are
gone: while another program holds the library open in a read transaction, the old pages stay in its WAL, and
the command says so (and the next command to open the library finishes the job).

``delete-face-data`` first commits "recognition off" on its own: an import running at the same time checks
the switch in the transaction that stores each batch, so it stores no face after that.

All SQL lives in :mod:`faceorganizer.store.privacy`.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import sqlite_utils

from faceorganizer.errors import FaceOrganizerError, NotFoundError
from faceorganizer.store import privacy as store

log = logging.getLogger("faceorganizer.privacy")

RECOGNITION_KEY = store.RECOGNITION_KEY
#: How long a deletion waits for other programs' read transactions before saying it could not finish.
SCRUB_WAIT_MS = 5_000


class ScrubPendingError(FaceOrganizerError):
    """Rows are deleted, but another connection keeps their old bytes in the WAL until it closes."""


def recognition_enabled(db: sqlite_utils.Database) -> bool:
    """Whether this library detects and recognises faces on import (on unless the user turned it off)."""
    return store.recognition_enabled(db)


def set_recognition(db: sqlite_utils.Database, enabled: bool) -> None:
    """Turn face recognition on or off for this library.

    Turning it off stops future analysis (photos are still listed); existing face data stays until the user
    deletes it. Turning it on again queues every photo that was imported without analysis.
    """
    store.set_recognition(db, enabled)


def _remove_thumbnails(cache_dir: Path, face_ids: set[int] | None) -> None:
    thumbs = cache_dir / "thumbs"
    if face_ids is None:
        shutil.rmtree(thumbs, ignore_errors=True)
    elif thumbs.is_dir():
        for face_id in face_ids:
            for path in thumbs.glob(f"face-{face_id}[-.]*"):
                path.unlink(missing_ok=True)
    if cache_dir.is_dir():
        for index_file in cache_dir.glob("index*"):
            index_file.unlink(missing_ok=True)  # rebuilt from the store on next search


def _finish_scrub(db: sqlite_utils.Database, what: str) -> None:
    if not store.scrub(db, wait_ms=SCRUB_WAIT_MS):
        raise ScrubPendingError(
            f"{what} deleted, but another program (the FaceOrganizer app?) has the library open, so the old "
            "bytes stay in library.db-wal until it closes: close it, then run any command on this library "
            "(e.g. `faceorganizer status`) to finish erasing them")


def finish_pending_scrub(db: sqlite_utils.Database) -> bool:
    """Finish erasing after an earlier deletion that another program kept from finishing. True when done."""
    if not store.scrub_pending(db):
        return True
    done = store.scrub(db, wait_ms=0)
    log.info("pending erase of deleted face data %s", "finished" if done else "still blocked by a reader")
    return done


def forget_person(db: sqlite_utils.Database, person_id: int, cache_dir: Path) -> int:
    """Delete a person and all their faces' data for good (not undoable). Returns the faces removed.

    The photos stay; their other faces stay. People merged into this person earlier are forgotten with it (their
    names and edits leave the journal). A later import of an unchanged photo does not re-detect the forgotten
    faces (no model work on unchanged files); re-analysing a photo that changed may find them again.
    Raises :class:`ScrubPendingError` when another program keeps the old bytes in the WAL.
    """
    if not store.person_exists(db, person_id):
        raise NotFoundError(f"no person with id {person_id}")
    people = store.merged_into(db, person_id)
    face_ids = store.face_ids_of(db, [person_id])
    dropped = store.delete_person(db, people, face_ids)
    _remove_thumbnails(cache_dir, face_ids)
    log.info("forgot person %d (+%d merged earlier): %d faces, %d journal entries", person_id, len(people) - 1,
             len(face_ids), dropped)
    _finish_scrub(db, f"person {person_id} and {len(face_ids)} faces")
    return len(face_ids)


def delete_all_face_data(db: sqlite_utils.Database, cache_dir: Path) -> int:
    """Delete every face, embedding, code, person, name and edit of the library. Returns the faces removed.

    Recognition is turned off for the library first, in its own transaction (a running import sees it before
    its next batch and stores no more faces); turning it back on queues the photos for analysis.
    Raises :class:`ScrubPendingError` when another program keeps the old bytes in the WAL.
    """
    store.switch_off_recognition(db)
    n = store.count_faces(db)
    store.delete_all(db)
    _remove_thumbnails(cache_dir, None)
    log.info("deleted all face data: %d faces", n)
    _finish_scrub(db, f"all face data ({n} faces)")
    return n
