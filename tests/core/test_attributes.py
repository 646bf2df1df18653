"""Taught attributes (tag, undo, the code look-up table + k-NN prediction), attribute clustering, summaries
and their CLI commands: on library files built from synthetic rows, then on a library imported from the real
photos in ../shared/faces."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devkit.synthetic import synthetic_embeddings
from faceorganizer.attributes import NotEnoughFacesError, grouping, summary, taught
from faceorganizer.attributes.brackets import EXPRESSIONS
from faceorganizer.attributes.filters import compile_filter
from faceorganizer.errors import InvalidEditError, NotFoundError
from faceorganizer.library import Library
from faceorganizer.search.codes import PCACodec, code_distance
from faceorganizer.store import queries, transaction
from tests.conftest import MODELS_DIR


# ------------------------------------------------------------------------------------------------ helpers
def add_face(db, photo_id: int, **values) -> int:
    chip_bytes = values.pop("chip", None)
    row = {"photo_id": photo_id, "x": 0, "y": 0, "w": 100, "h": 100, "landmarks": "[]", "det_score": 0.9,
           **values}
    cols = ", ".join(row)
    face_id = db.execute(f"INSERT INTO faces ({cols}) VALUES ({', '.join('?' for _ in row)})",
                         list(row.values())).lastrowid
    if chip_bytes is not None:
        db.execute("INSERT INTO face_chips (face_id, chip) VALUES (?, ?)", [face_id, chip_bytes])
    return face_id


def add_photo(db, path: str, taken_at: str | None = None) -> int:
    return db.execute("INSERT INTO photos (path, status, taken_at) VALUES (?, 'ok', ?)", [path, taken_at]).lastrowid


def probability(db, face_id: int, name: str) -> float | None:
    rows = list(db.query("SELECT value, confidence FROM user_attributes WHERE face_id = ? AND name = ?",
                         [face_id, name]))
    if not rows:
        return None
    return rows[0]["confidence"] if rows[0]["value"] else 1 - rows[0]["confidence"]


def balanced_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    return 0.5 * ((predicted[truth]).mean() + (~predicted[~truth]).mean())


@pytest.fixture()
def people_lib(tmp_path):
    """600 synthetic faces of 40 people (+ strangers) with 32-bit codes; 'hat' is a trait of 30 % of people."""
    x, labels = synthetic_embeddings(600, 40, seed=3)
    codec = PCACodec.fit(x, rotate=True, seed=0)
    codes = codec.encode(x)
    rng = np.random.default_rng(1)
    hat_people = set(rng.choice(np.unique(labels), int(0.3 * np.unique(labels).size), replace=False).tolist())
    lib = Library.open(tmp_path / "lib")
    with transaction(lib.db):
        ids = []
        for i in range(x.shape[0]):
            pid = add_photo(lib.db, f"/p/{i}.jpg")
            ids.append(add_face(lib.db, pid, embedding=x[i].tobytes(), code=int(codes[i]), code_model="pca-test",
                                age=30.0, gender=0.5))
    lib.truth = {fid: labels[i] in hat_people for i, fid in enumerate(ids)}  # type: ignore[attr-defined]
    lib.labels = dict(zip(ids, labels.tolist()))  # type: ignore[attr-defined]
    yield lib
    lib.close()


def teach_half(lib, name: str, truth: dict[int, bool], seed: int = 0) -> tuple[list[int], list[int]]:
    ids = sorted(truth)
    rng = np.random.default_rng(seed)
    rng.shuffle(ids)
    taught_ids, held = ids[: len(ids) // 2], ids[len(ids) // 2:]
    taught.tag(lib.db, [f for f in taught_ids if truth[f]], name, True)
    taught.tag(lib.db, [f for f in taught_ids if not truth[f]], name, False)
    return taught_ids, held


# ------------------------------------------------------------------------------------------------ taught
def test_tag_is_journaled_and_undo_restores_the_prediction(people_lib):
    db = people_lib.db
    ids = sorted(people_lib.truth)[:3]
    db.execute("INSERT INTO user_attributes (face_id, name, value, origin, confidence) "
               "VALUES (?, 'hat', 0, 'predicted', 0.7)", [ids[0]])
    assert taught.tag(db, ids, " Hat ", True) == 3
    rows = list(db.query("SELECT face_id, value, origin, confidence FROM user_attributes WHERE name = 'hat' "
                         "ORDER BY face_id"))
    assert [(r["face_id"], r["value"], r["origin"], r["confidence"]) for r in rows] == \
        [(f, 1, "user", 1.0) for f in ids]
    assert people_lib.history()[0].summary == "tag 3 faces hat"
    people_lib.undo()
    rows = list(db.query("SELECT face_id, value, origin, confidence FROM user_attributes WHERE name = 'hat'"))
    assert [(r["face_id"], r["value"], r["origin"], r["confidence"]) for r in rows] == \
        [(ids[0], 0, "predicted", 0.7)]
    people_lib.redo()
    assert db.execute("SELECT count(*) FROM user_attributes WHERE origin = 'user'").fetchone()[0] == 3
    assert taught.untag(db, ids[:2], "hat") == 2
    people_lib.undo()
    assert db.execute("SELECT count(*) FROM user_attributes WHERE origin = 'user'").fetchone()[0] == 3


def test_tag_rejects_bad_input(people_lib):
    with pytest.raises(NotFoundError):
        taught.tag(people_lib.db, [999_999], "hat")
    with pytest.raises(InvalidEditError):
        taught.tag(people_lib.db, [1], "   ")
    with pytest.raises(InvalidEditError):
        taught.tag(people_lib.db, [], "hat")


def test_predict_needs_a_yes_and_a_no(people_lib):
    ids = sorted(people_lib.truth)
    with pytest.raises(NotEnoughFacesError):
        taught.predict(people_lib.db, "hat")
    taught.tag(people_lib.db, ids[:5], "hat", True)
    with pytest.raises(NotEnoughFacesError, match="5 yes, 0 no"):
        taught.predict(people_lib.db, "hat")


def test_prediction_on_held_out_faces_beats_chance_and_keeps_user_rows(people_lib):
    db, truth = people_lib.db, people_lib.truth
    taught_ids, held = teach_half(people_lib, "hat", truth)
    before_user = list(db.query("SELECT * FROM user_attributes WHERE origin = 'user' ORDER BY face_id"))
    n = taught.predict(db, "hat")
    assert n == len(held)
    assert list(db.query("SELECT * FROM user_attributes WHERE origin = 'user' ORDER BY face_id")) == before_user
    assert {r["face_id"] for r in db.query("SELECT face_id FROM user_attributes WHERE origin = 'predicted'")} \
        == set(held)
    pred = np.array([probability(db, f, "hat") >= 0.5 for f in held])
    acc = balanced_accuracy(np.array([truth[f] for f in held]), pred)
    assert acc >= 0.9, acc  # chance is 0.5
    # the filter language reads the predictions
    clause, params = compile_filter("tag:hat and not tag:hat>=0.99")
    got = {r.id for r in queries.faces(db, clause, params)}
    want = {f for f in truth if (p := probability(db, f, "hat")) is not None and 0.5 <= p < 0.99}
    assert got == want
    # predicting again replaces, never duplicates
    assert taught.predict(db, "hat") == n
    assert db.execute("SELECT count(*) FROM user_attributes WHERE name = 'hat'").fetchone()[0] == len(truth)


def test_corrections_feed_back(people_lib):
    db, truth, labels = people_lib.db, people_lib.truth, people_lib.labels
    ids = sorted(truth)
    # teach only one face per person: one person's other faces are then decided by a single example
    first = {}
    for f in ids:
        first.setdefault(labels[f], f)
    for f in first.values():
        taught.tag(db, [f], "hat", truth[f])
    taught.predict(db, "hat")
    # pick a person with several faces; tell the model the opposite on one more of their faces
    by_person: dict[int, list[int]] = {}
    for f in ids:
        by_person.setdefault(labels[f], []).append(f)
    person = max(by_person, key=lambda p: len(by_person[p]))
    others = [f for f in by_person[person] if f != first[person]]
    before = np.mean([probability(db, f, "hat") for f in others[1:]])
    taught.tag(db, [others[0]], "hat", not truth[others[0]])
    taught.predict(db, "hat")
    after = np.mean([probability(db, f, "hat") for f in others[1:]])
    assert (after - before) * (1 if not truth[others[0]] else -1) > 0.1, (before, after)


def test_codes_missing_falls_back_to_the_vote(people_lib):
    db, truth = people_lib.db, people_lib.truth
    db.execute("UPDATE faces SET code = NULL, code_model = NULL")
    _, held = teach_half(people_lib, "hat", truth)
    taught.predict(db, "hat")
    acc = balanced_accuracy(np.array([truth[f] for f in held]),
                            np.array([probability(db, f, "hat") >= 0.5 for f in held]))
    assert acc >= 0.85, acc


def test_neighbour_bins_are_exactly_code_distance_one():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 2 ** 32, 200, dtype=np.uint64).astype(np.uint32)
    codes[0] = 0  # every level at the bottom edge
    codes[1] = 0xFFFFFFFF  # every level at the top edge
    nb = taught._neighbour_codes(codes)
    for c, row in zip(codes, nb):
        real = row[row != c]
        assert np.all(code_distance(c, real) == 1)
        assert len(set(real.tolist())) == len(real)
    assert (nb[0] != codes[0]).sum() == 8 and (nb[1] != codes[1]).sum() == 8


def test_lookup_table_weights_same_bin_then_neighbours():
    base = np.uint32(0x88888888)
    one_step = np.uint32(0x88888889)  # level 0 one up: distance 1
    two_steps = np.uint32(0x8888888A)  # distance 2: not read
    train = np.array([base, base, one_step, two_steps], np.uint32)
    y = np.array([True, True, False, False])
    yes, no = taught._lut_counts(train, y, np.array([base, one_step, two_steps], np.uint32))
    # base: its two yes + one_step's no at half weight; one_step: its own no + base's two yes and two_steps'
    # no at half weight; two_steps: its own no + one_step's at half (base is two steps away: not read)
    assert yes.tolist() == [2.0, 1.0, 0.0]
    assert no.tolist() == [0.5, 1.5, 1.5]


def test_code_table_decides_when_embeddings_are_uninformative():
    """A face far from every taught face (the vote is ~0) takes the answer of the taught faces in its bin."""
    rng = np.random.default_rng(0)
    train = rng.standard_normal((20, 128)).astype(np.float32)
    y = np.array([True] * 10 + [False] * 10)
    codes = np.array([7] * 10 + [9] * 10, np.uint32) << np.uint32(8)
    query = (10 * rng.standard_normal((2, 128))).astype(np.float32)
    qcodes = np.array([7 << 8, 9 << 8], np.uint32)
    with_codes = taught.attribute_probability(train, y, query, train_codes=codes, query_codes=qcodes)
    without = taught.attribute_probability(train, y, query)
    assert with_codes[0] > 0.9 and with_codes[1] < 0.1
    assert np.allclose(without, 0.5, atol=0.01)


# ------------------------------------------------------------------------------------------------ clustering
BLOBS = [  # (age, smile, yaw, happy) centres of three kinds of faces
    (6.0, 0.8, 0.0, 0.8),
    (40.0, 0.05, 45.0, 0.05),
    (75.0, 0.3, -40.0, 0.3),
]


@pytest.fixture()
def blob_lib(tmp_path):
    rng = np.random.default_rng(2)
    lib = Library.open(tmp_path / "blobs")
    truth = {}
    with transaction(lib.db):
        pid = add_photo(lib.db, "/p/a.jpg")
        for g, (age, smile, yaw, happy) in enumerate(BLOBS):
            for _ in range(60):
                expr = {e: 0.0 for e in EXPRESSIONS}
                expr["happy"] = float(np.clip(happy + rng.normal(0, 0.05), 0, 1))
                expr["neutral"] = 1 - expr["happy"]
                fid = add_face(lib.db, pid, age=age + rng.normal(0, 4),
                               smile=float(np.clip(smile + rng.normal(0, .05), 0, 1)),
                               yaw=yaw + rng.normal(0, 6), gender=float(rng.random()), expressions=json.dumps(expr))
                truth[fid] = g
        for _ in range(5):  # faces without an age are left out, and counted
            add_face(lib.db, pid, smile=0.5, yaw=0.0)
    lib.truth = truth  # type: ignore[attr-defined]
    yield lib
    lib.close()


def test_clustering_finds_planted_groups_with_every_method(blob_lib):
    from sklearn.metrics import adjusted_rand_score

    result = grouping.cluster_attributes(blob_lib.db, 3, ["age", "smile", "yaw", "happy"])
    assert result.skipped == 5 and result.face_ids.size == 180
    truth = np.array([blob_lib.truth[f] for f in result.face_ids.tolist()])
    assert set(result.silhouettes) == {"kmeans", "agglomerative", "dbscan"}
    for method, labels in result.labels.items():
        assert adjusted_rand_score(truth, labels) > 0.95, method
        assert result.silhouettes[method] is not None and result.silhouettes[method] > 0.6, method
    means = sorted(g.means["age"] for g in result.results["kmeans"].groups)
    assert np.allclose(means, [6, 40, 75], atol=3)
    assert result.results["dbscan"].params["eps"] > 0
    data = result.to_json(with_labels=True)
    assert data["methods"]["kmeans"]["groups"][0]["size"] == 60 and len(data["face_ids"]) == 180


def test_weights_and_subsets_change_what_groups_mean(blob_lib):
    from sklearn.metrics import adjusted_rand_score

    ids, raw, _ = grouping.attribute_matrix(blob_lib.db, ["age", "gender"])
    truth = np.array([blob_lib.truth[f] for f in ids.tolist()])
    # gender is random here: with all the weight on it the planted groups disappear
    on_age, _ = grouping.cluster_matrix(raw, 3, ["age", "gender"], weights=[1, 0], methods=["kmeans"])
    on_gender, _ = grouping.cluster_matrix(raw, 3, ["age", "gender"], weights=[0, 1], methods=["kmeans"])
    assert adjusted_rand_score(truth, on_age["kmeans"].labels) > 0.95
    assert adjusted_rand_score(truth, on_gender["kmeans"].labels) < 0.2
    assert on_age["kmeans"].silhouette > on_gender["kmeans"].silhouette


def test_clustering_rejects_bad_options(blob_lib):
    with pytest.raises(ValueError, match="unknown attribute"):
        grouping.cluster_attributes(blob_lib.db, 3, ["age", "hair"])
    with pytest.raises(ValueError, match="one non-negative weight"):
        grouping.cluster_attributes(blob_lib.db, 3, ["age", "smile"], weights=[1])
    with pytest.raises(NotEnoughFacesError):
        grouping.cluster_attributes(blob_lib.db, 3, ["age"], face_ids=[1, 2])


def test_knee_eps_sits_between_within_and_between_group_distances():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (100, 2)), rng.normal(5, 0.1, (100, 2))])
    eps = grouping.knee_eps(x, 4)
    assert 0.02 < eps < 1.0


# ------------------------------------------------------------------------------------------------ summaries
def chip(pattern_a: float, pattern_b: float) -> bytes:
    """A 150×150 JPEG: a mid-grey face plus a left-right ramp (×a) and a top-bottom ramp (×b)."""
    yy, xx = np.mgrid[0:150, 0:150] / 149.0
    img = 128 + 40 * pattern_a * (xx - 0.5) * 2 + 15 * pattern_b * (yy - 0.5) * 2
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "L").convert("RGB").save(buf, "JPEG", quality=95)
    return buf.getvalue()


@pytest.fixture()
def person_lib(tmp_path):
    """One person's 12 faces in 10 photos over 2012–2021 (ages rising), two undated; known attribute counts."""
    rng = np.random.default_rng(4)
    lib = Library.open(tmp_path / "person")
    ids = []
    with transaction(lib.db):
        for i in range(10):
            taken = f"{2012 + i}-06-01 12:00:00" if i < 8 else None
            pid = add_photo(lib.db, f"/p/{i}.jpg", taken)
            n_faces = 2 if i in (3, 9) else 1
            for j in range(n_faces):
                expr = "happy" if i % 2 == 0 else "neutral"
                ids.append(add_face(
                    lib.db, pid, age=20.0 + i + j * 2, gender=0.9 if i < 9 else 0.2, smile=0.9 if i % 2 == 0 else 0.1,
                    expression=expr, pose=["frontal", "three-quarter", "profile"][i % 3],
                    chip=chip(rng.normal(0, 1), rng.normal(0, 1))))
        lib.db.execute("INSERT INTO user_attributes (face_id, name, value, origin, confidence) "
                       "VALUES (?, 'hat', 1, 'user', 1.0), (?, 'hat', 0, 'predicted', 0.8)", ids[:2])
    lib.ids = ids  # type: ignore[attr-defined]
    yield lib
    lib.close()


