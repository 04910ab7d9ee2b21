"""An exact import folded into blocks, as a person writes a spec: one block per module
class whose instances share a structure, parameters for the numbers that differ between
instances, ``repeat`` for runs of identical calls.

Folding only renames values and moves items into block definitions; the importer then
checks that the folded spec lowers to the same graph as the exact one (the same
operations, paths, arguments and dataflow), and keeps the exact one otherwise.
"""

from __future__ import annotations

import io
import json
import keyword
import re
import tokenize
from dataclasses import dataclass, field

from convcalc.backend.fx_text import is_int, reads, rename_text, writes
from convcalc.backend.fx_yaml import Group, Repeat, groups
from convcalc.ops import FUNCTIONS, REGISTRY
from convcalc.spec.parse import MODIFIERS, STRUCTURAL


@dataclass
class Block:
    params: list
    inputs: list
    entries: list
    comment: str = ""
    calls: int = 0


@dataclass
class _Instance:
    group: Group
    cls: type
    inputs: list  # the values it reads from outside, in order
    output: str  # the one value read after it
    body: list = field(default_factory=list)  # normalised entries (local names)
    tokens: tuple = ()  # the body's tokens, numbers as "#": the structure
    numbers: list = field(default_factory=list)  # the body's numbers, in order


def fold(root: Group, inputs: list, outputs: list, model, tensors=None) -> dict:
    """Fold ``root`` in place, innermost modules first (a parent's body then holds its
    children's calls); the blocks its groups now call, by name. ``model``: the live
    model, whose modules' classes name the blocks; ``tensors``: the values that are tensors
    (a module reading a size from outside stays a group: a block's inputs are tensors)."""
    blocks, taken = {}, set()
    parents = _parents(root)
    written: list = []
    _walk(root, written, [], None)
    values = set(written) | set(inputs)
    heights = {id(g): _height(g) for g in groups(root)}  # before any group becomes a call
    for height in range(1, heights[id(root)]):
        readers = _readers(root, outputs, values)
        instances = [inst for group in groups(root) if heights[id(group)] == height
                     for inst in [_instance(group, model, readers, values)] if inst is not None
                     and (tensors is None or set(inst.inputs) <= tensors)]  # in: takes tensors
        by_structure: dict = {}
        for inst in instances:
            by_structure.setdefault((inst.cls, inst.tokens), []).append(inst)
        for (cls, tokens), group in by_structure.items():
            if len(group) < 2:
                continue
            params, arguments = _parameters(group, blocks)
            # a container is named by what it holds: its attribute name (downsample)
            generic = cls.__module__.startswith("torch.nn.") and group[0].group.segment.isidentifier()
            name = _block_name(group[0].group.segment if generic else cls.__name__, taken)
            blocks[name] = Block(params["order"], _input_names(len(group[0].inputs)),
                                 _substitute(group[0], params["at"]),
                                 comment=f"{cls.__module__}.{cls.__qualname__}", calls=len(group))
            for inst, args in zip(group, arguments):
                _replace(inst, name, args, parents)
    for group in groups(root):
        _repeat(group)
    return blocks


def _parents(root: Group) -> dict:
    found = {}
    for group in groups(root):
        for entry in group.entries:
            if isinstance(entry, Group):
                found[id(entry)] = group
    return found


def _height(group: Group) -> int:
    children = [_height(e) for e in group.entries if isinstance(e, Group)]
    return 1 + max(children, default=0)


# which values are read where ------------------------------------------------------------


def _readers(root: Group, outputs: list, values: set) -> dict:
    """Value -> the items that read it (and "output" for the spec's outputs)."""
    found: dict = {}
    for group in groups(root):
        for entry in group.entries:
            if not isinstance(entry, Group):
                for value in reads(entry[0], values):
                    found.setdefault(value, set()).add(("item", id(entry)))
    for value in outputs:
        found.setdefault(value, set()).add("output")
    return found


# instances ------------------------------------------------------------------------------


def _instance(group: Group, model, readers, values):
    """The group as an instance of its module's class, or None when it cannot be a block
    call (the model itself, a holder of parameters, a module with several results)."""
    if not group.path or group.holder:
        return None
    written, read = [], []
    _walk(group, written, read, values)
    inside = set(written)
    inputs = list(dict.fromkeys(v for v in read if v not in inside))
    mine = _ids(group)
    after = [v for v in dict.fromkeys(written) if readers.get(v, set()) - mine]
    if len(after) != 1 or not inputs:
        return None
    try:
        cls = type(model.get_submodule(group.path))
    except AttributeError:
        return None
    inst = _Instance(group, cls, inputs, after[0])
    inst.body = _localise(group, inst)
    inst.tokens, inst.numbers = _shape(inst.body)
    return inst


def _walk(group, written, read, values) -> None:
    for entry in group.entries:
        if isinstance(entry, Group):
            _walk(entry, written, read, values)
        else:
            if values is not None:
                read.extend(reads(entry[0], values))
            written.extend(writes(entry[0]))


