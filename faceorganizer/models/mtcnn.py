"""MTCNN face detector: P-Net → R-Net → O-Net (Zhang et al. 2016) with the facenet-pytorch weights.

The three networks are written here with facenet-pytorch's state-dict key names (its wheel holds the weights;
the package itself is not used, see ../shared/docs/models.md §1) and the cascade runs in NumPy.

Speed (this detector is ≈80 % of an import worker's CPU time per 2 MP photo, 73 of 93 ms):

- Detection runs on a working copy whose longest side is at most ``max_side``; boxes and landmarks are mapped
  back to the given image. ``min_face_size`` is measured in that working copy, so on a 4000-px photo with the
  default 1280 the smallest face found is about 20 × 4000 / 1280 ≈ 62 px.
- On the CPU the networks run in onnxruntime: their graphs are built from the state dicts (no exporter),
  shaped for its blocked layout (see :func:`_onnx_graph`, :func:`_pad_channels`), and written at install time
  as derived model files (``mtcnn_pnet.onnx`` …, :func:`onnx_model`). Loading them needs neither torch nor
  onnx: building the graphs at every start imported both (~3 s of CPU) and held the GIL long enough to freeze
  the window for 0.5–3 s while the detector loaded behind it. A missing file (an install from before them) is
  built in memory as before.
  bench/bench_detect.py, 2 cores: a 2 MP photo takes 65 ms wall / 111 ms CPU with onnxruntime and 64 / 126 ms
  with PyTorch (channels-last) at load 4; at load 11 PyTorch used 2.3–2.6× onnxruntime's CPU. With a CUDA
  GPU (see :mod:`faceorganizer.models.runtime`) PyTorch runs them on the GPU.
- P-Net over the image pyramid is ~70 % of the detector's time (R-Net ~15 %). Its graph pools before its first
  PReLU and folds its last PReLU into the output heads (:func:`_pool_first`, :func:`_onnx_graph`), and large
  levels run as strips that stay in cache (:func:`_pnet_map`): same outputs (≤ 4e-6 in the logits), P-Net
  62 → 48 ms CPU per 2 MP photo on one thread, the whole per-photo analysis 107 → 90 ms (load 1.5–3).
- The image pyramid and the R-Net/O-Net crops are resampled from successive halvings of the image
  (:class:`_Octaves`), never by more than 2× in one step, which keeps them cheap at any photo size.
- The input normalisation ``(x − 127.5) / 128`` is folded into each network's first convolution (exact: those
  convolutions have no padding), so the nets take raw 0..255 pixels.

Hard cases: the image is also zero-padded by half its width and height on every side (so it doubles) and
searched once more for large faces only — the seed paper's "re-detection with padding": a face that fills the
frame, or a large face cut by the frame, is missed otherwise, since P-Net's 12-px window must fit inside the
image. When the first pass found faces, only padded-pass faces crossing the border are added.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from faceorganizer.geometry import corners_iou
from faceorganizer.models.registry import model_path
from faceorganizer.models.runtime import BackendChoice, LazyNetwork, cpu_count

log = logging.getLogger("faceorganizer.models")

PYRAMID_FACTOR = 0.709
DEFAULT_THRESHOLDS = (0.6, 0.7, 0.7)
#: Faces below this final score are dropped. The cascade's standard O-Net cut-off (0.7) let through 6
#: non-faces on the shared photos (textures, a motorcycle part at 0.79, an astronaut suit at 0.86) while
#: every real face there scored ≥ 0.96; at 0.9 one of those remained and no annotated face was lost.
DEFAULT_MIN_SCORE = 0.9
#: NMS IoU thresholds: within one pyramid scale, across scales (stage 1), after R-Net, after O-Net ("min").
NMS_SCALE, NMS_STAGE1, NMS_STAGE2, NMS_STAGE3 = 0.5, 0.7, 0.7, 0.7
#: The padding retry only looks for faces at least this fraction of the original image's shorter side.
RETRY_MIN_FACE_FRACTION = 0.3

_WEIGHT_KEYS = {"pnet": "mtcnn_pnet", "rnet": "mtcnn_rnet", "onet": "mtcnn_onet"}
#: The derived ONNX files (see :data:`faceorganizer.models.registry.DERIVED`), made from :func:`onnx_model`.
ONNX_KEYS = {"pnet": "mtcnn_pnet_onnx", "rnet": "mtcnn_rnet_onnx", "onet": "mtcnn_onet_onnx"}
#: Bumped whenever :func:`onnx_model` changes the graphs it makes: the installer then rebuilds the files.
CONVERTER_VERSION = "1"

# Layers of each net, in order, with facenet-pytorch's parameter names: (kind, name, args).
# conv: (in, out, kernel); pool: (kernel, stride) with ceil mode; dense: (in, out); heads come last.
_LAYERS: dict[str, list[tuple[str, str, tuple[int, ...]]]] = {
    "pnet": [("conv", "conv1", (3, 10, 3)), ("prelu", "prelu1", (10,)), ("pool", "pool1", (2, 2)),
             ("conv", "conv2", (10, 16, 3)), ("prelu", "prelu2", (16,)),
             ("conv", "conv3", (16, 32, 3)), ("prelu", "prelu3", (32,))],
    "rnet": [("conv", "conv1", (3, 28, 3)), ("prelu", "prelu1", (28,)), ("pool", "pool1", (3, 2)),
             ("conv", "conv2", (28, 48, 3)), ("prelu", "prelu2", (48,)), ("pool", "pool2", (3, 2)),
             ("conv", "conv3", (48, 64, 2)), ("prelu", "prelu3", (64,)), ("flatten", "", ()),
             ("dense", "dense4", (576, 128)), ("prelu", "prelu4", (128,))],
    "onet": [("conv", "conv1", (3, 32, 3)), ("prelu", "prelu1", (32,)), ("pool", "pool1", (3, 2)),
             ("conv", "conv2", (32, 64, 3)), ("prelu", "prelu2", (64,)), ("pool", "pool2", (3, 2)),
             ("conv", "conv3", (64, 64, 3)), ("prelu", "prelu3", (64,)), ("pool", "pool3", (2, 2)),
             ("conv", "conv4", (64, 128, 2)), ("prelu", "prelu4", (128,)), ("flatten", "", ()),
             ("dense", "dense5", (1152, 256)), ("prelu", "prelu5", (256,))],
}
# Output heads, concatenated into one output: face logits (2), box regression (4), landmarks (O-Net, 10).
# P-Net's heads are 1×1 convolutions over its whole map.
_HEADS = {"pnet": ("conv4_1", "conv4_2"), "rnet": ("dense5_1", "dense5_2"),
          "onet": ("dense6_1", "dense6_2", "dense6_3")}
_INPUT_SIZE = {"rnet": 24, "onet": 48}


@dataclass(frozen=True, eq=False)
class Detection:
    """One face: box ``(x1, y1, x2, y2)`` and landmarks in the pixels of the image given to ``detect``.

    ``landmarks`` is 5×2 (x, y): left eye, right eye, nose tip, left mouth corner, right mouth corner, where
    "left" means image-left. ``score`` is O-Net's face probability.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray

    @property
    def xywh(self) -> tuple[float, float, float, float]:
        x1, y1, x2, y2 = self.box
        return x1, y1, x2 - x1, y2 - y1

    @property
    def size(self) -> float:
        """The box's shorter side in pixels."""
        return min(self.box[2] - self.box[0], self.box[3] - self.box[1])


