"""``x[...]`` (getitem), as PyTorch's indexing code computes it (``applySlicing``,
``at::index``), refusals included.

Integers (negative count from the end), slices with a step > 0, None (a new axis), ``...``
and booleans index as in Python; a list of integers stands for torch's index tensor
(``x[:, [0, 4, 5]]`` picks channels) and a list of booleans for a mask. An integer tensor
(int64 or int32) of the spec indexes as torch's advanced indexing does: the index shapes
broadcast, and the result takes their place when the indexed dims are adjacent, else comes
first (``x[i, :, j]``); a 0-d one selects, as an integer does. Its values are data: they
are not checked (a dim of size 0 has no valid index, which is). Its dtype must be known (an
input's, a ``Buffer(..., dtype='int64')``'s, kept by view, flatten, getitem...: see
graph/trace.py): a bool or uint8 mask is refused, since the result's size depends on its
values, and any other dtype is refused as torch refuses it.

Receptive field: indexing moves the axes (``Axes``): an integer removes one, None adds one,
a slice with step 1 or one index on one dim keeps it; a strided slice, or several indices
whose result replaces their dims, lose theirs (global when they carry the field).
"""

from __future__ import annotations

from convcalc.engine.symbolic import pretty, unequal, violated
from convcalc.errors import ParamError, ShapeError, SpecError
from convcalc.ops.base import Step, prod
from convcalc.ops.function import FunctionType, IndexTensor, params
from convcalc.ops.indexing import ge, is_zero, slice_length
from convcalc.ops.shape import as_int, is_expr, kept, lt, show

INDEX_DTYPES = ("int64", "int32")  # torch also takes uint8 and bool: masks


def _as_tuple(index) -> tuple:
    """torch's ``treatSequenceAsTuple`` (numpy's legacy rule): a short list holding a
    sequence, slice, tensor, None or Ellipsis is read as a tuple of indices."""
    if isinstance(index, tuple):
        return index
    if isinstance(index, list) and len(index) < 32 and any(
            isinstance(v, (list, tuple, slice, IndexTensor)) or v is None or v is Ellipsis for v in index):
        return tuple(index)
    return (index,)


def _index_tensor(value):
    """A nested list as ``torch.tensor`` reads it for indexing: (shape, flat values, mask)."""
    flat = []

    def shape_of(v):
        if not isinstance(v, (list, tuple)):
            if not (isinstance(v, int) or is_expr(v)):  # bools are ints
                raise SpecError(f"getitem: an index list holds integers or booleans, got {v!r} in {value!r}")
            flat.append(v)
            return ()
        inner = [shape_of(item) for item in v]
        if any(s != inner[0] for s in inner):
            raise ShapeError(f"getitem: the index list {value!r} is not rectangular")
        return (len(v), *(inner[0] if inner else ()))

    shape = shape_of(value)
    mask = bool(flat) and all(isinstance(v, bool) for v in flat)
    if mask and len(shape) != 1:
        raise SpecError(f"getitem: a boolean mask index must be a flat list here, got {value!r}")
    return shape, [int(v) if isinstance(v, bool) else v for v in flat], mask


def _integer_index(t: IndexTensor) -> IndexTensor:
    """An index tensor whose shape is known to be the result's: an integer one."""
    if t.dtype is None:
        raise SpecError(f"getitem: the dtype of the {show(t.shape)} index tensor is not known here",
                        fix="index with an int64 input or Buffer(shape, dtype='int64'), or a view, "
                        "flatten or getitem of one")
    if t.dtype in ("bool", "uint8"):
        raise ShapeError(f"getitem: a {t.dtype} index tensor is a mask, which keeps the elements where "
                         "it is true: the result's size depends on its values, which a spec does not have",
                         fix="index with int64 positions, or with a list of booleans")
    if t.dtype not in INDEX_DTYPES:
        raise ShapeError(f"getitem: tensors used as indices must be long, int, byte or bool tensors, "
                         f"got {t.dtype}", fix="index with an int64 tensor")
    return t