def test_summary_numbers(person_lib):
    s = summary.summary_data(person_lib.db, person_lib.ids + [999_999])
    assert (s.face_count, s.photo_count, s.undated_photos) == (12, 10, 2)
    assert (s.first_date, s.last_date) == ("2012-06-01", "2019-06-01")
    assert [d for d, _ in s.age_over_time] == [f"{2012 + i}-06-01" for i in range(8)]
    assert dict(s.age_over_time)["2015-06-01"] == pytest.approx(24.0)  # two faces in that photo: mean age
    assert s.age_trend_per_year == pytest.approx(1.0, abs=0.15)
    bars = {sec.title: {b.label: (b.count, b.total) for b in sec.bars} for sec in s.sections}
    assert bars["Smiling"]["smiling"] == (5, 12)  # one face in each even photo
    assert bars["Pose"] == {"frontal": (6, 12), "three-quarter": (3, 12), "profile": (3, 12)}
    assert bars["Gender"] == {"male": (10, 12), "female": (2, 12)}
    assert bars["Age"]["adult (20–64)"] == (12, 12)
    assert bars["Expression"]["happy"] == (5, 12) and bars["Expression"]["neutral"] == (7, 12)
    assert bars["Taught"] == {"hat": (1, 2)}
    json.dumps(s.to_json())


