"""dlib's face-recognition ResNet (128-d embedding) read straight from its ``.dat`` file, without dlib.

The file is dlib's own serialization of ``anet_type`` from dlib's ``dnn_face_recognition_ex.cpp``; the format
is described in ../shared/docs/models.md §2. :func:`parse_dat` reads it into plain numpy arrays (consuming
every byte, so a truncated or different file is an error, not a silently wrong network), :class:`DlibResNet`
runs it in PyTorch (CPU or CUDA) and :func:`export_onnx` writes the same network as an ONNX graph for
onnxruntime, built directly from the parsed weights so installing needs neither dlib nor a tracing exporter.

Both take raw RGB pixels (0..255, float32, N×3×150×150) and do dlib's ``(pixel − mean) / 256`` themselves, so
callers never repeat the preprocessing. Outputs are N×128 float32, not normalised (norm ≈ 1.5; same person ⇔
Euclidean distance < 0.6).
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from faceorganizer.errors import ModelCorruptError
from faceorganizer.models.registry import model_path

if TYPE_CHECKING:
    import torch

log = logging.getLogger("faceorganizer.models")

CHIP_SIZE = 150
EMBEDDING_DIM = 128
ONNX_INPUT = "images"
ONNX_OUTPUT = "embeddings"
#: Bumped whenever :func:`build_onnx` changes the graph it writes (stored in the file's metadata).
CONVERTER_VERSION = "1"


# --------------------------------------------------------------------------------------------------------------
# Reading dlib's serialization


class _Reader:
    """Cursor over the bytes of a dlib-serialized object; every read checks bounds."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.pos = 0
        self.name = name

    def fail(self, what: str) -> ModelCorruptError:
        return ModelCorruptError(f"{self.name}: {what} at byte {self.pos}; reinstall it with "
                                 "`faceorganizer models install --force`")

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise self.fail("file ends early")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def read_int(self) -> int:
        # dlib: one control byte (low nibble = byte count, high bit = negative), then the magnitude, LE.
        control = self.take(1)[0]
        size = control & 0x0F
        if size > 8:
            raise self.fail(f"bad integer control byte {control:#x}")
        value = int.from_bytes(self.take(size), "little")
        return -value if control & 0x80 else value

    def read_float(self) -> float:
        # dlib writes float/double as mantissa · 2^exponent, both as integers above.
        mantissa = self.read_int()
        exponent = self.read_int()
        return float(mantissa) * 2.0 ** exponent

    def read_bool(self) -> bool:
        char = self.take(1)
        if char not in (b"0", b"1"):
            raise self.fail(f"bad bool {char!r}")
        return char == b"1"

    def read_str(self) -> str:
        return self.take(self.read_int()).decode("ascii", errors="replace")

    def expect_str(self, *names: str) -> str:
        name = self.read_str()
        if name not in names:
            raise self.fail(f"expected a {' or '.join(names)} record, found {name!r}")
        return name

    def tensor(self) -> np.ndarray:
        version = self.read_int()
        if version != 2:
            raise self.fail(f"unsupported tensor version {version}")
        shape = tuple(self.read_int() for _ in range(4))
        count = int(np.prod(shape))
        raw = self.take(4 * count)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        version = self.read_int()
        if version != 1:
            raise self.fail(f"unsupported alias_tensor version {version}")
        return tuple(self.read_int() for _ in range(4))  # type: ignore[return-value]


@dataclass
class Conv:
    """One ``con_`` layer: weight O×I×kh×kw, bias O, stride and padding."""

    weight: np.ndarray
    bias: np.ndarray
    stride: int
    padding: int
    scale: np.ndarray | None = None  # the ``affine_`` that follows (per-channel gamma, beta), kept apart
    shift: np.ndarray | None = None


@dataclass
class DlibNetwork:
    """The parsed network: input means, the stem, the residual blocks and the final projection."""

    mean_rgb: tuple[float, float, float]
    size: int
    stem: Conv
    pool: tuple[int, int, int]  # max pool size, stride, padding
    blocks: list[tuple[Conv, Conv, bool]] = field(default_factory=list)  # (conv1, conv2, is_down)
    fc: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # 128×256 (torch layout)
    distance_threshold: float = 0.6

    @property
    def num_parameters(self) -> int:
        convs = [self.stem] + [c for b in self.blocks for c in b[:2]]
        total = sum(c.weight.size + c.bias.size + 2 * c.weight.shape[0] for c in convs)
        return int(total + self.fc.size)


# The layer sequence dlib's anet_type produces from input to output; "mark" is a tag or skip layer
# (they carry no data, only a version number). Checked against the file so a different net is refused.
_BLOCK = ["mark", "con", "affine", "relu", "con", "affine", "add_prev", "relu"]
_DOWN = ["mark", "con", "affine", "relu", "con", "affine", "mark", "mark", "avg_pool", "add_prev", "relu"]
_LEVELS = [(32, 3, False), (64, 3, True), (128, 2, True), (256, 2, True), (256, 0, True)]


