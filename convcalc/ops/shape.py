"""Tensor shape operations: reshape, view, flatten, permute, squeeze, expand... as PyTorch's
ATen code computes them (``infer_size``, ``maybe_wrap_dim``, ``inferExpandGeometry``),
refusals included.

Receptive field: the field follows the axes (``Axes``): a permutation moves them, squeeze and
unsqueeze shift them, a reshape keeps the dims whose boundaries line up (``regroup``); a
merged, split or expanded dim that carries the field makes it global. ``contiguous`` and
``roll`` leave every axis in place (``rf=()``).

Sizes may be symbolic (sympy): sizes are compared through ``violated``, so an undecidable
check becomes a stated assumption.
"""

from __future__ import annotations

from convcalc.engine.symbolic import is_symbolic, pretty, unequal, violated
from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import Axes, Kind, Step, moved, prod, regroup
from convcalc.ops.function import FunctionType, params


def is_expr(value) -> bool:
    """A symbolic size (a sympy expression), as opposed to a Python value."""
    return is_symbolic(value) and hasattr(value, "free_symbols")


def show(values) -> str:
    """``[2, -1, H]``: a list of sizes as torch prints it."""
    return "[" + ", ".join(pretty(v) for v in values) + "]"


def as_int(op: str, value, what: str, bools: bool = False):
    """An integer argument (a symbolic size passes); torch refuses a bool for most of them."""
    if is_expr(value):
        return value
    if (isinstance(value, bool) and not bools) or not isinstance(value, int):
        raise ParamError(f"{op}: {what} must be an integer, got {value!r}")
    return int(value)


def int_list(op: str, value, what: str, bools: bool = False) -> list:
    if not isinstance(value, (list, tuple)):
        raise ParamError(f"{op}: {what} must be a list of integers, got {value!r}")
    return [as_int(op, v, f"each of {what}", bools) for v in value]


def wrap(op: str, dim, rank: int, what: str = "dim", scalar: bool = True) -> int:
    """torch's ``maybe_wrap_dim``: ``dim`` in ``[-rank, rank)``; a 0-d tensor takes 0 and -1
    unless ``scalar`` is False (roll, unbind)."""
    dim = as_int(op, dim, what)
    if is_expr(dim):
        raise ShapeError(f"{op}: {what} must be a number, got {pretty(dim)}")
    if rank == 0 and not scalar:
        raise ShapeError(f"{op}: {what}={dim} is invalid: the tensor has no dimensions",
                         fix="a 0-d tensor has no dimension to name")
    top = max(rank, 1)
    if not -top <= dim < top:
        raise ShapeError(f"{op}: {what}={dim} is out of range for a {rank}-d input "
                         f"(expected {-top} to {top - 1})")
    return dim % top


def lt(a, b):
    """``a < b`` as a condition for ``violated``."""
    if is_expr(a) or is_expr(b):
        import sympy

        return sympy.Lt(a, b)
    return a < b


def _regroup(shape, out) -> tuple:
    """The receptive-field ops of a reshaping: the dims it keeps whole."""
    return () if tuple(out) == tuple(shape) else (regroup(shape, out),)


def kept(rank: int, origins: list) -> tuple:
    """The receptive-field ops of an output whose dim j is input dim ``origins[j]`` (None:
    new, merged or resampled)."""
    if origins == list(range(rank)):
        return ()
    n = len(origins)
    return (Axes(tuple((o - rank, j - n) for j, o in enumerate(origins) if o is not None)),)


def infer_size(op: str, sizes: list, numel, refuse) -> list:
    """torch's ``infer_size``: at most one -1, inferred from ``numel``; ``refuse()`` builds
    the error for sizes that do not multiply to ``numel``."""
    inferred, known = None, 1
    for i, s in enumerate(sizes):
        if not is_expr(s) and s == -1:
            if inferred is not None:
                raise ParamError(f"{op}: only one dimension can be inferred, got {show(sizes)}",
                                 fix="give every size but one, and -1 for that one")
            inferred = i
        elif is_expr(s) or s >= 0:
            known *= s
        else:
            raise ParamError(f"{op}: invalid size {s} at index {i} of {show(sizes)}",
                             fix="sizes are >= 0, or -1 for the one to infer")
    if inferred is None:
        if violated(unequal(numel, known), f"{op} keeps the number of elements"):
            raise refuse()
        return sizes
    if not is_expr(known) and known == 0:
        if not is_expr(numel) and numel == 0:
            raise ShapeError(f"{op}: cannot infer the -1 in {show(sizes)} for a tensor of 0 "
                             "elements: it could be any size", fix="give every size")
        raise refuse()
    if violated(unequal(numel % known, 0), f"{op} divides the elements exactly"):
        raise refuse()
    out = list(sizes)
    out[inferred] = numel // known
    return out


