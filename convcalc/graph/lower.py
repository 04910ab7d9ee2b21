"""Lowering: a spec and an input shape -> a ``Graph``, with blocks, ``repeat``, ``when`` and
expressions expanded once.

Lowering is a trace with abstract values, as JAX's ``make_jaxpr`` is: each operation's
rule (from the registry in ``convcalc.ops``) runs as the operation is emitted, because the
spec language lets a block read the shape that reaches it (``in_channels``, ``in_shape``)
and a ``when:`` depend on it. Everything else (receptive fields, the report, torch, export)
is a pass over the finished graph.

Paths are module names, as ``torch.nn`` gives them: items of a group are numbered
0, 1, 2... like an ``nn.Sequential`` unless named; a block call, a named group and a
named ``repeat`` open a group; an unnamed ``repeat`` unrolls in place, as a Python loop
filling an ``nn.Sequential`` does. A merge (``concat``, ``add``) is code in the enclosing
module's ``forward``, not a module: its branches' items are named in the enclosing group
(torchvision's ``out = self.bn3(...); out += self.downsample(x)``), and the merge itself is
named like a torch.fx node (``add``, ``add_1``) unless it has a ``name:``.
"""

from __future__ import annotations

import ast
import difflib

from convcalc.engine import symbolic
from convcalc.errors import ConvcalcError, SpecError
from convcalc.graph.ir import INPUT, Graph, Op, Scope
from convcalc.graph.naming import Names
from convcalc.graph.trace import ALIASES, LEARNED, SelfRef, Tracer, TensorRef
from convcalc.ops import REGISTRY, lookup
from convcalc.ops.base import REQUIRED as NO_DEFAULT
from convcalc.ops.merge import MERGES
from convcalc.spec import expr
from convcalc.spec.parse import REQUIRED, Expr, Item, Spec

MAX_NESTING = 64  # blocks, groups and branches inside one another
MAX_REPEAT = 100_000  # one repeat's count
MAX_OPS = 200_000  # operations in one graph (real networks have thousands)
MAX_STEPS = 1_000_000  # items walked and repeat iterations, skipped and empty ones included


def lower(spec: Spec, input_shape=None, inputs: dict | None = None) -> Graph:
    """The graph of ``spec`` for ``input_shape`` (default: the spec's own ``input:``), or
    for named ``inputs`` (default: the spec's ``inputs:``)."""
    shapes = dict(inputs or spec.inputs or {})
    if not shapes or input_shape is not None:
        given = input_shape if input_shape is not None else spec.input
        if given is None:
            raise SpecError(f"{spec.source}: the spec has no input: shape",
                            fix="add input: [1, 3, 224, 224] or pass --input")
        shape = tuple(given)
        first = next(iter(shapes), INPUT)
        shapes = {first: shape, **{k: v for k, v in shapes.items() if k != first}}
    shapes = {name: tuple(shape) for name, shape in shapes.items()}
    lowering = _Lowering(spec, shapes)
    root = Scope((), "Sequential", inputs=tuple(shapes))
    env = {name: TensorRef(name, shape) for name, shape in shapes.items()}
    env["self"] = SelfRef(lowering, root)
    try:
        with symbolic.collecting() as assumptions:
            root.output = lowering.items(spec.layers, root.input, env, root, Names())
    except ConvcalcError as e:  # the operations before the failing one: a partial table
        last = lowering.ops[-1].outputs[0] if lowering.ops else next(iter(shapes))
        e.partial = Graph(spec.name, spec.source, shapes, [last], lowering.ops, lowering.shapes,
                          root)
        raise
    named = [("output", root.output)]
    if spec.outputs:
        named = [pair for name in spec.outputs for pair in lowering.output(name, env)]
    root.outputs = tuple(v for _, v in named)
    return Graph(spec.name, spec.source, shapes, list(root.outputs), lowering.ops, lowering.shapes,
                 root, assumptions=assumptions, output_names=[n for n, _ in named],
                 dtypes={k: v for k, v in spec.dtypes.items() if k in shapes})


