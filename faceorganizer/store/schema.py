"""Numbered schema migrations (sqlite-utils ``Migrations``): the library database's only source of truth.

A migration is never edited once released; a change is a new numbered function. Tests open an empty file and
every earlier version (``stop_before``) and migrate them to the latest.

Tables (see README "What is stored where"):

========================  =====================================================================================
roots                     folders the user imported (path, online flag, last scan)
photos                    one row per file: path, content hash, size, mtime, pixel size, EXIF time and
                          orientation, status (ok/skipped/missing/offline/unsupported/pending) and error reason
faces                     photo, box, 5 landmarks, detector score, embedding (float32 BLOB) with model id,
                          32-bit code, attributes (age, gender, pose, sharpness, size, brightness, expression)
people                    name, hidden flag, cover face, created/updated
assignments               face → person with origin ``auto`` or ``confirmed`` (by the user) and distance
rejections                "not this person": (face, person) pairs every re-clustering honours
face_chips                the aligned 150-px face chip (JPEG) of each face: thumbnails and eigenfaces
journal                   undo-able user edits: JSON list of row changes (before/after), undone flag
user_attributes           user-taught attributes: (face, name) → value, origin user/predicted, confidence
kv                        small per-library values (settings such as recognition on/off, index fingerprints)
not_faces                 "not a face" boxes (photo content hash + box) the import never adds again (journaled)
face_trash                face rows removed as "not a face", kept so that undo brings them back whole
photo_locations           the other paths of a photo whose identical copies sit in several folders (its
                          primary path stays ``photos.path``; see ``store/migrate_locations.py``)
========================  =====================================================================================
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("faceorganizer")


@migrations()
def m001_core(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE roots (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            added_at TEXT NOT NULL DEFAULT (datetime('now')),
            last_scan TEXT,
            online INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE photos (
            id INTEGER PRIMARY KEY,
            root_id INTEGER REFERENCES roots(id) ON DELETE SET NULL,
            path TEXT NOT NULL UNIQUE,
            content_hash TEXT,
            size INTEGER,
            mtime REAL,
            width INTEGER,
            height INTEGER,
            taken_at TEXT,
            orientation INTEGER,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'ok', 'skipped', 'unsupported', 'missing', 'offline')),
            error TEXT,
            faces_model TEXT,
            imported_at TEXT NOT NULL DEFAULT (datetime('now')),
            updated_at TEXT NOT NULL DEFAULT (datetime('now'))
        );
        CREATE INDEX photos_hash ON photos(content_hash);
        CREATE INDEX photos_status ON photos(status);
        CREATE INDEX photos_root ON photos(root_id);
        CREATE TABLE faces (
            id INTEGER PRIMARY KEY,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
            landmarks TEXT NOT NULL,
            det_score REAL NOT NULL,
            embedding BLOB,
            embed_model TEXT,
            code INTEGER,
            code_model TEXT,
            age REAL,
            gender REAL,
            sharpness REAL,
            brightness REAL,
            size REAL,
            yaw REAL, pitch REAL, roll REAL,
            pose TEXT,
            quality REAL,
            attr_model TEXT,
            chip BLOB,
            created_at TEXT NOT NULL DEFAULT (datetime('now'))
        );
        CREATE INDEX faces_photo ON faces(photo_id);
        CREATE TABLE people (
            id INTEGER PRIMARY KEY,
            name TEXT,
            hidden INTEGER NOT NULL DEFAULT 0,
            cover_face_id INTEGER REFERENCES faces(id) ON DELETE SET NULL,
            created_at TEXT NOT NULL DEFAULT (datetime('now')),
            updated_at TEXT NOT NULL DEFAULT (datetime('now'))
        );
        CREATE INDEX people_name ON people(name);
        CREATE TABLE assignments (
            face_id INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            origin TEXT NOT NULL CHECK (origin IN ('auto', 'confirmed')),
            distance REAL
        );
        CREATE INDEX assignments_person ON assignments(person_id);
        CREATE TABLE rejections (
            face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL DEFAULT (datetime('now')),
            PRIMARY KEY (face_id, person_id)
        );
        CREATE TABLE journal (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL DEFAULT (datetime('now')),
            op TEXT NOT NULL,
            summary TEXT NOT NULL,
            changes TEXT NOT NULL,
            undone INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE kv (
            key TEXT PRIMARY KEY,
            value TEXT
        );
        """
    )


