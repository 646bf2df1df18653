"""Run face-api's own FaceExpressionNet (TensorFlow.js in Node) through ``expression_reference.mjs``.

The npm packages are installed once per version into a cache dir (default
``$TMPDIR/faceorganizer-reference/<versions>``; ``FACEORGANIZER_FACEAPI_NODE_DIR`` points at another or an
existing install). They come from the npm registry with npm's own client: ``@vladmandic/face-api`` plus the
pure-JS/WASM TensorFlow.js that its ``dist/face-api.node-wasm.js`` build requires (no native download, no
install scripts). About 330 MB, ~10 s to install; ~1 s per reference run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

FACE_API_VERSION = "1.7.15"
TFJS_VERSION = "4.22.0"  # what face-api 1.7.15 was built against (dist/tfjs.version.js)
PACKAGES = (
    f"@vladmandic/face-api@{FACE_API_VERSION}",
    f"@tensorflow/tfjs@{TFJS_VERSION}",
    f"@tensorflow/tfjs-backend-wasm@{TFJS_VERSION}",
)
SCRIPT = Path(__file__).with_name("expression_reference.mjs")


class ReferenceUnavailable(RuntimeError):
    """Node/npm are missing or the packages cannot be installed (the message says which)."""


def install_dir() -> Path:
    """Where the packages are (or will be) installed; a directory holding ``node_modules``."""
    override = os.environ.get("FACEORGANIZER_FACEAPI_NODE_DIR")
    if override:
        return Path(override)
    key = f"face-api-{FACE_API_VERSION}_tfjs-{TFJS_VERSION}"
    return Path(tempfile.gettempdir()) / "faceorganizer-reference" / key


def _installed(root: Path) -> bool:
    return all((root / "node_modules" / spec.rsplit("@", 1)[0] / "package.json").is_file() for spec in PACKAGES)


def ensure_installed(timeout_s: float = 600) -> Path:
    """Install the pinned packages unless present; returns the install dir."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise ReferenceUnavailable("node and npm are needed to run face-api's original implementation")
    root = install_dir()
    if _installed(root):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    # Install beside the target and rename, so that concurrent test runs never see a half-installed tree.
    staging = Path(tempfile.mkdtemp(prefix=root.name + ".", dir=root.parent))
    try:
        (staging / "package.json").write_text('{"name": "faceorganizer-reference", "private": true}\n')
        cmd = [npm, "install", "--prefix", str(staging), "--no-audit", "--no-fund", "--ignore-scripts",
               "--no-package-lock", "--fetch-retries=1", "--fetch-retry-maxtimeout=10000", *PACKAGES]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        if result.returncode != 0 or not _installed(staging):
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise ReferenceUnavailable(f"npm install {' '.join(PACKAGES)} failed: {' | '.join(tail)}")
        try:
            staging.rename(root)
        except OSError:
            if not _installed(root):  # another run won the race; otherwise a real error
                raise
    except subprocess.TimeoutExpired as error:
        raise ReferenceUnavailable(f"npm install timed out after {timeout_s} s") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


def package_model_dir(root: Path) -> Path:
    """face-api's own ``model/`` folder inside the install."""
    return root / "node_modules" / "@vladmandic" / "face-api" / "model"


def run_reference(
    images: list[np.ndarray],
    boxes: list[list[tuple[float, float, float, float]] | None],
    workdir: Path,
    backend: str = "cpu",
) -> dict:
    """face-api's probabilities: per image, one 7-vector per box (``x, y, width, height``), or one for the
    whole image when its boxes are ``None``. Returns the script's JSON (``results``, ``faceapi``, ``tfjs``…)."""
    root = ensure_installed()
    items = []
    for i, (image, image_boxes) in enumerate(zip(images, boxes, strict=True)):
        image = np.ascontiguousarray(image, dtype=np.uint8)
        path = workdir / f"image{i}.rgb"
        image.tofile(path)
        items.append({"file": str(path), "height": image.shape[0], "width": image.shape[1],
                      "boxes": None if image_boxes is None else [list(map(float, b)) for b in image_boxes]})
    spec = workdir / "spec.json"
    spec.write_text(json.dumps({"backend": backend, "items": items}))
    result = subprocess.run(["node", str(SCRIPT), str(root), str(spec)], capture_output=True, text=True,
                            timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"expression_reference.mjs failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout)