def _expected_layers() -> list[str]:
    layers = ["con", "affine", "relu", "max_pool"]
    for _, repeats, down in _LEVELS:
        if down:
            layers += _DOWN
        layers += _BLOCK * repeats
    return layers + ["avg_pool", "fc"]


def parse_dat(path: Path | str | None = None) -> DlibNetwork:
    """Read ``dlib_face_recognition_resnet_model_v1.dat`` into numpy arrays (no dlib needed).

    Raises :class:`ModelCorruptError` when the file does not have exactly the expected structure, including
    when bytes are left over after the last layer.
    """
    path = Path(path) if path is not None else model_path("dlib_resnet")
    r = _Reader(path.read_bytes(), path.name)

    if r.read_int() != 1:
        raise r.fail("unexpected loss-layer version")
    r.expect_str("loss_metric_2")
    r.read_float()  # margin (training only)
    distance_threshold = r.read_float()

    # add_layer/tag/skip versions, output → input; the innermost add_layer (over the input) has version 3.
    versions: list[int] = []
    while True:
        versions.append(r.read_int())
        if versions[-1] == 3:
            break
        if versions[-1] not in (1, 2) or len(versions) > 1000:
            raise r.fail(f"unexpected layer version {versions[-1]}")

    r.expect_str("input_rgb_image_sized")
    mean_rgb = (r.read_float(), r.read_float(), r.read_float())
    nr, nc = r.read_int(), r.read_int()
    if nr != nc:
        raise r.fail(f"non-square input {nr}×{nc}")

    kinds: list[str] = []
    records: list[object] = []
    for version in reversed(versions):
        if version == 1:  # tag or skip layer: no details, no trailer
            kinds.append("mark")
            records.append(None)
            continue
        name = r.expect_str("con_4", "affine_", "relu_", "max_pool_2", "avg_pool_2", "add_prev_", "fc_2")
        kinds.append(name.rstrip("_0123456789"))
        records.append(_read_details(r, name))
        # add_layer trailer: three bools, then x_grad, cached_output and params_grad (or grad_final) tensors,
        # all empty in a saved net; the innermost layer adds its sample expansion factor.
        for _ in range(3):
            r.read_bool()
        for _ in range(3):
            if r.tensor().size:
                raise r.fail("unexpected non-empty state tensor")
        if version == 3:
            r.read_int()

    if r.pos != len(r.data):
        raise r.fail(f"{len(r.data) - r.pos} bytes left after the last layer")
    if kinds != _expected_layers():
        raise r.fail("layer sequence is not dlib's face-recognition ResNet")
    return _assemble(kinds, records, mean_rgb, nr, distance_threshold)


def _read_details(r: _Reader, name: str) -> object:
    if name == "con_4":
        params = r.tensor().ravel()
        filters, kh, kw, sy, sx, py, px = (r.read_int() for _ in range(7))
        w_shape, b_shape = r.alias(), r.alias()
        for _ in range(4):
            r.read_float()  # learning-rate and weight-decay multipliers
        if (sy, py) != (sx, px) or kh != kw:
            raise r.fail("non-square convolution")
        n_w = int(np.prod(w_shape))
        weight = params[:n_w].reshape(w_shape)
        bias = params[n_w:n_w + int(np.prod(b_shape))]
        if weight.shape[0] != filters or bias.size != filters or params.size != n_w + filters:
            raise r.fail("convolution parameter sizes disagree")
        return Conv(weight.copy(), bias.copy(), sy, py)
    if name == "affine_":
        params = r.tensor().ravel()
        g_shape, b_shape = r.alias(), r.alias()
        mode = r.read_int()
        n = int(np.prod(g_shape))
        if mode != 0 or int(np.prod(b_shape)) != n or params.size != 2 * n:
            raise r.fail("unexpected affine layer (expected per-channel mode)")
        return params[:n].copy(), params[n:].copy()
    if name in ("max_pool_2", "avg_pool_2"):
        kh, kw, sy, sx, py, px = (r.read_int() for _ in range(6))
        if (kh, sy, py) != (kw, sx, px):
            raise r.fail("non-square pooling")
        return kh, sy, py
    if name == "fc_2":
        outputs, inputs = r.read_int(), r.read_int()
        params = r.tensor()
        w_shape, b_shape = r.alias(), r.alias()
        bias_mode = r.read_int()
        for _ in range(4):
            r.read_float()
        if bias_mode != 1 or int(np.prod(b_shape)) != 0 or params.size != inputs * outputs:
            raise r.fail("unexpected fully-connected layer (expected no bias)")
        # Stored input-major (inputs × outputs); torch wants outputs × inputs.
        return params.reshape(inputs, outputs).T.copy()
    return None  # relu_, add_prev_: no parameters


