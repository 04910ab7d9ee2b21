"""Model specs: loaded YAML data -> a tree of layer items, with line numbers.

A spec is a mapping with ``name``, ``input`` (the full tensor shape), ``layers`` and,
optionally, ``blocks`` (parameterised reusable layer lists). A layer item is one of

- ``Conv2d(1, 6, kernel_size=5)`` or a bare ``ReLU``: a ``torch.nn`` constructor call;
- ``{Conv2d: {out_channels: 6, kernel_size: 5}}``: the same as a one-key mapping;
- ``vgg_block(2, 128)`` / ``{vgg_block: {num_convs: 2, channels: 128}}``: a block call;
- ``{repeat: N, layers: [...]}`` (``var: i`` names the repetition index);
- ``{concat: [branch, ...]}`` (``dim``, default 1) and ``{add: [branch, ...]}``: parallel
  branches joined by ``torch.cat`` or by a sum; a branch is a list of items, ``[]`` is the
  identity;
- ``{sequential: [...]}``: a named group;
- ``{conv1: "Conv2d(64, 64, 1)"}`` (``- conv1: Conv2d(64, 64, 1)``): a module named by its
  key, its value a layer's constructor or a block call (``convcalc.spec.named``).

Any item may carry ``name:`` (its path segment) and ``when:`` (an expression: the item is
skipped when false). Inside a block, argument values may be expressions over the block's
parameters (``2 * channels``) and ``in_channels`` (dimension 1 of the incoming shape).
Reading the text and the YAML is ``convcalc.spec.load``'s job.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from convcalc.spec import expr
from convcalc.spec.load import Located
from convcalc.spec.named import check_named, named_module
from convcalc.errors import SpecError

STRUCTURAL = ("repeat", "concat", "add", "sequential")
MODIFIERS = ("name", "when", "layers", "var", "dim", "as", "in")
TOP_KEYS = ("name", "input", "inputs", "outputs", "layers", "blocks", "description")


@dataclass
class Item:
    """One entry of a layers list, not yet evaluated (block parameters are bound at run time)."""

    kind: str  # "call" (a layer, block or function), "expr", "declare", "repeat", "concat", "add", "sequential"
    line: int
    target: str = ""  # layer or block name, for "call"
    args: list = field(default_factory=list)  # values or ast nodes
    kwargs: dict = field(default_factory=dict)
    children: list = field(default_factory=list)  # list[Item] or, for branches, list[list[Item]]
    name: str | None = None
    when: object = None  # ast node
    count: object = None  # repeat count (value or ast node)
    var: str | None = None
    dim: object = 1
    bind: list | None = None  # names its outputs are assigned to (``h = ...``, ``as: h``)
    node: object = None  # for "expr": the expression (an ast node) evaluated by the lowering
    inputs: list | None = None  # ``in:``: the values it takes instead of the running one
    qualified: bool = False  # written torch.name(...) or F.name(...): a function, all arguments given


@dataclass
class Block:
    name: str
    params: list  # [(name, default or REQUIRED)]
    layers: list
    line: int
    inputs: list | None = None  # the names of its input values (default: x)


@dataclass
class Spec:
    name: str
    input: list | None
    layers: list
    blocks: dict
    source: str  # file name for messages
    line: int = 1
    inputs: dict | None = None  # several named inputs: name -> shape (``inputs:``)
    outputs: list | None = None  # the values reported as outputs (``outputs:``)
    dtypes: dict = field(default_factory=dict)  # input name -> dtype, where not float32


REQUIRED = object()  # a block parameter without a default


def parse_spec(doc, source: str) -> Spec:
    """Validate a document's structure and build its item tree (no shapes yet)."""
    if doc is None:
        raise SpecError(f"{source}: empty spec", fix="write a mapping with input: and layers:")
    if not isinstance(doc, dict):
        raise SpecError(
            f"{source}:{_line(doc)}: a spec must be a mapping with input: and layers:, "
            f"got {_kind(doc)}"
        )
    unknown = [k for k in doc if k not in TOP_KEYS]
    if unknown:
        raise SpecError(
            f"{source}:{doc.key_lines.get(unknown[0], doc.line)}: unknown key {unknown[0]!r}",
            fix=f"a spec has {', '.join(TOP_KEYS)}",
        )
    if "layers" not in doc:
        raise SpecError(f"{source}:{doc.line}: the spec has no layers:")
    name = doc.get("name", Path(source).stem if not source.startswith("zoo:") else source[4:])
    blocks = {}
    raw_blocks = doc.get("blocks") or {}
    if not isinstance(raw_blocks, dict):
        raise SpecError(f"{source}:{_line(raw_blocks)}: blocks: must be a mapping of block names")
    known = frozenset(str(b) for b in raw_blocks)  # a key that is a block keeps its meaning
    for bname, body in raw_blocks.items():
        blocks[str(bname)] = _parse_block(str(bname), body, source, raw_blocks.key_lines.get(bname, 1), known)
    layers = _parse_items(doc["layers"], source, doc.key_lines.get("layers", 1), known)
    dtypes: dict = {}
    inputs = _parse_inputs(doc, source, dtypes)
    if inputs:
        first = next(iter(inputs.values()))
    else:
        first = _parse_input(doc.get("input"), source, doc.key_lines.get("input", 1), dtypes, "x")
    return Spec(str(name), first, layers, blocks, source, inputs=inputs,
                outputs=_names(doc.get("outputs"), "outputs", source, doc.key_lines.get("outputs", 1)),
                dtypes=dtypes)


