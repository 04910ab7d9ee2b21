"""Tensor factories: ``torch.zeros(b, 1, c)``, ``torch.arange(n)``, ``torch.full((n, n), v)``,
``torch.zeros_like(x)``, ``x.new_zeros(...)``: tensors a ``forward`` makes, of a shape its
arguments give (sizes may be symbolic), refused where torch refuses them.

The output's dtype is stated (``Step.dtype``) where torch's rule gives it: ``dtype=`` wins;
``zeros``/``ones``/``empty``/``rand``/``randn`` make float32, ``full`` takes its fill value's
(an int int64, a float float32), ``arange`` int64 when start, end and step are integers and
float32 otherwise; the ``*_like`` functions and the ``new_*`` methods keep their input's.
``arange``'s length is torch's: ``ceil((end - start) / step)`` in float64, or, for int64,
on the arguments truncated to integers (other integer dtypes do not truncate); a zero step, an infinite bound and a step of the
wrong sign are refused. ``device=`` is accepted and ignored (a shape never depends on it;
the torch backend makes the tensor on the network's device); ``requires_grad=True`` needs a
floating dtype, as ``rand``/``randn`` do (unchecked where a ``*_like`` input's dtype is
not known). A boolean is not a size or a fill value here (torch takes one after the first
size). No parameters, no MACs. Receptive field: the output of a factory or a ``new_*``
method sees no input pixel (``NONE``); a ``*_like``'s, whose values depend on none of its
input either, is left as its input's (``rf=()``): its shape is the input's, and
``x + torch.zeros_like(x)`` keeps x's field rather than becoming global or misaligned.
"""

from __future__ import annotations

import math
import re

from convcalc.engine.symbolic import any_symbolic, is_symbolic, violated
from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import ALIASES, DTYPES, NONE, REQUIRED, Kind, Step
from convcalc.ops.function import TENSOR, VARARGS, FunctionType, Param


class _Unset:
    """arange's end and step when not given (torch refuses None for them)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<no {self.name}>"


UNSET = _Unset("value")
FLOATS = ("float32", "float16", "bfloat16", "float64")
DEVICE = re.compile(r"(cpu|cuda|mps|meta|xpu)(:\d+)?")
DTYPE = Kind("choice", optional=True, choices=DTYPES)
OPTIONS = (Param("dtype", None, keyword_only=True), Param("device", None, keyword_only=True),
           Param("requires_grad", False, keyword_only=True))
KINDS = {"dtype": DTYPE, "device": None, "start": None, "end": None, "step": None,
         "fill_value": Kind("number")}  # None: the rule checks it


def _options(op: str, b: dict, default: str | None) -> str | None:
    """The output's dtype (``default`` where dtype= is not given; None: the input's), after
    checking device= and requires_grad= as torch does."""
    device = b["device"]
    if device is not None and not (isinstance(device, str) and DEVICE.fullmatch(device)):
        raise ParamError(f"{op}: device must be None or a device name such as 'cpu' or 'cuda:0', got {device!r}")
    dtype = ALIASES.get(b["dtype"], b["dtype"]) if b["dtype"] is not None else default
    if b["requires_grad"] and dtype is not None and dtype not in FLOATS:
        raise ParamError(f"{op}: only tensors of floating point dtype can require gradients, not {dtype}",
                         fix="drop requires_grad or use a floating dtype")
    return dtype


def _sizes(op: str, size) -> tuple:
    """torch's sizes: integers >= 0 (symbolic ones pass, negative refused where decidable)."""
    if not isinstance(size, (list, tuple)):
        raise ParamError(f"{op}: size must be a list of integers, got {size!r}")
    numel = 1
    for s in size:
        if is_symbolic(s):
            import sympy

            if violated(sympy.Lt(s, 0), f"{op}'s sizes are >= 0"):
                raise ShapeError(f"{op}: size {s} is negative")
            continue
        if isinstance(s, bool) or not isinstance(s, int):
            raise ParamError(f"{op}: size must be a list of integers, got {list(size)!r}")
        if s < 0:
            raise ShapeError(f"{op}: dimension size must be non-negative, got {list(size)}")
        numel *= s
    if numel > 2**63 - 1:
        raise ShapeError(f"{op}: the size {list(size)} has more than 2**63 - 1 elements")
    return tuple(size)


def _random(op: str, dtype, shape) -> None:
    """torch's random kernels take floating dtypes only (randn's runs none on an empty
    tensor; rand checks its bounds even then)."""
    if dtype is not None and dtype not in FLOATS and not (op.startswith("randn") and 0 in shape):
        raise ParamError(f"{op}: random values need a floating dtype, got {dtype}",
                         fix="use dtype='float32' (or randint for integers)")


def _fill(b: dict) -> str:
    return "float32" if isinstance(b["fill_value"], float) else "int64"


