"""Sliding-window layers: convolution, transposed convolution, pooling, Fold/Unfold."""

from __future__ import annotations

from convcalc.engine import formulas
from convcalc.engine import shapes
from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import (
    GLOBAL,
    Infer,
    LayerType,
    Scale,
    Step,
    Window,
    check_bool,
    check_count,
    drops_pixels,
    prod,
    rank_error,
    signature,
    spatial_channel_dim,
)
from convcalc.engine.params import ConvParams, TConvParams, fmt_dims
from convcalc.engine.symbolic import unequal, violated
from convcalc.ops import pool


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


def _channels_and_groups(b: dict, shape, nd: int, name: str) -> tuple[int, int]:
    """The checks every (transposed) convolution starts with: rank, groups, bias."""
    cdim = spatial_channel_dim(shape, nd, name)
    groups = _groups(b)
    check_bool(b, "bias")
    return cdim, groups


def conv_rule(nd: int):
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
            drops=drops_pixels(shape[cdim + 1:], spatial, params.stride),
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
            conv_rule(nd),
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


LAYERS = [
    *_conv_family(),
    *pool.LAYERS,
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
