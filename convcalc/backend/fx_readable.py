"""A folded import written as a person writes a spec: ``- conv1: Conv2d(64, 64, 1, bias=False)``
for a named module, ``- Conv2d(...)`` for a numbered one, and names only where a value is
read later than by the next item, as in a ``forward``.

Each item is read in order with the running value (the last tensor an item gave; the
lowering's rule): an item that reads the running value needs no ``in:`` (``self.relu(bn2)``
is ``self.relu``), and a value read only while it is the running value needs no name
(``as:``, ``h = ``), its readers reading ``_``. Where the running value is not known (after
an item under ``when:``, a size, several results) names stay.
"""

from __future__ import annotations

import ast
import json
import re

from convcalc.backend.fx_calls import Module, calls, module
from convcalc.backend.fx_layers import literal
from convcalc.backend.fx_repeat import indexed
from convcalc.backend.fx_text import reads, rename_text, writes
from convcalc.backend.fx_yaml import Group, Repeat, key, plain
from convcalc.ops import REGISTRY
from convcalc.spec.parse import MODIFIERS, STRUCTURAL

_APPLIED = re.compile(r"^(?:(?P<out>\w+) = )?(?P<call>[A-Z]\w*\(.*\))\((?P<input>\w+)\)$")
_SELF_CALL = re.compile(r"^(self(?:\.\w+|\[\d+\])+)\(_\)$")


def tidy(root: Group, blocks: dict, inputs: list, outputs: list, tensors: set) -> None:
    """Rewrite the block bodies and ``root`` for reading, in place."""
    for block in blocks.values():
        block.entries = _thread(block.entries, block.inputs, [], block.tensors | set(block.inputs), blocks)
    root.entries[:] = _thread(root.entries, inputs, outputs, tensors | set(inputs), blocks)


class _Leaf:
    __slots__ = ("entry", "running", "index", "text")

    def __init__(self, entry, running, index):
        self.entry, self.running, self.index, self.text = entry, running, index, None


def _thread(entries, inputs, outputs, tensors, blocks) -> list:
    """The entries of one scope (the model, or a block's body), rewritten."""
    leaves: list = []
    same: dict = {}  # a name given to a value that has another: y = s
    sizes: set = set()  # values that are sizes (x.shape, n // 2): the running value stays
    final = _walk(entries, inputs[0] if inputs else None, leaves, tensors, (same, sizes))

    def canon(value):
        return same.get(value, value)

    values = set(inputs) | {w for leaf in leaves if not isinstance(leaf.entry, Repeat)
                            for w in writes(leaf.entry[0])}
    written: dict = {}
    read: dict = {}
    for leaf in leaves:
        if isinstance(leaf.entry, Repeat):
            continue
        for w in writes(leaf.entry[0]):
            written[w] = written.get(w, 0) + 1
        call = module(leaf.entry[0])
        by_name = call is not None and len(call.inputs) > 1  # in: [h, skip] names each
        for v in reads(_right(leaf.entry[0]), values):
            read.setdefault(v, []).append(None if by_name else leaf.running)
    if len(outputs) == 1 and final is not None and canon(outputs[0]) == canon(final):
        read.setdefault(outputs[0], []).append(final)  # the spec's last value is its output
        outputs = []
    learned = {w for leaf in leaves if not isinstance(leaf.entry, Repeat) and leaf.entry[0].startswith("{name: ")
               for w in writes(leaf.entry[0])}  # a Parameter's mapping keeps its name
    unnamed = {v for v in written if written[v] == 1 and v in tensors and v not in outputs and v not in learned
               and v not in same and all(r is not None and canon(r) == canon(v) for r in read.get(v, []))}
    for leaf in leaves:
        leaf.text = _rewrite(leaf, unnamed, canon, blocks)
    return _rebuilt(entries, {id(leaf.entry): leaf.text for leaf in leaves})


def _right(text: str) -> str:
    """What an item reads: a mapping, or the right side of an assignment."""
    if text.startswith("{") or not writes(text):
        return text
    return text.partition(" = ")[2]


