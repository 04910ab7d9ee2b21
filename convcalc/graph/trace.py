"""Tracing values: the part of the lowering that evaluates what a ``forward`` would.

A value in a spec's expressions is a ``TensorRef``: a named value of the graph with its
shape. Calls, methods, operators and indexing on it emit operations (``x + y`` is
``add``, ``x.permute(0, 2, 3, 1)`` is ``permute``, ``Conv2d(3, 64, 3)(x)`` is a layer
applied to ``x``); ``x.size(2)``, ``x.shape[-1]`` and ``x.ndim`` read its shape, as
ordinary numbers or, in symbolic mode, as expressions.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from convcalc.engine.symbolic import is_symbolic, violated
from convcalc.errors import ConvcalcError, ShapeError, SpecError
from convcalc.ops import OPERATORS, REGISTRY, from_origin, function, lookup
from convcalc.ops.base import ALIASES, DTYPES, Step
from convcalc.graph.ir import Op, Scope
from convcalc.ops.function import TENSOR, FunctionType, Param, Tensor
from convcalc.spec import expr

LEARNED = ("Parameter", "Buffer")  # learned tensors and buffers: Parameter([1, 1, 768])
# A value's dtype is known where the spec states it (an input's, a Parameter's or Buffer's)
# and kept by the functions of these families (view, flatten, getitem, chunk...), which
# give their first input's dtype; a rule may state its output's (Step.dtype: a factory's,
# zeros(2, dtype='int64'), arange(n)); elsewhere it is unknown, never guessed (Lowering.dtypes)
SAME_DTYPE = ("shape", "indexing", "split", "factories")


class TensorRef(expr.TensorLike, Tensor):
    """A value of the graph as expressions see it: its name and shape."""

    __slots__ = ("name", "shape")

    def __init__(self, name: str, shape: tuple):
        self.name = name
        self.shape = shape

    def __repr__(self) -> str:
        return self.name


class Tracer:
    """Mixed into the lowering: items that are expressions or function calls, and the
    operations they emit. Expects the lowering's ``emit_here``, ``rule``, ``ref``,
    ``located``, ``resolve`` and ``shapes``, and the current item, scope and names in
    ``self.here``."""

    # items -----------------------------------------------------------------------------

    def traced(self, item, value: str, env: dict, scope: Scope, names) -> str:
        """An expression (``h = x + y``) or a function called by name (``permute(0, 2, 3,
        1)`` acts on the running value); its result becomes the running value."""
        previous, self.here = self.here, (item, scope, names)
        try:
            if item.kind == "expr" or item.target in env or item.target == "_":  # _: the running value
                result = expr.evaluate(item.node, {**env, "_": self.ref(value)}, self)
            else:
                result = self.call_by_name(item, value, env, scope.path)
        except ConvcalcError as e:
            raise self.located(item, (*scope.path, item.target or "expression"),
                               item.target or "expression", e) from None
        finally:
            self.here = previous
        if callable(getattr(result, "spec_apply", None)):  # a bare self.relu: on the running value
            self.here = (item, scope, names)
            try:
                result = result.spec_apply([self.ref(value)], {}, item.node)
            except ConvcalcError as e:
                raise self.located(item, (*scope.path, "self"), "self", e) from None
            finally:
                self.here = previous
        if item.bind:
            self.assign(item, env, result)
        first = result[0] if isinstance(result, (tuple, list)) and result else result
        return first.name if isinstance(first, TensorRef) else value

    def call_by_name(self, item, value: str, env: dict, path):
        env = {**env, "_": self.ref(value)} if "_" not in env else env  # cat([_, skip], dim=1)
        args = [self.resolve(item, a, env, path, traced=True) for a in item.args]
        kwargs = {k: self.resolve(item, v, env, path, traced=True) for k, v in item.kwargs.items()}
        if item.target in LEARNED:
            return self.learned(item.target, args, kwargs)
        if item.target == "_assert":
            return self.check(args, kwargs)
        ftype = function(item.target)
        running = self.input_of(item, env, path) if item.inputs else value
        # by its bare name a function acts on the running value, as a method does:
        # mul(x) is <running>.mul(x); torch.mul(a, b) and F.pad(x, ...) take every argument
        first = ftype.signature[0]
        implicit = first.kind == TENSOR and first.name not in kwargs and not item.qualified and (
            ftype.method or not (args and isinstance(args[0], TensorRef)))
        return self.call_function(ftype, args, kwargs, self.ref(running) if implicit else None)

    def assign(self, item, env: dict, result) -> None:
        names = item.bind
        if len(names) == 1:
            env[names[0]] = result
            return
        if not isinstance(result, (tuple, list)) or len(result) != len(names):
            count = len(result) if isinstance(result, (tuple, list)) else 1
            raise SpecError(f"{self.source}:{item.line}: {', '.join(names)} = ...: the right side "
                            f"gives {count} value{'s' if count != 1 else ''}, not {len(names)}")
        for name, part in zip(names, result):
            if name != "_":
                env[name] = part

    def input_of(self, item, env: dict, path, index: int | None = None) -> str:
        """The value ``in:`` names (the ``index``-th of a block call's several)."""
        if index is None and len(item.inputs) != 1:
            raise self.located(item, path, item.target or item.kind, SpecError(
                f"in: takes one value here, got {len(item.inputs)}"))
        name = item.inputs[index or 0]
        found = env.get(name)
        if not isinstance(found, TensorRef):
            raise self.located(item, path, item.target or item.kind, SpecError(
                f"in: {name!r} is not a value" + _known_values(env)))
        return found.name

    def output(self, name: str, env: dict) -> list:
        """The values an ``outputs:`` name stands for: one, or each of a tuple's (chunk)."""
        found = env.get(name)
        parts = found if isinstance(found, (tuple, list)) else [found]
        if not parts or not all(isinstance(p, TensorRef) for p in parts):
            raise SpecError(f"{self.source}: outputs: {name!r} is not a value" + _known_values(env))
        return [(name if len(parts) == 1 else f"{name}[{i}]", p.name) for i, p in enumerate(parts)]

    # expr's hooks ----------------------------------------------------------------------

    def function(self, dotted: str, args, kwargs, node):
        found = from_origin(dotted)  # torchvision's full name: its own function, never a namesake
        if found is not None:
            return self.call_function(found, args, kwargs)
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
            elif name == "pow":  # 2 ** x: torch.pow(2, x)
                return self.call_function(function(name), [left, right], {})
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
        step = ftype.apply(ftype.shapes(bound, self.dtypes.get))
        if step.out is None:  # sizes in, sizes out (_compute_pad_size_3d): arithmetic, no operation
            return step.values[0]
        inputs = tuple(t.name for t in ftype.tensors(bound))
        result = self.emit_here(ftype.name, ftype, bound, inputs, step, module=False)
        dtype = step.dtype or (self.dtypes.get(inputs[0]) if inputs and ftype.family in SAME_DTYPE else None)
        if dtype is not None:
            self.dtypes.update(dict.fromkeys(self.ops[-1].outputs, dtype))
        if step.values:  # Python values after the tensors (MViT's _unsqueeze: the input's dims)
            return (*(result if isinstance(result, tuple) else (result,)), *step.values)
        return result

    def module(self, layer_type, args, kwargs, inputs, forward=None, at=None):
        """A ``torch.nn`` layer applied to ``inputs`` (its first input is the running one);
        ``forward`` holds keyword arguments of its forward (``need_weights=False``); ``at``
        is a declared module's (scope, name)."""
        first = inputs[0]
        bound, step = self.rule(layer_type, args, kwargs, first.shape)
        call = None
        if layer_type.forward:
            call, step = self.forward_call(layer_type, bound, first, inputs[1:], forward or {})
        elif len(inputs) > 1 or forward:
            raise SpecError(f"{layer_type.name} takes one input, got {len(inputs)}"
                            + (f" and {', '.join(forward)}" if forward else ""))
        names = _input_names(layer_type, first, call)
        return self.emit_here(layer_type.name, layer_type, bound, names, step, module=True, call=call,
                              at=at)

    def forward_call(self, layer_type, bound, first, more, kwargs):
        """A multi-input module's forward arguments, bound as torch binds them, and its step."""
        ftype = _forward_type(layer_type)
        call = ftype.bind(list(more), kwargs, receiver=first)
        del call["input"]
        shapes = ftype.shapes({"input": first, **call})
        del shapes["input"]
        return call, layer_type.apply_call(bound, first.shape, shapes)

    def again(self, op, inputs, kwargs):
        """A module called again (``self.relu(y)``): the same instance, its parameters
        counted at its first call only."""
        layer_type = op.rule
        first = inputs[0]
        step = layer_type.apply(op.args, first.shape)
        call = None
        if layer_type.forward:
            call, step = self.forward_call(layer_type, op.args, first, inputs[1:], kwargs)
        elif len(inputs) > 1 or kwargs:
            raise SpecError(f"{layer_type.name} takes one input, got {len(inputs)}")
        step = replace(step, params=0)
        names = _input_names(layer_type, first, call)
        return self.emit_here(op.type, layer_type, op.args, names, step, module=True, call=call,
                              reuse=op)

    def learned(self, kind: str, args, kwargs):
        """``Parameter(shape, dtype='float32')``: a learned tensor (counted in params) or a
        buffer; it has no input."""
        names = ("shape", "dtype", "persistent")
        bound = {"shape": None, "dtype": "float32", **dict(zip(names, args))}
        for k, v in kwargs.items():
            if k not in names or k in dict(zip(names, args)) or (k == "persistent" and kind != "Buffer"):
                raise SpecError(f"{kind}(shape, dtype='float32'{', persistent=True' if kind == 'Buffer' else ''}): "
                                f"unexpected argument {k!r}")
            bound[k] = v
        if bound.setdefault("persistent", True) is not True and (kind != "Buffer" or bound["persistent"] is not False):
            raise SpecError(f"{kind}: persistent must be True or False, got {bound['persistent']!r}")
        if kind == "Parameter":
            del bound["persistent"]
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
        ref = self.emit_here(kind, LearnedType(kind), bound, (), step, module=True, learned=True)
        self.dtypes[ref.name] = ALIASES.get(bound["dtype"], bound["dtype"])
        return ref

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


_FORWARD_TYPES: dict = {}


def _input_names(layer_type, first, call) -> tuple:
    """A module call's input values: the running one, then the tensors of its forward
    arguments (MultiheadAttention's key, value and masks), in its forward's order."""
    if not call:
        return (first.name,)
    return tuple(t.name for t in _forward_type(layer_type).tensors({"input": first, **call}))


def _forward_type(layer_type) -> FunctionType:
    """The binder of a multi-input module's forward: input first, then its parameters."""
    found = _FORWARD_TYPES.get(layer_type.name)
    if found is None:
        found = _FORWARD_TYPES[layer_type.name] = FunctionType(
            f"{layer_type.name}.forward", (Param("input", kind=TENSOR), *layer_type.forward),
            apply=None, family="", doc="")
    return found


class SelfRef:
    """``self`` in a spec: the modules of the group being lowered, by name (``self.relu``),
    and its child groups (``self.layer1.conv``)."""

    def __init__(self, tracer, scope, outer=None):
        self.tracer = tracer
        self.scope = scope
        self.outer = outer  # a named group's self falls back to its enclosing module's

    def spec_attribute(self, name: str):
        if name in self.scope.declared:
            return DeclaredRef(self.tracer, self.scope, name)
        for entry in reversed(self.scope.entries):
            if entry.path[-1] != name:
                continue
            if isinstance(entry, Op) and entry.module and entry.type not in LEARNED:
                return ModuleRef(self.tracer, entry if entry.reuses is None else self.tracer.ops[entry.reuses])
            if isinstance(entry, Op) and entry.type in LEARNED:
                return TensorRef(entry.outputs[0], self.tracer.shapes[entry.outputs[0]])
            if isinstance(entry, Scope):
                return SelfRef(self.tracer, entry)
        if self.outer is not None:
            return self.outer.spec_attribute(name)
        raise SpecError(f"self.{name}: no module named {name!r} in {'.'.join(self.scope.path) or 'the network'} yet",
                        fix="name a module with name: before calling it again")

    def spec_apply(self, args, kwargs, node):
        raise SpecError("calling a whole group again is not supported yet; call its modules")


class DeclaredRef:
    """A module declared with ``self.name = Layer(...)``: its first call builds it."""

    def __init__(self, tracer, scope, name):
        self.tracer = tracer
        self.scope = scope
        self.name = name

    def spec_apply(self, args, kwargs, node):
        if not args or not all(isinstance(a, Tensor) for a in args):
            raise SpecError(f"self.{self.name}(...) takes tensors")
        layer_type, ctor_args, ctor_kwargs = self.scope.declared.pop(self.name)
        return self.tracer.module(layer_type, ctor_args, ctor_kwargs, list(args), kwargs,
                                  at=(self.scope, self.name))


class ModuleRef:
    """A module of the network, to be called again on other values."""

    def __init__(self, tracer, op):
        self.tracer = tracer
        self.op = op

    def spec_apply(self, args, kwargs, node):
        if not args or not all(isinstance(a, Tensor) for a in args):
            raise SpecError(f"self.{self.op.path[-1]}(...) takes tensors")
        return self.tracer.again(self.op, list(args), kwargs)


def _known_values(env) -> str:
    values = sorted(k for k, v in env.items() if isinstance(v, TensorRef))
    return f" (values: {', '.join(values)})" if values else ""


class LearnedType:
    """The rule entry of a learned tensor or buffer (it has no input)."""

    def __init__(self, name: str):
        self.name = name

    def describe(self, bound: dict) -> str:
        shape = ", ".join(map(str, bound["shape"]))
        dtype = "" if bound["dtype"] in ("float32", "float") else f", dtype={bound['dtype']!r}"
        return f"{self.name}([{shape}]{dtype})"
