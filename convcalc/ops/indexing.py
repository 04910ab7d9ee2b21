"""Indexing and splitting: narrow, index_select, chunk, split, tensor_split, unbind, as
ATen's functions compute them, refusals included (``x[...]``, getitem: ops/getitem.py).

Receptive field: narrow, index_select and the splits keep every axis in place (``rf=()``);
unbind removes its dim.

A list of integers stands for torch's index tensor (``x.index_select(1, [0, 2])`` is
``x.index_select(1, torch.tensor([0, 2]))``, which exported code writes).
"""

from __future__ import annotations

from convcalc.engine.symbolic import pretty, unequal, violated
from convcalc.errors import ParamError, ShapeError, SpecError
from convcalc.ops.base import Step
from convcalc.ops.function import FunctionType, params
from convcalc.ops.shape import as_int, int_list, is_expr, kept, lt, show, wrap


def ge(a, b):
    if is_expr(a) or is_expr(b):
        import sympy

        return sympy.Ge(a, b)
    return a >= b


def is_zero(value) -> bool:
    return not is_expr(value) and value == 0


def clamp(value, size):
    """One end of a slice, as torch's ``slice`` clamps it into ``[0, size]``."""
    if not is_expr(value) and value < 0:
        value = value + size
        return 0 if violated(lt(value, 0), "the slice starts inside the dimension") else value
    return size if violated(lt(size, value), "the slice ends inside the dimension") else value


def slice_length(start, stop, step, size):
    start = clamp(0 if start is None else start, size)
    stop = size if stop is None else clamp(stop, size)
    if violated(lt(stop, start), "the slice is not empty"):
        return 0
    return stop - start if step == 1 else (stop - start + step - 1) // step


def _pieces(op: str, shape, dim: int, sizes, rf=()) -> Step:
    """Several outputs: ``shape`` with ``dim`` of each size (``None``: without ``dim``)."""
    if not sizes:
        raise SpecError(f"{op}: gives no tensors here (dimension {dim} of {show(shape)} has size "
                        "0); convcalc needs at least one output")
    outs = [(*shape[:dim], *(() if s is None else (s,)), *shape[dim + 1:]) for s in sizes]
    return Step(outs[0], rf=rf, more=tuple(outs[1:]))


def _at_least_1d(op: str, shape) -> None:
    if not shape:
        raise ShapeError(f"{op}: expects at least a 1-d tensor, got a 0-d one",
                         fix="unsqueeze or reshape it to 1-d first")


# narrow, index_select -----------------------------------------------------------------


def _narrow(b) -> Step:
    shape = tuple(b["input"])
    if not shape:
        raise ShapeError("narrow: cannot be applied to a 0-d tensor")
    start = as_int("narrow", b["start"], "start")
    length = as_int("narrow", b["length"], "length")
    if violated(lt(length, 0), "narrow's length is >= 0"):
        raise ParamError(f"narrow: length must be non-negative, got {length}")
    d = wrap("narrow", b["dim"], len(shape))
    size = shape[d]
    if violated(lt(start, -size), "narrow starts inside") or violated(lt(size, start), "narrow starts inside"):
        raise ShapeError(f"narrow: start {pretty(start)} is out of range for dimension {d} of size "
                         f"{pretty(size)} (expected {pretty(-size)} to {pretty(size)})")
    if not is_expr(start) and start < 0:
        start = start + size
    if violated(lt(size - length, start), "narrow ends inside"):
        raise ShapeError(f"narrow: start ({pretty(start)}) + length ({pretty(length)}) exceeds the size "
                         f"{pretty(size)} of dimension {d} (shape {show(shape)})",
                         fix=f"keep start + length <= {pretty(size)}")
    return Step((*shape[:d], length, *shape[d + 1:]))


def _index_select(b) -> Step:
    shape = tuple(b["input"])
    d = wrap("index_select", b["dim"], len(shape))
    index = b["index"]
    if not isinstance(index, (list, tuple)):
        raise ParamError(f"index_select: index must be a list of integers (torch's index tensor), got {index!r}",
                         fix="write index_select(dim, [i, j, ...])")
    if any(isinstance(v, (list, tuple)) for v in index):
        raise ShapeError(f"index_select: index must be a vector (a flat list), got {index!r}")
    values = int_list("index_select", index, "index")
    if not shape:
        if len(values) != 1 or not is_zero(values[0]):
            raise ShapeError(f"index_select: the index into a 0-d tensor must be [0], got {show(values)}")
        return Step(())
    size = shape[d]
    if values and is_zero(size):
        raise ShapeError(f"index_select: dimension {d} has size 0 (shape {show(shape)}): no index is valid")
    for v in values:
        if violated(lt(v, 0), "the index is in range") or violated(ge(v, size), "the index is in range"):
            raise ShapeError(f"index_select: index {pretty(v)} is out of range for dimension {d} of size "
                             f"{pretty(size)} (shape {show(shape)})",
                             fix=f"index_select takes indices from 0 to {pretty(size - 1)} (no negative ones)")
    return Step((*shape[:d], len(values), *shape[d + 1:]))


