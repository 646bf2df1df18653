"""The import engine on real photos and a corpus of broken and unusual files.

Covers: every bad input skipped with a reason and nothing crashing; EXIF rotation; content-hash identity
(move/rename keeps names, copies reuse faces); offline roots; kill-and-resume without duplicates; no network.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from faceorganizer.library import Library

FACE = "identities/biden/biden.jpg"  # one clear frontal face


def _face_image(shared: Path, name: str = FACE) -> Image.Image:
    return Image.open(shared / name).convert("RGB")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions (a decompression bomb's header) with a tiny body."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def make_corpus(shared: Path, folder: Path) -> dict[str, str]:
    """Write ≥ 25 kinds of broken or unusual files; returns name → expected outcome (ok | skipped | ignored)."""
    folder.mkdir(parents=True, exist_ok=True)
    face = _face_image(shared)
    small = face.copy()
    small.thumbnail((640, 640))
    jpeg = io.BytesIO()
    small.save(jpeg, "JPEG", quality=90)
    data = jpeg.getvalue()
    out: dict[str, str] = {}

    def put(name: str, payload: bytes, expect: str) -> None:
        (folder / name).write_bytes(payload)
        out[name] = expect

    put("zero_bytes.jpg", b"", "skipped")
    put("truncated.jpg", data[: len(data) // 3], "skipped")
    put("text_named.jpg", b"this is not an image, just text\n" * 20, "skipped")
    put("html_named.png", b"<html><body>404 not found</body></html>", "skipped")
    put("random_bytes.jpg", bytes(random.Random(1).randrange(256) for _ in range(5000)), "skipped")
    put("bomb.png", _png_header_only(100_000, 100_000), "skipped")
    put("bad_png_crc.png", _png_header_only(64, 64)[:30] + b"garbage", "skipped")
    put("fake.cr2", b"II*\x00\x10\x00\x00\x00CR\x02\x00" + b"\0" * 200, "unsupported")
    put("fake.nef", b"MM\x00*" + b"\0" * 200, "unsupported")
    put("png_named.jpg", _encode(small, "PNG"), "ok")
    for mode, name in [("CMYK", "cmyk.jpg"), ("L", "grey.jpg")]:
        put(name, _encode(small.convert(mode), "JPEG"), "ok")
    put("palette.png", _encode(small.convert("P", palette=Image.ADAPTIVE), "PNG"), "ok")
    rgba = small.convert("RGBA")
    rgba.putalpha(200)
    put("alpha.png", _encode(rgba, "PNG"), "ok")
    put("grey_alpha.png", _encode(small.convert("LA"), "PNG"), "ok")
    sixteen = Image.fromarray((np.asarray(small.convert("L"), np.uint16) * 257).astype(np.uint16))
    put("sixteen_bit.png", _encode(sixteen, "PNG"), "ok")
    frames = [small, small.transpose(Image.FLIP_LEFT_RIGHT)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    put("animated.gif", buf.getvalue(), "ok")
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], duration=100)
    put("animated.webp", buf.getvalue(), "ok")
    put("still.webp", _encode(small, "WEBP"), "ok")
    put("photo.tiff", _encode(small, "TIFF"), "ok")
    put("photo.bmp", _encode(small, "BMP"), "ok")
    put("tiny_1x1.png", _encode(Image.new("RGB", (1, 1), "white"), "PNG"), "ok")
    put("thin_strip.png", _encode(Image.new("RGB", (20000, 3), "white"), "PNG"), "ok")
    for orientation in (3, 6, 8):
        rotated = {3: small.rotate(180), 6: small.rotate(90, expand=True), 8: small.rotate(-90, expand=True)}
        exif = Image.Exif()
        exif[0x0112] = orientation
        put(f"exif_orientation_{orientation}.jpg", _encode(rotated[orientation], "JPEG", exif=exif), "ok")
    bad_exif = data[:2] + b"\xff\xe1\x00\x10Exif\x00\x00II*\x00\xff\xff\xff\xff" + data[2:]
    put("corrupt_exif.jpg", bad_exif, "ok")
    # Links, loops and names that are not UTF-8.
    os.symlink(folder / "does_not_exist.jpg", folder / "broken_link.jpg")
    out["broken_link.jpg"] = "skipped"
    os.symlink(folder / "self_loop.jpg", folder / "self_loop.jpg")
    out["self_loop.jpg"] = "skipped"
    (folder / "sub").mkdir()
    os.symlink(folder, folder / "sub" / "loop_to_parent")
    (folder / "dir_named.jpg").mkdir()
    os.mkfifo(folder / "named_pipe.jpg")
    out["named_pipe.jpg"] = "ignored"
    raw_name = os.fsdecode(b"caf\xe9_latin1.jpg")
    (folder / raw_name).write_bytes(data)
    out[raw_name] = "ok"
    (folder / "unreadable.jpg").write_bytes(data)
    os.chmod(folder / "unreadable.jpg", 0)
    out["unreadable.jpg"] = "ok" if os.geteuid() == 0 else "skipped"  # root reads any file
    put(".hidden.jpg", data, "ignored")
    put("notes.txt", b"not a photo extension", "ignored")
    return out


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _run(lib: Library, roots: list[Path]):
    progress = None
    for progress in lib.import_job([str(r) for r in roots]).run():
        pass
    return progress


def test_corpus_of_bad_and_unusual_files(shared_faces, tmp_path):
    corpus = make_corpus(shared_faces, tmp_path / "corpus")
    assert len(corpus) >= 25
    with Library.open(tmp_path / "lib") as lib:
        progress = _run(lib, [tmp_path / "corpus"])
        assert progress.stage == "done"
        rows = {Path(r["path"]).name: r for r in lib.db.query("SELECT path, status, error FROM photos")}
        from faceorganizer.paths import display_path, text_to_path
        rows = {os.path.basename(text_to_path(r["path"])): r for r in rows.values()}
        # Byte-identical files (the latin-1 name, unreadable.jpg as root) are one photo with two locations.
        for r in lib.db.query("SELECT l.path, p.path AS photo FROM photo_locations l "
                              "JOIN photos p ON p.id = l.photo_id"):
            rows[os.path.basename(text_to_path(r["path"]))] = rows[os.path.basename(text_to_path(r["photo"]))]
        for name, expect in corpus.items():
            if expect == "ignored":
                assert name not in rows, name
                continue
            assert name in rows, f"{name} was not recorded"
            assert rows[name]["status"] == expect, (name, rows[name])
            if expect != "ok":
                assert rows[name]["error"], f"{name} skipped without a reason"
        # The faces are found in every decodable copy of the face photo, upright whatever the EXIF says.
        for name, expect in corpus.items():
            if expect == "ok" and name not in ("tiny_1x1.png", "thin_strip.png"):
                n = lib.db.execute("SELECT count(*) FROM faces f JOIN photos p ON p.id = f.photo_id "
                                   "WHERE p.path = ?", [rows[name]["path"]]).fetchone()[0]
                assert n >= 1, f"no face found in {name}"
        upright = lib.faces("p.path LIKE '%grey.jpg'")[0].box
        for o in (3, 6, 8):
            box = lib.faces(f"p.path LIKE '%exif_orientation_{o}.jpg'")[0].box
            assert abs(box[0] - upright[0]) < 15 and abs(box[1] - upright[1]) < 15, (o, box, upright)
        # `status` shows every skip with its reason.
        skipped = {display_path(s["path"]) for s in lib.skipped()}
        assert any("zero_bytes.jpg" in s for s in skipped)
        assert lib.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_reimport_of_unchanged_folder_does_no_model_work(shared_faces, tmp_path):
    src = tmp_path / "photos"
    shutil.copytree(shared_faces / "identities" / "biden", src)
    with Library.open(tmp_path / "lib") as lib:
        first = _run(lib, [src])
        assert first.photos_added == len(list(src.iterdir())) and first.faces_found > 0
        second = _run(lib, [src])
        assert second.photos_total == 0 and second.photos_added == 0 and second.faces_found == 0
        assert "embed" not in second.stage_seconds


def test_move_and_rename_keep_faces_and_names(shared_faces, tmp_path):
    src = tmp_path / "photos" / "a"
    shutil.copytree(shared_faces / "identities" / "angelina_jolie", src)
    with Library.open(tmp_path / "lib") as lib:
        _run(lib, [tmp_path / "photos"])
        face = lib.faces()[0]
        pid = lib.move([face.id], None, new_name="Angelina")
        faces_before = lib.db.execute("SELECT count(*) FROM faces").fetchone()[0]
        # Rename a file and move the folder.
        first = sorted(src.iterdir())[0]
        first.rename(src / "renamed.jpg")
        shutil.move(str(src), str(tmp_path / "photos" / "b"))
        progress = _run(lib, [tmp_path / "photos"])
        assert progress.photos_added == 0 and progress.faces_found == 0
        assert lib.db.execute("SELECT count(*) FROM faces").fetchone()[0] == faces_before
        assert lib.db.execute("SELECT count(*) FROM photos WHERE status != 'ok'").fetchone()[0] == 0
        person = next(p for p in lib.people() if p.id == pid)
        assert person.name == "Angelina" and face.id in person.face_ids
        # A copy of a photo is another location of it, without analysis (tests/core/test_locations.py).
        shutil.copy(tmp_path / "photos" / "b" / "renamed.jpg", tmp_path / "photos" / "copy.jpg")
        progress = _run(lib, [tmp_path / "photos"])
        assert progress.photos_added == 0 and progress.copies_found == 1 and "embed" not in progress.stage_seconds


def test_missing_files_and_offline_root_keep_faces(shared_faces, tmp_path):
    root = tmp_path / "usb"
    shutil.copytree(shared_faces / "identities" / "biden", root)
    with Library.open(tmp_path / "lib") as lib:
        _run(lib, [root])
        n_faces = lib.db.execute("SELECT count(*) FROM faces").fetchone()[0]
        victim = sorted(root.iterdir())[0]
        victim.unlink()
        _run(lib, [root])
        statuses = dict(lib.db.execute("SELECT status, count(*) FROM photos GROUP BY status").fetchall())
        assert statuses.get("missing") == 1
        shutil.move(str(root), str(tmp_path / "unplugged"))  # the drive goes away
        progress = _run(lib, [root])
        assert progress.stage == "done"
        statuses = dict(lib.db.execute("SELECT status, count(*) FROM photos GROUP BY status").fetchall())
        assert statuses.get("offline", 0) >= 1 and "ok" not in statuses
        assert lib.db.execute("SELECT count(*) FROM faces").fetchone()[0] == n_faces
        assert lib.stats().roots[0]["online"] is False
        shutil.move(str(tmp_path / "unplugged"), str(root))  # plugged back in
        _run(lib, [root])
        statuses = dict(lib.db.execute("SELECT status, count(*) FROM photos GROUP BY status").fetchall())
        assert "offline" not in statuses and statuses["ok"] >= 1


def test_import_opens_no_network_socket(shared_faces, tmp_path, monkeypatch):
    opened = []
    real_socket = socket.socket

    class NoNetwork(real_socket):
        def connect(self, address):  # pragma: no cover - failing path
            opened.append(address)
            raise OSError("network access during import")

    monkeypatch.setattr(socket, "socket", NoNetwork)
    src = tmp_path / "photos"
    shutil.copytree(shared_faces / "groups", src)
    with Library.open(tmp_path / "lib") as lib:
        progress = _run(lib, [src])
    assert progress.faces_found > 0
    assert opened == []


KILL_SCRIPT = """
import sys
from faceorganizer.library import Library
with Library.open(sys.argv[1]) as lib:
    for p in lib.import_job([sys.argv[2]], workers=2).run():
        print(p.photos_done, flush=True)
