"""Output sizes of single layers, with PyTorch's input-dependent refusals.

Each function takes the spatial input sizes and validated parameters (``params``), applies
the pure formulas of ``formulas`` per dimension, and raises ``ShapeError`` exactly where
PyTorch's kernels would raise, with the whole shapes and a fix in the message.

The ``*_output`` helpers take PyTorch's keyword arguments and build the parameters:

>>> conv_output((28, 28), kernel_size=5, padding=2)
(28, 28)
>>> pool_output(7, kernel_size=3, stride=2, ceil_mode=True)
(3,)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from convcalc.engine import formulas
from convcalc.errors import InputTooSmall, ParamError, ShapeError
from convcalc.engine.symbolic import any_symbolic, assume, is_symbolic, violated
from convcalc.engine.params import (
    INT64_MAX,
    ConvParams,
    PaddingMode,
    PoolKind,
    PoolParams,
    TConvParams,
    check_ndim,
    fmt_dims,
    per_dim,
)


def input_sizes(in_size) -> tuple[int, ...]:
    """Spatial input sizes as a checked tuple: every size >= 1 (PyTorch refuses empty
    spatial dimensions in convolution and pooling)."""
    sizes = tuple(in_size) if isinstance(in_size, Sequence) else (in_size,)
    check_ndim(len(sizes))
    if any_symbolic(sizes):  # symbols are positive integers; numbers beside them are checked
        for s in sizes:
            if not is_symbolic(s):
                per_dim("input size", s, 1, 1)
        return sizes
    return per_dim("input size", sizes, len(sizes), 1)


def _check_ndim(sizes, params) -> None:
    if len(sizes) != params.ndim:
        raise ParamError(
            f"input {fmt_dims(sizes)} has {len(sizes)} spatial dimensions "
            f"but the layer has {params.ndim}"
        )


def _check_fits_int64(what: str, values) -> None:
    if any(not is_symbolic(v) and v > INT64_MAX for v in values):
        raise ShapeError(f"{what} {fmt_dims(values)} exceeds 2**63 - 1 (PyTorch sizes are int64)")


def conv_shape(in_size, params: ConvParams) -> tuple[int, ...]:
    """Output sizes of a ``ConvNd`` with ``params`` on spatial input ``in_size``."""
    sizes = input_sizes(in_size)
    _check_ndim(sizes, params)
    lo = tuple(p[0] for p in params.padding)
    hi = tuple(p[1] for p in params.padding)
    if params.padding_mode is PaddingMode.REFLECT and any(
        violated(max(a, b) >= i, "reflect padding smaller than the input")
        for a, b, i in zip(lo, hi, sizes, strict=True)
    ):
        raise ShapeError(
            f"reflect padding {_fmt_pads(params.padding)} must be smaller than the input "
            f"{fmt_dims(sizes)}",
            fix=f"use padding <= {fmt_dims(i - 1 for i in sizes)}, or padding_mode='replicate'",
        )
    if params.padding_mode is PaddingMode.CIRCULAR and any(
        violated(max(a, b) > i, "circular padding at most the input")
        for a, b, i in zip(lo, hi, sizes, strict=True)
    ):
        raise ShapeError(
            f"circular padding {_fmt_pads(params.padding)} wraps around the input "
            f"{fmt_dims(sizes)} more than once",
            fix=f"use padding <= {fmt_dims(sizes)}",
        )
    span = tuple(map(formulas.padded, sizes, lo, hi))
    _check_fits_int64("padded input", span)
    k_eff = tuple(map(formulas.effective_kernel, params.kernel_size, params.dilation))
    if any(violated(n < k, "input at least the dilated kernel")
           for n, k in zip(span, k_eff, strict=True)):
        # a symbolic dimension passed its check (or is assumed to): it needs no padding
        need = tuple(0 if is_symbolic(i) else max(0, -(-(k - i) // 2))
                     for k, i in zip(k_eff, sizes, strict=True))
        raise InputTooSmall(
            f"input {fmt_dims(sizes)}{_padded_note(sizes, span)} is smaller than the dilated "
            f"kernel {fmt_dims(k_eff)}{_dilation_note(params)}",
            fix=f"pad by at least {fmt_dims(need)} per side, or use a smaller kernel or dilation",
        )
    return tuple(
        formulas.conv_out(i, k, s, a, b, d)
        for i, k, s, a, b, d in zip(
            sizes, params.kernel_size, params.stride, lo, hi, params.dilation, strict=True
        )
    )


def tconv_shape(in_size, params: TConvParams) -> tuple[int, ...]:
    """Output sizes of a ``ConvTransposeNd`` with ``params`` on spatial input ``in_size``."""
    sizes = input_sizes(in_size)
    _check_ndim(sizes, params)
    out = tuple(
        formulas.tconv_out(i, k, s, p, d, op)
        for i, k, s, p, d, op in zip(
            sizes, params.kernel_size, params.stride, params.padding, params.dilation,
            params.output_padding, strict=True,
        )
    )
    if any(violated(o < 1, "output at least 1") for o in out):
        # out >= 1  <=>  2p <= (i − 1)·s + d·(k − 1) + op
        limit = tuple(
            max(0, ((i - 1) * s + d * (k - 1) + op) // 2)
            for i, k, s, d, op in zip(
                sizes, params.kernel_size, params.stride, params.dilation,
                params.output_padding, strict=True,
            )
        )
        raise ShapeError(
            f"output would be {fmt_dims(out)} for input {fmt_dims(sizes)}: "
            f"padding {fmt_dims(params.padding)} removes more than the layer produces",
            fix=f"use padding <= {fmt_dims(limit)}, or a larger kernel or stride",
        )
    _check_fits_int64("output", out)
    return out


def tconv_size_range(in_size, params: TConvParams) -> tuple[tuple[int, int], ...]:
    """The ``output_size`` values PyTorch accepts per dimension: ``[min, min + s − 1]``,
    where ``min`` is the output with ``output_padding = 0``."""
    sizes = input_sizes(in_size)
    _check_ndim(sizes, params)
    lows = tuple(
        formulas.tconv_out(i, k, s, p, d, 0)
        for i, k, s, p, d in zip(
            sizes, params.kernel_size, params.stride, params.padding, params.dilation, strict=True
        )
    )
    return tuple((lo, lo + s - 1) for lo, s in zip(lows, params.stride, strict=True))


def tconv_output_padding_for(in_size, output_size, params: TConvParams) -> tuple[int, ...]:
    """The ``output_padding`` PyTorch derives from a requested ``output_size``
    (``ConvTranspose._output_padding``); ``ShapeError`` outside the valid range."""
    ranges = tconv_size_range(in_size, params)
    wanted = per_dim("output_size", output_size, params.ndim, 1)
    if any(not lo <= w <= hi for w, (lo, hi) in zip(wanted, ranges, strict=True)):
        shown = fmt_dims(f"[{lo}, {hi}]" for lo, hi in ranges)
        raise ShapeError(
            f"requested output size {fmt_dims(wanted)} is outside the valid range {shown}",
            fix="change stride, padding or kernel_size to reach it",
        )
    return tuple(w - lo for w, (lo, _) in zip(wanted, ranges, strict=True))


def pool_shape(in_size, params: PoolParams) -> tuple[int, ...]:
    """Output sizes of a ``MaxPoolNd`` / ``AvgPoolNd`` with ``params`` on ``in_size``."""
    sizes = input_sizes(in_size)
    _check_ndim(sizes, params)
    if params.kind is PoolKind.AVG and params.ndim == 3 and any(
        violated(i < k, "AvgPool3d input at least the kernel")
        for i, k in zip(sizes, params.kernel_size, strict=True)
    ):
        # ATen's avg_pool3d compares the unpadded input with the kernel.
        raise InputTooSmall(
            f"input {fmt_dims(sizes)} is smaller than the {fmt_dims(params.kernel_size)} window "
            "(AvgPool3d ignores padding in this check)",
            fix=f"use an input of at least {fmt_dims(params.kernel_size)}, or a smaller kernel",
        )
    rule = formulas.pool_ceil_out if params.ceil_mode else formulas.pool_floor_out
    out = tuple(
        rule(i, k, s, p, d)
        for i, k, s, p, d in zip(
            sizes, params.kernel_size, params.stride, params.padding, params.dilation, strict=True
        )
    )
    if any(violated(o < 1, "pooling output at least 1") for o in out):
        k_eff = tuple(map(formulas.effective_kernel, params.kernel_size, params.dilation))
        need = tuple(max(1, k - 2 * p) for k, p in zip(k_eff, params.padding, strict=True))
        span = tuple(formulas.padded(i, p, p) for i, p in zip(sizes, params.padding, strict=True))
        raise InputTooSmall(
            f"input {fmt_dims(sizes)}{_padded_note(sizes, span)} is smaller than the "
            f"{fmt_dims(k_eff)} window{_dilation_note(params)} "
            f"(output would be {fmt_dims(out)})",
            fix=f"use an input of at least {fmt_dims(need)}, or a smaller kernel",
        )
    return out


def adaptive_pool_shape(in_size, output_size) -> tuple[int, ...]:
    """Adaptive pooling: ``output_size`` per dimension; a ``None`` element keeps that input size.

    PyTorch accepts 0 (an empty output) and sizes larger than the input; ``None`` only as
    an element of a tuple, and only for 2-d and 3-d pooling.
    """
    sizes = input_sizes(in_size)
    ndim = len(sizes)
    is_seq = isinstance(output_size, Sequence) and not isinstance(output_size, str)
    if output_size is None or (ndim == 1 and is_seq and None in output_size):
        raise ParamError(
            "output_size must be an integer or a tuple of integers"
            + (" (None elements keep a size only in 2-d and 3-d pooling)" if ndim == 1 else ""),
            fix=f"use output_size={fmt_dims(sizes)} to keep the input size",
        )
    if is_seq:
        if len(output_size) != ndim:
            raise ParamError(
                f"output_size must have {ndim} values, got {len(output_size)}: "
                f"{fmt_dims(output_size)}"
            )
        targets = tuple(output_size)
    else:
        targets = (output_size,) * ndim
    for t in targets:
        if t is not None:
            per_dim("output_size", t, 1, 0)
    return tuple(map(formulas.adaptive_out, sizes, targets))


def upsample_shape(in_size, size=None, scale_factor=None, minimum=1) -> tuple[int, ...]:
    """Upsample / interpolate: ``size`` when given, else ``⌊in × scale⌋`` in float64.

    Outputs must be >= ``minimum`` (1; mode='area' pools adaptively and accepts 0)."""
    sizes = input_sizes(in_size)
    ndim = len(sizes)
    if (size is None) == (scale_factor is None):
        raise ParamError("give exactly one of size and scale_factor")
    if size is not None:
        out = per_dim("size", size, ndim, minimum)
    else:
        scales = _per_dim_float("scale_factor", scale_factor, ndim)
        out = tuple(map(formulas.upsample_out, sizes, scales))
        for i, scale in zip(sizes, scales, strict=True):
            if is_symbolic(i) and not scale.is_integer():
                assume(f"floor({i}*{scale!r}) uses the exact binary value of {scale!r}; PyTorch "
                       "floors the float64-rounded product, which is 1 more only when the exact "
                       "product lies within 2**-52 (relative) below an integer",
                       "Upsample scale_factor")
        if any(violated(o < minimum, "output at least 1") for o in out):
            raise ShapeError(
                f"output would be {fmt_dims(out)} for input {fmt_dims(sizes)} at scale "
                f"{fmt_dims(scales)}: sizes must be greater than 0",
                fix="use a larger scale_factor or an explicit size",
            )
    _check_fits_int64("output", out)
    return out


def _per_dim_float(name, value, ndim) -> tuple[float, ...]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != ndim:
            raise ParamError(f"{name} must have {ndim} values, got {len(value)}")
        values = tuple(value)
    else:
        values = (value,) * ndim
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ParamError(f"{name} must be a number, got {v!r}")
        if not math.isfinite(v) or v <= 0:
            raise ParamError(f"{name} must be a positive finite number, got {v}")
    return tuple(float(v) for v in values)


def _fmt_pads(pairs) -> str:
    if all(a == b for a, b in pairs):
        return fmt_dims(a for a, _ in pairs)
    return fmt_dims(f"({a},{b})" for a, b in pairs)


def _padded_note(sizes, span) -> str:
    return "" if tuple(sizes) == tuple(span) else f" (padded {fmt_dims(span)})"


def _dilation_note(params) -> str:
    if all(d == 1 for d in params.dilation):
        return ""
    return f" (kernel_size {fmt_dims(params.kernel_size)}, dilation {fmt_dims(params.dilation)})"


# Friendly entry points with PyTorch's keyword arguments. -----------------------------


def _ndim_of(in_size) -> int:
    return len(in_size) if isinstance(in_size, Sequence) and not isinstance(in_size, str) else 1


def conv_output(in_size, kernel_size, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """``torch.nn.ConvNd`` output spatial sizes; the dimension count follows ``in_size``."""
    params = ConvParams.create(_ndim_of(in_size), kernel_size, stride, padding, dilation, padding_mode)
    return conv_shape(in_size, params)


def tconv_output(
    in_size, kernel_size, stride=1, padding=0, dilation=1, output_padding=0, output_size=None
):
    """``torch.nn.ConvTransposeNd`` output spatial sizes (``output_size`` as in its forward)."""
    params = TConvParams.create(
        _ndim_of(in_size), kernel_size, stride, padding, dilation, output_padding
    )
    if output_size is not None:
        op = tconv_output_padding_for(in_size, output_size, params)
        params = TConvParams.create(params.ndim, kernel_size, stride, padding, dilation, op)
    return tconv_shape(in_size, params)


def pool_output(
    in_size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, kind="max"
):
    """``torch.nn.MaxPoolNd`` / ``AvgPoolNd`` output spatial sizes."""
    params = PoolParams.create(
        _ndim_of(in_size), kernel_size, stride, padding, dilation, ceil_mode, PoolKind(kind)
    )
    return pool_shape(in_size, params)


def adaptive_pool_output(in_size, output_size):
    """``torch.nn.AdaptiveAvgPoolNd`` / ``AdaptiveMaxPoolNd`` output spatial sizes."""
    return adaptive_pool_shape(in_size, output_size)


def upsample_output(in_size, size=None, scale_factor=None):
    """``torch.nn.Upsample`` output spatial sizes."""
    return upsample_shape(in_size, size, scale_factor)
