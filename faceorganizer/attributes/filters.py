"""The face filter language (``faces --where``, the GUI's filter box), compiled to parameterised SQL.

A filter is a small boolean expression over a face's attributes, its photo, its person and the attributes
the user taught. ``compile_filter(text)`` returns ``(clause, params)``: an SQL condition over the aliases
``f`` (faces) and ``p`` (photos, joined on ``p.id = f.photo_id``) with ``?`` placeholders, and the values
for them. People and taught attributes are tested with sub-queries, so the caller needs no extra join.
Values never enter the SQL text and column names come only from the tables of
:mod:`faceorganizer.store.filters`, so no filter can inject SQL. A blank filter is ``("1", [])`` (every face).

Grammar (keywords and field names are case-insensitive)::

    filter     := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" or_expr ")" | condition
    condition  := NAME [op value] | "tag" ":" (NAME | STRING) [op NUMBER]
    op         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    value      := NUMBER | STRING | WORD | DATE
    STRING     := '...' or "..." (a doubled quote or a backslash escapes the quote)
    DATE       := YYYY-MM-DD or YYYY-MM

``not`` binds tighter than ``and``, which binds tighter than ``or``; use parentheses to group.

Conditions
----------

==================================  ==========================================================================
``age>=30``, ``smile>0.7``, ...     numbers: ``age`` (years), ``gender`` (P(male), 0–1), ``smile`` (P(happy)),
                                    ``sharpness``, ``brightness``, ``size`` (face height in pixels),
                                    ``yaw``/``pitch``/``roll`` (degrees), ``quality``, ``score`` (detector
                                    score); ``=`` matches values that round to the number as written
                                    (``age=30`` is 29.5 ≤ age < 30.5, ``smile=0.5`` is 0.45 ≤ smile < 0.55)
``happy>=0.6``                      an expression's probability (any of the seven expression names)
``pose=frontal``                    ``frontal`` | ``three-quarter`` | ``profile`` (``=`` or ``!=``)
``gender=male``                     ``male`` | ``female`` (P(male) ≥ 0.5 or < 0.5)
``expression=happy``                the dominant expression: neutral, happy, sad, angry, fearful, disgusted,
                                    surprised
``bracket=teen``                    age bracket: baby (<3), child (3–12), teen (13–19), adult (20–64),
                                    senior (65+)
``smiling``, ``frontal``,           bare words: smiling (smile ≥ 0.5), a pose, ``male``/``female``, an
``happy``, ``child``, ...           expression name (the dominant one), an age bracket
``person="Ann Lee"``, ``person=12`` faces of a person, by name (case-insensitive) or id; ``!=`` negates
``unassigned``, ``assigned``        faces in no person / in some person
``date>=2020-01-01``, ``year=2019`` photo capture time (photos without a date never match); a date may
                                    be a day, a month (``2019-06``) or a year; ``date=2019-06`` is the whole
                                    month, ``date<=2019-06`` is up to its end, ``date>2019`` from 2020 on
``folder="/photos/2019"``           photos inside that folder (an absolute path; sub-folders included)
``tag:glasses``, ``glasses``        a taught attribute (user-tagged or predicted yes); a word that is not a
                                    field means a taught attribute
``tag:glasses>=0.8``                the probability of a taught attribute (a user's tag counts as 1 or 0)
==================================  ==========================================================================

A condition on a value a face does not have (no age estimate, no capture date, ...) is false, and ``not``
of it is true: ``not age>30`` includes faces with no age.

A filter has at most ``MAX_CONDITIONS`` conditions, ``MAX_DEPTH`` nested parentheses or ``not`` s and
``MAX_LENGTH`` characters: a longer one is refused with a one-line error before SQLite sees it (SQLite's own
limits would otherwise end in a parser stack overflow or an "expression tree is too large" crash).

The SQL for each condition is written by :mod:`faceorganizer.store.filters`; this module only parses.

Errors raise :class:`faceorganizer.errors.FilterSyntaxError` with ``position`` (0-based offset into the
text), ``expected`` (what the parser wanted) and a message naming both, e.g.
``filter error at column 6: expected a number after 'age>=', found the end of the filter``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from faceorganizer.attributes.brackets import (
    AGE_BRACKETS,
    BRACKET_NAMES,
    EXPRESSIONS,
    GENDER_THRESHOLD,
    POSES,
    SMILE_THRESHOLD,
    bracket_range,
)
from faceorganizer.errors import FilterSyntaxError
from faceorganizer.store import filters as sql
from faceorganizer.store.filters import SqlPart as _Sql

__all__ = ["compile_filter", "FILTER_HELP", "filter_help", "FILTER_WORDS", "normalise_tag_name"]

#: Numeric fields (their columns are in :mod:`faceorganizer.store.filters`).
NUMERIC_FIELDS: tuple[str, ...] = tuple(sql.NUMERIC_COLUMNS)

#: Limits that keep every filter far inside SQLite's parser and expression-depth limits.
MAX_LENGTH = 4000
MAX_CONDITIONS = 100
MAX_DEPTH = 20

_POSE_ALIASES = {"frontal": "frontal", "three-quarter": "three-quarter", "three_quarter": "three-quarter",
                 "threequarter": "three-quarter", "profile": "profile"}
_GENDERS = ("male", "female")
_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_KEYWORDS = ("and", "or", "not")
_BARE_OTHER = ("smiling", "unassigned", "assigned")

#: Every word the language knows (for completion in the GUI's filter box).
FILTER_WORDS: tuple[str, ...] = tuple(sorted(
    {*NUMERIC_FIELDS, "pose", "expression", "bracket", "person", "date", "year", "folder", "tag",
     *_KEYWORDS, *_BARE_OTHER, *POSES, *_GENDERS, *EXPRESSIONS, *BRACKET_NAMES}))

FILTER_HELP = """\
Filter faces with conditions joined by and / or / not and parentheses:
  age>=30 and smiling and pose=frontal
  (happy or surprised) and not profile and year=2019
  person="Ann Lee" and date>=2020-01 and folder="/photos/trips"
