"""The pooling functions on the pooling layers' rules (ops/pool.py): ``F.adaptive_avg_pool1d``,
``2d``, ``3d``, ``F.adaptive_max_pool2d``, ``F.avg_pool2d``, ``F.max_pool2d``;
``return_indices`` (any true value, as F tests it) adds the indices as a second output.

Where the functions differ from the layers' rules, as ATen does: an empty channel dim of a
batched input is refused by the 2-d window poolings, adaptive_max_pool2d and
adaptive_avg_pool3d; avg_pool2d and max_pool2d take a one-element kernel_size, stride or
padding for both dims (and ``stride=[]`` as the kernel); an adaptive average pooling to
all 1s is ATen's mean over the last dims, which takes any rank from nd up and empty dims.
"""

from __future__ import annotations

from convcalc.engine.params import PoolKind
from convcalc.errors import ParamError, ShapeError
from convcalc.ops import pool
from convcalc.ops.base import Mix, Step, check_bool, rank_error
from convcalc.ops.function import FunctionType, params


def _symbolic(value) -> bool:
    return hasattr(value, "free_symbols")


_WINDOW = ("kernel_size", "stride", "padding", "dilation")


def _pooling(layer_rule, op: str, channels: int | None):
    """A pooling function: the layer's rule, ATen's empty-channel check (``channels``: the
    rank at which dim 1 must be non-empty; 0: dim -3 at any rank), and the indices as a
    second output when return_indices is true (any true value, as F tests it)."""
    def rule(b):
        shape = tuple(b["input"])
        for name in ("ceil_mode", "count_include_pad"):
            if name in b:
                check_bool(b, name)
        if isinstance(b.get("divisor_override"), bool):
            raise ParamError(f"{op}: divisor_override must be an integer or None, got {b['divisor_override']!r}")
        if op in ("avg_pool2d", "max_pool2d"):  # ATen takes one value for both dims, [] stride as None
            b = {k: v[0] if k in _WINDOW and isinstance(v, (list, tuple)) and len(v) == 1 else v
                 for k, v in b.items()}
            if b["stride"] in ([], ()):
                b["stride"] = None
        step = layer_rule({**b, "return_indices": False}, shape)
        cdim = -3 if channels == 0 else 1 if channels == len(shape) else None
        if cdim is not None and not _symbolic(shape[cdim]) and shape[cdim] == 0:
            raise ShapeError(f"{op}: expected a non-empty channel dim, got the input {list(shape)}")
        more = (step.out,) if b.get("return_indices") else ()
        return Step(step.out, rf=step.rf, drops=step.drops, more=more)

    return rule


def _adaptive_avg(nd: int):
    """F.adaptive_avg_pool{nd}d: None elements take the input's sizes (2-d/3-d, a tuple needs
    more dims than it has values), and an output of all 1s is ATen's mean over the last nd
    dims, which takes any rank and empty dims; otherwise AdaptiveAvgPool's rule."""
    op = f"adaptive_avg_pool{nd}d"
    layer = _pooling(pool.adaptive_rule(nd, op), op, 5 if nd == 3 else None)

    def rule(b):
        shape, size = tuple(b["input"]), b["output_size"]
        if nd == 1 and len(shape) not in (2, 3):
            raise rank_error(op, shape, (2, 3))
        if nd > 1 and isinstance(size, (list, tuple)):
            if len(shape) <= len(size):
                raise ShapeError(f"{op}: output_size {list(size)} needs an input of at least {len(size) + 1} "
                                 f"dims, got {list(shape)}")
            sizes = tuple(shape[len(shape) - len(size) + i] if v is None else v for i, v in enumerate(size))
        else:
            sizes = tuple(size) if isinstance(size, (list, tuple)) else (size,) * nd
        if len(sizes) == nd and all(isinstance(v, int) and not isinstance(v, bool) and v == 1 for v in sizes):
            if len(shape) < nd:
                raise rank_error(op, shape, tuple(range(nd, nd + 3)))
            return Step((*shape[:len(shape) - nd], *sizes), rf=(Mix(tuple(range(-nd, 0))),))
        return layer(b)  # the layer's rule keeps the input size for None

    return rule


def _ex(call, *shapes):
    return (call, shapes)


_MAXPOOL = pool.pool_rule(2, PoolKind.MAX, "max_pool2d")
_AVGPOOL = pool.pool_rule(2, PoolKind.AVG, "avg_pool2d")

FUNCTIONS = [
    FunctionType("adaptive_avg_pool1d", params("input:tensor", "output_size"),
                 _adaptive_avg(1), "pooling",
                 "AdaptiveAvgPool1d as a function.", (_ex("F.adaptive_avg_pool1d(x, 3)", (2, 4, 7)),), method=False),
    FunctionType("adaptive_avg_pool2d", params("input:tensor", "output_size"),
                 _adaptive_avg(2), "pooling",
                 "AdaptiveAvgPool2d as a function.",
                 (_ex("F.adaptive_avg_pool2d(x, 1)", (2, 4, 7, 7)), _ex("F.adaptive_avg_pool2d(x, (None, 2))", (4, 7, 6))),
                 method=False),
    FunctionType("adaptive_avg_pool3d", params("input:tensor", "output_size"),
                 _adaptive_avg(3), "pooling",
                 "AdaptiveAvgPool3d as a function.",
                 (_ex("F.adaptive_avg_pool3d(x, (1, 2, 2))", (1, 2, 4, 4, 4)), _ex("F.adaptive_avg_pool3d(x, 2)", (1, 0, 4, 4, 4))),
                 method=False),
    FunctionType("adaptive_max_pool2d", params("input:tensor", "output_size", ("return_indices", False)),
                 _pooling(pool.adaptive_rule(2, "adaptive_max_pool2d"), "adaptive_max_pool2d", 4), "pooling",
                 "AdaptiveMaxPool2d as a function; return_indices adds the indices as a second output.",
                 (_ex("F.adaptive_max_pool2d(x, 2)", (1, 3, 5, 5)), _ex("F.adaptive_max_pool2d(x, (2, 3))", (1, 0, 5, 5))),
                 method=False),
    FunctionType("avg_pool2d", params("input:tensor", "kernel_size", ("stride", None), ("padding", 0), ("ceil_mode", False),
                                      ("count_include_pad", True), ("divisor_override", None)),
                 _pooling(_AVGPOOL, "avg_pool2d", 0), "pooling", "AvgPool2d as a function.",
                 (_ex("F.avg_pool2d(x, 3, 2, 1, True)", (1, 3, 5, 5)), _ex("F.avg_pool2d(x, 2)", (1, 0, 4, 4))),
                 method=False),
    FunctionType("max_pool2d", params("input:tensor", "kernel_size", ("stride", None), ("padding", 0), ("dilation", 1),
                                      ("ceil_mode", False), ("return_indices", False)),
                 _pooling(_MAXPOOL, "max_pool2d", 0), "pooling",
                 "MaxPool2d as a function; return_indices adds the indices as a second output.",
                 (_ex("F.max_pool2d(x, 3, stride=2, padding=1)", (1, 3, 9, 9)),
                  _ex("F.max_pool2d(x, 2, ceil_mode=1)", (1, 3, 4, 4)), _ex("F.max_pool2d(x, 5)", (1, 3, 4, 4))),
                 method=False),
]