# chunk, split, tensor_split, unbind ---------------------------------------------------


def _even(n, size: int) -> list:
    """torch's ``split(size)``: pieces of ``size``, the last one smaller (at least one)."""
    count = max((n + size - 1) // size, 1)
    return [size] * (count - 1) + [n - size * (count - 1)]


def _chunk(b) -> Step:
    shape = tuple(b["input"])
    _at_least_1d("chunk", shape)
    chunks = as_int("chunk", b["chunks"], "chunks")
    if is_expr(chunks) or chunks <= 0:
        raise ParamError(f"chunk: chunks must be greater than 0, got {pretty(chunks)}")
    d = wrap("chunk", b["dim"], len(shape))
    n = shape[d]
    if is_expr(n):
        import sympy

        # torch's ceil(n/chunks)-sized pieces are exactly `chunks` of them when n > chunks*(chunks-1)
        if violated(sympy.Le(n, chunks * (chunks - 1)), "chunk gives every chunk asked for"):
            raise ShapeError(f"chunk: the number of chunks of the size {pretty(n)} depends on it",
                             fix=f"give dimension {d} a number")
        size = (n + chunks - 1) // chunks
        return _pieces("chunk", shape, d, [size] * (chunks - 1) + [n - size * (chunks - 1)])
    size = (n + chunks - 1) // chunks
    sizes = [0] * chunks if n == 0 else _even(n, size)
    return _pieces("chunk", shape, d, sizes)


def _split(b) -> Step:
    shape = tuple(b["tensor"])
    _at_least_1d("split", shape)
    how = b["split_size_or_sections"]
    if isinstance(how, (list, tuple)):
        sizes = int_list("split", how, "split_size_or_sections")
        d = wrap("split", b["dim"], len(shape))
        n = shape[d]
        if any(not is_expr(s) and s < 0 for s in sizes):
            raise ParamError(f"split: sizes must be non-negative, got {show(sizes)}")
        if violated(unequal(sum(sizes), n), "split's sizes add up to the dimension"):
            raise ShapeError(f"split: sizes {show(sizes)} add up to {pretty(sum(sizes))}, but dimension "
                             f"{d} of {show(shape)} has {pretty(n)}", fix=f"make the sizes add up to {pretty(n)}")
        return _pieces("split", shape, d, sizes)
    size = as_int("split", how, "split_size_or_sections")
    if is_expr(size):
        raise ShapeError(f"split: split_size must be a number, got {pretty(size)}")
    if size < 0:
        raise ParamError(f"split: split_size must be non-negative, got {size}")
    d = wrap("split", b["dim"], len(shape))
    n = shape[d]
    if size == 0:
        if not is_zero(n):
            raise ShapeError(f"split: split_size can only be 0 if the dimension's size is 0, but dimension "
                             f"{d} of {show(shape)} has {pretty(n)}")
        return _pieces("split", shape, d, [0])
    if is_expr(n):
        raise ShapeError(f"split: the number of pieces of the symbolic size {pretty(n)} depends on it",
                         fix=f"give dimension {d} a number, or split into a list of sizes")
    return _pieces("split", shape, d, _even(n, size))


def _tensor_split(b) -> Step:
    shape = tuple(b["input"])
    _at_least_1d("tensor_split", shape)
    given = {k: b[k] for k in ("indices_or_sections", "indices", "sections") if b[k] is not None}
    if len(given) != 1 or isinstance(given.get("indices", ()), int) or isinstance(given.get("sections", 0), (list, tuple)):
        raise SpecError(f"tensor_split(): give indices_or_sections (positionally), indices=[...] or "
                        f"sections=n: one of them, got {given or 'none'}")
    (what, how), = given.items()
    d = wrap("tensor_split", b["dim"], len(shape))
    n = shape[d]
    if isinstance(how, (list, tuple)):
        ends = int_list("tensor_split", how, what)
        sizes, start = [], 0
        for end in [*ends, None]:
            sizes.append(slice_length(start, end, 1, n))
            start = end
        return _pieces("tensor_split", shape, d, sizes)
    sections = as_int("tensor_split", how, what)
    if is_expr(sections) or sections <= 0:
        raise ParamError(f"tensor_split: the number of sections must be greater than 0, got {pretty(sections)}")
    # the first n % sections pieces are one larger: ceil((n - i) / sections) each
    return _pieces("tensor_split", shape, d, [(n - i + sections - 1) // sections for i in range(sections)])


def _unbind(b) -> Step:
    shape = tuple(b["input"])
    d = wrap("unbind", b["dim"], len(shape), scalar=False)
    n = shape[d]
    if is_expr(n):
        raise ShapeError(f"unbind: gives one tensor per element of the symbolic size {pretty(n)}",
                         fix=f"give dimension {d} a number")
    return _pieces("unbind", shape, d, [None] * n, rf=kept(len(shape), [i for i in range(len(shape)) if i != d]))


def _ex(call, *shapes):
    return (call, shapes)


FUNCTIONS = [
    FunctionType("narrow", params("input:tensor", "dim", "start", "length"), _narrow, "indexing",
                 "length elements of dim from start (start may be negative).",
                 (_ex("x.narrow(1, 1, 2)", (2, 3, 4)), _ex("torch.narrow(x, -1, -2, 2)", (2, 3, 4)),
                  _ex("x.narrow(1, 2, 2)", (2, 3, 4)), _ex("x.narrow(1, -4, 1)", (2, 3, 4)),
                  _ex("x.narrow(0, 0, -1)", (2, 3)))),
    FunctionType("index_select", params("input:tensor", "dim", "index"), _index_select, "indexing",
                 "Picks the entries index (a list of integers in a spec, torch's index tensor) of dim; "
                 "no negative indices.",
                 # torch takes an index tensor, not a list: the tests compare valid lists with
                 # torch.tensor(index); these examples are refused by both
                 (_ex("x.index_select(1, [0, 3])", (2, 3, 4)), _ex("x.index_select(3, [0])", (2, 3, 4)),
                  _ex("x.index_select(1, [-1])", (2, 3, 4)))),
    FunctionType("chunk", params("input:tensor", "chunks", ("dim", 0)), _chunk, "split",
                 "Splits dim into pieces of ceil(size / chunks); torch may give fewer chunks than "
                 "asked (6 in 4 chunks: 2, 2, 2).",
                 (_ex("x.chunk(1, dim=1)", (2, 3, 4)), _ex("x.chunk(0)", (2, 3)), _ex("x.chunk(2, 3)", (2, 3, 4)),
                  _ex("torch.chunk(x[0], 2)", (3,)))),
    FunctionType("split", params("tensor:tensor", "split_size_or_sections", ("dim", 0)), _split, "split",
                 "Splits dim into pieces of split_size (the last smaller), or of the listed sizes "
                 "(which must add up to the size).",
                 (_ex("x.split(4, 1)", (2, 3, 4)), _ex("torch.split(x, [3], dim=1)", (2, 3, 4)),
                  _ex("x.split([1, 1], 1)", (2, 3, 4)), _ex("x.split(0)", (2, 3)), _ex("x.split(-1)", (2, 3)))),
    FunctionType("tensor_split", params("input:tensor", ("indices_or_sections", None), ("dim", 0), ("|indices", None),
                                        ("|sections", None)), _tensor_split, "split",
                 "Splits dim into n sections (the first size % n one larger), or at the listed indices "
                 "(given positionally, or as sections=n or indices=[...]).",
                 (_ex("x.tensor_split(1, dim=1)", (2, 3)), _ex("x.tensor_split([], 1)", (2, 3)),
                  _ex("x.tensor_split(0)", (2, 3)), _ex("torch.tensor_split(x, [1], 2)", (2, 3)),
                  _ex("torch.tensor_split(x, indices=(1,), dim=1)", (2, 3)), _ex("x.tensor_split(sections=2)", (3, 2)),
                  _ex("x.tensor_split(indices=2)", (3, 2)), _ex("x.tensor_split(sections=[2])", (3, 2)))),
    FunctionType("unbind", params("input:tensor", ("dim", 0)), _unbind, "split",
                 "One tensor per index of dim, without it.",
                 (_ex("x.unbind(1)", (2, 1, 4)), _ex("torch.unbind(x, -1)", (3, 1)), _ex("x.unbind(2)", (2, 3)),
                  _ex("torch.unbind(x[0])", (3,)))),
]
