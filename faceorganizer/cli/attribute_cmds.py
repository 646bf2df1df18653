"""Attribute commands: summary, tag, predict-attr, attributes, attr-cluster."""

from __future__ import annotations

import argparse

from faceorganizer.cli.common import command, emit, open_library, table
from faceorganizer.errors import InvalidEditError, NotFoundError
from faceorganizer.library import Library


# ----------------------------------------------------------------------------------------- summary
def _summary_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("person", nargs="?", help="person id or name (omit to summarise the faces --where selects)")
    p.add_argument("--where", help="only faces matching this filter (see `faces --help`)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for chart.png, eigenface.png, "
                   "age_over_time.png and summary.json")
    p.add_argument("--colour", "--color", action="store_true", help="colour eigenfaces (default grey)")


@command("summary", "summarise a person or any set of faces: attribute chart, eigenfaces, age over time",
         _summary_args)
def summary(args: argparse.Namespace) -> int:
    if args.person is None and not args.where:
        raise InvalidEditError("give a person or --where (e.g. summary 3 --out DIR, summary --where smiling ...)")
    with open_library(args) as lib:
        ids = lib.faces_where(args.where)
        title = "Faces" if not args.where else f"Faces where {args.where}"
        if args.person is not None:
            person_id, name = lib.find_person(args.person)
            mine = set(lib.face_ids_of_person(person_id))
            ids = [i for i in ids if i in mine]
            title = name or f"Person {person_id}"
        if not ids:
            raise NotFoundError("no faces to summarise")
        paths = lib.summary(ids, args.out, title=title, colour=args.colour)
    data = {"faces": len(ids), "files": {k: str(v) for k, v in paths.items()}}
    emit(args, data, "\n".join([f"Summary of {len(ids)} faces:"] + [f"  {v}" for v in data["files"].values()]))
    return 0


# ----------------------------------------------------------------------------------------- taught attributes
def _tag_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("faces", nargs="+", type=int, metavar="FACE", help="face ids (see `faces`)")
    p.add_argument("--attr", required=True, metavar="NAME", help="attribute name, e.g. glasses")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--no", action="store_true", help="these faces do NOT have the attribute")
    group.add_argument("--clear", action="store_true", help="forget what you taught about these faces")


@command("tag", "teach an attribute on faces (yes, or --no); undo with `undo`", _tag_args)
def tag(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        if args.clear:
            n = lib.untag(args.faces, args.attr)
            text = f"Cleared {args.attr} on {n} face(s)"
        else:
            n = lib.tag(args.faces, args.attr, value=not args.no)
            text = f"Tagged {n} face(s) {'not ' if args.no else ''}{args.attr}"
    emit(args, {"attribute": args.attr, "faces": n, "value": None if args.clear else not args.no}, text)
    return 0


def _predict_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="a taught attribute (tag faces yes and no first)")
    p.add_argument("--k", type=int, default=None, help="taught neighbours that vote (default 10)")


@command("predict-attr", "predict a taught attribute for every other face (filter with tag:NAME)",
         _predict_args)
def predict_attr(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        n = lib.predict_attribute(args.name, **({"k": args.k} if args.k else {}))
        counts = next((a for a in lib.taught_attributes() if a.name == args.name.strip().lower()), None)
    data = {"attribute": args.name, "predicted": n, **(counts.to_json() if counts else {})}
    text = f"Predicted {args.name} on {n} faces"
    if counts:
        text += f": {counts.predicted_yes} yes, {counts.predicted_no} no (from {counts.user_yes} yes, " \
                f"{counts.user_no} no taught)"
    emit(args, data, text)
    return 0


@command("attributes", "list taught attributes with their taught and predicted counts")
def attributes(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        rows = lib.taught_attributes()
    emit(args, [r.to_json() for r in rows], lambda: table(
        [[r.name, r.user_yes, r.user_no, r.predicted_yes, r.predicted_no] for r in rows],
        ["attribute", "taught yes", "taught no", "predicted yes", "predicted no"]))
    return 0


# ----------------------------------------------------------------------------------------- clustering
def _cluster_args(p: argparse.ArgumentParser) -> None:
    features, defaults, methods = Library.attribute_choices()
    p.add_argument("--n", type=int, default=4, help="number of groups (k-means, agglomerative); default 4")
    p.add_argument("--attrs", default=",".join(defaults),
                   help=f"comma-separated attributes from: {', '.join(features)}")
    p.add_argument("--weights", help="comma-separated weights, one per attribute (default all 1)")
    p.add_argument("--method", default="all", choices=["all", *methods])
    p.add_argument("--eps", type=float, default=None, help="DBSCAN radius (default: the k-distance knee)")
    p.add_argument("--min-samples", type=int, default=None, help="DBSCAN core size (default 2 × attributes)")
    p.add_argument("--where", help="only faces matching this filter")
    p.add_argument("--labels", action="store_true", help="with --json, include every face's group")


@command("attr-cluster", "group faces by attributes (k-means, agglomerative, DBSCAN) with silhouette scores",
         _cluster_args)
def attr_cluster(args: argparse.Namespace) -> int:
    features = [a for a in args.attrs.split(",") if a.strip()]
    weights = None
    if args.weights:
        try:
            weights = [float(w) for w in args.weights.split(",")]
        except ValueError:
            raise InvalidEditError(f"--weights must be numbers, got {args.weights!r}") from None
        if len(weights) != len(features):
            raise InvalidEditError(f"give one weight per attribute: {len(features)} attributes, "
                                   f"{len(weights)} weights")
    methods = Library.attribute_choices()[2] if args.method == "all" else (args.method,)
    with open_library(args) as lib:
        ids = lib.faces_where(args.where) if args.where else None
        try:
            result = lib.attribute_clustering(args.n, features, weights=weights, methods=methods, face_ids=ids,
                                              eps=args.eps, min_samples=args.min_samples)
        except ValueError as exc:  # a bad option (unknown attribute, wrong weights): name it in one line
            raise InvalidEditError(str(exc)) from None

    def text() -> str:
        lines = [f"{result.face_ids.size} faces by {', '.join(result.features)}"
                 + (f" ({result.skipped} left out: missing values)" if result.skipped else "")]
        lines.append(table([[m, r.n_groups, "-" if r.silhouette is None else f"{r.silhouette:.3f}",
                             r.noise if m == "dbscan" else "",
                             ", ".join(f"{k}={v:g}" for k, v in r.params.items())]
                            for m, r in result.results.items()],
                           ["method", "groups", "silhouette", "noise", "params"]))
        for m, r in result.results.items():
            lines.append(f"\n{m}:")
            lines.append(table([[g.label, g.size, g.describe()] + [f"{g.means[f]:.2f}" for f in result.features]
                                for g in r.groups], ["group", "faces", "stands out"] + list(result.features)))
        return "\n".join(lines)

    emit(args, result.to_json(with_labels=args.labels), text)
    return 0
