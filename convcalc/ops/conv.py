"""Sliding-window layers: convolution, transposed convolution, pooling, Fold/Unfold."""

from __future__ import annotations

from fractions import Fraction

from convcalc.engine import formulas
from convcalc.engine import shapes
from convcalc.errors import ParamError, ShapeError, SpecError
from convcalc.ops.base import (
    GLOBAL,
    Infer,
    LayerType,
    Scale,
    Step,
    Window,
    check_bool,
    check_count,
    prod,
    rank_error,
    signature,
    spatial_channel_dim,
)
from convcalc.engine.params import ConvParams, PoolKind, PoolParams, TConvParams, fmt_dims
from convcalc.engine.symbolic import any_symbolic, unequal, violated


def _channels(nd: int, name: str) -> Infer:
    def read(shape):
        return shape[spatial_channel_dim(shape, nd, name)]

    return Infer("in_channels", read, "channels")


def _groups(b: dict) -> int:
    in_c = check_count(b, "in_channels")
    out_c = check_count(b, "out_channels")
    groups = b["groups"]
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ParamError(f"groups must be a positive integer, got {groups!r}")
    if in_c % groups:
        raise ParamError(f"in_channels must be divisible by groups, got {in_c} and groups={groups}")
    if out_c % groups:
        raise ParamError(f"out_channels must be divisible by groups, got {out_c} and groups={groups}")
    return groups


def _drops(in_sp, out_sp, stride) -> bool:
    """A strided layer is exact when it divides its input exactly, ``in == out × s``: the
    sizes that a decoder upsampling by ``s`` can restore. Otherwise it drops (or pads in)
    pixels that no ×s upsampling gives back."""
    if any_symbolic(in_sp):
        return False  # exactness is a question for numeric sizes (convcalc net --valid-inputs)
    return any(s > 1 and i != o * s for i, o, s in zip(in_sp, out_sp, stride))


def _channels_and_groups(b: dict, shape, nd: int, name: str) -> tuple[int, int]:
    """The checks every (transposed) convolution starts with: rank, groups, bias."""
    cdim = spatial_channel_dim(shape, nd, name)
    groups = _groups(b)
    check_bool(b, "bias")
    return cdim, groups


def _no_indices(b: dict) -> None:
    if b.get("return_indices"):
        raise SpecError(
            "return_indices=True makes the layer return (output, indices), "
            "which a sequential spec cannot pass on",
            fix="drop return_indices",
        )