"""


def _counts(db_path: Path) -> tuple[int, int, int, str]:
    with Library.open(db_path.parent) as lib:
        db = lib.db
        photos = db.execute("SELECT count(*) FROM photos").fetchone()[0]
        faces = db.execute("SELECT count(*) FROM faces").fetchone()[0]
        dup = db.execute("SELECT count(*) FROM (SELECT photo_id, x, y, count(*) c FROM faces "
                         "GROUP BY photo_id, x, y HAVING c > 1)").fetchone()[0]
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    return photos, faces, dup, integrity


def test_killed_import_resumes_without_duplicates(shared_faces, tmp_path):
    src = tmp_path / "photos"
    shutil.copytree(shared_faces / "groups", src / "groups")
    shutil.copytree(shared_faces / "identities" / "biden", src / "biden")
    shutil.copytree(shared_faces / "identities" / "angelina_jolie", src / "angelina")
    reference = tmp_path / "reference"
    with Library.open(reference) as lib:
        _run(lib, [src])
    want = _counts(reference / "library.db")
    lib_dir = tmp_path / "killed"
    rng = random.Random(7)
    env = dict(os.environ)
    for attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(lib_dir), str(src)],
                                stdout=subprocess.PIPE, text=True, env=env)
        # Kill at a random point once the import is under way.
        target = rng.randint(1, 12)
        for line in proc.stdout:
            if int(line.strip() or 0) >= target:
                break
        time.sleep(rng.random() * 0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(lib_dir), str(src)], capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = _counts(lib_dir / "library.db")
    assert got == want, (got, want)
