"""The headless CLI as a user runs it: a real subprocess on a real library file."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "faceorganizer", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_status_creates_library_and_reports_json(tmp_path):
    lib = tmp_path / "My Library"
    out = json.loads(run_cli("status", "--json", "--library", str(lib)).stdout)
    assert out["photos"] == 0 and out["faces"] == 0 and out["skipped"] == []
    assert (lib / "library.db").is_file()
    assert json.loads(run_cli("people", "--json", "--library", str(lib)).stdout) == []
    assert json.loads(run_cli("--library", str(lib), "faces", "--json").stdout) == []


def test_errors_are_one_line_without_traceback(tmp_path):
    proc = run_cli("undo", "--library", str(tmp_path / "lib"), check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "faceorganizer: error: nothing to undo"
    proc = run_cli("people", "--library", str(tmp_path / "lib" / "library.db"), check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_doctor_lists_every_model_installed_with_matching_checksum():
    report = json.loads(run_cli("doctor", "--json").stdout)
    assert report["python"] and report["torch"] and report["onnxruntime_providers"]
    assert report["models"], "no models listed"
    for model in report["models"]:
        assert model["installed"] and model["checksum_ok"], model
    assert report["log_file"].endswith("faceorganizer.log")


def test_version_and_help():
    assert "FaceOrganizer" in run_cli("--version").stdout
    help_text = run_cli("--help").stdout
    for name in ("status", "people", "faces", "models", "doctor"):
        assert name in help_text


def test_undo_and_redo_one_edit_with_their_json_shapes(tmp_path):
    from faceorganizer.library import Library

    folder = tmp_path / "lib"
    with Library.open(folder) as lib:
        person = lib.create_person("Ann")
    undone = json.loads(run_cli("undo", "--json", "--library", str(folder)).stdout)
    assert undone == {"undone": "create person Ann", "id": 1}
    assert json.loads(run_cli("people", "--json", "--library", str(folder)).stdout) == []
    assert run_cli("undo", "--library", str(folder), check=False).stderr.strip() == \
        "faceorganizer: error: nothing to undo"
    redone = json.loads(run_cli("redo", "--json", "--library", str(folder)).stdout)
    assert redone == {"redone": "create person Ann", "id": 1}
    with Library.open(folder) as lib:
        assert [(p.id, p.name) for p in lib.people(include_hidden=True)] == [(person, "Ann")]
    assert run_cli("redo", "--library", str(folder), check=False).stderr.strip() == \
        "faceorganizer: error: nothing to redo"


def test_misspelled_filter_words_are_errors_in_every_command(tmp_path):
    """`smilng` is refused with a suggestion by faces, search and summary alike (the window's rule)."""
    lib = str(tmp_path / "lib")
    for args in (["faces", "--where", "smilng"], ["search", "--face-id", "1", "--where", "age>3 and smilng"],
                 ["summary", "--where", "smilng", "--out", str(tmp_path / "out")]):
        proc = run_cli(*args, "--library", lib, check=False)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert "did you mean 'smiling'?" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert run_cli("faces", "--where", "smiling", "--library", lib).returncode == 0
