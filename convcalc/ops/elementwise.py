"""Elementwise arithmetic with PyTorch's broadcasting, and joins along a dimension.

Broadcasting (torch's ``infer_size``): shapes are aligned at their last dimension; at each
position the sizes must be equal or one of them 1, and the result takes the other. A
Python number is a tensor of shape ``()``.
"""

from __future__ import annotations

from convcalc.engine.symbolic import unequal, violated
from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import Step, norm_dim
from convcalc.ops.function import FunctionType, params


def _shape(value) -> tuple:
    """A tensor's shape; a Python number broadcasts as a 0-d tensor."""
    if isinstance(value, tuple):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(f"expected a tensor or a number, got {value!r}")
    return ()


def broadcast(a: tuple, b: tuple) -> tuple:
    """The broadcast shape of ``a`` and ``b``, or torch's refusal."""
    n = max(len(a), len(b))
    out = []
    for i in range(-n, 0):
        x = a[i] if -i <= len(a) else 1
        y = b[i] if -i <= len(b) else 1
        if x == 1:
            out.append(y)
        elif y == 1 or not violated(unequal(x, y), "broadcast sizes agree"):
            out.append(x)
        else:
            raise ShapeError(
                f"the size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {n + i} (shapes {list(a)} and {list(b)})",
                fix="make the sizes equal, or one of them 1, at that dimension",
            )
    return tuple(out)


def _binary(b: dict) -> Step:
    return Step(broadcast(_shape(b["input"]), _shape(b["other"])))


def _div(b: dict) -> Step:
    if b["rounding_mode"] not in (None, "trunc", "floor"):
        raise ParamError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found {b['rounding_mode']!r}")
    return _binary(b)


def _tensors_rank(shapes, what: str) -> None:
    ranks = {len(s) for s in shapes}
    if len(ranks) > 1:
        raise ShapeError(f"{what}: tensors must have the same number of dimensions, got "
                         f"{[list(s) for s in shapes]}")


def _cat(b: dict) -> Step:
    shapes = b["tensors"]
    # torch skips 1-d empty tensors (legacy); every other input must agree in rank
    kept = [s for s in shapes if s != (0,)] or shapes[:1]
    _tensors_rank(kept, "cat")
    first = kept[0]
    if not first:
        raise ShapeError("zero-dimensional tensors cannot be concatenated")
    d = norm_dim(b["dim"], len(first))
    for other in kept[1:]:
        for i, (x, y) in enumerate(zip(first, other)):
            if i != d and violated(unequal(x, y), "concatenated tensors agree"):
                raise ShapeError(
                    f"sizes of tensors must match except in dimension {d}: expected size {x} "
                    f"but got size {y} for a tensor at dimension {i} (shapes {[list(s) for s in shapes]})",
                    fix="make every input the same size outside the joined dimension",
                )
    return Step((*first[:d], sum(s[d] for s in kept), *first[d + 1:]))


def _stack(b: dict) -> Step:
    shapes = b["tensors"]
    first = shapes[0]
    for other in shapes[1:]:
        if len(other) != len(first) or any(violated(unequal(x, y), "stacked tensors agree")
                                           for x, y in zip(first, other)):
            raise ShapeError(f"stack expects each tensor to be equal size, got "
                             f"{[list(s) for s in shapes]}")
    d = norm_dim(b["dim"], len(first) + 1)
    return Step((*first[:d], len(shapes), *first[d:]))


def _ex(call, *shapes):
    return (call, shapes)


FUNCTIONS = [
    FunctionType("add", params("input:tensor", "other:operand", ("|alpha", 1)), _binary, "elementwise",
                 "input + alpha * other, broadcast.", (_ex("x.add(y)", (2, 3, 4, 4), (3, 1, 1)), _ex("x + 0.5", (2, 3)), _ex("x.add(y)", (2, 3), (4, 3, 2)))),
    FunctionType("sub", params("input:tensor", "other:operand", ("|alpha", 1)), _binary, "elementwise",
                 "input - alpha * other, broadcast.", (_ex("x - y", (2, 3, 4, 4), (4,)), _ex("1 - x", (3,)))),
    FunctionType("rsub", params("input:tensor", "other:operand", ("|alpha", 1)), _binary, "elementwise",
                 "other - alpha * input, broadcast (a number minus a tensor).", (_ex("torch.rsub(x, 1)", (3,)),)),
    FunctionType("neg", params("input:tensor"), lambda b: Step(b["input"]), "elementwise",
                 "-input.", (_ex("-x", (2, 3)),)),
    FunctionType("mul", params("input:tensor", "other:operand"), _binary, "elementwise",
                 "input * other, broadcast (a squeeze-and-excitation gate: [N, C, 1, 1] times [N, C, H, W]).",
                 (_ex("x * y", (2, 3, 4, 4), (2, 3, 1, 1)), _ex("x.mul(y)", (2, 3, 4, 4), (2, 4, 1, 1)))),
    FunctionType("div", params("input:tensor", "other:operand", ("|rounding_mode", None)), _div, "elementwise",
                 "input / other, broadcast.", (_ex("x / y", (2, 3, 4, 4), (1, 4)), _ex("x.div(y, rounding_mode='floor')", (2, 3), (3,)))),
    FunctionType("cat", params("tensors:tensors", ("dim", 0)), _cat, "join",
                 "Joins tensors along dim; every other size must agree.",
                 (_ex("torch.cat([x, y], dim=1)", (2, 3, 4, 4), (2, 5, 4, 4)), _ex("torch.cat([x, y])", (2, 3), (2, 4)), _ex("torch.cat([x, y], -1)", (2, 3), (2, 4))), method=False),
    FunctionType("concat", params("tensors:tensors", ("dim", 0)), _cat, "join",
                 "Alias of cat.", (_ex("torch.concat([x, y], 2)", (2, 3, 4, 4), (2, 3, 1, 4)),), method=False),
    FunctionType("stack", params("tensors:tensors", ("dim", 0)), _stack, "join",
                 "Stacks equal-shaped tensors along a new dimension dim.",
                 (_ex("torch.stack([x, y], dim=1)", (2, 3, 4), (2, 3, 4)), _ex("torch.stack([x, y], dim=-1)", (2, 3), (2, 4))), method=False),
]
