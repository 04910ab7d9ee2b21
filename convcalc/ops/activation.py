"""Shape-preserving layers: activations, PReLU, dropouts and Identity."""

from __future__ import annotations

from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import (
    LayerType,
    Step,
    check_bool,
    check_count,
    check_probability,
    norm_dim,
    rank_error,
    signature,
)
from convcalc.engine.symbolic import unequal, violated


def _same(*bools, probability=False, dim=None, min_rank=0, max_rank=None):
    def apply(b, shape):
        if bools:
            check_bool(b, *bools)
        if probability:
            check_probability(b)
        if dim is not None and b[dim] is not None:
            norm_dim(b[dim], len(shape))
        if len(shape) < min_rank or (max_rank is not None and len(shape) > max_rank):
            raise rank_error("", shape, tuple(range(min_rank, (max_rank or min_rank) + 1)))
        return Step(shape)

    return apply


def _bounds(low: str, high: str, strict: bool, *deprecated: str):
    """Hardtanh (``max_val > min_val``, the deprecated ``min_value``/``max_value`` win when
    given) and RReLU (``lower <= upper``): PyTorch refuses bounds the wrong way round."""
    def apply(b, shape):
        check_bool(b, "inplace")
        lo, hi = b[low], b[high]
        if deprecated:
            lo = lo if b[deprecated[0]] is None else b[deprecated[0]]
            hi = hi if b[deprecated[1]] is None else b[deprecated[1]]
        if hi < lo or (strict and hi == lo):
            order = "greater than" if strict else "at least"
            raise ParamError(f"{high} must be {order} {low}, got {low}={lo!r} and {high}={hi!r}")
        return Step(shape)

    return apply


def _glu(b, shape):
    d = norm_dim(b["dim"], len(shape))
    if violated(unequal(shape[d] % 2, 0), "GLU halves an even dimension"):
        raise ShapeError(f"GLU halves dimension {b['dim']}, but its size {shape[d]} is odd")
    return Step((*shape[:d], shape[d] // 2, *shape[d + 1:]))


def _prelu(b, shape):
    n = check_count(b, "num_parameters")
    if n != 1:
        channels = shape[1] if len(shape) >= 2 else shape[0] if shape else 1
        if n != channels:
            raise ShapeError(
                f"num_parameters={n} but the incoming shape {list(shape)} has {channels} channels",
                fix=f"use num_parameters=1 or {channels}",
            )
    return Step(shape, params=n)


ACTIVATIONS = [
    ("ReLU", signature(("inplace", False)), _same("inplace")),
    ("ReLU6", signature(("inplace", False)), _same("inplace")),
    ("LeakyReLU", signature(("negative_slope", 0.01), ("inplace", False)), _same("inplace")),
    ("ELU", signature(("alpha", 1.0), ("inplace", False)), _same("inplace")),
    ("SELU", signature(("inplace", False)), _same("inplace")),
    ("CELU", signature(("alpha", 1.0), ("inplace", False)), _same("inplace")),
    ("GELU", signature(("approximate", "none")), _same()),
    ("SiLU", signature(("inplace", False)), _same("inplace")),
    ("Mish", signature(("inplace", False)), _same("inplace")),
    ("Hardswish", signature(("inplace", False)), _same("inplace")),
    ("Hardsigmoid", signature(("inplace", False)), _same("inplace")),
    ("Hardtanh", signature(("min_val", -1.0), ("max_val", 1.0), ("inplace", False),
                           ("min_value", None), ("max_value", None)),
     _bounds("min_val", "max_val", True, "min_value", "max_value")),
    ("Hardshrink", signature(("lambd", 0.5)), _same()),
    ("Softshrink", signature(("lambd", 0.5)), _same()),
    ("Sigmoid", signature(), _same()),
    ("LogSigmoid", signature(), _same()),
    ("Tanh", signature(), _same()),
    ("Tanhshrink", signature(), _same()),
    ("Softsign", signature(), _same()),
    ("Softplus", signature(("beta", 1.0), ("threshold", 20.0)), _same()),
    ("Threshold", signature("threshold", "value", ("inplace", False)), _same("inplace")),
    ("RReLU", signature(("lower", 1 / 8), ("upper", 1 / 3), ("inplace", False)),
     _bounds("lower", "upper", False)),
    ("Softmax", signature(("dim", None)), _same(dim="dim")),
    ("Softmin", signature(("dim", None)), _same(dim="dim")),
    ("LogSoftmax", signature(("dim", None)), _same(dim="dim")),
    ("Softmax2d", signature(), _same(min_rank=3, max_rank=4)),
    ("GLU", signature(("dim", -1)), _glu),
]

DROPOUTS = [
    ("Dropout", _same("inplace", probability=True)),
    ("Dropout1d", _same("inplace", probability=True, min_rank=2, max_rank=3)),
    ("Dropout2d", _same("inplace", probability=True)),
    ("Dropout3d", _same("inplace", probability=True)),
    ("AlphaDropout", _same("inplace", probability=True)),
    ("FeatureAlphaDropout", _same("inplace", probability=True)),
]


def _shape_preserving():
    for name, sig, rule in ACTIVATIONS:
        args = {"Threshold": "Threshold(0.1, 20.0)", "Softmax": "Softmax(dim=1)",
                "Softmin": "Softmin(dim=1)", "LogSoftmax": "LogSoftmax(dim=1)",
                "GLU": "GLU(dim=1)"}
        yield LayerType(
            name, sig, rule, family="activation",
            example=args.get(name, name), example_input=(2, 4, 6, 6),
            summary=tuple(n for n, _ in sig if n not in ("inplace",)),
            doc="Halves `dim` (default: the last)." if name == "GLU" else "Shape-preserving.",
        )
    yield LayerType(
        "PReLU", signature(("num_parameters", 1), ("init", 0.25)), _prelu, family="activation",
        example="PReLU(4)", example_input=(2, 4, 6, 6), summary=("num_parameters",),
        doc="Shape-preserving; num_parameters learnable slopes (1, or one per channel).",
    )
    for name, rule in DROPOUTS:
        yield LayerType(
            name, signature(("p", 0.5), ("inplace", False)), rule, family="dropout",
            example=f"{name}(0.25)",
            example_input=(2, 4, 6) if name == "Dropout1d" else (2, 4, 6, 6) if name != "Dropout3d" else (2, 4, 3, 6, 6),
            summary=("p",),
            doc="Shape-preserving (identity at inference); p in [0, 1].",
        )
    yield LayerType(
        "Identity", (), lambda b, shape: Step(shape), family="reshaping",
        example="Identity", example_input=(1, 3, 8, 8), varargs=True,
        doc="Returns its input; takes and ignores any arguments, as in PyTorch.",
    )


LAYERS = [*_shape_preserving()]
