"""``torch.repeat_interleave(input, repeats, dim=None)`` with an integer ``repeats`` (MViT's
positional embedding): each element repeated ``repeats`` times along ``dim``, or over the
flattened input without one. A tensor of repeats makes the size depend on its values:
refused, as a spec has no data."""

from __future__ import annotations

from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import Mix, Step, prod
from convcalc.ops.function import FunctionType, params


def _repeat_interleave(b):
    shape, repeats, dim = tuple(b["input"]), b["repeats"], b["dim"]
    if isinstance(repeats, bool) or not isinstance(repeats, int):
        raise ParamError(f"repeat_interleave: repeats must be an integer here (a tensor of repeats "
                         f"makes the size depend on its values), got {repeats!r}")
    if repeats < 0:
        raise ShapeError(f"repeat_interleave: repeats must be non-negative, got {repeats}")
    if b["output_size"] is not None:
        raise ParamError("repeat_interleave: output_size is for a tensor of repeats; give none")
    if dim is None:
        return Step((prod(shape) * repeats,), rf=(Mix(tuple(range(-len(shape), 0))),) if shape else ())
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise ParamError(f"repeat_interleave: dim must be an integer or None, got {dim!r}")
    rank = max(len(shape), 1) if shape else 0
    if not -rank <= dim < rank or not shape:
        raise ShapeError(f"repeat_interleave: dim {dim} is out of range for the {len(shape)}-d input "
                         f"{list(shape)}")
    axis = dim % len(shape)
    return Step((*shape[:axis], shape[axis] * repeats, *shape[axis + 1:]), rf=(Mix((axis - len(shape),)),))


def _ex(call, *shapes):
    return (call, shapes)


FUNCTIONS = [
    FunctionType("repeat_interleave", params("input:tensor", "repeats", ("dim", None), ("|output_size", None)),
                 _repeat_interleave, "shape",
                 "Each element repeated `repeats` (an integer) times along dim, or over the flattened "
                 "input without one.",
                 (_ex("torch.repeat_interleave(x, 2)", (2, 3)), _ex("torch.repeat_interleave(x, 2, dim=0)", (2, 3)),
                  _ex("x.repeat_interleave(3, 1)", (2, 3)), _ex("torch.repeat_interleave(x, -1, dim=0)", (2, 3)),
                  _ex("torch.repeat_interleave(x, 0, dim=1)", (2, 3)), _ex("torch.repeat_interleave(x, 2, dim=2)", (2, 3)),
                  _ex("torch.repeat_interleave(x, 3)", ()), _ex("torch.repeat_interleave(x, 3, dim=0)", ()),
                  _ex("torch.repeat_interleave(x, 2, dim=-1)", (2, 3)))),
]
