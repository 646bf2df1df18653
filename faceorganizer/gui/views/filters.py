"""The filter panel: controls that write a filter expression (the same language as ``faces --where``).

The panel builds the expression text from its controls; the text box shows it and may be edited by hand.
Either way the text is compiled by :func:`faceorganizer.gui.core.compile_filter` and the result is applied
to the current view (faces, people, photos, search results). Changes apply after a short pause.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDateEdit, QDoubleSpinBox, QFormLayout,
                               QFrame, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QSizePolicy,
                               QSpinBox, QVBoxLayout, QWidget)

from faceorganizer.errors import FilterSyntaxError
from faceorganizer.gui import core
from faceorganizer.gui.session import Session
from faceorganizer.library import FaceFilter, display_path

EXPRESSIONS = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
POSES = ("frontal", "three-quarter", "profile")


def quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@dataclass(frozen=True)
class FilterResult:
    """A compiled filter: the expression, the core's compiled face filter, for photos the people all present,
    and for person-level pages whether any face or most faces must match."""

    expr: str = ""
    face_filter: FaceFilter | None = None
    all_people: tuple[int, ...] = ()
    match: str = "any"

    @property
    def active(self) -> bool:
        return (self.face_filter is not None and self.face_filter.active) or bool(self.all_people)


class FilterBar(QFrame):
    """A strip above the page while a filter is on: what it keeps, how much is shown, and a way to clear it."""

    clear_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        pal = self.palette()
        tint = QColor(pal.color(QPalette.ColorRole.Highlight))
        tint.setAlpha(40)
        base = pal.color(QPalette.ColorRole.Window)
        mixed = QColor.fromRgbF(*(b * (1 - tint.alphaF()) + t * tint.alphaF()
                                  for b, t in zip(base.getRgbF()[:3], tint.getRgbF()[:3])))
        pal.setColor(QPalette.ColorRole.Window, mixed)
        self.setPalette(pal)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.count = QLabel(self)
        clear = QPushButton("Clear filter", self)
        clear.setToolTip("Show everything again")
        clear.clicked.connect(self.clear_requested)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 3, 6, 3)
        row.addWidget(self.label, 1)
        row.addWidget(self.count)
        row.addSpacing(8)
        row.addWidget(clear)
        self.hide()

    def set_text(self, expr: str, count: str) -> None:
        self.label.setText(f"Filter: <b>{html.escape(expr)}</b>")
        self.label.setToolTip(expr)
        self.count.setText(count)


class FilterPanel(QWidget):
    """Age, gender, expression, pose, quality, people, date and folder; emits ``changed(FilterResult)``."""

    changed = Signal(object)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.result = FilterResult()
        self._building = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self.apply)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # labels above fields in a narrow panel
        # People pages list a person when their faces match: say how many must (Apple Photos and digiKam
        # filter faces, not people; a person is not "age ≥ 50" because one blurry face was estimated so).
        self.person_match = QComboBox(self)
        self.person_match.addItem("any of their faces matches", "any")
        self.person_match.addItem("most of their faces match", "most")
        self.person_match.setToolTip("On the People page: keep a person when any one of their faces matches the "
                                     "filter, or only when more than half of their faces do")
        self.person_match.currentIndexChanged.connect(lambda _i: self.apply())
        form.addRow("Show a person when", self.person_match)
        self.age_on = QCheckBox("Age", self)
        self.age_min = QSpinBox(self)
        self.age_max = QSpinBox(self)
        for s, v in ((self.age_min, 0), (self.age_max, 100)):
            s.setRange(0, 120)
            s.setValue(v)
            s.setSuffix(" y")
        self.age_min.setToolTip("Youngest estimated age")
        self.age_max.setToolTip("Oldest estimated age")
        age = QHBoxLayout()
        age.addWidget(self.age_min)
        age.addWidget(QLabel("to", self))
        age.addWidget(self.age_max)
        form.addRow(self.age_on, age)

        self.gender = self._combo(["Any", "female", "male"], "Estimated gender of the face")
        form.addRow("Gender", self.gender)
        self.expression = self._combo(["Any", *EXPRESSIONS], "The face's dominant expression")
        form.addRow("Expression", self.expression)
        self.pose = self._combo(["Any", *POSES], "Head pose")
        form.addRow("Pose", self.pose)
        self.sharpness = QDoubleSpinBox(self)
        self.sharpness.setRange(0.0, 10_000.0)
        self.sharpness.setDecimals(2)
        self.sharpness.setSingleStep(0.05)
        self.sharpness.setSpecialValueText("Any")
        self.sharpness.setToolTip("Only faces at least this sharp")
        form.addRow("Min. sharpness", self.sharpness)
        self.size = QSpinBox(self)
        self.size.setRange(0, 5000)
        self.size.setSingleStep(10)
        self.size.setSuffix(" px")
        self.size.setSpecialValueText("Any")
        self.size.setToolTip("Only faces at least this tall in the photo")
        form.addRow("Min. face size", self.size)

        self.people_mode = self._combo(["any of", "all of (photos)", "none of"],
                                       "any of: faces of any ticked person · all of: photos showing every ticked "
                                       "person · none of: faces of nobody ticked")
        self.people = QListWidget(self)
        self.people.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.people.setMaximumHeight(130)
        self.people.itemChanged.connect(lambda _i: self._controls_changed())
        form.addRow("People", self.people_mode)
        form.addRow(self.people)

        self.date_on = QCheckBox("Date", self)
        self.date_from = QDateEdit(QDate(2000, 1, 1), self)
        self.date_to = QDateEdit(QDate.currentDate(), self)
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
            d.dateChanged.connect(lambda _d: self._controls_changed())
        # One date a line: side by side (≈ 360 px at 150 %) they set the panel's minimum width, wider than the
        # dock on a 1366×768 screen at 150 %, which cut off the panel's right edge (the age range's "100 y").
        dates = QGridLayout()
        dates.addWidget(QLabel("from", self), 0, 0)
        dates.addWidget(self.date_from, 0, 1)
        dates.addWidget(QLabel("to", self), 1, 0)
        dates.addWidget(self.date_to, 1, 1)
        dates.setColumnStretch(1, 1)
        form.addRow(self.date_on, dates)
        self.folder = self._combo(["Any"], "Only photos inside this folder")
        form.addRow("Folder", self.folder)

        self.text = QLineEdit(self)
        self.text.setPlaceholderText("e.g. age>=30 and smiling and not profile")
        self.text.setToolTip(core.filter_help())
        self.text.setClearButtonEnabled(True)
        self.text.textEdited.connect(self._text_edited)
        self.text.returnPressed.connect(self.apply)
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d9534f")
        self.error.hide()
        clear = QPushButton("Clear", self)
        clear.setToolTip("Show everything again")
        clear.clicked.connect(self.clear)
        apply = QPushButton("Apply", self)
        apply.setToolTip("Apply the filter now (Enter)")
        apply.clicked.connect(self.apply)

        for w in (self.age_on, self.date_on):
            w.toggled.connect(lambda _on: self._controls_changed())
        for s in (self.age_min, self.age_max, self.size):
            s.valueChanged.connect(lambda _v: self._controls_changed())
        self.sharpness.valueChanged.connect(lambda _v: self._controls_changed())

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Filter expression:", self))
        layout.addWidget(self.text)
        layout.addWidget(self.error)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(clear)
        buttons.addWidget(apply)
        layout.addLayout(buttons)
        self.applies_to = QLabel(self)
        self.applies_to.setWordWrap(True)
        layout.addWidget(self.applies_to)
        layout.addStretch(1)
        self.reload_choices()

    def _combo(self, items: list[str], tip: str) -> QComboBox:
        c = QComboBox(self)
        c.addItems(items)
        c.setToolTip(tip)
        c.currentIndexChanged.connect(lambda _i: self._controls_changed())
        return c

    def reload_choices(self) -> None:
        """Refresh the people and folder lists (after an import or a rename)."""
        self._building = True
        try:
            ticked = {self.people.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.people.count())
                      if self.people.item(i).checkState() == Qt.CheckState.Checked}
            self.people.clear()
            names = self.session.reader.person_names()
            for pid, name in names:
                item = QListWidgetItem(name, self.people)
                item.setData(Qt.ItemDataRole.UserRole, pid)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if pid in ticked else Qt.CheckState.Unchecked)
            if not names:  # say why the list is empty instead of showing a blank box
                hint = QListWidgetItem("Named people appear here.\nName someone (F2 in People) to filter by them.",
                                       self.people)
                hint.setFlags(Qt.ItemFlag.NoItemFlags)
            current = self.folder.currentText()
            self.folder.clear()
            self.folder.addItem("Any")
            for root in self.session.reader.roots():
                self.folder.addItem(display_path(root["path"]), root["path"])
            i = self.folder.findText(current)
            self.folder.setCurrentIndex(max(0, i))
        finally:
            self._building = False

    def match(self) -> str:
        """"any" or "most": how many of a person's faces must match for the People page to list them."""
        return str(self.person_match.currentData() or "any")

    def set_target(self, what: str) -> None:
        self.applies_to.setText(f"Applies to: <b>{what}</b>")

    # ------------------------------------------------------------------ expression
    def ticked_people(self) -> list[tuple[int, str]]:
        return [(self.people.item(i).data(Qt.ItemDataRole.UserRole), self.people.item(i).text())
                for i in range(self.people.count()) if self.people.item(i).checkState() == Qt.CheckState.Checked]

    def build_expression(self) -> str:
        parts: list[str] = []
        if self.age_on.isChecked():
            parts.append(f"age>={self.age_min.value()} and age<={self.age_max.value()}")
        if self.gender.currentIndex() > 0:
            parts.append(f"gender={self.gender.currentText()}")
        if self.expression.currentIndex() > 0:
            parts.append(f"expression={self.expression.currentText()}")
        if self.pose.currentIndex() > 0:
            parts.append(f"pose={self.pose.currentText()}")
        if self.sharpness.value() > 0:
            parts.append(f"sharpness>={self.sharpness.value():g}")
        if self.size.value() > 0:
            parts.append(f"size>={self.size.value()}")
        people = self.ticked_people()
        if people:
            mode = self.people_mode.currentIndex()
            conds = [f"person={quote(name)}" for _, name in people]
            if mode == 2:
                parts.append(" and ".join(f"not {c}" for c in conds))
            elif mode == 0:
                parts.append(conds[0] if len(conds) == 1 else "(" + " or ".join(conds) + ")")
            # mode 1 (all of, photos) is a photo-level condition, see FilterResult.photo_where
        if self.date_on.isChecked():
            parts.append(f"date>={self.date_from.date().toString('yyyy-MM-dd')} and "
                         f"date<={self.date_to.date().toString('yyyy-MM-dd')}")
        if self.folder.currentIndex() > 0:
            parts.append(f"folder={quote(self.folder.currentData() or self.folder.currentText())}")
        return " and ".join(parts)

    def _text_edited(self, text: str) -> None:
        self.sync_controls(text)
        self._timer.start()

    def sync_controls(self, expr: str) -> None:
        """Make the dropdowns say what a typed expression says: ``pose=profile`` (or the bare word ``profile``)
        selects it; an expression that does not name one exact choice (absent, negated, or-ed) shows "Any"."""
        simple = not re.search(r"\b(or|not)\b", expr, re.IGNORECASE)
        self._building = True
        try:
            for combo, field, values in ((self.gender, "gender", ("female", "male")),
                                         (self.expression, "expression", EXPRESSIONS),
                                         (self.pose, "pose", POSES)):
                alternatives = "|".join(re.escape(v) for v in values)
                found = {m.lower() for m in re.findall(rf"\b{field}\s*=\s*({alternatives})(?![\w-])", expr,
                                                        re.IGNORECASE)}
                found |= {m.lower() for m in re.findall(rf"(?<![=\w-])({alternatives})(?![\w=<>!-])", expr,
                                                        re.IGNORECASE)}
                value = next(iter(found)) if simple and len(found) == 1 else None
                combo.setCurrentIndex(combo.findText(value) if value else 0)
        finally:
            self._building = False

    def _controls_changed(self) -> None:
        if self._building:
            return
        self.text.setText(self.build_expression())
        self._timer.start()

    def set_expression(self, expr: str) -> None:
        """Apply a hand-written expression (tests and the CLI-like text box)."""
        self.text.setText(expr)
        self.sync_controls(expr)
        self.apply()

    def apply(self) -> None:
        self._timer.stop()
        expr = self.text.text().strip()
        try:
            compiled = (self.session.library.compile_filter(expr, taught=self.session.reader.taught_names())
                        if expr else None)
        except FilterSyntaxError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.error.hide()
        all_people = (tuple(pid for pid, _ in self.ticked_people()) if self.people_mode.currentIndex() == 1 else ())
        result = FilterResult(expr, compiled, all_people, self.match())
        if result != self.result:
            self.result = result
            self.changed.emit(result)

    def clear(self) -> None:
        self._building = True
        try:
            self.age_on.setChecked(False)
            self.age_min.setValue(0)
            self.age_max.setValue(100)
            self.date_on.setChecked(False)
            self.date_from.setDate(QDate(2000, 1, 1))
            self.date_to.setDate(QDate.currentDate())
            for c in (self.gender, self.expression, self.pose, self.folder, self.people_mode):
                c.setCurrentIndex(0)
            self.sharpness.setValue(0)
            self.size.setValue(0)
            for i in range(self.people.count()):
                self.people.item(i).setCheckState(Qt.CheckState.Unchecked)
        finally:
            self._building = False
        self.text.clear()
        self.apply()
