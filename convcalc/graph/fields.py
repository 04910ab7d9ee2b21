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
from convcalc.ops.base import GLOBAL, NONE, Axes, Mix, Scale


@dataclass(frozen=True, slots=True)
class Field:
    """Receptive field per spatial axis. ``start2`` is twice the start, an integer while
    every jump is one; jumps become ``Fraction``s only after upsampling. ``dims`` are the
    tensor dims that carry the axes (negative, from the last): a window acts on the last
    ones; a permutation moves them (ConvNeXt's channels-last blocks keep their field)."""

    size: tuple = ()
    jump: tuple = ()
    start2: tuple = ()
    is_global: bool = False
    dims: tuple = ()

    def apply(self, ops) -> Field:
        if ops == NONE:  # a tensor made from sizes (x.new_zeros): no input pixel reaches it
            return Field()
        if self.is_global or ops == GLOBAL:
            return GLOBAL_FIELD
        state = self
        for op in ops:
            if isinstance(op, Mix):
                if any(d in op.dims for d in state.dims):
                    return GLOBAL_FIELD
                continue
            if isinstance(op, Axes):
                if state.size:
                    moves = dict(op.mapping)
                    if any(d not in moves for d in state.dims):
                        return GLOBAL_FIELD
                    state = Field(state.size, state.jump, state.start2, False,
                                  tuple(moves[d] for d in state.dims))
                continue
            if isinstance(op, Scale):
                state = state._axes(len(op.factor))
                if state.is_global:
                    return state
                jump = tuple(j / Fraction(f) for j, f in zip(state.jump, op.factor))
                state = Field(state.size, jump, state.start2, False, state.dims)
                continue
            state = state._axes(len(op.kernel))
            if state.is_global:
                return state
            size = tuple(r + (k - 1) * j for r, k, j in zip(state.size, op.kernel, state.jump))
            start2 = tuple(s + (k - 1 - 2 * p) * j
                           for s, k, p, j in zip(state.start2, op.kernel, op.pad, state.jump))
            jump = tuple(j * s for j, s in zip(state.jump, op.stride))
            state = Field(size, jump, start2, False, state.dims)
        return state

    def _axes(self, n: int) -> Field:
        """This field over the last ``n`` dims, for a window: a fresh one before the first
        window; global when the axes changed in number or place (no longer comparable)."""
        last = tuple(range(-n, 0))
        if not self.size:
            return Field((1,) * n, (1,) * n, (1,) * n, False, last)
        return self if len(self.size) == n and self.dims == last else GLOBAL_FIELD


GLOBAL_FIELD = Field(is_global=True)


def merge_fields(fields: list) -> tuple[Field, bool]:
    """Branches: the largest field; misaligned when jumps or starts differ."""
    if any(f.is_global for f in fields):
        return GLOBAL_FIELD, False
    spatial = [f for f in fields if f.size]
    if not spatial:
        return fields[0], False
    widest = max(spatial, key=lambda f: tuple(f.size))
    if any(f.dims != widest.dims for f in spatial):
        return GLOBAL_FIELD, False  # fields on different dims: no longer comparable
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
        elif _broadcasts_a_summary(op, fields, graph.shapes):
            field = GLOBAL_FIELD
        else:
            field, off = merge_fields([fields[v] for v in op.inputs])
            if off:
                misaligned.add(op.index)
        field = field.apply(op.step.rf)
        for out in op.outputs:  # further outputs (MaxPool's indices) see what the first sees
            fields[out] = field
    return fields, misaligned


def _broadcasts_a_summary(op, fields, shapes) -> bool:
    """Whether an input with a field is broadcast over the field's axes (a squeeze-and-
    excitation gate [N, C, 1, 1] times [N, C, H, W]): every output position then depends on
    all of that input's field, which spans the map, so the output's field is global."""
    out = shapes[op.outputs[0]]
    for v in op.inputs:
        field, shape = fields[v], shapes[v]
        if field.is_global or not field.size or shape is None:
            continue
        for d in field.dims:
            if -d <= len(shape) and -d <= len(out) and shape[d] == 1 and out[d] != 1:
                return True
    return False
