"""Linear algebra with MACs: matmul (``x @ y``), bmm, mm, addmm, baddbmm, F.linear, einsum.

MACs count one multiply-accumulate per product term: a product with contracted size ``k``
costs ``∏(output shape) · k`` (matmul, bmm, mm, addmm, baddbmm, linear; the added
``input``/``bias`` is not counted, as for Linear). An einsum of two or more operands
costs the product of every index size, ellipsis dims included, broadcast: the terms of
its naive sum (``'bhqd,bhkd->bhqk'`` gives b·h·q·k·d, a matmul's count; torch contracts
three or more operands pairwise, which may take fewer). An einsum of one operand
(a transpose, diagonal or sum) multiplies nothing: 0.

Receptive field: global (every output mixes a whole row of its input); F.linear mixes its
input's last dim (``Mix``), as the Linear layer does.
"""

from __future__ import annotations

import string

from convcalc.engine.symbolic import unequal, violated
from convcalc.errors import ParamError, ShapeError, SpecError
from convcalc.ops.base import GLOBAL, Mix, Step, prod
from convcalc.ops.elementwise import broadcast
from convcalc.ops.function import FunctionType, Tensor, params


def _dims(shape) -> str:
    return "x".join(map(str, shape))


def _contract(op: str, a: tuple, b: tuple, k1, k2) -> None:
    if violated(unequal(k1, k2), f"{op}'s contracted sizes agree"):
        raise ShapeError(f"{op}: shapes {list(a)} and {list(b)} cannot be multiplied: the first "
                         f"contracts {k1} values and the second {k2}",
                         fix="make the first's last size equal the second's contracted size")


def matmul_shape(op: str, a: tuple, b: tuple) -> tuple[tuple, object]:
    """torch.matmul's output shape and contracted size: 1-d operands are promoted
    (a row, a column) and the added dim removed; leading dims broadcast."""
    da, db = len(a), len(b)
    if da == 0 or db == 0:
        raise ShapeError(f"{op}: both arguments need to be at least 1-d, but they are {da}-d and {db}-d",
                         fix="unsqueeze the 0-d operand, or multiply with *")
    k1 = a[-1]
    k2 = b[0] if db == 1 else b[-2]
    _contract(op, a, b, k1, k2)
    batch = broadcast(tuple(a[:-2]), tuple(b[:-2]))
    out = (*batch, *((a[-2],) if da > 1 else ()), *((b[-1],) if db > 1 else ()))
    return out, k1


def _matmul(b):
    out, k = matmul_shape("matmul", b["input"], b["other"])
    return Step(out, macs=prod(out) * k, rf=GLOBAL)


def _matrix(op: str, name: str, shape: tuple, rank: int = 2) -> None:
    if len(shape) != rank:
        raise ShapeError(f"{op}: {name} must be a {rank}-d tensor, got the {len(shape)}-d shape {list(shape)}",
                         fix=f"use {'bmm' if rank == 2 else 'matmul'} or reshape the operand")


def _mm(b):
    a, m = b["input"], b["mat2"]
    _matrix("mm", "input", a)
    _matrix("mm", "mat2", m)
    _contract("mm", a, m, a[1], m[0])
    return Step((a[0], m[1]), macs=a[0] * m[1] * a[1], rf=GLOBAL)


def _bmm_shape(op: str, a: tuple, m: tuple) -> tuple:
    _matrix(op, "batch1", a, 3)
    _matrix(op, "batch2", m, 3)
    if violated(unequal(a[0], m[0]), f"{op}'s batch sizes agree"):
        raise ShapeError(f"{op}: batch1 {list(a)} and batch2 {list(m)} must have the same batch size",
                         fix="make dimension 0 equal (bmm does not broadcast; matmul does)")
    _contract(op, a, m, a[2], m[1])
    return (a[0], a[1], m[2])


def _bmm(b):
    out = _bmm_shape("bmm", b["input"], b["mat2"])
    return Step(out, macs=prod(out) * b["input"][2], rf=GLOBAL)


def expands_to(op: str, name: str, shape: tuple, target: tuple) -> None:
    """``shape.expand(target)``: no more dims than target; each size equal or 1."""
    if len(shape) > len(target) or any(
            s != 1 and violated(unequal(s, t), f"{op}'s {name} expands")
            for s, t in zip(reversed(shape), reversed(target))):
        raise ShapeError(f"{op}: {name} {list(shape)} cannot be expanded to the output {list(target)}",
                         fix=f"give {name} a shape that broadcasts to {list(target)}")