def _broadcast(shapes) -> tuple:
    n = max(len(s) for s in shapes)
    out = []
    for i in range(-n, 0):
        sizes = {s[i] for s in shapes if -i <= len(s) and s[i] != 1}
        if len(sizes) > 1:
            raise ShapeError("getitem: shape mismatch: index lists could not be broadcast together "
                             f"with shapes {', '.join(show(s) for s in shapes)}",
                             fix="index lists must have equal lengths (or length 1)")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def _getitem(b) -> Step:
    shape = tuple(b["input"])
    rank = len(shape)
    parts = _as_tuple(b["index"])
    if sum(p is Ellipsis for p in parts) > 1:
        raise SpecError("getitem: an index can have only one ellipsis ('...')",
                        fix="torch accepts several but reads them oddly; write one")
    specified = sum(1 for p in parts if not (p is None or p is Ellipsis or isinstance(p, bool)))
    if specified > rank:
        raise ShapeError(f"getitem: too many indices ({specified}) for the {rank}-d shape {show(shape)}")
    out, dim, advanced = list(shape), 0, {}
    origins = list(range(rank))  # the input dim of each dim of out (None: a new one)
    for p in parts:
        if p is Ellipsis:
            dim += rank - specified
        elif p is None or isinstance(p, bool):  # a bool is a new axis, indexed by [0] or []
            out.insert(dim, 1)
            origins.insert(dim, None)
            if p is not None:
                advanced[dim] = ((1,) if p else (0,), [0] if p else [], False)
            dim += 1
        elif isinstance(p, int) or is_expr(p):
            size = out[dim]
            if violated(lt(p, -size), "the index is in range") or violated(ge(p, size), "the index is in range"):
                raise ShapeError(f"getitem: index {pretty(p)} is out of bounds for dimension {dim} with "
                                 f"size {pretty(size)} (shape {show(shape)})",
                                 fix=f"use an index from {pretty(-size)} to {pretty(size - 1)}")
            del out[dim], origins[dim]
        elif isinstance(p, slice):
            ends = [as_int("getitem", v, "a slice bound", bools=True) if v is not None else None
                    for v in (p.start, p.stop, p.step)]
            step = 1 if ends[2] is None else ends[2]
            if is_expr(step):
                raise ShapeError(f"getitem: a slice step must be a number, got {pretty(step)}")
            if step <= 0:
                raise ParamError(f"getitem: slice step must be greater than zero, got {step}",
                                 fix="torch has no negative steps: use flip() to reverse")
            out[dim] = slice_length(ends[0], ends[1], step, out[dim])
            if step != 1:
                origins[dim] = None
            dim += 1
        elif isinstance(p, (list, tuple)):
            advanced[dim] = _index_tensor(p)
            dim += 1
        elif isinstance(p, IndexTensor) and not _integer_index(p).shape:  # selects, as an integer
            if violated(lt(out[dim], 1), "the dimension has an index"):
                raise ShapeError(f"getitem: index is out of bounds for dimension {dim} with size 0 "
                                 f"(shape {show(shape)})")
            del out[dim], origins[dim]
        elif isinstance(p, IndexTensor):
            advanced[dim] = (tuple(p.shape), [], False)  # its values are data: not checked
            dim += 1
        else:
            raise SpecError(f"getitem: unsupported index {p!r}",
                            fix="index with integers, slices, None, ..., or lists of integers")
    if not advanced:
        return Step(tuple(out), rf=kept(rank, origins))
    return _advanced(shape, out, advanced, origins)


