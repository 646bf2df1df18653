"""Search quality on real faces: plain scores vs IDA vs IDA-L, IDA's τ and k, and the 32-bit codes.

Input: one or more ``.npz`` files with ``embeddings`` (n × 128 dlib descriptors of the main face of each photo)
and ``labels`` (person ids; the folder names of ``../shared/faces/identities``). Every face is a query against
all the others (docs/evaluation.md): rank-1, mAP, recall@k, and over all pairs ROC AUC, best accuracy and TAR at
FAR = 1% and 0.1%.

Scores compared:

- ``euclidean`` / ``cosine``: the plain descriptor scores;
- ``IDA ref``: reference-based IDA; the anchors are every face of the *other* people (each face's own person
  is never an anchor of it: the anchor set of a library of confirmed people);
- ``IDA unknown``: the same anchors, but each face's own label is hidden, so anchors closer than the
  same-person distance are left out instead (a query photo of someone not yet named);
- ``IDA-L``: the density term predicted by the MLP, trained on the IDA ref densities of the other people's
  faces (5 folds over people, so no face's own density is learned).

``--unlabelled FILE`` adds faces of unknown people (e.g. the faces in ``groups/``) to the anchor set with label -1.

    .venv/bin/python bench/eval_search.py faces.npz [more.npz ...] [--tau 20] [--k 10]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devkit.evaluation import search_scores, verification_scores  # noqa: E402
from faceorganizer.search.codes import (  # noqa: E402
    BinIndex,
    LearnedCodec,
    PCACodec,
    code_verification_accuracy,
)
from faceorganizer.search.ida import (  # noqa: E402
    DEFAULT_K,
    DEFAULT_TAU,
    DensityMLP,
    IDACalibrator,
    calibrated_pair_scores,
    cosine_similarity,
)


def load(path: str) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as data:
        return data["embeddings"].astype(np.float32), data["labels"].astype(np.int64)


def quality(name: str, scores: np.ndarray, labels: np.ndarray) -> None:
    iu = np.triu_indices(len(labels), 1)
    v = verification_scores(scores[iu], (labels[:, None] == labels[None, :])[iu])
    s = search_scores(scores, labels, labels, exclude_self=True, ks=(1, 5, 10))
    print(f"| {name:<22} | {v.roc_auc:.5f} | {v.best_accuracy:.4f} | {v.tar_at_far_1e_2:.4f} | "
          f"{v.tar_at_far_1e_3:.4f} | {s.rank1:.4f} | {s.mean_average_precision:.4f} | {s.recall_at_k[5]:.4f} |")


def ida_scores(x, y, anchors, anchor_labels, *, k, tau, known: bool) -> tuple[np.ndarray, np.ndarray]:
    calibrator = IDACalibrator(anchors, anchor_labels, k=k, tau=tau)
    log_d = calibrator.log_densities(x, y if known else None)
    return calibrated_pair_scores(x, log_d, x, log_d, tau), log_d


def idal_densities(x, y, ref_log_d, *, folds: int = 5, seed: int = 0) -> np.ndarray:
    """IDA-L densities predicted for each person by an MLP trained on the other people's faces."""
    people = np.unique(y)
    rng = np.random.default_rng(seed)
    fold_of = dict(zip(rng.permutation(people), np.arange(people.size) % folds))
    fold = np.array([fold_of[p] for p in y])
    out = np.empty(len(y), np.float32)
    for f in range(folds):
        held = fold == f
        if held.any():
            model = DensityMLP(dim=x.shape[1], seed=seed).fit(x[~held], ref_log_d[~held], epochs=300)
            out[held] = model.predict(x[held])
    return out


