"""The receptive-field pass: every value's field, in one walk over the graph in order.

Araujo et al., "Computing Receptive Fields of Convolutional Neural Networks" (Distill,
2019): per spatial axis a size ``r``, a jump ``j`` (the distance in input pixels between
neighbouring outputs) and a start (the centre of the first output's field). A window
``(k, s, p)`` gives ``r + (k - 1)j``, ``j·s`` and ``start + ((k - 1)/2 - p)j``; resampling
by ``f`` divides the jump by ``f``. Where branches meet, the largest field is kept and
differing jumps or centres are reported as misaligned.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from convcalc.graph.ir import Graph
from convcalc.ops.base import GLOBAL, Scale


@dataclass(frozen=True, slots=True)
class Field:
    """Receptive field per spatial axis. ``start2`` is twice the start, an integer while
    every jump is one; jumps become ``Fraction``s only after upsampling."""

    size: tuple = ()
    jump: tuple = ()
    start2: tuple = ()
    is_global: bool = False

    def apply(self, ops) -> Field:
        if self.is_global or ops == GLOBAL:
            return GLOBAL_FIELD
        state = self
        for op in ops:
            if isinstance(op, Scale):
                n = len(op.factor)
                state = state._axes(n)
                if state.is_global:
                    return state
                jump = tuple(j / Fraction(f) for j, f in zip(state.jump, op.factor))
                state = Field(state.size, jump, state.start2)
                continue
            state = state._axes(len(op.kernel))
            if state.is_global:
                return state
            size = tuple(r + (k - 1) * j for r, k, j in zip(state.size, op.kernel, state.jump))
            start2 = tuple(s + (k - 1 - 2 * p) * j
                           for s, k, p, j in zip(state.start2, op.kernel, op.pad, state.jump))
            jump = tuple(j * s for j, s in zip(state.jump, op.stride))
            state = Field(size, jump, start2)
        return state

    def _axes(self, n: int) -> Field:
        """This field over ``n`` axes: a fresh one before the first window; global when
        the number of axes changed (no longer comparable)."""
        if not self.size:
            return Field((1,) * n, (1,) * n, (1,) * n)
        return self if len(self.size) == n else GLOBAL_FIELD


GLOBAL_FIELD = Field(is_global=True)


def merge_fields(fields: list) -> tuple[Field, bool]:
    """Branches: the largest field; misaligned when jumps or starts differ."""
    if any(f.is_global for f in fields):
        return GLOBAL_FIELD, False
    spatial = [f for f in fields if f.size]
    if not spatial:
        return fields[0], False
    widest = max(spatial, key=lambda f: tuple(f.size))
    aligned = len(spatial) == len(fields) and all(
        f.jump == widest.jump and f.start2 == widest.start2 for f in spatial)
    return widest, not aligned


def receptive_fields(graph: Graph) -> tuple[dict, set]:
    """Each value's field, and the indexes of the merges whose branches are misaligned."""
    fields = {name: Field() for name in graph.inputs}
    misaligned = set()
    for op in graph.ops:
        if len(op.inputs) == 1:
            field = fields[op.inputs[0]]
        elif not op.inputs:  # a learned tensor: no input pixel reaches it
            field = Field()
        else:
            field, off = merge_fields([fields[v] for v in op.inputs])
            if off:
                misaligned.add(op.index)
        fields[op.outputs[0]] = field.apply(op.step.rf)
    return fields, misaligned
