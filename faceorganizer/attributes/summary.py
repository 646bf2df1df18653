"""Summaries of a set of faces (a person, an attribute group, a filter's result): numbers and PNG charts.

:func:`summary_data` returns the numbers, so the GUI can draw them natively:

- face and photo counts, the date range of the dated photos;
- age over time: one ``(date, age)`` point per dated photo (the mean estimate if the set has several faces in
  it), and the least-squares trend in years of estimated age per year;
- the attribute-occurrence chart: how often each attribute appears (% smiling, poses, gender, age brackets,
  dominant expressions, and every taught attribute), each out of the faces where it is known;
- eigenfaces: the mean aligned face and the first principal components of the set's aligned 150×150 chips
  (decoded from ``face_chips.chip``, resized to ``size``×``size``, grey or colour), via an SVD of the centred
  pixels. The mean shows the typical face; each component a direction the faces vary along (light, pose,
  expression, ...), with the share of the variance it explains.

:func:`render_summary` writes ``chart.png``, ``eigenface.png`` and ``age_over_time.png`` with Pillow alone
(drawn at twice the size and downsampled, so lines and text are smooth).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from faceorganizer.attributes.brackets import (
    BRACKET_NAMES,
    EXPRESSIONS,
    GENDER_THRESHOLD,
    POSES,
    SMILE_THRESHOLD,
    bracket_label,
    bracket_of,
)
from faceorganizer.store import attributes as attr_store

__all__ = ["Bar", "ChartSection", "Eigenfaces", "GroupSummary", "summary_data", "compute_eigenfaces",
           "render_summary", "render_chart", "render_eigenfaces", "render_age_over_time"]

EIGENFACE_SIZE = 64
EIGENFACE_COMPONENTS = 6
EIGENFACE_MAX_FACES = 2_000  # a seeded sample above this: the mean and first components are already stable


@dataclass(frozen=True)
class Bar:
    """One bar of the occurrence chart: ``count`` of ``total`` faces (those where the attribute is known)."""

    label: str
    count: int
    total: int

    @property
    def fraction(self) -> float:
        return self.count / self.total if self.total else 0.0


@dataclass(frozen=True)
class ChartSection:
    """A titled block of bars (Pose: frontal / three-quarter / profile); ``unknown`` faces lack the value."""

    title: str
    bars: list[Bar]
    unknown: int = 0


@dataclass(frozen=True)
class Eigenfaces:
    """Mean face and principal components, as float arrays (``size``×``size`` or ×3 for colour).

    ``mean`` is in 0..1; each component is a unit vector reshaped to the image (sign arbitrary);
    ``explained`` is each component's share of the total variance.
    """

    mean: NDArray[np.float32]
    components: NDArray[np.float32]
    explained: NDArray[np.float64]
    n_faces: int


@dataclass(frozen=True)
class GroupSummary:
    """The numbers of a summary (see the module doc); ``to_json`` leaves out the eigenface pixels."""

    face_ids: list[int]
    face_count: int
    photo_count: int
    first_date: str | None
    last_date: str | None
    undated_photos: int
    age_over_time: list[tuple[str, float]]
    age_trend_per_year: float | None
    mean_age: float | None
    sections: list[ChartSection]
    eigenfaces: Eigenfaces | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, object]:
        return {
            "face_count": self.face_count, "photo_count": self.photo_count,
            "first_date": self.first_date, "last_date": self.last_date, "undated_photos": self.undated_photos,
            "mean_age": self.mean_age, "age_trend_per_year": self.age_trend_per_year,
            "age_over_time": [[d, round(a, 2)] for d, a in self.age_over_time],
            "chart": [{"title": s.title, "unknown": s.unknown,
                       "bars": [{"label": b.label, "count": b.count, "total": b.total,
                                 "percent": round(100 * b.fraction, 1)} for b in s.bars]}
                      for s in self.sections],
            "eigenfaces": None if self.eigenfaces is None else {
                "n_faces": self.eigenfaces.n_faces, "components": int(self.eigenfaces.components.shape[0]),
                "explained": [round(float(v), 4) for v in self.eigenfaces.explained]},
        }


# ------------------------------------------------------------------------------------------------ data
def _rows(db: sqlite_utils.Database, face_ids: Sequence[int], columns: str) -> list[dict[str, Any]]:
    return attr_store.summary_rows(db, face_ids, columns)


def _count_section(title: str, labels: Sequence[str], values: Sequence[str | None],
                   display: dict[str, str] | None = None) -> ChartSection:
    known = [v for v in values if v is not None]
    bars = [Bar((display or {}).get(lab, lab), sum(1 for v in known if v == lab), len(known)) for lab in labels]
    return ChartSection(title, bars, len(values) - len(known))


def _taught_sections(db: sqlite_utils.Database, face_ids: Sequence[int]) -> list[ChartSection]:
    counts = attr_store.taught_counts_of_faces(db, face_ids)
    if not counts:
        return []
    bars = [Bar(name, yes, n) for name, (yes, n) in sorted(counts.items())]
    return [ChartSection("Taught", bars, 0)]


def _age_trend(points: list[tuple[str, float]]) -> float | None:
    if len(points) < 3:
        return None
    t = np.asarray([dt.date.fromisoformat(d).toordinal() / 365.25 for d, _ in points])
    a = np.asarray([age for _, age in points])
    if t.max() - t.min() < 0.5:  # under half a year: no meaningful trend
        return None
    slope = np.polyfit(t, a, 1)[0]
    return float(slope)


def compute_eigenfaces(chips: Sequence[bytes], *, size: int = EIGENFACE_SIZE, colour: bool = False,
                       n_components: int = EIGENFACE_COMPONENTS, seed: int = 0) -> Eigenfaces | None:
    """Mean face and principal components of JPEG face chips; ``None`` when no chip decodes."""
    chips = list(chips)
    if len(chips) > EIGENFACE_MAX_FACES:
        rng = np.random.default_rng(seed)
        chips = [chips[i] for i in np.sort(rng.choice(len(chips), EIGENFACE_MAX_FACES, replace=False))]
    mode = "RGB" if colour else "L"
    pixels = []
    for blob in chips:
        try:
            with Image.open(io.BytesIO(blob)) as im:
                small = im.convert(mode).resize((size, size), Image.Resampling.LANCZOS)
        except (OSError, ValueError):  # a damaged chip is left out of the picture, not fatal
            continue
        pixels.append(np.asarray(small, np.float32).ravel() / 255.0)
    if not pixels:
        return None
    x = np.stack(pixels)
    shape = (size, size, 3) if colour else (size, size)
    mean = x.mean(axis=0)
    k = min(n_components, x.shape[0] - 1)
    if k < 1:
        return Eigenfaces(mean.reshape(shape), np.zeros((0, *shape), np.float32), np.zeros(0), x.shape[0])
    centred = x - mean
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    variance = s ** 2
    explained = variance[:k] / max(variance.sum(), 1e-12)
    comps = vt[:k].astype(np.float32)
    # SVD signs are arbitrary: turn each component so its largest-magnitude pixel is positive (stable images).
    comps *= np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])[:, None]
    return Eigenfaces(mean.reshape(shape).astype(np.float32), comps.reshape(k, *shape), explained, x.shape[0])


def summary_data(db: sqlite_utils.Database, face_ids: Sequence[int], *, eigenfaces: bool = True,
                 size: int = EIGENFACE_SIZE, colour: bool = False,
                 n_components: int = EIGENFACE_COMPONENTS) -> GroupSummary:
    """The numbers of a summary of ``face_ids`` (unknown ids are ignored)."""
    rows = _rows(db, face_ids, "f.id, f.photo_id, f.age, f.gender, f.smile, f.pose, f.expression, p.taken_at"
                 + (", c.chip" if eigenfaces else ""))
    per_photo: dict[int, tuple[str | None, list[float]]] = {}
    for r in rows:
        date = r["taken_at"][:10] if r["taken_at"] else None
        entry = per_photo.setdefault(r["photo_id"], (date, []))
        if r["age"] is not None:
            entry[1].append(float(r["age"]))
    points = sorted((d, float(np.mean(ages))) for d, ages in per_photo.values() if d and ages)
    dates = sorted(d for d, _ in per_photo.values() if d)
    ages = [float(r["age"]) for r in rows if r["age"] is not None]

    smile = [None if r["smile"] is None else ("smiling" if r["smile"] >= SMILE_THRESHOLD else "not")
             for r in rows]
    gender = [None if r["gender"] is None else ("male" if r["gender"] >= GENDER_THRESHOLD else "female")
              for r in rows]
    sections = [
        _count_section("Smiling", ["smiling"], smile),
        _count_section("Pose", list(POSES), [r["pose"] for r in rows]),
        _count_section("Gender", ["male", "female"], gender),
        _count_section("Age", list(BRACKET_NAMES), [bracket_of(r["age"]) for r in rows],
                       {b: bracket_label(b) for b in BRACKET_NAMES}),
        _count_section("Expression", list(EXPRESSIONS), [r["expression"] for r in rows]),
        *_taught_sections(db, [r["id"] for r in rows]),
    ]
    eig = None
    if eigenfaces:
        eig = compute_eigenfaces([r["chip"] for r in rows if r["chip"]], size=size, colour=colour,
                                 n_components=n_components)
    return GroupSummary(
        face_ids=[r["id"] for r in rows], face_count=len(rows), photo_count=len(per_photo),
        first_date=dates[0] if dates else None, last_date=dates[-1] if dates else None,
        undated_photos=sum(1 for d, _ in per_photo.values() if not d), age_over_time=points,
        age_trend_per_year=_age_trend(points), mean_age=float(np.mean(ages)) if ages else None,
        sections=sections, eigenfaces=eig)


# ------------------------------------------------------------------------------------------------ drawing
_SS = 3  # supersampling factor
_INK = (33, 37, 41)
_MUTED = (108, 117, 125)
_GRID = (222, 226, 230)
_TRACK = (241, 243, 245)
_BG = (255, 255, 255)
_PALETTE = {"Smiling": (240, 140, 0), "Pose": (28, 126, 214), "Gender": (112, 72, 232),
            "Age": (12, 166, 120), "Expression": (232, 89, 12), "Taught": (214, 51, 108)}


def _font(px: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    size = px * _SS
    for name in (("DejaVuSans-Bold.ttf", "Arial Bold.ttf", "arialbd.ttf") if bold else
                 ("DejaVuSans.ttf", "Arial.ttf", "arial.ttf")):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


class _Canvas:
    """A white image drawn at ``_SS``× with coordinates given at 1× (so callers think in output pixels)."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.image = Image.new("RGB", (width * _SS, height * _SS), _BG)
        self.draw = ImageDraw.Draw(self.image)

    def text(self, xy: tuple[float, float], text: str, px: int = 13, fill: tuple[int, int, int] = _INK,
             bold: bool = False, anchor: str = "la") -> None:
        self.draw.text((xy[0] * _SS, xy[1] * _SS), text, fill=fill, font=_font(px, bold), anchor=anchor)

    def text_width(self, text: str, px: int = 13, bold: bool = False) -> float:
        return self.draw.textlength(text, font=_font(px, bold)) / _SS

    def rect(self, box: tuple[float, float, float, float], fill: tuple[int, int, int], radius: float = 0) -> None:
        x0, y0, x1, y1 = (v * _SS for v in box)
        if x1 <= x0 or y1 <= y0:
            return
        self.draw.rounded_rectangle((x0, y0, x1, y1), radius=radius * _SS, fill=fill)

    def line(self, points: Sequence[tuple[float, float]], fill: tuple[int, int, int], width: float = 1) -> None:
        self.draw.line([(x * _SS, y * _SS) for x, y in points], fill=fill, width=max(1, round(width * _SS)),
                       joint="curve")

    def dashed(self, a: tuple[float, float], b: tuple[float, float], fill: tuple[int, int, int],
               width: float = 1, dash: float = 6, gap: float = 4) -> None:
        length = math.hypot(b[0] - a[0], b[1] - a[1])
        pos = 0.0
        while pos < length:
            end = min(pos + dash, length)
            p0 = (a[0] + (b[0] - a[0]) * pos / length, a[1] + (b[1] - a[1]) * pos / length)
            p1 = (a[0] + (b[0] - a[0]) * end / length, a[1] + (b[1] - a[1]) * end / length)
            self.line([p0, p1], fill, width)
            pos = end + gap

    def dot(self, xy: tuple[float, float], r: float, fill: tuple[int, int, int],
            outline: tuple[int, int, int] | None = None) -> None:
        x, y = xy[0] * _SS, xy[1] * _SS
        self.draw.ellipse((x - r * _SS, y - r * _SS, x + r * _SS, y + r * _SS), fill=fill, outline=outline,
                          width=_SS)

    def paste(self, image: Image.Image, xy: tuple[float, float]) -> None:
        big = image.resize((image.width * _SS, image.height * _SS), Image.Resampling.NEAREST)
        self.image.paste(big, (int(xy[0] * _SS), int(xy[1] * _SS)))

    def save(self, path: Path) -> Path:
        self.image.resize((self.width, self.height), Image.Resampling.LANCZOS).save(path, optimize=True)
        return path