def _walk(entries, running, leaves, tensors, known) -> str | None:
    """Record each item with the running value before it and its number in its group
    (None where it is not that number for sure); the running value after them."""
    count = [0, False]  # the next number, and whether an item under when: came before
    for entry in entries:
        if isinstance(entry, Group):
            running = _walk(entry.entries, running, leaves, tensors, known)
            count[0] += 1
            continue
        if isinstance(entry, Repeat):
            leaves.append(_Leaf(entry, running, None))
            count[0] += entry.count
            running = None
            continue
        text = entry[0]
        member = indexed(text)
        leaves.append(_Leaf(entry, running, count[0] if member and not count[1] else None))
        if member:
            call = module(text)
            count[0] += 1
            count[1] = count[1] or (call is not None and call.when is not None)
        running = _after(text, running, tensors, known)
    return running


def _after(text, running, tensors, known) -> str | None:
    """The running value after an item (None: not known here)."""
    same, sizes = known
    call = module(text)
    if call is not None:
        return call.output if call.when is None and call.output in tensors else None
    if text.startswith("{"):  # a learned tensor: the running value, named by as:
        return (writes(text) or [None])[0]
    try:
        statement = ast.parse(text).body[0]
    except (SyntaxError, IndexError):
        return None
    if isinstance(statement, ast.Expr):
        value = statement.value
        if isinstance(value, ast.Name):
            return same.get(value.id, value.id) if value.id in tensors else running if value.id == "_" else None
        is_check = isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "_assert"
        return running if is_check else None
    target = statement.targets[0]
    if isinstance(target, ast.Attribute):  # self.attn = MultiheadAttention(...): declared
        return running
    if not isinstance(target, ast.Name):
        return None
    value = statement.value
    if isinstance(value, ast.Name) and value.id == "_":  # v = _: the running value named
        if running is None:
            return target.id
        same[target.id] = same.get(running, running)
        return running
    if isinstance(value, ast.Name) and value.id in tensors:  # y = s: another name for s's value
        same[target.id] = same.get(value.id, value.id)
        return same[target.id]
    if target.id in tensors:
        return target.id
    if _is_size(value, sizes):
        sizes.add(target.id)
        return running
    return None


def _is_size(node, sizes) -> bool:
    """Whether an expression gives a size (``x.shape[2] // 16``, ``x.dim() == 3``), never a
    tensor: made of shapes, sizes, numbers and arithmetic."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float, bool))
    if isinstance(node, ast.Name):
        return node.id in sizes
    if isinstance(node, ast.Attribute):
        return node.attr in ("shape", "ndim")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ("size", "dim", "numel")
    if isinstance(node, ast.Subscript):
        return _is_size(node.value, sizes)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_is_size(e, sizes) for e in node.elts)
    parts = {ast.BinOp: ("left", "right"), ast.UnaryOp: ("operand",), ast.Compare: ("left",),
             ast.BoolOp: ()}.get(type(node))
    if parts is None:
        return False
    children = [getattr(node, p) for p in parts] + list(getattr(node, "comparators", [])) + \
        list(getattr(node, "values", []))
    return all(_is_size(c, sizes) for c in children)


def _rewrite(leaf, unnamed, canon, blocks) -> str | None:
    """The leaf's final text (None: the item is not needed)."""
    if isinstance(leaf.entry, Repeat):
        leaf.entry.text = _named_text(module(leaf.entry.text), None, blocks) if leaf.entry.text.startswith("{") \
            else _bare(_block_args(leaf.entry.text, blocks))
        return leaf.entry
    text, running = leaf.entry[0], leaf.running
    call = module(text)
    if call is not None:
        if len(call.inputs) == 1 and running is not None and canon(call.inputs[0]) == canon(running):
            call.inputs = []
        if call.output in unnamed:
            call.output = None
        return _named_text(call, leaf.index, blocks)
    if text.startswith("{"):
        return text
    applied = _APPLIED.match(text)
    if applied is not None:  # v = Conv2d(...)(x)
        out = "" if applied["out"] is None or applied["out"] in unnamed else f"{applied['out']} = "
        on_running = running is not None and canon(applied["input"]) == canon(running)
        return f"{out}{_bare(applied['call'])}" if on_running else f"{out}{applied['call']}({applied['input']})"
    left, sep, right = text.partition(" = ")
    if not sep or left.startswith("self.") or "(" in left:
        left, right = "", text
    right = rename_text(right, {v: "_" for v in unnamed})
    found = _SELF_CALL.match(right)
    right = found[1] if found else right
    if left in unnamed or left == "":
        return None if right == "_" else right
    return f"{left} = {right}"