def _reshape(op: str, bools: bool):
    def rule(b):
        shape = b["input"]
        name = "size" if op == "view" else "shape"
        sizes = int_list(op, b[name], name, bools)
        numel = prod(shape)
        out = infer_size(op, sizes, numel, lambda: ShapeError(
            f"{op}: shape {show(sizes)} is invalid for input of size {pretty(numel)} (shape "
            f"{show(shape)})", fix=f"the sizes must multiply to {pretty(numel)}, or use one -1"))
        return Step(tuple(out), rf=_regroup(shape, out))

    return rule


def _reshape_as(op: str):
    def rule(b):
        shape, target = b["input"], b["other"]
        numel = prod(shape)
        infer_size(op, list(target), numel, lambda: ShapeError(
            f"{op}: the shape {show(target)} of other is invalid for input of size "
            f"{pretty(numel)} (shape {show(shape)})", fix="other must have as many elements"))
        return Step(tuple(target), rf=_regroup(shape, target))

    return rule


def _flatten(b):
    shape = b["input"]
    rank = len(shape)
    start = wrap("flatten", b["start_dim"], rank, "start_dim")
    end = wrap("flatten", b["end_dim"], rank, "end_dim")
    if start > end:
        raise ShapeError(f"flatten: start_dim={b['start_dim']} comes after end_dim={b['end_dim']} "
                         f"for the {rank}-d shape {show(shape)}", fix="start_dim must not come after end_dim")
    if rank == 0:
        return Step((1,), rf=(regroup(shape, (1,)),))
    out = (*shape[:start], prod(shape[start:end + 1]), *shape[end + 1:])
    return Step(out, rf=_regroup(shape, out))


def _unflatten(b):
    shape = b["input"]
    dim = wrap("unflatten", b["dim"], len(shape))
    sizes = int_list("unflatten", b["sizes"], "sizes")
    if not shape:
        raise ShapeError("unflatten: a 0-d tensor has no dimension to unflatten")
    if not sizes:
        raise ParamError("unflatten: sizes must be non-empty", fix="give at least one size")
    total = shape[dim]
    sizes = infer_size("unflatten", sizes, total, lambda: ShapeError(
        f"unflatten: sizes {show(sizes)} don't multiply up to the size {pretty(total)} of dimension "
        f"{dim} (shape {show(shape)})", fix=f"the sizes must multiply to {pretty(total)}, or use one -1"))
    out = (*shape[:dim], *sizes, *shape[dim + 1:])
    return Step(out, rf=_regroup(shape, out))


def _order(shape, order) -> Step:
    return Step(tuple(shape[d] for d in order), rf=() if list(order) == sorted(order) else (moved(order),))


def _permute(b):
    shape = b["input"]
    dims = int_list("permute", b["dims"], "dims")
    if len(dims) != len(shape):
        raise ShapeError(f"permute: dims {show(dims)} name {len(dims)} dimensions of a "
                         f"{len(shape)}-d input (shape {show(shape)})",
                         fix="name every dimension exactly once")
    order = [wrap("permute", d, len(shape)) for d in dims]
    if len(set(order)) != len(order):
        raise ShapeError(f"permute: dims {show(dims)} repeat a dimension",
                         fix="name every dimension exactly once")
    return _order(shape, order)


def _transpose(op: str, first: str, second: str):
    def rule(b):
        shape = b["input"]
        a, c = (wrap(op, b[n], len(shape), n) for n in (first, second))
        order = list(range(len(shape)))
        if shape:
            order[a], order[c] = order[c], order[a]
        return _order(shape, order)

    return rule


def _t(b):
    shape = b["input"]
    if len(shape) > 2:
        raise ShapeError(f"t: expects a tensor with <= 2 dimensions, got the {len(shape)}-d shape "
                         f"{show(shape)}", fix="use transpose(dim0, dim1) or permute")
    return _order(shape, list(range(len(shape)))[::-1])


