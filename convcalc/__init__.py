"""convcalc: the shape arithmetic of convolutional networks, exactly as PyTorch computes it.

The library never imports click; sympy, yaml and torch are imported lazily by the
functions that need them.
"""

from convcalc.errors import ConvcalcError, InputTooSmall, ParamError, ShapeError, SpecError
from convcalc.engine.params import ConvParams, PoolKind, PoolParams, TConvParams
from convcalc.engine.shapes import (
    adaptive_pool_output,
    conv_output,
    pool_output,
    tconv_output,
    tconv_output_padding_for,
    upsample_output,
)

__version__ = "0.1.0"

__all__ = [
    "ConvParams",
    "ConvcalcError",
    "InputTooSmall",
    "ParamError",
    "PoolKind",
    "PoolParams",
    "ShapeError",
    "SpecError",
    "TConvParams",
    "adaptive_pool_output",
    "conv_output",
    "pool_output",
    "tconv_output",
    "tconv_output_padding_for",
    "upsample_output",
]
