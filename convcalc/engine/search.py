"""One search shared by the engine's threshold questions."""

from __future__ import annotations

from collections.abc import Callable


def first_true(pred: Callable[[int], bool], lo: int, hi: int) -> int:
    """The smallest ``n`` in ``(lo, hi]`` with ``pred(n)``, for a predicate that is false at
    ``lo``, true at ``hi`` and switches once (monotone)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if pred(mid):
            hi = mid
        else:
            lo = mid
    return hi