def _ids(group) -> set:
    out = {id(group)}
    for entry in group.entries:
        if isinstance(entry, Group):
            out |= _ids(entry)
        else:
            out.add(("item", id(entry)))
    return out


def _localise(group: Group, inst: _Instance) -> list:
    """The group's entries with values renamed to the block's locals: its inputs x, x1...,
    its own values by their names in the module (layer1_0_conv1 -> conv1)."""
    rename = {v: n for v, n in zip(inst.inputs, _input_names(len(inst.inputs)))}
    prefix = group.path.replace(".", "_") + "_"
    taken = set(rename.values())
    written: list = []
    _walk(group, written, [], None)
    kinds = _kinds(group)
    for value in written:
        base = value[len(prefix):] if value.startswith(prefix) else re.sub(r"_\d+$", "", value)
        base = base.rstrip("_") or "v"
        if base[:1].isdigit():  # an nn.Sequential's child: named by its layer (conv, linear)
            base = kinds.get(value, "v")
        if not base.isidentifier() or keyword.iskeyword(base) or base in REGISTRY:
            base = f"v_{base}"
        local, n = base, 1
        while local in taken:
            local, n = f"{base}_{n}", n + 1
        taken.add(local)
        rename[value] = local
    return _renamed(group.entries, rename, inst.output)


def _kinds(group) -> dict:
    """Value -> the snake_case name of the layer that made it (``v = GELU()(x)``: gelu)."""
    found = {}
    for entry in group.entries:
        if isinstance(entry, Group):
            found.update(_kinds(entry))
        else:
            call = re.match(r"^(\w+) = ([A-Z]\w*)\(", entry[0])
            if call:
                found[call.group(1)] = re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", call.group(2)).lower()
    return found


def _renamed(entries, rename, output=None) -> list:
    out = []
    for entry in entries:
        if isinstance(entry, Group):
            copy = Group(entry.path, entry.segment, _renamed(entry.entries, rename), entry.index, entry.holder)
            out.append(copy)
        else:
            out.append((rename_text(entry[0], rename), None))
    if output is not None and (not out or isinstance(out[-1], Group) or writes(out[-1][0]) != [rename[output]]):
        out.append((rename[output], None))  # the block's result: its running value
    return out


def _shape(entries) -> tuple:
    """The body's tokens with numbers as ``#`` (its structure), and the numbers."""
    tokens, numbers = [], []
    for entry in _flatten(entries):
        for t in tokenize.generate_tokens(io.StringIO(entry).readline):
            if is_int(t):
                tokens.append("#")
                numbers.append(int(t.string, 0))
            elif t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
                tokens.append(t.string)
        tokens.append("\n")
    return tuple(tokens), numbers


def _flatten(entries) -> list:
    out = []
    for entry in entries:
        if isinstance(entry, Group):
            out.append(f"group {entry.segment}")
            out.extend(_flatten(entry.entries))
            out.append("end")
        else:
            out.append(entry[0])
    return out


# parameters -----------------------------------------------------------------------------


def _parameters(group: list, blocks: dict) -> tuple:
    """Parameter names for the numbers that differ between instances (one per distinct
    column of values: {"order": names, "at": position -> name}), and each instance's
    argument values."""
    columns = list(zip(*(inst.numbers for inst in group)))
    at, names = {}, {}
    hints = _hints(group[0], blocks)
    taken = _locals(group[0].body)  # a parameter never shadows a value of the body
    for position, column in enumerate(columns):
        if len(set(column)) == 1:
            continue
        if column not in names:
            base = hints.get(position, "p")
            name, n = base, 2
            while name in names.values() or name in taken:
                name, n = f"{base}{n}", n + 1
            names[column] = name
        at[position] = names[column]
    order = list(dict.fromkeys(at.values()))
    values = []
    for i in range(len(group)):
        by_name = {at[p]: columns[p][i] for p in at}
        values.append([by_name[n] for n in order])
    return {"order": order, "at": at}, values


def _locals(entries) -> set:
    found = {"x", "self", "torch", "F", "nn", "_"}
    for entry in entries:
        if isinstance(entry, Group):
            found |= _locals(entry.entries)
        else:
            found.update(writes(entry[0]))
    return found


def _hints(inst: _Instance, blocks: dict) -> dict:
    """A name for each number of the body: the constructor argument it is given as
    (``Conv2d(64, 128, 3, stride=2)``: in_channels, out_channels, kernel_size, stride)."""
    hints, position = {}, 0
    for line in _flatten(inst.body):
        call = re.match(r"(?:self\.\w+ = |\w+ = )?([A-Z]\w*)\(", line)
        layer = REGISTRY.get(call.group(1)) if call else None
        called = re.match(r'\{name: "[^"]*", (\w+): \[', line)  # a block's call: its parameters' names
        block = blocks.get(called.group(1)) if called else None
        arg_of_block = 0
        tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
        depth, arg, keyword_name = 0, 0, None
        for i, t in enumerate(tokens):
            if t.string in "([{":
                depth += 1
            elif t.string in ")]}":
                depth -= 1
            elif t.string == "," and depth == 1:
                arg, keyword_name = arg + 1, None
            elif t.type == tokenize.NAME and depth >= 1 and i + 1 < len(tokens) and tokens[i + 1].string in ("=", ":"):
                keyword_name = t.string  # Conv2d(..., stride=2) or {Conv2d: {stride: 2}}
            if is_int(t):
                if layer is not None and depth == 1:
                    names = [n for n, _ in layer.signature]
                    hints[position] = keyword_name or (names[arg] if arg < len(names) else "p")
                elif keyword_name in _ARGUMENTS and depth == 2:  # a mapping's constructor argument
                    hints[position] = keyword_name
                elif block is not None and depth == 2 and arg_of_block < len(block.params):
                    hints[position] = block.params[arg_of_block]
                    arg_of_block += 1
                position += 1
    return hints