Numbers: age, gender (P(male)), smile (P(happy)), sharpness, brightness, size, yaw, pitch, roll,
  quality, score, and any expression's probability (happy>=0.6); ops = != < <= > >=;
  = matches as rounded (age=30: 29.5-30.5).
Choices: pose=frontal|three-quarter|profile  gender=male|female  bracket=baby|child|teen|adult|senior
  (baby <3, child 3-12, teen 13-19, adult 20-64, senior 65+)
  expression=neutral|happy|sad|angry|fearful|disgusted|surprised (the dominant one)
Words: smiling, frontal, three-quarter, profile, male, female, an expression, a bracket,
  unassigned, assigned.
People: person="Name" or person=ID.  Dates: date>=2020-01-01, date=2019-06, year=2019.
Folder: folder="/path/to/folder".  Taught attributes: tag:glasses (or just glasses),
  tag:glasses>=0.8 (probability).  Quote values with spaces: person="Mary Ann".
Missing values never match a condition; "not" of such a condition matches."""


def filter_help() -> str:
    """A short help text for the filter language (the CLI's ``--where`` help, the GUI's filter tooltip)."""
    return FILTER_HELP


def normalise_tag_name(name: str) -> str:
    """The stored form of a taught attribute's name: trimmed, lower-case, inner spaces collapsed."""
    return " ".join(name.strip().lower().split())


# --------------------------------------------------------------------------------------------- tokens
@dataclass(frozen=True)
class _Token:
    kind: str  # word, string, number, date, op, lparen, rparen, colon, end
    text: str  # the source text (for strings: the unquoted value)
    pos: int
    src: str  # the token exactly as written, for messages


