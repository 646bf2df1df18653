"""Facial expression (7 classes) with face-api's FaceExpressionNet, written in PyTorch and as an ONNX graph.

The network and its pre-processing follow the TypeScript sources of npm ``@vladmandic/face-api@1.7.15`` (MIT;
a maintained fork of justadudewhohacks/face-api.js): ``faceExpressionNet/FaceExpressionNet.ts``,
``faceFeatureExtractor/FaceFeatureExtractor.ts`` + ``denseBlock.ts``, ``faceProcessor/FaceProcessor.ts``,
``dom/NetInput.ts`` (``toBatchTensor``), ``ops/padToSquare.ts`` and ``dom/extractFaceTensors.ts``. The weights
are the package's uint8-quantized ``face_expression_model.bin`` read through its weights manifest.

Network: four dense blocks of 3×3 convolutions (the first a plain convolution, the rest depthwise-separable),
each block halving the resolution 112 → 56 → 28 → 14 → 7 and feeding every conv the sum of the outputs before
it; then a 7×7 average pool, a 256 → 7 fully connected layer and a softmax.

Input: the RGB face *box* (not a landmark-aligned chip) as face-api's detection pipeline cuts it, zero-padded
to a centred square and resized bilinearly to 112×112 (TensorFlow's legacy sampling, no half-pixel centres);
then ``(pixel - mean_rgb) / 255``. :func:`face_crop` reproduces that cut.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from faceorganizer.errors import ModelCorruptError
from faceorganizer.models.registry import model_path
from faceorganizer.models.runtime import onnx_providers, ort_session

log = logging.getLogger(__name__)

#: face-api's label order (``FACE_EXPRESSION_LABELS``); columns of :meth:`ExpressionNet.predict`.
EXPRESSIONS = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")

INPUT_SIZE = 112
MEAN_RGB = (122.782, 117.001, 104.298)  # FaceFeatureExtractor.forwardInput; the result is divided by 255


# --- weights -----------------------------------------------------------------------------------------------


def load_weight_map(manifest_path: Path, bin_path: Path) -> dict[str, np.ndarray]:
    """Read a TensorFlow.js weights manifest and its shard into float32 arrays (TF layouts, e.g. HWIO).

    Quantized entries are decoded as tfjs does: ``q * scale + min`` computed in double precision, stored as
    float32 — so the values are bit-identical to what face-api runs with.
    """
    try:
        groups = json.loads(Path(manifest_path).read_text())
        blob = Path(bin_path).read_bytes()
    except (OSError, ValueError) as error:
        raise ModelCorruptError(f"cannot read expression model files: {error}") from error
    weights: dict[str, np.ndarray] = {}
    offset = 0
    for group in groups:
        for entry in group["weights"]:
            shape = tuple(entry["shape"])
            count = math.prod(shape)
            quant = entry.get("quantization")
            if quant is None:
                if entry["dtype"] != "float32":
                    raise ModelCorruptError(f"unsupported weight dtype {entry['dtype']} for {entry['name']}")
                nbytes = 4 * count
                values = np.frombuffer(blob, dtype="<f4", count=count, offset=offset).astype(np.float32)
            else:
                if quant["dtype"] != "uint8":
                    raise ModelCorruptError(f"unsupported quantization {quant['dtype']} for {entry['name']}")
                nbytes = count
                q = np.frombuffer(blob, dtype=np.uint8, count=count, offset=offset)
                values = (q.astype(np.float64) * quant["scale"] + quant["min"]).astype(np.float32)
            offset += nbytes
            weights[entry["name"]] = values.reshape(shape)
    if offset != len(blob):
        raise ModelCorruptError(f"expression weights: manifest describes {offset} bytes, file has {len(blob)}")
    return weights


# --- network -----------------------------------------------------------------------------------------------

# torch is imported lazily (inside the builders) so that importing this module stays cheap.


def _build_network(weights: dict[str, np.ndarray]) -> Any:
    import torch
    from torch import nn
    from torch.nn import functional as F

    def tensor(name: str, *perm: int) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(weights[name].transpose(perm)))

    def same_pad(x: torch.Tensor, stride: int) -> torch.Tensor:
        # TensorFlow's 'same' for a 3×3 kernel: stride 1 pads 1 on each side; stride 2 on an even size pads
        # 0 before and 1 after (PyTorch's symmetric padding would shift the sampling grid by one pixel).
        return F.pad(x, (1, 1, 1, 1)) if stride == 1 else F.pad(x, (0, 1, 0, 1))

    class Conv(nn.Module):
        """tf.conv2d(x, filters, stride, 'same') + bias (only the first conv of the first block)."""

        def __init__(self, prefix: str, stride: int) -> None:
            super().__init__()
            self.stride = stride
            self.weight = nn.Parameter(tensor(f"{prefix}/filters", 3, 2, 0, 1), requires_grad=False)
            self.bias = nn.Parameter(torch.from_numpy(weights[f"{prefix}/bias"]), requires_grad=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.conv2d(same_pad(x, self.stride), self.weight, self.bias, stride=self.stride)

    class SeparableConv(nn.Module):
        """tf.separableConv2d(x, depthwise, pointwise, stride, 'same') + bias (common/depthwiseSeparableConv)."""

        def __init__(self, prefix: str, stride: int) -> None:
            super().__init__()
            self.stride = stride
            self.depthwise = nn.Parameter(tensor(f"{prefix}/depthwise_filter", 2, 3, 0, 1), requires_grad=False)
            self.pointwise = nn.Parameter(tensor(f"{prefix}/pointwise_filter", 3, 2, 0, 1), requires_grad=False)
            self.bias = nn.Parameter(torch.from_numpy(weights[f"{prefix}/bias"]), requires_grad=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = F.conv2d(same_pad(x, self.stride), self.depthwise, stride=self.stride, groups=x.shape[1])
            return F.conv2d(x, self.pointwise, self.bias)

    class DenseBlock4(nn.Module):
        """faceFeatureExtractor/denseBlock.ts ``denseBlock4`` (isScaleDown: the first conv has stride 2)."""

        def __init__(self, prefix: str, first: bool) -> None:
            super().__init__()
            self.conv0 = Conv(f"{prefix}/conv0", 2) if first else SeparableConv(f"{prefix}/conv0", 2)
            self.conv1 = SeparableConv(f"{prefix}/conv1", 1)
            self.conv2 = SeparableConv(f"{prefix}/conv2", 1)
            self.conv3 = SeparableConv(f"{prefix}/conv3", 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out1 = F.relu(self.conv0(x))
            out2 = self.conv1(out1)
            out3 = self.conv2(F.relu(out1 + out2))
            out4 = self.conv3(F.relu(out1 + (out2 + out3)))
            return F.relu(out1 + (out2 + (out3 + out4)))

    class FaceExpressionNetwork(nn.Module):
        """N×3×112×112 float RGB in 0..255 → N×7 probabilities."""

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.tensor(MEAN_RGB, dtype=torch.float32).view(1, 3, 1, 1))
            self.dense = nn.Sequential(*(DenseBlock4(f"dense{i}", first=i == 0) for i in range(4)))
            self.fc = nn.Linear(256, len(EXPRESSIONS))
            with torch.no_grad():
                self.fc.weight.copy_(tensor("fc/weights", 1, 0))
                self.fc.bias.copy_(torch.from_numpy(weights["fc/bias"]))
            self.fc.requires_grad_(False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mean: torch.Tensor = self.mean  # type: ignore[assignment]  # a registered buffer
            x = self.dense((x - mean) / 255.0)
            x = F.avg_pool2d(x, 7, stride=2)  # 7×7 → 1×1 ('valid')
            return torch.softmax(self.fc(x.flatten(1)), dim=1)

    expected = {"fc/weights", "fc/bias"} | {
        f"dense{i}/conv{j}/{part}"
        for i in range(4)
        for j in range(4)
        for part in (("filters", "bias") if i == j == 0 else ("depthwise_filter", "pointwise_filter", "bias"))
    }
    if set(weights) != expected:
        raise ModelCorruptError(
            "expression weights do not match face-api's FaceExpressionNet: "
            f"missing {sorted(expected - set(weights))}, unexpected {sorted(set(weights) - expected)}"
        )
    return FaceExpressionNetwork().eval()


# --- the same network as an ONNX graph (a derived model file, written at install time) --------------------

#: Bumped whenever :func:`onnx_model` changes the graph it makes: the installer then rebuilds the file.
CONVERTER_VERSION = "1"
ONNX_INPUT, ONNX_OUTPUT = "crops", "probabilities"
#: Faces per onnxruntime run: bench/bench_expression.py, one thread, load 1.7: 1.6 ms/face at 8, 2.8 at 32,
#: 3.3 at 128 (larger batches leave the cache).
ONNX_BATCH = 8


def onnx_model(weights: dict[str, np.ndarray] | None = None) -> bytes:
    """The network as an ONNX model (opset 17): N×3×112×112 float RGB in 0..255 → N×7 probabilities.

    Built node by node from the weights (default: the installed files), the same operations as
    :func:`_build_network`; TensorFlow's 'same' padding of a stride-2 conv (0 before, 1 after) is the conv's
    own asymmetric ``pads``. Run by onnxruntime on the CPU, so the app needs no PyTorch for this net.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if weights is None:
        weights = load_weight_map(model_path("expression_manifest"), model_path("expression"))
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    counter = iter(range(1_000_000))

    def const(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array, np.float32), name))
        return name

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        out = f"{op.lower()}_{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def pads(stride: int) -> list[int]:
        return [1, 1, 1, 1] if stride == 1 else [0, 0, 1, 1]  # (top, left, bottom, right)

    def conv(x: str, prefix: str, stride: int) -> str:
        w = const(f"{prefix}/filters", weights[f"{prefix}/filters"].transpose(3, 2, 0, 1))
        return node("Conv", [x, w, const(f"{prefix}/bias", weights[f"{prefix}/bias"])], kernel_shape=[3, 3],
                    strides=[stride, stride], pads=pads(stride))

    def separable(x: str, prefix: str, stride: int) -> str:
        depthwise = weights[f"{prefix}/depthwise_filter"].transpose(2, 3, 0, 1)
        x = node("Conv", [x, const(f"{prefix}/depthwise", depthwise)], kernel_shape=[3, 3],
                 strides=[stride, stride], pads=pads(stride), group=depthwise.shape[0])
        pointwise = const(f"{prefix}/pointwise", weights[f"{prefix}/pointwise_filter"].transpose(3, 2, 0, 1))
        return node("Conv", [x, pointwise, const(f"{prefix}/bias", weights[f"{prefix}/bias"])], kernel_shape=[1, 1])

    x = node("Sub", [ONNX_INPUT, const("mean", np.array(MEAN_RGB, np.float32).reshape(1, 3, 1, 1))])
    x = node("Mul", [x, const("scale", np.array(1.0 / 255.0, np.float32))])
    for i in range(4):  # denseBlock4, as DenseBlock4.forward
        prefix = f"dense{i}"
        out1 = node("Relu", [conv(x, f"{prefix}/conv0", 2) if i == 0 else separable(x, f"{prefix}/conv0", 2)])
        out2 = separable(out1, f"{prefix}/conv1", 1)
        out3 = separable(node("Relu", [node("Add", [out1, out2])]), f"{prefix}/conv2", 1)
        out4 = separable(node("Relu", [node("Add", [out1, node("Add", [out2, out3])])]), f"{prefix}/conv3", 1)
        x = node("Relu", [node("Add", [out1, node("Add", [out2, node("Add", [out3, out4])])])])
    x = node("Flatten", [node("AveragePool", [x], kernel_shape=[7, 7], strides=[2, 2])], axis=1)
    x = node("Gemm", [x, const("fc/weights", weights["fc/weights"].T), const("fc/bias", weights["fc/bias"])],
             transB=1)
    nodes.append(helper.make_node("Softmax", [x], [ONNX_OUTPUT], axis=1))
    graph = helper.make_graph(
        nodes, "face_expression", [helper.make_tensor_value_info(ONNX_INPUT, TensorProto.FLOAT,
                                                                 ["n", 3, INPUT_SIZE, INPUT_SIZE])],
        [helper.make_tensor_value_info(ONNX_OUTPUT, TensorProto.FLOAT, ["n", len(EXPRESSIONS)])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


# --- the model as the app uses it -------------------------------------------------------------------------


class ExpressionNet:
    """face-api's 7-class expression classifier; loads its weights on first use (thread-safe).

    On the CPU it runs in onnxruntime from the derived file ``face_expression_model.onnx`` (written by
    ``faceorganizer models install``): no PyTorch import, whose ~2 s of CPU held the GIL long enough to freeze
    the window. On a GPU, or when that file is missing (an install from before it), it runs in PyTorch.
    ``threads`` is onnxruntime's thread count (default: all cores this process may use).
    """

    def __init__(self, device: str = "cpu", batch_size: int | None = None, *, threads: int | None = None) -> None:
        self.device = device
        self.batch_size = batch_size  # None: ONNX_BATCH in onnxruntime, 64 in PyTorch
        self.threads = threads
        self._network: Any = None
        self._session: Any = None
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        """"onnx" or "torch": what runs the net (decided on first use)."""
        self._load()
        return "onnx" if self._session is not None else "torch"

    def _load(self) -> Any:
        with self._lock:
            if self._network is None and self._session is None:
                onnx_file = model_path("expression_onnx", must_exist=False)
                if self.device == "cpu" and onnx_file.is_file() and onnx_providers():
                    self._session = ort_session(onnx_file, threads=self.threads)
                    log.info("expression net loaded from %s (onnxruntime)", onnx_file)
                else:
                    manifest, blob = model_path("expression_manifest"), model_path("expression")
                    network = _build_network(load_weight_map(manifest, blob)).to(self.device)
                    log.info("expression net loaded from %s on %s (PyTorch)", blob, self.device)
                    self._network = network
        return self._network

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """Probabilities N×7 (columns in :data:`EXPRESSIONS` order) for N×112×112×3 RGB crops.

        ``crops`` are uint8 as :func:`face_crop` returns them (float arrays in 0..255 are accepted too, e.g.
        ``face_crop(..., exact=True)``).
        """
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"expected N×{INPUT_SIZE}×{INPUT_SIZE}×3 RGB crops, got shape {crops.shape}")
        network = self._load()
        out = np.empty((len(crops), len(EXPRESSIONS)), dtype=np.float32)
        if self._session is not None:
            step = self.batch_size or ONNX_BATCH
            for start in range(0, len(crops), step):
                x = np.ascontiguousarray(crops[start : start + step].transpose(0, 3, 1, 2), np.float32)
                out[start : start + len(x)] = self._session.run([ONNX_OUTPUT], {ONNX_INPUT: x})[0]
            return out
        import torch

        with torch.inference_mode():
            step = self.batch_size or 64
            for start in range(0, len(crops), step):
                batch = torch.from_numpy(np.ascontiguousarray(crops[start : start + step]))
                batch = batch.to(self.device).permute(0, 3, 1, 2).float()
                out[start : start + len(batch)] = network(batch).cpu().numpy()
        return out


# --- the face crop face-api feeds it ----------------------------------------------------------------------


def _legacy_axis(n_in: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices (lower, upper) and weights of the upper one for one axis, TensorFlow's legacy sampling."""
    src = np.arange(size, dtype=np.float64) * (n_in / size)
    lo = np.maximum(np.floor(src), 0).astype(np.int64)
    hi = np.minimum(np.ceil(src), n_in - 1).astype(np.int64)
    return lo, hi, src - lo


def _resize_bilinear_legacy(image: np.ndarray, size: int, offset: tuple[int, int] = (0, 0),
                            shape: tuple[int, int] | None = None) -> np.ndarray:
    """tf.image.resizeBilinear(x, [size, size], alignCorners=false, halfPixelCenters=false) for H×W×C images.

    Source coordinate = destination index × (in / out): the legacy TensorFlow sampling face-api uses, which
    OpenCV's and Pillow's half-pixel resizers do not reproduce (and OpenCV's remap rounds weights to 1/32).

    The input is taken as ``image`` placed at ``offset`` (row, column) in a ``shape`` canvas of zeros, without
    building that canvas: only the 2·size rows, then columns, the sampling reads are gathered and converted
    (float32 as face-api's tensor, then float64), not the whole padded box (a 310 × 390 box: 1.2 → 0.65 ms).
    Returns float64 values identical to resizing the padded float32 canvas.
    """
    h, w = image.shape[:2]
    rows, cols = shape or (h, w)
    r0, r1, fr = _legacy_axis(rows, size)
    c0, c1, fc = _legacy_axis(cols, size)
    # One gather of the four neighbour grids: rows (r0, r1) × columns (c0, c1), zero outside the image.
    r = np.concatenate([r0, r1]) - offset[0]
    c = np.concatenate([c0, c1]) - offset[1]
    px = image[np.clip(r, 0, h - 1)][:, np.clip(c, 0, w - 1)].astype(np.float32).astype(np.float64)
    px[(r < 0) | (r >= h)] = 0.0
    px[:, (c < 0) | (c >= w)] = 0.0
    fc = fc[None, :, None]
    top = px[:size, :size] + (px[:size, size:] - px[:size, :size]) * fc
    bottom = px[size:, :size] + (px[size:, size:] - px[size:, :size]) * fc
    return np.asarray(top + (bottom - top) * fr[:, None, None])


def face_crop(rgb_image: np.ndarray, box_xyxy: Sequence[float] | np.ndarray, *, exact: bool = False) -> np.ndarray:
    """The 112×112 input face-api's expression net gets for a detected face box.

    As face-api does it (``extractFaceTensors`` → ``NetInput.toBatchTensor(112, isCenterInputs=true)``): clip
    the box at the image borders and floor x, y, width and height; cut that region; pad it with black to a
    square, centred (the extra column/row on the right/bottom when the difference is odd); resize it to 112
    with TensorFlow's legacy bilinear sampling. No landmark alignment.

    ``rgb_image`` is H×W×3 uint8 RGB; ``box_xyxy`` is (x1, y1, x2, y2) in its pixels. Returns uint8 (rounded);
    with ``exact=True`` the float32 values face-api itself would feed the network.
    """
    image = np.asarray(rgb_image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 RGB image, got shape {image.shape}")
    img_h, img_w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    # Box.clipAtImageBorders: clip the origin, keep the right/bottom edge, then floor all four numbers.
    cx, cy = max(x1, 0.0), max(y1, 0.0)
    width = math.floor(min(x2 - cx, img_w - cx))
    height = math.floor(min(y2 - cy, img_h - cy))
    x, y = math.floor(cx), math.floor(cy)
    if width <= 0 or height <= 0:
        raise ValueError(f"face box {tuple(box_xyxy)} lies outside the {img_w}×{img_h} image")
    face = image[y : y + height, x : x + width]

    # ops/padToSquare.ts with isCenterImage: round(diff / 2) appended after, the rest prepended before.
    diff = abs(height - width)
    after = math.floor(diff * 0.5 + 0.5)  # JavaScript Math.round
    before = diff - after
    side = max(height, width)
    if side != INPUT_SIZE:
        # Resampled straight from the unpadded box (the padding is zeros the sampling reads as such).
        offset = (before, 0) if width > height else (0, before)
        face = _resize_bilinear_legacy(face, INPUT_SIZE, offset, (side, side)).astype(np.float32)
    else:
        pad = ((before, after), (0, 0), (0, 0)) if width > height else ((0, 0), (before, after), (0, 0))
        face = np.pad(face.astype(np.float32), pad)
    if exact:
        return np.asarray(face)
    return np.asarray(np.clip(np.rint(face), 0, 255), dtype=np.uint8)
