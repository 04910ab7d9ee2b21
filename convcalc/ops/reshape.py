"""Reshaping layers: Flatten, Unflatten, PixelShuffle/PixelUnshuffle, ChannelShuffle."""

from __future__ import annotations

from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import (
    GLOBAL,
    regroup,
    LayerType,
    Scale,
    Step,
    Window,
    as_list,
    check_count,
    norm_dim,
    prod,
    rank_error,
    signature,
)
from convcalc.engine.symbolic import unequal, violated


def _flatten(b, shape):
    rank = len(shape)
    if rank == 0:
        return Step((1,), rf=GLOBAL)
    start = norm_dim(b["start_dim"], rank, "start_dim")
    end = norm_dim(b["end_dim"], rank, "end_dim")
    if start > end:
        raise ShapeError(f"start_dim {b['start_dim']} comes after end_dim {b['end_dim']} for a {rank}-d input")
    out = (*shape[:start], prod(shape[start:end + 1]), *shape[end + 1:])
    return Step(out, rf=(regroup(shape, out),))


def _unflatten(b, shape):
    dim = norm_dim(b["dim"], len(shape))
    sizes = as_list(b["unflattened_size"])
    if not sizes or any(isinstance(s, bool) or not isinstance(s, int) for s in sizes):
        raise ParamError(f"unflattened_size must be a non-empty list of integers, got {sizes}")
    if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
        raise ParamError(f"unflattened_size may contain one -1 and no other negative, got {sizes}")
    known = prod(s for s in sizes if s != -1)
    total = shape[dim]
    if -1 in sizes:
        if known == 0 or violated(unequal(total % known, 0), "Unflatten divides exactly"):
            raise ShapeError(f"cannot unflatten dimension {dim} of size {total} into {sizes}")
        sizes = [total // known if s == -1 else s for s in sizes]
    elif violated(unequal(known, total), "Unflatten sizes multiply to the dimension"):
        raise ShapeError(
            f"unflattened_size {sizes} multiplies to {known}, but dimension {dim} of "
            f"{list(shape)} has {total}"
        )
    out = (*shape[:dim], *sizes, *shape[dim + 1:])
    return Step(out, rf=(regroup(shape, out),))


def _pixel_shuffle(b, shape):
    r = check_count(b, "upscale_factor")
    if len(shape) < 3:
        raise rank_error("PixelShuffle", shape, (3, 4))
    c, h, w = shape[-3:]
    if c % (r * r):
        raise ShapeError(f"channels {c} must be divisible by upscale_factor² = {r * r}")
    return Step((*shape[:-3], c // (r * r), h * r, w * r), rf=(Scale((r, r)),))


def _pixel_unshuffle(b, shape):
    r = check_count(b, "downscale_factor")
    if len(shape) < 3:
        raise rank_error("PixelUnshuffle", shape, (3, 4))
    c, h, w = shape[-3:]
    if any(violated(unequal(x % r, 0), "PixelUnshuffle divides exactly") for x in (h, w)):
        raise ShapeError(f"height {h} and width {w} must be divisible by downscale_factor {r}")
    return Step((*shape[:-3], c * r * r, h // r, w // r), rf=(Window((r, r), (r, r), (0, 0)),))


def _channel_shuffle(b, shape):
    g = check_count(b, "groups")
    if len(shape) < 3:
        raise rank_error("ChannelShuffle", shape, (3, 4))
    if shape[1] % g:
        raise ShapeError(f"channels {shape[1]} must be divisible by groups={g}")
    return Step(shape)


LAYERS = [
    LayerType(
        "Flatten", signature(("start_dim", 1), ("end_dim", -1)), _flatten, family="reshaping",
        example="Flatten()", example_input=(2, 3, 4, 5), summary=("start_dim", "end_dim"),
        doc="Merges dimensions start_dim..end_dim (default: all but the batch).",
    ),
    LayerType(
        "Unflatten", signature("dim", "unflattened_size"), _unflatten, family="reshaping",
        example="Unflatten(1, (3, -1))", example_input=(2, 12, 5),
        summary=("dim", "unflattened_size"),
        doc="Splits dimension dim into unflattened_size (one -1 allowed).",
    ),
    LayerType(
        "PixelShuffle", signature("upscale_factor"), _pixel_shuffle, family="resampling",
        example="PixelShuffle(2)", example_input=(1, 8, 5, 6), summary=("upscale_factor",),
        doc="(*, C·r², H, W) -> (*, C, H·r, W·r).",
    ),
    LayerType(
        "PixelUnshuffle", signature("downscale_factor"), _pixel_unshuffle, family="resampling",
        example="PixelUnshuffle(2)", example_input=(1, 2, 6, 8), summary=("downscale_factor",),
        doc="(*, C, H·r, W·r) -> (*, C·r², H, W).",
    ),
    LayerType(
        "ChannelShuffle", signature("groups"), _channel_shuffle, family="reshaping",
        example="ChannelShuffle(2)", example_input=(1, 4, 3, 3), summary=("groups",),
        doc="Shape-preserving; channels divisible by groups.",
    ),
]
