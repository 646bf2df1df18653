"""A small real-photo library for GUI tests and screenshots, and a stand-in analyzer for imports.

``build_sample_library`` fills a library straight through SQLite: real photos from ``../shared/faces``
(referenced in place), one face per photo found with OpenCV's Haar detector, its chip cut with Pillow, and
embeddings drawn per identity (same person ≈ 0.4 apart, different ≈ 0.9, like dlib's). Half the people are
named, some faces are left unsorted, and one group mixes two identities (something to split).

``FakeAnalyzer`` has the interface the import job uses (``analyze_file``, ``embedder.embed``, ``model_id``)
and really decodes each photo, so an import through the GUI costs what decoding costs; it is used when the
real models are not installed.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from faceorganizer.library import Library

FAKE_MODEL = "fake-embedder-v1"
DIM = 128


def _identity_vector(identity: str) -> np.ndarray:
    seed = int(hashlib.sha1(identity.encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(seed)
    return rng.normal(0, 0.053, DIM).astype(np.float32)


def embedding_for(identity: str, salt: str) -> np.ndarray:
    noise_seed = int(hashlib.sha1(salt.encode()).hexdigest()[:8], 16)
    noise = np.random.default_rng(noise_seed).normal(0, 0.025, DIM).astype(np.float32)
    return _identity_vector(identity) + noise


_cascade = None


def detect_largest_face(rgb: Image.Image) -> tuple[float, float, float, float]:
    """(x, y, w, h) of the largest face OpenCV's Haar detector finds (a centred box when it finds none)."""
    import cv2

    global _cascade
    if _cascade is None:
        _cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    scale = min(1.0, 640 / max(rgb.size))
    small = rgb.resize((max(1, int(rgb.width * scale)), max(1, int(rgb.height * scale))))
    grey = cv2.cvtColor(np.asarray(small), cv2.COLOR_RGB2GRAY)
    found = _cascade.detectMultiScale(grey, 1.1, 5, minSize=(24, 24))
    if len(found):
        x, y, w, h = max(found, key=lambda b: b[2] * b[3])
        return x / scale, y / scale, w / scale, h / scale
    side = min(rgb.size) * 0.4
    return (rgb.width - side) / 2, (rgb.height - side) / 3, side, side


def chip_of(rgb: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    x, y, w, h = box
    pad = 0.25 * max(w, h)
    return rgb.crop((int(x - pad), int(y - pad), int(x + w + pad), int(y + h + pad))).resize((150, 150))


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


EXPRESSIONS = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
POSES = ("frontal", "three-quarter", "profile")


def _attributes(identity: str, salt: str, h: float) -> dict:
    rng = random.Random(salt)
    base = random.Random(identity)
    expression = rng.choice(("neutral", "happy", "happy", "surprised", "sad"))
    return {
        "age": max(1.0, base.uniform(18, 70) + rng.uniform(-6, 6)),
        "gender": min(1.0, max(0.0, (0.85 if base.random() < 0.5 else 0.15) + rng.uniform(-0.1, 0.1))),
        "sharpness": rng.uniform(15, 400),
        "brightness": rng.uniform(0.3, 0.8),
        "size": float(h),
        "yaw": rng.uniform(-40, 40), "pitch": rng.uniform(-15, 15), "roll": rng.uniform(-10, 10),
        "pose": rng.choice(("frontal", "frontal", "three-quarter", "profile")),
        "quality": rng.uniform(0.4, 1.0),
        "expression": expression,
        "smile": 0.9 if expression == "happy" else rng.uniform(0, 0.3),
    }


def sample_photos(shared_faces: Path, identities: int = 10, per_identity: int = 4) -> list[tuple[str, Path]]:
    """(identity, photo) pairs: the identities with most photos first, a few photos each."""
    root = shared_faces / "identities"
    folders = sorted((d for d in root.iterdir() if d.is_dir()), key=lambda d: (-len(list(d.glob("*.jpg"))), d.name))
    out = []
    for d in folders[:identities]:
        for p in sorted(d.glob("*.jpg"))[:per_identity]:
            out.append((d.name, p))
    return out


@dataclass
class SampleInfo:
    """What the sample library holds (ids tests refer to)."""

    people: dict[str, int] = field(default_factory=dict)  # identity → person id (named or not)
    faces: dict[str, list[int]] = field(default_factory=dict)  # identity → face ids
    unsorted: list[int] = field(default_factory=list)
    mixed_person: int | None = None
    photos: dict[str, list[int]] = field(default_factory=dict)


def _decode_small(path: Path, side: int = 1024) -> tuple[Image.Image, int, int]:
    """A reduced decode (JPEG DCT scaling) of an upright photo, and the photo's full upright size."""
    with Image.open(path) as im:
        w, h = im.size
        if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):
            w, h = h, w
        im.draft("RGB", (side, side))
        rgb = ImageOps.exif_transpose(im).convert("RGB")
    return rgb, w, h