def _conv_rule(nd: int):
    def apply(b, shape):
        cdim, groups = _channels_and_groups(b, shape, nd, f"Conv{nd}d")
        params = ConvParams.create(
            nd, b["kernel_size"], b["stride"], b["padding"], b["dilation"], b["padding_mode"]
        )
        spatial = shapes.conv_shape(shape[cdim + 1:], params)
        out = (*shape[:cdim], b["out_channels"], *spatial)
        per_output = (b["in_channels"] // groups) * prod(params.kernel_size)
        k_eff = tuple(map(formulas.effective_kernel, params.kernel_size, params.dilation))
        return Step(
            out,
            params=b["out_channels"] * per_output + (b["out_channels"] if b["bias"] else 0),
            macs=prod(out) * per_output,
            rf=(Window(k_eff, params.stride, tuple(lo for lo, _ in params.padding)),),
            drops=_drops(shape[cdim + 1:], spatial, params.stride),
        )

    return apply


def _tconv_rule(nd: int):
    def apply(b, shape):
        cdim, groups = _channels_and_groups(b, shape, nd, f"ConvTranspose{nd}d")
        params = TConvParams.create(
            nd, b["kernel_size"], b["stride"], b["padding"], b["dilation"], b["output_padding"],
            b["padding_mode"],
        )
        spatial = shapes.tconv_shape(shape[cdim + 1:], params)
        out = (*shape[:cdim], b["out_channels"], *spatial)
        per_input = (b["out_channels"] // groups) * prod(params.kernel_size)
        k_eff = tuple(map(formulas.effective_kernel, params.kernel_size, params.dilation))
        return Step(
            out,
            params=b["in_channels"] * per_input + (b["out_channels"] if b["bias"] else 0),
            macs=prod(shape) * per_input,
            # a transposed conv is a stride-1 conv over the input dilated by the stride
            rf=(
                Scale(params.stride),
                Window(k_eff, (1,) * nd, tuple(k - 1 - p for k, p in zip(k_eff, params.padding))),
            ),
        )

    return apply


def _pool_rule(nd: int, kind: PoolKind, name: str):
    def apply(b, shape):
        spatial_channel_dim(shape, nd, name)
        check_bool(b, "ceil_mode")
        _no_indices(b)
        divisor = b.get("divisor_override")
        if divisor is not None and (isinstance(divisor, bool) or not isinstance(divisor, int) or divisor == 0):
            raise ParamError(f"divisor_override must be a non-zero integer or None, got {divisor!r}")
        params = PoolParams.create(
            nd, b["kernel_size"], b["stride"], b.get("padding", 0), b.get("dilation", 1),
            b["ceil_mode"], kind,
        )
        in_sp = shape[len(shape) - nd:]
        spatial = shapes.pool_shape(in_sp, params)
        k_eff = tuple(map(formulas.effective_kernel, params.kernel_size, params.dilation))
        return Step(
            (*shape[: len(shape) - nd], *spatial),
            rf=(Window(k_eff, params.stride, params.padding),),
            drops=_drops(in_sp, spatial, params.stride),
        )

    return apply


def _adaptive_rule(nd: int, name: str):
    def apply(b, shape):
        spatial_channel_dim(shape, nd, name)
        _no_indices(b)
        size = b["output_size"]
        if isinstance(size, list):
            size = tuple(size)
        in_sp = shape[len(shape) - nd:]
        spatial = shapes.adaptive_pool_shape(in_sp, size)
        return Step((*shape[: len(shape) - nd], *spatial), rf=_adaptive_rf(in_sp, spatial))

    return apply


def _adaptive_rf(in_sp, out_sp):
    """Adaptive pooling's bins: exact windows when the sizes divide, else the largest bin."""
    if any_symbolic(in_sp) or any(o == 0 for o in out_sp):
        return GLOBAL
    kernels, strides = [], []
    for i, o in zip(in_sp, out_sp, strict=True):
        if i % o == 0:
            kernels.append(i // o)
            strides.append(i // o)
        else:
            # bin j spans [floor(j·i/o), ceil((j+1)·i/o)); the largest is at most ceil(i/o) + 1
            kernels.append(-(-i // o) + 1)
            strides.append(Fraction(i, o))
    return (Window(tuple(kernels), tuple(strides), (0,) * len(in_sp)),)


def _lppool_rule(nd: int, name: str):
    pool = _pool_rule(nd, PoolKind.AVG, name)

    def apply(b, shape):
        if nd == 1 and isinstance(b["kernel_size"], (list, tuple)):
            raise ParamError(
                f"kernel_size must be an integer for LPPool1d, got {b['kernel_size']!r} "
                "(PyTorch multiplies by it and fails on a sequence)"
            )
        norm = b["norm_type"]
        if isinstance(norm, bool) or not isinstance(norm, (int, float)):
            raise ParamError(f"norm_type must be a number, got {norm!r}")
        return pool({**b, "padding": 0}, shape)

    return apply


def _unfold_params(b, nd=2):
    return ConvParams.create(nd, b["kernel_size"], b["stride"], b["padding"], b["dilation"])


def _unfold(b, shape):
    if len(shape) not in (3, 4):
        raise rank_error("Unfold", shape, (3, 4), " (Unfold supports 2 spatial dimensions)")
    params = _unfold_params(b)
    blocks = shapes.conv_shape(shape[-2:], params)
    k = prod(params.kernel_size)
    return Step(
        (*shape[:-3], shape[-3] * k, prod(blocks)),
        rf=GLOBAL,
    )


def _fold(b, shape):
    if len(shape) not in (2, 3):
        raise rank_error("Fold", shape, (2, 3), " ((C·∏kernel, L) or (N, C·∏kernel, L))")
    params = _unfold_params(b)
    out_size = b["output_size"]
    out_size = tuple(out_size) if isinstance(out_size, (list, tuple)) else (out_size, out_size)
    blocks = shapes.conv_shape(out_size, params)
    k = prod(params.kernel_size)
    channels, length = shape[-2], shape[-1]
    if channels % k:
        raise ShapeError(
            f"input dimension {len(shape) - 2} ({channels}) must be divisible by the product "
            f"of kernel_size {fmt_dims(params.kernel_size)} ({k})"
        )
    if violated(unequal(length, prod(blocks)), "Fold's block count matches its input"):
        raise ShapeError(
            f"output_size {fmt_dims(out_size)} gives {fmt_dims(blocks)} = {prod(blocks)} sliding "
            f"blocks, but the input has {length}",
        )
    return Step((*shape[:-2], channels // k, *out_size), rf=GLOBAL)


def _conv_family():
    for nd in (1, 2, 3):
        spatial = "x".join(["28"] * nd) if nd < 3 else "8x8x8"
        ex_in = (1, 3, *([28] * nd if nd < 3 else [8] * 3))
        yield LayerType(
            f"Conv{nd}d",
            signature("in_channels", "out_channels", "kernel_size", ("stride", 1), ("padding", 0),
                      ("dilation", 1), ("groups", 1), ("bias", True), ("padding_mode", "zeros")),
            _conv_rule(nd),
            family="convolution",
            example=f"Conv{nd}d(3, 6, kernel_size=3, stride=2, padding=1)",
            example_input=ex_in,
            summary=("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
                     "groups", "bias", "padding_mode"),
            infer=(_channels(nd, f"Conv{nd}d"),),
            doc=f"Convolution over {spatial}-like inputs. Params: C_out·C_in/groups·∏k (+ C_out bias). "
            "MACs: output elements · C_in/groups · ∏k.",
        )
        yield LayerType(
            f"ConvTranspose{nd}d",
            signature("in_channels", "out_channels", "kernel_size", ("stride", 1), ("padding", 0),
                      ("output_padding", 0), ("groups", 1), ("bias", True), ("dilation", 1),
                      ("padding_mode", "zeros")),
            _tconv_rule(nd),
            family="convolution",
            example=f"ConvTranspose{nd}d(3, 6, kernel_size=3, stride=2, padding=1, output_padding=1)",
            example_input=ex_in,
            summary=("in_channels", "out_channels", "kernel_size", "stride", "padding",
                     "output_padding", "dilation", "groups", "bias"),
            infer=(_channels(nd, f"ConvTranspose{nd}d"),),
            doc="Transposed convolution. Params: C_in·C_out/groups·∏k (+ C_out bias). "
            "MACs: input elements · C_out/groups · ∏k.",
        )


def _pool_family():
    for nd in (1, 2, 3):
        ex_in = (1, 3, *([28] * nd if nd < 3 else [8] * 3))
        yield LayerType(
            f"MaxPool{nd}d",
            signature("kernel_size", ("stride", None), ("padding", 0), ("dilation", 1),
                      ("return_indices", False), ("ceil_mode", False)),
            _pool_rule(nd, PoolKind.MAX, f"MaxPool{nd}d"),
            family="pooling",
            example=f"MaxPool{nd}d(3, stride=2, padding=1, ceil_mode=True)",
            example_input=ex_in,
            summary=("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
            doc="Max pooling; stride defaults to kernel_size; padding at most kernel_size // 2.",
        )
        avg_sig = ["kernel_size", ("stride", None), ("padding", 0), ("ceil_mode", False),
                   ("count_include_pad", True)]
        if nd > 1:
            avg_sig.append(("divisor_override", None))
        yield LayerType(
            f"AvgPool{nd}d",
            signature(*avg_sig),
            _pool_rule(nd, PoolKind.AVG, f"AvgPool{nd}d"),
            family="pooling",
            example=f"AvgPool{nd}d(3, stride=2, padding=1, ceil_mode=True)",
            example_input=ex_in,
            summary=("kernel_size", "stride", "padding", "ceil_mode"),
            doc="Average pooling (no dilation)."
            + (" AvgPool3d also needs the unpadded input to be at least the kernel." if nd == 3 else ""),
        )
        yield LayerType(
            f"LPPool{nd}d",
            signature("norm_type", "kernel_size", ("stride", None), ("ceil_mode", False)),
            _lppool_rule(nd, f"LPPool{nd}d"),
            family="pooling",
            example=f"LPPool{nd}d(2, 3, stride=2)",
            example_input=ex_in,
            summary=("norm_type", "kernel_size", "stride", "ceil_mode"),
            doc="Power-average pooling: average pooling's shape rules, no padding.",
        )
        for kind in ("Avg", "Max"):
            sig = ["output_size"] + ([("return_indices", False)] if kind == "Max" else [])
            yield LayerType(
                f"Adaptive{kind}Pool{nd}d",
                signature(*sig),
                _adaptive_rule(nd, f"Adaptive{kind}Pool{nd}d"),
                family="pooling",
                example=f"Adaptive{kind}Pool{nd}d({', '.join(['5'] * nd) if nd == 1 else '(' + ', '.join(['5'] * nd) + ')'})",
                example_input=ex_in,
                summary=("output_size",),
                doc="Output size as given (None elements keep the input size, 2-d/3-d only); "
                "may exceed the input; 0 gives an empty tensor.",
            )


LAYERS = [
    *_conv_family(),
    *_pool_family(),
    LayerType(
        "Unfold",
        signature("kernel_size", ("dilation", 1), ("padding", 0), ("stride", 1)),
        _unfold,
        family="reshaping",
        example="Unfold(kernel_size=3, padding=1, stride=2)",
        example_input=(1, 3, 28, 28),
        summary=("kernel_size", "dilation", "padding", "stride"),
        doc="Sliding blocks: (N, C, H, W) -> (N, C·∏k, L), L the number of blocks.",
    ),
    LayerType(
        "Fold",
        signature("output_size", "kernel_size", ("dilation", 1), ("padding", 0), ("stride", 1)),
        _fold,
        family="reshaping",
        example="Fold(output_size=(4, 5), kernel_size=2)",
        example_input=(1, 12, 12),
        summary=("output_size", "kernel_size", "dilation", "padding", "stride"),
        doc="Inverse of Unfold: (N, C·∏k, L) -> (N, C, *output_size).",
    ),
]