def _assemble(kinds: list[str], records: list[object], mean_rgb: tuple[float, float, float], size: int,
              distance_threshold: float) -> DlibNetwork:
    convs: list[Conv] = []
    pools: list[tuple[int, int, int]] = []
    fc = None
    for kind, rec in zip(kinds, records):
        if kind == "con":
            convs.append(rec)  # type: ignore[arg-type]
        elif kind == "affine":
            convs[-1].scale, convs[-1].shift = rec  # type: ignore[misc]
        elif kind in ("max_pool", "avg_pool"):
            pools.append(rec)  # type: ignore[arg-type]
        elif kind == "fc":
            fc = rec
    assert isinstance(fc, np.ndarray), "the network file holds no fc layer"
    net = DlibNetwork(mean_rgb, size, convs[0], pools[0], fc=fc, distance_threshold=distance_threshold)
    i = 1
    for _, repeats, down in _LEVELS:
        for is_down in ([True] if down else []) + [False] * repeats:
            net.blocks.append((convs[i], convs[i + 1], is_down))
            i += 2
    return net


def _fold(conv: Conv) -> tuple[np.ndarray, np.ndarray]:
    """Conv followed by its per-channel affine, as one conv (exact up to float rounding)."""
    scale = conv.scale if conv.scale is not None else np.ones_like(conv.bias)
    shift = conv.shift if conv.shift is not None else np.zeros_like(conv.bias)
    weight = conv.weight * scale[:, None, None, None]
    bias = conv.bias * scale + shift
    return weight.astype(np.float32), bias.astype(np.float32)


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _block_plan(net: DlibNetwork) -> list[tuple[int, int, int, int]]:
    """For each block: (main-path channels, main spatial size, skip channels, skip spatial size).

    dlib's ``add_prev`` zero-pads the smaller operand at the end of channels, rows and columns; with a
    150-px input that happens in every down-block (channels) and at the 3×3+4×4 and 1×1+2×2 adds (space).
    """
    size = _conv_out(net.size, net.stem.weight.shape[2], net.stem.stride, net.stem.padding)
    k, s, p = net.pool
    size = _conv_out(size, k, s, p)
    channels = net.stem.weight.shape[0]
    plan = []
    for conv1, conv2, down in net.blocks:
        main = _conv_out(size, conv1.weight.shape[2], conv1.stride, conv1.padding)
        main = _conv_out(main, conv2.weight.shape[2], conv2.stride, conv2.padding)
        skip = _conv_out(size, 2, 2, 0) if down else size
        out_ch = conv2.weight.shape[0]
        plan.append((out_ch, main, channels, skip))
        channels, size = max(out_ch, channels), max(main, skip)
    return plan


# --------------------------------------------------------------------------------------------------------------
# PyTorch


def _torch_module_class() -> type[Any]:  # torch is imported only when a torch backend is actually used
    import torch
    from torch import nn
    from torch.nn import functional as F

    class DlibResNet(nn.Module):
        """dlib's face-recognition ResNet; input float32 N×3×150×150 RGB 0..255, output N×128."""

        def __init__(self, net: DlibNetwork) -> None:
            super().__init__()
            mean = torch.tensor(net.mean_rgb, dtype=torch.float32).view(1, 3, 1, 1)
            self.register_buffer("mean", mean)
            self.stem = self._conv(net.stem)
            self.pool = net.pool
            self.convs1 = nn.ModuleList(self._conv(c1) for c1, _, _ in net.blocks)
            self.convs2 = nn.ModuleList(self._conv(c2) for _, c2, _ in net.blocks)
            self.down = [d for _, _, d in net.blocks]
            self.plan = _block_plan(net)
            self.fc = nn.Linear(net.fc.shape[1], net.fc.shape[0], bias=False)
            with torch.no_grad():
                self.fc.weight.copy_(torch.from_numpy(net.fc))
            self.eval()

        @staticmethod
        def _conv(conv: Conv) -> nn.Conv2d:
            weight, bias = _fold(conv)
            layer = nn.Conv2d(weight.shape[1], weight.shape[0], weight.shape[2], conv.stride, conv.padding)
            with torch.no_grad():
                layer.weight.copy_(torch.from_numpy(weight))
                assert layer.bias is not None
                layer.bias.copy_(torch.from_numpy(bias))
            return layer

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mean: torch.Tensor = self.mean  # type: ignore[assignment]  # a registered buffer
            x = (x - mean.to(x.dtype)) * (1.0 / 256.0)
            x = F.relu(self.stem(x))
            k, s, p = self.pool
            x = F.max_pool2d(x, k, s, p)
            for conv1, conv2, down, (ch, size, skip_ch, skip_size) in zip(
                    self.convs1, self.convs2, self.down, self.plan):
                y = conv2(F.relu(conv1(x)))
                skip = F.avg_pool2d(x, 2, 2) if down else x
                out_ch, out_size = max(ch, skip_ch), max(size, skip_size)
                if (ch, size) != (out_ch, out_size):
                    y = F.pad(y, (0, out_size - size, 0, out_size - size, 0, out_ch - ch))
                if (skip_ch, skip_size) != (out_ch, out_size):
                    skip = F.pad(skip, (0, out_size - skip_size, 0, out_size - skip_size, 0, out_ch - skip_ch))
                x = F.relu(y + skip)
            x = x.mean(dim=(2, 3))
            out: torch.Tensor = self.fc(x)
            return out

    return DlibResNet