_ARGUMENTS = {n for layer in REGISTRY.values() for n, _ in layer.signature}


def _substitute(inst: _Instance, at: dict) -> list:
    """The body with the numbers at the parameters' positions replaced by their names; the
    positions count as ``_shape`` counts them."""
    counter = iter(range(len(inst.numbers)))

    def replace(text):
        out, last = [], 0
        offsets = [0]
        for line in text.splitlines(keepends=True):
            offsets.append(offsets[-1] + len(line))
        for t in tokenize.generate_tokens(io.StringIO(text).readline):
            if is_int(t):
                position = next(counter)
                if position in at:
                    start = offsets[t.start[0] - 1] + t.start[1]
                    out.append(text[last:start] + at[position])
                    last = start + len(t.string)
        return "".join(out) + text[last:]

    def walk(entries):
        result = []
        for entry in entries:
            if isinstance(entry, Group):
                replace(f"group {entry.segment}")  # its numbers are counted, never replaced
                result.append(Group(entry.path, entry.segment, walk(entry.entries), entry.index, entry.holder))
            else:
                result.append((replace(entry[0]), None))
        return result

    return walk(inst.body)


def _replace(inst: _Instance, name: str, args: list, parents: dict) -> None:
    """The instance's group becomes a call of the block, where it stood in its parent."""
    group = inst.group
    inputs = inst.inputs[0] if len(inst.inputs) == 1 else inst.inputs
    parts = [f"name: {json.dumps(group.segment)}", f"{name}: {json.dumps(args) if args else 'null'}",
             f"in: {json.dumps(inputs)}", f"as: {json.dumps(inst.output)}"]
    parent = parents[id(group)]
    at = next(i for i, e in enumerate(parent.entries) if e is group)
    parent.entries[at] = ("{" + ", ".join(parts) + "}", None)


def _input_names(count: int) -> list:
    return ["x"] + [f"x{i}" for i in range(1, count)]


def _block_name(cls_name: str, taken: set) -> str:
    base = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", cls_name).lower()
    name, n = base, 2
    while name in taken or name in REGISTRY or name in FUNCTIONS or name in STRUCTURAL or name in MODIFIERS:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


# repeats --------------------------------------------------------------------------------

_CALL = re.compile(r'^\{name: "([\w.]*?)(\d+)", (\w+): (\[[^\]]*\]|null), in: "([^"]*)", as: "([^"]*)"\}$')
_INDEXED = re.compile(r"^(\{name: |\w+ = [A-Z]\w*\(.*\)\()")  # items numbered like nn.Sequential's


def _repeat(group: Group) -> None:
    """Runs of three or more identical block calls, each on the one before, named 0, 1,
    2... (as an nn.Sequential names them) or layer_1, layer_2...: the first stays a call,
    the rest become one ``repeat`` (with a name template for named ones)."""
    entries, out, index = group.entries, [], 0
    i = 0
    while i < len(entries):
        run = _run(entries, i)
        prefix = run[0].group(1) if run else ""
        if len(run) >= 3 and (prefix or int(run[0].group(2)) == index):
            first, second, last = run[0], run[1], run[-1]
            args = first.group(4)
            if prefix:  # named: the loop variable fills the name
                text = (f'{{name: "{prefix}{{i + {second.group(2)}}}", {first.group(3)}: {args}}}'
                        if second.group(2) != "0" else f'{{name: "{prefix}{{i}}", {first.group(3)}: {args}}}')
                repeat = Repeat(len(run) - 1, text, "i")
            else:
                repeat = Repeat(len(run) - 1, f"{first.group(3)}({args[1:-1] if args != 'null' else ''})")
            out += [entries[i], repeat, (f"{last.group(6)} = _", None)]
            index += len(run)
            i += len(run)
            continue
        entry = entries[i]
        if isinstance(entry, Group) or _INDEXED.match(entry[0]):
            index += 1
        out.append(entry)
        i += 1
    group.entries[:] = out


def _run(entries, start) -> list:
    run = []
    for entry in entries[start:]:
        found = _CALL.match(entry[0]) if not isinstance(entry, (Group, Repeat)) else None
        if found is None:
            break
        if run and (found.group(1, 3, 4) != run[0].group(1, 3, 4) or found.group(5) != run[-1].group(6)
                    or int(found.group(2)) != int(run[-1].group(2)) + 1):
            break
        run.append(found)
    return run
