"""Sizes as written on the command line (``1..4096``, ``1..4096x1..2048``) and as shown
(``28..31``, ``32 + 32k (k = 0..8)``)."""

from __future__ import annotations

import re

MAX_SIZE = 1 << 31
RANGE = re.compile(r"\s*(\d{1,12})\s*(?:\.\.\s*(\d{1,12})\s*)?")


def parse_ranges(text: str) -> tuple:
    """``1..4096`` (every spatial dimension), ``1..4096x1..2048`` (one per dimension) or a
    single size per dimension; a ``ValueError`` says what is wrong."""
    ranges = []
    for part in str(text).replace("×", "x").split("x"):
        m = RANGE.fullmatch(part)
        if not m:
            raise ValueError(f"{text!r} is not a size range: use A..B, or A..BxC..D for one per spatial dimension")
        lo = int(m[1])
        hi = int(m[2]) if m[2] is not None else lo
        if lo < 1 or hi < lo:
            raise ValueError(f"{part.strip()!r}: sizes must be >= 1, from the smaller to the larger")
        if hi >= MAX_SIZE:
            raise ValueError(f"{part.strip()!r}: sizes must be below {MAX_SIZE:,}")
        ranges.append(range(lo, hi + 1))
    return tuple(ranges)


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