def build_sample_library(folder: Path, shared_faces: Path, *, identities: int = 10, per_identity: int = 4
                         ) -> SampleInfo:
    """Fill a new library at ``folder`` (see the module docstring); returns the ids created."""
    info = SampleInfo()
    lib = Library.open(folder)
    lib.close()
    db = sqlite3.connect(folder / "library.db")
    db.execute("PRAGMA foreign_keys = ON")
    root = str(shared_faces / "identities")
    db.execute("INSERT INTO roots (path, last_scan) VALUES (?, datetime('now'))", [root])
    root_id = db.execute("SELECT id FROM roots WHERE path = ?", [root]).fetchone()[0]
    pairs = sample_photos(shared_faces, identities, per_identity)
    for n, (identity, path) in enumerate(pairs):
        rgb, full_w, full_h = _decode_small(path)
        small_box = detect_largest_face(rgb)
        k = full_w / rgb.width
        box = tuple(v * k for v in small_box)
        taken = f"20{10 + n % 14:02d}-{1 + n % 12:02d}-{1 + n % 27:02d} 12:00:00"
        stat = path.stat()
        photo_id = db.execute(
            "INSERT INTO photos (root_id, path, content_hash, size, mtime, width, height, taken_at, status, "
            "faces_model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'ok', ?)",
            [root_id, str(path), hashlib.sha1(str(path).encode()).hexdigest(), stat.st_size, stat.st_mtime,
             full_w, full_h, taken, FAKE_MODEL]).lastrowid
        info.photos.setdefault(identity, []).append(photo_id)
        a = _attributes(identity, str(path), box[3])
        vec = embedding_for(identity, str(path))
        face_id = db.execute(
            "INSERT INTO faces (photo_id, x, y, w, h, landmarks, det_score, embedding, embed_model, age, gender, "
            "sharpness, brightness, size, yaw, pitch, roll, pose, quality, attr_model, chip, expression, smile) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [photo_id, *box, json.dumps([0.0] * 10), 0.99, vec.tobytes(), FAKE_MODEL, a["age"], a["gender"],
             a["sharpness"], a["brightness"], a["size"], a["yaw"], a["pitch"], a["roll"], a["pose"], a["quality"],
             "fake", _jpeg(chip_of(rgb, small_box)), a["expression"], a["smile"]]).lastrowid
        info.faces.setdefault(identity, []).append(face_id)

    names = list(info.faces)
    for i, identity in enumerate(names):
        faces = info.faces[identity]
        keep = faces if i % 4 != 3 else faces[:-1]  # every fourth person leaves a face unsorted
        info.unsorted += [f for f in faces if f not in keep]
        name = identity.replace("_", " ").title() if i % 2 == 0 else None
        if i == len(names) - 1 and len(names) > 2:
            # The last identity's faces are grouped with the one before: a mixed group to split.
            pid = info.people[names[i - 1]]
            info.mixed_person = pid
        else:
            pid = db.execute("INSERT INTO people (name) VALUES (?)", [name]).lastrowid
        info.people[identity] = pid
        for f in keep:
            db.execute("INSERT INTO assignments (face_id, person_id, origin, distance) VALUES (?, ?, 'auto', 0.3)",
                       [f, pid])
    db.commit()
    db.close()
    return info


# ------------------------------------------------------------------------------------------- fake analyzer
@dataclass(frozen=True)
class _Quality:
    sharpness: float
    brightness: float
    size: float
    yaw: float
    pitch: float
    roll: float
    pose: str
    quality: float


@dataclass(frozen=True)
class _Face:
    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray
    chip: np.ndarray
    age: float
    gender: float
    quality: _Quality
    expressions: dict | None
    attr_model: str
    identity: str

    @property
    def expression(self) -> str | None:
        return max(self.expressions, key=self.expressions.get) if self.expressions else None

    @property
    def smile(self) -> float | None:
        return self.expressions.get("happy") if self.expressions else None


@dataclass(frozen=True)
class _Photo:
    width: int
    height: int
    taken_at: str | None
    orientation: int | None
    faces: list = field(default_factory=list)


class _FakeEmbedder:
    model_id = FAKE_MODEL

    def __init__(self, owner: FakeAnalyzer) -> None:
        self.owner = owner

    def embed(self, chips: np.ndarray, flip: bool = False) -> np.ndarray:
        out = []
        for chip in chips:
            identity, salt = self.owner.chip_identity.get(hashlib.sha1(chip.tobytes()).hexdigest(), ("?", "?"))
            out.append(embedding_for(identity, salt))
        return np.stack(out)


class FakeAnalyzer:
    """Decodes the photo, finds the largest face with OpenCV; identity = the photo's folder name."""

    model_id = FAKE_MODEL

    def __init__(self) -> None:
        self.chip_identity: dict[str, tuple[str, str]] = {}
        self.embedder = _FakeEmbedder(self)

    def analyze_file(self, path: str | Path) -> _Photo:
        from faceorganizer.errors import ImageError

        path = Path(path)
        try:
            with Image.open(path) as im:
                rgb = ImageOps.exif_transpose(im).convert("RGB")
        except Exception as exc:  # noqa: BLE001 - any undecodable file is a skip reason
            raise ImageError(f"cannot decode image ({exc})") from exc
        box = detect_largest_face(rgb)
        chip = np.asarray(chip_of(rgb, box), np.uint8)
        identity = path.parent.name
        self.chip_identity[hashlib.sha1(chip.tobytes()).hexdigest()] = (identity, str(path))
        a = _attributes(identity, str(path), box[3])
        expressions = {e: (0.8 if e == a["expression"] else 0.2 / 6) for e in EXPRESSIONS}
        q = _Quality(a["sharpness"], a["brightness"], a["size"], a["yaw"], a["pitch"], a["roll"], a["pose"],
                     a["quality"])
        face = _Face(box, 0.99, np.zeros((5, 2), np.float32), chip, a["age"], a["gender"], q, expressions,
                     "fake", identity)
        return _Photo(rgb.width, rgb.height, None, 1, [face])

    def embed(self, faces: list) -> np.ndarray:
        return np.stack([embedding_for(f.identity, "query") for f in faces])
