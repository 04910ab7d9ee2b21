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

from convcalc.errors import SpecError
from convcalc.ops.base import REQUIRED, LayerType, Step
from convcalc.ops import activation, conv, elementwise, linear, norm, padding, resample, reshape
from convcalc.ops import indexing, shape
from convcalc.ops import linalg, nonlinear, pool_functions, reduce, resize
from convcalc.ops import attention, torchvision_layers
from convcalc.ops import swin
from convcalc.ops import mvit
from convcalc.ops.function import FunctionType, function_lookup

# the order of the families is the order of docs/layers.md
_FAMILIES = (conv, linear, norm, reshape, resample, padding, activation, attention,
             torchvision_layers, swin)
REGISTRY: dict[str, LayerType] = {lt.name: lt for family in _FAMILIES for lt in family.LAYERS}

# torch functions and tensor methods, by torch's name
_FUNCTION_FAMILIES = (elementwise, shape, indexing, torchvision_layers, reduce, nonlinear, linalg,
                      resize, pool_functions, swin, mvit)
FUNCTIONS: dict[str, FunctionType] = {f.name: f for family in _FUNCTION_FAMILIES
                                      for f in family.FUNCTIONS}
OPERATORS = elementwise.OPERATORS

__all__ = ["FUNCTIONS", "OPERATORS", "REGISTRY", "REQUIRED", "FunctionType", "LayerType", "Step",
           "function", "lookup"]


def function(name: str) -> FunctionType:
    """The registered function ``name``; an unknown name gets the closest suggestion."""
    return function_lookup(FUNCTIONS, name)


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