def _factory(op: str):
    def rule(b: dict) -> Step:
        dtype = _options(op, b, _fill(b) if op == "full" else "float32")
        size = _sizes(op, b["size"])
        if op in ("rand", "randn"):
            _random(op, dtype, size)
        return Step(size, dtype=dtype)
    return rule


def _like(op: str):
    def rule(b: dict) -> Step:
        dtype = _options(op, b, None)
        if op in ("rand_like", "randn_like"):
            _random(op, dtype, b["input"])
        return Step(tuple(b["input"]), dtype=dtype)
    return rule


def _new(op: str):
    def rule(b: dict) -> Step:
        return Step(_sizes(op, b["size"]), rf=NONE, dtype=_options(op, b, None))
    return rule


def _number(value, what: str):
    if value is UNSET or is_symbolic(value):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(f"arange: {what} must be a number, got {value!r}")
    return value


def _arange(b: dict) -> Step:
    start, end, step = (_number(b[k], k) for k in ("start", "end", "step"))
    if start is UNSET and end is UNSET:
        raise ParamError("arange: missing required argument 'end'")
    if end is UNSET or start is UNSET:
        if step is not UNSET:
            raise ParamError("arange: a step needs both start and end", fix="write arange(start, end, step)")
        start, end = 0, end if start is UNSET else start
    step = 1 if step is UNSET else step
    floats = any(isinstance(v, float) for v in (start, end, step))
    dtype = _options("arange", b, "float32" if floats else "int64")
    if dtype == "bool":
        raise ParamError("arange: a bool arange is not supported by torch", fix="use an integer dtype")
    if any_symbolic((start, end, step)):
        return Step((_symbolic_length(start, end, step),), dtype=dtype)
    integral = dtype == "int64"  # torch truncates the arguments for int64 only
    xs, xe, xst = (int(v) if integral else float(v) for v in (start, end, step))
    if xst == 0:
        raise ParamError("arange: step must be nonzero" + (f" (got {step!r} as an integer)" if step else ""))
    if not (math.isfinite(xs) and math.isfinite(xe)):
        raise ParamError(f"arange: unsupported range {start} -> {end}")
    if not ((xst > 0 and xe >= xs) or (xst < 0 and xe <= xs)):
        raise ShapeError(f"arange: upper bound and lower bound inconsistent with step sign "
                         f"(start={start}, end={end}, step={step})")
    if dtype == "int64":  # torch's integer formula, on the truncated arguments
        sign = 1 if xst > 0 else -1
        length = (xe - xs + xst - sign) // xst
    else:
        length = math.ceil((float(end) - float(start)) / float(step))
    if length > 2**63 - 1:
        raise ShapeError(f"arange: {length} elements, more than 2**63 - 1")
    return Step((length,), dtype=dtype)


def _symbolic_length(start, end, step):
    import sympy

    if any(isinstance(v, float) for v in (start, end, step)) or is_symbolic(step):
        raise ParamError("arange: with symbolic sizes, start, end and step must be integers and step a number",
                         fix="give the input numeric sizes")
    if step == 0:
        raise ParamError("arange: step must be nonzero")
    wrong = sympy.Lt(end, start) if step > 0 else sympy.Gt(end, start)
    if violated(wrong, "arange's bounds agree with its step's sign"):
        raise ShapeError("arange: upper bound and lower bound inconsistent with step sign")
    sign = 1 if step > 0 else -1
    return sympy.floor((end - start + step - sign) / sympy.Integer(step))


def _ex(call, *shapes):
    return (call, shapes or ((2, 3),))


SIZE = Param("size", REQUIRED, VARARGS)
_DOC = {"zeros": "zeros", "ones": "ones", "empty": "uninitialised values",
        "rand": "uniform random values in [0, 1)", "randn": "normal random values"}


