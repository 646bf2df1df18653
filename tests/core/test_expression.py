"""The expression net (face-api's FaceExpressionNet in PyTorch): same outputs as the original, and smiles found.

The original is face-api itself running in Node (tests/reference/expression_reference.mjs); those tests skip
when node/npm are missing or the npm packages cannot be installed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceorganizer.errors import ModelMissingError
from faceorganizer.models.expression import EXPRESSIONS, INPUT_SIZE, ExpressionNet, face_crop
from faceorganizer.models.registry import BY_KEY, model_path
from tests.reference import faceapi_node

HAPPY = EXPRESSIONS.index("happy")

# Main face boxes (x1, y1, x2, y2) of photos in ../shared/faces where the person clearly smiles (mouth open,
# teeth showing) or clearly does not (closed mouth, relaxed). Boxes from face_recognition.face_locations (dlib
# HOG, one upsample, on a copy downscaled to ≤1024 px), rounded; labels by looking at the photos. Photos
# with a faint closed-mouth smile were left out as ambiguous.
SMILING = (
    ("identities/angelina_jolie/img1.jpg", (440, 376, 1025, 961)),
    ("identities/deepface_p03/img9.jpg", (233, 358, 791, 916)),
    ("identities/deepface_p03/img49.jpg", (1989, 604, 3124, 1738)),
    ("identities/deepface_p03/img50.jpg", (118, 139, 304, 325)),
    ("identities/deepface_p04/img15.jpg", (619, 334, 875, 591)),
    ("identities/deepface_p05/img17.jpg", (365, 142, 588, 365)),
    ("identities/deepface_p07/img21.jpg", (92, 142, 315, 365)),
    ("identities/deepface_p08/img23.jpg", (888, 541, 1514, 1167)),
    ("identities/deepface_p09/img25.jpg", (132, 116, 287, 270)),
    ("identities/deepface_p10/img44.jpg", (167, 133, 322, 288)),
    ("identities/deepface_p13/img38.jpg", (392, 85, 670, 362)),
    ("identities/deepface_p13/img39.jpg", (410, 412, 1052, 1054)),
    ("identities/obama/obama.jpg", (378, 158, 625, 405)),
    ("identities/biden/biden_biden2.jpg", (439, 289, 891, 741)),
    ("identities/alex_lacamoire/alex_lacamoire_img1.jpg", (270, 200, 584, 514)),
    ("identities/alex_lacamoire/test_alex_lacamoire1.jpg", (626, 178, 963, 515)),
    ("identities/tom_cruise/Tom_Cruise_avp_2014_4.jpg", (76, 290, 461, 675)),
    ("identities/eileen_collins/astronaut.jpg", (175, 76, 265, 166)),
)
NEUTRAL = (
    ("identities/deepface_p03/img47.jpg", (250, 432, 1063, 1245)),
    ("identities/deepface_p05/img61.jpg", (98, 134, 419, 455)),
    ("identities/deepface_p05/img62.jpg", (242, 139, 428, 325)),
    ("identities/deepface_p11/img30.jpg", (342, 292, 797, 748)),
    ("identities/deepface_p11/img33.jpg", (580, 580, 1350, 1350)),
    ("identities/deepface_p12/img34.jpg", (639, 128, 1056, 547)),
    ("identities/deepface_p12/img35.jpg", (254, 217, 593, 556)),
    ("identities/deepface_p12/img36.jpg", (656, 294, 929, 567)),
    ("identities/kit_harington/kit_harington_john1.jpg", (681, 108, 807, 233)),
    ("identities/kit_harington/kit_harington_john2.jpg", (283, 98, 469, 284)),
    ("identities/kit_harington/test_johnsnow_test1.jpg", (249, 157, 459, 366)),
)

# Agreement with face-api (max |Δprobability| over the 29 faces), measured: ≤ 4e-7 for identical inputs on
# tfjs's pure-JS cpu backend and ≤ 4e-6 on its wasm backend (float32 summation order); when our crop is
# rounded to uint8 while face-api feeds the float crop: median 1e-8, worst 8.4e-3 (a face near a class tie).
TOL_SAME_INPUT = 1e-4
TOL_UINT8_CROP = 2e-2


@pytest.fixture(scope="module")
def net() -> ExpressionNet:
    try:
        model_path("expression_manifest"), model_path("expression")
    except ModelMissingError as error:
        pytest.skip(str(error))
    return ExpressionNet()


@pytest.fixture(scope="module")
def faceapi_root() -> Path:
    try:
        return faceapi_node.ensure_installed()
    except faceapi_node.ReferenceUnavailable as error:
        pytest.skip(f"face-api reference unavailable: {error}")


def _rgb(shared_faces: Path, relpath: str) -> np.ndarray:
    with Image.open(shared_faces / relpath) as image:
        return np.asarray(image.convert("RGB"))


def _around(image: np.ndarray, box_xyxy) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A region of ``image`` holding ``box_xyxy`` plus a margin, and the box as (x, y, w, h) in that region.

    Keeps the data handed to Node small; the crop is unchanged because the offset is whole pixels and the
    region keeps the image's own borders wherever the box reaches past them.
    """
    x1, y1, x2, y2 = box_xyxy
    ox, oy = max(int(np.floor(x1)) - 8, 0), max(int(np.floor(y1)) - 8, 0)
    region = image[oy : int(np.ceil(y2)) + 8, ox : int(np.ceil(x2)) + 8]
    return region, (x1 - ox, y1 - oy, x2 - x1, y2 - y1)


