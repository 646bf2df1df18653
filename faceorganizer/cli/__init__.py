"""The ``faceorganizer`` command: the GUI with no command, headless commands otherwise.

Each command module registers its sub-commands with :func:`faceorganizer.cli.common.command`; every command
takes ``--library DIR`` and ``--json``. Errors of the package are printed as one line naming the fix, exit 2;
so are the environment's failures (disk full, read-only library, locked database) and, as a last resort,
anything unexpected (one line pointing at the log, which holds the traceback): no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import NoReturn

from faceorganizer import __version__
from faceorganizer.cli import common
from faceorganizer.errors import FaceOrganizerError, explain_environment_error
from faceorganizer.log import log_file, setup_logging

# Command modules register themselves on import.
from faceorganizer.cli import library_cmds, models_cmds  # noqa: E402,F401  isort:skip

_OPTIONAL_MODULES = ("people_cmds", "search_cmds", "attribute_cmds", "ecosystem_cmds", "notface_cmds")
for _name in _OPTIONAL_MODULES:
    try:
        __import__(f"faceorganizer.cli.{_name}")
    except ModuleNotFoundError as exc:  # a module of a feature not yet present in this build
        if exc.name != f"faceorganizer.cli.{_name}":
            raise

log = logging.getLogger("faceorganizer.cli")


def printable(text: str, limit: int = 300) -> str:
    """``text`` with control characters escaped (an argument holding ANSI escapes or a newline must not
    repaint the terminal or split the error line) and cut to ``limit`` characters."""
    clean = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


class _Parser(argparse.ArgumentParser):
    """argparse, but its usage errors are one escaped line like every other error (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"faceorganizer: error: {printable(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="faceorganizer",
        description="Find, group and search the people in your photos. Without a command, opens the app.")
    parser.add_argument("--version", action="version", version=f"FaceOrganizer {__version__}")
    parser.add_argument("--library", metavar="DIR", help="library folder (default: the default library)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to the console")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for spec in common.COMMANDS:
        p = sub.add_parser(spec.name, help=spec.help, description=spec.help)
        p.add_argument("--library", metavar="DIR", default=argparse.SUPPRESS,
                       help="library folder (default: the default library)")
        p.add_argument("--json", action="store_true", help="machine-readable output (see README)")
        spec.configure(p)
        p.set_defaults(_run=spec.run)
    return parser


def _fail(message: str) -> int:
    # One line, always: a name or path with a newline must not split the message.
    print(f"faceorganizer: error: {printable(' '.join(str(message).split()), 1000)}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        setup_logging(logging.DEBUG if args.verbose else logging.INFO, console=args.verbose)
    except OSError as exc:  # an unwritable log folder must not stop the command
        print(f"faceorganizer: warning: cannot write the log ({exc.strerror or exc}); continuing without it",
              file=sys.stderr)
    if args.command is None:
        from faceorganizer.app import run_gui

        return run_gui(args.library)
    try:
        common.check_arguments(args)
        return int(args._run(args) or 0)
    except FaceOrganizerError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("faceorganizer: cancelled", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `faceorganizer faces | head`: the reader left, nothing to report
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, the details in the log
        message = explain_environment_error(exc, common.library_folder(args))
        if message is None:
            log.exception("unexpected error in %s", args.command)
            message = (f"unexpected {type(exc).__name__}: {exc} (the details are in {log_file()}; "
                       "please report it)")
        else:
            log.warning("%s failed: %r", args.command, exc)
        return _fail(message)


if __name__ == "__main__":
    sys.exit(main())
