"""Synthetic face embeddings with the geometry of real dlib descriptors, for scale benchmarks and tests.

Real quality is measured on real photos; these stand in where thousands of people are needed. The scales
were fitted to the main faces of ``../shared/faces/identities`` (78 faces, 21 people, dlib ResNet v1):

=======================================  =============  ==============
measure                                  real           synthetic
=======================================  =============  ==============
norm of a face                           1.50           1.50
norm of the mean face                    1.37           1.37
distance, same person: mean (5–95 %)     0.40 (.29–.52) 0.38 (.28–.50)
distance, different people: mean ± sd    0.88 ± 0.09    0.88 ± 0.12
distance, different people: 1st pct      0.67           0.66
=======================================  =============  ==============

(synthetic: 2000 faces of 300 people, mean of six seeds). The spread of different-people distances is a
little wider than on the 21 real people so that the lower tail, the look-alikes clustering must keep apart,
reaches as low (1st percentile).

A face is ``mean_face + centre[person] + scale[person] · noise``. Centres and noise are Gaussian with
power-law spectra in two different random bases (identity and nuisance directions such as pose and light
differ), so distances spread like real ones instead of concentrating as isotropic noise would. People have
long-tailed sizes (a Zipf law: a few people in most photos, many seen once or twice) and a spread of their
own; ``stranger_fraction`` of the faces are strangers seen exactly once (each its own label).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["synthetic_embeddings", "synthetic_person", "synthetic_photos"]

_MEAN_FACE_NORM = 1.37
_CENTRE_TRACE = 0.311  # E|centre|²: half the mean squared distance between people, less the noise part
_NOISE_TRACE = 0.078  # E|noise|²: half the mean squared distance within a person
_CENTRE_POWER = 1.0
_NOISE_POWER = 0.9
_PERSON_SCALE_SIGMA = 0.15  # log-normal spread of each person's own variability


def _spectrum(dim: int, power: float, trace: float) -> NDArray[np.float64]:
    v = np.arange(1, dim + 1, dtype=np.float64) ** -power
    return v * (trace / v.sum())


def _basis(rng: np.random.Generator, dim: int) -> NDArray[np.float64]:
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


class _Model:
    """The shared directions of one synthetic population (one seed)."""

    def __init__(self, dim: int, rng: np.random.Generator) -> None:
        self.dim = dim
        direction = rng.standard_normal(dim)
        self.mean_face = direction * (_MEAN_FACE_NORM / np.linalg.norm(direction))
        self.centre_basis = _basis(rng, dim) * np.sqrt(_spectrum(dim, _CENTRE_POWER, _CENTRE_TRACE))
        self.noise_basis = _basis(rng, dim) * np.sqrt(_spectrum(dim, _NOISE_POWER, _NOISE_TRACE))

    def centres(self, rng: np.random.Generator, n: int) -> NDArray[np.float64]:
        return rng.standard_normal((n, self.dim)) @ self.centre_basis.T

    def noise(self, rng: np.random.Generator, n: int) -> NDArray[np.float64]:
        return rng.standard_normal((n, self.dim)) @ self.noise_basis.T


def _sizes(rng: np.random.Generator, n_faces: int, n_people: int, zipf: float) -> NDArray[np.int64]:
    """Faces per person: at least one each, the rest drawn from a Zipf law over people."""
    if n_people > n_faces:
        raise ValueError(f"{n_people} people need at least as many faces, got {n_faces}")
    weights = np.arange(1, n_people + 1, dtype=np.float64) ** -zipf
    sizes = 1 + rng.multinomial(n_faces - n_people, weights / weights.sum())
    return rng.permutation(sizes).astype(np.int64)


def synthetic_embeddings(
    n_faces: int,
    n_people: int,
    dim: int = 128,
    seed: int = 0,
    *,
    stranger_fraction: float = 0.05,
    zipf: float = 1.0,
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """``n_faces`` embeddings of ``n_people`` people plus strangers, and their person labels.

    Labels ``0..n_people-1`` are the people (every one has at least one face); each of the
    ``round(stranger_fraction · n_faces)`` strangers has its own label from ``n_people`` up. Rows are
    shuffled. Deterministic for a given seed.
    """
    if n_faces < 0 or n_people < 0:
        raise ValueError("n_faces and n_people must be non-negative")
    rng = np.random.default_rng(seed)
    model = _Model(dim, rng)
    n_strangers = int(round(stranger_fraction * n_faces))
    n_strangers = min(n_strangers, n_faces - n_people)
    sizes = _sizes(rng, n_faces - n_strangers, n_people, zipf) if n_people else np.zeros(0, np.int64)
    labels = np.concatenate([np.repeat(np.arange(n_people), sizes), n_people + np.arange(n_strangers)])
    n_identities = n_people + n_strangers
    centres = model.centres(rng, n_identities)
    scales = np.exp(rng.normal(0.0, _PERSON_SCALE_SIGMA, n_identities))
    scales /= np.exp(_PERSON_SCALE_SIGMA**2 / 2)  # keeps the mean squared spread at _NOISE_TRACE
    x = model.mean_face + centres[labels] + scales[labels, None] * model.noise(rng, labels.size)
    order = rng.permutation(labels.size)
    return x[order].astype(np.float32), labels[order].astype(np.int64)


def synthetic_person(
    n_faces: int, dim: int = 128, seed: int = 0, *, n_people: int = 1
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """``n_faces`` faces split evenly (in order) among ``n_people`` people of one population.

    For planting cases: a two-person mix to split, a person with intruders, a known person to extend.
    """
    rng = np.random.default_rng(seed)
    model = _Model(dim, rng)
    labels = np.arange(n_faces) * n_people // max(n_faces, 1)
    centres = model.centres(rng, n_people)
    x = model.mean_face + centres[labels] + model.noise(rng, n_faces)
    return x.astype(np.float32), labels.astype(np.int64)


def synthetic_photos(labels: NDArray[np.int64], seed: int = 0, *, mean_faces: float = 2.0) -> NDArray[np.int64]:
    """A photo id for each face: photos of 1–12 faces (geometric sizes, mean about ``mean_faces``), never
    two faces of one person in one photo. For the same-photo constraint of the people clustering.
    """
    rng = np.random.default_rng(seed)
    photo = np.empty(labels.size, np.int64)
    order = rng.permutation(labels.size)
    sizes = np.minimum(rng.geometric(1.0 / mean_faces, labels.size), 12)
    current, people, room, p = -1, set(), 0, 0
    for face in order.tolist():
        person = int(labels[face])
        if room == 0 or person in people:
            current, people, room = current + 1, set(), int(sizes[p])
            p += 1
        photo[face] = current
        people.add(person)
        room -= 1
    return photo
