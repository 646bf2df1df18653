"""Edit → Settings…: the user settings file (``faceorganizer.settings``), validated before saving."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel,
                               QSpinBox, QVBoxLayout, QWidget)

from faceorganizer.errors import SettingsError
from faceorganizer.settings import Settings, save_settings


class SettingsDialog(QDialog):
    """A form over :class:`Settings`; ``settings`` holds the saved result after ``accept``."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        form = QFormLayout()
        self.cluster = self._double(settings.cluster_threshold, 0.1, 1.5,
                                    "Distance under which faces are grouped into one person (default 0.50)")
        self.search = self._double(settings.search_threshold, 0.1, 1.5,
                                   "Distance under which a search result counts as the same person (default 0.60)")
        self.min_face = QSpinBox(self)
        self.min_face.setRange(8, 1000)
        self.min_face.setValue(settings.min_face_size)
        self.min_face.setSuffix(" px")
        self.min_face.setToolTip("Smallest face the detector looks for (applies to the next import)")
        self.device = self._choice(["auto", "cpu", "cuda"], settings.device, "Where the models run")
        self.backend = self._choice(["auto", "onnx", "torch"], settings.backend, "Model runtime")
        self.workers = QSpinBox(self)
        self.workers.setRange(0, 256)
        self.workers.setValue(settings.workers)
        self.workers.setSpecialValueText("Automatic")
        self.workers.setToolTip("Photos analysed in parallel during import (0 = one per core)")
        self.flip = QCheckBox("Embed each face and its mirror image", self)
        self.flip.setChecked(settings.flip_fusion)
        self.calibrated = QCheckBox("Rank search results by calibrated scores", self)
        self.calibrated.setChecked(settings.calibrated_scores)
        self.xmp = QCheckBox("Write names to .xmp sidecar files", self)
        self.xmp.setChecked(settings.write_xmp)
        self.xmp_in = QCheckBox("Also write names into the image files (never changes pixels)", self)
        self.xmp_in.setChecked(settings.xmp_into_file)
        form.addRow("Grouping threshold", self.cluster)
        form.addRow("Search threshold", self.search)
        form.addRow("Smallest face", self.min_face)
        form.addRow("Device", self.device)
        form.addRow("Runtime", self.backend)
        form.addRow("Parallel imports", self.workers)
        form.addRow(self.flip)
        form.addRow(self.calibrated)
        form.addRow(self.xmp)
        form.addRow(self.xmp_in)
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #d9534f")
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Device, runtime and face size apply to the next import.", self))
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _double(self, value: float, lo: float, hi: float, tip: str) -> QDoubleSpinBox:
        s = QDoubleSpinBox(self)
        s.setRange(lo, hi)
        s.setDecimals(2)
        s.setSingleStep(0.02)
        s.setValue(value)
        s.setToolTip(tip)
        return s

    def _choice(self, items: list[str], value: str, tip: str) -> QComboBox:
        c = QComboBox(self)
        c.addItems(items)
        c.setCurrentText(value)
        c.setToolTip(tip)
        return c

    def values(self) -> Settings:
        return replace(self.settings, cluster_threshold=self.cluster.value(), search_threshold=self.search.value(),
                       min_face_size=self.min_face.value(), device=self.device.currentText(),
                       backend=self.backend.currentText(), workers=self.workers.value(),
                       flip_fusion=self.flip.isChecked(), calibrated_scores=self.calibrated.isChecked(),
                       write_xmp=self.xmp.isChecked(), xmp_into_file=self.xmp_in.isChecked())

    def accept(self) -> None:
        try:
            new = self.values().validated()
            save_settings(new)
        except (SettingsError, OSError) as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.settings = new
        super().accept()
