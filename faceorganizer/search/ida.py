"""IDA score calibration: a face's match score discounted by how crowded its neighbourhood is.

Some faces (blurred, small, profile, a common look) sit close to many *other* people's faces, so a plain cosine
similarity over-rates their matches. Reference-based IDA measures that crowding against an anchor set of faces
of known, distinct people:

- the support set of a face f is its ``k`` most similar anchors that belong to other people;
- its density term is ``d(f) = 1 / Σ_i exp(τ · s_i(f))`` over the cosine similarities ``s_i`` to that support set;
- the calibrated score of a pair is ``s*(f1, f2) = exp(τ · cos(f1, f2)) · (d(f1) + d(f2))``.

The density term depends on one face only, so the library computes it once per face (``IDACalibrator``) and
stores it beside the embedding; a search is then one index lookup and a re-score of the top candidates
(``calibrated_scores``). Everything here works in logs (``log d``, ``log s*``): the exponentials of
``τ · cos`` overflow float32 for the τ that works best, and the logarithm changes no ranking or threshold.

IDA-L (``DensityMLP``) learns ``log d`` from the embedding alone, so a query photo that is not in the library
needs no anchor search.

Faces whose person is unknown: a face labelled -1 (or an anchor labelled -1) cannot be told apart from its own
person by label, so for such a pair the anchor counts as "another person" only when it is at least the
same-person distance (0.6) away. That errs toward leaving a close other-person anchor out of the support set
(a slightly lower density, i.e. a slightly generous score) rather than counting the face's own person as
crowding, which would wrongly punish every face of a person with many photos.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from faceorganizer.search.index import SAME_PERSON_DISTANCE
from faceorganizer.store.queries import EMBEDDING_DIM

__all__ = [
    "DEFAULT_K",
    "DEFAULT_TAU",
    "DensityMLP",
    "IDACalibrator",
    "calibrated_pair_scores",
    "calibrated_scores",
    "cosine_similarity",
    "log_density_from_support",
    "one_torch_thread",
    "select_anchors",
]

DEFAULT_K = 10
"""Support-set size (the paper's k)."""

DEFAULT_TAU = 40.0
"""Temperature, from the τ × k grid of ``bench/eval_search.py`` on the real faces of ``../shared/faces`` (plus
the same photos shrunk to 14–20 px faces): with known labels TAR at low FAR keeps rising up to τ ≈ 80–160, with
unknown labels it peaks at 20–40; 40 is close to the best of both. Large τ makes ``log d`` ≈ −τ·(similarity of
the nearest other person), so the score tends to "cosine minus the nearer impostor similarity of the two"."""


def _unit(x: ArrayLike) -> NDArray[np.float32]:
    v = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.maximum(n, 1e-12)).astype(np.float32)


def cosine_similarity(a: ArrayLike, b: ArrayLike) -> NDArray[np.float32]:
    """Cosine similarity of every row of ``a`` with every row of ``b`` (n_a × n_b)."""
    return _unit(np.atleast_2d(a)) @ _unit(np.atleast_2d(b)).T


