"""An exact import folded into blocks, as a person writes a spec: one block per module
class whose instances share a structure, parameters for the numbers that differ between
instances, a flag with ``when:`` where instances differ by an optional part (a shortcut),
``repeat`` for runs of identical calls; then written as a person reads it (fx_readable).

Folding only renames values and moves items into block definitions; the importer then
checks that the folded spec lowers to the same graph as the exact one (the same
operations, paths, arguments and dataflow), and keeps the exact one otherwise.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from convcalc.backend import fx_readable, fx_variants
from convcalc.backend.fx_calls import Module, argument_names, flatten, from_flat, literal_args, marker, shape
from convcalc.backend.fx_calls import substitute
from convcalc.backend.fx_repeat import repeat_runs
from convcalc.backend.fx_text import reads, rename_text, writes
from convcalc.backend.fx_yaml import Group, groups
from convcalc.ops import FUNCTIONS, REGISTRY, REQUIRED
from convcalc.spec.parse import MODIFIERS, STRUCTURAL

LAYERS = {name: list(layer.signature) for name, layer in REGISTRY.items()}
MAX_CONTAINER = 4  # parameters of a block made of numbered nn.Sequentials


@dataclass
class Block:
    params: list
    inputs: list
    entries: list
    comment: str = ""
    calls: int = 0
    defaults: dict = field(default_factory=dict)  # parameter -> default (a flag's is False)
    tensors: set = field(default_factory=set)  # its values that are tensors (fx_readable)


@dataclass
class _Instance:
    group: Group
    cls: type
    inputs: list  # the values it reads from outside, in order
    output: str  # the one value read after it
    body: list = field(default_factory=list)  # normalised entries (local names)
    tokens: tuple = ()  # the body's tokens, numbers as markers: the structure
    numbers: list = field(default_factory=list)  # the body's numbers, in order
    rename: dict = field(default_factory=dict)  # the model's value names -> the body's


def fold(root: Group, inputs: list, outputs: list, model, tensors=None) -> dict:
    """Fold ``root`` in place, innermost modules first (a parent's body then holds its
    children's calls), and write it for reading (fx_readable); the blocks its groups now
    call, by name. ``model``: the live model, whose modules' classes name the blocks;
    ``tensors``: the values that are tensors (a module reading a size from outside stays
    a group: a block's inputs are tensors)."""
    blocks, taken = {}, set()
    for group in groups(root):  # named modules as calls: {conv1: Conv2d(...), in: "x", as: "conv1"}
        group.entries[:] = [e if isinstance(e, Group) else (from_flat(e[0], REGISTRY) or e[0], e[1])
                            for e in group.entries]
    parents = _parents(root)
    written: list = []
    _walk(root, written, [], None)
    values = set(written) | set(inputs)
    heights = _heights(root, model)  # before any group becomes a call
    for height in range(1, heights[id(root)]):
        readers = _readers(root, outputs, values)
        instances = [inst for group in groups(root) if heights[id(group)] == height
                     for inst in [_instance(group, model, readers, values)] if inst is not None
                     and (tensors is None or set(inst.inputs) <= tensors)]  # in: takes tensors
        fx_variants.canonical(instances)
        for family in fx_variants.families(instances, tensors or set(), _generic):
            if len(family.instances) < 2:
                continue
            params, defaults, arguments = _parameters(family, blocks)
            cls = family.instances[0].cls
            if _generic(cls) and not _one_thing({inst.group.segment for inst in family.instances}, params):
                continue
            # a container is named by what it holds: its attribute name (downsample)
            segment = family.instances[0].group.segment
            generic = _generic(cls) and segment.isidentifier()
            name = _block_name(segment if generic else cls.__name__, taken)
            blocks[name] = Block(params["order"], _input_names(len(family.instances[0].inputs)),
                                 fx_variants.trim(substitute(family.body, params["at"])),
                                 comment=f"{cls.__module__}.{cls.__qualname__}",
                                 calls=len(family.instances), defaults=defaults, tensors=family.tensors)
            for inst, args in zip(family.instances, arguments):
                _replace(inst, name, args, parents)
    for group in groups(root):
        repeat_runs(group, blocks)
    fx_readable.tidy(root, blocks, inputs, outputs, tensors or set())
    return blocks


def _parents(root: Group) -> dict:
    found = {}
    for group in groups(root):
        for entry in group.entries:
            if isinstance(entry, Group):
                found[id(entry)] = group
    return found


def _heights(root: Group, model) -> dict:
    """When each group is folded: after the groups inside it, and with every instance of
    its class (a Bottleneck without a downsample waits for those with one, so that the
    two variants meet; a container, nn.Sequential, by its name too)."""
    found = groups(root)
    children = {id(g): [e for e in g.entries if isinstance(e, Group)] for g in found}
    keys = {id(g): _key(g, model) for g in found}
    height = {id(g): 1 for g in found}
    for _ in range(len(found)):
        by_key: dict = {}
        for g in found:
            by_key[keys[id(g)]] = max(by_key.get(keys[id(g)], 0), height[id(g)])
        changed = False
        for g in reversed(found):  # inner groups first
            new = max([1 + height[id(c)] for c in children[id(g)]] + [by_key[keys[id(g)]] if g.path else 0, 1])
            changed |= new != height[id(g)]
            height[id(g)] = new
        if not changed:
            break
    return height


def _key(group: Group, model):
    try:
        cls = type(model.get_submodule(group.path)) if group.path else None
    except AttributeError:
        return id(group)
    return (cls, group.segment) if cls is not None and _generic(cls) else cls or id(group)


def _one_thing(segments: set, params: dict) -> bool:
    """Whether instances of a container (nn.Sequential) are one thing: the same attribute
    (downsample), or numbered children with few parameters (HRNet's fuse layers); not
    named ones that only happen to match (ResNet's layer1 and layer4), nor a stage whose
    every number is a parameter."""
    return len(segments) == 1 or (all(s.rpartition(".")[2].isdigit() for s in segments)
                                  and len(params["order"]) <= MAX_CONTAINER)


def _generic(cls) -> bool:
    """A torch.nn container (nn.Sequential): named by what it holds, never given a flag."""
    return cls.__module__.startswith("torch.nn.")


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
    inst.tokens, inst.numbers = shape(inst.body)
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
    # as fx names a module's nodes: Mixed_5b.branch1x1 -> mixed_5b_branch1x1, block1-0.f -> block1_0_f
    prefix = re.sub(r"\W", "_", re.sub(r"(?<=[a-z])([A-Z])", r"_\1", group.path).lower()) + "_"
    taken = set(rename.values())
    written: list = []
    _walk(group, written, [], None)
    kinds = _kinds(group)
    for value in written:
        if value in rename:  # written again in place (x = x.add(y)): one name
            continue
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
    inst.rename = rename
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
                found[call.group(1)] = _snake(call.group(2))
    return found


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", name).lower()


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


# parameters -----------------------------------------------------------------------------


def _parameters(family, blocks: dict) -> tuple:
    """Parameter names for the numbers that differ between instances (one per distinct
    column of values: {"order": names, "at": position -> name}), their defaults (a layer
    argument's own, such as stride 1, where some instances give it; a number only some
    instances use: None; the flag: False), and each instance's arguments."""
    columns = list(zip(*family.numbers))
    at, names, defaults = {}, {}, {}
    hints = _hints(family.body, blocks)
    taken = _locals(family.body) | ({family.flag} if family.flag else set())
    keys = [tuple((marker(v), v) if v is not None else None for v in column) for column in columns]
    best: dict = {}  # a column's name: the first hint any of its positions has (in_channels, stride)
    for position, key in enumerate(keys):
        if best.get(key, (None, None))[0] is None:
            best[key] = hints[position]
    for position, column in enumerate(columns):
        kinds = {(marker(v), v) for v in column if v is not None}
        if len(kinds) == 1 and None not in column:
            continue
        key = keys[position]
        if key not in names:
            base, default = best[key]
            name, n = base or "p", 2
            while name in names.values() or name in taken:
                name, n = f"{base or 'p'}{n}", n + 1
            names[key] = name
            if None in column:  # read only where the optional part is
                defaults[name] = None
            elif any(type(v) is type(default) and v == default for v in column):
                defaults[name] = default
        at[position] = names[key]
    rank = {name: (0 if name not in defaults else 2 if defaults[name] is None else 1) for name in at.values()}
    order = sorted(dict.fromkeys(at.values()), key=lambda name: rank[name])
    values = []
    for i in range(len(family.numbers)):
        by_name = {at[p]: columns[p][i] for p in at}
        values.append([by_name[n] for n in order])
    if family.flag:
        order.append(family.flag)
        defaults[family.flag] = False
        values = [v + [flag] for v, flag in zip(values, family.flags)]
    return {"order": order, "at": at}, defaults, values


def _locals(entries) -> set:
    found = {"x", "self", "torch", "F", "nn", "_"}
    for entry in entries:
        if isinstance(entry, Group):
            found |= _locals(entry.entries)
        else:
            found.update(writes(entry[0]))
    return found


def _hints(body, blocks: dict) -> list:
    """``(name, default)`` for each number of the body: the constructor argument or block
    parameter it is given as (``Conv2d(64, 128, 3, stride=2)``: in_channels, out_channels,
    kernel_size, stride with its default 1), or ``(None, None)``."""
    signatures = {**LAYERS, **{name: [(p, block.defaults.get(p, REQUIRED)) for p in block.params]
                               for name, block in blocks.items()}}
    return [found for line in flatten(body) for found in argument_names(line, signatures)]


def _replace(inst: _Instance, name: str, args: list, parents: dict) -> None:
    """The instance's group becomes a call of the block, where it stood in its parent."""
    group = inst.group
    call = Module(group.segment, f"{name}({literal_args(args)})", list(inst.inputs), inst.output)
    parent = parents[id(group)]
    at = next(i for i, e in enumerate(parent.entries) if e is group)
    parent.entries[at] = (call.text(), None)


def _input_names(count: int) -> list:
    return ["x"] + [f"x{i}" for i in range(1, count)]


def _block_name(cls_name: str, taken: set) -> str:
    base = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", cls_name).lower()
    name, n = base, 2
    while name in taken or name in REGISTRY or name in FUNCTIONS or name in STRUCTURAL or name in MODIFIERS:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name
