"""Reading hostile and ordinary XMP sidecars: time per photo against the number of face regions.

Usage: python bench/bench_xmp.py [--regions 10 1000 10000 50000] [--repeats 3]

Writes one JPEG and an MWG sidecar with N named face regions (compact attribute form, as digiKam writes it)
into a temporary folder, then times ``read_regions`` (parse, region cap, de-duplication, orientation), median
over the repeats, and counts the log lines it wrote. Before the cap, 10,000 regions took 35-55 s for one photo
(quadratic de-duplication) and wrote a line per region; the target is well under a second and at most two
log lines whatever N is (regions past MAX_REGIONS are ignored with one warning). The load average is printed,
the machine being shared.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from faceorganizer.xmp import MAX_REGIONS, read_regions


def sidecar(n: int) -> str:
    items = "".join(
        f'<rdf:li><rdf:Description mwg-rs:Name="Person {i}" mwg-rs:Type="Face"><mwg-rs:Area '
        f'stArea:x="{(i % 100) / 100 + 0.005}" stArea:y="{(i // 100 % 100) / 100 + 0.005}" stArea:w="0.01" '
        'stArea:h="0.01" stArea:unit="normalized"/></rdf:Description></rdf:li>'
        for i in range(n)
    )
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" '
            'xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"><mwg-rs:Regions rdf:parseType="Resource">'
            f"<mwg-rs:RegionList><rdf:Bag>{items}</rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>"
            "</rdf:Description></rdf:RDF></x:xmpmeta>")


class Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, nargs="+", default=[10, 1000, 10000, 30000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; MAX_REGIONS {MAX_REGIONS}")
    print(f"{'regions':>8}  {'sidecar MB':>10}  {'read s':>7}  {'read':>5}  {'log lines':>9}")
    logger = logging.getLogger("faceorganizer")
    logger.setLevel(logging.DEBUG)
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "flood.jpg"
        Image.fromarray(np.zeros((240, 320, 3), np.uint8)).save(photo)
        for n in args.regions:
            (Path(folder) / "flood.jpg.xmp").write_text(sidecar(n), encoding="utf-8")
            size = (Path(folder) / "flood.jpg.xmp").stat().st_size / 1e6
            times, found, lines = [], 0, 0
            for _ in range(args.repeats):
                counter = Counter()
                logger.addHandler(counter)
                start = time.perf_counter()
                found = len(read_regions(photo))
                times.append(time.perf_counter() - start)
                logger.removeHandler(counter)
                lines = counter.count
            print(f"{n:>8}  {size:>10.2f}  {statistics.median(times):>7.2f}  {found:>5}  {lines:>9}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
