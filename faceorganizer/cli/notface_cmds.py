"""``not-face``: remove false detections (a pattern, a shadow) for good; ``undo`` brings them back."""

from __future__ import annotations

import argparse

from faceorganizer.cli.common import command, emit, open_library


def _not_face_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("faces", type=int, nargs="+", metavar="ID", help="face ids (see `faces` or `people --json`)")


@command("not-face", "remove detections that are not faces; a re-import or re-scan never adds them again "
                     "(undo with `undo`)", _not_face_args)
def not_face(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        removed = lib.not_face(args.faces)
    emit(args, {"removed": sorted(set(args.faces)), "count": removed},
         f"Removed {removed} face(s) as not a face (undo with `faceorganizer undo`)")
    return 0
