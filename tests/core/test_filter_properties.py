"""Property-based tests of the filter language (issue 15): whatever the text, compiling it ends in a result
SQLite runs or in a one-line FilterSyntaxError, never another exception, and a result never carries the
filter's values inside its SQL text. Deep nesting and huge expressions are refused before SQLite sees them."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faceorganizer.attributes.filters import FILTER_WORDS, MAX_CONDITIONS, MAX_DEPTH, compile_filter
from faceorganizer.errors import FilterSyntaxError
from faceorganizer.store import queries
from tests.core.test_filters import build_library

TOKENS = st.one_of(
    st.sampled_from([*FILTER_WORDS, "(", ")", "=", "==", "!=", "<>", "<", "<=", ">", ">=", ":", "tag:", "'", '"',
                     "2019", "2019-06", "2019-13-45", "-1", "0.5", ".5", "1e5", "9" * 30, "not", "and", "or"]),
    st.text(min_size=1, max_size=8),
    st.from_regex(r"'[^']{0,10}'", fullmatch=True),
)


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    library = build_library(tmp_path_factory.mktemp("filter-props") / "lib", n_faces=30)
    yield library
    library.close()


def _check(lib, text: str) -> None:
    try:
        clause, params = compile_filter(text)
    except FilterSyntaxError as exc:
        message = str(exc)
        assert message and "\n" not in message and "\r" not in message
        assert 0 <= exc.position <= len(text)  # type: ignore[attr-defined]
        return
    queries.faces(lib.db, clause, params)  # SQLite parses and runs it: no OperationalError, no crash


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_any_text_compiles_or_fails_in_one_line(lib, text):
    _check(lib, text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(TOKENS, max_size=40), st.sampled_from([" ", "", "  "]))
def test_token_soup_compiles_or_fails_in_one_line(lib, tokens, sep):
    _check(lib, sep.join(tokens))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 3 * MAX_DEPTH), st.lists(st.sampled_from(["(", "not ", "not ("]), min_size=1, max_size=3))
def test_nesting_at_or_past_the_limit_runs_or_is_refused(lib, depth, openers):
    opened = "".join(openers[i % len(openers)] for i in range(depth))
    text = opened + "age>=30 or smiling" + ")" * opened.count("(")
    levels = opened.count("(") + opened.count("not")
    if levels <= MAX_DEPTH:
        clause, params = compile_filter(text)
        queries.faces(lib.db, clause, params)
    else:
        with pytest.raises(FilterSyntaxError, match="nested"):
            compile_filter(text)


@pytest.mark.parametrize("text", [
    "(" * 100 + "age>1" + ")" * 100,  # SQLite: parser stack overflow
    "(" * 400 + "age>1" + ")" * 400,  # Python: RecursionError
    "not " * 5000 + "age>1",  # RecursionError
    " or ".join(["age=30"] * 1000),  # SQLite: expression tree is too large
    "x" * 100_000,
])
def test_attacks_from_the_issue_are_one_line_errors(text):
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter(text)
    assert "\n" not in str(info.value) and len(str(info.value)) < 200


def test_the_largest_allowed_filter_runs(lib):
    terms = ["(age>=30 and not person=\"Ann Lee\")", "tag:glasses>=0.5", "happy>=0.2", "folder='/photos'"]
    text = " or ".join(terms[i % len(terms)] for i in range(MAX_CONDITIONS // 2))
    text = "(" * (MAX_DEPTH - 2) + text + ")" * (MAX_DEPTH - 2)
    clause, params = compile_filter(text)
    assert queries.faces(lib.db, clause, params) is not None
