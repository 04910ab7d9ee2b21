"""``--explain``: each formula written out with the numbers put in, step by step.

The numbers come from the same ``formulas`` functions the engine uses, so an explanation
cannot disagree with the answer.
"""

from __future__ import annotations

from convcalc.engine import formulas
from convcalc.engine.symbolic import pretty
from convcalc.engine.params import DIM_NAMES, ConvParams, PaddingKind, PoolKind, PoolParams, TConvParams


def _rows(sizes, params, *fields):
    """Per dimension: (name, input, then the named per-dim parameters)."""
    names = DIM_NAMES[params.ndim]
    columns = [getattr(params, f) for f in fields]
    return [(names[i], sizes[i], *(c[i] for c in columns)) for i in range(params.ndim)]


def explain_conv(sizes, params: ConvParams) -> list[str]:
    lines = ["out = ⌊(in + pad_lo + pad_hi − d·(k − 1) − 1) / s⌋ + 1"]
    if params.padding_kind is PaddingKind.SAME:
        lines.append("padding='same': total = d·(k − 1), lo = total // 2, hi = total − lo")
    for name, i, k, s, (lo, hi), d in _rows(sizes, params, "kernel_size", "stride", "padding", "dilation"):
        k_eff = formulas.effective_kernel(k, d)
        span = formulas.padded(i, lo, hi)
        lines.append(f"{name}: in={i} k={k} s={s} pad=({lo},{hi}) d={d}")
        if params.padding_kind is PaddingKind.SAME:
            lines.append(f"   same padding      total = {d}·({k} − 1) = {lo + hi} -> lo {lo}, hi {hi}")
        lines.append(f"   effective kernel  {d}·({k} − 1) + 1 = {k_eff}")
        lines.append(f"   padded input      {i} + {lo} + {hi} = {span}")
        lines.append(
            f"   output            ⌊({span} − {k_eff}) / {s}⌋ + 1 = "
            f"{pretty(formulas.window_count(span, k_eff, s))}"
        )
    return lines


def explain_tconv(sizes, params: TConvParams) -> list[str]:
    lines = ["out = (in − 1)·s − 2p + d·(k − 1) + output_padding + 1"]
    for name, i, k, s, p, d, op in _rows(
        sizes, params, "kernel_size", "stride", "padding", "dilation", "output_padding"
    ):
        out = formulas.tconv_out(i, k, s, p, d, op)
        lines.append(f"{name}: in={i} k={k} s={s} p={p} d={d} output_padding={op}")
        lines.append(f"   output  ({i} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {op} + 1 = {pretty(out)}")
    return lines


def explain_pool(sizes, params: PoolParams) -> list[str]:
    ceil = params.ceil_mode
    extra = " + (s − 1)" if ceil else ""
    lines = [f"out = ⌊(in + 2p − d·(k − 1) − 1{extra}) / s⌋ + 1"]
    if ceil:
        lines.append("ceil_mode: drop the last window when it starts in the right padding, (out − 1)·s ≥ in + p")
    for name, i, k, s, p, d in _rows(sizes, params, "kernel_size", "stride", "padding", "dilation"):
        k_eff = formulas.effective_kernel(k, d)
        span = formulas.padded(i, p, p)
        d_note = f" d={d}" if params.kind is PoolKind.MAX else ""
        lines.append(f"{name}: in={i} k={k} s={s} p={p}{d_note}")
        if d != 1:
            lines.append(f"   effective kernel  {d}·({k} − 1) + 1 = {k_eff}")
        if not ceil:
            out = formulas.window_count(span, k_eff, s)
            lines.append(f"   output            ⌊({span} − {k_eff}) / {s}⌋ + 1 = {pretty(out)}")
            continue
        if not isinstance(i, int):  # symbolic: the exact piecewise result
            out = pretty(formulas.pool_ceil_out(i, k, s, p, d))
            lines.append(f"   output            {out}  (the last-window rule as a condition on {i} mod {s})")
            continue
        cand = formulas.pool_ceil_candidate(i, k, s, p, d)
        lines.append(f"   ceil_mode output  ⌊({span} − {k_eff} + {s - 1}) / {s}⌋ + 1 = {cand}")
        start = (cand - 1) * s
        if formulas.last_window_in_padding(cand, i, s, p):
            lines.append(
                f"   last window       starts at ({cand} − 1)·{s} = {start} ≥ in + p = {i + p}: "
                f"it would start in the right padding, so it is dropped -> {cand - 1}"
            )
        else:
            lines.append(
                f"   last window       starts at ({cand} − 1)·{s} = {start} < in + p = {i + p}: kept -> {cand}"
            )
    return lines