def _scalars(op: str, b: dict) -> None:
    for name in ("beta", "alpha"):
        if not isinstance(b[name], (int, float)):
            raise ParamError(f"{op}: {name} must be a number, got {b[name]!r}")


def _addmm(b):
    _scalars("addmm", b)
    a, m = b["mat1"], b["mat2"]
    _matrix("addmm", "mat1", a)
    _matrix("addmm", "mat2", m)
    _contract("addmm", a, m, a[1], m[0])
    out = (a[0], m[1])
    expands_to("addmm", "input", b["input"], out)
    return Step(out, macs=prod(out) * a[1], rf=GLOBAL)


def _baddbmm(b):
    _scalars("baddbmm", b)
    out = _bmm_shape("baddbmm", b["batch1"], b["batch2"])
    expands_to("baddbmm", "input", b["input"], out)
    return Step(out, macs=prod(out) * b["batch1"][2], rf=GLOBAL)


def linear_rule(b):
    x, w, bias = b["input"], b["weight"], b["bias"]
    if not x or not w:
        raise ShapeError(f"linear: both arguments need to be at least 1-d, but they are {len(x)}-d and {len(w)}-d")
    if len(w) > 2:
        raise ShapeError(f"linear: weight must be 1-d or 2-d (out_features, in_features), got {list(w)}")
    wt = tuple(reversed(w))
    if bias is not None and (len(x) == 2 or _fusable(bias)):
        # ATen's fused path (a contiguous input): addmm(bias, input viewed 2-d, weight.t())
        if len(wt) != 2:
            raise ShapeError(f"linear: a 1-d weight {list(w)} with a bias takes addmm's path, "
                             "which needs a 2-d weight", fix="give weight the shape [1, in_features]")
        rows = prod(x[:-1])
        _contract("linear", x, w, x[-1], wt[0])
        expands_to("linear", "bias", bias, (rows, wt[1]))
        out = (*x[:-1], wt[1])
    else:
        out, _ = matmul_shape("linear", x, wt)
        if bias is not None and broadcast(out, bias) != out:
            raise ShapeError(f"linear: bias {list(bias)} does not broadcast to the output {list(out)}",
                             fix="give bias the shape [out_features]")
    return Step(out, macs=prod(out) * x[-1], rf=(Mix((-1,)),) if len(w) == 2 and len(x) > 1 else GLOBAL)


def _fusable(bias: tuple) -> bool:
    """ATen's linear adds a 1-d bias (or one with a single non-1 size) inside addmm."""
    return len(bias) == 1 or sum(1 for s in bias if not (isinstance(s, int) and s == 1)) == 1


# einsum ---------------------------------------------------------------------------------

ELLIPSIS = "..."


def _subscripts(text: str, where: str, offset: int, count_ops: int | None):
    """A side of an equation -> its terms (lists of letters and ELLIPSIS), torch's checks."""
    terms, i, seen_ellipsis = [[]], 0, False
    while i < len(text):
        c = text[i]
        if c == ".":
            owner = f"operand {len(terms) - 1}" if count_ops is not None else "output"
            if seen_ellipsis:
                raise ParamError(f"einsum: found '.' for {owner} for which an ellipsis was already found")
            if not text.startswith("...", i):
                raise ParamError(f"einsum: found '.' for {owner} that is not part of any ellipsis",
                                 fix="write an ellipsis as three dots: ...")
            terms[-1].append(ELLIPSIS)
            seen_ellipsis = True
            i += 2
        elif c == "," and count_ops is not None:
            terms.append([])
            seen_ellipsis = False
            if len(terms) > count_ops:
                raise ShapeError(f"einsum: the equation {where!r} names more operands than the "
                                 f"{count_ops} given", fix="give one operand per comma-separated term")
        elif c in string.ascii_letters:
            terms[-1].append(c)
        elif c != " ":
            raise ParamError(f"einsum: invalid subscript {c!r} at index {offset + i} of {where!r}: "
                             "subscripts must be in [a-zA-Z]")
        i += 1
    return terms


def _order(letter: str):
    return (letter.islower(), letter)  # torch numbers A-Z before a-z


