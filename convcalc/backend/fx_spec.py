"""A torch.fx graph as a spec, node by node, in the spec language of ``forward`` lines.

Each live node becomes one item (a leaf module's first call two: its declaration, as in
``__init__``, then the call), named by the node's own name, inside the groups of the
module stack fx recorded for it, so the table's paths are the model's module names.
Shape arithmetic (``x.size(2)``, ``x.shape[-1] // 2``, ``_assert``) stays arithmetic on
the spec's values, never the traced numbers. A node the spec cannot express is a ``Lost``;
with ``approximate`` it is replaced by its traced value (a buffer of the traced shape, a
number) and listed, else the import stops there.
"""

from __future__ import annotations

import builtins
import json
import keyword
import operator
import re
from dataclasses import dataclass, field

from convcalc.backend.fx_layers import Lost, constructor, constructor_args, literal, qualified, unread_buffers
from convcalc.backend.fx_trace import attribute_of, in_place, layer_name, live_nodes
from convcalc.backend.fx_yaml import Group, flow, groups, mapping, render

BINARY = {operator.add: "+", operator.iadd: "+", operator.sub: "-", operator.isub: "-",
          operator.mul: "*", operator.imul: "*", operator.truediv: "/", operator.itruediv: "/",
          operator.floordiv: "//", operator.mod: "%", operator.pow: "**", operator.matmul: "@",
          operator.eq: "==", operator.ne: "!=", operator.lt: "<", operator.le: "<=",
          operator.gt: ">", operator.ge: ">=", operator.and_: "&", operator.or_: "|"}
UNARY = {operator.neg: "-", operator.pos: "+", operator.invert: "~", operator.not_: "not "}
BUILTINS = {"int", "float", "len", "max", "min", "abs", "round", "sum"}


@dataclass
class Imported:
    text: str
    lines: dict  # YAML line -> fx node name
    names: dict  # fx node name -> the spec's value name
    lost: list = field(default_factory=list)  # (node name, why) replaced by traced values
    dropped: list = field(default_factory=list)  # nodes whose values reach no output
    root: object = None  # the _Group tree, inputs and outputs the text was rendered from
    inputs: dict = field(default_factory=dict)
    outputs: list = field(default_factory=list)


def translate(gm, seen: dict, header: list, name: str, approximate=frozenset(), model=None) -> Imported:
    """The spec of ``gm``; ``seen`` (fx_trace.run) gives each node's traced value, used for
    input shapes and for the nodes in ``approximate`` (node name -> why). ``model``, the
    live model: the buffers of the modules traced into that the forward never reads."""
    writer = _Writer(gm, seen, approximate)
    writer.model = model
    return writer.write(header, name)