def test_eigenfaces_recover_the_planted_directions(person_lib):
    rng = np.random.default_rng(0)
    coeff = rng.normal(0, 1, (60, 2))
    eig = summary.compute_eigenfaces([chip(a, b) for a, b in coeff], size=32, n_components=4)
    assert eig.n_faces == 60 and eig.components.shape == (4, 32, 32)
    assert abs(float(eig.mean.mean()) - 128 / 255) < 0.02
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    ramp_x, ramp_y = (xx - 0.5).ravel(), (yy - 0.5).ravel()
    corr = lambda a, b: abs(np.corrcoef(a.ravel(), b)[0, 1])  # noqa: E731
    assert corr(eig.components[0], ramp_x) > 0.95  # the strong left-right ramp first
    assert corr(eig.components[1], ramp_y) > 0.9
    assert eig.explained[0] > 0.7 and eig.explained[0] > eig.explained[1] > eig.explained[2]
    colour = summary.compute_eigenfaces([chip(a, b) for a, b in coeff[:5]], size=16, colour=True)
    assert colour.mean.shape == (16, 16, 3) and colour.components.shape == (4, 16, 16, 3)


def test_render_summary_writes_readable_images(person_lib, tmp_path):
    paths = summary.render_summary(person_lib.db, person_lib.ids, tmp_path / "out", title="Ann Lee")
    assert set(paths) == {"chart", "eigenface", "age_over_time", "data"}
    for name in ("chart", "eigenface", "age_over_time"):
        with Image.open(paths[name]) as im:
            assert im.format == "PNG" and im.width >= 560 and im.height >= 200
            px = np.asarray(im.convert("RGB"), np.float32)
        assert px.std() > 8, name  # not blank
    with Image.open(paths["chart"]) as im:
        colours = {tuple(c) for c in np.asarray(im.convert("RGB")).reshape(-1, 3)[::7].tolist()}
    assert (28, 126, 214) in colours and (12, 166, 120) in colours  # pose and age bars drawn
    assert json.loads(paths["data"].read_text())["face_count"] == 12