def _movedim(b):
    shape = b["input"]
    src, dst = b["source"], b["destination"]
    if isinstance(src, (list, tuple)) != isinstance(dst, (list, tuple)):
        raise ParamError(f"movedim: source and destination must both be integers or both lists, "
                         f"got {src!r} and {dst!r}")
    src = int_list("movedim", src if isinstance(src, (list, tuple)) else [src], "source")
    dst = int_list("movedim", dst if isinstance(dst, (list, tuple)) else [dst], "destination")
    if len(src) != len(dst):
        raise ParamError(f"movedim: source {show(src)} and destination {show(dst)} must name as "
                         "many dimensions")
    rank = len(shape)
    src = [wrap("movedim", d, rank, "source") for d in src]
    dst = [wrap("movedim", d, rank, "destination") for d in dst]
    for what, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise ShapeError(f"movedim: repeated dim in {what} {show(dims)}")
    if rank == 0:
        return Step(())
    order = [-1] * rank
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(rank) if d not in src)
    order = [next(rest) if o == -1 else o for o in order]
    return _order(shape, order)


def _squeeze(b):
    shape, dim = b["input"], b["dim"]
    rank = len(shape)
    if dim is None:
        dims = [i for i, s in enumerate(shape) if not is_expr(s) and s == 1]
    else:
        given = dim if isinstance(dim, (list, tuple)) else [dim]
        dims = [wrap("squeeze", d, rank) for d in int_list("squeeze", given, "dim")]
        for d in dims:
            if dims.count(d) > 1:
                raise ShapeError(f"squeeze: dim {d} appears more than once in {show(given)}")
        dims = [d for d in dims if rank and not is_expr(shape[d]) and shape[d] == 1]
    origins = [i for i in range(rank) if i not in dims]
    return Step(tuple(shape[i] for i in origins), rf=kept(rank, origins))


def _unsqueeze(b):
    shape = b["input"]
    rank = len(shape)
    d = as_int("unsqueeze", b["dim"], "dim")
    if is_expr(d) or not -rank - 1 <= d <= rank:
        raise ShapeError(f"unsqueeze: dim={pretty(d)} is out of range for the {rank}-d shape {show(shape)} "
                         f"(expected {-rank - 1} to {rank})")
    d %= rank + 1
    origins = list(range(len(shape)))
    origins.insert(d, None)
    return Step((*shape[:d], 1, *shape[d:]), rf=kept(len(shape), origins))


def expand_to(op: str, shape, sizes) -> tuple:
    """torch's ``inferExpandGeometry``: new leading dimensions, -1 keeps a size, a size-1
    dimension grows; any other size must match."""
    if len(sizes) < len(shape):
        raise ShapeError(f"{op}: the sizes {show(sizes)} name fewer dimensions than the {len(shape)}-d "
                         f"shape {show(shape)} has", fix="give at least one size per dimension of the input")
    lead = len(sizes) - len(shape)
    out = []
    for i, target in enumerate(sizes):
        size = shape[i - lead] if i >= lead else 1
        if not is_expr(target) and target == -1:
            if i < lead:
                raise ShapeError(f"{op}: size -1 is not allowed in the new leading dimension {i} "
                                 f"of {show(sizes)}", fix="give the new dimension's size")
            target = size
        elif not is_expr(target) and target < -1:
            raise ParamError(f"{op}: invalid size {target} in {show(sizes)}",
                             fix="sizes are >= 0, or -1 to keep a dimension")
        if not (not is_expr(size) and size == 1) and violated(unequal(size, target), f"{op} sizes agree"):
            raise ShapeError(f"{op}: the expanded size {pretty(target)} must match the existing size "
                             f"{pretty(size)} at non-singleton dimension {i} (sizes {show(sizes)}, "
                             f"shape {show(shape)})", fix="only a dimension of size 1 can grow")
        out.append(target)
    return tuple(out)


def _expand(b):
    shape = b["input"]
    return _expanded(shape, expand_to("expand", shape, int_list("expand", b["size"], "size", bools=True)))


def _expand_as(b):
    return _expanded(b["input"], expand_to("expand_as", b["input"], list(b["other"])))


def _expanded(shape, out) -> Step:
    """A dim that keeps its size keeps its place (from the last); a grown one is lost."""
    lead = len(out) - len(shape)
    origins = [None] * lead + [i if out[i + lead] == shape[i] else None for i in range(len(shape))]
    return Step(tuple(out), rf=kept(len(shape), origins))


