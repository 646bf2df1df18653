"""People's names: one check at every door (typing through the edits, the CLI, sidecars), shown safely.

Unit cases pin the rules; hypothesis properties check them on any text; the library and CLI tests use a real
SQLite library and the real command line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faceorganizer.errors import FaceOrganizerError, InvalidEditError, InvalidNameError
from faceorganizer.library import Library
from faceorganizer.names import MAX_NAME_LENGTH, clean_name, clean_optional_name, display_name, safe_text

FORBIDDEN = ["\x00", "\x01", "\x1b[31mRed\x1b[0m", "\x7f", "\x9b", "a\u202eb", "x\u2066y", "\ud800", "\uffff"]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Ann", "Ann"),
        ("  Ann \t Smith\n", "Ann Smith"),  # tabs and line breaks are spaces, runs collapse, ends trimmed
        ("Ann\u00a0Smith", "Ann Smith"),
        ("Zoe\u0308", "Zoë"),  # NFC: the combining diaeresis composes
        ("O'Hara & <Friends>", "O'Hara & <Friends>"),  # XML specials are the writer's job, not refused
        ("\u05d3\u05d5\u05d3 \u200f(ok)", "\u05d3\u05d5\u05d3 \u200f(ok)"),  # right-to-left mark is kept
        ("x" * MAX_NAME_LENGTH, "x" * MAX_NAME_LENGTH),
    ],
)
def test_names_are_normalised(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


@pytest.mark.parametrize("raw", ["", "   ", "\t\n", "x" * (MAX_NAME_LENGTH + 1), "x" * 1_000_000, *FORBIDDEN])
def test_bad_names_are_refused_with_one_line(raw: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        clean_name(raw)
    message = str(caught.value)
    assert "\n" not in message and "\x1b" not in message and len(message) < 200
    assert isinstance(caught.value, InvalidEditError) and isinstance(caught.value, FaceOrganizerError)


def test_optional_names() -> None:
    assert clean_optional_name(None) is None
    assert clean_optional_name("  ") is None
    assert clean_optional_name(" Bo ") == "Bo"
    with pytest.raises(InvalidNameError):
        clean_optional_name("B\x1bo")


def test_display_escapes_what_clean_refuses() -> None:
    assert display_name("A\x1b[31mB\nC\u202e") == "A\\x1b[31mB\\nC\\u202e"
    assert display_name(None) == ""
    assert display_name("y" * 1000) == "y" * MAX_NAME_LENGTH + "…"
    assert safe_text("plain /path/ü.jpg") == "plain /path/ü.jpg"


# ---------------------------------------------------------------------------------------- properties


def _forbidden(c: str) -> bool:
    bidi_and_non_xml = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufffe\uffff"
    return unicodedata.category(c) in ("Cc", "Cs") or c in bidi_and_non_xml


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_clean_name_or_the_named_error(raw: str) -> None:
    try:
        name = clean_name(raw)
    except InvalidNameError:
        return
    assert 1 <= len(name) <= MAX_NAME_LENGTH
    assert name == name.strip() and "  " not in name
    assert not any(_forbidden(c) for c in name)
    assert unicodedata.is_normalized("NFC", name)
    assert clean_name(name) == name  # idempotent: a stored name passes the check again unchanged


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_display_never_holds_a_control_character(raw: str) -> None:
    shown = display_name(raw)
    assert not any(_forbidden(c) for c in shown)
    assert len(shown) <= 6 * MAX_NAME_LENGTH + 1


# --------------------------------------------------------------------- every entry point, real library


@pytest.fixture()
def library(tmp_path: Path, shared_faces: Path):
    """A real library with one imported photo of two faces."""
    src = tmp_path / "photos"
    src.mkdir()
    (src / "two.jpg").write_bytes((shared_faces / "groups" / "fr_two_people.jpg").read_bytes())
    with Library.open(tmp_path / "lib") as lib:
        for _ in lib.import_job([str(src)]).run():
            pass
        yield lib


def test_edits_check_names_and_store_nothing_on_refusal(library: Library) -> None:
    faces = library.faces()
    assert len(faces) >= 2
    person = library.move([faces[0].id], None, new_name="  Ann \t Lee ")
    assert {p.name for p in library.people()} >= {"Ann Lee"}
    before = [(p.id, p.name) for p in library.people()]
    history = len(library.history())
    for bad in ["\x1b[2J", "x" * 201, "Bob\x00"]:
        with pytest.raises(InvalidNameError):
            library.rename(person, bad)
        with pytest.raises(InvalidNameError):
            library.move([faces[1].id], None, new_name=bad)
        with pytest.raises(InvalidNameError):
            library.create_person(bad)
    assert [(p.id, p.name) for p in library.people()] == before
    assert len(library.history()) == history
    library.rename(person, "Zoe\u0308")
    assert any(p.name == "Zoë" for p in library.people())
    # Found again when typed decomposed (as macOS terminals do) or with stray spaces.
    assert library.find_person(" zoe\u0308 ") == (person, "Zoë")


def _cli(library_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "faceorganizer", "--library", str(library_dir), *args],
                          capture_output=True, text=True, timeout=120, env={**os.environ})


def test_cli_refuses_control_characters_and_escapes_stored_ones(library: Library) -> None:
    folder = library.folder
    person = library.move([library.faces()[0].id], None, new_name="Plain")
    # A name stored before names were checked (written straight into the database as an old version could).
    other = library.move([library.faces()[1].id], None)
    library.db.execute("UPDATE people SET name = ? WHERE id = ?", ["Evil\x1b[31m\nRow", other])
    library.db.conn.commit()
    library.close()

    refused = _cli(folder, "rename", str(person), "Bad\x1b[31mName")
    assert refused.returncode == 2
    assert refused.stderr.startswith("faceorganizer: error: name contains an escape character")
    assert refused.stderr.count("\n") == 1 and "\x1b" not in refused.stderr and "Traceback" not in refused.stderr

    listed = _cli(folder, "people")
    assert listed.returncode == 0, listed.stderr
    assert "\x1b" not in listed.stdout and "Evil\\x1b[31m\\nRow" in listed.stdout
    assert all("Row" not in line or "Evil" in line for line in listed.stdout.splitlines())  # one row, unbroken
