"""``convcalc import MODULE:CALLABLE``: a spec from a live PyTorch model, exactly.

This runs the user's own code (importing MODULE and calling CALLABLE), which is why it is
a command of its own and never happens implicitly. The model is traced with ``torch.fx``
(fx_trace), every node becomes an item of the spec (fx_spec), and the spec is verified
against one forward pass of the model before it is written: the parameters of every
module the forward uses, every node's output shape, and each node's MACs against
torch's own FLOP counter. Any node the spec cannot express and any difference is an
error naming the node, its module and the model's source line; ``approximate`` writes
the spec anyway, with what was lost listed in its header.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from pathlib import Path

from convcalc.errors import ConvcalcError


def load_model(target: str):
    """``path/to/file.py:Name`` or ``package.module:factory`` -> an nn.Module instance."""
    import torch

    if ":" not in target:
        raise ConvcalcError(f"{target!r} is not MODULE:CALLABLE", fix="e.g. mynet.py:Net or torchvision.models:resnet18")
    module_name, _, attr = target.rpartition(":")
    try:
        return _load(target, module_name, attr, torch)
    except RuntimeError as e:  # torchvision's CUDA wheel beside a CPU torch (tvcompat)
        if "torchvision::" not in str(e) or "does not exist" not in str(e):
            raise
    from convcalc.backend.tvcompat import import_torchvision

    import_torchvision()
    return _load(target, module_name, attr, torch)


def _load(target, module_name, attr, torch):
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
    except RuntimeError as e:
        if "torchvision::" in str(e) and "does not exist" in str(e) and "torchvision" not in sys.modules:
            raise
        raise ConvcalcError(f"importing {target} raised RuntimeError: {str(e).splitlines()[0] if str(e) else ''}") from None
    except Exception as e:  # the user's code: report what it raised, in one line
        raise ConvcalcError(f"importing {target} raised {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    if not isinstance(model, torch.nn.Module):
        raise ConvcalcError(f"{target} gave a {type(model).__name__}, not a torch.nn.Module")
    return model.eval()


MAX_ROUNDS = 50  # --approximate: nodes replaced one lowering failure at a time


STAGES = 5  # load, trace, run, translate and verify, fold: what advance() counts


def import_spec(target: str, input_shape, approximate: bool = False, dtype: str = "float32",
                flat: bool = False, advance=lambda n=1: None, tracer: str = "auto") -> tuple[str, list]:
    """A YAML spec for the model, verified against it, and notes for the user; folded into
    blocks unless ``flat`` (and only where the folded spec is the same graph).
    ``advance()`` is called after each of the ``STAGES`` (a progress bar). ``tracer``:
    ``fx``, ``export`` or ``auto`` (torch.fx, and torch.export where fx cannot trace)."""
    import torch

    from convcalc.backend import fx_spec, fx_trace

    model = load_model(target)
    advance()
    if isinstance(model, torch.jit.ScriptModule):
        raise ConvcalcError(f"{target} is a TorchScript module, whose Python code is gone; convcalc "
                            "imports an nn.Module by tracing its forward with torch.fx",
                            fix="import the model before torch.jit.script or trace")
    shapes, dtypes = _inputs(input_shape, dtype)
    inputs = [_example(torch, shape, kind) for shape, kind in zip(shapes, dtypes)]
    _arity(model, target, len(inputs))
    gm, traced_by = _trace(model, inputs, tracer)
    advance()
    seen = fx_trace.run(gm, inputs)
    advance()
    name = target.rpartition(":")[2]
    lost: dict = {}
    command = f"convcalc import {target}" + "".join(f" --input {','.join(map(str, s))}" for s in shapes)
    command += "".join(f" --dtype {d}" for d in dict.fromkeys(dtypes) if len(set(dtypes)) > 1 or d != "float32")
    command += f" --tracer {tracer}" if tracer != "auto" else ""
    for _ in range(MAX_ROUNDS):
        header = [f"{name}, imported from {target} by `{command}`: every operation",
                  f"of {traced_by}, verified against the model (parameters, every output shape, MACs)."]
        try:
            imported = fx_spec.translate(gm, seen, header, name, lost, model)
        except fx_spec.Lost as e:
            node = _node(gm, str(e).split(":", 1)[0])
            if not approximate or node is None or node.name in lost:
                raise _refusal(gm, node, str(e).split(": ", 1)[-1] if node else str(e)) from None
            lost[node.name] = str(e).split(": ", 1)[-1]
            continue
        problem = verify(imported, gm, seen, model, input_shape)
        if problem is None:
            break
        node_name, why = problem
        if not approximate or node_name is None or node_name in lost:
            raise _refusal(gm, _node(gm, node_name), why)
        lost[node_name] = why
    else:
        raise ConvcalcError(f"more than {MAX_ROUNDS} operations of {target} cannot be expressed")
    advance()
    text, notes = imported.text, _notes(model, gm)
    if not flat and not imported.lost:
        tensors = {v for n, v in imported.names.items() if n in seen and seen[n].is_tensor}
        text, note = _folded(imported, model, header, name, tensors | set(imported.inputs))
        notes += [note] if note else []
    advance()
    if imported.lost:
        lines = [f"APPROXIMATE: {len(imported.lost)} operations replaced by their traced values:"]
        lines += [f"  {n}{_where(_node(gm, n))}: {why}" for n, why in imported.lost]
        text = "".join(f"# {line}\n" for line in lines) + text.split("\n", 1)[1]
        notes.append(f"{len(imported.lost)} operations were replaced by their traced values "
                     "(listed in the file's header): the spec holds only at this input")
    return text, notes


def _inputs(input_shape, dtype) -> tuple[list, list]:
    """One shape, or several (a model with several inputs), and a dtype for each."""
    shapes = [list(s) for s in input_shape] if input_shape and isinstance(input_shape[0], (list, tuple)) \
        else [list(input_shape)]
    dtypes = [dtype] * len(shapes) if isinstance(dtype, str) else list(dtype)
    if len(dtypes) == 1:
        dtypes *= len(shapes)
    if len(dtypes) != len(shapes):
        raise ConvcalcError(f"{len(dtypes)} dtypes for {len(shapes)} inputs",
                            fix="give one --dtype for every input, or one for all")
    return shapes, dtypes


def _arity(model, target, given: int) -> None:
    """The forward's tensor inputs against the number of ``--input``s."""
    import inspect

    try:
        parameters = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if not len(required) <= given <= len(positional):
        names = ", ".join(p.name for p in positional)
        raise ConvcalcError(f"{target}'s forward takes {len(required)} inputs ({names}); "
                            f"--input gives {given}",
                            fix="give one --input per input, in the forward's order")