class _Writer:
    def __init__(self, gm, seen, approximate):
        self.gm, self.seen, self.approximate = gm, seen, dict(approximate)
        self.names: dict = {}
        self.taken = {"self", "torch", "F", "nn", "_", "x", "_assert", "Parameter", "Buffer"} | BUILTINS
        self.calls: dict = {}  # leaf module path -> the group it was declared in
        self.constants: dict = {}  # an input left at its default (attn_mask=None): its value
        self.read: set = set()  # the attributes get_attr nodes read
        self.model = None
        self.lost: list = []
        self.closed: set = set()

    # names ------------------------------------------------------------------------------

    def name(self, node) -> str:
        found = self.names.get(node.name)
        if found is None:
            found = node.name if node.name.isidentifier() and not keyword.iskeyword(node.name) else f"v_{node.name}"
            while found in self.taken and not (node.op == "placeholder" and found == "x"):
                found = f"{found}_"
            self.taken.add(found)
            self.names[node.name] = found
        return found

    # the walk ---------------------------------------------------------------------------

    def write(self, header, title) -> Imported:
        nodes = list(self.gm.graph.nodes)
        live = live_nodes(nodes, {n for n in nodes if n.op in ("call_function", "call_method", "call_module")
                                  and n.name in self.seen and self.seen[n.name].is_tensor})
        root = Group("", "")
        stack = [root]
        inputs, outputs = {}, []
        dropped = [n.name for n in nodes if n not in live and n.op not in ("placeholder", "output")]
        for node in nodes:
            if node.op == "placeholder":
                seen = self.seen.get(node.name)
                if seen is not None and not seen.is_tensor and node.args:  # attn_mask=None: its default,
                    self.constants[node.name] = node.args[0]  # written where it is used
                    continue
                if seen is None or not seen.is_tensor:
                    raise Lost(f"input {node.name} is not a tensor")
                inputs[self.name(node)] = (seen.shape, seen.dtype)
                continue
            if node.op == "output":
                outputs = [self.name(n) for n in _flat(node.args[0])]
                continue
            if node not in live or _device_only(node):
                continue  # dead code; x.device read only for a device= argument, which is dropped
            if node.op == "get_attr":  # fx reads it where it is first used: its owner's group
                owners = [path for path, again in _modules(node) if not again
                          and node.target.startswith(path + ".")
                          and layer_name(self.gm.get_submodule(path)) is None]
                if owners != [g.path for g in stack[1:1 + len(owners)]]:
                    stack = self.enter(stack, owners)  # the owner's forward starts here
                self.attribute_line(node, stack)
                continue
            modules = _modules(node)
            # a module whose forward runs again (``block@1``): its nodes are written in the
            # group that calls it, its layers called again as self.block.conv(...)
            first = next((i for i, (_, again) in enumerate(modules) if again), len(modules))
            stack = self.enter(stack, [path for path, _ in modules[:first]])
            group = stack[-1]
            for text in self.lines(node, group):
                group.entries.append((text, node.name))
        if self.model is not None:  # the model's buffers its forward never reads
            for group, line in unread_buffers(self.model, groups(root), self.read, self.taken):
                group.entries.append((line, None))
                group.index += 1
        return self.render(header, title, root, inputs, outputs, dropped)

    def enter(self, stack, paths) -> list:
        """The open groups for a node whose enclosing modules are ``paths``."""
        keep = 1
        while keep < len(stack) and keep - 1 < len(paths) and stack[keep].path == paths[keep - 1]:
            keep += 1
        for group in stack[keep:]:
            self.closed.add(group.path)
        stack = stack[:keep]
        for path in paths[keep - 1:]:
            if path in self.closed:
                raise Lost(f"module {path} runs again (a module's forward called twice is "
                           "not supported yet; its leaf layers may be)")
            parent = stack[-1]
            segment = _relative(path, parent.path)
            group = Group(path, segment)
            parent.entries.append(group)
            parent.index += 1
            stack.append(group)
        return stack

    def attribute_line(self, node, stack) -> None:
        """A parameter or buffer goes to the deepest open group that owns it, before the
        child group now open there (reading an attribute depends on nothing)."""
        depth = max(i for i, g in enumerate(stack) if not g.path or node.target.startswith(g.path + "."))
        owner = stack[depth]
        at = owner.entries.index(stack[depth + 1]) if depth + 1 < len(stack) else len(owner.entries)
        # a module whose parameters are read but which is never called (Swin V2's qkv,
        # used through F.linear): a group of its own holds them, so the paths stay qkv.weight
        *holders, _ = _relative(node.target, owner.path).split(".")
        for segment in holders:
            found = next((e for e in owner.entries if isinstance(e, Group) and e.segment == segment
                          and e.holder), None)
            if found is None:
                found = Group(f"{owner.path}.{segment}".lstrip("."), segment, holder=True)
                owner.entries.insert(at, found)
                owner.index += 1
            owner, at = found, len(found.entries)
        (text,) = self.lines(node, owner)
        owner.entries.insert(at, (text, node.name))

    def lines(self, node, group) -> list:
        why = self.approximate.get(node.name)
        if why is None:
            try:
                return self.exact(node, group)
            except Lost as e:
                if node.name not in self.approximate:
                    raise Lost(f"{node.name}: {e}") from None
        return [self.traced(node, why)]

    def traced(self, node, why) -> str:
        """The node replaced by what it gave on the traced input (``--approximate``)."""
        seen = self.seen[node.name]
        self.lost.append((node.name, why))
        if seen.is_tensor:
            return f"{self.name(node)} = Buffer({list(seen.shape)})"
        value = _plain(seen.value)
        return f"{self.name(node)} = {literal(value)}"

    def exact(self, node, group) -> list:
        out = self.name(node)
        if node.op == "get_attr":
            return [self.attribute(node, group, out)]
        if node.op == "call_module":
            return self.module(node, group, out)
        if node.op == "call_method":
            receiver, *args = node.args
            if in_place(node):  # x.add_(y) is x = x.add(y): later reads of x see it
                target = self.arg(receiver)
                if not target.isidentifier():
                    raise Lost(f"{node.target} changes a value that is not named")
                self.names[node.name] = target
                return [f"{target} = {target}.{node.target[:-1]}({self.arguments(args, node.kwargs)})"]
            return [f"{out} = {self.arg(receiver)}.{node.target}({self.arguments(args, node.kwargs)})"]
        if node.target is _torch_assert():  # a check: nothing reads its value
            return [self.function(node)]
        if in_place(node):  # _add_shortcut(x, q, ...) changes x: x = _add_shortcut(x, q, ...)
            target = self.arg(node.args[0])
            if not target.isidentifier():
                raise Lost(f"{node.target.__name__} changes a value that is not named")
            self.names[node.name] = target
            return [f"{target} = {self.function(node)}"]
        return [f"{out} = {self.function(node)}"]

    def attribute(self, node, group, out) -> str:
        import torch

        self.read.add(node.target)
        value = attribute_of(self.gm, node.target)
        if not isinstance(value, torch.Tensor):
            raise Lost(f"attribute {node.target} is a {type(value).__name__}, not a tensor")
        kind = "Parameter" if isinstance(value, torch.nn.Parameter) else "Buffer"
        dtype = str(value.dtype).removeprefix("torch.")
        segment = _relative(node.target, group.path)
        group.index += 1
        args = {"shape": list(value.shape)}
        if dtype != "float32":
            args["dtype"] = dtype
        if node.target.startswith("_tensor_constant") or _non_persistent(self.model or self.gm, node.target):
            args["persistent"] = False  # made by fx's trace, or a buffer outside the model's state_dict
        return mapping({"name": segment, "as": out, kind: args if len(args) > 1 else [args["shape"]]})

    def module(self, node, group, out) -> list:
        module = self.gm.get_submodule(node.target)
        kind = layer_name(module)
        segment = _relative(node.target, group.path)
        tensors = [a for a in node.args]
        args = self.arguments(tensors, node.kwargs)
        if node.target in self.calls:  # called again: the same instance
            if self.calls[node.target] is not group and group.path and not node.target.startswith(group.path + "."):
                raise Lost(f"module {node.target} is called again from outside its parent module {group.path}")
            return [f"{out} = {_self_path(segment)}({args})"]
        self.calls[node.target] = group
        ctor = constructor(module, kind)
        simple = len(node.args) == 1 and not node.kwargs
        if simple and segment == str(group.index):
            group.index += 1
            return [f"{out} = {ctor}({args})"]
        if simple:  # one line: the module, named, on its input (zoo style)
            group.index += 1
            return ["{" + f"name: {json.dumps(segment)}, {kind}: {flow(constructor_args(module, kind))}, "
                    f"in: {json.dumps(self.arg(node.args[0]))}, as: {json.dumps(out)}" + "}"]
        if segment.isidentifier() and not keyword.iskeyword(segment):
            return [f"self.{segment} = {ctor}", f"{out} = self.{segment}({args})"]
        raise Lost(f"module {node.target} takes several inputs and is named {segment!r}, "
                   "which the spec cannot declare")

    def function(self, node) -> str:
        fn, args, kwargs = node.target, node.args, node.kwargs
        if fn in BINARY and len(args) == 2 and not kwargs:
            return f"{self.arg(args[0], True)} {BINARY[fn]} {self.arg(args[1], True)}"
        if fn in UNARY and len(args) == 1:
            return f"{UNARY[fn]}{self.arg(args[0], True)}"
        if fn is operator.getitem:
            return f"{self.arg(args[0], True)}[{_index(args[1], self.arg)}]"
        if fn is builtins.getattr and len(args) == 2 and isinstance(args[1], str):
            if args[1] == "device":
                raise Lost(f"{self.arg(args[0])}.device is used for more than a device= argument")
            return f"{self.arg(args[0], True)}.{args[1]}"
        import torch

        if fn is torch._assert:  # fx formatted the model's f-string with its proxies
            args = tuple(re.sub(r"Proxy\(\w+\)", "?", a) if isinstance(a, str) else a for a in args)
            return f"_assert({self.arguments(args, kwargs)})"
        if getattr(fn, "__module__", None) == "builtins" and fn.__name__ in BUILTINS:
            return f"{fn.__name__}({self.arguments(args, kwargs)})"
        return f"{qualified(fn)}({self.arguments(args, kwargs)})"

    # values -----------------------------------------------------------------------------

    def arguments(self, args, kwargs) -> str:
        # device= (a torch.device, or x.device) never changes a shape: dropped (docs/torch.md)
        parts = [self.arg(a) for a in args] + [f"{k}={self.arg(v)}" for k, v in kwargs.items()
                                               if not (k == "device" and _is_device(v))]
        return ", ".join(parts)

    def arg(self, value, operand=False) -> str:
        import torch
        import torch.fx

        if isinstance(value, torch.fx.Node):
            return literal(self.constants[value.name]) if value.name in self.constants else self.name(value)
        if isinstance(value, (list, tuple)):
            inner = ", ".join(self.arg(v) for v in value)
            if isinstance(value, tuple):
                return f"({inner},)" if len(value) == 1 else f"({inner})"
            return f"[{inner}]"
        if isinstance(value, slice):
            return f"slice({self.arg(value.start)}, {self.arg(value.stop)}, {self.arg(value.step)})"
        if isinstance(value, torch.dtype):
            return repr(str(value).removeprefix("torch."))
        if isinstance(value, (torch.device, torch.memory_format, torch.layout)):
            raise Lost(f"the argument {value} (a torch.{type(value).__name__})")
        text = literal(value)
        return f"({text})" if operand and text.startswith("-") else text

    # output -----------------------------------------------------------------------------

    def render(self, header, title, root, inputs, outputs, dropped) -> Imported:
        text, where = render(header, title, root.entries, inputs, outputs)
        return Imported(text, where, dict(self.names), self.lost, dropped, root, inputs, outputs)


