"""The pipeline from a spec to a report: lower, then the passes; and the smallest input a
network accepts, for error messages."""

from __future__ import annotations

from convcalc.errors import ConvcalcError, InputTooSmall, SpecError
from convcalc.graph.ir import INPUT
from convcalc.graph.lower import lower
from convcalc.graph.report import Report, report
from convcalc.spec.parse import Spec, parse_spec


def analyse(spec: Spec, input_shape=None) -> Report:
    """Every operation of ``spec`` at ``input_shape`` (default: the spec's), with totals;
    a mapping sets named inputs (the others keep the spec's shapes)."""
    if isinstance(input_shape, dict):
        return report(lower(spec, inputs=named_inputs(spec, input_shape)))
    return report(lower(spec, input_shape))


def named_inputs(spec: Spec, given: dict) -> dict:
    """The spec's inputs with the ``given`` ones replaced; each name must be the spec's."""
    declared = dict(spec.inputs or {INPUT: tuple(spec.input or ())})
    for name in given:
        if name not in declared:
            raise SpecError(f"{spec.source}: no input named {name!r}: the spec's inputs are "
                            f"{', '.join(declared)}")
    return {**declared, **{name: tuple(shape) for name, shape in given.items()}}


def evaluate(doc, source: str, input_shape) -> Report:
    """One YAML document -> a Report, or the ConvcalcError that stops it; an input that is
    too small gets the smallest input the whole network accepts as its fix."""
    if isinstance(doc, ConvcalcError):
        raise doc
    spec = parse_spec(doc, source)
    try:
        return analyse(spec, input_shape)
    except InputTooSmall as e:
        if isinstance(input_shape, dict):  # named inputs: no single shape to grow
            raise
        smallest = smallest_valid_input(spec, input_shape or tuple(spec.input or ()))
        if smallest is not None:
            e.fix = (f"{e.fix}; " if e.fix else "") + (
                f"the smallest input the whole network accepts is {list(smallest)}")
        raise


def accepts(spec: Spec, shape) -> bool:
    """Whether every operation of ``spec`` accepts ``shape`` (shapes only: no report)."""
    try:
        lower(spec, shape)
    except ConvcalcError:
        return False
    return True


def smallest_valid_input(spec: Spec, shape, limit: int = 1 << 16, scan: int = 1024,
                         budget_s: float = 2.0):
    """The smallest input (every spatial size equal, batch and channels kept) that the whole
    network accepts, or None. Spatial sizes are the dimensions after the first two.

    Most networks accept every size above some minimum, found by doubling then bisecting;
    a network whose Linear layer fixes the flattened size accepts only a narrow band,
    found by scanning upwards (within ``scan`` and a time budget)."""
    import time

    from convcalc.engine.search import first_true

    if len(shape) < 3:
        return None

    def ok(s):
        return accepts(spec, (*shape[:2], *([s] * (len(shape) - 2))))

    hi = 1
    while hi <= limit and not ok(hi):
        hi *= 2
    if hi <= limit:
        smallest = first_true(ok, hi // 2, hi)  # hi // 2 is invalid (or 0)
    else:
        deadline = time.monotonic() + budget_s
        smallest = next((s for s in range(1, scan + 1)
                         if time.monotonic() < deadline and ok(s)), None)
        if smallest is None:
            return None
    return (*shape[:2], *([smallest] * (len(shape) - 2)))
