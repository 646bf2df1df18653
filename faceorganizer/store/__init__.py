"""The library's SQLite store: the only package that holds SQL (``tests/core/test_sql_in_store.py``).

Infrastructure: ``schema`` (numbered migrations), ``db`` (connections, transactions), ``journal`` (undoable
edits, undo/redo). Typed reads and writes by table family: ``photos`` (roots, photo rows, the scan's work
tables), ``locations`` (the other paths of a photo whose identical copies sit in several folders; migration 6 in
``migrate_locations``), ``faces`` (face rows, chips, embeddings), ``people`` (people, assignments, rejections),
``attributes`` (taught attributes, attribute columns), ``queries`` (face and person listings), ``reads`` (the
front ends' reader: every count and page), ``filters`` (the filter language's SQL), ``grouping``, ``search``,
``notface``, ``privacy``, ``sidecars``, ``exports``. Callers never build SQL; they call these functions.
"""

from faceorganizer.store.db import connect, transaction
from faceorganizer.store.schema import SCHEMA_VERSION, migrate

__all__ = ["connect", "transaction", "migrate", "SCHEMA_VERSION"]
