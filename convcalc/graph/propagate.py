"""A spec and an input shape -> one report row per layer, with totals. Pure: no I/O.

Rows are the leaf ``torch.nn`` layers in execution order, plus one row per branch merge
(``torch.cat`` / sum), which is no ``torch.nn`` layer and is marked ``leaf=False``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from fractions import Fraction

from convcalc.spec import expr
from convcalc.errors import ConvcalcError, ShapeError, SpecError
from convcalc.ops import lookup
from convcalc.ops.base import GLOBAL, Scale
from convcalc.spec.parse import _REQUIRED, Expr, Item, Spec
from convcalc.engine import symbolic
from convcalc.engine.symbolic import unequal, violated

DTYPE_BYTES = 4  # float32
MAX_NESTING = 64
MAX_REPEAT = 100_000
MAX_ROWS = 1_000_000


@dataclass(frozen=True)
class Field:
    """Receptive field per spatial axis (Araujo et al., Distill 2019): size, jump, start."""

    size: tuple = ()
    jump: tuple = ()
    start: tuple = ()
    is_global: bool = False

    def apply(self, ops) -> "Field":
        if ops == GLOBAL or self.is_global:
            return replace(self, is_global=True)
        state = self
        for op in ops:
            n = len(op.factor if isinstance(op, Scale) else op.kernel)
            if not state.size:
                state = Field((1,) * n, (Fraction(1),) * n, (Fraction(1, 2),) * n)
            if len(state.size) != n:
                return replace(state, is_global=True)  # axes changed: no longer comparable
            if isinstance(op, Scale):
                jump = tuple(j / Fraction(f) for j, f in zip(state.jump, op.factor))
                state = Field(state.size, jump, state.start)
            else:
                size = tuple(r + (k - 1) * j for r, k, j in zip(state.size, op.kernel, state.jump))
                start = tuple(
                    s0 + (Fraction(k - 1, 2) - p) * j
                    for s0, k, p, j in zip(state.start, op.kernel, op.pad, state.jump)
                )
                jump = tuple(j * Fraction(s) for j, s in zip(state.jump, op.stride))
                state = Field(size, jump, start)
        return state


def _merge_fields(fields: list[Field]) -> tuple[Field, bool]:
    """Branches: the largest field; misaligned when jumps or starts differ."""
    if any(f.is_global for f in fields):
        return Field(is_global=True), False
    spatial = [f for f in fields if f.size]
    if not spatial:
        return fields[0], False
    widest = max(spatial, key=lambda f: tuple(f.size))
    aligned = all(f.jump == widest.jump and f.start == widest.start for f in spatial) and len(spatial) == len(fields)
    return widest, not aligned


@dataclass
class Row:
    index: int
    path: tuple
    type: str
    label: object  # the table's type column: a string, or the LayerType that describes args
    input_shape: tuple
    output_shape: tuple
    params: int = 0
    macs: int = 0
    rf: Field = Field()
    line: int = 0
    note: str | None = None
    leaf: bool = True
    args: dict = field(default_factory=dict)  # the bound constructor arguments
    drops: bool = False  # a strided window leaves input pixels unused

    @property
    def describe(self) -> str:
        return self.label if isinstance(self.label, str) else self.label.describe(self.args)
    containers: tuple = ()  # (path prefix, container type) of each enclosing group

    @property
    def name(self) -> str:
        return self.path[-1] if self.path else ""


@dataclass
class Node:
    """The executed structure, for rebuilding the network elsewhere (torch): a leaf layer,
    a sequence, or branches joined by ``cat``/``add``."""

    kind: str  # "layer", "seq", "cat", "add"
    name: str
    row: Row | None = None
    children: list = field(default_factory=list)
    label: str = ""  # block or container name for "seq"
    dim: int | None = None


@dataclass
class Report:
    name: str
    input_shape: tuple
    output_shape: tuple
    rows: list
    warnings: list = field(default_factory=list)
    tree: list = field(default_factory=list)
    assumptions: list = field(default_factory=list)  # (condition, why) for symbolic sizes

    @property
    def layers(self) -> list:
        return [r for r in self.rows if r.leaf]

    @property
    def totals(self) -> dict:
        leaves = self.layers
        params = sum(r.params for r in leaves)
        return {
            "params": params,
            "trainable_params": params,
            "macs": sum(r.macs for r in leaves),
            "flops": 2 * sum(r.macs for r in leaves),
            "activation_bytes": sum(_numel(r.output_shape) for r in leaves) * DTYPE_BYTES,
            "param_bytes": params * DTYPE_BYTES,
        }


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


@dataclass
class _Ctx:
    spec: Spec
    rows: list
    warnings: list
    depth: int = 0
    light: bool = False  # skip receptive fields (input-size scans need shapes only)


def run(spec: Spec, input_shape=None, light: bool = False) -> Report:
    """Propagate ``input_shape`` (default: the spec's) through every layer of ``spec``.

    ``light`` skips the receptive-field arithmetic, for scans over many input sizes."""
    shape = tuple(input_shape if input_shape is not None else spec.input or ())
    if not shape:
        raise SpecError(f"{spec.source}: the spec has no input: shape", fix="add input: [1, 3, 224, 224] or pass --input")
    ctx = _Ctx(spec, [], [], light=light)
    tree: list = []
    with symbolic.collecting() as assumptions:
        out, _ = _run_items(ctx, spec.layers, shape, Field(), {}, (), (), tree)
    return Report(spec.name, shape, out, ctx.rows, ctx.warnings, tree, assumptions)


class _Names:
    """Path segments within one group: 0, 1, 2... (like nn.Sequential), or the item's name."""

    def __init__(self):
        self.index = 0
        self.used = set()

    def next(self, ctx, item) -> str:
        segment = item.name if item.name is not None else str(self.index)
        self.index += 1
        if segment in self.used:
            raise SpecError(
                f"{ctx.spec.source}:{item.line}: two items named {segment!r} in the same group"
            )
        self.used.add(segment)
        return segment


def _run_items(ctx, items, shape, rf, env, prefix, containers, sink, names=None):
    names = names or _Names()
    for item in items:
        if item.when is not None and not _truthy(ctx, item, item.when, env, prefix):
            continue
        if item.kind == "repeat" and item.name is None:
            # an unnamed repeat unrolls in place, as a Python loop filling an nn.Sequential
            shape, rf = _run_repeat(ctx, item, shape, rf, env, prefix, containers, sink, names)
            continue
        path = (*prefix, names.next(ctx, item))
        shape, rf = _run_item(ctx, item, shape, rf, env, path, containers, sink)
    return shape, rf


def _run_repeat(ctx, item, shape, rf, env, prefix, containers, sink, names):
    count = _resolve(ctx, item, item.count, env, prefix)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_REPEAT:
        raise _located(ctx, item, prefix, "repeat",
                       SpecError(f"repeat must be an integer from 0 to {MAX_REPEAT}, got {count!r}"))
    for i in range(count):
        inner = {**env, item.var: i} if item.var else env
        shape, rf = _nested(ctx, item, lambda: _run_items(
            ctx, item.children, shape, rf, inner, prefix, containers, sink, names))
    return shape, rf


def _run_item(ctx, item: Item, shape, rf, env, path, containers, sink):
    if item.kind == "call":
        block = ctx.spec.blocks.get(item.target)
        if block is not None:
            return _run_block(ctx, item, block, shape, rf, env, path, containers, sink)
        return _run_layer(ctx, item, shape, rf, env, path, containers, sink)
    here = containers + ((path, item.kind),)
    if item.kind == "sequential":
        node = Node("seq", path[-1], label="Sequential")
        sink.append(node)
        return _nested(ctx, item, lambda: _run_items(
            ctx, item.children, shape, rf, env, path, here, node.children))
    if item.kind == "repeat":  # a named repeat is a group of its own
        node = Node("seq", path[-1], label="repeat")
        sink.append(node)
        return _run_repeat(ctx, item, shape, rf, env, path, here, node.children, _Names())
    return _run_branches(ctx, item, shape, rf, env, path, here, sink)


def _nested(ctx, item, fn):
    if ctx.depth >= MAX_NESTING:
        raise SpecError(f"{ctx.spec.source}:{item.line}: blocks nest deeper than {MAX_NESTING} levels (does a block call itself?)")
    ctx.depth += 1
    try:
        return fn()
    finally:
        ctx.depth -= 1


def _run_branches(ctx, item, shape, rf, env, path, here, sink):
    outs, fields = [], []
    kind = "cat" if item.kind == "concat" else "add"
    node = Node(kind, path[-1])
    sink.append(node)
    for b, branch in enumerate(item.children):
        bpath = (*path, str(b))
        branch_node = Node("seq", str(b), label="Sequential")
        node.children.append(branch_node)
        out, f = _nested(ctx, item, lambda: _run_items(
            ctx, branch, shape, rf, env, bpath, here + ((bpath, "Sequential"),),
            branch_node.children))
        outs.append(out)
        fields.append(f)
    dim = _resolve(ctx, item, item.dim, env, path) if kind == "cat" else None
    try:
        merged = _concat(dim, outs) if kind == "cat" else _add(outs)
    except ConvcalcError as e:
        raise _located(ctx, item, path, kind, e) from None
    merged_rf, misaligned = (rf, False) if ctx.light else _merge_fields(fields)
    if misaligned:
        ctx.warnings.append(f"{'.'.join(path)}: branches have misaligned receptive fields "
                            "(different jumps or centres); the largest is reported")
    label = f"torch.cat(dim={dim})" if kind == "cat" else "sum of branches"
    row = Row(len(ctx.rows), (*path, kind), kind, label,
              shape, merged, rf=merged_rf, line=item.line, leaf=False, containers=here)
    ctx.rows.append(row)
    node.row, node.dim = row, dim
    return merged, merged_rf


def _concat(dim, outs):
    rank = len(outs[0])
    if any(len(o) != rank for o in outs):
        raise ShapeError(f"cannot concatenate branches of different ranks: {[list(o) for o in outs]}")
    from convcalc.ops.base import norm_dim

    d = norm_dim(dim, rank)
    for o in outs[1:]:
        if any(violated(unequal(a, b), "concatenated branches agree") for i, (a, b) in enumerate(zip(o, outs[0])) if i != d):
            raise ShapeError(
                f"cannot concatenate along dim {dim}: branch shapes {[list(o) for o in outs]} "
                "differ in another dimension",
                fix="make every branch keep the same spatial size (padding 'same', matching strides)",
            )
    return (*outs[0][:d], sum(o[d] for o in outs), *outs[0][d + 1:])


def _add(outs):
    first = outs[0]
    for o in outs[1:]:
        if len(o) != len(first) or any(violated(unequal(a, b), "added branches agree") for a, b in zip(o, first)):
            raise ShapeError(
                f"cannot add branches of shapes {[list(o) for o in outs]}",
                fix="give the shortcut a 1x1 convolution with the same stride and channels",
            )
    return first


def _run_block(ctx, item, block, shape, rf, env, path, containers, sink):
    args = [_resolve(ctx, item, a, env, path) for a in item.args]
    kwargs = {k: _resolve(ctx, item, v, env, path) for k, v in item.kwargs.items()}
    names = [n for n, _ in block.params]
    where = f"{ctx.spec.source}:{item.line}: block {'.'.join(path)} {block.name}"
    if len(args) > len(names):
        raise SpecError(f"{where}: takes {len(names)} parameters ({', '.join(names)}), got {len(args)}")
    bound = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names:
            import difflib

            close = difflib.get_close_matches(k, names, n=1)
            raise SpecError(f"{where}: unknown parameter {k!r}" + (f": did you mean {close[0]}?" if close else f" (parameters: {', '.join(names)})"))
        if k in bound:
            raise SpecError(f"{where}: got multiple values for parameter {k!r}")
        bound[k] = v
    for n, default in block.params:
        if n not in bound:
            if default is _REQUIRED:
                raise SpecError(f"{where}: missing parameter {n!r}")
            bound[n] = default
    inner = {"in_channels": shape[1] if len(shape) > 1 else shape[0] if shape else None,
             "in_shape": list(shape), **bound}
    here = containers + ((path, block.name),)
    node = Node("seq", path[-1], label=block.name)
    sink.append(node)
    return _nested(ctx, item, lambda: _run_items(
        ctx, block.layers, shape, rf, inner, path, here, node.children))


def _run_layer(ctx, item, shape, rf, env, path, containers, sink):
    try:
        layer_type = lookup(item.target)
    except SpecError as e:
        raise _located(ctx, item, path, item.target, e) from None
    try:
        args = [_resolve(ctx, item, a, env, path) for a in item.args]
        kwargs = {k: _resolve(ctx, item, v, env, path) for k, v in item.kwargs.items()}
        bound = layer_type.bind(args, kwargs, shape)
        step = layer_type.apply(bound, shape)
    except ConvcalcError as e:
        raise _located(ctx, item, path, item.target, e) from None
    if len(ctx.rows) >= MAX_ROWS:
        raise SpecError(f"{ctx.spec.source}: more than {MAX_ROWS} layers")
    new_rf = rf if ctx.light else rf.apply(step.rf)
    row = Row(len(ctx.rows), path, layer_type.name, layer_type, shape,
              tuple(step.out), step.params, step.macs, new_rf, item.line, step.note,
              containers=containers, args=bound, drops=step.drops)
    ctx.rows.append(row)
    sink.append(Node("layer", path[-1], row))
    if step.note:
        ctx.warnings.append(f"{'.'.join(path)}: {step.note}")
    return tuple(step.out), new_rf


def _resolve(ctx, item, value, env, path):
    try:
        if isinstance(value, Expr):
            return value.resolve(env)
        if isinstance(value, ast.AST):
            return expr.evaluate(value, env)
        if isinstance(value, list):
            return [_resolve(ctx, item, v, env, path) for v in value]
        return value
    except SpecError as e:
        raise _located(ctx, item, path, item.target or item.kind, e) from None


def _truthy(ctx, item, value, env, path) -> bool:
    result = _resolve(ctx, item, value, env, path)
    if not isinstance(result, bool):
        raise _located(ctx, item, path, "when", SpecError(f"when: must be true or false, got {result!r}"))
    return result


def _located(ctx, item, path, type_name, error: ConvcalcError) -> ConvcalcError:
    """The same error, prefixed with file, line, layer path and type."""
    if getattr(error, "path", None) is not None:
        return error
    located = type(error)(
        f"{ctx.spec.source}:{item.line}: layer {'.'.join(path)} {type_name}: {error.message}",
        fix=error.fix,
    )
    located.path = ".".join(path)
    located.layer_type = type_name
    return located


def smallest_valid_input(spec: Spec, shape, limit: int = 1 << 16, scan: int = 1024,
                         budget_s: float = 2.0):
    """The smallest input (every spatial size equal, batch and channels kept) that the whole
    network accepts, or None. Spatial sizes are the dimensions after the first two.

    Most networks accept every size above some minimum, found by doubling then bisecting;
    a network whose Linear layer fixes the flattened size accepts only a narrow band,
    found by scanning upwards (within ``scan`` and a time budget)."""
    import time

    if len(shape) < 3:
        return None

    def ok(s):
        try:
            run(spec, (*shape[:2], *([s] * (len(shape) - 2))))
            return True
        except ConvcalcError:
            return False

    hi = 1
    while hi <= limit and not ok(hi):
        hi *= 2
    if hi <= limit:
        from convcalc.engine.search import first_true

        smallest = first_true(ok, hi // 2, hi)  # hi // 2 is invalid (or 0)
    else:
        deadline = time.monotonic() + budget_s
        smallest = next((s for s in range(1, scan + 1)
                         if time.monotonic() < deadline and ok(s)), None)
        if smallest is None:
            return None
    return (*shape[:2], *([smallest] * (len(shape) - 2)))