def _makers() -> list:
    out = []
    for name, what in _DOC.items():
        out.append(FunctionType(
            name, (SIZE, *OPTIONS), _factory(name), "factories",
            f"A new tensor of {what}, of the given size (varargs or one list; sizes >= 0); "
            f"float32 unless dtype= says otherwise{' (a floating one)' if name.startswith('rand') else ''}.",
            (_ex(f"torch.{name}(2, 3)"), _ex(f"torch.{name}((x.size(0), 4))"), _ex(f"torch.{name}(())"),
             _ex(f"torch.{name}(x.shape, dtype='float16')"), _ex(f"torch.{name}(2, -1)"),
             _ex(f"torch.{name}(2, 3.0)"), _ex(f"torch.{name}()"),
             _ex(f"torch.{name}(0, 5, device='cpu', requires_grad=True)"),
             _ex(f"torch.{name}(3, dtype='int64')"), _ex(f"torch.{name}(3, dtype='int64', requires_grad=True)"),
             _ex(f"torch.{name}(size=[4], dtype='long')"), _ex(f"x + torch.{name}(x.size(1))")),
            method=False, kinds=KINDS))
        like = f"{name}_like"
        out.append(FunctionType(
            like, (Param("input", kind=TENSOR), *OPTIONS), _like(like), "factories",
            f"A new tensor of {what} of input's shape, and of its dtype unless dtype= says otherwise.",
            (_ex(f"torch.{like}(x)"), _ex(f"torch.{like}(x, dtype='float64')"),
             _ex(f"torch.{like}(x, dtype='int32')"), _ex(f"torch.{like}(x.flatten(), requires_grad=True)"),
             _ex(f"torch.{like}(x, device='cpu')"), _ex(f"torch.{like}(x, dtype='float16', requires_grad=True)"),
             _ex(f"torch.{like}(x, 'float16')")),
            method=False, kinds=KINDS))
    out.append(FunctionType(
        "full", (Param("size"), Param("fill_value"), *OPTIONS), _factory("full"), "factories",
        "A new tensor of the given size (a list) filled with fill_value: int64 for an integer, float32 "
        "for a float, unless dtype= says otherwise (a boolean fill value is refused here).",
        (_ex("torch.full((2, 3), 1.5)"), _ex("torch.full((x.size(0), x.size(0)), float('-inf'))"),
         _ex("torch.full([4], 7)"), _ex("torch.full((2, 2), 1.5, dtype='int64')"), _ex("torch.full(3, 1.0)"),
         _ex("torch.full((2, -3), 0.0)"), _ex("torch.full((2,), 1, requires_grad=True)"),
         _ex("torch.full(size=(2, 3), fill_value=0.5, requires_grad=True)"), _ex("torch.full((2,), 'a')")),
        method=False, kinds=KINDS))
    out.append(FunctionType(
        "full_like", (Param("input", kind=TENSOR), Param("fill_value"), *OPTIONS), _like("full_like"),
        "factories", "A new tensor of input's shape and dtype (unless dtype= says otherwise) filled with fill_value.",
        (_ex("torch.full_like(x, 3)"), _ex("torch.full_like(x, 0.5, dtype='int64')"),
         _ex("torch.full_like(x, float('-inf'))"), _ex("torch.full_like(x)")),
        method=False, kinds=KINDS))
    out.append(FunctionType(
        "arange", (Param("start", UNSET), Param("end", UNSET), Param("step", UNSET), *OPTIONS), _arange,
        "factories",
        "A 1-d tensor of ceil((end - start) / step) values (arange(end) starts at 0): int64 for integer "
        "arguments, float32 when one is a float, unless dtype= says otherwise; a zero step, an infinite "
        "bound and a step of the wrong sign are refused.",
        (_ex("torch.arange(5)"), _ex("torch.arange(2, 9, 3)"), _ex("torch.arange(0, 1, 0.1)"),
         _ex("torch.arange(x.size(1))"), _ex("torch.arange(x.size(1), 0, -1)"), _ex("torch.arange(end=4)"),
         _ex("torch.arange(-3, 3, 0.5)"), _ex("torch.arange(0, 5.5, 1, dtype='int64')"),
         _ex("torch.arange(0, 2.9, 0.3, dtype='int64')"), _ex("torch.arange(0, 3, 0)"), _ex("torch.arange(3, 0)"),
         _ex("torch.arange(0, 10, -1)"), _ex("torch.arange(float('inf'))"), _ex("torch.arange(5, step=2)"),
         _ex("torch.arange()"), _ex("torch.arange(0, 5, step=2, dtype='float16')"),
         _ex("torch.arange(5, dtype='bool')"), _ex("torch.arange(5, requires_grad=True)"),
         _ex("x[:, torch.arange(x.size(1) - 1)]"), _ex("x + torch.arange(x.size(1))")),
        method=False, kinds=KINDS))
    for name in ("new_zeros", "new_ones", "new_empty"):
        out.append(FunctionType(
            name, (Param("input", kind=TENSOR), SIZE, *OPTIONS), _new(name), "factories",
            f"x.{name}(*size): a new tensor of the given size, of x's dtype unless dtype= says otherwise.",
            (_ex(f"x.{name}(2, 3)"), _ex(f"x.{name}((x.size(0), 1))"), _ex(f"x.{name}(())"),
             _ex(f"x.{name}(4, dtype='int64')"), _ex(f"x.{name}(2, -1)"), _ex(f"x.{name}()"),
             _ex(f"x.{name}(size=[2])"), _ex(f"x.{name}(2.5)")),
            kinds=KINDS))
    out.append(FunctionType(
        "new_full", (Param("input", kind=TENSOR), Param("size"), Param("fill_value"), *OPTIONS),
        _new("new_full"), "factories",
        "x.new_full(size, fill_value): a new tensor of the given size (a list), of x's dtype unless "
        "dtype= says otherwise, filled with fill_value.",
        (_ex("x.new_full((2, 3), 1.5)"), _ex("x.new_full([x.size(1)], 0)"), _ex("x.new_full((3,), 2.5, dtype='int64')"),
         _ex("x.new_full((2, -1), 0.0)"), _ex("x.new_full((2,), None)")),
        kinds=KINDS))
    return out


FUNCTIONS = _makers()
