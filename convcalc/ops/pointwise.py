"""Pointwise math as torch functions and tensor methods: ``x.sqrt()``, ``torch.rsqrt(v)``,
``x.exp()``, ``x.pow(2)`` and ``x ** 2`` (``2 ** x`` too), ``x.clamp(min=1e-6)``,
``x.cumsum(1)`` (RMSNorm, cosine attention's logit scale, positional encodings).

Every one gives its input's shape (``pow`` and ``clamp`` broadcast their tensor
arguments, as torch does); no MACs, as other elementwise operations. Dtypes are left
unknown downstream (a float function of an integer tensor gives a float one; convcalc
never guesses), except where the call states one (``cumsum(dim, dtype=...)``).
"""

from __future__ import annotations

from convcalc.errors import ParamError
from convcalc.ops.base import ALIASES, DTYPES, Mix, Step
from convcalc.ops.elementwise import broadcast
from convcalc.ops.function import FunctionType, params
from convcalc.ops.shape import wrap

UNARY = {"sqrt": "√x", "rsqrt": "1/√x", "exp": "e^x", "exp2": "2^x", "expm1": "e^x - 1", "log": "ln x",
         "log2": "log₂ x", "log10": "log₁₀ x", "log1p": "ln(1 + x)", "sin": "sin x", "cos": "cos x",
         "tan": "tan x", "erf": "the error function", "erfc": "1 - erf x", "reciprocal": "1/x",
         "abs": "|x|", "sign": "the sign of x", "floor": "⌊x⌋", "ceil": "⌈x⌉", "trunc": "x rounded toward 0",
         "frac": "x - trunc x", "square": "x·x"}


def _operand(value):
    return value if isinstance(value, tuple) else ()


def _pow(b):
    base, exponent = b["input"], b["exponent"]
    if not isinstance(base, tuple) and not isinstance(exponent, tuple):
        raise ParamError("pow: one of input and exponent must be a tensor")
    return Step(broadcast(_operand(base), _operand(exponent)))


def _clamp(op: str, names: tuple):
    def rule(b):
        bounds = [b[n] for n in names]
        if all(v is None for v in bounds):
            raise ParamError(f"{op}: at least one of min and max must be given",
                             fix="write clamp(min=...) or clamp(max=...)")
        given = [v for v in bounds if v is not None]
        if len({isinstance(v, tuple) for v in given}) > 1:  # torch's two overloads
            raise ParamError(f"{op}: min and max must both be numbers or both tensors, got "
                             f"{' and '.join('a tensor' if isinstance(v, tuple) else repr(v) for v in given)}")
        shape = tuple(b["input"])
        for value in bounds:
            if isinstance(value, tuple):
                shape = broadcast(shape, value)
            elif value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ParamError(f"{op}: a bound must be a number or a tensor, got {value!r}")
        return Step(shape)

    return rule


def _cumsum(b):
    shape, dtype = tuple(b["input"]), b["dtype"]
    dim = wrap("cumsum", b["dim"], len(shape))
    if dtype is not None and dtype not in DTYPES:
        raise ParamError(f"cumsum: dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    rf = (Mix((dim - len(shape),)),) if shape else ()
    return Step(shape, rf=rf, dtype=ALIASES.get(dtype, dtype) if dtype else None)


def _ex(call, *shapes):
    return (call, shapes)


FUNCTIONS = [
    *(FunctionType(name, params("input:tensor"), lambda b: Step(tuple(b["input"])), "pointwise",
                   f"{text}, elementwise; the input's shape.", (_ex(f"torch.{name}(x)", (2, 3)), _ex(f"x.{name}()", ())))
      for name, text in UNARY.items()),
    FunctionType("pow", params("input:operand", "exponent:operand"), _pow, "pointwise",
                 "input ** exponent, broadcast (a number to a tensor's power too: 2 ** x).",
                 (_ex("x.pow(2)", (2, 3)), _ex("x ** y", (2, 3), (3,)), _ex("2 ** x", (4,)),
                  _ex("torch.pow(x, y)", (2, 3), (4,)), _ex("x ** 0.5", (2, 1, 3)))),
    FunctionType("clamp", params("input:tensor", ("min:operand", None), ("max:operand", None)),
                 _clamp("clamp", ("min", "max")), "pointwise",
                 "Each value limited to [min, max] (numbers, or tensors: all three broadcast).",
                 (_ex("x.clamp(min=1e-6)", (2, 3)), _ex("torch.clamp(x, 0, 6)", (4,)), _ex("x.clamp()", (2,)),
                  _ex("x.clamp(max=y)", (2, 3), (3,)), _ex("x.clamp(min=y)", (2, 3), (4, 2, 3)))),
    FunctionType("clip", params("input:tensor", ("min:operand", None), ("max:operand", None)),
                 _clamp("clip", ("min", "max")), "pointwise", "Alias of clamp.",
                 (_ex("x.clip(0, 1)", (2, 3)),)),
    FunctionType("clamp_min", params("input:tensor", "min:operand"), _clamp("clamp_min", ("min",)), "pointwise",
                 "clamp(min=min).", (_ex("x.clamp_min(1e-12)", (2, 3)), _ex("torch.clamp_min(x, y)", (2, 3), (3,)))),
    FunctionType("clamp_max", params("input:tensor", "max:operand"), _clamp("clamp_max", ("max",)), "pointwise",
                 "clamp(max=max).", (_ex("x.clamp_max(6)", (2, 3)),)),
    FunctionType("cumsum", params("input:tensor", "dim", ("|dtype", None)), _cumsum, "pointwise",
                 "Running sums along dim: the input's shape (dtype= sets the output's); the "
                 "receptive field covers dim.",
                 (_ex("x.cumsum(1)", (2, 3, 4)), _ex("torch.cumsum(x, -1, dtype='float64')", (2, 3)),
                  _ex("x.cumsum(3)", (2, 3)), _ex("x.cumsum(0)", ()))),
]
