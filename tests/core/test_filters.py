"""The filter language: parsing, errors with positions, every field, precedence, parameters never pasted,
and results equal to a plain-Python re-filter of the stored attributes on a real library file."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from faceorganizer.attributes import filters
from faceorganizer.attributes.brackets import AGE_BRACKETS, BRACKET_NAMES, EXPRESSIONS, bracket_of
from faceorganizer.attributes.filters import FILTER_HELP, compile_filter
from faceorganizer.errors import FilterSyntaxError
from faceorganizer.library import Library
from faceorganizer.store import queries

PEOPLE = ["Ann Lee", "O'Brien", None, "Zoë"]
FOLDERS = ["/photos/trips", "/photos/trips-old", "/photos/trips_2", "/photos/family", "/photos/100%_done"]
# Boundary values every comparison must get right (exactly on a threshold, on a bracket edge, at midnight).
EDGES = [{"age": a, "gender": 0.5, "smile": 0.5, "taken_at": t} for a, t in [
    (3.0, "2019-06-15 00:00:00"), (13.0, "2019-06-15 23:59:59"), (20.0, "2019-06-16 00:00:00"),
    (65.0, "2019-12-31 23:59:59"), (2.999, "2020-01-01 00:00:00"), (29.5, "2019-06-14 23:59:59"),
    (30.5, None)]]


def build_library(folder: Path, n_faces: int = 400, seed: int = 7) -> Library:
    """A library file with realistic attribute rows (some missing), dates, folders, people and taught tags."""
    rng = random.Random(seed)
    lib = Library.open(folder)
    db = lib.db
    with db.conn:
        db.execute("INSERT INTO roots (path) VALUES ('/photos')")
        photo_ids = []
        for i in range(n_faces // 3 + 1):
            taken = None
            if rng.random() < 0.85:
                day = dt.datetime(2014, 1, 1) + dt.timedelta(days=rng.randrange(9 * 365), seconds=rng.randrange(86400))
                taken = day.strftime("%Y-%m-%d %H:%M:%S")
            path = f"{rng.choice(FOLDERS)}/{'sub/' if rng.random() < 0.3 else ''}img_{i:04d}.jpg"
            cur = db.execute("INSERT INTO photos (root_id, path, status, taken_at, width, height) "
                             "VALUES (1, ?, 'ok', ?, 4000, 3000)", [path, taken])
            photo_ids.append(cur.lastrowid)
        person_ids = [db.execute("INSERT INTO people (name) VALUES (?)", [n]).lastrowid for n in PEOPLE]
        for i in range(n_faces):
            missing = rng.random() < 0.08
            probs = [rng.random() ** 3 for _ in EXPRESSIONS]
            total = sum(probs)
            probs = [p / total for p in probs]
            expr = dict(zip(EXPRESSIONS, (round(p, 4) for p in probs)))
            yaw = rng.uniform(-80, 80)
            pose = "frontal" if abs(yaw) < 20 else ("three-quarter" if abs(yaw) < 50 else "profile")
            age = rng.choice([rng.uniform(0, 3), rng.uniform(3, 20), rng.uniform(20, 90), 30.0, 12.99, 13.0])
            row = {
                "photo_id": rng.choice(photo_ids), "x": 10, "y": 10, "w": 100, "h": 100, "landmarks": "[]",
                "det_score": round(rng.uniform(0.5, 1.0), 3),
                "age": None if missing else round(age, 2),
                "gender": None if missing else round(rng.random(), 3),
                "smile": None if missing else expr["happy"],
                "expression": None if missing else max(expr, key=expr.get),
                "expressions": None if missing else json.dumps(expr),
                "pose": None if missing else pose,
                "yaw": yaw, "pitch": rng.uniform(-30, 30), "roll": rng.uniform(-20, 20),
                "sharpness": rng.uniform(0, 500), "brightness": rng.uniform(0, 255), "size": rng.uniform(20, 800),
                "quality": rng.random(),
            }
            cols = ", ".join(row)
            fid = db.execute(f"INSERT INTO faces ({cols}) VALUES ({', '.join('?' for _ in row)})",
                             list(row.values())).lastrowid
            if rng.random() < 0.6:
                db.execute("INSERT INTO assignments (face_id, person_id, origin) VALUES (?, ?, 'auto')",
                           [fid, rng.choice(person_ids)])
            if i < len(EDGES):  # the first faces sit on the edges, each in a photo of its own
                edge = EDGES[i]
                db.execute("UPDATE faces SET age = ?, gender = ?, smile = ? WHERE id = ?",
                           [edge["age"], edge["gender"], edge["smile"], fid])
                db.execute("UPDATE photos SET taken_at = ? WHERE id = ?", [edge["taken_at"], photo_ids[i]])
                db.execute("UPDATE faces SET photo_id = ? WHERE id = ?", [photo_ids[i], fid])
            if rng.random() < 0.5:
                user = rng.random() < 0.3
                value = rng.random() < 0.5
                db.execute("INSERT INTO user_attributes (face_id, name, value, origin, confidence) "
                           "VALUES (?, 'glasses', ?, ?, ?)",
                           [fid, int(value), "user" if user else "predicted",
                            1.0 if user else round(rng.uniform(0.5, 1.0), 3)])
    return lib


def stored_rows(lib: Library) -> list[dict]:
    """Every face with its photo, person name/id and glasses tag, as plain Python values."""
    rows = list(lib.db.query(
        "SELECT f.*, p.path, p.taken_at, a.person_id, pe.name AS person_name, "
        "u.value AS g_value, u.confidence AS g_conf FROM faces f JOIN photos p ON p.id = f.photo_id "
        "LEFT JOIN assignments a ON a.face_id = f.id LEFT JOIN people pe ON pe.id = a.person_id "
        "LEFT JOIN user_attributes u ON u.face_id = f.id AND u.name = 'glasses'"))
    for r in rows:
        r["expr"] = json.loads(r["expressions"]) if r["expressions"] else {}
    return rows


def matching(lib: Library, expr: str) -> set[int]:
    clause, params = compile_filter(expr)
    return {r.id for r in queries.faces(lib.db, clause, params)}


@pytest.fixture(scope="module")
def lib(tmp_path_factory) -> Library:
    library = build_library(tmp_path_factory.mktemp("filters") / "lib")
    yield library
    library.close()


@pytest.fixture(scope="module")
def rows(lib) -> list[dict]:
    return stored_rows(lib)


def _num(r: dict, key: str) -> float | None:
    return r[key]


def _known(v) -> bool:
    return v is not None


def _in_year(r, y):
    return r["taken_at"] is not None and r["taken_at"].startswith(f"{y}-")


def _g_prob(r):
    if r["g_value"] is None:
        return None
    return r["g_conf"] if r["g_value"] == 1 else 1 - r["g_conf"]


# Each filter with the same question asked in plain Python of the stored values (missing values never match).
CASES: list[tuple[str, Callable[[dict], bool]]] = [
    ("age>=30", lambda r: _known(r["age"]) and r["age"] >= 30),
    ("age<30", lambda r: _known(r["age"]) and r["age"] < 30),
    ("age=30", lambda r: _known(r["age"]) and 29.5 <= r["age"] < 30.5),
    ("age!=30", lambda r: _known(r["age"]) and not 29.5 <= r["age"] < 30.5),
    ("age>12.99", lambda r: _known(r["age"]) and r["age"] > 12.99),
    ("gender>=0.8", lambda r: _known(r["gender"]) and r["gender"] >= 0.8),
    ("gender=male", lambda r: _known(r["gender"]) and r["gender"] >= 0.5),
    ("gender!=male", lambda r: _known(r["gender"]) and r["gender"] < 0.5),
    ("gender=female", lambda r: _known(r["gender"]) and r["gender"] < 0.5),
    ("gender<0.5", lambda r: _known(r["gender"]) and r["gender"] < 0.5),
    ("gender=0.5", lambda r: _known(r["gender"]) and 0.45 <= r["gender"] < 0.55),
    ("smile>=0.5", lambda r: _known(r["smile"]) and r["smile"] >= 0.5),
    ("smile>0.6", lambda r: _known(r["smile"]) and r["smile"] > 0.6),
    ("sharpness<=120", lambda r: r["sharpness"] <= 120),
    ("brightness>100", lambda r: r["brightness"] > 100),
    ("size>=300", lambda r: r["size"] >= 300),
    ("yaw<-10", lambda r: r["yaw"] < -10),
    ("yaw > -10 and yaw < 10", lambda r: -10 < r["yaw"] < 10),
    ("pitch>5", lambda r: r["pitch"] > 5),
    ("roll<=0", lambda r: r["roll"] <= 0),
    ("quality>0.5", lambda r: r["quality"] > 0.5),
    ("score>=0.9", lambda r: r["det_score"] >= 0.9),
    ("happy>=0.3", lambda r: r["expr"].get("happy") is not None and r["expr"]["happy"] >= 0.3),
    ("surprised<0.01", lambda r: r["expr"].get("surprised") is not None and r["expr"]["surprised"] < 0.01),
    ("pose=frontal", lambda r: r["pose"] == "frontal"),
    ("pose=three-quarter", lambda r: r["pose"] == "three-quarter"),
    ("pose!=profile", lambda r: r["pose"] is not None and r["pose"] != "profile"),
    ("profile", lambda r: r["pose"] == "profile"),
    ("frontal", lambda r: r["pose"] == "frontal"),
    ("three-quarter", lambda r: r["pose"] == "three-quarter"),
    ("expression=sad", lambda r: r["expression"] == "sad"),
    ("expression!=neutral", lambda r: r["expression"] is not None and r["expression"] != "neutral"),
    ("happy", lambda r: r["expression"] == "happy"),
    ("smiling", lambda r: _known(r["smile"]) and r["smile"] >= 0.5),
    ("male", lambda r: _known(r["gender"]) and r["gender"] >= 0.5),
    ("female", lambda r: _known(r["gender"]) and r["gender"] < 0.5),
    *[(f"bracket={b}", (lambda b: lambda r: bracket_of(r["age"]) == b)(b)) for b in BRACKET_NAMES],
    *[(b, (lambda b: lambda r: bracket_of(r["age"]) == b)(b)) for b in BRACKET_NAMES],
    ("bracket!=adult", lambda r: _known(r["age"]) and bracket_of(r["age"]) != "adult"),
    ('person="Ann Lee"', lambda r: r["person_name"] == "Ann Lee"),
    ("person='ann lee'", lambda r: r["person_name"] == "Ann Lee"),
    ("person=\"O'Brien\"", lambda r: r["person_name"] == "O'Brien"),
    ("person='O''Brien'", lambda r: r["person_name"] == "O'Brien"),
    ("person=Zoë", lambda r: r["person_name"] == "Zoë"),
    ('person!="Ann Lee"', lambda r: r["person_name"] != "Ann Lee"),
    ("person=3", lambda r: r["person_id"] == 3),
    ("unassigned", lambda r: r["person_id"] is None),
    ("assigned", lambda r: r["person_id"] is not None),
    ("date>=2020-01-01", lambda r: _known(r["taken_at"]) and r["taken_at"][:10] >= "2020-01-01"),
    ("date>2020-01-01", lambda r: _known(r["taken_at"]) and r["taken_at"][:10] > "2020-01-01"),
    ("date<2016-06-15", lambda r: _known(r["taken_at"]) and r["taken_at"][:10] < "2016-06-15"),
    ("date<=2016-06-15", lambda r: _known(r["taken_at"]) and r["taken_at"][:10] <= "2016-06-15"),
    ("date=2019-06-15", lambda r: _known(r["taken_at"]) and r["taken_at"][:10] == "2019-06-15"),
    ("date!=2019-06-15", lambda r: _known(r["taken_at"]) and r["taken_at"][:10] != "2019-06-15"),
    ("date>2019-06-15", lambda r: _known(r["taken_at"]) and r["taken_at"][:10] > "2019-06-15"),
    ("date<=2019-06-15", lambda r: _known(r["taken_at"]) and r["taken_at"][:10] <= "2019-06-15"),
    ("date<2019-06-15", lambda r: _known(r["taken_at"]) and r["taken_at"][:10] < "2019-06-15"),
    ("date=2019-06", lambda r: _known(r["taken_at"]) and r["taken_at"][:7] == "2019-06"),
    ("date<=2019-12", lambda r: _known(r["taken_at"]) and r["taken_at"][:7] <= "2019-12"),
    ("date>2019", lambda r: _known(r["taken_at"]) and r["taken_at"][:4] > "2019"),
    ("year=2019", lambda r: _in_year(r, 2019)),
    ("year!=2019", lambda r: _known(r["taken_at"]) and not _in_year(r, 2019)),
    ("year>=2018 and year<=2019", lambda r: _in_year(r, 2018) or _in_year(r, 2019)),
    ('folder="/photos/trips"', lambda r: r["path"].startswith("/photos/trips/")),
    ("folder=/photos/trips/", lambda r: r["path"].startswith("/photos/trips/")),
    ('folder="/photos/100%_done"', lambda r: r["path"].startswith("/photos/100%_done/")),
    ('folder!="/photos/family"', lambda r: not r["path"].startswith("/photos/family/")),
    ("tag:glasses", lambda r: r["g_value"] == 1),
    ("glasses", lambda r: r["g_value"] == 1),
    ("tag:Glasses", lambda r: r["g_value"] == 1),
    ("tag:glasses>=0.8", lambda r: _g_prob(r) is not None and _g_prob(r) >= 0.8),
    ("glasses<0.3", lambda r: _g_prob(r) is not None and _g_prob(r) < 0.3),
    ("tag:beard", lambda r: False),
    # missing values: a condition on them is false, its negation true
    ("not age>30", lambda r: not (_known(r["age"]) and r["age"] > 30)),
    ("not smiling", lambda r: not (_known(r["smile"]) and r["smile"] >= 0.5)),
    ("not (age>30 or smiling)", lambda r: not ((_known(r["age"]) and r["age"] > 30)
                                              or (_known(r["smile"]) and r["smile"] >= 0.5))),
    ("not not year=2019", lambda r: _in_year(r, 2019)),
    # precedence: not > and > or
    ("frontal or profile and smiling",
     lambda r: r["pose"] == "frontal" or (r["pose"] == "profile" and (r["smile"] or 0) >= 0.5)),
    ("(frontal or profile) and smiling",
     lambda r: r["pose"] in ("frontal", "profile") and (r["smile"] or 0) >= 0.5),
    ("not frontal and male", lambda r: r["pose"] != "frontal" and (r["gender"] or 0) >= 0.5),
    ("not (frontal and male)", lambda r: not (r["pose"] == "frontal" and (r["gender"] or 0) >= 0.5)),
    ("male or female and age<3 or unassigned",
     lambda r: ((r["gender"] is not None and r["gender"] >= 0.5)
                or (r["gender"] is not None and r["gender"] < 0.5 and r["age"] is not None and r["age"] < 3)
                or r["person_id"] is None)),
    ("AGE >= 30 AND Smiling OR NOT Frontal",
     lambda r: ((r["age"] or 0) >= 30 and (r["smile"] or 0) >= 0.5) or r["pose"] != "frontal"),
    ('age>=20 and smile>=0.2 and pose!=profile and not person="Ann Lee" and year>=2016 and glasses',
     lambda r: (r["age"] or 0) >= 20 and (r["smile"] or 0) >= 0.2 and r["pose"] in ("frontal", "three-quarter")
     and r["person_name"] != "Ann Lee" and r["taken_at"] is not None and r["taken_at"] >= "2016"
     and r["g_value"] == 1),
]


@pytest.mark.parametrize("expr,predicate", CASES, ids=[c[0] for c in CASES])
def test_filter_matches_python_refilter(lib, rows, expr, predicate):
    expected = {r["id"] for r in rows if predicate(r)}
    assert matching(lib, expr) == expected


@pytest.mark.parametrize("expr", [c[0] for c in CASES])
def test_face_id_lists_join_only_what_the_filter_reads(lib, expr):
    """The face lists' query (photos and assignments joined only when used) gives the full query's ids."""
    clause, params = compile_filter(expr)
    assert queries.face_ids(lib.db, clause, params) == sorted(matching(lib, expr))


def test_cases_are_not_trivial(rows):
    """Most cases select a proper, non-empty subset of the library (a broken filter cannot pass by luck)."""
    trivial = [expr for expr, pred in CASES
               if len({r["id"] for r in rows if pred(r)}) in (0, len(rows)) and expr != "tag:beard"]
    assert trivial == []


def test_every_documented_field_is_covered():
    tested = " ".join(expr.lower() for expr, _ in CASES)
    for name in [*filters.NUMERIC_FIELDS, "pose", "expression", "bracket", "person", "date", "year", "folder",
                 "tag:", "unassigned", "assigned", "smiling", *BRACKET_NAMES, "happy", "not", "or", "and"]:
        assert name in tested, name


def test_blank_filter_matches_everything(lib, rows):
    assert compile_filter("   ") == ("1", [])
    assert matching(lib, "") == {r["id"] for r in rows}


def test_values_are_parameters_never_sql_text():
    for expr, value in [("person=\"O'Brien\"", "O'Brien"), ("tag:'x'' OR 1=1 --'", "x' or 1=1 --"),
                        ('folder="/a\'b/c"', "/a'b/c/"), ('person="Robert\'); DROP TABLE faces; --"', None)]:
        clause, params = compile_filter(expr)
        assert "'" not in clause.replace("'$.", ""), clause
        assert "DROP" not in clause and "Brien" not in clause
        if value is not None:
            assert value in params


def test_injection_attempt_is_just_a_name_that_matches_nothing(lib, rows):
    assert matching(lib, "person=\"x' OR '1'='1\"") == set()
    assert matching(lib, 'person="Ann Lee\') OR (1=1"') == set()
    assert lib.db.execute("SELECT count(*) FROM faces").fetchone()[0] == len(rows)


def test_quote_escapes():
    assert compile_filter(r'person="say \"hi\""')[1] == ['say "hi"']
    assert compile_filter("person='it''s'")[1] == ["it's"]


ERRORS = [
    ("age>=", 5, "a value after 'age>='"),
    ("age>= and smiling", 6, "a number after 'age>='"),
    ("age>=abc", 5, "a number"),
    ("pose=sideways", 5, "frontal, three-quarter or profile"),
    ("pose>frontal", 4, "'=' or '!='"),
    ("bracket=elder", 8, "baby, child, teen, adult or senior"),
    ("expression=bored", 11, "neutral, happy"),
    ("gender=other", 7, "male or female"),
    ("(age>3", 6, "')' to close the '(' at column 1"),
    ("age>3)", 5, "a '(' before this ')'"),
    ("smiling frontal", 8, "'and', 'or' or the end"),
    ("smiling and", 11, "a condition"),
    ("and smiling", 0, "a condition"),
    ("not", 3, "a condition"),
    ("()", 1, "a condition"),
    ("person", 6, "a comparison after 'person'"),
    ("age", 3, "a comparison after 'age'"),
    ("person>3", 6, "'=' or '!=' after 'person'"),
    ('"abc', 0, 'a closing "'),
    ("person='abc", 7, "a closing '"),
    ("date=2020-13-01", 5, "a valid calendar date"),
    ("date>=yesterday", 6, "a date"),
    ("year=2019-01", 5, "a year"),
    ("psoe=frontal", 0, "a known field"),
    ("tag:", 4, "an attribute name"),
    ("tag:glasses>=yes", 13, "a probability"),
    ("tag=glasses", 3, "':' after 'tag'"),
    ("age >= 30 @ smiling", 10, "a field, value, operator"),
    ("folder=", 7, "a value"),
]


@pytest.mark.parametrize("expr,position,expected", ERRORS, ids=[e[0] for e in ERRORS])
def test_syntax_errors_name_position_and_expectation(expr, position, expected):
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter(expr)
    err = info.value
    assert err.position == position, str(err)
    assert expected in err.expected, str(err)
    assert f"column {position + 1}" in str(err) and "\n" not in str(err)


def test_help_documents_every_field_and_bracket():
    help_text = FILTER_HELP.lower()
    for word in [*filters.NUMERIC_FIELDS, "pose", "expression", "bracket", "person", "date", "year", "folder",
                 "tag:", "unassigned", "smiling", *BRACKET_NAMES, *EXPRESSIONS]:
        assert word in help_text, word
    for name, low, high in AGE_BRACKETS:  # the ranges in the help are the ones in the constant
        text = f"{name} {low:.0f}-{high - 1:.0f}" if high and low else None
        if text:
            assert text in help_text, text
    assert filters.filter_help() == FILTER_HELP
    assert re.search(r"senior 65\+", help_text)


def test_module_doc_documents_the_grammar():
    doc = filters.__doc__ or ""
    for word in ("or_expr", "and_expr", "not_expr", "tag:glasses>=0.8", "bracket=teen", "folder="):
        assert word in doc


def test_cli_faces_where(tmp_path, capsys):
    from faceorganizer.cli import main

    folder = tmp_path / "cli-lib"
    build_library(folder, n_faces=60).close()
    assert main(["faces", "--library", str(folder), "--json", "--where", "age>=30 and not unassigned"]) == 0
    got = {f["id"] for f in json.loads(capsys.readouterr().out)}
    lib = Library.open(folder)
    try:
        want = {r["id"] for r in stored_rows(lib) if (r["age"] or 0) >= 30 and r["person_id"] is not None}
    finally:
        lib.close()
    assert got == want and got
    assert main(["faces", "--library", str(folder), "--where", "age>="]) == 2
    assert "column 6" in capsys.readouterr().err
