"""People-grouping quality on real faces: cluster the main faces and compare with the folder labels.

Usage:
    python bench/eval_people.py EMBEDDINGS.npz [--threshold 0.55] [--k 20]
    python bench/eval_people.py --from-photos [--cache /tmp/main_faces.npz]

``EMBEDDINGS.npz`` holds ``embeddings`` (faces × 128, dlib ResNet space) and ``labels`` (identity per face).
``--from-photos`` makes one from ``../shared/faces/identities`` with ``face_recognition`` (a test
dependency: dlib HOG detector, largest face per photo, the same ResNet as ours) and caches it.

Prints, per the measures of docs/evaluation.md: pairwise and BCubed precision/recall/F1, clusters vs
identities and singletons at the default threshold and over a sweep; the single-linkage baseline (faces are
one person when a chain of pairs closer than the threshold joins them, i.e. dlib's 0.6 rule applied
transitively); pair verification and "each face against all others" search on the same embeddings.
Targets: pairwise F1 and BCubed F1 ≥ 0.97 at the default threshold.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # runnable from a checkout without `pip install -e`

from devkit.evaluation import (  # noqa: E402
    accuracy_at_threshold,
    clustering_scores,
    pair_distances,
    search_scores,
    verification_scores,
)
from faceorganizer.people.cluster import DEFAULT_K, DEFAULT_THRESHOLD, build_merge_tree  # noqa: E402

SHARED_FACES = Path(os.environ.get("FACEORGANIZER_SHARED_FACES", REPO.parent / "shared" / "faces"))
TARGET_F1 = 0.97
SWEEP = np.round(np.arange(0.40, 0.751, 0.025), 3)


def embeddings_from_photos(cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """Main-face embeddings of the shared identity photos with face_recognition, cached in ``cache``."""
    if cache.is_file():
        data = np.load(cache)
        return data["embeddings"], data["labels"]
    import face_recognition
    from PIL import Image

    entries = json.loads((SHARED_FACES / "manifest.json").read_text())
    vectors, labels = [], []
    for entry in entries:
        if entry["kind"] != "identity":
            continue
        image = Image.open(SHARED_FACES / entry["path"]).convert("RGB")
        image.thumbnail((1600, 1600))  # the 14 MP photos: same faces, a tenth of the detector time
        rgb = np.asarray(image)
        boxes = face_recognition.face_locations(rgb, 1) or face_recognition.face_locations(rgb, 2)
        if not boxes:
            print(f"no face found: {entry['path']}", file=sys.stderr)
            continue
        main = max(boxes, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))
        vectors.append(face_recognition.face_encodings(rgb, [main])[0])
        labels.append(entry["identity"])
    x, y = np.asarray(vectors, np.float32), np.asarray(labels)
    np.savez(cache, embeddings=x, labels=y)
    return x, y


def _row(name: str, truth: np.ndarray, labels: np.ndarray) -> str:
    s = clustering_scores(truth, labels)
    return (
        f"{name:>10} {s.pairwise_precision:6.3f} {s.pairwise_recall:6.3f} {s.pairwise_f1:6.3f}   "
        f"{s.bcubed_precision:6.3f} {s.bcubed_recall:6.3f} {s.bcubed_f1:6.3f}   "
        f"{s.n_clusters:5d}/{s.n_identities:<5d} {s.n_singletons:5d}"
    )


def evaluate(x: np.ndarray, truth: np.ndarray, threshold: float, k: int) -> bool:
    """Print the report; True when both F1 targets are met at ``threshold``."""
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = build_merge_tree(x, k=min(k, max(1, x.shape[0] - 1)))
    header = (
        f"{'threshold':>10} {'pair P':>6} {'pair R':>6} {'pair F1':>6}   {'B3 P':>6} {'B3 R':>6} {'B3 F1':>6}   "
        f"{'clusters':>11} {'single':>5}"
    )
    print(f"{x.shape[0]} faces, {np.unique(truth).size} identities; average linkage (RMS), k={k}\n")
    print(header)
    for t in SWEEP:
        print(_row(f"{t:.3f}" + (" *" if abs(t - threshold) < 1e-9 else ""), truth, tree.labels(t)))
    if not np.any(np.isclose(SWEEP, threshold)):
        print(_row(f"{threshold:.3f} *", truth, tree.labels(threshold)))
    print("\nbaseline: single linkage (dlib's pair rule, transitively)")
    print(header)
    single = linkage(x.astype(np.float64), "single")
    for t in (0.5, 0.55, 0.6):
        print(_row(f"{t:.3f}", truth, fcluster(single, t, "distance")))

    d, same = pair_distances(x, truth)
    v = verification_scores(-d, same)
    print(
        f"\nverification over {v.n_positive} same / {v.n_negative} different pairs: ROC AUC {v.roc_auc:.4f}, "
        f"best accuracy {v.best_accuracy:.4f} at distance {-v.best_threshold:.3f}, "
        f"accuracy at 0.6 {accuracy_at_threshold(-d, same, -0.6):.4f}, "
        f"TAR@FAR=1% {v.tar_at_far_1e_2:.3f}, TAR@FAR=0.1% {v.tar_at_far_1e_3:.3f}"
    )
    full = -np.linalg.norm(x[:, None, :] - x[None, :, :], axis=2)
    s = search_scores(full, truth, truth, ks=(1, 5, 10), exclude_self=True)
    print(
        f"search, each face against all others ({s.n_queries} queries with a match): rank-1 {s.rank1:.3f}, "
        f"mAP {s.mean_average_precision:.3f}, "
        + ", ".join(f"recall@{k} {r:.3f}" for k, r in s.recall_at_k.items())
    )

    final = clustering_scores(truth, tree.labels(threshold))
    ok = final.pairwise_f1 >= TARGET_F1 and final.bcubed_f1 >= TARGET_F1
    print(
        f"\nat the threshold {threshold}: pairwise F1 {final.pairwise_f1:.3f}, BCubed F1 {final.bcubed_f1:.3f} "
        f"(target ≥ {TARGET_F1}): {'PASS' if ok else 'FAIL'}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("embeddings", nargs="?", type=Path, help=".npz with 'embeddings' and 'labels'")
    parser.add_argument("--from-photos", action="store_true", help="embed ../shared/faces with face_recognition")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/faceorganizer_main_faces.npz"))
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--k", type=int, default=DEFAULT_K)
    args = parser.parse_args(argv)
    if args.embeddings is not None:
        data = np.load(args.embeddings)
        x, truth = data["embeddings"], data["labels"]
    elif args.from_photos:
        x, truth = embeddings_from_photos(args.cache)
    else:
        parser.error("give an embeddings .npz or --from-photos")
    return 0 if evaluate(np.asarray(x, np.float32), np.asarray(truth), args.threshold, args.k) else 1


if __name__ == "__main__":
    sys.exit(main())
