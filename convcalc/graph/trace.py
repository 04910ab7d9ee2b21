"""Tracing values: the part of the lowering that evaluates what a ``forward`` would.

A value in a spec's expressions is a ``TensorRef``: a named value of the graph with its
shape. Calls, methods, operators and indexing on it emit operations (``x + y`` is
``add``, ``x.permute(0, 2, 3, 1)`` is ``permute``, ``Conv2d(3, 64, 3)(x)`` is a layer
applied to ``x``); ``x.size(2)``, ``x.shape[-1]`` and ``x.ndim`` read its shape, as
ordinary numbers or, in symbolic mode, as expressions.
"""

from __future__ import annotations

import ast

from convcalc.engine.symbolic import is_symbolic, violated
from convcalc.errors import ShapeError, SpecError
from convcalc.ops import OPERATORS, REGISTRY, function, lookup
from convcalc.ops.base import Step
from convcalc.ops.function import Tensor
from convcalc.spec import expr

LEARNED = ("Parameter", "Buffer")  # learned tensors and buffers: Parameter([1, 1, 768])
DTYPES = ("float32", "float", "float16", "half", "bfloat16", "float64", "double",
          "int64", "long", "int32", "int", "int16", "int8", "uint8", "bool")


class TensorRef(expr.TensorLike, Tensor):
    """A value of the graph as expressions see it: its name and shape."""

    __slots__ = ("name", "shape")

    def __init__(self, name: str, shape: tuple):
        self.name = name
        self.shape = shape

    def __repr__(self) -> str:
        return self.name


class Tracer:
    """Mixed into the lowering: emits operations for expressions over values. Expects
    ``self.emit``, ``self.shapes``, ``self.ref``, and the current item, scope and names in
    ``self.here``."""

    # expr's hooks ----------------------------------------------------------------------

    def function(self, dotted: str, args, kwargs, node):
        name = expr.strip_prefix(dotted)
        if name in REGISTRY or name in self.spec.blocks:
            raise SpecError(f"{name} is a module: apply it to a value, as in {name}(...)(x)")
        if name in LEARNED:
            return self.learned(name, args, kwargs)
        if name == "_assert":
            return self.check(args, kwargs)
        return self.call_function(function(name), args, kwargs)

    def method(self, ref, name: str, args, kwargs, node):
        ftype = function(name)
        if not ftype.method:
            raise SpecError(f"{name} is a function, not a tensor method: write {name}(...)")
        return self.call_function(ftype, args, kwargs, receiver=ref)

    def operator(self, kind: str, operands, node):
        if kind == "USub":
            return self.call_function(function("neg"), operands, {})
        name = OPERATORS.get(kind)
        if name is None:
            raise SpecError(f"{ast.unparse(node)!r}: the {kind} operator is not supported on tensors")
        left, right = operands
        if not isinstance(left, Tensor):
            if name in ("add", "mul"):
                left, right = right, left
            elif name == "sub":
                return self.call_function(function("rsub"), [left], {}, receiver=right)
            else:
                raise SpecError(f"{ast.unparse(node)!r}: a number {kind} a tensor is not supported; "
                                "write the tensor first")
        return self.call_function(function(name), [right], {}, receiver=left)

    def subscript(self, ref, index, node):
        return self.call_function(function("getitem"), [index], {}, receiver=ref)

    def apply(self, call: ast.Call, inputs, kwargs, node, env):
        """``Conv2d(3, 64, 3)(x)``: a layer (or a block) applied to explicit values."""
        found = expr.simple_call(call)
        if found is None:
            raise SpecError(f"cannot apply {ast.unparse(call)!r}: write Layer(arguments)(values)")
        target, arg_nodes, kwarg_nodes = found
        args = [expr.evaluate(a, env, self) for a in arg_nodes]
        ctor = {k: expr.evaluate(v, env, self) for k, v in kwarg_nodes.items()}
        refs = [v for v in inputs if isinstance(v, Tensor)]
        if len(refs) != len(inputs):
            raise SpecError(f"{ast.unparse(node)!r}: a module is applied to tensors")
        block = self.spec.blocks.get(target)
        if block is not None:
            if kwargs:
                raise SpecError(f"{ast.unparse(node)!r}: a block takes its inputs positionally")
            return self.block_call(block, args, ctor, refs)
        return self.module(lookup(target), args, ctor, refs, kwargs)

    # operations ------------------------------------------------------------------------

    def call_function(self, ftype, args, kwargs, receiver=None):
        bound = ftype.bind(args, kwargs, receiver)
        step = ftype.apply(ftype.shapes(bound))
        inputs = tuple(t.name for t in ftype.tensors(bound))
        return self.emit_here(ftype.name, ftype, bound, inputs, step, module=False)

    def module(self, layer_type, args, kwargs, inputs, forward=None):
        """A ``torch.nn`` layer applied to ``inputs`` (its first input is the running one)."""
        first = inputs[0]
        if len(inputs) > 1 or forward:
            raise SpecError(f"{layer_type.name} takes one input here, got {len(inputs)}"
                            + (f" and {', '.join(forward)}" if forward else ""))
        bound, step = self.rule(layer_type, args, kwargs, first.shape)
        return self.emit_here(layer_type.name, layer_type, bound, (first.name,), step, module=True)

    def learned(self, kind: str, args, kwargs):
        """``Parameter(shape, dtype='float32')``: a learned tensor (counted in params) or a
        buffer; it has no input."""
        names = ("shape", "dtype")
        bound = {"shape": None, "dtype": "float32", **dict(zip(names, args))}
        for k, v in kwargs.items():
            if k not in names or k in dict(zip(names, args)):
                raise SpecError(f"{kind}(shape, dtype='float32'): unexpected argument {k!r}")
            bound[k] = v
        shape = bound["shape"]
        if not isinstance(shape, (list, tuple)) or not all(
                is_symbolic(s) or (isinstance(s, int) and not isinstance(s, bool) and s >= 0) for s in shape):
            raise SpecError(f"{kind}: shape must be a list of sizes, got {shape!r}")
        if bound["dtype"] not in DTYPES:
            raise SpecError(f"{kind}: dtype must be one of {', '.join(DTYPES)}, got {bound['dtype']!r}")
        bound["shape"] = tuple(shape)
        numel = 1
        for s in shape:
            numel *= s
        step = Step(tuple(shape), params=numel if kind == "Parameter" else 0)
        return self.emit_here(kind, LearnedType(kind), bound, (), step, module=True)

    def check(self, args, kwargs):
        """``_assert(condition, message)``: refuses the input where the model would."""
        if len(args) + len(kwargs) not in (1, 2):
            raise SpecError("_assert(condition, message) takes a condition and a message")
        condition = args[0] if args else kwargs.get("condition")
        message = args[1] if len(args) > 1 else kwargs.get("message", "assertion failed")
        if isinstance(condition, bool):
            failed = not condition
        else:
            import sympy

            failed = violated(sympy.Not(condition), str(message))
        if failed:
            raise ShapeError(f"_assert failed: {message}")
        return None


class LearnedType:
    """The rule entry of a learned tensor or buffer (it has no input)."""

    def __init__(self, name: str):
        self.name = name

    def describe(self, bound: dict) -> str:
        shape = ", ".join(map(str, bound["shape"]))
        dtype = "" if bound["dtype"] in ("float32", "float") else f", dtype={bound['dtype']!r}"
        return f"{self.name}([{shape}]{dtype})"
