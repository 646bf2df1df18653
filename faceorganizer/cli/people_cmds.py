"""Importing and fixing people: import, cluster, rename, merge, split, move, reject, confirm, hide, cover."""

from __future__ import annotations

import argparse
import sys
import threading

from faceorganizer.cli.common import command, emit, open_library, table
from faceorganizer.library import Library, analysis_engine


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="folders or photos to import")
    p.add_argument("--workers", type=int, default=None, help="analysis processes (default: one per core)")
    p.add_argument("--engine", choices=("local", "ray", "batched"), default="local",
                   help="where photos are analysed: local processes, a Ray cluster (README: Ray; needs shared "
                        "storage), or batched on this machine's GPU")
    p.add_argument("--address", default=None, help="Ray cluster address for --engine ray (default: a local Ray)")


def _engine(args: argparse.Namespace) -> object | None:
    """The analysis engine ``--engine`` names (None for local processes); made before the library opens, so
    a missing Ray is reported with its install command first."""
    return analysis_engine(args.engine, address=args.address)


def _bar(progress) -> str:
    total = max(progress.photos_total, 1)
    frac = min(progress.photos_done / total, 1.0)
    filled = int(frac * 30)
    eta = f" ETA {progress.eta:.0f}s" if progress.eta is not None else ""
    return (f"\r[{'#' * filled}{'.' * (30 - filled)}] {progress.photos_done}/{progress.photos_total} photos, "
            f"{progress.faces_found} faces, {progress.rate:.1f}/s{eta} ")


def _reembed_first(lib: Library, cancel: threading.Event, *, quiet: bool) -> None:
    """Bring faces embedded under older settings up to date before new ones arrive: grouping and search
    compare faces of one model only, so new faces must not be embedded under settings the old ones lack."""
    stale = lib.faces_to_reembed()
    if not stale:
        return
    if not quiet:
        print(f"re-embedding {stale:,} faces made under other settings or an older model first "
              "(names and edits are kept)", file=sys.stderr)
    for _ in lib.reembed_job(cancel=cancel):
        pass


@command("import", "import folders or photos (incremental: unchanged files cost nothing)", _import_args)
def import_(args: argparse.Namespace) -> int:
    cancel = threading.Event()
    engine = _engine(args)
    with open_library(args) as lib:
        job = lib.import_job(args.paths, cancel=cancel, workers=args.workers, engine=engine)
        progress = None
        show = not args.json and sys.stderr.isatty()
        try:
            _reembed_first(lib, cancel, quiet=args.json)
            for progress in job.run():
                if show:
                    sys.stderr.write(_bar(progress))
                    sys.stderr.flush()
        except KeyboardInterrupt:
            cancel.set()
            print("\nimport cancelled; run the same command again to resume", file=sys.stderr)
            return 130
        if show:
            sys.stderr.write("\n")
    assert progress is not None
    data = progress.result_json()

    def text() -> str:
        lines = [f"Imported in {data['seconds']:.1f}s: {data['photos_added']} new photos, "
                 f"{data['photos_updated']} updated, {data['photos_skipped']} skipped, "
                 f"{data['faces_added']} faces"
                 + (f", {data['copies_found']} copies of photos already in the library"
                    if data["copies_found"] else "")]
        lines += [f"  skipped {s['path']}: {s['reason']}" for s in data["skipped"]]
        return "\n".join(lines)

    emit(args, data, text)
    return 0


def _id_and_name(p: argparse.ArgumentParser) -> None:
    p.add_argument("person", type=int, help="person id")
    p.add_argument("name", help="new name (empty string clears it)")


