"""Reductions and softmax as torch computes their shapes: ``mean``, ``sum``, ``amax``,
``amin``, ``max``/``min`` (with a dim: values and indices), ``softmax``, ``log_softmax``.

``dim`` is an int or a list of ints (``None`` or ``()`` reduces every dim); each is
wrapped as ATen's ``maybe_wrap_dim`` does, and a dim named twice is refused.
``keepdim=True`` leaves a 1 where a dim was reduced. ``amax``/``amin``/``max``/``min``
refuse to reduce an empty dim (they have no identity), ``mean``/``sum`` do not. Every
value of a spec is float32, so torch's refusal of ``mean`` on integer input never arises
(it is not modelled); ``dtype=`` is refused (a spec has no dtypes to give).

Receptive field: the reduced (or softmax) dims are mixed (``Mix``): global when they carry
the field, unchanged otherwise; removed dims move the others (``Axes``).
"""

from __future__ import annotations

from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import Axes, Mix, Step, check_bool, norm_dim
from convcalc.ops.function import FunctionType, params


class _Unset:
    """An argument not given: torch.max(input) and torch.max(input, dim, keepdim) are two
    overloads (as are sum's and mean's), so no dim is not dim=None (``x.max(None)`` is
    refused) and a keepdim without a dim is refused."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<no {self.name}>"


NO_DIM = _Unset("dim")
UNSET = _Unset("keepdim")


def _keepdim(op: str, b: dict) -> bool:
    """keepdim as given (a bool), False when omitted; refused without a dim."""
    if b["keepdim"] is UNSET:
        return False
    if b.get("dim", None) is NO_DIM:
        raise ParamError(f"{op}: keepdim needs a dim", fix=f"write {op}(dim, keepdim=...), or drop keepdim")
    check_bool(b, "keepdim")
    return b["keepdim"]


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def reduced_dims(op: str, dim, rank: int) -> list:
    """The wrapped dims a reduction acts on: None, () and [] mean every dim."""
    if dim is None or (isinstance(dim, (list, tuple)) and not dim):
        return list(range(rank))
    if _is_int(dim):
        return [norm_dim(dim, rank)]
    if not isinstance(dim, (list, tuple)) or not all(_is_int(d) for d in dim):
        raise ParamError(f"{op}: dim must be an integer or a list of integers, got {dim!r}")
    seen = []
    for d in dim:
        wrapped = norm_dim(d, rank)
        if wrapped in seen:
            raise ShapeError(f"{op}: dim {wrapped} appears multiple times in the list of dims {list(dim)}",
                             fix="name each dimension once")
        seen.append(wrapped)
    return seen


def _no_dtype(op: str, b: dict) -> None:
    if b.get("dtype") is not None:
        raise ParamError(f"{op}: dtype={b['dtype']!r} is not supported (every value of a spec is float32)",
                         fix="drop dtype")


def reduce_step(shape: tuple, dims: list, keepdim: bool) -> Step:
    """The output of reducing ``dims`` of ``shape``, and its receptive-field ops."""
    rank = len(shape)
    if rank == 0:  # a 0-d tensor takes dim 0 or -1 and stays 0-d
        return Step(())
    out = tuple(1 if i in dims else s for i, s in enumerate(shape)) if keepdim else \
        tuple(s for i, s in enumerate(shape) if i not in dims)
    rf = [Mix(tuple(d - rank for d in sorted(dims)))]
    if not keepdim and dims:
        kept = [i for i in range(rank) if i not in dims]
        rf.append(Axes(tuple((i - rank, j - len(kept)) for j, i in enumerate(kept))))
    return Step(out, rf=tuple(rf))


def _nonempty(op: str, shape: tuple, dims: list, whole: bool) -> None:
    """amax/amin/max/min: no identity, so nothing to reduce is refused."""
    if whole and any(not _symbolic(s) and s == 0 for s in shape):
        raise ShapeError(f"{op}: cannot reduce the empty input {list(shape)} over every dim",
                         fix="name the dims to reduce (dim=...), none of them empty")
    for d in dims:
        if shape and not _symbolic(shape[d]) and shape[d] == 0:
            raise ShapeError(f"{op}: expected reduction dim {d} to have non-zero size, got the input {list(shape)}",
                             fix="reduce a non-empty dim")


def _symbolic(size) -> bool:
    return not isinstance(size, int)


def _reduction(op: str, needs_values: bool):
    def rule(b):
        shape = b["input"]
        keepdim = _keepdim(op, b)
        _no_dtype(op, b)
        dim = None if b["dim"] is NO_DIM else b["dim"]
        dims = reduced_dims(op, dim, len(shape))
        if needs_values:
            whole = dim is None or not isinstance(dim, int) and not dim
            _nonempty(op, shape, [] if whole else dims, whole)
        return reduce_step(shape, dims, keepdim)

    return rule


def _max_min(op: str):
    def rule(b):
        shape = b["input"]
        keepdim = _keepdim(op, b)
        dim = b["dim"]
        if dim is NO_DIM:
            _nonempty(op, shape, [], True)
            return reduce_step(shape, list(range(len(shape))), False)
        if not _is_int(dim):
            raise ParamError(f"{op}: dim must be an integer, got {dim!r}",
                             fix="reduce one dim at a time, or use amax/amin for several")
        d = norm_dim(dim, len(shape))
        _nonempty(op, shape, [d], False)
        step = reduce_step(shape, [d], keepdim)
        return Step(step.out, rf=step.rf, more=(step.out,))  # (values, indices)

    return rule


def _softmax(op: str):
    def rule(b):
        shape = b["input"]
        _no_dtype(op, b)
        dim, note = b["dim"], None
        rank = len(shape)
        if dim is None:
            if not _is_int(b["_stacklevel"]):
                raise ParamError(f"{op}: _stacklevel must be an integer, got {b['_stacklevel']!r}")
            dim = 0 if rank in (0, 1, 3) else 1  # F's _get_softmax_dim
            note = (f"{op} without dim picks dim={dim} (deprecated; torch.{op} and "
                    f"Tensor.{op} require dim)")
        elif not _is_int(dim):
            raise ParamError(f"{op}: dim must be an integer, got {dim!r}")
        d = norm_dim(dim, rank)
        return Step(tuple(shape), rf=(Mix((d - rank,)),) if rank else (), note=note)

    return rule


def _ex(call, *shapes):
    return (call, shapes)


_REDUCE_SIG = params("input:tensor", ("dim", NO_DIM), ("keepdim", UNSET), ("|dtype", None))
_EXTREMA_SIG = params("input:tensor", ("dim", ()), ("keepdim", False))

FUNCTIONS = [
    FunctionType("mean", _REDUCE_SIG, _reduction("mean", False), "reduction",
                 "Mean over dim (an int or a list; default every dim); keepdim leaves 1s.",
                 (_ex("x.mean((2, 3), keepdim=True)", (2, 3, 4, 5)), _ex("x.mean(-1)", (2, 3, 4)),
                  _ex("torch.mean(x)", (2, 3)), _ex("x.mean([1, -2])", (2, 3, 4)),
                  _ex("x.mean(3)", (2, 3, 4)))),
    FunctionType("sum", _REDUCE_SIG, _reduction("sum", False), "reduction",
                 "Sum over dim (an int or a list; default every dim); keepdim leaves 1s.",
                 (_ex("x.sum(1)", (2, 3, 4)), _ex("torch.sum(x, (0, 2), keepdim=True)", (2, 3, 4)),
                  _ex("x.sum(dim=(1, 1))", (2, 3)), _ex("x.sum(0)", (0, 3)))),
    FunctionType("amax", _EXTREMA_SIG, _reduction("amax", True), "reduction",
                 "Maximum over dim (an int or a list; default every dim); an empty dim is refused.",
                 (_ex("x.amax((2, 3))", (2, 3, 4, 5)), _ex("torch.amax(x, -1, keepdim=True)", (2, 3)),
                  _ex("x.amax(0)", (0, 3)), _ex("x.amax(0)", (3, 0)))),
    FunctionType("amin", _EXTREMA_SIG, _reduction("amin", True), "reduction",
                 "Minimum over dim (an int or a list; default every dim); an empty dim is refused.",
                 (_ex("x.amin(1)", (2, 3, 4)), _ex("x.amin()", (0, 3)))),
    FunctionType("max", params("input:tensor", ("dim", NO_DIM), ("keepdim", UNSET)), _max_min("max"),
                 "reduction", "Without dim, the largest element (0-d); with an int dim, two outputs: "
                 "(values, indices).",
                 (_ex("x.max()", (2, 3)), _ex("x.max(0)", (0, 3)), _ex("x.max(dim=None)", (2, 3)),
                  _ex("x.max(3)", (2, 3)), _ex("torch.max(x)", (0,)))),
    FunctionType("min", params("input:tensor", ("dim", NO_DIM), ("keepdim", UNSET)), _max_min("min"),
                 "reduction", "Without dim, the smallest element (0-d); with an int dim, two outputs: "
                 "(values, indices).",
                 (_ex("torch.min(x)", (4,)), _ex("x.min(2)", (2, 3)), _ex("x.min((0, 1))", (2, 3)))),
    FunctionType("softmax", params("input:tensor", ("dim", None), ("_stacklevel", 3), ("dtype", None)),
                 _softmax("softmax"), "reduction",
                 "Shape-preserving along dim; F.softmax without dim picks 0 for 0/1/3-d input, else 1.",
                 (_ex("x.softmax(-1)", (2, 3, 4)), _ex("F.softmax(x, dim=1)", (2, 3, 4, 4)),
                  _ex("torch.softmax(x.sum(), -1)", (2,)), _ex("F.softmax(x, 2)", (2, 3)))),
    FunctionType("log_softmax", params("input:tensor", ("dim", None), ("_stacklevel", 3), ("dtype", None)),
                 _softmax("log_softmax"), "reduction",
                 "Shape-preserving along dim, as softmax.",
                 (_ex("F.log_softmax(x, dim=-1)", (2, 5)), _ex("x.log_softmax(1)", (2, 3, 4)),
                  _ex("torch.log_softmax(x, -3)", (2, 3)))),
]