def _advanced(shape, out, advanced, origins) -> Step:
    """``at::index``: masks become positions, index shapes broadcast, and the result goes in
    place of adjacent indexed dimensions, or first when they are apart."""
    positions = sorted(advanced)
    shapes = []
    for pos in positions:
        ishape, values, mask = advanced[pos]
        if mask:
            if violated(unequal(len(values), out[pos]), "the mask matches the dimension"):
                raise ShapeError(f"getitem: the mask of length {len(values)} does not match the size "
                                 f"{pretty(out[pos])} of dimension {pos} (shape {show(out)})")
            ishape = (sum(values),)
            advanced[pos] = (ishape, [], False)
        shapes.append(ishape)
    joined = _broadcast(shapes)
    first, last = positions[0], positions[-1]
    if positions == list(range(first, last + 1)):
        result = (*out[:first], *joined, *out[last + 1:])
        # one list on one dim picks along it (as index_select): the dim stays
        picked = origins[first:last + 1] if len(positions) == 1 and len(joined) == 1 else [None] * len(joined)
        origins = [*origins[:first], *picked, *origins[last + 1:]]
    else:
        result = (*joined, *(s for i, s in enumerate(out) if i not in advanced))
        origins = [None] * len(joined) + [o for i, o in enumerate(origins) if i not in advanced]
    if prod(joined) != 0 and any(is_zero(out[p]) for p in positions):
        raise ShapeError(f"getitem: index is out of bounds for a dimension of size 0 (shape {show(out)})")
    if not is_zero(prod(result)):  # torch checks the indices it reads, none for an empty result
        for pos in positions:
            size = out[pos]
            for v in advanced[pos][1]:
                if violated(lt(v, -size), "the index is in range") or violated(ge(v, size), "the index is in range"):
                    raise ShapeError(f"getitem: index {pretty(v)} is out of bounds for dimension {pos} "
                                     f"with size {pretty(size)} (shape {show(out)})",
                                     fix=f"use indices from {pretty(-size)} to {pretty(size - 1)}")
    return Step(result, rf=kept(len(shape), origins))


def index_text(index) -> str:
    """``:, 0`` for ``x[:, 0]``."""
    parts = index if isinstance(index, tuple) else (index,)

    def one(p):
        if isinstance(p, slice):
            ends = ["" if v is None else pretty(v) for v in (p.start, p.stop)]
            return ":".join(ends) + ("" if p.step is None else f":{pretty(p.step)}")
        return "..." if p is Ellipsis else repr(p)

    text = ", ".join(map(one, parts))
    return text + "," if isinstance(index, tuple) and len(index) == 1 else text or "()"


class IndexType(FunctionType):
    """getitem: described as ``getitem[:, 0]`` in tables."""

    def describe(self, bound: dict) -> str:
        return f"getitem[{index_text(bound['index'])}]"


def _ex(call, *shapes):
    return (call, shapes)


FUNCTIONS = [
    IndexType("getitem", params("input:tensor", "index:index"), _getitem, "indexing",
              "x[index]: integers (negative count from the end), slices with a step > 0, None (a new "
              "axis), ..., lists of integers (an index tensor: x[:, [0, 4, 5]] picks channels) and "
              "int64 or int32 tensors (advanced indexing; their values are not checked; a bool mask "
              "is refused: its result's size depends on its values), as torch indexes.",
              (_ex("x[:, 0]", (2, 3, 4)), _ex("x[..., 1:3, None]", (2, 3, 4)), _ex("x[:, [0, 2]]", (2, 3, 4)),
               _ex("x[-1, ::2]", (2, 5, 4)), _ex("x[[0, 1], :, [1, 0]]", (2, 3, 4)), _ex("x[5:]", (2, 3)),
               _ex("x[:, 3]", (2, 3, 4)), _ex("x[::-1]", (2, 3)), _ex("x[0, 0, 0]", (2, 3)),
               _ex("x[:, [0, 3]]", (2, 3, 4)), _ex("x[[0, 1], [0, 1, 2]]", (2, 3, 4)),
               # an index tensor: a buffer of the spec (torch's run indexes with zeros)
               _ex("x[Buffer([2, 2], dtype='int64')]", (2, 3, 4)), _ex("x[:, Buffer([5], dtype='int32')]", (2, 3, 4)),
               _ex("x[Buffer([2], dtype='long')[None], :, [0]]", (2, 3, 4)),
               _ex("x[Buffer([], dtype='int64'), :, [0, 1]]", (2, 3, 4)), _ex("x[Buffer([2], dtype='float32')]", (2, 3)),
               _ex("x[Buffer([2], dtype='int16')]", (2, 3)), _ex("x[Buffer([1], dtype='int64')]", (0, 3))),
              method=False),
]
