"""Time the expression net (face-api's FaceExpressionNet) on CPU: ms per face by batch size.

It runs in onnxruntime from the installed face_expression_model.onnx (PyTorch without that file; ``--threads``
sets both). Measured at load 1.8, 256 faces, one thread: 1.5 ms/face (batch 8) against 4.4 in PyTorch.

Usage: python bench/bench_expression.py [--threads N] [--faces 256]
Records wall and process CPU time and the machine's load average, since other processes can skew timings.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from faceorganizer.models.expression import INPUT_SIZE, ExpressionNet, face_crop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--faces", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (args.faces, INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    net = ExpressionNet(threads=args.threads)
    net.predict(crops[:8])  # load + warm up
    print(f"threads={args.threads} loadavg={os.getloadavg()[0]:.2f} faces={args.faces}")
    for batch in (1, 8, 32, 128):
        net.batch_size = batch
        wall, cpu = time.perf_counter(), time.process_time()
        net.predict(crops)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        per_wall, per_cpu = 1000 * wall / args.faces, 1000 * cpu / args.faces
        print(f"batch {batch:4d}: {per_wall:6.2f} ms/face wall, {per_cpu:6.2f} ms/face cpu")

    image = rng.integers(0, 256, (1500, 2000, 3), dtype=np.uint8)
    start = time.perf_counter()
    for _ in range(50):
        face_crop(image, (700.3, 400.8, 1010.2, 790.5))
    print(f"face_crop (310×390 box): {1000 * (time.perf_counter() - start) / 50:.2f} ms")


if __name__ == "__main__":
    main()
