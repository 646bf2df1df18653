"""The library's SQLite store: schema migrations, connections, transactions and the edit journal."""

from faceorganizer.store.db import connect, transaction
from faceorganizer.store.schema import SCHEMA_VERSION, migrate

__all__ = ["connect", "transaction", "migrate", "SCHEMA_VERSION"]
