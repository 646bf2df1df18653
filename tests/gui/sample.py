"""The library GUI tests and screenshots start from: every shared photo imported by the real pipeline.

``build_sample_library`` copies the session's real library (``shared_library_dir``: the 111 photos of
``../shared/faces`` imported, grouped and coded by the real models) and then makes it look like a library a
user has been working on, through the same core edits the GUI calls: half of the people are named, a face of
some people is rejected (so "Unsorted faces" is not empty), and two people are merged into one mixed group
(something to split). ``SampleInfo`` says which ids tests can rely on; the counts come from the library
itself, never from constants.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from faceorganizer.library import Library


@dataclass
class SampleInfo:
    """What the sample library holds (ids tests refer to)."""

    people: dict[str, int] = field(default_factory=dict)  # identity → the person holding most of its faces
    faces: dict[str, list[int]] = field(default_factory=dict)  # identity → main face of each of its photos
    named: dict[str, str] = field(default_factory=dict)  # identity → the name given to its person
    unsorted: list[int] = field(default_factory=list)  # faces rejected from their person
    mixed_person: int | None = None  # a person holding two identities' faces
    photo_count: int = 0

    def person_faces(self, lib: Library, person_id: int) -> list[int]:
        """The face ids assigned to a person now (what the person page shows)."""
        return [r["face_id"] for r in lib.db.query(
            "SELECT face_id FROM assignments WHERE person_id = ? ORDER BY face_id", [person_id])]


def main_faces_by_identity(lib: Library, shared_faces: Path) -> dict[str, list[int]]:
    """identity → the largest face of each of its ``identities/`` photos."""
    root = str(shared_faces / "identities")
    out: dict[str, list[int]] = {}
    seen = set()
    for r in lib.db.query("SELECT p.path, f.id, f.w * f.h AS area FROM photos p JOIN faces f ON f.photo_id = p.id "
                          "WHERE substr(p.path, 1, ?) = ? ORDER BY p.path, area DESC", [len(root), root]):
        if r["path"] not in seen:
            seen.add(r["path"])
            out.setdefault(Path(r["path"]).parent.name, []).append(r["id"])
    return out


def person_of(lib: Library, face_ids: list[int]) -> int | None:
    """The person holding most of ``face_ids`` (None when none is assigned)."""
    marks = ",".join("?" * len(face_ids))
    votes = Counter(r["person_id"] for r in lib.db.query(
        f"SELECT person_id FROM assignments WHERE face_id IN ({marks})", face_ids))
    return votes.most_common(1)[0][0] if votes else None


def build_sample_library(folder: Path, real_library: Path, shared_faces: Path) -> SampleInfo:
    """Copy ``real_library`` to ``folder`` and edit it as described in the module docstring."""
    shutil.copytree(real_library, folder)
    info = SampleInfo()
    with Library.open(folder) as lib:
        info.faces = main_faces_by_identity(lib, shared_faces)
        for identity, faces in info.faces.items():
            person = person_of(lib, faces)
            if person is not None:
                info.people[identity] = person
        # Identities with most photos first; each owns its person alone (grouping on these photos is exact).
        order = sorted(info.people, key=lambda i: (-len(info.faces[i]), i))
        for n, identity in enumerate(order):
            if n % 2 == 0:
                info.named[identity] = identity.replace("_", " ").title()
                lib.rename(info.people[identity], info.named[identity])
        for identity in order[1:6:2]:  # a face of three unnamed people goes back to "Unsorted faces"
            face = info.faces[identity][-1]
            lib.reject([face], info.people[identity])
            info.unsorted.append(face)
        # Two small unnamed people merged: one group holding two people, for the split test.
        small = [i for i in order if i not in info.named and len(info.faces[i]) >= 2][-2:]
        lib.merge(info.people[small[0]], [info.people[small[1]]])
        info.mixed_person = info.people[small[0]]
        info.people[small[1]] = info.mixed_person
        info.photo_count = lib.stats().photos
    return info
