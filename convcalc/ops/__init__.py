"""The layer registry: one entry per supported ``torch.nn`` class.

Each ``LayerType`` knows the class's constructor signature (names, order and defaults as
in ``torch.nn``), which arguments can be inferred from the incoming shape
(``in_channels``...), and one ``apply`` rule: bound arguments and the full input shape in,
a ``Step`` out (output shape, parameters, MACs and the receptive-field operation).

Tests and docs iterate over ``REGISTRY``: a layer without a docs entry or a torch
comparison fails CI.
"""

from __future__ import annotations

import difflib
import importlib

from convcalc.errors import SpecError
from convcalc.ops.base import REQUIRED, LayerType, Step
from convcalc.ops.function import FunctionType, function_lookup


class _Registry(dict):
    """A registry whose families load on first need: the classic layers at once, the rest
    (attention, torchvision's layers, every function) when a name is missing or the whole
    registry is read. ``convcalc net`` on a plain CNN then imports a third of the ops."""

    def __init__(self, eager: tuple, lazy: tuple, attribute: str):
        super().__init__()
        self._families = (*eager, *lazy)
        self._attribute = attribute
        self._loaded = False
        self._load(eager)

    def _load(self, names) -> None:
        for name in names:
            for entry in getattr(importlib.import_module(f"convcalc.ops.{name}"), self._attribute):
                dict.setdefault(self, entry.name, entry)

    def _complete(self) -> None:
        if not self._loaded:
            self._loaded = True
            ordered = dict(self)
            dict.clear(self)
            self._load(self._families)  # every family, in the documented order
            for key, value in ordered.items():
                dict.setdefault(self, key, value)

    def __missing__(self, key):
        self._complete()
        if not dict.__contains__(self, key):
            raise KeyError(key)
        return dict.__getitem__(self, key)

    def __contains__(self, key) -> bool:
        if dict.__contains__(self, key):
            return True
        self._complete()
        return dict.__contains__(self, key)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def __iter__(self):
        self._complete()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._complete()
        return dict.__len__(self)

    def keys(self):
        self._complete()
        return dict.keys(self)

    def values(self):
        self._complete()
        return dict.values(self)

    def items(self):
        self._complete()
        return dict.items(self)


# the order of the families is the order of docs/layers.md
REGISTRY: dict[str, LayerType] = _Registry(
    ("conv", "linear", "norm", "reshape", "resample", "padding", "activation"),
    ("attention", "torchvision_layers", "swin"), "LAYERS")

# torch functions and tensor methods, by torch's name
FUNCTIONS: dict[str, FunctionType] = _Registry(
    (), ("elementwise", "shape", "getitem", "indexing", "factories", "torchvision_layers", "reduce", "nonlinear",
         "linalg", "resize", "pool_functions", "conv_functions", "norm_functions", "attention_functions", "repeat",
         "convert", "pointwise", "swin", "swin3d", "mvit"), "FUNCTIONS")

# operators in an expression: x + y, x * 0.5, x @ w
OPERATORS = {"Add": "add", "Sub": "sub", "Mult": "mul", "Div": "div", "MatMult": "matmul", "Pow": "pow"}

__all__ = ["FUNCTIONS", "OPERATORS", "REGISTRY", "REQUIRED", "FunctionType", "LayerType", "Step",
           "from_origin", "function", "lookup"]


def function(name: str) -> FunctionType:
    """The registered function ``name``; an unknown name gets the closest suggestion."""
    return function_lookup(FUNCTIONS, name)


def from_origin(dotted: str) -> FunctionType | None:
    """The registered function whose ``origin`` is ``dotted`` (torchvision's full name of
    it, ``torchvision.models.video.swin_transformer._get_relative_position_bias``), or None."""
    if not dotted.startswith("torchvision."):
        return None
    return next((f for f in FUNCTIONS.values() if f.origin == dotted), None)


def lookup(name: str) -> LayerType:
    """The registered layer ``name``; an unknown name gets the closest suggestion."""
    try:
        return REGISTRY[name]
    except KeyError:
        pass
    folded = {k.lower(): k for k in REGISTRY}
    if name.lower() in folded:
        hint = folded[name.lower()]
    else:
        close = difflib.get_close_matches(name, list(REGISTRY), n=1, cutoff=0.6)
        hint = close[0] if close else None
    raise SpecError(
        f"unknown layer {name!r}",
        fix=f"did you mean {hint}?" if hint else "see docs/layers.md for the supported layers",
    )