def _subtitle(summary: GroupSummary) -> str:
    parts = [f"{summary.face_count} face{'s' * (summary.face_count != 1)} in "
             f"{summary.photo_count} photo{'s' * (summary.photo_count != 1)}"]
    if summary.first_date:
        parts.append(summary.first_date if summary.first_date == summary.last_date
                     else f"{summary.first_date} – {summary.last_date}")
    if summary.mean_age is not None:
        parts.append(f"mean age {summary.mean_age:.0f}")
    return " · ".join(parts)


def render_chart(summary: GroupSummary, path: Path, title: str = "Faces") -> Path:
    """The attribute-occurrence chart: a horizontal bar per attribute, grouped in titled sections."""
    width, pad, label_w, value_w, row_h, head_h = 760, 28, 170, 136, 24, 34
    sections = [s for s in summary.sections if s.bars]
    height = 86 + sum(head_h + row_h * len(s.bars) + 10 for s in sections) + pad
    c = _Canvas(width, height)
    c.text((pad, 22), title, px=20, bold=True)
    c.text((pad, 52), _subtitle(summary), px=13, fill=_MUTED)
    bar_x0, bar_x1 = pad + label_w, width - pad - value_w
    y = 86
    for section in sections:
        colour = _PALETTE.get(section.title, (73, 80, 87))
        total = section.bars[0].total if section.bars else 0
        note = f"of {total} faces" + (f" · {section.unknown} unknown" if section.unknown else "")
        if section.title == "Taught":
            note = "share of faces tagged or predicted yes"
        c.text((pad, y + 8), section.title.upper(), px=12, bold=True, fill=colour)
        c.text((pad + c.text_width(section.title.upper(), 12, True) + 10, y + 9), note, px=11, fill=_MUTED)
        y += head_h
        for bar in section.bars:
            mid = y + row_h / 2
            c.text((bar_x0 - 12, mid), bar.label, px=13, anchor="rm")
            c.rect((bar_x0, mid - 7, bar_x1, mid + 7), _TRACK, radius=3)
            c.rect((bar_x0, mid - 7, bar_x0 + (bar_x1 - bar_x0) * bar.fraction, mid + 7), colour, radius=3)
            c.text((bar_x1 + 54, mid), f"{100 * bar.fraction:.0f}%", px=13, bold=True, anchor="rm")
            c.text((bar_x1 + 64, mid), f"{bar.count}/{bar.total}", px=11, fill=_MUTED, anchor="lm")
            y += row_h
        y += 10
    return c.save(path)