@migrations()
def m002_attributes(db: sqlite_utils.Database) -> None:
    """Expression attributes, user-taught attributes, and indexes the filter language relies on."""
    db.executescript(
        """
        ALTER TABLE faces ADD COLUMN expression TEXT;
        ALTER TABLE faces ADD COLUMN smile REAL;
        ALTER TABLE faces ADD COLUMN expressions TEXT;
        CREATE INDEX faces_age ON faces(age);
        CREATE INDEX faces_gender ON faces(gender);
        CREATE INDEX faces_pose ON faces(pose);
        CREATE INDEX faces_expression ON faces(expression);
        CREATE INDEX faces_smile ON faces(smile);
        CREATE INDEX faces_code ON faces(code);
        CREATE TABLE user_attributes (
            face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            value INTEGER NOT NULL,
            origin TEXT NOT NULL CHECK (origin IN ('user', 'predicted')),
            confidence REAL NOT NULL DEFAULT 1.0,
            PRIMARY KEY (face_id, name)
        );
        CREATE INDEX user_attributes_name ON user_attributes(name, value);
        """
    )


@migrations()
def m003_search(db: sqlite_utils.Database) -> None:
    """Per-face calibration term for IDA-scored search, and photo capture time for date filters."""
    db.executescript(
        """
        ALTER TABLE faces ADD COLUMN density REAL;
        CREATE INDEX photos_taken ON photos(taken_at);
        """
    )


@migrations()
def m004_chips_apart(db: sqlite_utils.Database) -> None:
    """Aligned face chips (≈5 KB JPEG each) move to their own table: kept in the faces row they made every
    attribute scan walk their overflow pages (filters over 1e5 faces were 5–10× slower)."""
    db.executescript(
        """
        CREATE TABLE face_chips (
            face_id INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,
            chip BLOB NOT NULL
        );
        INSERT INTO face_chips (face_id, chip) SELECT id, chip FROM faces WHERE chip IS NOT NULL;
        ALTER TABLE faces DROP COLUMN chip;
        """
    )


@migrations()
def m005_not_faces(db: sqlite_utils.Database) -> None:
    """"Not a face": the boxes a user removed, remembered by photo content and box so a re-import or a re-scan
    does not bring them back (``not_faces``, journaled), and the removed face rows kept for undo
    (``face_trash``: the faces row with its chip, assignment, rejections and covers, as the edit found them)."""
    db.executescript(
        """
        CREATE TABLE not_faces (
            id INTEGER PRIMARY KEY,
            face_id INTEGER,
            content_hash TEXT NOT NULL,
            x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
            created_at TEXT NOT NULL DEFAULT (datetime('now'))
        );
        CREATE INDEX not_faces_hash ON not_faces(content_hash);
        CREATE TABLE face_trash (
            face_id INTEGER PRIMARY KEY,
            face TEXT NOT NULL,
            embedding BLOB,
            chip BLOB,
            links TEXT NOT NULL,
            trashed_at TEXT NOT NULL DEFAULT (datetime('now'))
        );
        """
    )


@migrations()
def m006_photo_locations(db: sqlite_utils.Database) -> None:
    """One photo with several locations: ``photo_locations``, and the identical copies that earlier imports made
    photos of their own folded into one photo each, user edits kept (``store/migrate_locations.py``)."""
    from faceorganizer.store import migrate_locations

    migrate_locations.create_table(db)
    migrate_locations.fold_identical_copies(db)


@migrations()
def m007_faces_doubtful(db: sqlite_utils.Database) -> None:
    """``faces.doubtful``: 1 when the face failed the face-ness gate at its last grouping (a texture, a
    half-black crop, a blurred fragment), so *Unsorted* lists such faces after the real ones."""
    db.execute("ALTER TABLE faces ADD COLUMN doubtful INTEGER NOT NULL DEFAULT 0")


#: Names of all migrations in order; ``SCHEMA_VERSION`` is their count.
MIGRATION_NAMES = [m.name for m in migrations._migrations]
SCHEMA_VERSION = len(MIGRATION_NAMES)


def migrate(db: sqlite_utils.Database, *, stop_before: str | None = None) -> None:
    """Apply every pending migration (each in its own transaction)."""
    migrations.apply(db, stop_before=stop_before)


def schema_version(db: sqlite_utils.Database) -> int:
    """How many of this package's migrations the database has applied."""
    return len(migrations.applied(db))
