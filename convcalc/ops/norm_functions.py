"""``F.batch_norm``: BatchNorm as a function of its statistics and affine tensors, as timm's
``BatchNormAct2d`` and frozen-statistics layers call it.

ATen's checks, in its order: a training call needs more than one value per channel
(``_verify_batch_size``); the channel count C is ``input.size(1)`` (0 below two dims);
``running_mean``, ``running_var``, ``weight`` and ``bias`` must each hold C elements (a
count, not a shape), the running statistics as 1-d tensors; evaluation needs both
running statistics. The output has the input's shape; no MACs (a norm, as BatchNorm2d).
"""

from __future__ import annotations

from convcalc.engine.symbolic import is_symbolic, unequal, violated
from convcalc.errors import ShapeError
from convcalc.ops.base import NUMBER, Step, prod
from convcalc.ops.function import FunctionType, params


def _batch_norm(b):
    shape = tuple(b["input"])
    if b["training"]:
        values = shape[0] if shape else 1
        for size in shape[2:]:
            values *= size
        if not is_symbolic(values) and values == 1:
            raise ShapeError(f"batch_norm: expected more than 1 value per channel when training, got "
                             f"the input {list(shape)}", fix="use a batch of at least 2 or a larger map")
    channels = shape[1] if len(shape) >= 2 else 0
    for name in ("weight", "bias", "running_mean", "running_var"):
        given = b[name]
        if given is None:
            continue
        if violated(unequal(prod(tuple(given)), channels), f"batch_norm's {name} has C elements"):
            raise ShapeError(f"batch_norm: {name} should contain {channels} elements (the input's "
                             f"channels) not {prod(tuple(given))}")
        if name.startswith("running") and len(given) != 1:
            raise ShapeError(f"batch_norm: {name} must be 1-d, got the shape {list(given)}")
    if not b["training"]:
        for name in ("running_mean", "running_var"):
            if b[name] is None:
                raise ShapeError(f"batch_norm: {name} must be defined in evaluation mode",
                                 fix="pass the running statistics, or training=True")
    return Step(shape)  # per channel, pointwise (as BatchNorm2d's receptive field)


def _ex(call, *shapes):
    return (call, shapes)


FUNCTIONS = [
    FunctionType("batch_norm", params("input:tensor", "running_mean:tensor", "running_var:tensor",
                                      ("weight:tensor", None), ("bias:tensor", None), ("training", False),
                                      ("momentum", 0.1), ("eps", 1e-05)),
                 _batch_norm, "normalization",
                 "BatchNorm as a function: running_mean, running_var, weight and bias (tensors, "
                 "counted where they are made) each hold C = input.size(1) elements; evaluation "
                 "needs the running statistics.",
                 (_ex("F.batch_norm(x, y, z)", (2, 3, 4, 4), (3,), (3,)),
                  _ex("F.batch_norm(x, y, z, w, v)", (2, 3), (3,), (3,), (3,), (3,)),
                  _ex("F.batch_norm(x, y, z, training=True)", (1, 3, 1), (3,), (3,)),
                  _ex("F.batch_norm(x, y, z)", (2, 3, 4, 4), (4,), (3,)),
                  _ex("F.batch_norm(x, y, z)", (2, 3, 4, 4), (3, 1), (3,)),
                  _ex("F.batch_norm(x, y, z, w)", (2, 3, 4), (3,), (3,), (3, 1)),
                  _ex("F.batch_norm(x, y, z, None, w)", (2, 3), (3,), (3,), (2,)),
                  _ex("F.batch_norm(x, None, None)", (2, 3, 4)), _ex("F.batch_norm(x, None, None, training=True)", (2, 3, 4))),
                 method=False, kinds={"momentum": NUMBER}),  # None is BatchNorm's cumulative average only
]