def _to_image(arr: NDArray[np.float32], tile: int) -> Image.Image:
    data = np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8)
    image = Image.fromarray(data, "RGB" if data.ndim == 3 else "L").convert("RGB")
    return image.resize((tile, tile), Image.Resampling.BICUBIC)


def render_eigenfaces(summary: GroupSummary, path: Path, title: str = "Faces") -> Path:
    """Mean face and the first principal components, each contrast-normalised around mid-grey."""
    eig = summary.eigenfaces
    tile, gap, pad = 136, 16, 28
    # Components that explain almost nothing are noise (e.g. more components asked for than the faces vary in).
    n_comp = 0 if eig is None else int((eig.explained >= 0.005).sum())
    cols = 1 + n_comp
    width = max(2 * pad + cols * tile + (cols - 1) * gap, 560)
    height = 86 + tile + 64
    c = _Canvas(width, height)
    c.text((pad, 22), f"{title}: eigenfaces", px=20, bold=True)
    if eig is None:
        c.text((pad, 52), "No face images stored for these faces.", px=13, fill=_MUTED)
        return c.save(path)
    sub = f"mean of {eig.n_faces} aligned faces and the directions they vary along most"
    if n_comp == 0:
        sub = "mean face (components need at least two faces)"
    c.text((pad, 52), sub, px=13, fill=_MUTED)
    y = 86
    x = pad
    c.paste(_to_image(eig.mean, tile), (x, y))
    c.text((x + tile / 2, y + tile + 10), "mean face", px=13, bold=True, anchor="ma")
    c.text((x + tile / 2, y + tile + 30), f"{eig.n_faces} faces", px=11, fill=_MUTED, anchor="ma")
    for i in range(n_comp):
        x = pad + (i + 1) * (tile + gap)
        comp = eig.components[i]
        scale = float(np.abs(comp).max()) or 1.0
        c.paste(_to_image(0.5 + 0.5 * comp / scale, tile), (x, y))  # zero at mid-grey, extremes at 0/255
        c.text((x + tile / 2, y + tile + 10), f"component {i + 1}", px=13, bold=True, anchor="ma")
        c.text((x + tile / 2, y + tile + 30), f"{100 * eig.explained[i]:.1f}% of variance", px=11, fill=_MUTED,
               anchor="ma")
    return c.save(path)


