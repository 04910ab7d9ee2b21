"""convcalc: the shape arithmetic of convolutional networks, exactly as PyTorch computes it.

The library never imports click; sympy, yaml and torch are imported lazily by the
functions that need them, and the names below by their first use.
"""

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
    "Summary",
    "TConvParams",
    "adaptive_pool_output",
    "conv_output",
    "pool_output",
    "summary",
    "tconv_output",
    "tconv_output_padding_for",
    "upsample_output",
]

# Each name is imported from its module on first use (PEP 562), so that the command line
# pays only for what a command needs: `convcalc conv` does not load the whole engine.
_HOME = {
    **dict.fromkeys(("ConvcalcError", "InputTooSmall", "ParamError", "ShapeError", "SpecError"),
                    "convcalc.errors"),
    **dict.fromkeys(("ConvParams", "PoolKind", "PoolParams", "TConvParams"), "convcalc.engine.params"),
    **dict.fromkeys(("adaptive_pool_output", "conv_output", "pool_output", "tconv_output",
                     "tconv_output_padding_for", "upsample_output"), "convcalc.engine.shapes"),
    **dict.fromkeys(("Summary", "summary"), "convcalc.api"),
}


def __getattr__(name: str):
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'convcalc' has no attribute {name!r}")
    value = getattr(__import__(home, fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted({*globals(), *__all__})