def select_anchors(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    per_person: int = 1,
    centroids: bool = False,
    max_anchors: int = 5000,
    seed: int = 0,
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """An anchor set from the library's labelled faces: ``(anchors, anchor_labels)``.

    Takes ``per_person`` random faces of each person (label ≥ 0), or each person's mean embedding with
    ``centroids``, and at most ``max_anchors`` in all (random people first). Unlabelled faces are not used.
    Deterministic for a given ``seed``.
    """
    x = np.asarray(embeddings, dtype=np.float32)
    y = np.asarray(labels, dtype=np.int64).ravel()
    rng = np.random.default_rng(seed)
    people = np.unique(y[y >= 0])
    rng.shuffle(people)
    out_x: list[NDArray[np.float32]] = []
    out_y: list[int] = []
    for person in people:
        rows = np.flatnonzero(y == person)
        if centroids:
            out_x.append(x[rows].mean(axis=0, keepdims=True))
            out_y.append(int(person))
        else:
            take = rng.choice(rows, min(per_person, rows.size), replace=False)
            out_x.append(x[np.sort(take)])
            out_y.extend([int(person)] * take.size)
        if len(out_y) >= max_anchors:
            break
    if not out_x:
        return np.empty((0, x.shape[1] if x.ndim == 2 else EMBEDDING_DIM), np.float32), np.empty(0, np.int64)
    return np.concatenate(out_x)[:max_anchors], np.asarray(out_y[:max_anchors], np.int64)


@dataclass
class IDACalibrator:
    """Per-face IDA density terms against a fixed anchor set (see the module docstring).

    ``anchor_labels`` are person ids; -1 marks an anchor whose person is unknown. The library keeps one
    calibrator per anchor set and recomputes the cached densities when the anchor set changes.
    """

    anchors: NDArray[np.float32]
    anchor_labels: NDArray[np.int64]
    k: int = DEFAULT_K
    tau: float = DEFAULT_TAU
    same_person_distance: float = SAME_PERSON_DISTANCE

    def __post_init__(self) -> None:
        self.anchors = np.ascontiguousarray(np.asarray(self.anchors, dtype=np.float32))
        self.anchor_labels = np.asarray(self.anchor_labels, dtype=np.int64).ravel()
        if self.anchors.ndim != 2 or self.anchors.shape[0] != self.anchor_labels.size:
            raise ValueError("need one label per anchor embedding")
        if self.k < 1:
            raise ValueError("k must be at least 1")
        self._unit_anchors = _unit(self.anchors)
        self._anchor_sq = np.einsum("ij,ij->i", self.anchors, self.anchors)

    def support_similarities(self, embeddings: ArrayLike, labels: ArrayLike | None = None) -> NDArray[np.float32]:
        """Cosine similarities to each face's support set, (n, k), most similar first.

        ``labels`` are the faces' person ids (-1 or ``None`` = unknown). Where fewer than ``k`` anchors qualify
        the row is padded with -inf (contributing nothing to the sum).
        """
        x = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
        y = np.full(x.shape[0], -1, np.int64) if labels is None else np.asarray(labels, np.int64).ravel()
        if y.size != x.shape[0]:
            raise ValueError("need one label per face")
        n_anchors = self.anchors.shape[0]
        k = min(self.k, n_anchors)
        out = np.full((x.shape[0], self.k), -np.inf, np.float32)
        if k == 0 or x.shape[0] == 0:
            return out
        threshold_sq = self.same_person_distance**2
        unit_x = _unit(x)
        x_sq = np.einsum("ij,ij->i", x, x)
        chunk = max(1, (1 << 24) // n_anchors)
        for s in range(0, x.shape[0], chunk):
            xs, ys = x[s : s + chunk], y[s : s + chunk]
            dots = xs @ self.anchors.T
            cos = (unit_x[s : s + chunk] @ self._unit_anchors.T).astype(np.float32)
            unknown = (ys[:, None] < 0) | (self.anchor_labels[None, :] < 0)
            far = (x_sq[s : s + chunk, None] + self._anchor_sq[None, :] - 2.0 * dots) >= threshold_sq
            other = np.where(unknown, far, ys[:, None] != self.anchor_labels[None, :])
            cos = np.where(other, cos, -np.inf)
            top = np.argpartition(-cos, k - 1, axis=1)[:, :k] if k < n_anchors else np.tile(np.arange(k), (len(xs), 1))
            vals = np.take_along_axis(cos, top, 1)
            out[s : s + chunk, :k] = -np.sort(-vals, axis=1)
        return out

    def log_densities(self, embeddings: ArrayLike, labels: ArrayLike | None = None) -> NDArray[np.float32]:
        """``log d(f)`` for each face: the array the library caches beside the embeddings."""
        return log_density_from_support(self.support_similarities(embeddings, labels), self.tau)


def log_density_from_support(support: ArrayLike, tau: float = DEFAULT_TAU) -> NDArray[np.float32]:
    """``log d = -log Σ_i exp(τ·s_i)`` from support-set similarities (-inf entries are absent anchors).

    A face with no qualifying anchor gets ``log d = 0`` (as if one anchor at cosine 0).
    """
    s = tau * np.asarray(support, dtype=np.float64)
    top = np.max(s, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        lse = top[..., 0] + np.log(np.sum(np.exp(s - top), axis=-1))
    return np.where(np.isfinite(lse), -lse, 0.0).astype(np.float32)


def calibrated_scores(
    query_vec: ArrayLike,
    query_log_density: float,
    cand_vecs: ArrayLike,
    cand_log_density: ArrayLike,
    tau: float = DEFAULT_TAU,
) -> NDArray[np.float64]:
    """``log s*`` of one query against each candidate: ``τ·cos(q, c) + log(d(q) + d(c))``.

    Rank candidates (and threshold matches) by it; it is the log of the IDA score, so higher is more alike.
    """
    cos = cosine_similarity(query_vec, cand_vecs)[0].astype(np.float64)
    ld = np.asarray(cand_log_density, dtype=np.float64).ravel()
    if ld.size != cos.size:
        raise ValueError("need one density per candidate")
    return tau * cos + np.logaddexp(float(query_log_density), ld)


def calibrated_pair_scores(
    a: ArrayLike, a_log_density: ArrayLike, b: ArrayLike, b_log_density: ArrayLike, tau: float = DEFAULT_TAU
) -> NDArray[np.float64]:
    """``log s*`` for every row of ``a`` against every row of ``b`` (n_a × n_b); symmetric by construction."""
    cos = cosine_similarity(a, b).astype(np.float64)
    la = np.asarray(a_log_density, np.float64).ravel()
    lb = np.asarray(b_log_density, np.float64).ravel()
    return tau * cos + np.logaddexp(la[:, None], lb[None, :])


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Train small models on one thread: their steps are too short to share, and on a busy machine two
    spinning threads are ~30× slower than one."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class DensityMLP:
    """IDA-L: a two-layer MLP that predicts ``log d`` from an embedding (no anchor search at query time).

    Inputs are the unit-length embeddings; inputs and targets are standardised with statistics stored in the
    model. Training is deterministic for a given ``seed`` (CPU, its own torch generator).
    """

    def __init__(self, dim: int = 128, hidden: int = 64, seed: int = 0) -> None:
        import torch

        self.dim, self.hidden, self.seed = int(dim), int(hidden), int(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.net = torch.nn.Sequential(
                torch.nn.Linear(self.dim, self.hidden), torch.nn.GELU(), torch.nn.Linear(self.hidden, 1))
        self.register = {"x_mean": np.zeros(self.dim, np.float32), "x_std": np.ones(self.dim, np.float32),
                         "y_mean": np.zeros(1, np.float32), "y_std": np.ones(1, np.float32)}

    def fit(
        self, embeddings: ArrayLike, log_densities: ArrayLike, *, epochs: int = 300, lr: float = 3e-3,
        weight_decay: float = 1e-3, batch_size: int = 1024,
    ) -> DensityMLP:
        """Regress ``log_densities`` (``IDACalibrator.log_densities`` of the library's faces) on embeddings."""
        import torch

        x = _unit(embeddings)
        y = np.asarray(log_densities, np.float32).reshape(-1, 1)
        if x.shape[0] != y.shape[0] or x.shape[1] != self.dim:
            raise ValueError(f"need (n, {self.dim}) embeddings and n densities")
        self.register = {"x_mean": x.mean(0), "x_std": x.std(0) + 1e-6,
                         "y_mean": y.mean(0), "y_std": y.std(0) + 1e-6}
        xt = torch.from_numpy((x - self.register["x_mean"]) / self.register["x_std"])
        yt = torch.from_numpy((y - self.register["y_mean"]) / self.register["y_std"])
        gen = torch.Generator().manual_seed(self.seed)
        optimiser = torch.optim.AdamW(self.net.parameters(), lr=lr, weight_decay=weight_decay)
        self.net.train()
        with one_torch_thread():
            for _ in range(epochs):
                order = torch.randperm(xt.shape[0], generator=gen)
                for s in range(0, xt.shape[0], batch_size):
                    batch = order[s : s + batch_size]
                    optimiser.zero_grad()
                    loss = torch.nn.functional.mse_loss(self.net(xt[batch]), yt[batch])
                    loss.backward()
                    optimiser.step()
        self.net.eval()
        return self

    def predict(self, embeddings: ArrayLike) -> NDArray[np.float32]:
        """Predicted ``log d`` for each embedding."""
        import torch

        x = np.atleast_2d(_unit(embeddings))
        xt = torch.from_numpy(((x - self.register["x_mean"]) / self.register["x_std"]).astype(np.float32))
        with torch.no_grad():
            out = self.net(xt).numpy()
        return (out * self.register["y_std"] + self.register["y_mean"]).ravel().astype(np.float32)

    def to_bytes(self) -> bytes:
        """The model as bytes (a torch state dict plus the standardisation statistics)."""
        import torch

        buffer = io.BytesIO()
        torch.save({"dim": self.dim, "hidden": self.hidden, "seed": self.seed,
                    "state": self.net.state_dict(),
                    "register": {k: torch.from_numpy(np.asarray(v)) for k, v in self.register.items()}}, buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> DensityMLP:
        """A model saved by ``to_bytes``."""
        import torch

        blob = torch.load(io.BytesIO(data), weights_only=True)
        model = cls(int(blob["dim"]), int(blob["hidden"]), int(blob["seed"]))
        model.net.load_state_dict(blob["state"])
        model.net.eval()
        model.register = {k: v.numpy() for k, v in blob["register"].items()}
        return model