def einsum_shape(equation: str, shapes: list) -> tuple[tuple, dict, tuple]:
    """torch.einsum's output shape, each letter's (broadcast) size and the ellipsis sizes."""
    arrow = equation.find("->")
    lhs = equation if arrow < 0 else equation[:arrow]
    terms = _subscripts(lhs, equation, 0, len(shapes))
    if len(terms) < len(shapes):
        raise ShapeError(f"einsum: the equation {equation!r} has {len(terms)} operand terms but "
                         f"{len(shapes)} operands were given", fix="give one operand per term")
    counts: dict = {}
    ell_ndim = 0
    for n, (term, shape) in enumerate(zip(terms, shapes)):
        letters = [t for t in term if t != ELLIPSIS]
        for t in letters:
            counts[t] = counts.get(t, 0) + 1
        if ELLIPSIS in term:
            ell_ndim = max(ell_ndim, len(shape) - len(letters))
        if len(letters) > len(shape) or (ELLIPSIS not in term and len(letters) != len(shape)):
            raise ShapeError(f"einsum: operand {n} has {len(shape)} dims {list(shape)} but its term "
                             f"{''.join(term)!r} names {len(letters)}",
                             fix="one letter per dim, or ... for the rest")
    if arrow < 0:
        output = [ELLIPSIS] + sorted((t for t, c in counts.items() if c == 1), key=_order)
    else:
        (output,) = _subscripts(equation[arrow + 2:], equation, arrow + 2, None)
        for t in output:
            if t != ELLIPSIS and (t not in counts or output.count(t) > 1):
                raise ShapeError(f"einsum: output subscript {t} " + (
                    "appears more than once in the output" if t in counts
                    else "does not appear in the equation for any input operand"))
    sizes: dict = {}
    ell = [1] * ell_ndim
    for n, (term, shape) in enumerate(zip(terms, shapes)):
        own: dict = {}
        dim = 0
        for t in term:
            if t == ELLIPSIS:
                covered = len(shape) - (len(term) - 1)
                for j in range(ell_ndim - covered, ell_ndim):
                    ell[j] = _merge(ell[j], shape[dim], f"dimension {dim} covered by the ellipsis of operand {n}")
                    dim += 1
                continue
            if t in own:
                if violated(unequal(shape[dim], own[t]), "einsum's repeated subscript sizes agree"):
                    raise ShapeError(f"einsum: subscript {t} is repeated for operand {n} but the sizes "
                                     f"differ: {shape[dim]} != {own[t]}", fix="a diagonal needs equal sizes")
            else:
                own[t] = shape[dim]
                sizes[t] = _merge(sizes.get(t, 1), shape[dim], f"subscript {t} of operand {n}")
            dim += 1
    out = []
    for t in output:
        out.extend(ell if t == ELLIPSIS else [sizes[t]])
    return tuple(out), sizes, tuple(ell)


def _merge(seen, size, what: str):
    """einsum broadcasts a size of 1 against the size seen so far."""
    if _one(size):
        return seen
    if not _one(seen) and violated(unequal(seen, size), "einsum's sizes broadcast"):
        raise ShapeError(f"einsum: {what} has size {size}, which does not broadcast with the size "
                         f"{seen} seen before", fix="make the sizes equal, or one of them 1")
    return size


def _one(size) -> bool:
    return isinstance(size, int) and size == 1


def _einsum(b):
    equation = b["equation"]
    if not isinstance(equation, str):
        raise ParamError(f"einsum: the equation must be a string, got {equation!r}")
    out, sizes, ell = einsum_shape(equation, b["operands"])
    macs = prod(sizes.values()) * prod(ell) if len(b["operands"]) > 1 else 0
    return Step(out, macs=macs, rf=GLOBAL)


class EinsumType(FunctionType):
    """``torch.einsum(equation, *operands)``, or its operands as one list."""

    def bind(self, args, kwargs, receiver=None):
        if kwargs or receiver is not None:
            raise SpecError("einsum(equation, *operands) takes its arguments positionally")
        if args and isinstance(args[0], Tensor):
            raise SpecError("einsum's sublist format (einsum(x, [0, 1], ...)) is not supported",
                            fix="write the equation: einsum('ij,jk->ik', x, y)")
        if len(args) < 2:
            raise SpecError("einsum() needs an equation and at least one operand")
        operands = list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
        return super().bind([args[0], operands], {})


def _ex(call, *shapes):
    return (call, shapes)


