"""Layers and functions of torchvision that its models are made of: ``StochasticDepth``,
``Permute``, ``LayerNorm2d`` (ConvNeXt) and ``stochastic_depth``.

They are not in ``torch.nn``: each carries its ``source``, a small class (or function)
of our own that behaves as torchvision's and has the same parameter names (so
``state_dict`` keys match); the torch backend builds it from there and exported files
include it. The tests compare every one with torchvision's own.
"""

from __future__ import annotations

from textwrap import indent

from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import (
    Infer,
    LayerType,
    Mix,
    Step,
    check_bool,
    check_probability,
    moved,
    norm_dim,
    rank_error,
    signature,
)
from convcalc.ops.function import FunctionType, params
from convcalc.ops.norm import layernorm_rule

_DROP = '''
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in ["batch", "row"]:
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    survival_rate = 1.0 - p
    size = [input.shape[0]] + [1] * (input.ndim - 1) if mode == "row" else [1] * input.ndim
    noise = torch.empty(size, dtype=input.dtype, device=input.device).bernoulli_(survival_rate)
    if survival_rate > 0.0:
        noise.div_(survival_rate)
    return input * noise
'''

STOCHASTIC_DEPTH_FUNCTION = f'''def stochastic_depth(input, p, mode, training=True):
    """torchvision.ops.stochastic_depth: zero the whole input ("batch") or whole rows of it
    ("row") with probability p when training, and scale what is kept by 1 / (1 - p)."""{_DROP}'''

STOCHASTIC_DEPTH = f'''class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: stochastic_depth with the module's training flag."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, input):
        p, mode, training = self.p, self.mode, self.training{indent(_DROP, '    ')}'''

PERMUTE = '''class Permute(nn.Module):
    """torchvision.ops.misc.Permute: the input's dims in the order dims."""

    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return torch.permute(x, self.dims)
'''

LAYER_NORM_2D = '''class LayerNorm2d(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d: LayerNorm over the channels of (N, C, H, W)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)
'''


def _mode(mode) -> None:
    if mode not in ("batch", "row"):
        raise ParamError(f"mode has to be either 'batch' or 'row', got {mode!r}")


def _stochastic_depth(b, shape):
    check_probability(b)
    _mode(b["mode"])
    note = None
    if b["mode"] == "row" and not shape and b["p"] != 0:
        note = ("in training mode torchvision raises here (mode 'row' needs a batch dim, the "
                "input is 0-d); eval mode is fine")
    return Step(tuple(shape), note=note)


def _stochastic_depth_function(b):
    check_probability(b)
    _mode(b["mode"])
    check_bool(b, "training")
    shape = b["input"]
    if b["mode"] == "row" and not shape and b["p"] != 0 and b["training"]:
        raise ShapeError("stochastic_depth with mode 'row' needs a batch dim, got a 0-d input",
                         fix="use mode='batch', or training=False")
    return Step(tuple(shape))


def _permute(b, shape):
    dims = b["dims"]
    if not isinstance(dims, (list, tuple)) or any(isinstance(d, bool) or not isinstance(d, int) for d in dims):
        raise ParamError(f"dims must be a list of integers, got {dims!r}")
    if len(dims) != len(shape):
        raise ShapeError(f"dims {list(dims)} name {len(dims)} dimensions of a {len(shape)}-d input "
                         f"{list(shape)}", fix="name every dimension of the input once")
    order = [norm_dim(d, len(shape), "dims") for d in dims]
    if len(set(order)) != len(order):
        raise ShapeError(f"dims {list(dims)} repeat a dimension", fix="name every dimension once")
    return Step(tuple(shape[d] for d in order), rf=(moved(order),) if order else ())


def _channels(shape):
    if len(shape) != 4:
        raise rank_error("LayerNorm2d", shape, (4,), " (N, C, H, W)")
    return [shape[1]]


def _layernorm2d(b, shape):
    _channels(shape)
    n, c, h, w = shape
    step = layernorm_rule(b, (n, h, w, c))
    normalized = b["normalized_shape"]
    count = len(normalized) if isinstance(normalized, (list, tuple)) else 1
    mixed = (-3, -1, -2, -4)[:count]  # (N, H, W, C)'s last dims, as dims of (N, C, H, W)
    return Step(tuple(shape), params=step.params, rf=(Mix(mixed),) if count else ())


LAYERS = [
    LayerType(
        "StochasticDepth",
        signature("p", "mode"),
        _stochastic_depth, family="torchvision",
        example="StochasticDepth(0.1, 'row')", example_input=(2, 4, 6, 6),
        summary=("p", "mode"),
        source=STOCHASTIC_DEPTH,
        doc="torchvision.ops.StochasticDepth: shape-preserving; when training it zeroes "
        "the whole input (mode 'batch') or rows of it (mode 'row') with probability p.",
    ),
    LayerType(
        "Permute",
        signature("dims"),
        _permute, family="torchvision",
        example="Permute([0, 2, 3, 1])", example_input=(2, 4, 6, 6),
        summary=("dims",),
        source=PERMUTE,
        doc="torchvision.ops.misc.Permute: torch.permute(x, dims); dims names every input dim once.",
    ),
    LayerType(
        "LayerNorm2d",
        signature("normalized_shape", ("eps", 1e-05), ("elementwise_affine", True), ("bias", True)),
        _layernorm2d, family="torchvision",
        example="LayerNorm2d(4)", example_input=(2, 4, 6, 6),
        summary=("normalized_shape",),
        infer=(Infer("normalized_shape", _channels, "channels", strict=False),),
        source=LAYER_NORM_2D,
        doc="torchvision.models.convnext.LayerNorm2d: LayerNorm over the channels of a 4-d "
        "(N, C, H, W) input (normalized_shape matches (N, H, W, C)'s last dims; omitted: "
        "the channels). Params: 2C (C without bias; none without elementwise_affine).",
    ),
]

FUNCTIONS = [
    FunctionType(
        "stochastic_depth", params("input:tensor", "p", "mode", ("training", True)),
        _stochastic_depth_function, "torchvision",
        doc="torchvision.ops.stochastic_depth: shape-preserving (identity when training=False).",
        examples=(("torchvision.ops.stochastic_depth(x, 0.2, 'row')", [(2, 3, 4)]),
                  ("torchvision.ops.stochastic_depth(x, 0.5, 'batch', training=False)", [(3,)]),
                  ("torchvision.ops.stochastic_depth(x, 1.5, 'row')", [(2, 3)]),
                  ("torchvision.ops.stochastic_depth(x, 0.5, 'rows')", [(2, 3)]),
                  ("torchvision.ops.stochastic_depth(x, 0.5, 'row')", [()])),
        method=False,
        source=STOCHASTIC_DEPTH_FUNCTION, origin="torchvision.ops.stochastic_depth",
    ),
]
