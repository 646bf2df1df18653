"""`search`: find this person from a library face or any photo; `photos`: photos with/without people."""

from __future__ import annotations

import argparse
from pathlib import Path

from faceorganizer.cli.common import command, emit, open_library, table
from faceorganizer.errors import FaceOrganizerError


def _search_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", nargs="?", help="a photo (any file; its largest face unless --face)")
    p.add_argument("--face", type=int, help="which face of the photo, 0 = leftmost")
    p.add_argument("--face-id", type=int, help="search by a face already in the library")
    p.add_argument("--top", type=int, default=20, help="number of results (default 20)")
    p.add_argument("--threshold", type=float, help="largest distance counted as a match (default: setting)")
    p.add_argument("--where", help='attribute filter on results, e.g. "age<30 and smiling" (README)')
    p.add_argument("--by-person", action="store_true", help="group the results by person")
    p.add_argument("--plain", action="store_true", help="rank by plain distance, not calibrated scores")


@command("search", "find this person: faces like a library face or a face in any photo", _search_args)
def search(args: argparse.Namespace) -> int:
    if (args.image is None) == (args.face_id is None):
        raise FaceOrganizerError("give either IMAGE or --face-id ID")
    with open_library(args) as lib:
        where, params = lib.filter_condition(args.where) if args.where else (None, [])
        common = dict(top=args.top, threshold=args.threshold, where=where, params=params,
                      calibrated=False if args.plain else None)
        if args.face_id is not None:
            hits = lib.search_face(args.face_id, **common)
        else:
            hits = lib.search_image(Path(args.image), face_index=args.face, **common)
    data = [h.to_json() for h in hits]
    if args.by_person:
        groups: dict = {}
        for h in hits:
            groups.setdefault(h.person_id, []).append(h.to_json())
        data = [{"person_id": pid, "person_name": items[0]["person_name"], "best_score": items[0]["score"],
                 "results": items} for pid, items in groups.items()]
    emit(args, data, lambda: table(
        [[h.face_id, f"{h.score:.3f}", f"{h.distance:.3f}", h.person_name or h.person_id or "", h.photo]
         for h in hits], ["face", "score", "distance", "person", "photo"]) if hits else "No matching faces.")
    return 0


def _photos_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--with", dest="with_people", type=int, nargs="+", required=True, help="person ids (all)")
    p.add_argument("--without", dest="without_people", type=int, nargs="*", default=[], help="person ids (none)")


@command("photos", "photos showing all the given people (and none of --without)", _photos_args)
def photos(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        ids = lib.photos_with(args.with_people, args.without_people)
        paths = lib.photo_paths(ids)
        others = lib.photo_locations(ids)
    # "locations": every path holding the photo, its primary file first, then identical copies in other folders.
    data = [{"photo_id": i, "photo": paths[i], "locations": [paths[i], *others.get(i, [])]} for i in ids]
    lines = [line for i in ids for line in [paths[i], *(f"  also at {p}" for p in others.get(i, []))]]
    emit(args, data, "\n".join(lines) or "No photos.")
    return 0
