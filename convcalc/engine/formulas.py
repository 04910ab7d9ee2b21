"""Per-dimension shape arithmetic, exactly as PyTorch's ATen code computes it.

Legend: ``i`` input size, ``k`` kernel size, ``s`` stride, ``d`` dilation,
``lo``/``hi`` padding before/after, ``p`` symmetric padding, ``op`` output padding.

Every function is pure: no checks, no I/O. Each works for ``int`` and for sympy
expressions alike (``//`` on a sympy expression is ``floor``), so later layers of the
program can build symbolic shapes on the same code. Validation lives in ``params`` and
``shapes``.
"""

from __future__ import annotations

import math


def effective_kernel(k, d):
    """Dilated kernel extent: ``d·(k − 1) + 1``."""
    return d * (k - 1) + 1


def padded(i, lo, hi):
    """Padded input size: ``i + lo + hi``."""
    return i + lo + hi


def window_count(span, k_eff, s):
    """Windows of extent ``k_eff`` at stride ``s`` in ``span``: ``⌊(span − k_eff) / s⌋ + 1``.

    Floor division rounds towards −∞, like ATen's ``div_rtn``.
    """
    out = (span - k_eff) // s + 1
    if isinstance(out, int):
        return out
    from convcalc.engine.symbolic import fold_floors  # symbolic sizes only

    return fold_floors(out)


def conv_out(i, k, s, lo, hi, d):
    """Convolution: ``⌊(i + lo + hi − d·(k − 1) − 1) / s⌋ + 1``."""
    return window_count(padded(i, lo, hi), effective_kernel(k, d), s)


def pool_floor_out(i, k, s, p, d):
    """Pooling, floor mode: the convolution formula with symmetric padding ``p``."""
    return conv_out(i, k, s, p, p, d)


def pool_ceil_candidate(i, k, s, p, d):
    """Pooling, ceil mode, before the last-window rule: ``⌊(i + 2p − d·(k − 1) − 1 + s − 1) / s⌋ + 1``."""
    return window_count(padded(i, p, p) + (s - 1), effective_kernel(k, d), s)


def last_window_in_padding(out, i, s, p):
    """ceil_mode's rule: the last window starts in the right padding when ``(out − 1)·s ≥ i + p``.

    PyTorch then drops it (``pooling_output_shape_pad_lr``).
    """
    return (out - 1) * s >= i + p


def pool_ceil_out(i, k, s, p, d):
    """Pooling, ceil mode: the candidate, minus one when its last window starts in the padding.

    Symbolically the rule is a condition on ``i`` modulo ``s``: with
    ``n = i + 2p − d·(k − 1) − 1 + (s − 1)``, the window is dropped exactly when
    ``n mod s ≤ p + s − 1 − d·(k − 1) − 1``, which is never when ``d·(k − 1) + 1 ≥ p + s``.
    """
    out = pool_ceil_candidate(i, k, s, p, d)
    drop = last_window_in_padding(out, i, s, p)
    if isinstance(drop, bool):
        return out - 1 if drop else out
    import sympy  # symbolic sizes only

    k_eff = effective_kernel(k, d)
    slack = p + s - 1 - k_eff  # (out − 1)·s ≥ i + p  <=>  n mod s ≤ slack
    if slack < 0:
        return out
    n = padded(i, p, p) + (s - 1) - k_eff
    return sympy.Piecewise((out - 1, sympy.Le(sympy.Mod(n, s), slack)), (out, True))


def tconv_out(i, k, s, p, d, op):
    """Transposed convolution: ``(i − 1)·s − 2p + d·(k − 1) + op + 1``."""
    return (i - 1) * s - 2 * p + d * (k - 1) + op + 1


def same_padding(k, d):
    """``padding='same'`` split (PyTorch): ``total = d·(k − 1)``, ``lo = total // 2``, ``hi = total − lo``."""
    total = d * (k - 1)
    return total // 2, total - total // 2


def adaptive_out(i, size):
    """Adaptive pooling: the requested ``size``; ``None`` keeps ``i``."""
    return i if size is None else size


def upsample_out(i, scale):
    """Upsample by ``scale``: ``⌊i × scale⌋`` with the product in float64, as ATen computes it."""
    if isinstance(i, int):
        return math.floor(float(i) * float(scale))
    import sympy  # symbolic sizes only: the exact binary value of the float64 scale

    return sympy.floor(i * sympy.Rational(float(scale)))