_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<op>>=|<=|!=|<>|==|=|<|>)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<colon>:)
  | (?P<date>\d{4}-\d{1,2}(?:-\d{1,2})?(?![\w.]))
  | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?![\w.]))
  | (?P<word>(?:[^\W\d]|[/~.\\])[\w\-./~\\]*)
  | (?P<quote>['"])
""", re.VERBOSE)


def _error(text: str, pos: int, expected: str, found: str | None = None) -> FilterSyntaxError:
    if found is None:
        found = "the end of the filter" if pos >= len(text) else repr(text[pos:pos + 12])
    err = FilterSyntaxError(f"filter error at column {pos + 1}: expected {expected}, found {found}")
    err.position = pos  # type: ignore[attr-defined]
    err.expected = expected  # type: ignore[attr-defined]
    err.text = text  # type: ignore[attr-defined]
    return err


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
        elif ch == quote:
            if i + 1 < len(text) and text[i + 1] == quote:
                out.append(quote)
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise _error(text, start, f"a closing {quote} for the text starting here", found="the end of the filter")


def _tokenise(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise _error(text, pos, "a field, value, operator or parenthesis", found=repr(text[pos]))
        kind = m.lastgroup
        assert kind is not None
        if kind == "ws":
            pos = m.end()
            continue
        if kind == "quote":
            value, end = _read_string(text, pos)
            tokens.append(_Token("string", value, pos, text[pos:end]))
            pos = end
            continue
        tokens.append(_Token(kind, m.group(), pos, m.group()))
        pos = m.end()
    tokens.append(_Token("end", "", len(text), ""))
    return tokens


# --------------------------------------------------------------------------------------------- parser
class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenise(text)
        self.i = 0
        self.depth = 0
        self.conditions = 0

    # -- helpers
    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, tok: _Token, expected: str) -> FilterSyntaxError:
        found = "the end of the filter" if tok.kind == "end" else repr(tok.src)
        return _error(self.text, tok.pos, expected, found)

    def enter(self, tok: _Token) -> None:
        """One level deeper (a '(' or a 'not'); refuse nesting SQLite's parser could not take."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(self.text, tok.pos, f"at most {MAX_DEPTH} nested parentheses or 'not's (simplify the "
                         "filter)", repr(tok.src))

    def is_keyword(self, tok: _Token, word: str) -> bool:
        return tok.kind == "word" and tok.text.lower() == word

    # -- grammar
    def parse(self) -> _Sql:
        node = self.or_expr()
        tok = self.peek()
        if tok.kind == "rparen":
            raise self.fail(tok, "a '(' before this ')'")
        if tok.kind != "end":
            raise self.fail(tok, "'and', 'or' or the end of the filter")
        return node

    def or_expr(self) -> _Sql:
        parts = [self.and_expr()]
        while self.is_keyword(self.peek(), "or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else sql.join(parts, "OR")

    def and_expr(self) -> _Sql:
        parts = [self.not_expr()]
        while self.is_keyword(self.peek(), "and"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else sql.join(parts, "AND")

    def not_expr(self) -> _Sql:
        tok = self.peek()
        if self.is_keyword(tok, "not"):
            self.take()
            self.enter(tok)
            inner = self.not_expr()
            self.depth -= 1
            return sql.negate(inner)
        if tok.kind == "lparen":
            self.take()
            self.enter(tok)
            inner = self.or_expr()
            self.depth -= 1
            close = self.peek()
            if close.kind != "rparen":
                raise self.fail(close, "')' to close the '(' at column %d" % (tok.pos + 1))
            self.take()
            return sql.group(inner)
        return self.condition()

    def condition(self) -> _Sql:
        tok = self.take()
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise _error(self.text, tok.pos, f"at most {MAX_CONDITIONS} conditions (split the filter or use "
                         "fewer terms)", repr(tok.src))
        if tok.kind != "word" or tok.text.lower() in _KEYWORDS:
            raise self.fail(tok, "a condition (e.g. age>=30, smiling, person=\"Ann\")")
        name = tok.text.lower()
        if name == "tag" and self.peek().kind == "colon":
            self.take()
            tag_tok = self.take()
            if tag_tok.kind not in ("word", "string") or not tag_tok.text.strip():
                raise self.fail(tag_tok, "an attribute name after 'tag:'")
            return self.tag_condition(tag_tok)
        if self.peek().kind != "op":
            return self.bare(tok)
        op_tok = self.take()
        op = _OPS[op_tok.text]
        value = self.take()
        if value.kind not in ("number", "string", "word", "date"):
            raise self.fail(value, f"a value after '{tok.src}{op_tok.text}'")
        return self.comparison(tok, op_tok, op, value)

    # -- conditions
    def bare(self, tok: _Token) -> _Sql:
        name = tok.text.lower()
        if name == "smiling":
            return sql.at_least("smile", SMILE_THRESHOLD)
        if name in _POSE_ALIASES:
            return sql.pose("=", _POSE_ALIASES[name])
        if name == "male":
            return sql.at_least("gender", GENDER_THRESHOLD)
        if name == "female":
            return sql.below("gender", GENDER_THRESHOLD)
        if name in EXPRESSIONS:
            return sql.dominant_expression("=", name)
        if name in BRACKET_NAMES:
            return _bracket_sql(name, "=")
        if name == "unassigned":
            return sql.assigned(False)
        if name == "assigned":
            return sql.assigned(True)
        if name in NUMERIC_FIELDS or name in ("pose", "expression", "bracket", "person", "date", "year",
                                              "folder"):
            raise self.fail(self.peek(), f"a comparison after '{tok.src}' (e.g. {_example(name)})")
        return sql.tag(normalise_tag_name(tok.text))

    def tag_condition(self, tag_tok: _Token) -> _Sql:
        name = normalise_tag_name(tag_tok.text)
        if self.peek().kind != "op":
            return sql.tag(name)
        op_tok = self.take()
        value = self.take()
        if value.kind != "number":
            raise self.fail(value, f"a probability (0–1) after 'tag:{tag_tok.src}{op_tok.text}'")
        return sql.tag_probability(name, _OPS[op_tok.text], value.text)

    def comparison(self, field_tok: _Token, op_tok: _Token, op: str, value: _Token) -> _Sql:
        name = field_tok.text.lower()
        where = f"'{field_tok.src}{op_tok.text}'"
        if name == "gender" and value.kind in ("word", "string"):
            return self.gender(op_tok, op, value)
        if name in NUMERIC_FIELDS:
            return sql.numeric(name, op, self.number(value, where))
        if name in EXPRESSIONS:
            # ``name`` is one of the whitelisted expression names, never free filter text.
            return sql.expression_probability(name, op, self.number(value, f"{where} (a probability 0–1)"))
        if name in ("pose", "expression", "bracket"):
            if op not in ("=", "!="):
                raise self.fail(op_tok, f"'=' or '!=' after '{field_tok.src}'")
            if value.kind not in ("word", "string"):
                raise self.fail(value, f"one of {_choices(name)} after {where}")
            choice = value.text.lower()
            if name == "pose":
                if choice not in _POSE_ALIASES:
                    raise self.fail(value, f"one of {_choices(name)} after {where}")
                return sql.pose(op, _POSE_ALIASES[choice])
            if name == "expression":
                if choice not in EXPRESSIONS:
                    raise self.fail(value, f"one of {_choices(name)} after {where}")
                return sql.dominant_expression(op, choice)
            if choice not in BRACKET_NAMES:
                raise self.fail(value, f"one of {_choices(name)} after {where}")
            return _bracket_sql(choice, op)
        if name == "person":
            if op not in ("=", "!="):
                raise self.fail(op_tok, "'=' or '!=' after 'person'")
            if value.kind == "number":
                if not re.fullmatch(r"\d+", value.text):
                    raise self.fail(value, "a person id (a whole number) or a quoted name")
                return sql.person_id(op, int(value.text))
            if value.kind == "date":
                raise self.fail(value, "a person id or a quoted name")
            return sql.person_name(op, value.text.strip())
        if name in ("date", "year"):
            low, high = self.period(name, value, where)
            return sql.period(op, low, high)
        if name == "folder":
            if op not in ("=", "!="):
                raise self.fail(op_tok, "'=' or '!=' after 'folder'")
            if value.kind not in ("string", "word") or not value.text.strip():
                raise self.fail(value, "a folder path (quote it if it has spaces)")
            return sql.folder(value.text, op)
        if name == "tag":
            raise self.fail(op_tok, "':' after 'tag' (e.g. tag:glasses)")
        if value.kind == "number":
            return sql.tag_probability(normalise_tag_name(field_tok.text), op, value.text)
        raise _error(self.text, field_tok.pos, "a known field (age, pose, person, date, ...; "
                     "a taught attribute takes a probability, e.g. glasses>=0.8)", repr(field_tok.src))

    def gender(self, op_tok: _Token, op: str, value: _Token) -> _Sql:
        choice = value.text.lower()
        if choice not in _GENDERS:
            raise self.fail(value, "male or female after 'gender='")
        if op not in ("=", "!="):
            raise self.fail(op_tok, "'=' or '!=' before male/female (or a probability, e.g. gender>=0.8)")
        is_male = (choice == "male") == (op == "=")
        return sql.at_least("gender", GENDER_THRESHOLD) if is_male else sql.below("gender", GENDER_THRESHOLD)

    def number(self, value: _Token, where: str) -> str:
        if value.kind != "number":
            raise self.fail(value, f"a number after {where}")
        return value.text

    def period(self, name: str, value: _Token, where: str) -> tuple[str, str]:
        """A year, month or day as the half-open range [low, high) of 'YYYY-MM-DD' strings."""
        text = value.text.strip()
        m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", text) \
            if value.kind in ("number", "date", "string") else None
        if m is None or (name == "year" and m.group(2)):
            raise self.fail(value, f"a year (2019) after {where}" if name == "year" else
                            f"a date (2020-01-31, 2020-01 or 2020) after {where}")
        year, month, day = int(m.group(1)), m.group(2), m.group(3)
        try:
            if day is not None:
                low = dt.date(year, int(month), int(day))
                high = low + dt.timedelta(days=1)
            elif month is not None:
                low = dt.date(year, int(month), 1)
                high = dt.date(year + (low.month == 12), low.month % 12 + 1, 1)
            else:
                low = dt.date(year, 1, 1)
                high = dt.date(year + 1, 1, 1) if year < 9999 else dt.date.max
        except ValueError:
            raise self.fail(value, f"a valid calendar date after {where}") from None
        return low.isoformat(), high.isoformat()


# --------------------------------------------------------------------------------------------- SQL pieces
def _bracket_sql(name: str, op: str) -> _Sql:
    low, high = bracket_range(name)
    if name == AGE_BRACKETS[0][0]:
        low = None  # type: ignore[assignment]  # the first bracket has no lower bound (see bracket_of)
    return sql.age_range(low, high, op)


def _choices(name: str) -> str:
    values = {"pose": POSES, "expression": EXPRESSIONS, "bracket": BRACKET_NAMES}[name]
    return ", ".join(values[:-1]) + " or " + values[-1]


def _example(name: str) -> str:
    return {"pose": "pose=frontal", "expression": "expression=happy", "bracket": "bracket=adult",
            "person": 'person="Ann"', "date": "date>=2020-01-01", "year": "year=2019",
            "folder": 'folder="/photos"'}.get(name, f"{name}>=0.5" if name != "age" else "age>=30")


# --------------------------------------------------------------------------------------------- public
def compile_filter(expr: str) -> tuple[str, list[object]]:
    """Compile a filter expression to ``(sql_clause, params)`` over aliases ``f`` (faces) and ``p`` (photos).

    Raises :class:`~faceorganizer.errors.FilterSyntaxError` (with ``position`` and ``expected``) when the text
    does not parse. A blank expression matches every face.
    """
    if expr is None or not expr.strip():
        return "1", []
    if len(expr) > MAX_LENGTH:
        raise _error(expr, MAX_LENGTH, f"a filter of at most {MAX_LENGTH} characters", f"{len(expr)} characters")
    result = _Parser(expr).parse()
    return result.sql, list(result.params)


def check_words(expr: str, taught: list[str] | tuple[str, ...] = ()) -> None:
    """Refuse a bare word that is neither a filter word nor a taught attribute of this library (``smilng``
    would otherwise be read as an attribute nobody taught and match nothing), naming the closest word.

    Call after :func:`compile_filter` succeeded; raises :class:`FilterSyntaxError` with ``position``.
    """
    import difflib

    known = {normalise_tag_name(t) for t in taught}
    tokens = _tokenise(expr)
    for i, tok in enumerate(tokens):
        if tok.kind != "word":
            continue
        before = tokens[i - 1] if i else None
        after = tokens[i + 1]
        if after.kind in ("op", "colon") or (before is not None and before.kind in ("op", "colon")):
            continue  # a field name, a value or a tag: the parser checked those
        word = tok.text.lower()
        if word in FILTER_WORDS or normalise_tag_name(tok.text) in known:
            continue
        choices = sorted({*FILTER_WORDS, *known})
        close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "see the filter help for the words it knows"
        raise _error(expr, tok.pos, f"a known word ({hint})", repr(tok.src))
