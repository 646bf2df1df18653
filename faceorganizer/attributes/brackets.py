"""Named values shared by the filter language, the summaries and the attribute clustering.

Age brackets, expressions, poses and the thresholds that turn a probability into a yes/no live here once, so
that ``bracket=teen`` in a filter, the "Age" bars of a summary chart and the README all say the same thing.
"""

from __future__ import annotations

import math

#: Age brackets as half-open ranges [low, high) in years; ``None`` means no upper bound. Ages are real
#: numbers, so a child is 3 ≤ age < 13 ("3–12"), a teen 13 ≤ age < 20 ("13–19").
AGE_BRACKETS: tuple[tuple[str, float, float | None], ...] = (
    ("baby", 0.0, 3.0),
    ("child", 3.0, 13.0),
    ("teen", 13.0, 20.0),
    ("adult", 20.0, 65.0),
    ("senior", 65.0, None),
)
BRACKET_NAMES: tuple[str, ...] = tuple(name for name, _, _ in AGE_BRACKETS)

#: The seven expressions of the expression model, in the model's order.
EXPRESSIONS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")

#: Head poses as stored in ``faces.pose``.
POSES: tuple[str, ...] = ("frontal", "three-quarter", "profile")

#: ``smiling`` means P(happy) ≥ this.
SMILE_THRESHOLD = 0.5
#: ``male`` means P(male) ≥ this; ``female`` means P(male) < this.
GENDER_THRESHOLD = 0.5


def bracket_range(name: str) -> tuple[float, float | None]:
    """The [low, high) age range of a bracket name (``KeyError`` for an unknown name)."""
    for bracket, low, high in AGE_BRACKETS:
        if bracket == name:
            return low, high
    raise KeyError(name)


def bracket_of(age: float | None) -> str | None:
    """The bracket an age falls in (``None`` for an unknown age)."""
    if age is None or (isinstance(age, float) and math.isnan(age)):
        return None
    for name, low, high in AGE_BRACKETS:
        if age >= low and (high is None or age < high):
            return name
    return AGE_BRACKETS[0][0]  # a negative estimate is still a baby


def bracket_label(name: str) -> str:
    """``'child (3–12)'``: a bracket with its range in whole years, for charts and help texts."""
    low, high = bracket_range(name)
    if high is None:
        return f"{name} ({low:.0f}+)"
    if low == 0:
        return f"{name} (<{high:.0f})"
    return f"{name} ({low:.0f}–{high - 1:.0f})"
