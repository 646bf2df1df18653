"""Working with other tools and protecting face data: export, XMP, recognition on/off, forgetting."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faceorganizer.cli.common import command, emit, open_library
from faceorganizer.library import Library


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=["photos", "people", "faces"])
    p.add_argument("--person", type=int, help="person id (for photos)")
    p.add_argument("--out", required=True, help="folder (photos) or file (people/faces; '-' for stdout)")
    p.add_argument("--link", action="store_true", help="symlink photos instead of copying")
    p.add_argument("--format", choices=["csv", "json"], default=None, help="default: from the file extension")


@command("export", "export a person's photos to a folder, or people/faces as CSV or JSON", _export_args)
def export(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        if args.what == "photos":
            if args.person is None:
                print("faceorganizer: error: export photos needs --person ID", file=sys.stderr)
                return 2
            written = lib.export_photos(args.person, Path(args.out), link=args.link)
            emit(args, {"written": [str(p) for p in written]}, f"Exported {len(written)} photos to {args.out}")
            return 0
        rows = lib.export_rows(args.what)
    fmt = args.format or ("csv" if args.out.endswith(".csv") else "json")
    text = Library.export_text(rows, fmt)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text)
        emit(args, {"rows": len(rows), "file": args.out}, f"Wrote {len(rows)} {args.what} to {args.out}")
    return 0


def _xmp_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--into-file", action="store_true",
                   help="write into the image files' own XMP (JPEG; pixels are never rewritten)")


@command("xmp-write", "write person names to the photos as XMP face regions (sidecars by default)", _xmp_args)
def xmp_write(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        n, left_out = lib.write_xmp_counted(into_file=args.into_file or None)
    text = f"Wrote names for {n} photos"
    if left_out:
        text += (f"; {left_out} named face(s) left out: their person's name holds control characters or is too "
                 "long (rename the person with `faceorganizer rename` and write again)")
    emit(args, {"photos_written": n, "faces_left_out": left_out}, text)
    return 0


def _recognition_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("state", choices=["on", "off", "show"], nargs="?", default="show")


@command("recognition", "turn face recognition on or off for this library", _recognition_args)
def recognition(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        if args.state != "show":
            lib.set_recognition(args.state == "on")
        enabled = lib.recognition_enabled
    emit(args, {"recognition": enabled}, f"Face recognition is {'on' if enabled else 'off'} for {lib.folder}")
    return 0


def _forget_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("person", type=int)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def _confirmed(args: argparse.Namespace, question: str) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        print(f"faceorganizer: error: {question} — add --yes to confirm", file=sys.stderr)
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


@command("forget", "delete a person and their face data for good (cannot be undone)", _forget_args)
def forget(args: argparse.Namespace) -> int:
    if not _confirmed(args, f"Forget person {args.person} and delete their face data for good?"):
        return 2
    with open_library(args) as lib:
        n = lib.forget_person(args.person)
    emit(args, {"faces_deleted": n}, f"Forgot person {args.person}: {n} faces deleted")
    return 0


def _delete_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")


@command("delete-face-data", "delete every face, embedding, person and name of the library; recognition off",
         _delete_args)
def delete_face_data(args: argparse.Namespace) -> int:
    if not _confirmed(args, "Delete ALL face data of this library for good?"):
        return 2
    with open_library(args) as lib:
        n = lib.delete_all_face_data()
    emit(args, {"faces_deleted": n}, f"Deleted all face data ({n} faces); face recognition is now off")
    return 0
