"""Loading the face models on the CPU (onnxruntime) imports neither PyTorch nor onnx: those imports cost ~3 s of
CPU and held the GIL long enough to freeze the window that loads the models behind it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from faceorganizer.models import runtime

LOAD_ALL = r"""
import json, sys
import numpy as np
from faceorganizer.models.runtime import preload, torch_cuda_available
from faceorganizer.pipeline.analyzer import FaceAnalyzer
preload()
analyzer = FaceAnalyzer(backend="onnx", device="cpu", threads=1)
found = analyzer.analyze_image(np.asarray(__import__("PIL.Image").Image.open(sys.argv[1]).convert("RGB")))
analyzer.load_embedders()
print(json.dumps({"faces": len(found), "expression": analyzer.expression.backend,
                  "detector": analyzer.detector.backend.backend, "cuda": torch_cuda_available(),
                  "imported": sorted(m for m in ("torch", "onnx") if m in sys.modules)}))
"""


def test_torch_gpu_build_is_read_without_importing_torch():
    torch = pytest.importorskip("torch")
    gpu = torch.version.cuda is not None or getattr(torch.version, "hip", None) is not None
    assert runtime.torch_gpu_build() == gpu  # this machine's build, read from torch/version.py


def test_cpu_models_load_and_run_without_torch_or_onnx(shared_faces):
    if runtime.torch_gpu_build():
        pytest.skip("a GPU build of PyTorch is imported to ask for CUDA")
    photo = shared_faces / "identities" / "obama" / "obama.jpg"
    proc = subprocess.run([sys.executable, "-c", LOAD_ALL, str(photo)], capture_output=True, text=True,
                          env=dict(os.environ), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["faces"] >= 1 and report["detector"] == "onnx" and report["expression"] == "onnx"
    assert report["cuda"] is False
    assert report["imported"] == [], report