def _non_persistent(gm, target: str) -> bool:
    """A buffer its module registered with ``persistent=False``."""
    owner, _, name = target.rpartition(".")
    try:
        module = gm.get_submodule(owner) if owner else gm
    except AttributeError:
        return False
    return name in getattr(module, "_non_persistent_buffers_set", ())


def _torch_assert():
    import torch

    return torch._assert


def _is_device(value) -> bool:
    """A torch.device constant, or a read of a tensor's ``.device`` (fx's getattr node)."""
    import torch
    import torch.fx

    if isinstance(value, torch.device):
        return True
    return (isinstance(value, torch.fx.Node) and value.op == "call_function" and value.target is builtins.getattr
            and len(value.args) == 2 and value.args[1] == "device")


def _device_only(node) -> bool:
    """``x.device`` read for device= arguments only (which the spec drops)."""
    return _is_device(node) and all(
        all(a is not node for a in _flat(list(user.args))) and
        all(v is not node for k, v in user.kwargs.items() if k != "device") for user in node.users)


def _modules(node) -> list:
    """(qualified name, runs again) of the modules whose forward the node runs in,
    outermost first (for a leaf module's call, not the leaf itself)."""
    stack = node.meta.get("nn_module_stack") or {}
    found = [(path, "@" in key) for key, (path, _) in stack.items()]
    if node.op == "call_module" and found and found[-1][0] == node.target:
        found = found[:-1]
    return [(path, again) for path, again in found if path]