TRACERS = ("auto", "fx", "export")


def _trace(model, inputs, tracer):
    """The model as a torch.fx graph, and what made it (for the header)."""
    from convcalc.backend import fx_export, fx_trace

    if tracer == "export":
        return fx_export.trace(model, inputs, "--tracer export"), "torch.export's graph"
    try:
        return fx_trace.trace(model), "torch.fx's trace"
    except fx_trace.Untraceable as e:
        if tracer == "fx":
            raise
        gm = fx_export.trace(model, inputs, e.message)
    return gm, "torch.export's graph (fx cannot trace the model; its sizes are this input's)"


def verify(imported, gm, seen, model, input_shape):
    """The spec against the model: None, or (node name, what differs)."""
    import dataclasses

    from convcalc import spec
    from convcalc.graph.lower import lower
    from convcalc.graph.report import report

    (doc,) = spec.load_documents(imported.text, "<import>")
    parsed = spec.parse_spec(doc, "<import>")
    tensors = [n.name for n in gm.graph.nodes
               if n.name in imported.names and n.op not in ("placeholder", "output")
               and seen[n.name].is_tensor and n.name not in imported.dropped]
    every = dataclasses.replace(parsed, outputs=[*(parsed.outputs or []),
                                                 *(imported.names[n] for n in tensors)])
    try:
        graph = lower(every)
    except ConvcalcError as e:
        found = re.search(r"<import>:(\d+)", str(e))
        node = imported.lines.get(int(found.group(1))) if found else None
        return node, re.sub(r"^<import>:\d+: ", "", e.message)
    for node_name, value in zip([None] * len(parsed.outputs or []) + tensors, graph.outputs):
        if node_name is None:
            continue
        want, got = seen[node_name].shape, graph.shapes[value]
        if tuple(got) != tuple(want):
            return node_name, f"convcalc gives the shape {list(got)}, the model {list(want)}"
    macs: dict = {}
    for op in graph.ops:
        node_name = imported.lines.get(op.line)
        if node_name is not None:
            macs[node_name] = macs.get(node_name, 0) + op.step.macs
    for node_name, count in macs.items():
        torch_macs = seen[node_name].flops // 2
        if count != torch_macs:
            return node_name, f"convcalc counts {count:,} MACs, torch's FLOP counter {torch_macs:,}"
    got = report(graph).totals["params"]
    want = _used_params(gm)
    if got != want:
        return None, f"the spec has {got:,} parameters, the modules the model runs {want:,}"
    return None