# --------------------------------------------------------------------------------------------- weights

def load_state_dicts(nets: Sequence[str] = tuple(_WEIGHT_KEYS)) -> dict[str, dict[str, np.ndarray]]:
    """The nets' parameters (all three by default) as float32 arrays, input normalisation folded in, dense
    layers reordered.

    facenet-pytorch flattens its feature maps in (W, H, C) order (a relic of the Caffe conversion); the dense
    weights are permuted here so that a plain (C, H, W) flatten gives the same result.
    """
    import torch

    out = {}
    for net in nets:
        raw = torch.load(model_path(_WEIGHT_KEYS[net]), map_location="cpu", weights_only=True)
        sd = {k: v.float().numpy().copy() for k, v in raw.items()}
        w, b = sd["conv1.weight"], sd["conv1.bias"]
        sd["conv1.bias"] = (b - 127.5 / 128.0 * w.sum(axis=(1, 2, 3))).astype(np.float32)
        sd["conv1.weight"] = (w / 128.0).astype(np.float32)
        for i, (kind, name, args) in enumerate(_LAYERS[net]):
            if kind == "dense":
                channels = [a[1] for k, _, a in _LAYERS[net][:i] if k == "conv"][-1]
                side = int(round(math.sqrt(args[0] / channels)))
                wd = sd[f"{name}.weight"].reshape(args[1], side, side, channels)  # (out, W, H, C)
                sd[f"{name}.weight"] = np.ascontiguousarray(wd.transpose(0, 3, 2, 1).reshape(args[1], -1))
        out[net] = sd
    return out


# --------------------------------------------------------------------------------------------- backends