class _Lowering(Tracer):
    def __init__(self, spec: Spec, shapes: dict):
        self.spec = spec
        self.source = spec.source
        self.ops: list[Op] = []
        self.shapes: dict = dict(shapes)
        self.depth = 0
        self.steps = 0
        # rules are pure: the same layer on the same shape gives the same step (a repeat's
        # thousand identical layers are computed once); per lowering, so that the
        # assumptions a symbolic rule records go to this graph
        self.memo: dict = {}
        # value name -> dtype, where known: the inputs', and see trace.SAME_DTYPE
        self.dtypes: dict = {name: ALIASES.get(d, d) for name in shapes
                             for d in [spec.dtypes.get(name, "float32")]}
        self.here = None  # (item, scope, names) of the item being lowered

    # Items ---------------------------------------------------------------------------

    def items(self, items, value: str, env: dict, scope: Scope, names: Names) -> str:
        """Lower ``items`` in order from ``value``; the value they end with. Assignments
        (``h = ...``, ``as: h``) bind names in ``env``, as in a ``forward``."""
        for item in items:
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise SpecError(f"{self.source}:{item.line}: the spec expands to more than "
                                f"{MAX_STEPS:,} items (repeats inside repeats?)")
            if item.when is not None and not self.truthy(item, env, scope.path):
                continue
            if item.kind in ("concat", "add"):
                value = self.merge(item, value, env, scope, names)
            elif item.kind == "declare":
                self.declare(item, env, scope, names)
            elif item.kind == "repeat" and item.name is None:
                value = self.repeat(item, value, env, scope, names, scope.path)
            elif item.kind in ("expr", "call") and not self.is_member(item):
                value = self.traced(item, value, env, scope, names)
            else:
                value = self.member(item, names.next(item, self.source, env), value, env, scope)
                if item.bind:
                    self.assign(item, env, self.ref(value))
        return value

    def is_member(self, item: Item) -> bool:
        """Whether an item is a module of its group (a layer, a block, a group) rather than
        an expression or a function call."""
        if item.kind != "call":
            return item.kind in ("sequential", "repeat")
        if item.target in self.spec.blocks or item.target in REGISTRY:
            return True
        # CamelCase names torch.nn modules (an unknown one is reported as a layer)
        return item.target[:1].isupper() and item.target not in LEARNED

    def member(self, item: Item, segment: str, value: str, env: dict, scope: Scope) -> str:
        """An item with its own path segment: a layer, a block call or a group."""
        block = self.spec.blocks.get(item.target) if item.kind == "call" else None
        if block is not None and item.inputs and len(item.inputs) > 1:  # {up: [64], in: [h, skip]}
            values = [self.input_of(item, env, scope.path, i) for i in range(len(item.inputs))]
            return self.block(item, block, segment, values, env, scope)
        if item.inputs:
            value = self.input_of(item, env, scope.path)
        if item.kind == "call":
            if block is not None:
                return self.block(item, block, segment, [value], env, scope)
            return self.layer(item, segment, value, env, scope)
        label = "Sequential" if item.kind == "sequential" else "repeat"
        group = scope.child(segment, label, value)
        if item.kind == "sequential":  # self is the group, then the modules around it
            outer = env.get("self")
            env["self"] = SelfRef(self, group, outer)
            try:
                group.output = self.nested(item, lambda: self.items(
                    item.children, value, env, group, Names()))
            finally:
                env["self"] = outer
        else:
            group.output = self.repeat(item, value, env, group, Names(), group.path)
        return group.output

    def repeat(self, item, value, env, scope, names, where) -> str:
        count = self.resolve(item, item.count, env, where)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_REPEAT:
            raise self.located(item, where, "repeat", SpecError(
                f"repeat must be an integer from 0 to {MAX_REPEAT}, got {count!r}"))
        if count > MAX_STEPS - self.steps:
            raise SpecError(f"{self.source}:{item.line}: repeat: {count:,} iterations would pass the "
                            f"limit of {MAX_STEPS:,} items walked ({self.steps:,} so far)")
        for i in range(count):
            self.steps += 1  # an empty body is work too
            if self.steps > MAX_STEPS:
                raise SpecError(f"{self.source}:{item.line}: the spec expands to more than "
                                f"{MAX_STEPS:,} items (repeats inside repeats?)")
            if item.var:
                env[item.var] = i
            value = self.nested(item, lambda: self.items(item.children, value, env, scope, names))
        return value

    def merge(self, item, value, env, scope, names) -> str:
        outs = [self.nested(item, lambda: self.items(branch, value, env, scope, names))
                for branch in item.children]
        kind = "cat" if item.kind == "concat" else "add"
        segment = (names.take(item.name, self.source, item.line) if item.name is not None
                   else names.function(kind))
        path = (*scope.path, segment)
        rule = MERGES[kind]
        bound = {"dim": self.resolve(item, item.dim, env, path)} if kind == "cat" else {}
        try:
            step = rule.apply(bound, [self.shapes[v] for v in outs])
        except ConvcalcError as e:
            raise self.located(item, path, kind, e) from None
        value = self.emit(kind, rule, bound, tuple(outs), path, scope, item.line, step, False)
        if item.bind:
            self.assign(item, env, self.ref(value))
        return value

    def block(self, item, block, segment, values, env, scope) -> str:
        path = (*scope.path, segment)
        args = [self.resolve(item, a, env, path) for a in item.args]
        kwargs = {k: self.resolve(item, v, env, path) for k, v in item.kwargs.items()}
        return self.enter_block(item, block, segment, args, kwargs, values, scope)

    def block_call(self, block, args, kwargs, refs):
        """A block applied to explicit values inside an expression: ``up(64)(h, skip)``."""
        item, scope, names = self.here
        segment = names.next(item, self.source)
        return self.ref(self.enter_block(item, block, segment, args, kwargs,
                                         [r.name for r in refs], scope))

    def enter_block(self, item, block, segment, args, kwargs, values, scope) -> str:
        path = (*scope.path, segment)
        bound = _bind_block(block, args, kwargs, f"{self.source}:{item.line}: block "
                            f"{'.'.join(path)} {block.name}")
        names = block.inputs or ["x"]
        if len(values) != len(names):
            raise SpecError(f"{self.source}:{item.line}: block {'.'.join(path)} {block.name} takes "
                            f"{len(names)} input{'s' if len(names) != 1 else ''} "
                            f"({', '.join(names)}), got {len(values)}")
        shape = self.shapes[values[0]]
        inner = {"in_channels": shape[1] if len(shape) > 1 else shape[0] if shape else None,
                 "in_shape": list(shape), **bound,
                 **{n: self.ref(v) for n, v in zip(names, values)}}
        group = scope.child(segment, block.name, values)
        group.input_names = tuple(names)
        inner["self"] = SelfRef(self, group)
        group.output = self.nested(item, lambda: self.items(
            block.layers, values[0], inner, group, Names()))
        return group.output

    def constructor(self, item, env, path):
        """The layer an item names and its constructor arguments, resolved."""
        try:
            layer_type = lookup(item.target)
        except SpecError as e:
            raise self.located(item, path, item.target, e) from None
        args = [self.resolve(item, a, env, path) for a in item.args]
        kwargs = {k: self.resolve(item, v, env, path) for k, v in item.kwargs.items()}
        return layer_type, args, kwargs

    def layer(self, item, segment, value, env, scope) -> str:
        path = (*scope.path, segment)
        layer_type, args, kwargs = self.constructor(item, env, path)
        call = None
        try:
            bound, step = self.rule(layer_type, args, kwargs, self.shapes[value])
            if layer_type.forward:  # a module of several inputs, called on the running value alone
                needed = [p.name for p in layer_type.forward if p.default is NO_DEFAULT]
                if needed:
                    raise SpecError(
                        f"{layer_type.name} takes {', '.join(needed)} besides its input",
                        fix=f"call it on values: y = {layer_type.name}(...)(x, {', '.join(needed)})")
                call, step = self.forward_call(layer_type, bound, self.ref(value), [], {})
            if len(step.outs) > 1:
                raise SpecError(
                    f"{layer_type.name} returns {len(step.outs)} values here, which the next "
                    "item of a sequence cannot take",
                    fix=f"assign them, as in y, indices = {layer_type.name}(...)(x)")
        except ConvcalcError as e:
            raise self.located(item, path, item.target, e) from None
        return self.emit(layer_type.name, layer_type, bound, (value,), path, scope, item.line,
                         step, True, call)

    def declare(self, item, env, scope, names) -> None:
        """``self.attn = MultiheadAttention(...)``: a module of this group, built when the
        forward first calls it; its name is taken now, in declaration order."""
        constructor = self.constructor(item, env, (*scope.path, item.name))
        names.take(item.name, self.source, item.line)
        scope.declared[item.name] = constructor

    def rule(self, layer_type, args, kwargs, shape):
        """A layer's bound arguments and step on ``shape``, computed once per distinct call."""
        # repr tells apart what == would not (1, 1.0 and True; a list and a tuple)
        key = repr((layer_type.name, args, kwargs, shape))
        known = self.memo.get(key)
        if known is None:
            bound = layer_type.bind(args, kwargs, shape)
            known = self.memo[key] = (bound, layer_type.apply(bound, shape))
        return known

    def emit(self, type_name, rule, bound, inputs, path, scope, line, step, module,
             call=None, reuse=None) -> str:
        if len(self.ops) >= MAX_OPS:
            raise SpecError(f"{self.source}: more than {MAX_OPS:,} operations")
        name = ".".join(path)
        if name in self.shapes:  # a module called again: name the value as torch.fx does
            n = 1
            while f"{name}_{n}" in self.shapes:
                n += 1
            name = f"{name}_{n}"
        shapes = step.outs
        outs = (name,) if len(shapes) == 1 else tuple(f"{name}[{i}]" for i in range(len(shapes)))
        op = Op(len(self.ops), type_name, rule, bound, inputs, outs, path, scope, line, step,
                module, call, None if reuse is None else reuse.index)
        self.ops.append(op)
        if reuse is None:
            scope.entries.append(op)
        else:  # the call belongs to the forward of the group that calls it
            scope.entries.append(op) if reuse.scope is scope else self.here[1].entries.append(op)
        for out, shape in zip(outs, shapes):
            self.shapes[out] = tuple(shape) if shape is not None else None
        return outs[0]

    def emit_here(self, type_name, rule, bound, inputs, step, module, call=None, reuse=None,
                  learned=False, at=None):
        """Emit an operation of the item being traced, named like a torch.fx node (a
        module by the item's name or index, a learned tensor by the name it is assigned
        to); its output value, or a tuple of them."""
        item, scope, names = self.here
        if at is not None:  # a declared module's first call: its name was taken at declaration
            scope = at[0]
            path = (*scope.path, at[1])
        elif reuse is not None:
            path = reuse.path
        elif learned and item.name is None and item.bind and len(item.bind) == 1:
            path = (*scope.path, names.take(item.bind[0], self.source, item.line))
        elif module:
            path = (*scope.path, names.next(item, self.source))
        elif item.name is not None and item.kind == "call":
            path = (*scope.path, names.take(item.name, self.source, item.line))
        else:
            path = (*scope.path, names.function(type_name))
        self.emit(type_name, rule, bound, inputs, path, scope, item.line, step, module, call, reuse)
        refs = [self.ref(v) if self.shapes[v] is not None else None for v in self.ops[-1].outputs]
        return refs[0] if len(refs) == 1 else tuple(refs)

    def ref(self, value: str) -> TensorRef:
        return TensorRef(value, self.shapes[value])

    # Expressions and errors ------------------------------------------------------------

    def nested(self, item, fn):
        if self.depth >= MAX_NESTING:
            raise SpecError(f"{self.source}:{item.line}: blocks nest deeper than {MAX_NESTING} "
                            "levels (does a block call itself?)")
        self.depth += 1
        try:
            return fn()
        finally:
            self.depth -= 1

    def resolve(self, item, value, env, path, traced=False):
        try:
            if isinstance(value, Expr):
                return value.resolve(env)
            if isinstance(value, ast.AST):
                return expr.evaluate(value, env, self if traced else None)
            if isinstance(value, list):
                return [self.resolve(item, v, env, path, traced) for v in value]
            return value
        except SpecError as e:
            raise self.located(item, path, item.target or item.kind, e) from None

    def truthy(self, item, env, path) -> bool:
        result = self.resolve(item, item.when, env, path)
        if not isinstance(result, bool):
            raise self.located(item, path, "when", SpecError(
                f"when: must be true or false, got {result!r}"))
        return result

    def located(self, item, path, type_name, error: ConvcalcError) -> ConvcalcError:
        """The same error, prefixed with file, line, path and type."""
        if getattr(error, "path", None) is not None:
            return error
        name = ".".join(path)
        if not path:
            where = type_name
        elif path[-1] == type_name:
            where = name
        else:
            where = f"layer {name} {type_name}"
        message = error.message
        if message.startswith(f"{type_name}: ") and where.endswith(type_name):
            message = message[len(type_name) + 2:]  # the rule named itself: say it once
        located = type(error)(f"{self.source}:{item.line}: {where}: {message}", fix=error.fix)
        located.path = name
        located.layer_type = type_name
        return located


def _bind_block(block, args, kwargs, where) -> dict:
    """A block call's arguments bound to its parameters, as Python binds a call."""
    names = [n for n, _ in block.params]
    if len(args) > len(names):
        raise SpecError(f"{where}: takes {len(names)} parameters ({', '.join(names)}), got {len(args)}")
    bound = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names:
            close = difflib.get_close_matches(k, names, n=1)
            raise SpecError(f"{where}: unknown parameter {k!r}" + (
                f": did you mean {close[0]}?" if close else f" (parameters: {', '.join(names)})"))
        if k in bound:
            raise SpecError(f"{where}: got multiple values for parameter {k!r}")
        bound[k] = v
    for n, default in block.params:
        if n not in bound:
            if default is REQUIRED:
                raise SpecError(f"{where}: missing parameter {n!r}")
            bound[n] = default
    return bound
