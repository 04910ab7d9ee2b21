"""Which input sizes a network accepts: a scan over sizes, shown as ranges and progressions.

The spatial dimensions (those after batch and channels) are set to one size together
(H = W); batch and channels come from the spec. "Exact" sizes are those at which every
strided layer divides its input exactly (``in == out × stride``): no pixel is dropped or
padded in, and a decoder that upsamples by the same strides restores the size (the U-Net
question).
"""

from __future__ import annotations

from dataclasses import dataclass

from convcalc.graph.lower import lower
from convcalc.errors import ConvcalcError, SpecError
from convcalc.spec.parse import Spec

MAX_SCAN = 100_000


@dataclass
class Scan:
    sizes: range
    valid: list
    exact: list

    def as_json(self, shape) -> dict:
        return {
            "input_shape": list(shape),
            "spatial_dims": len(shape) - 2,
            "range": [self.sizes.start, self.sizes.stop - 1],
            "valid": self.valid,
            "valid_compact": compact(self.valid),
            "exact": self.exact,
            "exact_compact": compact(self.exact),
            "smallest": self.valid[0] if self.valid else None,
        }


def scan(spec: Spec, shape, sizes: range) -> Scan:
    if len(shape) < 3:
        raise SpecError(
            f"input {list(shape)} has no spatial dimensions to vary (batch and channels come first)"
        )
    if len(sizes) > MAX_SCAN:
        raise SpecError(f"a scan covers at most {MAX_SCAN:,} sizes, got {len(sizes):,}")
    valid, exact = [], []
    for size in sizes:
        try:
            graph = lower(spec, (*shape[:2], *([size] * (len(shape) - 2))))
        except ConvcalcError:
            continue
        valid.append(size)
        if not any(op.step.drops for op in graph.ops):
            exact.append(size)
    return Scan(sizes, valid, exact)


def compact(values: list[int]) -> str:
    """Sorted sizes as ranges (``28..31``) and progressions (``32 + 16k, k = 0..61``)."""
    if not values:
        return "none"
    parts, i = [], 0
    while i < len(values):
        j = i
        if i + 1 < len(values):
            step = values[i + 1] - values[i]
            j = i + 1
            while j + 1 < len(values) and values[j + 1] - values[j] == step:
                j += 1
            if step > 1 and j - i < 2:  # two values are no progression
                j = i
        parts.append(_piece(values[i], values[j], (values[j] - values[i]) // max(j - i, 1), j - i))
        i = j + 1
    return ", ".join(parts)


def _piece(first, last, step, count) -> str:
    if count == 0:
        return str(first)
    if step == 1:
        return f"{first}..{last}"
    return f"{first} + {step}k (k = 0..{count})"