def _merged_heads(net: str, sd: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The output heads as one layer: weights (out, in) and bias of the concatenated outputs."""
    w = np.concatenate([sd[f"{h}.weight"].reshape(sd[f"{h}.weight"].shape[0], -1) for h in _HEADS[net]])
    return w, np.concatenate([sd[f"{h}.bias"] for h in _HEADS[net]])


def _pad_channels(net: str, sd: dict[str, np.ndarray], block: int = 16) -> dict[str, np.ndarray]:
    """A copy of ``sd`` whose convolutions have a multiple of ``block`` output channels (zero filters, fed to
    zero weights of the next convolution): same outputs, and onnxruntime keeps every op in its blocked
    layout instead of converting around the odd-sized ones (P-Net's 10 channels, R-Net's 28)."""
    sd = dict(sd)
    convs = [name for kind, name, _ in _LAYERS[net] if kind == "conv"]
    prelus = [name for kind, name, _ in _LAYERS[net] if kind == "prelu"]
    for i, name in enumerate(convs[:-1]):
        w = sd[f"{name}.weight"]
        extra = -w.shape[0] % block
        if not extra:
            continue
        sd[f"{name}.weight"] = np.concatenate([w, np.zeros((extra, *w.shape[1:]), w.dtype)])
        sd[f"{name}.bias"] = np.concatenate([sd[f"{name}.bias"], np.zeros(extra, w.dtype)])
        slope = f"{prelus[i]}.weight"
        sd[slope] = np.concatenate([sd[slope], np.zeros(extra, w.dtype)])
        nxt = sd[f"{convs[i + 1]}.weight"]
        sd[f"{convs[i + 1]}.weight"] = np.concatenate(
            [nxt, np.zeros((nxt.shape[0], extra, *nxt.shape[2:]), nxt.dtype)], axis=1)
    return sd


def _pool_first(net: str, sd: dict[str, np.ndarray], block: int = 16) -> dict[str, np.ndarray]:
    """A copy of ``sd`` set up for :func:`_onnx_graph` to take the first layer's max-pool *before* its PReLU.

    Max-pooling commutes with an increasing function, and PReLU with slope ``a ≥ 0`` is one; for ``a < 0``
    it is V-shaped, so its maximum over a window is at the window's largest or smallest input:
    ``max(relu(max z), |a|·relu(max −z))``. The first convolution (3 input channels, cheap) therefore also
    computes ``−z`` for those channels, in the zero filters that channel padding would add anyway (P-Net:
    10 channels + 6 negative slopes = 16), and the PReLU runs on the pooled map, a quarter of the pixels.
    Exact: the same window maxima, combined as ``p = A·U + E·relu(U) + relu(C·relu(U))`` of the pooled
    map ``U`` (``max(x, y) = y + relu(x − y)``), stored here as ``{prelu}.pf_a``, ``.pf_e``, ``.pf_c``.
    """
    sd = dict(sd)
    layers = _LAYERS[net]
    (_, conv, _), (_, prelu, _) = layers[0], layers[1]
    w, b, a = sd[f"{conv}.weight"], sd[f"{conv}.bias"], sd[f"{prelu}.weight"]
    neg = np.flatnonzero(a < 0)
    channels, pooled = len(a), len(a) + len(neg)
    width = -(-pooled // block) * block  # channels of the convolution and of the pooled map U
    out = -(-channels // block) * block  # channels of p, the next convolution's input
    if width != out:
        # More channels than padding gives (R-Net 28 + 9, O-Net 32 + 12): the wider convolution cost more
        # than the full-size PReLU it saves on their 24- and 48-px crops (R-Net, 64 crops: 2.7 → 3.7 ms CPU;
        # O-Net, 32 crops: 9.6 → 11.9 ms).
        return sd
    w2 = np.zeros((width, *w.shape[1:]), np.float32)
    b2 = np.zeros(width, np.float32)
    w2[:channels], b2[:channels] = w, b
    w2[channels:pooled], b2[channels:pooled] = -w[neg], -b[neg]
    mix_a = np.zeros(width, np.float32)
    mix_e = np.zeros((out, width), np.float32)
    mix_c = np.zeros((out, width), np.float32)
    pos = a >= 0
    mix_a[:channels][pos] = a[pos]
    mix_e[np.flatnonzero(pos), np.flatnonzero(pos)] = 1.0 - a[pos]
    mix_e[neg, channels + np.arange(len(neg))] = -a[neg]
    mix_c[neg, neg] = 1.0
    mix_c[neg, channels + np.arange(len(neg))] = a[neg]
    sd[f"{conv}.weight"], sd[f"{conv}.bias"] = w2, b2
    sd[f"{prelu}.pf_a"], sd[f"{prelu}.pf_e"], sd[f"{prelu}.pf_c"] = mix_a, mix_e, mix_c
    nxt = [name for kind, name, _ in layers[2:] if kind == "conv"][0]
    wn = sd[f"{nxt}.weight"]
    sd[f"{nxt}.weight"] = np.concatenate(
        [wn, np.zeros((wn.shape[0], out - channels, *wn.shape[2:]), wn.dtype)], axis=1)
    return sd


def _onnx_graph(net: str, sd: dict[str, np.ndarray]) -> bytes:
    """An ONNX model (opset 17) of one net, built directly from its parameters; one output of raw logits.

    A convolution's PReLU is written as ``(1 − a)·relu(z) + a·z`` with per-channel 1×1 depthwise
    convolutions: onnxruntime keeps those in its blocked (NCHWc) layout, where a PRelu node forces layout
    conversions and ran slower than the convolutions themselves (P-Net: 51 → 32 ms CPU for a 768×576 input).
    P-Net's first PReLU runs after its pool when ``sd`` says so (:func:`_pool_first`), and its last one is
    folded into the 1×1 heads (below); together 33 → 26 ms CPU for that input, outputs within 4e-6.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    x = "x"

    def init(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value, np.float32), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs: object) -> str:
        nodes.append(helper.make_node(op, inputs, [output], **attrs))  # type: ignore[arg-type]  # onnx stubs
        return output

    layers = _LAYERS[net]
    pooled = False  # the pool after a pooled PReLU is done
    # P-Net's last PReLU goes into its 1×1 heads: heads(prelu(z)) = (W·diag(a))·z + (W·diag(1 − a))·relu(z) + b,
    # two small convolutions instead of three full-size per-channel ones and an addition.
    fold_last = net == "pnet" and layers[-1][0] == "prelu"
    for i, (kind, name, args) in enumerate(layers):
        y = f"t{i}"
        if kind == "pool" and pooled:
            pooled = False
            continue
        if fold_last and i == len(layers) - 1:
            break
        if kind == "conv":
            node("Conv", [x, init(f"{name}.w", sd[f"{name}.weight"]), init(f"{name}.b", sd[f"{name}.bias"])], y)
        elif kind == "prelu" and f"{name}.pf_a" in sd:
            # Pooled PReLU (see _pool_first): pool the convolution's output, then mix its channels.
            pool = layers[i + 1][2]
            u = node("MaxPool", [x], f"{y}.u", kernel_shape=[pool[0]] * 2, strides=[pool[1]] * 2, ceil_mode=1)
            r = node("Relu", [u], f"{y}.r")
            mix_a, mix_e = sd[f"{name}.pf_a"], sd[f"{name}.pf_e"]
            pa = node("Conv", [u, init(f"{name}.pa", mix_a.reshape(-1, 1, 1, 1))], f"{y}.pa", group=len(mix_a))
            pe = node("Conv", [r, init(f"{name}.pe", mix_e[:, :, None, None])], f"{y}.pe")
            pc = node("Relu", [node("Conv", [r, init(f"{name}.pc", sd[f"{name}.pf_c"][:, :, None, None])],
                                    f"{y}.pc")], f"{y}.pcr")
            node("Add", [node("Add", [pa, pe], f"{y}.s"), pc], y)
            pooled = True
        elif kind == "prelu" and layers[i - 1][0] == "conv":
            slope = sd[f"{name}.weight"].reshape(-1, 1, 1, 1)
            channels = len(slope)
            r = node("Relu", [x], f"{y}.r")
            r = node("Conv", [r, init(f"{name}.r", 1.0 - slope)], f"{y}.rs", group=channels)
            z = node("Conv", [x, init(f"{name}.z", slope)], f"{y}.zs", group=channels)
            node("Add", [r, z], y)
        elif kind == "prelu":
            node("PRelu", [x, init(f"{name}.s", sd[f"{name}.weight"])], y)
        elif kind == "pool":
            node("MaxPool", [x], y, kernel_shape=[args[0]] * 2, strides=[args[1]] * 2, ceil_mode=1)
        elif kind == "flatten":
            node("Flatten", [x], y, axis=1)
        elif kind == "dense":
            node("Gemm", [x, init(f"{name}.w", sd[f"{name}.weight"]), init(f"{name}.b", sd[f"{name}.bias"])], y,
                 transB=1)
        x = y
    w, b = _merged_heads(net, sd)
    if fold_last:
        slope = sd[f"{layers[-1][1]}.weight"]
        lin = node("Conv", [x, init("heads.a", (w * slope)[:, :, None, None])], "out.a")
        r = node("Relu", [x], "out.r")
        rel = node("Conv", [r, init("heads.w", (w * (1.0 - slope))[:, :, None, None]), init("heads.b", b)],
                   "out.r1")
        node("Add", [lin, rel], "out")
        shape: list[int | str] = ["n", len(w), "mh", "mw"]
    elif net == "pnet":
        node("Conv", [x, init("heads.w", w[:, :, None, None]), init("heads.b", b)], "out")
        shape = ["n", len(w), "mh", "mw"]
    else:
        node("Gemm", [x, init("heads.w", w), init("heads.b", b)], "out", transB=1)
        shape = ["n", len(w)]
    dims = ["n", 3, "h", "w"] if net == "pnet" else ["n", 3, _INPUT_SIZE[net], _INPUT_SIZE[net]]
    graph = helper.make_graph(nodes, net, [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],  # type: ignore[arg-type]
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def onnx_model(net: str, sd: dict[str, np.ndarray] | None = None) -> bytes:
    """The ONNX model onnxruntime runs for one net ("pnet", "rnet" or "onet"), from its parameters ``sd``
    (default: read from the installed weights): channels padded, P-Net's first PReLU after its pool."""
    if sd is None:
        sd = load_state_dicts((net,))[net]
    return _onnx_graph(net, _pad_channels(net, _pool_first(net, sd)))


def _torch_net(net: str, sd: dict[str, np.ndarray]) -> Callable[..., object]:
    """A PyTorch module of one net with facenet-pytorch's parameter names; returns the raw logits."""
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for kind, name, args in _LAYERS[net]:
                if kind == "conv":
                    setattr(self, name, nn.Conv2d(args[0], args[1], args[2]))
                elif kind == "prelu":
                    setattr(self, name, nn.PReLU(args[0]))
                elif kind == "pool":
                    setattr(self, name, nn.MaxPool2d(args[0], args[1], ceil_mode=True))
                elif kind == "dense":
                    setattr(self, name, nn.Linear(args[0], args[1]))
            for name in _HEADS[net]:
                w = sd[f"{name}.weight"]
                setattr(self, name, nn.Conv2d(w.shape[1], w.shape[0], 1) if net == "pnet"
                        else nn.Linear(w.shape[1], w.shape[0]))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for kind, name, _ in _LAYERS[net]:
                x = x.flatten(1) if kind == "flatten" else getattr(self, name)(x)
            return torch.cat([getattr(self, h)(x) for h in _HEADS[net]], dim=1)

    module = Net()
    module.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    return module.eval()


# --------------------------------------------------------------------------------------------- detector

class FaceDetector(LazyNetwork[dict[str, Callable[[np.ndarray], np.ndarray]]]):
    """Finds faces and their 5 landmarks; loads its networks on first use (or :meth:`load`), once.

    ``min_face_size`` (px in the working copy, see the module doc) sets the finest pyramid scale;
    ``thresholds`` are the three stages' face-probability cut-offs and ``min_score`` the final one;
    ``max_side`` bounds the working copy; ``pad_retry`` enables the re-detection with padding;
    ``preference``/``device`` go to :func:`~faceorganizer.models.runtime.pick_backend`; ``threads`` is the
    CPU thread count (default: all cores this process may use; import workers should pass 1).
    """

    def __init__(self, min_face_size: int = 20, thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                 max_side: int = 1280, *, min_score: float = DEFAULT_MIN_SCORE, pad_retry: bool = True,
                 preference: str = "auto", device: str = "auto", threads: int | None = None) -> None:
        if min_face_size < 12:
            raise ValueError(f"min_face_size must be at least 12 px (P-Net's window), not {min_face_size}")
        if len(thresholds) != 3:
            raise ValueError("thresholds must hold three probabilities (P-Net, R-Net, O-Net)")
        self.min_face_size = int(min_face_size)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.max_side = int(max_side)
        self.min_score = float(min_score)
        self.pad_retry = pad_retry
        super().__init__(preference, device, threads=threads)

    def _load(self, choice: BackendChoice) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
        threads = self._threads if self._threads and self._threads > 0 else None
        if choice.backend == "onnx":
            nets = {net: self._onnx_runner(net, choice, threads or cpu_count()) for net in _WEIGHT_KEYS}
        else:
            nets = {net: self._torch_runner(net, sd, choice, threads) for net, sd in load_state_dicts().items()}
        log.info("MTCNN detector loaded: %s", choice)
        return nets

    @staticmethod
    def _onnx_runner(net: str, choice: BackendChoice, threads: int) -> Callable[[np.ndarray], np.ndarray]:
        """An onnxruntime session of ``net`` from its derived file, or built in memory when that is missing."""
        import onnxruntime as ort

        path = model_path(ONNX_KEYS[net], must_exist=False)
        graph: str | bytes = str(path)
        if not path.is_file():
            # An install from before the derived files: the same graph, built here (imports torch and onnx).
            log.info("%s is not installed: building the %s graph in memory (`faceorganizer models install` "
                     "writes it once)", path.name, net)
            graph = onnx_model(net)

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Spinning threads wait for work by burning CPU: on a busy machine that doubled the CPU per photo.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(graph, sess_options=options,
                                       providers=list(choice.providers) or ["CPUExecutionProvider"])
        return lambda x: session.run(None, {"x": x})[0]

    @staticmethod
    def _torch_runner(net: str, sd: dict[str, np.ndarray], choice: BackendChoice, threads: int | None
                      ) -> Callable[[np.ndarray], np.ndarray]:
        import torch

        device = torch.device(choice.device)
        module = _torch_net(net, sd).to(device=device, memory_format=torch.channels_last)  # type: ignore[attr-defined]
        if device.type == "cpu" and threads and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)  # process-wide in PyTorch: only when asked for

        def run(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                t = torch.from_numpy(x).to(device).contiguous(memory_format=torch.channels_last)
                return np.asarray(module(t).float().cpu().numpy())

        return run

    # ------------------------------------------------------------------------------------------ detect
    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Faces in an H×W×3 uint8 RGB image, highest score first (coordinates in that image's pixels)."""
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an H×W×3 uint8 RGB image, got {rgb.dtype} {rgb.shape}")
        if min(rgb.shape[:2]) < 1:
            return []
        rgb = np.ascontiguousarray(rgb)  # OpenCV refuses views with negative strides (e.g. from np.rot90)
        found = self._detect_scaled(rgb, self.min_face_size, pad=False)
        if self.pad_retry:
            # Only faces too large for the first pass matter here (at least a fraction of the image), so the
            # padded pyramid is tiny (~2 % of the first pass). With faces already found, only faces crossing
            # the photo's border are taken from it: those are what the first pass cannot see (a big face cut
            # by the frame in a group selfie); everything inside was the first pass's to find.
            large = RETRY_MIN_FACE_FRACTION * min(rgb.shape[:2])
            extra = self._detect_scaled(rgb, large, pad=True, border_only=bool(found))
            found = found + [d for d in extra if all(corners_iou(d.box, f.box) < 0.3 for f in found)]
            found.sort(key=lambda d: -d.score)
        return found

    def _detect_scaled(self, rgb: np.ndarray, min_face: float, pad: bool, border_only: bool = False
                       ) -> list[Detection]:
        """Detect on a copy no larger than ``max_side`` (zero-padded by half its size on every side when
        ``pad``) and map the results back to ``rgb``. ``min_face`` is in ``rgb`` pixels when padding.
        ``border_only`` keeps only faces whose box crosses the image's border."""
        h, w = rgb.shape[:2]
        grow = 2.0 if pad else 1.0
        factor = min(1.0, self.max_side / (grow * max(h, w)))
        work = _Octaves(rgb).resize(max(1, round(w * factor)), max(1, round(h * factor)))
        fx, fy = w / work.shape[1], h / work.shape[0]
        px = py = 0
        if pad:
            min_face = max(self.min_face_size, min_face / max(fx, fy))
            py, px = (work.shape[0] + 1) // 2, (work.shape[1] + 1) // 2
            work = cv2.copyMakeBorder(work, py, py, px, px, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        boxes, scores, points = self._cascade(work, min_face)
        out = []
        for box, score, pts in zip(boxes, scores, points):
            if score < self.min_score:
                continue
            # Boxes are continuous coordinates (pixel i spans [i, i+1)); landmarks are pixel positions.
            raw = ((box[0] - px) * fx, (box[1] - py) * fy, (box[2] - px) * fx, (box[3] - py) * fy)
            if border_only and raw[0] >= 0 and raw[1] >= 0 and raw[2] <= w and raw[3] <= h:
                continue
            mapped = _clip_box(raw, w, h)
            if mapped is None:
                continue
            lm = np.empty((5, 2), np.float32)
            lm[:, 0] = (pts[:, 0] - px + 0.5) * fx - 0.5
            lm[:, 1] = (pts[:, 1] - py + 0.5) * fy - 0.5
            out.append(Detection(mapped, float(score), lm))
        return out

    def _cascade(self, img: np.ndarray, min_face: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The three stages on one image: boxes N×4 (x1, y1, x2, y2), scores N, landmarks N×5×2."""
        nets = self._loaded()
        t1, t2, t3 = self.thresholds
        empty = (np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))

        octaves = _Octaves(img)
        boxes = _stage1(octaves, min_face, nets["pnet"], t1)
        if not len(boxes):
            return empty

        # Stage 2: R-Net on 24×24 crops of the squared candidate boxes.
        boxes = _square(boxes)
        out = _run_batched(nets["rnet"], octaves.crops(boxes, 24))
        scores = _face_probability(out)
        keep = scores > t2
        boxes, reg, scores = boxes[keep], out[keep, 2:6], scores[keep]
        if not len(boxes):
            return empty
        keep = _nms(boxes, scores, NMS_STAGE2)
        boxes = _square(_regress(boxes[keep], reg[keep]))

        # Stage 3: O-Net on 48×48 crops: final score, box refinement and the 5 landmarks.
        out = _run_batched(nets["onet"], octaves.crops(boxes, 48))
        scores = _face_probability(out)
        keep = scores > t3
        boxes, reg, lm, scores = boxes[keep], out[keep, 2:6], out[keep, 6:16], scores[keep]
        if not len(boxes):
            return empty
        wh = boxes[:, 2:4] - boxes[:, 0:2]
        points = np.stack([boxes[:, None, 0] + lm[:, 0:5] * wh[:, None, 0],
                           boxes[:, None, 1] + lm[:, 5:10] * wh[:, None, 1]], axis=2) - 0.5
        boxes = _regress(boxes, reg)
        keep = _nms(boxes, scores, NMS_STAGE3, mode="min")
        return boxes[keep], scores[keep], points[keep].astype(np.float32)


def _stage1(octaves: _Octaves, min_face: float, pnet: Callable[[np.ndarray], np.ndarray],
            threshold: float) -> np.ndarray:
    """P-Net over the image pyramid: candidate boxes N×4 after NMS and box regression."""
    h, w = octaves.levels[0].shape[:2]
    min_logit = math.log(threshold / (1.0 - threshold))  # prob ≥ t ⇔ logit difference ≥ log(t / (1 − t))
    scale = 12.0 / min_face
    candidates = []
    while min(h, w) * scale >= 12:
        sh, sw = int(math.ceil(h * scale)), int(math.ceil(w * scale))
        out = _pnet_map(pnet, octaves.resize(sw, sh))
        ys, xs = np.nonzero(out[1] - out[0] >= min_logit)
        if len(ys):
            # Each map cell is a 12×12 window at stride 2 of this level; back to the image's pixels.
            sx, sy = w / sw, h / sh
            b = np.stack([2 * xs * sx, 2 * ys * sy, (2 * xs + 12) * sx, (2 * ys + 12) * sy], axis=1)
            cells = out[:, ys, xs].T
            s = _face_probability(cells)
            keep = _nms(b, s, NMS_SCALE)
            candidates.append(np.concatenate([b[keep], s[keep, None], cells[keep, 2:6]], axis=1))
        scale *= PYRAMID_FACTOR
    if not candidates:
        return np.zeros((0, 4), np.float32)
    allc = np.concatenate(candidates)
    keep = _nms(allc[:, :4], allc[:, 4], NMS_STAGE1)
    return _regress(allc[keep, :4], allc[keep, 5:9])


#: P-Net runs on horizontal strips of at most about this many input pixels (see :func:`_pnet_map`).
PNET_STRIP_PIXELS = 150_000


def _pnet_map(pnet: Callable[[np.ndarray], np.ndarray], level: np.ndarray) -> np.ndarray:
    """P-Net's output map (6 × map-h × map-w) for one H×W×3 uint8 pyramid level.

    Large levels run as horizontal strips: map row ``i`` sees input rows ``[2i, 2i + 12)``, so map rows
    ``[a, b)`` need input rows ``[2a, 2b + 10)`` (the last strip: to the end, for the ceil-mode pooling), and
    starting at an even row keeps the 2×2 pooling aligned: the same values, bit for bit. The first level
    (768 × 576 at 2 MP) took 25.7 ms whole and 23.5 ms as strips, its 28-MB activations no longer streaming
    through memory.
    """
    h, w = level.shape[:2]
    rows = max(0, -(-(h - 2) // 2) - 4)  # conv 3×3, pool 2×2 (ceil), conv 3×3, conv 3×3
    strips = max(1, min(rows, round(h * w / PNET_STRIP_PIXELS)))
    if strips == 1:
        return np.asarray(pnet(_blob(level))[0])
    bounds = np.linspace(0, rows, strips + 1).round().astype(int)
    return np.concatenate([pnet(_blob(level[2 * a:h if b == rows else 2 * b + 10]))[0]
                           for a, b in zip(bounds[:-1], bounds[1:])], axis=1)


def _blob(img: np.ndarray) -> np.ndarray:
    """1×3×H×W float32 from H×W×3 uint8 (per-channel copies: 2× faster than a transposing astype)."""
    out = np.empty((1, 3, *img.shape[:2]), np.float32)
    for c, plane in enumerate(cv2.split(img)):
        out[0, c] = plane
    return out


# --------------------------------------------------------------------------------------------- helpers

def _face_probability(out: np.ndarray) -> np.ndarray:
    """Softmax probability of "face" from the first two outputs (non-face, face logits) of each row."""
    return np.asarray(1.0 / (1.0 + np.exp(out[:, 0] - out[:, 1])), dtype=np.float32)


def _run_batched(run: Callable[[np.ndarray], np.ndarray], x: np.ndarray, batch: int = 512) -> np.ndarray:
    return np.concatenate([run(x[i:i + batch]) for i in range(0, len(x), batch)])


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Apply box regression offsets (fractions of the box's width and height)."""
    wh = boxes[:, 2:4] - boxes[:, 0:2]
    return np.asarray(boxes[:, :4] + reg[:, :4] * np.concatenate([wh, wh], axis=1))


def _square(boxes: np.ndarray) -> np.ndarray:
    """Squares around the boxes' centres (side = the longer side)."""
    wh = boxes[:, 2:4] - boxes[:, 0:2]
    side = np.maximum(wh.max(axis=1), 1.0)
    x1 = boxes[:, 0] + wh[:, 0] / 2 - side / 2
    y1 = boxes[:, 1] + wh[:, 1] / 2 - side / 2
    return np.stack([x1, y1, x1 + side, y1 + side], axis=1).astype(np.float32)


class _Octaves:
    """The image and its successive halvings (2×2 area averages, fast in OpenCV), for cheap resampling."""

    def __init__(self, img: np.ndarray) -> None:
        self.levels = [img]

    def level(self, k: int) -> tuple[np.ndarray, float]:
        """Octave ``k`` (or the smallest one there is) and its scale relative to the image."""
        while len(self.levels) <= k and min(self.levels[-1].shape[:2]) >= 2:
            prev = self.levels[-1]
            self.levels.append(cv2.resize(prev, (prev.shape[1] // 2, prev.shape[0] // 2),
                                          interpolation=cv2.INTER_AREA))
        k = min(k, len(self.levels) - 1)
        return self.levels[k], 0.5 ** k

    def resize(self, w: int, h: int) -> np.ndarray:
        """The image resized to w×h: bilinear from the nearest octave at most 2× larger.

        OpenCV's area interpolation is fast only for whole factors; at 0.709 it cost 17 ms for a 1280-px
        image against 2 ms for halving + bilinear (same detections on the shared photos).
        """
        src_h, src_w = self.levels[0].shape[:2]
        if (w, h) == (src_w, src_h):
            return self.levels[0]
        k = max(0, int(math.floor(math.log2(max(src_w / w, src_h / h, 1.0)))))
        return cv2.resize(self.level(k)[0], (w, h), interpolation=cv2.INTER_LINEAR)

    def crops(self, boxes: np.ndarray, size: int) -> np.ndarray:
        """N×3×size×size float32 crops of boxes (continuous coordinates), zero outside the image."""
        out = np.empty((len(boxes), size, size, 3), np.uint8)
        for i, (x1, y1, x2, y2) in enumerate(boxes.astype(np.float64)):
            side = max(x2 - x1, y2 - y1, 1.0)
            k = max(0, int(math.floor(math.log2(side / size))))
            src, f = self.level(k)
            # Output pixel u samples the box at continuous x1 + (u + 0.5)·w/size, at the octave's scale.
            ax, ay = (x2 - x1) / size * f, (y2 - y1) / size * f
            m = np.array([[ax, 0.0, (x1 + 0.5 * (x2 - x1) / size) * f - 0.5],
                          [0.0, ay, (y1 + 0.5 * (y2 - y1) / size) * f - 0.5]])
            out[i] = cv2.warpAffine(src, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2), dtype=np.float32)


def _nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, mode: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression; indices of the kept boxes, best first.

    "union" is IoU (OpenCV's NMS: stage 1 meets ~1000 boxes per photo, where a NumPy loop cost 16 ms);
    "min" divides the overlap by the smaller box, so a box inside a larger one is dropped (O-Net's stage).
    """
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    if mode == "union":
        xywh = np.concatenate([boxes[:, :2], boxes[:, 2:4] - boxes[:, :2]], axis=1).astype(np.float64)
        keep = cv2.dnn.NMSBoxes(xywh, scores.astype(np.float32), 0.0, float(threshold))  # type: ignore[arg-type]
        return np.asarray(keep, np.int64).reshape(-1)
    x1, y1, x2, y2 = (boxes[:, k].astype(np.float64) for k in range(4))
    area = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        iw = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        ih = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        overlap = iw * ih / np.maximum(np.minimum(area[i], area[rest]), 1e-9)
        order = rest[overlap <= threshold]
    return np.asarray(keep, dtype=np.int64)


def _clip_box(box: Sequence[float], w: int, h: int) -> tuple[float, float, float, float] | None:
    x1, y1 = min(max(float(box[0]), 0.0), w), min(max(float(box[1]), 0.0), h)
    x2, y2 = min(max(float(box[2]), 0.0), w), min(max(float(box[3]), 0.0), h)
    return (x1, y1, x2, y2) if x2 - x1 >= 1 and y2 - y1 >= 1 else None
