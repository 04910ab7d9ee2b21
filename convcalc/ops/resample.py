"""Resampling layers: Upsample, UpsamplingNearest2d, UpsamplingBilinear2d."""

from __future__ import annotations

from fractions import Fraction

from convcalc.engine import shapes
from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import GLOBAL, LayerType, Scale, Step, rank_error, signature
from convcalc.engine.symbolic import any_symbolic


_MODE_RANKS = {
    "nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "area": (3, 4, 5),
    "linear": (3,), "bilinear": (4,), "bicubic": (4,), "trilinear": (5,),
}


def _upsample_rule(mode_default, align_default=None, fixed_mode=False):
    def apply(b, shape):
        mode = mode_default if fixed_mode else b["mode"]
        if not isinstance(mode, str) or mode not in _MODE_RANKS:
            raise ParamError(f"mode must be one of {', '.join(_MODE_RANKS)}, got {mode!r}")
        ranks = _MODE_RANKS[mode]
        if len(shape) not in ranks:
            raise rank_error("Upsample", shape, ranks, f" for mode={mode!r}")
        align = align_default if fixed_mode else b["align_corners"]
        if align is not None and mode in ("nearest", "nearest-exact", "area"):
            raise ParamError(
                "align_corners can only be set with the interpolating modes: "
                "linear, bilinear, bicubic, trilinear"
            )
        size, scale = b["size"], b["scale_factor"]
        if size is not None and not fixed_mode and b["recompute_scale_factor"]:
            raise ParamError("recompute_scale_factor is not meaningful with an explicit size",
                             fix="drop recompute_scale_factor, or give scale_factor")
        if size is None and scale is None:
            raise ParamError("either size or scale_factor must be given")
        if size is not None and scale is not None:
            raise ParamError("only one of size and scale_factor may be given")
        nd = len(shape) - 2
        in_sp = shape[2:]
        if isinstance(size, list):
            size = tuple(size)
        if isinstance(scale, list):
            scale = tuple(scale)
        for value, what in ((size, "size"), (scale, "scale_factor")):
            if isinstance(value, tuple) and len(value) != nd:
                raise ShapeError(
                    f"{what} has {len(value)} values but the input has {nd} spatial dimensions"
                )
        # 'area' is adaptive average pooling, which accepts an empty output
        spatial = shapes.upsample_shape(in_sp, size, scale, minimum=0 if mode == "area" else 1)
        if any(o == 0 for o in spatial):
            return Step((*shape[:2], *spatial), rf=GLOBAL)
        if any_symbolic(spatial):
            return Step((*shape[:2], *spatial), rf=GLOBAL)
        factors = tuple(Fraction(o, i) for o, i in zip(spatial, in_sp, strict=True))
        return Step((*shape[:2], *spatial), rf=(Scale(factors),))

    return apply


LAYERS = [
    LayerType(
        "Upsample",
        signature(("size", None), ("scale_factor", None), ("mode", "nearest"),
                  ("align_corners", None), ("recompute_scale_factor", None)),
        _upsample_rule("nearest"), family="resampling",
        example="Upsample(scale_factor=1.5, mode='bilinear')", example_input=(1, 3, 7, 9),
        summary=("size", "scale_factor", "mode"),
        doc="size, or ⌊in × scale_factor⌋ in float64. Input (N, C, *spatial): no unbatched form.",
    ),
    LayerType(
        "UpsamplingNearest2d", signature(("size", None), ("scale_factor", None)),
        _upsample_rule("nearest", None, fixed_mode=True), family="resampling",
        example="UpsamplingNearest2d(scale_factor=2)", example_input=(1, 3, 7, 9),
        summary=("size", "scale_factor"), doc="Upsample with mode='nearest'.",
    ),
    LayerType(
        "UpsamplingBilinear2d", signature(("size", None), ("scale_factor", None)),
        _upsample_rule("bilinear", True, fixed_mode=True), family="resampling",
        example="UpsamplingBilinear2d(size=(10, 12))", example_input=(1, 3, 7, 9),
        summary=("size", "scale_factor"), doc="Upsample with mode='bilinear', align_corners=True.",
    ),
]