def _parse_inputs(doc, source, dtypes):
    """``inputs: {image: [1, 3, 224, 224], mask: [1, 1, 224, 224]}``: named inputs, in order."""
    if "inputs" not in doc:
        return None
    line = doc.key_lines.get("inputs", 1)
    if "input" in doc:
        raise SpecError(f"{source}:{line}: give input: or inputs:, not both")
    raw = doc["inputs"]
    if not isinstance(raw, dict) or not raw:
        raise SpecError(f"{source}:{line}: inputs: must map names to shapes, like {{image: [1, 3, 224, 224]}}")
    out = {}
    for key, shape in raw.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise SpecError(f"{source}:{line}: input names must be identifiers, got {key!r}")
        out[key] = _parse_input(shape, source, line, dtypes, key)
    return out


def _names(value, what, source, line):
    if value is None:
        return None
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.isidentifier() for v in value):
        raise SpecError(f"{source}:{line}: {what} must be a name or a list of names, got {value!r}")
    return list(value)


DTYPES = ("float32", "float16", "bfloat16", "float64", "int64", "int32", "int16", "int8",
          "uint8", "bool")


def _parse_input(value, source, line, dtypes=None, name="x"):
    """A shape, or ``{shape: [1, 16], dtype: int64}`` (token indices for an Embedding)."""
    if value is None:
        return None
    if isinstance(value, dict):
        extra = [k for k in value if k not in ("shape", "dtype")]
        if extra or "shape" not in value:
            raise SpecError(f"{source}:{line}: an input is a shape or {{shape: [...], dtype: ...}}")
        dtype = value.get("dtype", "float32")
        if dtype not in DTYPES:
            raise SpecError(f"{source}:{line}: dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        if dtype != "float32" and dtypes is not None:
            dtypes[name] = dtype
        value = value["shape"]
    if isinstance(value, str):
        value = [v.strip() for v in value.replace("x", ",").split(",")]
        try:
            value = [int(v) for v in value]
        except ValueError:
            raise SpecError(f"{source}:{line}: input must be a list of sizes, got {value!r}") from None
    if not isinstance(value, list):  # [] is a 0-d tensor, which elementwise layers take
        raise SpecError(f"{source}:{line}: input must be a list of sizes like [1, 3, 224, 224]")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v > 2**63 - 1:
            raise SpecError(
                f"{source}:{line}: input sizes must be integers from 0 to 2**63 - 1, got {v!r}"
            )
    return list(value)


def _parse_block(name, body, source, line, known) -> Block:
    if name in STRUCTURAL or name in MODIFIERS:  # {add: [...]} would read as the merge
        raise SpecError(f"{source}:{line}: a block cannot be named {name!r}: it is a keyword of "
                        "the spec language", fix=f"rename it, e.g. {name}_block")
    if isinstance(body, list):
        body = {"layers": body}
    if not isinstance(body, dict) or "layers" not in body:
        raise SpecError(f"{source}:{line}: block {name!r} needs layers: (and optionally params:)")
    extra = [k for k in body if k not in ("params", "layers", "inputs")]
    if extra:
        raise SpecError(f"{source}:{line}: block {name!r}: unknown key {extra[0]!r} "
                        "(use params:, inputs:, layers:)")
    params = []
    raw = body.get("params") or []
    entries = list(raw.items()) if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        raise SpecError(f"{source}:{line}: block {name!r}: params must be a list of names")
    for entry in entries:
        if isinstance(entry, tuple):
            params.append((str(entry[0]), _default(entry[1], source, line)))
        elif isinstance(entry, str) and entry.isidentifier():
            params.append((entry, REQUIRED))
        elif isinstance(entry, dict) and len(entry) == 1:
            ((k, v),) = entry.items()
            params.append((str(k), _default(v, source, line)))
        else:
            raise SpecError(f"{source}:{line}: block {name!r}: bad parameter {entry!r}")
    inputs = _names(body.get("inputs"), f"block {name!r}: inputs", source, line)
    return Block(name, params, _parse_items(body["layers"], source, line, known), line, inputs)


def _parse_items(value, source, line, known=frozenset()) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        value = Located([value])
        value.lines = [line]
    lines = getattr(value, "lines", [line] * len(value))
    return [_parse_item(v, source, ln, known) for v, ln in zip(value, lines, strict=True)]


def _parse_branches(value, source, line, known) -> list:
    if not isinstance(value, list) or len(value) < 1:
        raise SpecError(f"{source}:{line}: branches must be a list, one entry per branch")
    lines = getattr(value, "lines", [line] * len(value))
    return [_parse_items(b, source, ln, known) for b, ln in zip(value, lines, strict=True)]


def _parse_item(value, source, line, known) -> Item:
    if isinstance(value, str):
        return _string_item(value, source, line)
    if not isinstance(value, dict) or not value:
        raise SpecError(
            f"{source}:{line}: cannot read {value!r} as a layer",
            fix="write Name, Name(args) or {Name: {arg: value}}",
        )
    named = named_module(value, known, STRUCTURAL + MODIFIERS)
    if named is not None:  # - conv1: Conv2d(64, 64, 1): the key names the module
        item = _string_item(named[1], source, line)
        check_named(*named, value, item, f"{source}:{line}")
        item.name = named[0]
        return _modifiers(item, value, source, line)
    main = [k for k in value if k not in MODIFIERS]
    if len(main) == 1:
        key = main[0]
        body = value[key]
    elif not main and "layers" in value:
        key, body = "sequential", value["layers"]  # {name: stem, layers: [...]}: a named group
    else:
        raise SpecError(
            f"{source}:{line}: a layer mapping has one key (the layer), got "
            f"{', '.join(map(repr, main)) or 'none'}",
            fix="write {Conv2d: {out_channels: 6, kernel_size: 5}}",
        )
    allowed = {"repeat": {"layers", "var"}, "concat": {"dim"}}.get(key, set())
    if not main:
        allowed = {"layers"}
    extra = [k for k in value if k in MODIFIERS and k not in allowed | {"name", "when", "as", "in"}]
    if extra:
        raise SpecError(f"{source}:{line}: {extra[0]}: does not apply to {key}")
    if key in STRUCTURAL:
        item = _structural(key, body, value, source, line, known)
    else:
        item = _mapping_call(str(key), body, source, line)
    return _modifiers(item, value, source, line)


def _modifiers(item, value, source, line) -> Item:
    """``name:``, ``when:``, ``as:`` and ``in:`` of a mapping item."""
    if "name" in value:
        if isinstance(value["name"], bool) or not isinstance(value["name"], (str, int)):
            raise SpecError(f"{source}:{line}: name must be a string")
        item.name = str(value["name"])
    if "when" in value:
        if value["when"] is None:
            raise SpecError(f"{source}:{line}: when: needs a condition, got null",
                            fix="write when: true, or an expression such as stride != 1")
        item.when = _maybe_expr(value["when"], source, line)
    if "as" in value:
        item.bind = _names(value["as"], "as", source, line)
    if "in" in value:
        item.inputs = _names(value["in"], "in", source, line)
    return item


def _structural(key, body, value, source, line, known) -> Item:
    if key == "repeat":
        if "layers" not in value:
            raise SpecError(f"{source}:{line}: repeat needs layers: (the layers to repeat)")
        var = value.get("var")
        if var is not None and not (isinstance(var, str) and var.isidentifier()):
            raise SpecError(f"{source}:{line}: var must be a name, got {var!r}")
        return Item("repeat", line, count=_maybe_expr(body, source, line), var=var,
                    children=_parse_items(value["layers"], source, line, known))
    if key in ("concat", "add"):
        dim = value.get("dim", 1)
        return Item(key, line, children=_parse_branches(body, source, line, known),
                    dim=_maybe_expr(dim, source, line))
    return Item("sequential", line, children=_parse_items(body, source, line, known))


def _mapping_call(target, body, source, line) -> Item:
    if body is None:
        return Item("call", line, target)
    if isinstance(body, list):
        return Item("call", line, target, [_value(v, source, line) for v in body])
    if isinstance(body, dict):
        kwargs = {}
        for k, v in body.items():
            if not isinstance(k, str) or not k.isidentifier():
                raise SpecError(f"{source}:{line}: {target}: argument names must be identifiers, got {k!r}")
            kwargs[k] = _value(v, source, line)
        return Item("call", line, target, [], kwargs)
    return Item("call", line, target, [_value(body, source, line)])


def _string_item(text, source, line) -> Item:
    """``Conv2d(1, 6, 5)``, ``h = x + y``, ``a, b = x.chunk(2, dim=1)``: a call by name
    (a layer, block or function) or an expression the lowering evaluates."""
    try:
        bind, node = expr.parse_item(text)
        found = expr.simple_call(node)
    except SpecError as e:
        hint = None
        if text.count("(") != text.count(")"):
            hint = "inside a YAML [flow list], quote calls that contain commas: ['Conv2d(1, 6, 5)']"
        raise SpecError(f"{source}:{line}: {e}", fix=hint) from None
    if isinstance(bind, str):  # self.attn = MultiheadAttention(...): declared, called later
        if found is None or not found[0][:1].isupper():
            raise SpecError(f"{source}:{line}: {bind} = ...: a module is declared with its "
                            "constructor, like self.attn = MultiheadAttention(768, 12)")
        target, args, kwargs = found
        return Item("declare", line, target, args, kwargs, name=bind.removeprefix("self."))
    if found is None:
        return Item("expr", line, node=node, bind=bind)
    target, args, kwargs = found
    qualified = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    return Item("call", line, target, args, kwargs, bind=bind, qualified=qualified, node=node)


def _value(v, source, line):
    """A mapping-form argument: plain data, or an expression when it reads as one."""
    if isinstance(v, list):
        return [_value(x, source, line) for x in v]
    if isinstance(v, dict):
        raise SpecError(f"{source}:{line}: argument values cannot be mappings, got {dict(v)!r}")
    if isinstance(v, str):
        return _maybe_expr(v, source, line)
    return v


def _default(v, source, line):
    """A block parameter's default: plain data, held to the expressions' length limit."""
    if isinstance(v, list):
        return [_default(x, source, line) for x in v]
    if isinstance(v, str):
        try:
            expr.check_length(v, "default")
        except SpecError as e:
            raise SpecError(f"{source}:{line}: {e}") from None
    return v


def _maybe_expr(v, source, line):
    """Strings that parse as expressions become ``Expr`` (resolved at run time, falling back
    to the plain string when they name something unknown, like ``'same'``)."""
    if not isinstance(v, str):
        return v
    try:
        node = expr.parse_value(v, "expression")
    except SpecError as e:
        raise SpecError(f"{source}:{line}: {e}") from None
    if node is None:
        return v
    if isinstance(node, ast.Constant):
        return node.value if not isinstance(node.value, str) else v
    return Expr(v, node)


@dataclass(frozen=True)
class Expr:
    text: str
    node: ast.expr
    names: frozenset = field(init=False, compare=False)

    def __post_init__(self):
        names = frozenset(n.id for n in ast.walk(self.node) if isinstance(n, ast.Name))
        object.__setattr__(self, "names", names - {"true", "false"})

    def resolve(self, env: dict):
        if not self.names <= env.keys():
            return self.text  # a plain string such as 'same' or 'nearest-exact'
        return expr.evaluate(self.node, env)


def _kind(value) -> str:
    """What a YAML value is, in YAML's words."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__} ({value!r:.40})"


def _line(value) -> int:
    return getattr(value, "line", 1)
