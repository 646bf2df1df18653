"""The Qt bindings keep Python's reference counts right (PySide6 6.12.0 did not on Python 3.11).

6.12.0 dropped a reference to ``None`` each time it turned an unset ``QVariant`` into Python (every
``index.data(role)`` of a role a model leaves empty) and to ``True`` on every ``dataChanged`` emit; the app
aborted ("Fatal Python error: none_dealloc") after a few thousand paints while the user scrolled. The project
pins a release without the bug; these tests make a future bump that brings it back fail here instead.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QAbstractListModel, QModelIndex
from PySide6.QtWidgets import QTreeWidgetItem


class _Empty(QAbstractListModel):
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 2

    def data(self, index: QModelIndex, role: int = 0) -> None:
        return None


def test_unset_qvariants_keep_none_alive(qapp):  # noqa: ANN001
    item = QTreeWidgetItem()
    before = sys.getrefcount(None)
    for _ in range(2_000):
        assert item.data(0, 300) is None
    assert abs(sys.getrefcount(None) - before) < 100


def test_model_signals_keep_true_alive(qapp):  # noqa: ANN001
    model = _Empty()
    before = sys.getrefcount(True)
    for _ in range(2_000):
        model.dataChanged.emit(model.index(0, 0), model.index(1, 0), [])
    assert abs(sys.getrefcount(True) - before) < 100