def _nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def render_age_over_time(summary: GroupSummary, path: Path, title: str = "Faces") -> Path:
    """Estimated age per dated photo against the photo's date, with the least-squares trend."""
    width, height, pad = 760, 420, 28
    c = _Canvas(width, height)
    c.text((pad, 22), f"{title}: age over time", px=20, bold=True)
    points = summary.age_over_time
    if not points:
        msg = "No dated photos with an age estimate"
        if summary.mean_age is not None:
            msg += f" (mean estimated age {summary.mean_age:.0f} over {summary.face_count} faces)"
        c.text((pad, 52), msg + ".", px=13, fill=_MUTED)
        c.rect((pad, 86, width - pad, height - pad), _TRACK, radius=6)
        c.text((width / 2, (86 + height - pad) / 2), "no dates to plot", px=15, fill=_MUTED, anchor="mm")
        return c.save(path)
    trend = summary.age_trend_per_year
    when = summary.first_date if summary.first_date == summary.last_date \
        else f"{summary.first_date} – {summary.last_date}"
    sub = f"{len(points)} dated photo{'s' * (len(points) != 1)}, {when}"
    if trend is not None:
        sub += f" · trend {trend:+.1f} years of age per year"
    if summary.undated_photos:
        sub += f" · {summary.undated_photos} undated left out"
    c.text((pad, 52), sub, px=13, fill=_MUTED)
    t = np.asarray([dt.date.fromisoformat(d).toordinal() for d, _ in points], np.float64)
    a = np.asarray([age for _, age in points])
    margin = max(20.0, 0.04 * (t.max() - t.min()))  # keep the first and last points off the frame
    t0, t1 = t.min() - margin, t.max() + margin
    low, high = float(a.min()), float(a.max())
    if high - low < 10:  # at least a ten-year window, so one photo or a steady age does not look dramatic
        mid = (low + high) / 2
        low, high = mid - 5, mid + 5
    step = _nice_step(high - low, 5)
    a0 = max(0.0, math.floor((low - step / 2) / step) * step)
    a1 = math.ceil((high + step / 2) / step) * step
    left, right, top, bottom = pad + 44, width - pad - 8, 90, height - pad - 28
    def sx(v: float) -> float:
        return float(left + (v - t0) / (t1 - t0) * (right - left))

    def sy(v: float) -> float:
        return float(bottom - (v - a0) / (a1 - a0) * (bottom - top))

    age = a0
    while age <= a1 + 1e-9:
        c.line([(left, sy(age)), (right, sy(age))], _GRID, 1)
        c.text((left - 8, sy(age)), f"{age:.0f}", px=11, fill=_MUTED, anchor="rm")
        age += step
    c.text((left - 8, top - 14), "age", px=11, fill=_MUTED, anchor="rm")
    first, last = dt.date.fromordinal(int(t0)), dt.date.fromordinal(int(t1))
    years = last.year - first.year
    ticks: list[dt.date] = []
    if years >= 2:
        ystep = max(1, int(_nice_step(years, 6)))
        ticks = [dt.date(y, 1, 1) for y in range(first.year + 1, last.year + 1) if y % ystep == 0]
        fmt = "%Y"
    else:
        months = (last.year - first.year) * 12 + last.month - first.month
        mstep = max(1, int(_nice_step(max(months, 1), 6)))
        d = dt.date(first.year, first.month, 1)
        while d <= last:
            if d >= first and (d.month - 1) % mstep == 0:
                ticks.append(d)
            d = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        fmt = "%b %Y"
    for d in ticks:
        x = sx(d.toordinal())
        c.line([(x, top), (x, bottom)], _GRID, 1)
        c.text((x, bottom + 8), d.strftime(fmt), px=11, fill=_MUTED, anchor="ma")
    c.line([(left, bottom), (right, bottom)], _MUTED, 1)
    colour = _PALETTE["Age"]
    if len(points) > 1:
        c.line([(sx(tt), sy(aa)) for tt, aa in zip(t, a)], (190, 230, 215), 1.5)
    if trend is not None:
        slope, intercept = np.polyfit(t / 365.25, a, 1)
        def fit(v: float) -> float:
            return float(slope * v / 365.25 + intercept)

        c.dashed((sx(t0), sy(fit(t0))), (sx(t1), sy(fit(t1))), _MUTED, 1.5)
        c.text((right - 4, sy(fit(t1)) - 8), "trend", px=11, fill=_MUTED, anchor="rb")
    for tt, aa in zip(t, a):
        c.dot((sx(tt), sy(aa)), 4, colour, outline=_BG)
    return c.save(path)


def render_summary(db: sqlite_utils.Database, face_ids: Sequence[int], out_dir: Path | str, *,
                   title: str = "Faces", colour: bool = False) -> dict[str, Path]:
    """Write ``chart.png``, ``eigenface.png``, ``age_over_time.png`` (and ``summary.json``, the numbers) into
    ``out_dir``; returns their paths by name (``chart``, ``eigenface``, ``age_over_time``, ``data``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summary_data(db, face_ids, colour=colour)
    paths = {
        "chart": render_chart(summary, out / "chart.png", title),
        "eigenface": render_eigenfaces(summary, out / "eigenface.png", title),
        "age_over_time": render_age_over_time(summary, out / "age_over_time.png", title),
    }
    data_path = out / "summary.json"
    data_path.write_text(json.dumps({"title": title, **summary.to_json()}, indent=1))
    paths["data"] = data_path
    return paths