def _self_path(relative: str) -> str:
    """``self.conv``, ``self.block.conv``, ``self.features[0]``: a module of the group's
    subtree (``relative``: its qualified name from the group) as the spec reaches it."""
    code = "self"
    for segment in relative.split("."):
        if segment.isdigit():
            code += f"[{segment}]"
        elif segment.isidentifier() and not keyword.iskeyword(segment):
            code += f".{segment}"
        else:
            raise Lost(f"module {relative} is called again, and {segment!r} cannot be named in a spec")
    return code


def _relative(path: str, parent: str) -> str:
    return path[len(parent) + 1:] if parent and path.startswith(parent + ".") else path


def _flat(value) -> list:
    import torch.fx

    if isinstance(value, torch.fx.Node):
        return [value]
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in _flat(v)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _flat(v)]
    return []


def _index(index, arg) -> str:
    """A subscript as Python writes it: ``x[:, 1:-1, None, ...]``."""
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for part in parts:
        if isinstance(part, slice):
            pieces = ["" if v is None else arg(v) for v in (part.start, part.stop, part.step)]
            out.append(":".join(pieces[:2]) + (f":{pieces[2]}" if pieces[2] else ""))
        elif part is Ellipsis:
            out.append("...")
        else:
            out.append(arg(part))
    text = ", ".join(out)
    return text + "," if isinstance(index, tuple) and len(index) == 1 else text


def _plain(value):
    from convcalc.backend.fx_trace import Seen

    if isinstance(value, Seen):
        return _plain(value.value) if not value.is_tensor else None
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value
