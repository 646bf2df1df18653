"""Shared pieces of the CLI: command registration, opening the library, printing text or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faceorganizer.library import Library


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
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
