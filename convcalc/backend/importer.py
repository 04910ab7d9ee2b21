"""``convcalc import MODULE:CALLABLE``: a spec from a live PyTorch model.

This runs the user's own code (importing MODULE and calling CALLABLE), which is why it is
a command of its own and never happens implicitly. The model is traced with ``torch.fx``;
parallel branches are recovered from the graph (a fork's branches end at the
``torch.cat`` or ``+`` that joins them). What fx cannot trace, or an operation the spec
cannot represent, falls back to forward hooks: the leaf layers in the order they ran,
with a note naming what was lost. Either way the spec is checked against the model
(parameter count and output shape) and any difference is reported.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import operator
import sys
from pathlib import Path

from convcalc.errors import ConvcalcError
from convcalc.ops import REGISTRY, REQUIRED


class Unsupported(Exception):
    """An fx node the spec cannot represent."""


def load_model(target: str):
    """``path/to/file.py:Name`` or ``package.module:factory`` -> an nn.Module instance."""
    import torch

    if ":" not in target:
        raise ConvcalcError(f"{target!r} is not MODULE:CALLABLE", fix="e.g. mynet.py:Net or torchvision.models:resnet18")
    module_name, _, attr = target.rpartition(":")
    try:
        if module_name.endswith(".py") or "/" in module_name:
            path = Path(module_name)
            if not path.is_file() or path.suffix != ".py":
                raise ConvcalcError(f"{module_name}: no such Python file",
                                    fix="give a .py file or an importable module name")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)
        else:
            sys.path.insert(0, str(Path.cwd()))
            module = importlib.import_module(module_name)
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
        model = obj() if not isinstance(obj, torch.nn.Module) else obj
    except ConvcalcError:
        raise
    except Exception as e:  # the user's code: report what it raised, in one line
        raise ConvcalcError(f"importing {target} raised {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    if not isinstance(model, torch.nn.Module):
        raise ConvcalcError(f"{target} gave a {type(model).__name__}, not a torch.nn.Module")
    return model.eval()


def layer_item(module, name: str) -> dict:
    """A spec item for a leaf ``torch.nn`` module, with its non-default arguments."""
    kind = type(module).__name__
    layer = REGISTRY.get(kind)
    if layer is None or not type(module).__module__.startswith("torch.nn"):
        raise Unsupported(f"module {name} ({type(module).__module__}.{kind})")
    args = {}
    for arg, default in layer.signature:
        if arg == "bias" and "bias" in dict(layer.signature):
            value = getattr(module, "bias", None) is not None
            if kind.startswith(("BatchNorm", "InstanceNorm", "GroupNorm")) and not _affine(module):
                continue
        elif hasattr(module, arg):
            value = getattr(module, arg)
        else:
            continue
        value = _plain(value, arg)
        if default is REQUIRED or value != _plain(default, arg):
            args[arg] = value
    return {"name": name, kind: args or None}


def _affine(module) -> bool:
    return bool(getattr(module, "affine", True))


PER_DIM = {"kernel_size", "stride", "padding", "dilation", "output_padding", "output_size"}


def _plain(value, arg: str = ""):
    """Tuples as lists; a per-dimension value that is the same everywhere as one number."""
    if isinstance(value, (tuple, list)):
        value = [_plain(v) for v in value]
        if arg in PER_DIM and value and all(v == value[0] for v in value) and isinstance(value[0], int):
            return value[0]
    return value


def _functional(node) -> dict | None:
    """A spec item for a functional call fx recorded (F.relu, torch.flatten, ...)."""
    import torch
    import torch.nn.functional as F

    fn = node.target
    args, kwargs = node.args[1:], dict(node.kwargs)
    simple = {
        F.relu: "ReLU", torch.relu: "ReLU", "relu": "ReLU", F.relu6: "ReLU6",
        torch.sigmoid: "Sigmoid", F.sigmoid: "Sigmoid", "sigmoid": "Sigmoid",
        torch.tanh: "Tanh", F.tanh: "Tanh", "tanh": "Tanh", F.gelu: "GELU", F.silu: "SiLU",
        F.hardswish: "Hardswish", F.hardsigmoid: "Hardsigmoid", F.elu: "ELU", F.mish: "Mish",
    }
    if fn in simple:
        return {simple[fn]: None}
    if fn in (torch.flatten, "flatten"):
        start = args[0] if args else kwargs.get("start_dim", 0 if fn is torch.flatten else 0)
        end = args[1] if len(args) > 1 else kwargs.get("end_dim", -1)
        return {"Flatten": {"start_dim": start, "end_dim": end}}
    if fn in (F.leaky_relu,):
        return {"LeakyReLU": {"negative_slope": args[0] if args else kwargs.get("negative_slope", 0.01)}}
    pools = {F.max_pool1d: "MaxPool1d", F.max_pool2d: "MaxPool2d", F.max_pool3d: "MaxPool3d",
             F.avg_pool1d: "AvgPool1d", F.avg_pool2d: "AvgPool2d", F.avg_pool3d: "AvgPool3d",
             F.adaptive_avg_pool1d: "AdaptiveAvgPool1d", F.adaptive_avg_pool2d: "AdaptiveAvgPool2d",
             F.adaptive_avg_pool3d: "AdaptiveAvgPool3d", F.adaptive_max_pool2d: "AdaptiveMaxPool2d",
             F.dropout: "Dropout", F.softmax: "Softmax", F.log_softmax: "LogSoftmax"}
    if fn in pools:
        kind = pools[fn]
        names = [n for n, _ in REGISTRY[kind].signature]
        bound = dict(zip(names, args))
        bound.update({k: v for k, v in kwargs.items() if k in names})
        if kind == "Dropout":
            bound.pop("inplace", None)
        defaults = dict(REGISTRY[kind].signature)
        args = {k: _plain(v, k) for k, v in bound.items()
                if defaults.get(k, REQUIRED) is REQUIRED or _plain(v, k) != _plain(defaults[k], k)}
        return {kind: args or None}
    return None


def _tensor_inputs(node):
    import torch.fx

    flat = []

    def visit(a):
        if isinstance(a, torch.fx.Node):
            flat.append(a)
        elif isinstance(a, (list, tuple)):
            for x in a:
                visit(x)
        elif isinstance(a, dict):
            for x in a.values():
                visit(x)

    visit(node.args)
    visit(node.kwargs)
    return flat


def _is_join(node):
    import torch

    if node.op == "call_function" and node.target in (torch.cat, torch.concat):
        return "concat"
    if (node.op == "call_function" and node.target in (operator.add, operator.iadd, torch.add)) or (
            node.op == "call_method" and node.target in ("add", "add_")):
        return "add"
    return None


def from_graph(model, graph) -> list:
    """The fx graph as spec items: sequences, and branches between a fork and its join."""
    nodes = [n for n in graph.nodes]
    order = {n: i for i, n in enumerate(nodes)}
    (start,) = [n for n in nodes if n.op == "placeholder"][:1] or [None]
    (end,) = [n.args[0] for n in nodes if n.op == "output"]
    descendants: dict = {}

    def below(n):
        if n not in descendants:
            found = {n}
            for u in n.users:
                found |= below(u)
            descendants[n] = found
        return descendants[n]

    def users(n):
        return [u for u in n.users if not (u.op == "call_method" and u.target == "size")]

    seen_names: dict = {}

    def unique(name: str) -> str:
        """A module called twice (torchvision's shared self.relu) gets name, name_2, ..."""
        seen_names[name] = seen_names.get(name, 0) + 1
        return name if seen_names[name] == 1 else f"{name}_{seen_names[name]}"

    def item(n, prev):
        if n.op == "call_module":
            return layer_item(model.get_submodule(n.target), unique(n.target.replace(".", "_")))
        if n.op == "call_method" and n.target in ("view", "reshape") and len(n.args) == 3 and n.args[2] == -1:
            first = n.args[1]
            if getattr(first, "op", None) == "call_method" and first.target == "size" and first.args[1:] == (0,):
                return {"Flatten": None}
        if n.op in ("call_function", "call_method"):
            found = _functional(n)
            if found is not None and _tensor_inputs(n)[:1] == [prev]:
                return found
        raise Unsupported(f"{n.op} {getattr(n.target, '__name__', n.target)} ({n.name})")

    def chain(current, stop) -> list:
        items = []
        while current is not stop:
            nexts = users(current)
            if not nexts:
                raise Unsupported(f"value {current.name} is not used on the way to the output")
            if len(nexts) == 1 and not _is_join(nexts[0]):
                items.append(item(nexts[0], current))
                current = nexts[0]
                continue
            common = set.intersection(*(below(u) for u in nexts))
            join = min(common, key=order.__getitem__) if common else None
            kind = join is not None and _is_join(join)
            if not kind:
                raise Unsupported(f"the fork after {current.name} does not end in a cat or an add")
            inputs = _tensor_inputs(join)
            branches = [[] if e is current else chain_to(current, e) for e in inputs]
            entry = {kind: branches}
            if kind == "concat":
                dim = join.kwargs.get("dim", join.args[1] if len(join.args) > 1 else 0)
                entry["dim"] = dim
            items.append(entry)
            current = join
        return items

    def chain_to(current, target):
        nexts = [u for u in users(current) if target in below(u)]
        if len(nexts) != 1:
            raise Unsupported(f"branch from {current.name} to {target.name} forks again before it ends")
        first = nexts[0]
        if _is_join(first) and first is not target:
            raise Unsupported(f"nested join at {first.name}")
        return [item(first, current)] + chain(first, target)

    return chain(start, end)


def from_hooks(model, input_shape) -> tuple[list, list]:
    """The leaf modules in the order they ran (no branches): the fallback. Where a layer's
    input is not the previous layer's output, a flatten is put back when that is what it
    was, and anything else is noted."""
    called, notes, hooks = [], [], []
    names = {m: n for n, m in model.named_modules()}

    def record(m, inputs, out):
        shape_in = tuple(inputs[0].shape) if inputs and hasattr(inputs[0], "shape") else None
        called.append((m, shape_in, tuple(out.shape) if hasattr(out, "shape") else None))

    for module in model.modules():
        if not list(module.children()):
            hooks.append(module.register_forward_hook(record))
    try:
        _forward(model, input_shape)
    finally:
        for h in hooks:
            h.remove()
    items, previous = [], tuple(input_shape)
    for m, shape_in, shape_out in called:
        if shape_in is not None and previous is not None and shape_in != previous:
            flat = _flatten_between(previous, shape_in)
            if flat is not None:
                items.append({"Flatten": {"start_dim": flat}})
            else:
                notes.append(f"before {names[m]} the model turned {list(previous)} into "
                             f"{list(shape_in)} with code the spec cannot represent")
        try:
            items.append(layer_item(m, names[m].replace(".", "_")))
        except Unsupported as e:
            notes.append(f"left out {e}")
        previous = shape_out
    return items, notes


def _flatten_between(before, after):
    """The ``start_dim`` of a flatten that turns ``before`` into ``after``, if one does."""
    import math

    for start in range(len(before)):
        if tuple(before[:start]) + (math.prod(before[start:]),) == tuple(after):
            return start
    return None


def import_spec(target: str, input_shape) -> tuple[str, list]:
    """A YAML spec for the model, and notes on anything it does not represent."""
    import torch
    import torch.fx

    model = load_model(target)
    notes = []
    try:
        traced = torch.fx.symbolic_trace(model)
        items = from_graph(model, traced.graph)
        method = "torch.fx trace"
    except Unsupported as e:
        notes.append(f"torch.fx: cannot represent {e}; fell back to forward hooks (leaf layers in "
                     "call order, no branches or functional calls)")
        items, more = from_hooks(model, input_shape)
        notes += more
        method = "forward hooks"
    except Exception as e:  # fx cannot trace data-dependent Python
        notes.append(f"torch.fx could not trace the model ({type(e).__name__}: "
                     f"{str(e).splitlines()[0] if str(e) else ''}); fell back to forward hooks")
        items, more = from_hooks(model, input_shape)
        notes += more
        method = "forward hooks"
    name = target.rpartition(":")[2]
    text = _yaml(name, target, method, input_shape, items)
    notes += _verify(text, model, input_shape)
    return text, notes


def _verify(text, model, input_shape) -> list:
    """The spec against the model itself: parameter count and output shape."""

    from convcalc.graph.run import analyse
    from convcalc import spec

    try:
        (doc,) = spec.load_documents(text, "<import>")
        report = analyse(spec.parse_spec(doc, "<import>"))
    except ConvcalcError as e:
        return [f"convcalc cannot evaluate the imported spec: {e}"]
    params = sum(p.numel() for p in model.parameters())
    out = tuple(_forward(model, input_shape).shape)
    notes = []
    if report.totals["params"] != params:
        notes.append(f"the spec has {report.totals['params']:,} parameters, the model {params:,}")
    if report.output_shape != out:
        notes.append(f"the spec outputs {list(report.output_shape)}, the model {list(out)}")
    return notes


def _forward(model, input_shape):
    """The user's model on zeros; what it raises is reported in one line."""
    import torch

    try:
        with torch.no_grad():
            return model(torch.zeros(input_shape))
    except Exception as e:
        raise ConvcalcError(
            f"the model raised {type(e).__name__} on an input of {list(input_shape)}: "
            f"{str(e).splitlines()[0] if str(e) else ''}",
            fix="check --input",
        ) from None


def _yaml(name, target, method, input_shape, items) -> str:
    lines = [f"# Imported by convcalc from {target} ({method}).", f"name: {json.dumps(name)}",
             f"input: {json.dumps(list(input_shape))}", "layers:"]
    lines += _emit(items, 1)
    return "\n".join(lines) + "\n"


def _emit(items, depth) -> list:
    pad = "  " * depth
    out = []
    for it in items:
        key = next(k for k in it if k not in ("name", "dim"))
        if key in ("add", "concat"):
            out.append(f"{pad}- {key}:")
            for branch in it[key]:
                if not branch:
                    out.append(f"{pad}    - []")
                    continue
                sub = _emit(branch, depth + 3)
                out.append(f"{pad}    - {sub[0].strip()}")  # the branch's first item on its dash
                out += sub[1:]
            if key == "concat":
                out.append(f"{pad}  dim: {it['dim']}")
        else:
            out.append(f"{pad}- {json.dumps(it)}")
    return out
