"""Inverse problems: the padding that gives a size (symmetric first, then a named convention).

Every answer is checked by the forward engine (``shapes``) before it is returned, so a
solver can only return what the engine, and therefore PyTorch, would produce.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from convcalc.engine import formulas
from convcalc.engine import shapes
from convcalc.errors import ConvcalcError, ParamError, ShapeError
from convcalc.engine.params import (
    ConvParams,
    PoolKind,
    PoolParams,
    TConvParams,
    check_ndim,
    fmt_dims,
    per_dim,
)


class Convention(enum.Enum):
    """Where an odd total padding puts its extra pixel."""

    TORCH = "torch"  # PyTorch's padding='same' split: lo = total // 2, the extra at the end
    TF = "tf"  # TensorFlow/Keras SAME, ONNX SAME_UPPER: the extra at the end
    ONNX_LOWER = "onnx-lower"  # ONNX SAME_LOWER: the extra at the start

    def split(self, total: int) -> tuple[int, int]:
        small, big = total // 2, total - total // 2
        return (big, small) if self is Convention.ONNX_LOWER else (small, big)


class Layer(enum.Enum):
    CONV = "conv"
    POOL = "pool"
    TCONV = "tconv"


@dataclass
class PaddingAnswer:
    layer: str  # torch.nn class
    input: tuple
    output: tuple
    padding: tuple  # ((lo, hi), ...)
    symmetric: bool
    pytorch: str
    convention: str
    output_padding: tuple | None = None
    ceil_mode: bool | None = None
    notes: list = field(default_factory=list)
    warnings: list = field(default_factory=list)  # legal, but almost never meant

    def as_json(self) -> dict:
        data = {
            "layer": self.layer,
            "input": list(self.input),
            "output": list(self.output),
            "padding": [list(p) for p in self.padding],
            "symmetric": self.symmetric,
            "convention": self.convention,
            "pytorch": self.pytorch,
        }
        if self.output_padding is not None:
            data["output_padding"] = list(self.output_padding)
        if self.ceil_mode is not None:
            data["ceil_mode"] = self.ceil_mode
        if self.notes:
            data["notes"] = list(self.notes)
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data


def same_target(in_size, stride) -> tuple[int, ...]:
    """'same' output: ``ceil(in / stride)`` per dimension (TensorFlow's and ONNX's meaning)."""
    return tuple(-(-i // s) for i, s in zip(in_size, stride, strict=True))


def _no_solution(layer, sizes, wanted, reachable) -> ShapeError:
    near = ", ".join(
        f"{name} {w}: reachable {lo}..{hi}" if hi is not None else f"{name} {w}: reachable {lo} and above"
        for name, w, (lo, hi) in reachable
    )
    return ShapeError(
        f"no padding gives {fmt_dims(wanted)} from {fmt_dims(sizes)} ({near})",
        fix="change the kernel, stride or dilation, or the target size",
    )


def _warn_large(answer: PaddingAnswer, k_eff, stride, out_size,
                why: str = "some windows see padding alone") -> PaddingAnswer:
    """Warn when a padding exceeds the (dilated) kernel: PyTorch accepts it, but windows of
    padding alone are almost never meant; with a stride and a target, name 'same'."""
    pads = tuple(max(pair) for pair in answer.padding)
    if all(p <= k for p, k in zip(pads, k_eff)):
        return answer
    shown = fmt_dims(pads) if len(set(pads)) > 1 else str(pads[0])
    kernel = fmt_dims(k_eff) if len(set(k_eff)) > 1 else str(k_eff[0])
    text = (f"padding {shown} exceeds the kernel size {kernel}: PyTorch allows it, but it is almost "
            f"never meant ({why})")
    if out_size is not None and any(s > 1 for s in stride):
        same = same_target(answer.input, stride)
        if tuple(answer.output) != same:
            step = fmt_dims(stride) if len(set(stride)) > 1 else str(stride[0])
            text += f"; with stride {step}, 'same' is {fmt_dims(same)}, not {fmt_dims(answer.output)}"
    answer.warnings.append(text)
    return answer


def _conv_totals(i, k_eff, s, target):
    """Total paddings T >= 0 with ⌊(i + T − k_eff) / s⌋ + 1 == target: a range [lo, hi]."""
    lo = (target - 1) * s + k_eff - i
    return max(lo, 0), lo + s - 1


def _explicit_padding(layer, sizes, k_eff, stride, target, convention, symmetric_first):
    """Per dimension the smallest total padding that gives ``target`` (an even one first when
    ``symmetric_first``), split by ``convention``; ShapeError naming the reachable sizes."""
    pairs, reachable, bad = [], [], False
    for i, ke, st, t, name in zip(sizes, k_eff, stride, target, _names(len(sizes)), strict=True):
        low, high = _conv_totals(i, ke, st, t)
        reachable.append((name, t, (max(1, formulas.conv_out(i, ke, st, 0, 0, 1)), None)))
        if low > high:
            bad = True
            continue
        even = low if low % 2 == 0 else low + 1
        total = even if symmetric_first and even <= high else low
        pairs.append(convention.split(total) if total % 2 else (total // 2, total // 2))
    if bad:
        raise _no_solution(layer, sizes, target, reachable)
    return tuple(pairs)


def solve_conv_padding(in_size, kernel_size, stride=1, dilation=1, out_size=None,
                       convention=Convention.TORCH) -> PaddingAnswer:
    """Padding for a convolution: symmetric (PyTorch ``padding=``) whenever one exists,
    else the smallest total split by ``convention``. ``out_size`` None means 'same'."""
    sizes = shapes.input_sizes(in_size)
    nd = len(sizes)
    k = per_dim("kernel_size", kernel_size, nd, 1)
    s = per_dim("stride", stride, nd, 1)
    d = per_dim("dilation", dilation, nd, 1)
    target = same_target(sizes, s) if out_size is None else per_dim("output size", out_size, nd, 1)
    k_eff = tuple(map(formulas.effective_kernel, k, d))
    pairs = _explicit_padding(f"Conv{nd}d", sizes, k_eff, s, target, convention,
                              symmetric_first=True)
    symmetric = all(a == b for a, b in pairs)
    params = ConvParams(nd, k, s, pairs, d)
    out = shapes.conv_shape(sizes, params)
    assert out == tuple(target), (out, target)  # the forward engine agrees, by construction
    layer = f"Conv{nd}d"
    args = _args(k, s, d)
    if symmetric:
        snippet = f"nn.{layer}(C_in, C_out, {_join(args + [('padding', tuple(a for a, _ in pairs))])})"
    elif all(x == 1 for x in s) and pairs == tuple(formulas.same_padding(kk, dd) for kk, dd in zip(k, d)):
        snippet = f"nn.{layer}(C_in, C_out, {_join(args)}, padding='same')"
    else:
        snippet = (f"nn.Sequential(nn.ZeroPad{nd}d({_torch_pad(pairs)}), "
                   f"nn.{layer}(C_in, C_out, {_join(args)}))")
    return _warn_large(PaddingAnswer(layer, sizes, out, pairs, symmetric, snippet, convention.value),
                       k_eff, s, out_size)


def solve_pool_padding(in_size, kernel_size, stride=None, dilation=1, out_size=None,
                       kind=PoolKind.MAX, convention=Convention.TORCH) -> PaddingAnswer:
    """Padding (and ceil_mode) for pooling: PyTorch's symmetric ``padding <= kernel // 2``
    first, floor mode before ceil mode; else an explicit pad layer before the pooling."""
    sizes = shapes.input_sizes(in_size)
    nd = len(sizes)
    kind = PoolKind(kind)
    k = per_dim("kernel_size", kernel_size, nd, 1)
    s = per_dim("stride", k if stride is None else stride, nd, 1)
    d = per_dim("dilation", dilation, nd, 1)
    if kind is PoolKind.AVG and any(x != 1 for x in d):
        raise ParamError("dilation is not supported by average pooling (torch.nn.AvgPool has none)")
    target = same_target(sizes, s) if out_size is None else per_dim("output size", out_size, nd, 1)
    layer = f"{kind.value.capitalize()}Pool{nd}d"
    for ceil in (False, True):
        for p in _symmetric_candidates(k):
            try:
                params = PoolParams.create(nd, k, s, p, d, ceil, kind)
                out = shapes.pool_shape(sizes, params)
            except ConvcalcError:
                continue
            if out == tuple(target):
                args = _args(k, s, d if kind is PoolKind.MAX else (1,) * nd)
                extra = [("padding", p)] + ([("ceil_mode", True)] if ceil else [])
                snippet = f"nn.{layer}({_join(args + extra)})"
                return PaddingAnswer(layer, sizes, out, tuple((x, x) for x in p), True, snippet,
                                     convention.value, ceil_mode=ceil)
    # No symmetric PyTorch padding: pad explicitly (floor mode), as for a convolution.
    k_eff = tuple(map(formulas.effective_kernel, k, d))
    pairs = _explicit_padding(layer, sizes, k_eff, s, target, convention, symmetric_first=False)
    out = tuple(formulas.conv_out(i, ke, st, a, b, 1) for i, ke, st, (a, b) in zip(sizes, k_eff, s, pairs))
    assert out == tuple(target)
    fill = "ConstantPad{nd}d({pads}, value=float('-inf'))" if kind is PoolKind.MAX else "ZeroPad{nd}d({pads})"
    pad_layer = fill.format(nd=nd, pads=_torch_pad(pairs))
    args = _args(k, s, d if kind is PoolKind.MAX else (1,) * nd)
    notes = ["max pooling pads with -inf, so the padding never wins a window"] if kind is PoolKind.MAX else [
        "zero padding counts in the average, as count_include_pad=True does"]
    return _warn_large(PaddingAnswer(layer, sizes, out, pairs, all(a == b for a, b in pairs),
                                     f"nn.Sequential(nn.{pad_layer}, nn.{layer}({_join(args)}))",
                                     convention.value, ceil_mode=False, notes=notes),
                       k_eff, s, out_size)


def solve_tconv_padding(in_size, kernel_size, stride=1, dilation=1, out_size=None,
                        convention=Convention.TORCH) -> PaddingAnswer:
    """padding and output_padding for a transposed convolution to reach ``out_size``
    (default ``in × stride``): the smallest padding, then ``op < max(stride, dilation)``."""
    sizes = shapes.input_sizes(in_size)
    nd = len(sizes)
    k = per_dim("kernel_size", kernel_size, nd, 1)
    s = per_dim("stride", stride, nd, 1)
    d = per_dim("dilation", dilation, nd, 1)
    target = (tuple(i * st for i, st in zip(sizes, s)) if out_size is None
              else per_dim("output size", out_size, nd, 1))
    pads, ops, reachable, bad = [], [], [], False
    for i, kk, st, dd, t, name in zip(sizes, k, s, d, target, _names(nd), strict=True):
        top = max(st, dd) - 1
        full = formulas.tconv_out(i, kk, st, 0, dd, 0)  # 2p − op = full − t
        reachable.append((name, t, (1, full + top)))
        gap = full - t
        p = max(0, -(-gap // 2))
        op = 2 * p - gap  # -gap when gap <= 0; else 0 or 1
        if op > top:
            bad = True
            continue
        pads.append(p)
        ops.append(op)
    if bad:
        raise _no_solution(f"ConvTranspose{nd}d", sizes, target, reachable)
    params = TConvParams.create(nd, k, s, tuple(pads), d, tuple(ops))
    out = shapes.tconv_shape(sizes, params)
    assert out == tuple(target)
    layer = f"ConvTranspose{nd}d"
    extra = [("padding", tuple(pads))] + ([("output_padding", tuple(ops))] if any(ops) else [])
    ranges = shapes.tconv_size_range(sizes, params)
    return _warn_large(PaddingAnswer(
        layer, sizes, out, tuple((p, p) for p in pads), True,
        f"nn.{layer}(C_in, C_out, {_join(_args(k, s, d) + extra)})", convention.value,
        output_padding=tuple(ops),
        notes=[f"forward(x, output_size=...) accepts {fmt_dims(f'{a}..{b}' for a, b in ranges)} "
               "with this padding"],
    ), tuple(map(formulas.effective_kernel, k, d)), (1,) * nd, None,
        "it crops more from the output than the kernel adds")


def _symmetric_candidates(k):
    """Symmetric paddings up to kernel // 2 per dimension, smallest first."""
    import itertools

    ranges = [range(0, kk // 2 + 1) for kk in k]
    return sorted(itertools.product(*ranges), key=lambda p: (sum(p), p))


def _names(nd):
    from convcalc.engine.params import DIM_NAMES

    return DIM_NAMES[check_ndim(nd)]


def _args(k, s, d) -> list:
    args = [("kernel_size", k)]
    if any(x != 1 for x in s):
        args.append(("stride", s))
    if any(x != 1 for x in d):
        args.append(("dilation", d))
    return args


def _value(v):
    if isinstance(v, tuple) and len(set(v)) == 1:
        return str(v[0])
    return str(v)


def _join(args) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in args)


def _torch_pad(pairs) -> str:
    """PyTorch pad order: last dimension first, (left, right, top, bottom, front, back)."""
    flat = [x for lo, hi in reversed(pairs) for x in (lo, hi)]
    return "(" + ", ".join(map(str, flat)) + ")"