def load_torch(path: Path | str | None = None) -> torch.nn.Module:
    """The network as a PyTorch module in eval mode, on the CPU, float32."""
    module: torch.nn.Module = _torch_module_class()(parse_dat(path))
    return module


# --------------------------------------------------------------------------------------------------------------
# ONNX


def build_onnx(net: DlibNetwork, opset: int = 17) -> Any:
    """The network as an ``onnx.ModelProto`` with a dynamic batch axis (input ``images``, output ``embeddings``)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    counter = iter(range(1_000_000))

    def const(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        out = f"{op.lower()}_{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def conv(x: str, c: Conv, tag: str) -> str:
        weight, bias = _fold(c)
        k = weight.shape[2]
        return node("Conv", [x, const(f"{tag}.weight", weight), const(f"{tag}.bias", bias)],
                    kernel_shape=[k, k], strides=[c.stride, c.stride], pads=[c.padding] * 4)

    def pad(x: str, channels: int, size: int) -> str:
        pads = np.array([0, 0, 0, 0, 0, channels, size, size], dtype=np.int64)
        return node("Pad", [x, const(f"pad_{next(counter)}", pads)], mode="constant")

    mean = np.array(net.mean_rgb, dtype=np.float32).reshape(1, 3, 1, 1)
    x = node("Sub", [ONNX_INPUT, const("mean", mean)])
    x = node("Mul", [x, const("scale", np.array(1.0 / 256.0, dtype=np.float32))])
    x = node("Relu", [conv(x, net.stem, "stem")])
    k, s, p = net.pool
    x = node("MaxPool", [x], kernel_shape=[k, k], strides=[s, s], pads=[p] * 4)
    for i, ((c1, c2, down), (ch, size, skip_ch, skip_size)) in enumerate(zip(net.blocks, _block_plan(net))):
        y = conv(node("Relu", [conv(x, c1, f"block{i}.conv1")]), c2, f"block{i}.conv2")
        skip = node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2]) if down else x
        out_ch, out_size = max(ch, skip_ch), max(size, skip_size)
        if (ch, size) != (out_ch, out_size):
            y = pad(y, out_ch - ch, out_size - size)
        if (skip_ch, skip_size) != (out_ch, out_size):
            skip = pad(skip, out_ch - skip_ch, out_size - skip_size)
        x = node("Relu", [node("Add", [y, skip])])
    x = node("Flatten", [node("GlobalAveragePool", [x])], axis=1)
    nodes.append(helper.make_node("MatMul", [x, const("fc.weight_t", net.fc.T)], [ONNX_OUTPUT]))

    graph = helper.make_graph(
        nodes, "dlib_face_recognition_resnet_v1",
        [helper.make_tensor_value_info(ONNX_INPUT, TensorProto.FLOAT, ["N", 3, net.size, net.size])],
        [helper.make_tensor_value_info(ONNX_OUTPUT, TensorProto.FLOAT, ["N", EMBEDDING_DIM])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="faceorganizer")
    model.ir_version = 8  # readable by every onnxruntime this project allows (CPU 1.32, GPU 1.31)
    model.doc_string = ("dlib face-recognition ResNet v1 (public domain, dlib-models), converted by FaceOrganizer; "
                        "input raw RGB 0..255, NCHW; output unnormalised 128-d embedding")
    helper.set_model_props(model, {"faceorganizer_converter": CONVERTER_VERSION, "source": "dlib_resnet_v1"})
    onnx.checker.check_model(model)
    return model


def export_onnx(path: Path | str, dat_path: Path | str | None = None) -> Path:
    """Write the network as ONNX (dynamic batch) to ``path`` atomically; reads the installed ``.dat``."""
    path = Path(path)
    model = build_onnx(parse_dat(dat_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(model.SerializeToString())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("wrote %s (%d bytes)", path, path.stat().st_size)
    return path