@command("rename", "name a person (a name another person has merges the two)", _id_and_name)
def rename(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        pid = lib.rename(args.person, args.name)
    emit(args, {"id": pid, "name": args.name}, f"Person {pid} is now {args.name or '(unnamed)'}")
    return 0


def _merge_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", type=int, help="person id that stays")
    p.add_argument("others", type=int, nargs="+", help="person ids merged into it")


@command("merge", "merge people into one (their faces become confirmed)", _merge_args)
def merge(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        pid = lib.merge(args.target, args.others)
    emit(args, {"id": pid}, f"Merged {', '.join(map(str, args.others))} into {pid}")
    return 0


def _split_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("person", type=int)
    p.add_argument("--faces", type=int, nargs="+", help="faces for the new person (default: proposed from the "
                                                        "cluster tree)")
    p.add_argument("--name", help="name of the new person")
    p.add_argument("--dry-run", action="store_true", help="only show the proposed split")


@command("split", "split a person in two (proposed from the cluster tree, or the faces you give)", _split_args)
def split(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        part_b = args.faces
        if part_b is None:
            part_a, part_b = lib.propose_split(args.person)
        else:
            part_a = None
        if args.dry_run:
            emit(args, {"part_a": part_a, "part_b": part_b}, f"Proposed: keep {part_a}, split off {part_b}")
            return 0
        new_id = lib.split(args.person, list(part_b), args.name)
    emit(args, {"id": new_id, "faces": list(part_b)}, f"New person {new_id} with faces {list(part_b)}")
    return 0


def _move_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("faces", type=int, nargs="+", help="face ids")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--to", type=int, dest="person", help="target person id")
    group.add_argument("--new", metavar="NAME", nargs="?", const="", help="move to a new person")


@command("move", "move faces to a person (confirmed)", _move_args)
def move(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        pid = lib.move(args.faces, args.person, new_name=args.new or None)
    emit(args, {"person_id": pid, "faces": args.faces}, f"Moved {len(args.faces)} face(s) to person {pid}")
    return 0


def _faces_person(p: argparse.ArgumentParser) -> None:
    p.add_argument("faces", type=int, nargs="+", help="face ids")
    p.add_argument("--person", type=int, help="person id (default: the face's current person)")


@command("reject", "\"not this person\": remove faces from a person for good", _faces_person)
def reject(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        lib.reject(args.faces, args.person)
    emit(args, {"rejected": args.faces}, f"Rejected {len(args.faces)} face(s)")
    return 0


def _confirm_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("faces", type=int, nargs="+", help="face ids")
    p.add_argument("--person", type=int, required=True, help="person id")


@command("confirm", "\"yes, this is X\": confirm faces as a person", _confirm_args)
def confirm(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        lib.confirm(args.faces, args.person)
    emit(args, {"confirmed": args.faces, "person_id": args.person}, f"Confirmed {len(args.faces)} face(s)")
    return 0


def _hide_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("person", type=int)
    p.add_argument("--show", action="store_true", help="show a hidden person again")


@command("hide", "hide a person from the people list", _hide_args)
def hide(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        lib.hide(args.person, not args.show)
    emit(args, {"id": args.person, "hidden": not args.show},
         f"Person {args.person} {'shown' if args.show else 'hidden'}")
    return 0


def _cover_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("person", type=int)
    p.add_argument("face", type=int)


@command("cover", "set a person's cover face", _cover_args)
def cover(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        lib.set_cover(args.person, args.face)
    emit(args, {"id": args.person, "cover_face_id": args.face}, "Cover set")
    return 0


def _cluster_args(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--threshold", type=float, help="grouping distance (default: the setting, README)")
    group.add_argument("--people", type=int, metavar="N", help="ask for about N people instead")


@command("cluster", "re-group faces into people (keeps names, confirmed faces and rejections)", _cluster_args)
def cluster(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        result = lib.recluster(args.threshold, n_people=args.people)
    emit(args, result.__dict__, f"{result.people} people from {result.faces} faces "
                                f"({result.unsorted} unsorted, {result.new_people} new groups)")
    return 0


def _person_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("person", type=int)
    p.add_argument("--limit", type=int, default=20)


@command("suggest", "\"is this X?\": faces that may belong to a person, closest first", _person_arg)
def suggest(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        rows = lib.suggestions(args.person, args.limit)
    emit(args, [{"face_id": f, "distance": d} for f, d in rows],
         lambda: table([[f, f"{d:.3f}"] for f, d in rows], ["face", "distance"]))
    return 0


@command("outliers", "faces that probably don't belong to a person (for review)", _person_arg)
def outliers(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        rows = lib.outliers(args.person)[: args.limit]
    emit(args, [{"face_id": f, "distance": d} for f, d in rows],
         lambda: table([[f, f"{d:.3f}"] for f, d in rows], ["face", "distance to centre"]))
    return 0


def _face_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("face", type=int)


@command("explain", "why a face is in its person: nearest faces and distances", _face_arg)
def explain(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        e = lib.explain(args.face)

    def text() -> str:
        lines = [f"Face {e.face_id}: person {e.person_id} ({e.origin or 'unsorted'})"]
        lines += [f"  near {f} in the person at {d:.3f} ({o})" for f, d, o in e.nearest_in_person]
        lines += [f"  near {f} of person {p} at {d:.3f}" for f, p, d in e.nearest_elsewhere]
        return "\n".join(lines)

    emit(args, e.__dict__, text)
    return 0


@command("reembed", "re-embed faces after a model or flip-fusion change (names and edits are kept)")
def reembed(args: argparse.Namespace) -> int:
    progress = None
    with open_library(args) as lib:
        for progress in lib.reembed_job():
            pass
    data = progress.__dict__ if progress else {}
    emit(args, data, f"Re-embedded {data.get('faces_done', 0)} faces of {data.get('photos_done', 0)} photos")
    return 0
