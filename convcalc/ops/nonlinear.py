"""Activations, dropout and layer_norm as functions (``F.relu(x)``, ``x.sigmoid()``,
``F.layer_norm(x, [768], w, b)``): shape-preserving, with torch's argument checks.

``inplace`` is read for its truth (``F.relu`` writes ``if inplace:``), so any value
passes; the slopes and ``alpha`` are numbers (a bool is one); ``F.gelu``'s ``approximate``
is 'none' or 'tanh'; ``F.dropout``'s ``p`` is a number in [0, 1] and ``training`` a bool.

Receptive field: pointwise (``()``); layer_norm mixes the normalised dims (``Mix``).
"""

from __future__ import annotations

from convcalc.engine.symbolic import unequal, violated
from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import Mix, Step
from convcalc.ops.function import FunctionType, params


def _number(b: dict, name: str, op: str) -> None:
    value = b[name]
    if not isinstance(value, (int, float)):
        raise ParamError(f"{op}: {name} must be a number, got {value!r}")


def _pointwise(op: str, *numbers: str):
    def rule(b):
        for name in numbers:
            _number(b, name, op)
        return Step(tuple(b["input"]))

    return rule


def _gelu(b):  # approximate: 'none' or 'tanh' (base.KINDS)
    return Step(tuple(b["input"]))


def _dropout(b):
    p = b["p"]
    if not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ParamError(f"dropout: p must be a probability between 0 and 1, got {p!r}",
                         fix="use a p from 0 to 1")
    if not isinstance(b["training"], bool):
        raise ParamError(f"dropout: training must be true or false, got {b['training']!r}")
    return Step(tuple(b["input"]))


def _layer_norm(b):
    shape = tuple(b["input"])
    normalized = b["normalized_shape"]
    if not isinstance(normalized, (list, tuple)) or not all(
            isinstance(n, int) and not isinstance(n, bool) or _symbolic(n) for n in normalized):
        raise ParamError(f"layer_norm: normalized_shape must be a list of integers, got {normalized!r}",
                         fix=f"use normalized_shape=[{shape[-1] if shape else 1}]")
    normalized = tuple(normalized)
    if not normalized:
        raise ShapeError("layer_norm: normalized_shape must have at least one element, got []",
                         fix=f"use normalized_shape=[{shape[-1] if shape else 1}]")
    _number(b, "eps", "layer_norm")
    for name in ("weight", "bias"):
        given = b[name]
        if given is not None and (len(given) != len(normalized) or any(
                violated(unequal(g, n), f"layer_norm's {name} matches normalized_shape")
                for g, n in zip(given, normalized))):
            raise ShapeError(f"layer_norm: {name} must have the shape of normalized_shape "
                             f"{list(normalized)}, got {list(given)}",
                             fix=f"give a {name} of shape {list(normalized)}")
    k = len(normalized)
    if k > len(shape) or any(violated(unequal(a, n), "layer_norm's normalized_shape matches")
                             for a, n in zip(shape[len(shape) - k:], normalized)):
        raise ShapeError(
            f"layer_norm: normalized_shape={list(normalized)} expects an input of shape "
            f"[*, {', '.join(map(str, normalized))}], got {list(shape)}",
            fix=f"use normalized_shape={list(shape[-k:]) if k <= len(shape) else list(shape)}",
        )
    return Step(shape, rf=(Mix(tuple(range(-k, 0))),))


def _symbolic(value) -> bool:
    return hasattr(value, "free_symbols")


def _ex(call, *shapes):
    return (call, shapes)


def _activation(name, sig, rule, doc, examples, method=False):
    return FunctionType(name, sig, rule, "activation", doc, examples, method=method)


_INPLACE = params("input:tensor", ("inplace", False))