FUNCTIONS = [
    FunctionType("matmul", params("input:tensor", "other:tensor"), _matmul, "linear algebra",
                 "Matrix product (x @ y): 1-d operands promoted and removed, leading dims broadcast. "
                 "MACs: ∏output · k.",
                 (_ex("torch.matmul(x, y)", (2, 3, 4), (4, 5)), _ex("x @ y", (3,), (3,)), _ex("x @ y", (3,), (5, 3, 4)),
                  _ex("x.matmul(y)", (7, 1, 2, 3), (5, 3, 4)), _ex("x @ y", (2, 3), (4,)),
                  _ex("x @ y", (7, 2, 2, 3), (5, 3, 4)), _ex("x.sum() @ y", (2,), (3,)), _ex("x @ y", (5, 2, 3), (3,)))),
    FunctionType("bmm", params("input:tensor", "mat2:tensor"), _bmm, "linear algebra",
                 "Batched matrix product of two 3-d tensors with equal batch sizes. MACs: b·n·p·m.",
                 (_ex("torch.bmm(x, y)", (2, 3, 4), (2, 4, 5)), _ex("x.bmm(y)", (1, 3, 4), (2, 4, 5)),
                  _ex("torch.bmm(x, y)", (3, 4), (4, 5)))),
    FunctionType("mm", params("input:tensor", "mat2:tensor"), _mm, "linear algebra",
                 "Matrix product of two 2-d tensors. MACs: n·p·m.",
                 (_ex("torch.mm(x, y)", (3, 4), (4, 5)), _ex("x.mm(y)", (3, 4), (5, 5)), _ex("x.mm(y)", (3,), (3, 5)))),
    FunctionType("addmm", params("input:tensor", "mat1:tensor", "mat2:tensor", ("|beta", 1), ("|alpha", 1)),
                 _addmm, "linear algebra", "beta·input + alpha·(mat1 @ mat2); input expands to the output. "
                 "MACs: n·p·m.",
                 (_ex("torch.addmm(x, y, z)", (5,), (3, 4), (4, 5)), _ex("x.addmm(y, z, beta=0.5)", (3, 1), (3, 4), (4, 5)),
                  _ex("torch.addmm(x, y, z)", (2, 3, 5), (3, 4), (4, 5)))),
    FunctionType("baddbmm", params("input:tensor", "batch1:tensor", "batch2:tensor", ("|beta", 1), ("|alpha", 1)),
                 _baddbmm, "linear algebra", "beta·input + alpha·bmm(batch1, batch2); input expands to the "
                 "output. MACs: b·n·p·m.",
                 (_ex("torch.baddbmm(x, y, z)", (2, 3, 5), (2, 3, 4), (2, 4, 5)),
                  _ex("x.baddbmm(y, z, alpha=2)", (5,), (2, 3, 4), (2, 4, 5)),
                  _ex("torch.baddbmm(x, y, z)", (2, 3, 4), (2, 3, 4), (2, 4, 5)))),
    FunctionType("linear", params("input:tensor", "weight:tensor", ("bias:tensor", None)), linear_rule,
                 "linear algebra", "input @ weight.T + bias, weight [out, in] (or [in]); weight and bias "
                 "are tensors counted where they are made. MACs: ∏output · in, as Linear.",
                 (_ex("F.linear(x, y)", (2, 5, 3), (4, 3)), _ex("F.linear(x, y, z)", (2, 3), (4, 3), (4,)),
                  _ex("F.linear(x, y)", (3,), (3,)), _ex("F.linear(x, y, z)", (5, 2, 3), (4, 3), (1, 1, 4)),
                  _ex("F.linear(x, y, z)", (5, 2, 3), (4, 3), (5, 1, 4)), _ex("F.linear(x, y)", (2, 3), (4, 5))),
                 method=False),
    EinsumType("einsum", params("equation", "operands:tensors"), _einsum, "linear algebra",
               "Einstein summation: explicit (->) or implicit output, ... broadcasting, repeated "
               "subscripts (diagonals). MACs: ∏ of every index size (0 for one operand).",
               (_ex("torch.einsum('bhqd,bhkd->bhqk', x, y)", (2, 4, 5, 8), (2, 4, 6, 8)),
                _ex("torch.einsum('ij,jk', x, y)", (2, 3), (3, 4)), _ex("torch.einsum('ii->i', x)", (3, 3)),
                _ex("torch.einsum('...ij,...jk->...ik', [x, y])", (5, 1, 2, 3), (4, 3, 4)),
                _ex("torch.einsum('ij,jk->ik', x, y)", (2, 3), (4, 4)), _ex("torch.einsum('ij->jj', x)", (2, 3)),
                _ex("torch.einsum('bA', x)", (2, 3)), _ex("torch.einsum('i...->...', x)", (2, 3)),
                _ex("torch.einsum('ij,jk->ik', x, y)", (2, 1), (4, 4)), _ex("torch.einsum('ijk', x)", (2, 3))),
               method=False),
]