def _named_text(call: Module, index, blocks) -> str:
    """A module or block call as the spec writes it: ``Conv2d(...)`` at its number,
    ``conv1: Conv2d(...)``, or a mapping when it has ``in:``, ``as:`` or ``when:``."""
    text = _block_args(call.call, blocks)
    if index is not None and call.segment == str(index) and call.when is None:
        applied = f"({', '.join(call.inputs)})" if call.inputs else ""
        return (f"{call.output} = " if call.output else "") + (text if applied else _bare(text)) + applied
    segment = call.segment
    if segment in STRUCTURAL or segment in MODIFIERS or segment in REGISTRY:  # the key would be a keyword
        return _mapping(call, text, blocks)
    text = text if segment in blocks else _bare(text)  # {block: block}: a block given a string
    if not call.inputs and call.output is None and call.when is None:
        return f"{key(segment)}: {plain(text)}"
    return "{" + ", ".join([f"{key(segment)}: {json.dumps(text)}", *_modifiers(call)]) + "}"


def _mapping(call: Module, text: str, blocks) -> str:
    """``{name: add, Conv2d: {in_channels: 3, ...}}``: a module whose name is a keyword or a layer."""
    found = calls(text, {**{k: [n for n, _ in t.signature] for k, t in REGISTRY.items()},
                         **{k: b.params for k, b in blocks.items()}})
    (outer,) = [c for c in found if c.start == 0]
    params = blocks[outer.callee].params if outer.callee in blocks else [n for n, _ in REGISTRY[outer.callee].signature]
    args = ", ".join(f"{k or params[i]}: {plain(text[s:e], True)}" for i, (k, s, e) in enumerate(outer.args))
    parts = [f"name: {plain(call.segment, True)}", f"{outer.callee}: {{{args}}}" if args else f"{outer.callee}: null"]
    return "{" + ", ".join([*parts, *_modifiers(call)]) + "}"


def _modifiers(call: Module) -> list:
    """``in:``, ``as:`` and ``when:`` of a module's mapping, those it has."""
    parts = []
    if call.inputs:
        parts.append(f"in: {plain(call.inputs[0], True) if len(call.inputs) == 1 else json.dumps(call.inputs)}")
    if call.output:
        parts.append(f"as: {plain(call.output, True)}")
    if call.when:
        parts.append(f"when: {call.when}")
    return parts


def _bare(text: str) -> str:
    """``GELU`` for ``GELU()``: a layer or block without arguments, as the zoo writes it."""
    return text[:-2] if re.fullmatch(r"[A-Za-z_]\w*\(\)", text) else text


def _block_args(text: str, blocks) -> str:
    """A block call with the arguments left at their defaults left out and the others of a
    defaulted parameter by keyword: ``bottleneck(64, 64, 256, has_downsample=True)``."""
    callee = text.split("(", 1)[0]
    block = blocks.get(callee)
    if block is None or not block.defaults:
        return text
    (outer,) = [c for c in calls(text, {callee: block.params}) if c.start == 0]
    parts = []
    for (keyword, start, end), param in zip(outer.args, block.params):
        value = text[start:end]
        if param in block.defaults:
            if value != literal(block.defaults[param]):
                parts.append(f"{param}={value}")
        else:
            parts.append(value if keyword is None else f"{keyword}={value}")
    return f"{callee}({', '.join(parts)})"


def _rebuilt(entries, texts) -> list:
    out = []
    for entry in entries:
        if isinstance(entry, Group):
            out.append(Group(entry.path, entry.segment, _rebuilt(entry.entries, texts), entry.index, entry.holder))
            continue
        text = texts.get(id(entry))
        if isinstance(text, Repeat):
            out.append(text)
        elif text is not None:
            out.append((text, None))
    return out