def code_report(x: np.ndarray, y: np.ndarray, seed: int) -> None:
    print("\n32-bit codes: code-only verification (balanced accuracy = mean of same- and different-pair accuracy "
          "at the best code-distance threshold; LFW-style 50/50). 'held-out' = fitted on one half of the people, "
          "measured on the other half's pairs (both splits averaged).")
    print("| codes                   | all pairs (fit on all) | held-out people |")
    print("|-------------------------|------------------------|-----------------|")
    people = np.unique(y)
    rng = np.random.default_rng(seed)
    half = np.isin(y, rng.choice(people, people.size // 2, replace=False))
    for name, fit in (
        ("PCA-8 × 16 quantile bins", lambda xs, ys: PCACodec.fit(xs, seed=seed)),
        ("PCA-8 + rotation", lambda xs, ys: PCACodec.fit(xs, rotate=True, seed=seed)),
        ("learned 128→64→8", lambda xs, ys: LearnedCodec.fit(xs, ys, seed=seed, epochs=300, batch_people=16)),
    ):
        everything = code_verification_accuracy(fit(x, y).encode(x), y)[0]
        held = []
        for train in (half, ~half):
            test = ~train
            if np.unique(y[train]).size >= 2 and np.unique(y[test]).size >= 2:
                held.append(code_verification_accuracy(fit(x[train], y[train]).encode(x[test]), y[test])[0])
        print(f"| {name:<23} | {everything:22.4f} | {np.mean(held) if held else float('nan'):15.4f} |")

    codec = PCACodec.fit(x, seed=seed)
    codes = codec.encode(x)
    print("\nRecall of the true neighbours (all other faces of the same person) vs fraction of occupied bins "
          "visited, each face a query against the others (PCA codes, fitted on all faces):")
    ids = np.arange(len(y))
    bins = BinIndex(ids, codes, x)
    print(f"| bins visited (of {bins.n_bins}) | recall | faces scanned |")
    print("|---------------------|--------|---------------|")
    for fraction in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0):
        hits, scanned = [], []
        for i in range(len(y)):
            same = np.flatnonzero((y == y[i]) & (ids != i))
            if same.size == 0:
                continue
            rows = bins.candidate_rows(int(codes[i]), bin_fraction=fraction)
            hits.append(np.isin(same, rows).mean())
            scanned.append(rows.size / len(y))
        print(f"| {fraction:19.0%} | {np.mean(hits):.4f} | {np.mean(scanned):13.1%} |")


def report(path: str, args: argparse.Namespace) -> None:
    x, y = load(path)
    extra = load(args.unlabelled)[0] if args.unlabelled else np.empty((0, x.shape[1]), np.float32)
    anchors = np.concatenate([x, extra])
    anchor_labels = np.concatenate([y, np.full(len(extra), -1, np.int64)])
    n_pos = sum(int((y == p).sum() * ((y == p).sum() - 1) // 2) for p in np.unique(y))
    print(f"\n## {path}: {len(y)} faces, {np.unique(y).size} people, {n_pos} same-person pairs"
          f"{f', {len(extra)} unlabelled anchors' if len(extra) else ''}; IDA k={args.k}, τ={args.tau}")
    print("| score                  | ROC AUC | best acc | TAR@1% | TAR@0.1% | rank-1 | mAP    | rec@5  |")
    print("|------------------------|---------|----------|--------|----------|--------|--------|--------|")
    d = np.sqrt(np.maximum(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1), 0))
    quality("euclidean", -d, y)
    quality("cosine", cosine_similarity(x, x), y)
    ref, ref_log_d = ida_scores(x, y, anchors, anchor_labels, k=args.k, tau=args.tau, known=True)
    quality("IDA ref (labels known)", ref, y)
    unknown, _ = ida_scores(x, y, anchors, anchor_labels, k=args.k, tau=args.tau, known=False)
    quality("IDA unknown labels", unknown, y)
    predicted = idal_densities(x, y, ref_log_d)
    quality("IDA-L (MLP, CV)", calibrated_pair_scores(x, predicted, x, predicted, args.tau), y)
    print(f"IDA-L: correlation of predicted and reference log-density on held-out people "
          f"{np.corrcoef(predicted, ref_log_d)[0, 1]:.3f}")

    print("\nIDA ref, τ × k grid: TAR@1% / TAR@0.1% / mAP")
    taus = (5.0, 10.0, 20.0, 40.0, 80.0)
    print("| k \\ τ | " + " | ".join(f"{t:>17g}" for t in taus) + " |")
    print("|-------|" + "|".join("-" * 19 for _ in taus) + "|")
    iu = np.triu_indices(len(y), 1)
    same = (y[:, None] == y[None, :])[iu]
    for k in (3, 10, 30):
        cells = []
        for tau in taus:
            s, _ = ida_scores(x, y, anchors, anchor_labels, k=k, tau=tau, known=True)
            v = verification_scores(s[iu], same)
            m = search_scores(s, y, y, exclude_self=True).mean_average_precision
            cells.append(f"{v.tar_at_far_1e_2:.3f}/{v.tar_at_far_1e_3:.3f}/{m:.3f}")
        print(f"| {k:5d} | " + " | ".join(cells) + " |")
    code_report(x, y, args.seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("npz", nargs="+", help=".npz with 'embeddings' and 'labels'")
    parser.add_argument("--unlabelled", help=".npz with 'embeddings' of faces of unknown people (anchors)")
    parser.add_argument("--tau", type=float, default=DEFAULT_TAU)
    parser.add_argument("--k", type=int, default=DEFAULT_K)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for path in args.npz:
        report(path, args)


if __name__ == "__main__":
    main()
