"""Merges: operations that join several values into one (``torch.cat``, a sum).

They are functions, not ``torch.nn`` modules: their rows in a report are marked as such,
and they hold no parameters. Each rule takes the bound arguments and the list of input
shapes and returns a ``Step`` like a layer's rule does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from convcalc.engine.symbolic import unequal, violated
from convcalc.errors import ShapeError
from convcalc.ops.base import Step, norm_dim


@dataclass(frozen=True)
class MergeType:
    name: str  # torch's name: "cat", "add"
    apply: Callable[[dict, list], Step]
    doc: str

    def describe(self, bound: dict) -> str:
        return f"torch.cat(dim={bound['dim']})" if self.name == "cat" else "sum of branches"


def _listed(shapes) -> list:
    return [list(s) for s in shapes]


def _cat(bound: dict, shapes: list) -> Step:
    dim = bound["dim"]
    rank = len(shapes[0])
    if any(len(s) == 0 for s in shapes):
        raise ShapeError("a zero-dimensional tensor cannot be concatenated, as in torch.cat",
                         fix="give the input at least one dimension")
    if any(len(s) != rank for s in shapes):
        raise ShapeError(f"cannot concatenate branches of different ranks: {_listed(shapes)}")
    d = norm_dim(dim, rank)
    first = shapes[0]
    for other in shapes[1:]:
        if any(violated(unequal(a, b), "concatenated branches agree")
               for i, (a, b) in enumerate(zip(other, first)) if i != d):
            raise ShapeError(
                f"cannot concatenate along dim {dim}: branch shapes {_listed(shapes)} "
                "differ in another dimension",
                fix="make every branch keep the same spatial size (padding 'same', matching strides)",
            )
    return Step((*first[:d], sum(s[d] for s in shapes), *first[d + 1:]))


def _add(bound: dict, shapes: list) -> Step:
    first = shapes[0]
    for other in shapes[1:]:
        if len(other) != len(first) or any(violated(unequal(a, b), "added branches agree")
                                           for a, b in zip(other, first)):
            raise ShapeError(
                f"cannot add branches of shapes {_listed(shapes)}",
                fix="give the shortcut a 1x1 convolution with the same stride and channels",
            )
    return Step(first)


MERGES = {
    "cat": MergeType("cat", _cat, "torch.cat(tensors, dim): sizes must agree except along dim."),
    "add": MergeType("add", _add, "The sum of its inputs, which must have the same shape."),
}
