"""A person's summary: the average face, key figures, expressions and age over time (painted, palette-aware).

The numbers come from :func:`faceorganizer.gui.core.person_summary` in a worker; when the core renders its
own chart image it is shown instead of the painted charts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from faceorganizer.gui.core import PersonSummary


def array_to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def summary_images(summary: PersonSummary) -> tuple[QImage | None, QImage | None]:
    """(rendered chart, average face) as QImages; call in the worker that computed the summary."""
    chart = QImage.fromData(summary.png) if summary.png else None
    eigen = summary.eigenface
    face = array_to_qimage(np.asarray(eigen)) if eigen is not None and np.asarray(eigen).ndim == 3 else None
    return chart, face


class _Charts(QWidget):
    """Expression bars and age-over-time points, painted with the palette's colours."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: dict[str, Any] = {}
        self.setMinimumHeight(220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_data(self, data: dict[str, Any]) -> None:
        self.data = data
        self.update()

    def paintEvent(self, event) -> None:  # noqa: ANN001
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.Text)
        accent = pal.color(QPalette.ColorRole.Highlight)
        grid = QColor(text)
        grid.setAlpha(50)
        w, h = self.width(), self.height()
        left = QRectF(10, 24, w * 0.42 - 20, h - 40)
        right = QRectF(w * 0.42 + 30, 24, w * 0.58 - 50, h - 56)
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(text)
        p.drawText(QPointF(left.left(), 16), "Expressions")
        p.drawText(QPointF(right.left(), 16), "Estimated age over time")
        p.setFont(self.font())

        expr = self.data.get("expressions") or {}
        if isinstance(expr, dict) and expr:
            items = list(expr.items())[:7]
            total = max(1.0, float(sum(v for _, v in items)))
            top = max(float(v) for _, v in items) or 1.0
            row = min(26.0, left.height() / max(1, len(items)))
            for i, (name, v) in enumerate(items):
                y = left.top() + i * row
                p.setPen(text)
                p.drawText(QRectF(left.left(), y, 80, row), Qt.AlignmentFlag.AlignVCenter, str(name))
                bar = QRectF(left.left() + 84, y + row * 0.2, (left.width() - 130) * float(v) / top, row * 0.6)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(accent)
                p.drawRoundedRect(bar, 3, 3)
                p.setPen(text)
                p.drawText(QRectF(bar.right() + 6, y, 50, row), Qt.AlignmentFlag.AlignVCenter,
                           f"{float(v) / total:.0%}")
        else:
            p.drawText(left, Qt.AlignmentFlag.AlignCenter, "No expression estimates")

        points = [(t, a) for t, a in (self.data.get("age_over_time") or []) if t and a is not None]
        p.setPen(QPen(grid, 1))
        p.drawRect(right)
        if len(points) >= 1:
            import datetime as dt

            def when(t: str) -> float:
                try:
                    return dt.datetime.fromisoformat(str(t)[:19].replace(" ", "T")).timestamp()
                except ValueError:
                    return 0.0

            xs = np.array([when(t) for t, _ in points])
            ys = np.array([float(a) for _, a in points])
            x0, x1 = xs.min(), max(xs.max(), xs.min() + 1)
            y0, y1 = max(0.0, ys.min() - 5), ys.max() + 5
            p.setPen(text)
            for frac in (0.0, 0.5, 1.0):
                age = y0 + (y1 - y0) * frac
                y = right.bottom() - frac * right.height()
                p.drawText(QRectF(right.left() - 34, y - 8, 30, 16), Qt.AlignmentFlag.AlignRight, f"{age:.0f}")
            for frac, align in ((0.0, Qt.AlignmentFlag.AlignLeft), (1.0, Qt.AlignmentFlag.AlignRight)):
                stamp = x0 + (x1 - x0) * frac
                label = dt.datetime.fromtimestamp(stamp).strftime("%Y-%m") if stamp > 0 else ""
                p.drawText(QRectF(right.left(), right.bottom() + 4, right.width(), 16), align, label)
            path = QPainterPath()
            order = np.argsort(xs)
            pts = [QPointF(right.left() + (xs[i] - x0) / (x1 - x0) * right.width(),
                           right.bottom() - (ys[i] - y0) / (y1 - y0) * right.height()) for i in order]
            p.setBrush(accent)
            p.setPen(Qt.PenStyle.NoPen)
            for pt in pts:
                p.drawEllipse(pt, 3.5, 3.5)
            if len(pts) > 1:
                path.moveTo(pts[0])
                for pt in pts[1:]:
                    path.lineTo(pt)
                line = QColor(accent)
                line.setAlpha(120)
                p.setPen(QPen(line, 1.5))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawPath(path)
        else:
            p.setPen(text)
            p.drawText(right, Qt.AlignmentFlag.AlignCenter, "No dated photos with an age estimate")
        p.end()


class SummaryWidget(QWidget):
    """Average face + figures on the left, charts (or the core's rendered summary) on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.face = QLabel(self)
        self.face.setFixedSize(150, 150)
        self.face.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.face.setToolTip("Average of this person's aligned faces")
        self.figures = QLabel(self)
        self.figures.setWordWrap(True)
        self.figures.setTextFormat(Qt.TextFormat.RichText)
        self.figures.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.charts = _Charts(self)
        self.rendered = QLabel(self)
        self.rendered.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.rendered.hide()
        side = QVBoxLayout()
        side.addWidget(self.face)
        cap = QLabel("Average face", self)
        cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
        side.addWidget(cap)
        side.addWidget(self.figures, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(side)
        layout.addWidget(self.charts, 1)
        layout.addWidget(self.rendered, 1)
        self.clear()

    def clear(self, message: str = "Computing summary…") -> None:
        self.face.clear()
        self.figures.setText(f"<i>{message}</i>")
        self.charts.set_data({})

    def set_summary(self, summary: PersonSummary, chart: QImage | None, face: QImage | None) -> None:
        d = summary.data or {}
        if face is not None:
            self.face.setPixmap(QPixmap.fromImage(face).scaled(150, 150, Qt.AspectRatioMode.KeepAspectRatio,
                                                               Qt.TransformationMode.SmoothTransformation))
        else:
            self.face.setText("—")
        lines = [f"<b>{d.get('faces', 0)}</b> faces"]
        if d.get("age_median") is not None:
            lo, hi = d.get("age_range") or (None, None)
            rng = f" (range {lo:.0f}–{hi:.0f})" if lo is not None else ""
            lines.append(f"Age about <b>{d['age_median']:.0f}</b>{rng}")
        if d.get("male_share") is not None:
            m = float(d["male_share"])
            lines.append(f"Looks <b>{'male' if m >= 0.5 else 'female'}</b> in {max(m, 1 - m):.0%} of faces")
        poses = d.get("poses") or {}
        if poses:
            lines.append("Poses: " + ", ".join(f"{k} {v}" for k, v in poses.items()))
        self.figures.setText("<br>".join(lines))
        if chart is not None and not chart.isNull():
            self.rendered.setPixmap(QPixmap.fromImage(chart))
            self.rendered.show()
            self.charts.hide()
        else:
            self.rendered.hide()
            self.charts.show()
            self.charts.set_data(d)