def _roll(b):
    shape = b["input"]
    shifts, dims = b["shifts"], b["dims"]
    shifts = int_list("roll", shifts if isinstance(shifts, (list, tuple)) else [shifts], "shifts")
    if dims is None:
        dims = []
    dims = int_list("roll", dims if isinstance(dims, (list, tuple)) else [dims], "dims")
    if len(dims) != 1 or len(shifts) != 1:
        if not shifts:
            raise ParamError("roll: shifts is required (got an empty list)")
        if not dims and len(shifts) == 1:
            return Step(tuple(shape))  # rolled flat, then reshaped back
        if len(shifts) != len(dims):
            raise ParamError(f"roll: shifts and dims must align, got {len(shifts)} shifts "
                             f"{show(shifts)} and {len(dims)} dims {show(dims)}",
                             fix="give one shift per dimension")
    numel = prod(shape)
    if is_expr(numel) or numel != 0:  # torch returns an empty tensor before reading dims
        for d in dims:
            wrap("roll", d, len(shape), "dims", scalar=False)
    return Step(tuple(shape))


def _ex(call, *shapes):
    return (call, shapes)


FUNCTIONS = [
    FunctionType("reshape", params("input:tensor", "*shape"), _reshape("reshape", False), "shape",
                 "The same elements in a new shape; one size may be -1 (inferred). The receptive "
                 "field keeps the dims whose boundaries line up; merging or splitting its dims makes it global.",
                 (_ex("x.reshape(6, -1)", (2, 3, 4)), _ex("torch.reshape(x, (2, -1, 2))", (2, 3, 4)),
                  _ex("x[0].reshape(-1)", (3,)), _ex("x.reshape(2, -1, 5)", (2, 3, 4)),
                  _ex("x.reshape(-1, -1)", (2, 3)), _ex("x.reshape(0, -1)", (0, 3)))),
    FunctionType("view", params("input:tensor", "*size"), _reshape("view", True), "shape",
                 "As reshape (strides are not modelled: a spec's tensors are contiguous).",
                 (_ex("x.view(x.size(0), -1)", (2, 3, 4, 4)), _ex("x.view(-1, 5)", (2, 3, 4)),
                  _ex("x.view(2, -2, 12)", (2, 3, 4)))),
    FunctionType("reshape_as", params("input:tensor", "other:tensor"), _reshape_as("reshape_as"), "shape",
                 "reshape to other's shape.", (_ex("x.reshape_as(y)", (2, 6), (3, 4)),
                                               _ex("x.reshape_as(y)", (2, 6), (5,)))),
    FunctionType("view_as", params("input:tensor", "other:tensor"), _reshape_as("view_as"), "shape",
                 "view to other's shape.", (_ex("x.view_as(y)", (2, 6), (12,)),
                                            _ex("x.view_as(y)", (2, 6), (2, 5)))),
    FunctionType("flatten", params("input:tensor", ("start_dim", 0), ("end_dim", -1)), _flatten, "shape",
                 "Merges dimensions start_dim..end_dim; torch.flatten's default merges all of them "
                 "(nn.Flatten's starts at 1). Merging the field's dims makes it global.",
                 (_ex("torch.flatten(x, 1)", (2, 3, 4, 4)), _ex("x.flatten()", (2, 3, 4)),
                  _ex("x.flatten(-2, -1)", (2, 3, 4)), _ex("torch.flatten(x[0])", (3,)),
                  _ex("x.flatten(2, 1)", (2, 3, 4)), _ex("x.flatten(3)", (2, 3, 4)))),
    FunctionType("unflatten", params("input:tensor", "dim", "sizes"), _unflatten, "shape",
                 "Splits dimension dim into sizes (one -1 allowed).",
                 (_ex("x.unflatten(1, (3, -1))", (2, 12, 5)), _ex("torch.unflatten(x, -1, [2, 2])", (2, 3, 4)),
                  _ex("x.unflatten(1, (5, -1))", (2, 12)), _ex("x.unflatten(1, ())", (2, 12)))),
    FunctionType("permute", params("input:tensor", "*dims"), _permute, "shape",
                 "Reorders all dimensions (negative allowed, each named once); the receptive field "
                 "moves with them.",
                 (_ex("x.permute(0, 2, 3, 1)", (2, 3, 4, 5)), _ex("torch.permute(x, (2, 0, -2))", (2, 3, 4)),
                  _ex("x.permute(0, 1)", (2, 3, 4)), _ex("x.permute(0, 1, -3)", (2, 3, 4)))),
    FunctionType("transpose", params("input:tensor", "dim0", "dim1"), _transpose("transpose", "dim0", "dim1"),
                 "shape", "Swaps two dimensions.",
                 (_ex("x.transpose(1, 2)", (2, 3, 4)), _ex("torch.transpose(x, 0, -1)", (2, 3)),
                  _ex("x.transpose(1, 3)", (2, 3, 4)))),
    FunctionType("swapaxes", params("input:tensor", "axis0", "axis1"), _transpose("swapaxes", "axis0", "axis1"),
                 "shape", "Alias of transpose (numpy's names).",
                 (_ex("x.swapaxes(0, 2)", (2, 3, 4)), _ex("torch.swapaxes(x, 0, 5)", (2, 3, 4)))),
    FunctionType("swapdims", params("input:tensor", "dim0", "dim1"), _transpose("swapdims", "dim0", "dim1"),
                 "shape", "Alias of transpose.",
                 (_ex("x.swapdims(-1, 1)", (2, 3, 4)), _ex("x.swapdims(-4, 1)", (2, 3, 4)))),
    FunctionType("t", params("input:tensor"), _t, "shape",
                 "Transposes a tensor of at most 2 dimensions.",
                 (_ex("x.t()", (2, 3)), _ex("torch.t(x)", (3,)), _ex("x.t()", (2, 3, 4)))),
    FunctionType("movedim", params("input:tensor", "source", "destination"), _movedim, "shape",
                 "Moves dimensions source to positions destination; the others keep their order.",
                 (_ex("x.movedim(1, -1)", (2, 3, 4, 5)), _ex("torch.movedim(x, (0, 1), (2, 0))", (2, 3, 4)),
                  _ex("x.movedim((0, 0), (1, 2))", (2, 3, 4)), _ex("x.movedim(0, 3)", (2, 3, 4)))),
    FunctionType("moveaxis", params("input:tensor", "source", "destination"), _movedim, "shape",
                 "Alias of movedim.", (_ex("x.moveaxis(0, 1)", (2, 3, 4)), _ex("x.moveaxis((0, 1), (1,))", (2, 3, 4)))),
    FunctionType("squeeze", params("input:tensor", ("dim", None)), _squeeze, "shape",
                 "Removes size-1 dimensions: all of them, or those of dim (an int or a tuple); a "
                 "named dimension of another size is kept, as torch does.",
                 (_ex("x.squeeze()", (2, 1, 4, 1)), _ex("x.squeeze(1)", (2, 1, 4)), _ex("x.squeeze(0)", (2, 1, 4)),
                  _ex("torch.squeeze(x, (1, -1))", (2, 1, 4, 1)), _ex("x.squeeze(3)", (2, 1, 4)),
                  _ex("x.squeeze((1, -2))", (2, 1, 4)), _ex("x.squeeze(None)", (2, 1, 4))),
                 kinds={"dim": Kind("dims")}),  # given, an int or ints: torch.squeeze(x, None) is refused
    FunctionType("unsqueeze", params("input:tensor", "dim"), _unsqueeze, "shape",
                 "Inserts a size-1 dimension at dim (in [-ndim-1, ndim]).",
                 (_ex("x.unsqueeze(1)", (2, 3)), _ex("torch.unsqueeze(x, -1)", (2, 3)), _ex("x.unsqueeze(3)", (2, 3)))),
    FunctionType("expand", params("input:tensor", "*size"), _expand, "shape",
                 "Broadcasts to size: -1 keeps a dimension, new leading dimensions may be added, "
                 "only size-1 dimensions grow (a grown dim carrying the receptive field makes it global).",
                 (_ex("x.expand(2, -1, 4, 4)", (2, 3, 1, 1)), _ex("x.expand(5, 2, 3)", (1, 3)),
                  _ex("x.expand(2, 4)", (2, 3)), _ex("x.expand(-1, 2, 3)", (2, 3)), _ex("x.expand(3)", (2, 3)))),
    FunctionType("expand_as", params("input:tensor", "other:tensor"), _expand_as, "shape",
                 "expand to other's shape.", (_ex("x.expand_as(y)", (3, 1, 1), (2, 3, 4, 4)),
                                              _ex("x.expand_as(y)", (3, 2), (3, 4)))),
    FunctionType("contiguous", params("input:tensor"), lambda b: Step(tuple(b["input"])), "shape",
                 "The same shape (memory layout only).", (_ex("x.contiguous()", (2, 3, 4)),)),
    FunctionType("roll", params("input:tensor", "shifts", ("dims", None)), _roll, "shape",
                 "Rotates elements along dims (or the flattened tensor); the shape is unchanged.",
                 (_ex("x.roll(1)", (2, 3, 4)), _ex("torch.roll(x, (1, -2), (1, 2))", (2, 3, 4)),
                  _ex("x.roll((1, 2), 0)", (2, 3)), _ex("x.roll(1, 2)", (2, 3)), _ex("x[0].roll(1, 0)", (3,)))),
]