FUNCTIONS = [
    _activation("relu", _INPLACE, _pointwise("relu"), "max(0, x); shape-preserving.",
                (_ex("F.relu(x)", (2, 3, 4)), _ex("x.relu()", (5,)), _ex("torch.relu(x.sum())", (2,))), method=True),
    _activation("relu6", _INPLACE, _pointwise("relu6"), "min(max(0, x), 6); shape-preserving.",
                (_ex("F.relu6(x, inplace=True)", (2, 3)),)),
    _activation("gelu", params("input:tensor", ("|approximate", "none")), _gelu,
                "GELU, exact ('none') or tanh-approximated; shape-preserving.",
                (_ex("F.gelu(x)", (2, 3)), _ex("F.gelu(x, approximate='tanh')", (4,)),
                 _ex("F.gelu(x, approximate='sigmoid')", (4,)))),
    _activation("silu", _INPLACE, _pointwise("silu"), "x·sigmoid(x); shape-preserving.",
                (_ex("F.silu(x)", (2, 3, 4, 4)),)),
    _activation("sigmoid", params("input:tensor"), _pointwise("sigmoid"), "1 / (1 + e^-x); shape-preserving.",
                (_ex("torch.sigmoid(x)", (2, 3)), _ex("x.sigmoid()", (2, 1, 1))), method=True),
    _activation("tanh", params("input:tensor"), _pointwise("tanh"), "tanh(x); shape-preserving.",
                (_ex("torch.tanh(x)", (3,)), _ex("x.tanh()", (2, 3))), method=True),
    _activation("hardswish", _INPLACE, _pointwise("hardswish"), "x·relu6(x + 3)/6; shape-preserving.",
                (_ex("F.hardswish(x)", (2, 3, 4, 4)),)),
    _activation("hardsigmoid", _INPLACE, _pointwise("hardsigmoid"), "relu6(x + 3)/6; shape-preserving.",
                (_ex("F.hardsigmoid(x, inplace=False)", (2, 3, 1, 1)),)),
    _activation("leaky_relu", params("input:tensor", ("negative_slope", 0.01), ("inplace", False)),
                _pointwise("leaky_relu", "negative_slope"), "max(0, x) + negative_slope·min(0, x); shape-preserving.",
                (_ex("F.leaky_relu(x, 0.2)", (2, 3)), _ex("F.leaky_relu(x, negative_slope='a')", (2, 3)))),
    _activation("elu", params("input:tensor", ("alpha", 1.0), ("inplace", False)),
                _pointwise("elu", "alpha"), "x, or alpha·(e^x − 1) below 0; shape-preserving.",
                (_ex("F.elu(x, alpha=0.5)", (2, 3)),)),
    _activation("mish", _INPLACE, _pointwise("mish"), "x·tanh(softplus(x)); shape-preserving.",
                (_ex("F.mish(x)", (2, 3)),)),
    FunctionType("dropout", params("input:tensor", ("p", 0.5), ("training", True), ("inplace", False)),
                 _dropout, "dropout", "Shape-preserving; p in [0, 1], training a bool.",
                 (_ex("F.dropout(x, 0.1)", (2, 3)), _ex("F.dropout(x, p=0.5, training=False)", (4,)),
                  _ex("F.dropout(x, 1.5)", (2, 3)), _ex("F.dropout(x, 0.2, training=1)", (2, 3))),
                 method=False),
    FunctionType("layer_norm", params("input:tensor", "normalized_shape", ("weight:tensor", None),
                                      ("bias:tensor", None), ("eps", 1e-05)),
                 _layer_norm, "normalization",
                 "Normalises over the trailing normalized_shape dims; weight and bias (tensors, "
                 "counted where they are made) have exactly that shape.",
                 (_ex("F.layer_norm(x, [4])", (2, 3, 4)), _ex("F.layer_norm(x, (3, 4), y, z)", (2, 3, 4), (3, 4), (3, 4)),
                  _ex("F.layer_norm(x, [5])", (2, 3, 4)), _ex("F.layer_norm(x, [4], y)", (2, 3, 4), (1, 4)),
                  _ex("F.layer_norm(x, [])", (2, 3)), _ex("F.layer_norm(x, [1, 2, 3])", (2, 3))),
                 method=False),
]
