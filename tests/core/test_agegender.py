"""Age and gender on real photos: the gender of people whose gender is evident, plausible adult ages.

Chips are dlib's own (``get_face_chip`` with padding 0.2, as the models were trained); the pipeline's
alignment is checked against them where it exists.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from faceorganizer.models.agegender import AGE_BINS, AGE_SIZE, CHIP_PADDING, GENDER_SIZE, AgeGender
from tests.core.references import reference_model

dlib = pytest.importorskip("dlib")

# Decided by looking at the photos in ../shared/faces/identities (every identity there is an adult).
FEMALE = {"angelina_jolie", "deepface_p02", "deepface_p03", "deepface_p08", "deepface_p10", "eileen_collins",
          "rose_leslie"}
MALE = {"alex_lacamoire", "biden", "deepface_p04", "deepface_p05", "deepface_p06", "deepface_p07", "deepface_p09",
        "deepface_p11", "deepface_p12", "deepface_p13", "kit_harington", "lin_manuel_miranda", "obama",
        "tom_cruise"}
PHOTOS_PER_PERSON = 2



def _load_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    image = Image.open(path).convert("RGB")
    image.thumbnail((800, 800))
    return np.asarray(image)


@pytest.fixture(scope="module")
def faces(shared_faces, manifest) -> list[tuple[str, np.ndarray, object]]:
    """(identity, image, dlib face rectangle of the largest face) for a few photos of every person."""
    by_person: dict[str, list[str]] = defaultdict(list)
    for entry in manifest:
        if entry["kind"] == "identity":
            by_person[entry["identity"]].append(entry["path"])
    assert set(by_person) == FEMALE | MALE, "identities changed: label the new ones above"
    detector = dlib.get_frontal_face_detector()
    out = []
    for person in sorted(by_person):
        for rel in sorted(by_person[person])[:PHOTOS_PER_PERSON]:
            rgb = _load_rgb(shared_faces / rel)
            found = detector(rgb, 1)
            if found:
                out.append((person, rgb, max(found, key=lambda r: r.area())))
    assert len(out) >= 30
    return out


@pytest.fixture(scope="module")
def estimates(faces) -> tuple[list[str], np.ndarray, np.ndarray]:
    predictor = dlib.shape_predictor(reference_model("shape_predictor_5_face_landmarks.dat"))
    chips64, chips32 = [], []
    for _, rgb, rect in faces:
        shape = predictor(rgb, rect)
        chips64.append(dlib.get_face_chip(rgb, shape, AGE_SIZE, CHIP_PADDING))
        chips32.append(dlib.get_face_chip(rgb, shape, GENDER_SIZE, CHIP_PADDING))
    age, p_male = AgeGender("cpu").predict(np.stack(chips64), np.stack(chips32))
    return [person for person, _, _ in faces], age, p_male


def test_age_bins_are_the_models_81_ages():
    assert AGE_BINS.shape == (81,) and AGE_BINS[0] == 0.25 and AGE_BINS[-1] == 80
    assert np.all(np.diff(AGE_BINS) > 0)


def test_gender_of_evident_people(estimates):
    people, _, p_male = estimates
    assert p_male.dtype == np.float32 and np.all((p_male >= 0) & (p_male <= 1))
    truth = np.array([person in MALE for person in people])
    wrong = [(person, float(p)) for person, p, male in zip(people, p_male, truth) if (p > 0.5) != male]
    assert len(wrong) <= len(people) * 0.05, wrong
    for person in ("angelina_jolie", "biden"):
        mine = p_male[[i for i, who in enumerate(people) if who == person]]
        assert mine.size and np.all((mine > 0.5) == (person in MALE)), (person, mine)


def test_adult_ages_are_plausible(estimates):
    people, age, _ = estimates
    assert age.dtype == np.float32
    assert np.all((age >= 15) & (age <= 80)), dict(zip(people, age.round(1)))
    older = np.mean([a for who, a in zip(people, age) if who in ("biden", "deepface_p13")])
    younger = np.mean([a for who, a in zip(people, age) if who in ("rose_leslie", "deepface_p03")])
    assert older > younger + 10, (older, younger)


def test_predict_checks_its_input():
    model = AgeGender("cpu")
    age, p_male = model.predict(np.zeros((0, 64, 64, 3), np.uint8), np.zeros((0, 32, 32, 3), np.uint8))
    assert age.shape == p_male.shape == (0,)
    with pytest.raises(ValueError, match="64"):
        model.predict(np.zeros((1, 32, 32, 3), np.uint8), np.zeros((1, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="chips"):
        model.predict(np.zeros((2, 64, 64, 3), np.uint8), np.zeros((1, 32, 32, 3), np.uint8))


def test_predict_faces_with_the_pipeline_alignment_agrees_with_dlib_chips(faces, estimates):
    from faceorganizer.pipeline.align import predict_age_gender

    _, age_ref, p_male_ref = estimates
    predictor68 = dlib.shape_predictor(reference_model("shape_predictor_68_face_landmarks.dat"))
    model = AgeGender("cpu")
    ages, p_males = [], []
    for _, rgb, rect in faces:
        pts = np.array([(p.x, p.y) for p in predictor68(rgb, rect).parts()], dtype=np.float64)
        # MTCNN-style 5 points (image-left eye first) from dlib's 68: eye centres, nose tip, mouth corners.
        five = np.array([pts[36:42].mean(0), pts[42:48].mean(0), pts[30], pts[48], pts[54]])
        age, p_male = predict_age_gender(model, rgb, five)
        ages.append(age[0])
        p_males.append(p_male[0])
    agree = np.mean((np.array(p_males) > 0.5) == (p_male_ref > 0.5))
    assert agree >= 0.95, agree
    assert np.median(np.abs(np.array(ages) - age_ref)) < 6
