"""The SQL of the face filter language: each condition of :mod:`faceorganizer.attributes.filters` as a
parameterised SQL fragment over the aliases ``f`` (faces) and ``p`` (photos, joined on ``p.id = f.photo_id``).

The parser decides *what* a filter means; this module is the only place that knows the columns. Values always
travel as ``?`` parameters and column names come only from the tables below, so no filter can inject SQL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

#: Numeric fields → SQL column (the only identifiers a filter can reach).
NUMERIC_COLUMNS: dict[str, str] = {
    "age": "+f.age",
    "gender": "+f.gender",
    "smile": "+f.smile",
    "sharpness": "+f.sharpness",
    "brightness": "+f.brightness",
    "size": "+f.size",
    "yaw": "+f.yaw",
    "pitch": "+f.pitch",
    "roll": "+f.roll",
    "quality": "+f.quality",
    "score": "+f.det_score",
}
# Why the unary plus: it keeps SQLite from using the attribute indexes. Without statistics on value ranges
# SQLite takes any range on an indexed column to be selective, and walking an index over half the faces
# (male, smiling, age>20, date>=2019) with a table lookup per face is 3-10x slower than one scan. A scan with
# the cheap tests first is fast and predictable; person and tag conditions still drive the query through
# their own indexes (f.id IN (...)).


@dataclass
class SqlPart:
    """One compiled condition: SQL text with ``?`` placeholders and the values for them, in order."""

    sql: str
    params: list[object] = field(default_factory=list)

    @property
    def cost(self) -> int:
        """0: plain column tests, 1: a sub-query (one list built per query), 2: JSON parsing per face."""
        return 2 if "json_extract" in self.sql else 1 if "SELECT" in self.sql else 0


EVERY_FACE = SqlPart("1")


def join(parts: list[SqlPart], word: str) -> SqlPart:
    """``parts`` joined by AND or OR, cheap tests first (SQLite tests the terms in the order written)."""
    assert word in ("AND", "OR")
    parts = sorted(parts, key=lambda part: part.cost)
    return SqlPart(f" {word} ".join(f"({p.sql})" for p in parts), [v for p in parts for v in p.params])


def negate(inner: SqlPart) -> SqlPart:
    # Two-valued logic: a condition on a missing value (SQL NULL) is false, so its negation is true.
    return SqlPart(f"NOT IFNULL({inner.sql}, 0)", inner.params)


def group(inner: SqlPart) -> SqlPart:
    return SqlPart(f"({inner.sql})", inner.params)


def numeric(name: str, op: str, literal: str) -> SqlPart:
    """A numeric field against a number as written (``=`` means "rounds to it")."""
    return _numeric_sql(NUMERIC_COLUMNS[name], op, literal)


def at_least(name: str, value: float) -> SqlPart:
    return SqlPart(f"{NUMERIC_COLUMNS[name]} >= ?", [value])


def below(name: str, value: float) -> SqlPart:
    return SqlPart(f"{NUMERIC_COLUMNS[name]} < ?", [value])


def expression_probability(name: str, op: str, literal: str) -> SqlPart:
    # The JSON path is built from the caller's whitelisted expression name, never from the filter text.
    if not name.isalpha():
        raise ValueError(f"not an expression name: {name!r}")
    return _numeric_sql(f"json_extract(f.expressions, '$.{name}')", op, literal)


def pose(op: str, choice: str) -> SqlPart:
    return SqlPart(f"+f.pose {_eq(op)} ?", [choice])


def dominant_expression(op: str, choice: str) -> SqlPart:
    return SqlPart(f"+f.expression {_eq(op)} ?", [choice])


def age_range(low: float | None, high: float | None, op: str) -> SqlPart:
    """``low <= age < high`` (``=``) or outside it (``!=``); a missing bound is open."""
    conds: list[str] = []
    params: list[object] = []
    if op == "=":
        if low is not None:
            conds.append("+f.age >= ?")
            params.append(low)
        if high is not None:
            conds.append("+f.age < ?")
            params.append(high)
        return SqlPart("(" + " AND ".join(conds) + ")", params)
    if low is not None:
        conds.append("+f.age < ?")
        params.append(low)
    if high is not None:
        conds.append("+f.age >= ?")
        params.append(high)
    return SqlPart("(" + " OR ".join(conds) + ")", params)


def assigned(yes: bool) -> SqlPart:
    return SqlPart(f"f.id {'IN' if yes else 'NOT IN'} (SELECT x.face_id FROM assignments x)")


def person_id(op: str, pid: int) -> SqlPart:
    sql = "f.id {} (SELECT x.face_id FROM assignments x WHERE x.person_id = ?)"
    return SqlPart(sql.format("IN" if op == "=" else "NOT IN"), [pid])


def person_name(op: str, name: str) -> SqlPart:
    sql = ("f.id {} (SELECT x.face_id FROM assignments x JOIN people pe ON pe.id = x.person_id "
           "WHERE pe.name = ? COLLATE NOCASE)")
    return SqlPart(sql.format("IN" if op == "=" else "NOT IN"), [name])


def period(op: str, low: str, high: str) -> SqlPart:
    """The capture time against the half-open day range [low, high) ('YYYY-MM-DD' strings)."""
    # taken_at is 'YYYY-MM-DD HH:MM:SS': plain string comparison against 'YYYY-MM-DD' bounds is exact.
    if op == "=":
        return SqlPart("(+p.taken_at >= ? AND +p.taken_at < ?)", [low, high])
    if op == "!=":
        return SqlPart("(+p.taken_at < ? OR +p.taken_at >= ?)", [low, high])
    if op == "<":
        return SqlPart("+p.taken_at < ?", [low])
    if op == "<=":
        return SqlPart("+p.taken_at < ?", [high])
    if op == ">":
        return SqlPart("+p.taken_at >= ?", [high])
    return SqlPart("+p.taken_at >= ?", [low])


def folder(path: str, op: str) -> SqlPart:
    """Photos inside ``path`` (sub-folders included), or not (``!=``).

    The import stores real paths (a folder reached through a symlink is the same photos), so a folder given
    through a symlink matches by its real path too.
    """
    seps = {"/", os.sep}

    def prefix(folder: str) -> str:
        while len(folder) > 1 and folder[-1] in seps:
            folder = folder[:-1]
        return "" if folder in seps else folder

    given = os.path.expanduser(path.strip())
    candidates = dict.fromkeys([prefix(given)] + ([prefix(os.path.realpath(given))] if os.path.isabs(given) else []))
    # A range of strings: every path that starts with "folder/" sorts in [folder + "/",
    # folder + chr(ord("/") + 1)). No LIKE, so '%' and '_' in folder names need no escaping.
    parts, copies, params = [], [], []
    for candidate in candidates:
        for sep in sorted(seps):
            parts.append("(+p.path >= ? AND +p.path < ?)")
            copies.append("(l.path >= ? AND l.path < ?)")
            params += [candidate + sep, candidate + chr(ord(sep) + 1)]
    # A photo whose identical copy (another location, store/locations.py) is inside the folder is inside it too.
    parts.append(f"p.id IN (SELECT l.photo_id FROM photo_locations l WHERE {' OR '.join(copies)})")
    sql = " OR ".join(parts)
    return SqlPart(f"({sql})" if op == "=" else f"NOT ({sql})", params * 2)


def tag(name: str) -> SqlPart:
    return SqlPart("f.id IN (SELECT u.face_id FROM user_attributes u WHERE u.name = ? AND u.value = 1)", [name])


def tag_probability(name: str, op: str, literal: str) -> SqlPart:
    prob = "(CASE WHEN u.value = 1 THEN u.confidence ELSE 1.0 - u.confidence END)"
    inner = _numeric_sql(prob, op, literal)
    return SqlPart(f"f.id IN (SELECT u.face_id FROM user_attributes u WHERE u.name = ? AND {inner.sql})",
                   [name, *inner.params])


def _eq(op: str) -> str:
    if op not in ("=", "!="):
        raise ValueError(f"not an equality operator: {op!r}")
    return op


_OPS = ("=", "!=", "<", "<=", ">", ">=")


def _numeric_sql(column: str, op: str, literal: str) -> SqlPart:
    if op not in _OPS:
        raise ValueError(f"not an operator: {op!r}")
    value = float(literal)
    if op not in ("=", "!="):
        return SqlPart(f"{column} {op} ?", [value])
    # "=" means "rounds to the number as written": half a unit of its last digit either side.
    decimals = len(literal.split(".")[1]) if "." in literal else 0
    half = 0.5 * 10.0 ** -decimals
    if op == "=":
        return SqlPart(f"({column} >= ? AND {column} < ?)", [value - half, value + half])
    return SqlPart(f"({column} < ? OR {column} >= ?)", [value - half, value + half])
