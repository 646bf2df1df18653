"""Every CLI command with garbage arguments (issue 15): whatever the arguments, the user sees a result, an
argparse usage error or one `faceorganizer: error: …` line, never a Python traceback or an "unexpected" error.

Runs ``main()`` in-process on a real library (a few ../shared/faces photos imported once) so that a traceback
would surface as an exception here; a few cases also run as a real process, where a hang would show.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from faceorganizer.cli import build_parser, main
from faceorganizer.library import Library

GARBAGE = ["garbage", "-1", "99999999999999999999", "", "nan", "\x1b[31mred\x1b[0m\nx", "((((((((((", "/"]
OPTION_GARBAGE = ["garbage", "-1", "99999999999999999999", "((((((((((", "\x1b[31mred\nx"]
#: Commands that load the face models on every run: fewer cases keep the test fast.
HEAVY = {"import", "reembed", "summary"}
LIGHT = {"models", "doctor"}  # they read the shared weights: only arguments argparse refuses


@pytest.fixture(scope="module")
def library(shared_faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    photos = tmp_path_factory.mktemp("hostile-photos")
    for person in ("obama", "biden"):
        for src in sorted((shared_faces / "identities" / person).glob("*.jpg"))[:2]:
            shutil.copy2(src, photos / f"{person}-{src.name}")
    folder = tmp_path_factory.mktemp("hostile-lib") / "lib"
    with Library.open(folder) as lib:
        for _ in lib.import_job([str(photos)]).run():
            pass
    return folder


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: p for name, p in sub.choices.items() }


def _options(p: argparse.ArgumentParser) -> list[str]:
    """Options that take a value (not flags, not --library, which every case sets)."""
    return [a.option_strings[-1] for a in p._actions
            if a.option_strings and a.nargs != 0 and "--library" not in a.option_strings
            and not isinstance(a, argparse._HelpAction)]


def _argvs(name: str, p: argparse.ArgumentParser) -> list[list[str]]:
    if name in LIGHT:
        return [[name, "garbage"], [name, "\x1b[31mred\nx"], [name, "--bogus", "-1"]]
    if name in HEAVY:
        return [[name], [name, "garbage"], [name, "\x1b[31mred\nx"], [name, "1", "--where", "(((("]]
    argvs = [[name], [name, *GARBAGE[:3]]]
    argvs += [[name, g] for g in GARBAGE]
    for opt in _options(p):
        argvs += [[name, opt, g] for g in OPTION_GARBAGE]
        argvs += [[name, "1", opt, "-5"]]
    return argvs


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: usage error
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, err


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_garbage_arguments_never_reach_the_user_as_a_traceback(name, library, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # commands that write (summary --out, export) write here
    lib = tmp_path / "lib"
    shutil.copytree(library, lib)
    p = _subcommands()[name]
    for argv in _argvs(name, p):
        code, err = _run([*argv, "--library", str(lib)], capsys)
        assert "Traceback" not in err, (argv, err)
        assert "unexpected" not in err, (argv, err)
        if code != 0:
            assert code in (2, 130), (argv, code, err)
            last = err.strip().splitlines()[-1] if err.strip() else ""
            assert last.startswith("faceorganizer: error:"), (argv, err)


@pytest.mark.parametrize("library_arg", ["/dev/null", "/proc/version", "", "\x1b[2J", "a\x00b", "/" * 5000])
def test_garbage_library_paths_are_one_line_errors(library_arg, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative garbage path ('\x1b[2J') may become a library folder: not in the repo
    code, err = _run(["status", "--library", library_arg], capsys)
    assert "Traceback" not in err and "unexpected" not in err, err
    if code != 0:
        assert code == 2 and err.strip().splitlines()[-1].startswith("faceorganizer: error:")


def test_real_process_prints_no_traceback_and_never_hangs(library, tmp_path):
    fifo = tmp_path / "fifo.jpg"
    os.mkfifo(fifo)
    cases = [["search", str(fifo)], ["search", str(tmp_path)], ["move", "99999999999999999999", "--to", "1"],
             ["faces", "--where", "(" * 500], ["search", "--top", "-1", "--face-id", "1"]]
    for argv in cases:
        proc = subprocess.run([sys.executable, "-m", "faceorganizer", *argv, "--library", str(library)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("faceorganizer: error:"), proc.stderr
