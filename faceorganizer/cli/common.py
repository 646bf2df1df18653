"""Shared pieces of the CLI: command registration, opening the library, printing text or JSON."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faceorganizer.errors import FaceOrganizerError, NotFoundError
from faceorganizer.library import Library
from faceorganizer.names import safe_text


@dataclass(frozen=True)
class CommandSpec:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int | None]


COMMANDS: list[CommandSpec] = []


def command(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None] = lambda p: None
            ) -> Callable[[Callable[[argparse.Namespace], int | None]], Callable[[argparse.Namespace], int | None]]:
    """Register a sub-command: ``@command("status", "show ...", configure)`` over ``run(args)``."""

    def register(run: Callable[[argparse.Namespace], int | None]) -> Callable[[argparse.Namespace], int | None]:
        COMMANDS.append(CommandSpec(name, help, configure, run))
        return run

    return register


#: Integer arguments that name faces or people: a value SQLite cannot hold is an id that does not exist.
_ID_KINDS = {"faces": "face", "face": "face", "face_id": "face", "person": "person", "target": "person",
             "others": "person", "with_people": "person", "without_people": "person"}
#: Counts that must be at least 1 (``search --top -1`` would silently return fewer results).
_POSITIVE = ("top", "limit", "k", "n", "min_samples", "people")
_SQLITE_INT = (-(2 ** 63), 2 ** 63 - 1)


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse argument values no command can use, with the message the command itself would give.

    Ids beyond SQLite's 64-bit integers ("no face with id …", not an OverflowError), counts below 1 and
    numbers that are not finite. Runs before any command, so every command gets the same checks.
    """
    for name, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, bool):
                continue
            if isinstance(v, int) and name in _ID_KINDS and not 1 <= v <= _SQLITE_INT[1]:  # ids start at 1
                raise NotFoundError(f"no {_ID_KINDS[name]} with id {v}")
            if isinstance(v, int) and name in _POSITIVE and v < 1:
                flag = "--" + name.replace("_", "-")
                raise FaceOrganizerError(f"{flag} must be at least 1, got {v}")
            if isinstance(v, int) and not _SQLITE_INT[0] <= v <= _SQLITE_INT[1]:
                raise FaceOrganizerError(f"--{name.replace('_', '-')} {v} is out of range")
            if isinstance(v, float) and not math.isfinite(v):
                raise FaceOrganizerError(f"--{name.replace('_', '-')} must be a finite number, got {v}")


def library_folder(args: argparse.Namespace) -> str | None:
    """The library folder named on the command line (``None`` for the default library), for messages."""
    folder = getattr(args, "library", None)
    if folder:
        return str(folder)
    try:
        from faceorganizer import paths

        return str(paths.default_library_dir())
    except Exception:  # noqa: BLE001 - only used to word a message
        return None


def open_library(args: argparse.Namespace, *, create: bool = True) -> Library:
    return Library.open(getattr(args, "library", None), create=create)


def emit(args: argparse.Namespace, data: Any, text: Callable[[], str] | str | None = None) -> None:
    """Print ``data`` as JSON with ``--json``, else the human-readable ``text``."""
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    else:
        out = text() if callable(text) else text
        if out is None:
            out = json.dumps(data, indent=1, default=str)
        print(out)


def table(rows: list[list[Any]], headers: list[str]) -> str:
    """A plain aligned text table."""
    # Cells are escaped: a name stored before names were checked must not recolour the terminal or break rows.
    cells = [[str(h) for h in headers]] + [["" if c is None else safe_text(str(c)) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
