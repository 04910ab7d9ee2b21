"""Dtype conversions: ``x.to(dtype)``, ``x.float()``, ``x.long()``, ``x.bool()``...,
``x.type_as(y)``: the input's shape, and the dtype they give, which the lowering tracks for
what reads dtypes (integer index tensors; Buffer and factory dtypes).

``to`` takes its dtype positionally or as ``dtype=``, as a spec writes dtypes: a name
(``x.to('float16')``, ``x.to(dtype='int64')``; the importer writes ``torch.bool`` so). Its
device forms are left out: a device never changes a shape, and ``check`` runs every
operation on one device (``x.to(device=...)`` is refused by name; the importer drops
``device=``). ``to(other)`` is ``type_as(other)``'s job here. No MACs, pointwise.
"""

from __future__ import annotations

from convcalc.errors import ParamError
from convcalc.ops.base import ALIASES, DTYPES, Step
from convcalc.ops.function import FunctionType, params

# tensor methods that convert to one dtype
METHODS = {"float": "float32", "double": "float64", "half": "float16", "bfloat16": "bfloat16",
           "long": "int64", "int": "int32", "short": "int16", "char": "int8", "byte": "uint8", "bool": "bool"}


def _to(b):
    dtype = b["dtype"]
    if dtype is None:
        return Step(tuple(b["input"]))  # x.to(): the tensor itself
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ParamError(f"to: dtype must be one of {', '.join(DTYPES)}, got {dtype!r}",
                         fix="a device never changes a shape: leave it out")
    return Step(tuple(b["input"]), dtype=ALIASES.get(dtype, dtype))


def _convert(dtype: str):
    return lambda b: Step(tuple(b["input"]), dtype=dtype)


def _ex(call, *shapes):
    return (call, shapes)


FUNCTIONS = [
    FunctionType("to", params("input:tensor", ("dtype", None), ("non_blocking", False), ("copy", False)),
                 _to, "convert", "The input converted to dtype (a name: 'float16', 'int64', 'bool').",
                 (_ex("x.to('float16')", (2, 3)), _ex("x.to(dtype='int64')", (2,)),
                  _ex("x.to('bool', copy=True)", (2, 3)), _ex("x.to()", (4,)), _ex("x.to('float64')", ())),
                 method=True),
    *(FunctionType(name, params("input:tensor"), _convert(dtype), "convert",
                   f"The input converted to {dtype}: self.to(torch.{dtype}).",
                   (_ex(f"x.{name}()", (2, 3)), _ex(f"x.{name}()", ())), method=True)
      for name, dtype in METHODS.items()),
    FunctionType("type_as", params("input:tensor", "other:tensor"), lambda b: Step(tuple(b["input"])), "convert",
                 "The input converted to other's dtype (which the spec may not know: then unknown "
                 "downstream, never guessed).", (_ex("x.type_as(y)", (2, 3), (5,)),), method=True),
]
