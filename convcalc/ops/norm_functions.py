"""``F.batch_norm``: BatchNorm as a function of its statistics and affine tensors, as timm's
``BatchNormAct2d`` and frozen-statistics layers call it; ``F.group_norm`` (timm's GroupNorm1,
PoolFormer's); ``F.normalize`` (unit vectors along a dim: EdgeNeXt's and Swin V2's cosine
attention).

ATen's checks, in its order: a training call needs more than one value per channel
(``_verify_batch_size``); the channel count C is ``input.size(1)`` (0 below two dims);
``running_mean``, ``running_var``, ``weight`` and ``bias`` must each hold C elements (a
count, not a shape), the running statistics as 1-d tensors; evaluation needs both
running statistics. The output has the input's shape; no MACs (a norm, as BatchNorm2d).
"""

from __future__ import annotations

from convcalc.engine.symbolic import is_symbolic, unequal, violated
from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import NUMBER, Kind, Mix, Step, prod
from convcalc.ops.function import FunctionType, params
from convcalc.ops.shape import wrap


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


def _group_norm(b):
    """F.group_norm's checks, then ATen's: at least 2 dims; more than one value per group
    (``_verify_batch_size`` on ``[N * C // G, G, *spatial]``, in eval mode too); C divisible
    by G; weight and bias 1-d of C elements."""
    shape, groups = tuple(b["input"]), b["num_groups"]
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise ParamError(f"group_norm: num_groups must be an integer, got {groups!r}")
    if len(shape) < 2:
        raise ShapeError(f"group_norm: expected at least 2 dimensions for the input, got {len(shape)}")
    if groups == 0:
        raise ParamError("group_norm: num_groups must not be 0 (torch divides the channels by it)")
    values = shape[0] * shape[1] // groups * prod(shape[2:])
    if not is_symbolic(values) and values == 1:
        raise ShapeError(f"group_norm: expected more than 1 value per channel when training, got the "
                         f"input {list(shape)} with num_groups={groups}", fix="use a larger input or batch, or fewer groups")
    channels = shape[1]
    if groups < 0 or violated(unequal(channels % groups, 0), "group_norm's channels divide into num_groups"):
        raise ShapeError(f"group_norm: the input's {channels} channels must be divisible by num_groups={groups}")
    for name in ("weight", "bias"):
        given = b[name]
        if given is not None and (len(given) != 1 or violated(unequal(given[0], channels), f"group_norm's {name} has C elements")):
            raise ShapeError(f"group_norm: {name} must be a vector of the input's {channels} channels, "
                             f"got the shape {list(given)}")
    return Step(shape)  # per channel group, as GroupNorm's receptive field


def _normalize(b):
    """``input / input.norm(p, dim, keepdim=True).clamp_min(eps)``: the input's shape; the
    norm reads the whole of ``dim``."""
    shape, dim = tuple(b["input"]), b["dim"]
    if b["out"] is not None:
        raise ParamError("normalize: out= writes into a tensor a spec does not have", fix="leave out= out")
    if dim is None:  # input.norm(p, None): the norm of every element
        dims = list(range(len(shape)))
    else:
        dims = [wrap("normalize", d, len(shape)) for d in (dim if isinstance(dim, (list, tuple)) else [dim])]
        if len(set(dims)) != len(dims):
            raise ShapeError(f"normalize: dim {list(dim)} names a dimension twice")
    return Step(shape, rf=(Mix(tuple(sorted({d - len(shape) for d in dims}))),) if shape else ())


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
    FunctionType("group_norm", params("input:tensor", "num_groups", ("weight:tensor", None), ("bias:tensor", None),
                                      ("eps", 1e-05)),
                 _group_norm, "normalization",
                 "GroupNorm as a function: C = input.size(1) divisible by num_groups; weight and bias "
                 "(tensors, counted where they are made) hold C elements.",
                 (_ex("F.group_norm(x, 2)", (2, 4, 5, 5)), _ex("F.group_norm(x, 4, y, z)", (1, 8, 3), (8,), (8,)),
                  _ex("F.group_norm(x, 3)", (2, 4, 5)), _ex("F.group_norm(x, 4)", (1, 4)),
                  _ex("F.group_norm(x, 2, y)", (2, 4, 3), (2,)), _ex("F.group_norm(x, 1)", (4,)),
                  _ex("F.group_norm(x, 0)", (2, 4, 3)), _ex("F.group_norm(x, -2)", (2, 4, 3)),
                  _ex("F.group_norm(x, 2, y)", (2, 4, 3), (4, 1)), _ex("F.group_norm(x, 1)", (0, 4, 3))),
                 method=False, kinds={"num_groups": None}),
    FunctionType("normalize", params("input:tensor", ("p", 2.0), ("dim", 1), ("eps", 1e-12), ("out", None)),
                 _normalize, "normalization",
                 "Unit vectors along dim (p-norm, at least eps): the input's shape; the receptive "
                 "field covers dim.",
                 (_ex("F.normalize(x)", (2, 3)), _ex("F.normalize(x, dim=-1)", (2, 5, 4)),
                  _ex("F.normalize(x, p=1.0, dim=0)", (3,)), _ex("F.normalize(x, dim=2)", (2, 3)),
                  _ex("F.normalize(x, dim=0)", ())),
                 method=False, kinds={"dim": None, "p": Kind("number", optional=True), "out": None}),
]