def _folded(imported, model, header, name, tensors: set) -> tuple[str, str | None]:
    """The spec folded into blocks, if it lowers to the same graph as the exact one."""
    from convcalc import spec
    from convcalc.backend import fx_blocks, fx_yaml
    from convcalc.graph.lower import lower

    blocks = fx_blocks.fold(imported.root, list(imported.inputs), imported.outputs, model, tensors)
    text, _ = fx_yaml.render(header, name, imported.root.entries, imported.inputs, imported.outputs, blocks)
    graphs = []
    for source in (imported.text, text):
        (doc,) = spec.load_documents(source, "<import>")
        try:
            graphs.append(lower(spec.parse_spec(doc, "<import>")))
        except Exception as e:  # noqa: BLE001 - the folded spec is ours: never worse than flat
            return imported.text, f"kept the spec unfolded: folding it into blocks failed ({e})"
    difference = _difference(*graphs)
    if difference:
        return imported.text, f"kept the spec unfolded: folding it into blocks changed {difference}"
    return text, None


def _difference(a, b) -> str | None:
    """What differs between two graphs (operations, paths, arguments, dataflow, shapes)."""
    if len(a.ops) != len(b.ops):
        return f"the number of operations ({len(a.ops)} -> {len(b.ops)})"
    where_a = {v: (op.path, i) for op in a.ops for i, v in enumerate(op.outputs)}
    where_b = {v: (op.path, i) for op in b.ops for i, v in enumerate(op.outputs)}
    for x, y in zip(a.ops, b.ops):
        if (x.path, x.type, x.module) != (y.path, y.type, y.module):
            return f"{'.'.join(x.path)} ({x.type} -> {'.'.join(y.path)} {y.type})"
        if _plain(x.args, where_a) != _plain(y.args, where_b):
            return f"the arguments of {'.'.join(x.path)}"
        if [where_a.get(v, v) for v in x.inputs] != [where_b.get(v, v) for v in y.inputs]:
            return f"the inputs of {'.'.join(x.path)}"
        if [a.shapes[v] for v in x.outputs] != [b.shapes[v] for v in y.outputs]:
            return f"the shape of {'.'.join(x.path)}"
    if [where_a.get(v, v) for v in a.outputs] != [where_b.get(v, v) for v in b.outputs]:
        return "the outputs"
    return None


def _plain(value, where):
    """Arguments with tensors as the operation that made them."""
    if hasattr(value, "shape") and hasattr(value, "name"):
        return ("tensor", where.get(value.name, value.name))
    if isinstance(value, dict):
        return {k: _plain(v, where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v, where) for v in value)
    return repr(value)


def _used_params(gm) -> int:
    """Parameters of the modules the graph calls and the tensors it reads, each once."""
    import torch

    from convcalc.backend import fx_trace

    found = {}
    for node in gm.graph.nodes:
        if node.op == "call_module":
            found.update((id(p), p.numel()) for p in gm.get_submodule(node.target).parameters())
        elif node.op == "get_attr":
            value = fx_trace.attribute_of(gm, node.target)
            if isinstance(value, torch.nn.Parameter):
                found[id(value)] = value.numel()
    return sum(found.values())


def _notes(model, gm) -> list:
    """Modules the forward never calls (GoogLeNet's auxiliary heads in eval mode)."""
    total = sum(p.numel() for p in model.parameters())
    used = _used_params(gm)
    if total == used:
        return []
    called = {n.target for n in gm.graph.nodes if n.op in ("call_module", "get_attr")}
    unused = [name for name, m in model.named_children()
              if not any(c == name or c.startswith(name + ".") for c in called)
              and any(True for _ in m.parameters())]
    shown = ", ".join(unused[:5]) + (" ..." if len(unused) > 5 else "")
    return [f"{total - used:,} of the model's {total:,} parameters belong to modules its "
            f"forward does not run at this input{f' ({shown})' if shown else ''}; the spec leaves them out"]


def _node(gm, name):
    return next((n for n in gm.graph.nodes if n.name == name), None) if name else None


def _where(node) -> str:
    """`` (in layer1.0, resnet.py:92 `out += identity`)``: the node's module and source line."""
    from convcalc.backend import fx_trace

    if node is None:
        return ""
    stack = node.meta.get("nn_module_stack") or {}
    module = next(reversed(stack.values()))[0] if stack else ""
    parts = [p for p in (f"in {module}" if module else "", fx_trace.source_line(node)) if p]
    return f" ({', '.join(parts)})" if parts else ""


def _refusal(gm, node, why) -> ConvcalcError:
    where = f"node {node.name}{_where(node)}: " if node is not None else ""
    return ConvcalcError(f"cannot import exactly: {where}{why}",
                         fix="pass --approximate to write the spec with such operations "
                         "replaced by their traced values")


def _example(torch, shape, dtype):
    if dtype == "float32":
        return torch.randn(shape)
    return torch.zeros(shape, dtype=getattr(torch, dtype))
