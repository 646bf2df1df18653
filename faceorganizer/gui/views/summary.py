"""A person's summary: eigenfaces, key figures, attribute occurrences and age over time.

The numbers come from :func:`faceorganizer.gui.core.person_summary` (``attributes.summary``) in a worker; the
images are turned into ``QImage`` there too. Charts are painted here with the palette's colours, so they
follow light and dark themes.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget)

from faceorganizer.gui.core import PersonSummary

SECTION_COLORS = {"Smiling": "#f08c00", "Pose": "#1c7ed6", "Gender": "#7048e8", "Age": "#0ca678",
                  "Expression": "#e8590c"}


def array_to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(np.asarray(rgb)[..., :3], dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def summary_images(summary: PersonSummary) -> tuple[QImage | None, list[tuple[QImage, float]]]:
    """(mean face, components) as QImages; called in the worker that computed the summary."""
    mean = array_to_qimage(summary.mean_face) if summary.mean_face is not None else None
    comps = [(array_to_qimage(c), e) for c, e in summary.components]
    return mean, comps


def _when(text: str) -> float | None:
    try:
        return dt.datetime.fromisoformat(str(text)[:10]).timestamp()
    except ValueError:
        return None


class OccurrenceChart(QWidget):
    """Horizontal bars per section: the share of faces with each attribute value.

    Sections flow into two columns when the widget is wide enough, so the whole chart (and the age chart
    below it) fits on one screen; values no face has are drawn muted.
    """

    ROW = 20
    MIN_COLUMN = 330
    GAP = 28

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sections: list[tuple[str, list[tuple[str, int, int]]]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_sections(self, sections: list[tuple[str, list[tuple[str, int, int]]]]) -> None:
        self.sections = [(t, [b for b in bars if b[2]]) for t, bars in sections]
        self.sections = [(t, bars) for t, bars in self.sections if bars]
        self._fit_height()
        self.update()

    @staticmethod
    def _rows(sections: list) -> int:
        return sum(len(b) + 1 for _, b in sections)

    def columns(self, width: int | None = None) -> list[list[tuple[str, list[tuple[str, int, int]]]]]:
        """The sections of each column: two balanced columns (in order) when there is room, else one."""
        width = self.width() if width is None else width
        if len(self.sections) < 2 or width < 2 * self.MIN_COLUMN + self.GAP:
            return [self.sections]
        best = min(range(1, len(self.sections)),
                   key=lambda k: max(self._rows(self.sections[:k]), self._rows(self.sections[k:])))
        return [self.sections[:best], self.sections[best:]]

    def _height(self, width: int) -> int:
        rows = max((self._rows(c) for c in self.columns(width)), default=0)
        return max(40, rows * self.ROW + 8)

    def _fit_height(self) -> None:
        h = self._height(self.width())
        if h != self.height() or self.minimumHeight() != h:
            self.setFixedHeight(h)

    def resizeEvent(self, event) -> None:  # noqa: ANN001
        super().resizeEvent(event)
        self._fit_height()

    def sizeHint(self) -> QSize:
        return QSize(360, self._height(self.width()))

    def paintEvent(self, event) -> None:  # noqa: ANN001
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.Text)
        muted = QColor(text)
        muted.setAlpha(110)
        track = QColor(text)
        track.setAlpha(28)
        bold = QFont(self.font())
        bold.setBold(True)
        fm = QFontMetrics(self.font())
        if not self.sections:
            p.setPen(text)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No attribute estimates")
            return
        labels = [label for _, bars in self.sections for label, _c, _t in bars]
        label_w = min(150, max(fm.horizontalAdvance(t) for t in labels) + 20)
        totals = [t for _, bars in self.sections for _l, _c, t in bars]
        pct_w = fm.horizontalAdvance(f"100%  ({max(totals)}/{max(totals)})") + 10
        columns = self.columns()
        col_w = (self.width() - self.GAP * (len(columns) - 1)) / len(columns)
        for ci, column in enumerate(columns):
            x0 = ci * (col_w + self.GAP)
            y = 2.0
            for title, bars in column:
                p.setFont(bold)
                p.setPen(text)
                p.drawText(QRectF(x0, y, col_w, self.ROW), Qt.AlignmentFlag.AlignVCenter, title)
                y += self.ROW
                p.setFont(self.font())
                color = QColor(SECTION_COLORS.get(title, pal.color(QPalette.ColorRole.Highlight).name()))
                for label, count, total in bars:
                    frac = count / total if total else 0.0
                    pen = text if count else muted
                    full = QRectF(x0 + label_w, y + 5, max(10.0, col_w - label_w - pct_w), self.ROW - 10)
                    p.setPen(pen)
                    p.drawText(QRectF(x0 + 8, y, label_w - 12, self.ROW), Qt.AlignmentFlag.AlignVCenter,
                               fm.elidedText(label, Qt.TextElideMode.ElideRight, label_w - 12))
                    p.setPen(Qt.PenStyle.NoPen)
                    p.setBrush(track)
                    p.drawRoundedRect(full, 4, 4)
                    if frac > 0:
                        p.setBrush(color)
                        p.drawRoundedRect(QRectF(full.left(), full.top(), max(6.0, full.width() * frac),
                                                 full.height()), 4, 4)
                    p.setPen(pen)
                    p.drawText(QRectF(full.right() + 8, y, pct_w - 8, self.ROW), Qt.AlignmentFlag.AlignVCenter,
                               f"{frac:.0%}  ({count}/{total})")
                    y += self.ROW
        p.end()


class AgeChart(QWidget):
    """Estimated age (one point per dated photo) against the photo date, with the least-squares trend."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[tuple[str, float]] = []
        self.setMinimumSize(320, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(220)

    def set_points(self, points: list[tuple[str, float]]) -> None:
        self.points = [(d, a) for d, a in points if _when(d) is not None]
        # A chart needs two days; a message alone needs a line or two, not the chart's height.
        self.setFixedHeight(220 if len({str(d)[:10] for d, _ in self.points}) >= 2 else 56)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: ANN001
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.Text)
        accent = pal.color(QPalette.ColorRole.Highlight)
        grid = QColor(text)
        grid.setAlpha(40)
        area = QRectF(42, 10, self.width() - 56, self.height() - 36)
        days = {str(d)[:10] for d, _ in self.points}
        if len(days) < 2:
            muted = QColor(text)
            muted.setAlpha(150)
            p.setPen(muted)
            what = ("No photo of this person has a date" if not days else
                    f"All dated photos of this person are from {next(iter(days))}")
            p.drawText(self.rect().adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       f"{what}: age over time needs photos taken on different days.")
            return
        xs = np.array([_when(d) for d, _ in self.points], np.float64)
        ys = np.array([a for _, a in self.points], np.float64)
        x0, x1 = xs.min(), xs.max()
        if x1 - x0 < 86400 * 30:
            x0, x1 = x0 - 86400 * 180, x1 + 86400 * 180
        y0 = max(0.0, np.floor((ys.min() - 5) / 10) * 10)
        y1 = np.ceil((ys.max() + 5) / 10) * 10

        def at(x: float, y: float) -> QPointF:
            return QPointF(area.left() + (x - x0) / (x1 - x0) * area.width(),
                           area.bottom() - (y - y0) / (y1 - y0) * area.height())

        p.setFont(self.font())
        step = 10 if y1 - y0 <= 60 else 20
        for age in np.arange(y0, y1 + 0.1, step):
            pt = at(x0, age)
            p.setPen(QPen(grid, 1))
            p.drawLine(QPointF(area.left(), pt.y()), QPointF(area.right(), pt.y()))
            p.setPen(text)
            p.drawText(QRectF(0, pt.y() - 8, 36, 16), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       f"{age:.0f}")
        y_first = dt.datetime.fromtimestamp(x0).year
        y_last = dt.datetime.fromtimestamp(x1).year
        years = range(y_first, y_last + 1, max(1, (y_last - y_first) // 6 or 1))
        for year in years:
            t = dt.datetime(year, 1, 1).timestamp()
            if x0 <= t <= x1:
                pt = at(t, y0)
                p.setPen(QPen(grid, 1))
                p.drawLine(QPointF(pt.x(), area.top()), QPointF(pt.x(), area.bottom()))
                p.setPen(text)
                p.drawText(QRectF(pt.x() - 30, area.bottom() + 4, 60, 16), Qt.AlignmentFlag.AlignHCenter, str(year))
        if len(xs) >= TREND_MIN_PHOTOS and xs.max() - xs.min() >= TREND_MIN_DAYS * 86400:
            slope, icpt = np.polyfit(xs, ys, 1)
            trend = QColor(accent)
            trend.setAlpha(140)
            p.setPen(QPen(trend, 2, Qt.PenStyle.DashLine))
            p.drawLine(at(x0, slope * x0 + icpt), at(x1, slope * x1 + icpt))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(accent)
        for x, y in zip(xs, ys):
            p.drawEllipse(at(x, y), 4, 4)
        p.end()


#: A trend of estimated age over time is shown from this many dated photos over at least a year: from three
#: photos a day apart it is noise ("−4.52 years per year").
TREND_MIN_PHOTOS = 8
TREND_MIN_DAYS = 365


def trend_is_meaningful(points: list[tuple[str, float]]) -> bool:
    """Whether (date, age) points are enough for an age trend to mean something."""
    dates = sorted(str(d)[:10] for d, _ in points if d)
    if len(dates) < TREND_MIN_PHOTOS:
        return False
    try:
        first, last = dt.date.fromisoformat(dates[0]), dt.date.fromisoformat(dates[-1])
    except ValueError:
        return False
    return (last - first).days >= TREND_MIN_DAYS


def meaningful_sections(sections: list[tuple[str, list[tuple[str, int, int]]]]
                        ) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """Chart sections without double counts: "Smiling" is the same model's "happy" at another cut-off, so
    beside an expression breakdown it only shows two numbers that disagree ("smiling 33 %", "happy 50 %")."""
    titles = {title for title, bars in sections if bars}
    return [(title, bars) for title, bars in sections if not (title == "Smiling" and "Expression" in titles)]


class SummaryWidget(QScrollArea):
    """Eigenfaces and figures, the occurrence chart and age over time, in one scrollable page."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        body = QWidget(self)
        self.setWidget(body)
        self.mean = QLabel(body)
        self.mean.setFixedSize(150, 150)
        self.mean.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.mean.setToolTip("The mean of this person's aligned faces")
        self.components = QGridLayout()
        self.components.setSpacing(4)
        self.figures = QLabel(body)
        self.figures.setTextFormat(Qt.TextFormat.RichText)
        self.figures.setWordWrap(True)
        self.figures.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.chart = OccurrenceChart(body)
        self.age = AgeChart(body)
        left = QVBoxLayout()
        title = QLabel("<b>Eigenfaces</b>", body)
        left.addWidget(title)
        left.addWidget(self.mean)
        cap = QLabel("mean face", body)
        cap.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        left.addWidget(cap)
        left.addLayout(self.components)
        self.components_caption = QLabel("main ways the faces vary", body)
        self.components_caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.components_caption.setToolTip("Principal components of the aligned faces, zero at mid-grey")
        left.addWidget(self.components_caption)
        left.addSpacing(8)
        left.addWidget(self.figures)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(QLabel("<b>How often each attribute appears</b>", body))
        right.addWidget(self.chart)
        right.addSpacing(10)
        right.addWidget(QLabel("<b>Estimated age over time</b>", body))
        right.addWidget(self.age)
        right.addStretch(1)
        row = QHBoxLayout(body)
        row.setContentsMargins(12, 10, 12, 10)
        row.addLayout(left)
        row.addSpacing(18)
        row.addLayout(right, 1)
        self.summary: PersonSummary | None = None
        self.clear()

    def clear(self, message: str = "Computing summary…") -> None:
        self.summary = None
        self.mean.clear()
        self.mean.setText("…")
        while self.components.count():
            item = self.components.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.figures.setText(f"<i>{message}</i>")
        self.components_caption.hide()
        self.chart.set_sections([])
        self.age.set_points([])

    def set_summary(self, summary: PersonSummary, mean: QImage | None, comps: list[tuple[QImage, float]]) -> None:
        self.clear("")
        self.summary = summary
        if mean is not None and not mean.isNull():
            self.mean.setPixmap(QPixmap.fromImage(mean).scaled(150, 150, Qt.AspectRatioMode.KeepAspectRatio,
                                                               Qt.TransformationMode.SmoothTransformation))
        else:
            self.mean.setText("—")
        for i, (img, share) in enumerate(comps[:6]):
            tile = QLabel(self.widget())
            tile.setPixmap(QPixmap.fromImage(img).scaled(46, 46, Qt.AspectRatioMode.KeepAspectRatio,
                                                         Qt.TransformationMode.SmoothTransformation))
            tile.setToolTip(f"Component {i + 1}: {share:.0%} of the variation between the faces")
            self.components.addWidget(tile, i // 3, i % 3)
        self.components_caption.setVisible(bool(comps))
        s = summary
        lines = [f"<b>{s.face_count}</b> faces in <b>{s.photo_count}</b> photos"]
        if s.first_date and s.first_date != s.last_date:
            lines.append(f"from {s.first_date} to {s.last_date}")
        elif s.first_date:
            lines.append(f"dated photos: {s.first_date}")
        if s.mean_age is not None:
            lines.append(f"mean estimated age <b>{s.mean_age:.0f}</b>")
        if s.age_trend_per_year is not None and trend_is_meaningful(s.age_over_time):
            lines.append(f"estimated age changes by {s.age_trend_per_year:+.1f} years per year")
        self.figures.setText("<br>".join(lines))
        self.chart.set_sections(meaningful_sections(s.sections))
        self.age.set_points(s.age_over_time)