# --- unit checks without the reference ---------------------------------------------------------------------


def test_face_crop_geometry() -> None:
    image = np.arange(40 * 60 * 3, dtype=np.uint32).reshape(40, 60, 3).astype(np.uint8)
    crop = face_crop(image, (10.7, 5.2, 10.7 + 40, 5.2 + 20))  # wide: pads rows
    assert crop.shape == (INPUT_SIZE, INPUT_SIZE, 3) and crop.dtype == np.uint8
    exact = face_crop(image, (0, 0, 112, 112), exact=True)  # clipped to 60×40, padded, resized
    assert exact.dtype == np.float32 and exact.shape == (INPUT_SIZE, INPUT_SIZE, 3)
    same = face_crop(np.zeros((200, 200, 3), np.uint8) + 7, (50, 50, 162, 162))  # 112×112 box: no resize
    assert (same == 7).all()
    with pytest.raises(ValueError):
        face_crop(image, (70, 0, 90, 20))


def test_predict_shape_and_probabilities(net: ExpressionNet) -> None:
    crops = np.random.default_rng(0).integers(0, 256, (3, INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    probs = net.predict(crops)
    assert probs.shape == (3, len(EXPRESSIONS)) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert net.predict(np.zeros((0, INPUT_SIZE, INPUT_SIZE, 3), np.uint8)).shape == (0, 7)
    with pytest.raises(ValueError):
        net.predict(crops[:, :100])


def test_smiles_are_happy_and_neutral_faces_are_not(net: ExpressionNet, shared_faces: Path) -> None:
    def happy(cases) -> dict[str, float]:
        crops = np.stack([face_crop(_rgb(shared_faces, path), box) for path, box in cases])
        return {path: float(p) for (path, _), p in zip(cases, net.predict(crops)[:, HAPPY], strict=True)}

    smiling, neutral = happy(SMILING), happy(NEUTRAL)
    assert {path: p for path, p in smiling.items() if p <= 0.5} == {}
    assert {path: p for path, p in neutral.items() if p >= 0.5} == {}


# --- against the original (face-api in Node) -----------------------------------------------------------------


def test_reference_uses_the_same_weights(faceapi_root: Path) -> None:
    model_dir = faceapi_node.package_model_dir(faceapi_root)
    for key in ("expression_manifest", "expression"):
        data = (model_dir / BY_KEY[key].filename).read_bytes()
        assert hashlib.sha256(data).hexdigest() == BY_KEY[key].sha256


def test_network_matches_faceapi_on_the_same_crops(
    net: ExpressionNet, faceapi_root: Path, shared_faces: Path, tmp_path: Path
) -> None:
    """Identical 112×112 uint8 crops into both: isolates the network (weights, layers, normalisation)."""
    crops = [face_crop(_rgb(shared_faces, path), box) for path, box in SMILING + NEUTRAL]
    crops.append(np.random.default_rng(1).integers(0, 256, (INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8))
    # tfjs's pure-JS reference kernels (~0.2 s a face); the pipeline test below uses the faster wasm backend.
    reference = faceapi_node.run_reference(crops, [None] * len(crops), tmp_path, backend="cpu")
    assert (reference["faceapi"], reference["backend"]) == (faceapi_node.FACE_API_VERSION, "cpu")
    assert tuple(reference["labels"]) == EXPRESSIONS
    expected = np.array([faces[0] for faces in reference["results"]], dtype=np.float64)
    ours = net.predict(np.stack(crops))
    assert np.abs(ours - expected).max() <= TOL_SAME_INPUT


def test_crop_and_network_match_faceapi_pipeline(
    net: ExpressionNet, faceapi_root: Path, shared_faces: Path, tmp_path: Path
) -> None:
    """Whole photo + face box into face-api's extractFaceTensors → predictExpressions, vs face_crop → predict."""
    images, boxes, crops_exact, crops_uint8 = [], [], [], []
    for path, box in SMILING + NEUTRAL:
        region, xywh = _around(_rgb(shared_faces, path), box)
        x, y, w, h = xywh
        images.append(region)
        boxes.append([xywh])
        crops_exact.append(face_crop(region, (x, y, x + w, y + h), exact=True))
        crops_uint8.append(face_crop(region, (x, y, x + w, y + h)))
    # Edge cases on a synthetic image: fractional boxes, boxes past every border, tall and wide boxes.
    rng = np.random.default_rng(2)
    synthetic = rng.integers(0, 256, (150, 210, 3), dtype=np.uint8)
    synthetic_boxes = [(10.4, 20.6, 90.2, 140.9), (-15.5, -8.25, 60, 70), (150.5, 90.3, 260, 190),
                       (30, 40, 200.7, 90.1), (0, 0, 210, 150), (100, 50, 212, 162)]
    images.append(synthetic)
    boxes.append([(x1, y1, x2 - x1, y2 - y1) for x1, y1, x2, y2 in synthetic_boxes])
    for box in synthetic_boxes:
        crops_exact.append(face_crop(synthetic, box, exact=True))
        crops_uint8.append(face_crop(synthetic, box))

    reference = faceapi_node.run_reference(images, boxes, tmp_path, backend="wasm")
    assert reference["backend"] == "wasm"
    expected = np.array([probs for faces in reference["results"] for probs in faces], dtype=np.float64)
    assert np.abs(net.predict(np.stack(crops_exact)) - expected).max() <= TOL_SAME_INPUT
    assert np.abs(net.predict(np.stack(crops_uint8)) - expected).max() <= TOL_UINT8_CROP