def test_render_summary_of_one_undated_face(person_lib, tmp_path):
    last = person_lib.ids[-1]  # in an undated photo
    paths = summary.render_summary(person_lib.db, [last], tmp_path / "one")
    assert all(p.is_file() for p in paths.values())
    data = json.loads(paths["data"].read_text())
    assert data["age_over_time"] == [] and data["eigenfaces"]["components"] == 0


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_attribute_commands(people_lib, capsys, tmp_path):
    from faceorganizer.cli import main

    folder = str(people_lib.folder)
    ids = sorted(people_lib.truth)
    yes = [str(f) for f in ids[:40] if people_lib.truth[f]]
    no = [str(f) for f in ids[:40] if not people_lib.truth[f]]
    assert main(["tag", *yes, "--attr", "hat", "--library", folder]) == 0
    assert main(["tag", *no, "--attr", "hat", "--no", "--library", folder, "--json"]) == 0
    capsys.readouterr()
    assert main(["predict-attr", "hat", "--library", folder, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["predicted"] == len(ids) - 40 and out["user_yes"] == len(yes)
    assert main(["attributes", "--library", folder, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "hat"
    assert main(["tag", ids[0].__str__(), "--attr", "hat", "--clear", "--library", folder]) == 0
    assert main(["undo", "--library", folder]) == 0
    capsys.readouterr()
    assert main(["attr-cluster", "--n", "2", "--attrs", "age,wings", "--library", folder]) == 2
    assert "unknown attribute 'wings'" in capsys.readouterr().err


def test_cli_summary_and_cluster(person_lib, capsys, tmp_path):
    from faceorganizer.cli import main

    folder = str(person_lib.folder)
    with transaction(person_lib.db):
        pid = person_lib.db.execute("INSERT INTO people (name) VALUES ('Ann Lee')").lastrowid
        for f in person_lib.ids:
            person_lib.db.execute("INSERT INTO assignments (face_id, person_id, origin) VALUES (?, ?, 'auto')",
                                  [f, pid])
    assert main(["summary", "ann lee", "--out", str(tmp_path / "s"), "--library", folder, "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert Path(files["chart"]).is_file() and Path(files["eigenface"]).is_file()
    assert main(["summary", "--where", "smiling", "--out", str(tmp_path / "w"), "--library", folder]) == 0
    assert "Summary of 5 faces" in capsys.readouterr().out
    assert main(["summary", "Nobody", "--out", str(tmp_path / "n"), "--library", folder]) == 2
    assert main(["attr-cluster", "--n", "2", "--attrs", "age,smile", "--weights", "1,2", "--library", folder]) == 0
    out = capsys.readouterr().out
    assert "kmeans" in out and "agglomerative" in out and "dbscan" in out and "silhouette" in out


# ------------------------------------------------------------------------------------------------ real photos
@pytest.fixture(scope="module")
def real_lib(tmp_path_factory, shared_faces, shared_library_dir):
    """A library imported from ../shared/faces (once for this module), with 32-bit codes filled in when the
    import did not compute them, and each face's identity (the main face of identities/<name>/ photos)."""

    base = tmp_path_factory.mktemp("real-attributes")
    with pytest.MonkeyPatch.context() as mp:  # module scope: keep user dirs away from the real ones here too
        for var, sub in (("FACEORGANIZER_DATA_DIR", "data"), ("FACEORGANIZER_CONFIG_DIR", "config"),
                         ("FACEORGANIZER_LOG_DIR", "logs")):
            mp.setenv(var, str(base / sub))
        mp.setenv("FACEORGANIZER_MODELS_DIR", str(MODELS_DIR))  # the installed weights, as conftest does
        import shutil

        shutil.copytree(shared_library_dir, base / "lib")  # the session's import of ../shared/faces
        lib = Library.open(base / "lib")
        db = lib.db
        stats = lib.stats()
        if stats.faces < 78:
            lib.close()
            pytest.fail(f"the import of {shared_faces} found {stats.faces} faces: {stats.to_json()}")
        if db.execute("SELECT count(*) FROM faces WHERE code IS NOT NULL").fetchone()[0] == 0:
            ids, emb = queries.embeddings(db)
            codes = PCACodec.fit(emb, rotate=True, seed=0).encode(emb)
            with transaction(db):
                db.conn.executemany("UPDATE faces SET code = ?, code_model = 'pca-test' WHERE id = ?",
                                    [(int(c), int(i)) for c, i in zip(codes, ids)])
        identity: dict[int, str] = {}
        seen: set[int] = set()
        for r in db.query("SELECT f.id, f.photo_id, p.path FROM faces f JOIN photos p ON p.id = f.photo_id "
                          "ORDER BY f.w * f.h DESC"):
            parts = Path(r["path"]).parts
            if "identities" in parts and r["photo_id"] not in seen:  # the largest face is the main one
                seen.add(r["photo_id"])
                identity[r["id"]] = parts[parts.index("identities") + 1]
        lib.identity = identity  # type: ignore[attr-defined]
        yield lib
        lib.close()


def test_real_library_filters_match_the_stored_attributes(real_lib, shared_faces):
    from tests.core.test_filters import CASES, stored_rows

    rows = stored_rows(real_lib)
    assert len(rows) >= 78
    nontrivial = 0
    extra = [(f'folder="{shared_faces}/identities"', lambda r: "/identities/" in r["path"]),
             (f'folder="{shared_faces}/groups" and age>=20 and female',
              lambda r: "/groups/" in r["path"] and (r["age"] or -1) >= 20 and r["gender"] is not None
              and r["gender"] < 0.5)]
    for expr, predicate in [*CASES, *extra]:
        clause, params = compile_filter(expr)
        got = {r.id for r in queries.faces(real_lib.db, clause, params)}
        want = {r["id"] for r in rows if predicate(r)}
        assert got == want, expr
        nontrivial += 0 < len(want) < len(rows)
    assert nontrivial >= 40  # real attributes vary: most filters pick a proper subset


def _held_out_accuracy(lib, name: str, truth: dict[int, bool]) -> tuple[float, float, int]:
    """Teach every other face of each identity (the first one always), predict, score the rest. Faces
    outside identities/ count as identities of their own (so half of them are taught, half held out)."""
    by_identity: dict[str, list[int]] = {}
    for face_id in sorted(truth):
        by_identity.setdefault(lib.identity.get(face_id, "others"), []).append(face_id)
    teach, held = [], []
    for faces in by_identity.values():
        teach += faces[0::2]
        held += faces[1::2]
    lib.db.execute("DELETE FROM user_attributes WHERE name = ?", [name])
    taught.tag(lib.db, [f for f in teach if truth[f]], name, True)
    taught.tag(lib.db, [f for f in teach if not truth[f]], name, False)
    taught.predict(lib.db, name)
    y = np.array([truth[f] for f in held])
    pred = np.array([probability(lib.db, f, name) >= 0.5 for f in held])
    return balanced_accuracy(y, pred), float((pred == y).mean()), len(held)


def test_real_taught_identity_attribute_beats_chance_on_held_out_faces(real_lib):
    names = sorted(set(real_lib.identity.values()))
    group_a = set(names[0::2])  # "looks like one of these people": a visual attribute from folder identity
    truth = {f: real_lib.identity[f] in group_a for f in real_lib.identity}
    acc, raw, n = _held_out_accuracy(real_lib, "group a", truth)
    print(f"\nidentity attribute: balanced accuracy {acc:.3f} on {n} held-out faces (chance 0.5), raw {raw:.3f}")
    assert n >= 25 and acc >= 0.8


def test_real_taught_gender_beats_the_majority_guess(real_lib):
    rows = list(real_lib.db.query("SELECT id, gender FROM faces WHERE gender IS NOT NULL AND embedding IS NOT NULL"))
    truth = {r["id"]: r["gender"] >= 0.5 for r in rows}
    acc, raw, n = _held_out_accuracy(real_lib, "male (taught)", truth)
    majority = max(np.mean(list(truth.values())), 1 - np.mean(list(truth.values())))
    print(f"\ntaught male: balanced accuracy {acc:.3f}, accuracy {raw:.3f} vs majority guess {majority:.3f} (n={n})")
    assert acc > 0.6 and raw > majority


def test_real_attribute_clustering_reports_every_silhouette(real_lib):
    result = grouping.cluster_attributes(real_lib.db, 3, ["age", "gender", "smile", "yaw", "pitch", "roll"])
    print("\nsilhouettes:", {m: None if s is None else round(s, 3) for m, s in result.silhouettes.items()},
          "dbscan", result.results["dbscan"].params, "noise", result.results["dbscan"].noise)
    assert result.face_ids.size >= 78
    for method, score in result.silhouettes.items():
        assert score is not None and -1 <= score <= 1, method
    assert result.silhouettes["kmeans"] > 0.1
    for r in result.results.values():
        assert sum(g.size for g in r.groups) + r.noise == result.face_ids.size


def test_real_summary_images(real_lib, tmp_path_factory):
    counts: dict[str, list[int]] = {}
    for face_id, name in real_lib.identity.items():
        counts.setdefault(name, []).append(face_id)
    name = max(counts, key=lambda n: len(counts[n]))
    out = tmp_path_factory.mktemp("real-summary")
    paths = summary.render_summary(real_lib.db, counts[name], out / name, title=name, colour=True)
    data = json.loads(paths["data"].read_text())
    assert data["face_count"] == len(counts[name]) and data["eigenfaces"]["n_faces"] == len(counts[name])
    every = [r["id"] for r in real_lib.db.query("SELECT id FROM faces")]
    paths_all = summary.render_summary(real_lib.db, every, out / "everyone", title="Everyone")
    s = summary.summary_data(real_lib.db, every, eigenfaces=True)
    assert s.eigenfaces is not None and s.eigenfaces.components.shape[0] == summary.EIGENFACE_COMPONENTS
    assert s.eigenfaces.explained[0] > s.eigenfaces.explained[-1]
    for p in [*paths.values(), *paths_all.values()]:
        assert p.is_file() and p.stat().st_size > 500
    print(f"\nsummary images: {out}")
