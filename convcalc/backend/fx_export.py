"""A model torch.fx cannot trace, through ``torch.export``: its ATen graph regrouped into
the graph torch.fx would have given, so that the rest of the importer reads it unchanged.

torch.fx traces Python with proxies and stops at code that branches on a size it cannot
know (segmentation_models_pytorch's FPN checks ``if h % output_stride != 0``);
``torch.export`` runs the code with the example's real sizes and records ATen operations.
This module turns that record back into torch.fx's vocabulary:

- the operations of one call of a layer convcalc knows (read off each node's
  ``nn_module_stack``) become one ``call_module`` of the model's own submodule;
- every other operation becomes the torch function or tensor method it came from
  (``aten.add.Tensor`` -> ``+``, ``aten.upsample_nearest2d.vec`` -> ``F.interpolate``,
  ``aten.add_.Tensor`` -> ``x.add_(y)``); parameters read outside a layer are ``get_attr``;
- sizes are the example's (the export is static), so the graph begins with one
  ``_assert`` per input dimension: the spec refuses any other input rather than compute
  with numbers that were the example's.

The regrouped graph is checked before it is used: run on the example it gives the
model's output, and torch's FLOP counter counts the same over both.
"""

from __future__ import annotations

import builtins
import contextlib
import inspect
import io
import logging
import operator

from convcalc.backend.fx_trace import Untraceable, layer_name, no_fastpath, source_line, user_line

MESSAGE = "torch.export traced the model at {shape}: the spec holds at that input only"


def trace(model, inputs: list, why_not_fx: str):
    """``model`` as a torch.fx GraphModule made from ``torch.export``'s graph at ``inputs``."""
    import torch

    leaves = _leaves(model)
    quiet = logging.root.manager.disable
    logging.disable(logging.CRITICAL)  # export logs and prints its graph when it fails
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:  # each layer's call with its arguments and results, as the layer received them
                exported = torch.export.export(model, tuple(inputs), strict=False,
                                               preserve_module_call_signature=tuple(leaves))
            except Exception:  # noqa: BLE001 - then each layer's inputs are read off the graph
                exported = torch.export.export(model, tuple(inputs), strict=False)
    except Exception as e:  # noqa: BLE001 - the user's model: say what stopped it, in one line
        first = (str(e).strip().splitlines() or [""])[0]
        where = user_line(e) if user_line(e) not in why_not_fx else ""
        raise Untraceable(f"{why_not_fx}; torch.export cannot trace it either{where}: "
                          f"{type(e).__name__}: {first}",
                          fix="fx and torch.export trace Python control flow only on sizes, "
                              "not on tensor values") from None
    finally:
        logging.disable(quiet)
    try:
        gm = Regrouper(model, exported, leaves).run(inputs)
    except KeyError as e:  # a value read before the graph made it: not a layer's call as seen
        raise Untraceable(f"torch.export's graph cannot be regrouped into the model's layers "
                          f"(value {e} read outside the call that made it)") from None
    _same(model, gm, inputs)
    return gm


def _leaves(model) -> set:
    """The qualified names of the layers convcalc knows, outside any other such layer."""
    found: set = set()
    for path, module in model.named_modules():
        if path and not any(path.startswith(p + ".") for p in found) and layer_name(module) is not None:
            found.add(path)
    return found


class Regrouper:
    def __init__(self, model, exported, leaves):
        import torch.fx

        self.model, self.exported, self.leaves = model, exported, leaves
        self.graph = torch.fx.Graph()
        self.env: dict = {}
        self.attrs: dict = {}  # placeholder name -> the model attribute it is (qualified name)
        self.users: list = []
        self.signatures = {e.fqn: e.signature for e in exported.module_call_graph
                           if e.signature is not None and e.fqn.partition("@")[0] in leaves}
        self.nodes = {n.name: n for n in exported.graph.nodes}
        self.calls: dict = {}  # export node -> the layer call (fqn) whose work it is
        self.last: dict = {}  # fqn -> the call's last node: where it is emitted

    def run(self, inputs):
        import torch.fx

        nodes = list(self.exported.graph.nodes)
        self._signature()
        self._interiors(nodes)
        position = 0
        while position < len(nodes):
            node = nodes[position]
            position += 1
            if node.op == "placeholder":
                if node.name not in self.attrs:
                    self.env[node] = self.graph.placeholder(node.name)
                    self.users.append(self.env[node])
            elif node.op == "output":
                self.graph.output(self._map(node.args[0][0] if len(node.args[0]) == 1 else node.args[0]))
            elif node in self.calls:
                if self.last[self.calls[node]] is node:
                    self._call(self.calls[node], node)
            elif (leaf := self._leaf(node)) is not None and _fqn(*leaf) in self.signatures:
                continue  # work inside a layer that its results do not need: the call stands for it
            elif leaf is not None:  # no signature: the call's values read off the graph
                run = [node]
                while position < len(nodes) and nodes[position] not in self.calls and self._leaf(nodes[position]) == leaf:
                    run.append(nodes[position])
                    position += 1
                self._module(run, leaf)
            else:
                self._function(node)
        self._pin(inputs)
        self.graph.lint()
        return torch.fx.GraphModule(self.model, self.graph, type(self.model).__name__)

    def _interiors(self, nodes):
        """Each layer call's nodes: what its results were computed from, back to its
        arguments (whatever module stack export gave them)."""
        order = {n: i for i, n in enumerate(nodes)}
        for fqn, signature in self.signatures.items():
            stop = {a.name for a in signature.inputs if hasattr(a, "name")}
            work = [self.nodes[a.name] for a in signature.outputs if getattr(a, "name", None) in self.nodes]
            inside: set = set()
            while work:
                node = work.pop()
                if node in inside or node.name in stop or node.op == "placeholder":
                    continue
                inside.add(node)
                work.extend(node.all_input_nodes)
            if inside:
                self.calls.update((n, fqn) for n in inside)
                self.last[fqn] = max(inside, key=order.__getitem__)

    def _call(self, fqn, node):
        """One layer call, with the arguments and results its signature records."""
        from torch.utils import _pytree

        signature = self.signatures[fqn]
        values = []
        for argument in signature.inputs:
            name = getattr(argument, "name", "")
            if name in self.nodes:
                values.append(self._map(self.nodes[name]))
            elif hasattr(argument, "value"):
                values.append(argument.value)
            else:
                raise Untraceable(f"torch.export's graph: module {fqn} takes a {type(argument).__name__} "
                                  "convcalc cannot read")
        args, kwargs = _pytree.tree_unflatten(values, signature.in_spec)
        path = fqn.partition("@")[0]
        call = self.graph.call_module(path, tuple(args), dict(kwargs))
        key = next((k for k, (p, _) in (node.meta.get("nn_module_stack") or {}).items()
                    if p == path), None)
        self._meta(call, node, key)
        self._bind(_pytree.tree_unflatten(list(signature.outputs), signature.out_spec), call)

    def _bind(self, structure, value):
        """The results of a layer call: a tensor, or tuples of them (read with getitem)."""
        if isinstance(structure, (tuple, list)):
            for i, part in enumerate(structure):
                if any(getattr(a, "name", None) in self.nodes for a in _leaves_of(part)):
                    item = self.graph.call_function(operator.getitem, (value, i))
                    # read in the caller: the call's module stack without the layer itself
                    stack = dict(value.meta.get("nn_module_stack") or {})
                    if value.op == "call_module" and stack:
                        stack.popitem()
                    item.meta.update(value.meta, nn_module_stack=stack)
                    self._bind(part, item)
        elif getattr(structure, "name", None) in self.nodes:
            self.env[self.nodes[structure.name]] = value

    # the export's inputs -----------------------------------------------------------------

    def _signature(self):
        kinds = {"PARAMETER", "BUFFER", "CONSTANT_TENSOR"}
        for spec in self.exported.graph_signature.input_specs:
            kind = spec.kind.name
            if kind not in kinds and kind != "USER_INPUT":
                raise Untraceable(f"torch.export's graph takes a {kind.lower()} input convcalc cannot read")
            if kind in kinds:
                target = spec.target
                if kind == "CONSTANT_TENSOR":  # made by the trace: a buffer outside the state_dict
                    target = f"_tensor_constant{len([a for a in self.attrs.values() if a.startswith('_tensor_constant')])}"
                    setattr(self.model, target, self.exported.constants[spec.target])
                self.attrs[spec.arg.name] = target

    def _pin(self, inputs):
        """An ``_assert`` of each input's shape, after the placeholders: the sizes in the
        graph are the example's."""
        import torch

        anchor = [n for n in self.graph.nodes if n.op == "placeholder"][-1]
        for placeholder, example in zip(self.users, inputs, strict=False):
            message = MESSAGE.format(shape="x".join(map(str, example.shape)))
            with self.graph.inserting_after(anchor):
                shape = self.graph.call_function(builtins.getattr, (placeholder, "shape"))
            with self.graph.inserting_after(shape):
                same = self.graph.call_function(operator.eq, (shape, tuple(int(n) for n in example.shape)))
            with self.graph.inserting_after(same):
                anchor = self.graph.call_function(torch._assert, (same, message))

    # layers --------------------------------------------------------------------------------

    def _leaf(self, node):
        """(key, path) of the outermost layer convcalc knows whose call ran ``node``."""
        for key, (path, _) in (node.meta.get("nn_module_stack") or {}).items():
            if path in self.leaves:
                return key, path
        return None

    def _module(self, run, leaf):
        key, path = leaf
        inside = set(run)
        inputs = []
        for node in run:
            for read in node.all_input_nodes:
                own = self.attrs.get(read.name, "")
                if read in inside or (own and own.startswith(path + ".")) or read in inputs:
                    continue
                inputs.append(read)
        outputs = [n for n in run if any(u not in inside for u in n.users)]
        module = self.model.get_submodule(path)
        where = f"module {path} ({type(module).__name__})"
        required = [p for p in inspect.signature(module.forward).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(inputs) != len(required) or any(r.name in self.attrs for r in inputs):
            raise Untraceable(f"torch.export's graph: {where} reads {len(inputs)} values where its "
                              f"forward takes {len(required)}; convcalc cannot tell which is which")
        if len(outputs) > 1:
            raise Untraceable(f"torch.export's graph: {where} gives {len(outputs)} values; "
                              "convcalc reads one from a layer called in an exported graph")
        call = self.graph.call_module(path, tuple(self.env[n] for n in inputs))
        self._meta(call, run[-1], key)
        for node in outputs:
            self.env[node] = call

    def _meta(self, new, old, leaf_key=None):
        """torch.fx's module stack (``path`` or ``path@n`` for a module called again) and the
        source line, from the export's."""
        stack = {}
        for key, (path, kind) in (old.meta.get("nn_module_stack") or {}).items():
            stack[_fqn(key, path)] = (path, kind)
            if key == leaf_key:
                break
        new.meta["nn_module_stack"] = stack
        if old.meta.get("stack_trace"):
            new.meta["stack_trace"] = old.meta["stack_trace"]
        for read in new.all_input_nodes:  # a parameter is read where it is first used, as fx has it
            if read.op == "get_attr" and "nn_module_stack" not in read.meta:
                read.meta["nn_module_stack"] = {k: v for k, v in stack.items() if k != leaf_key}

    # everything else ----------------------------------------------------------------------

    def _map(self, value):
        import torch.fx

        if isinstance(value, torch.fx.Node):
            if value not in self.env and value.name in self.attrs:
                self.env[value] = self.graph.get_attr(self.attrs[value.name])
            return self.env[value]
        if isinstance(value, (list, tuple)):
            return type(value)(self._map(v) for v in value)
        if isinstance(value, dict):
            return {k: self._map(v) for k, v in value.items()}
        return value

    def _function(self, node):
        from convcalc.backend import fx_aten

        if node.op != "call_function":
            raise Untraceable(f"torch.export's graph has a {node.op} node ({node.name}) convcalc cannot read")
        found = fx_aten.translate(node)
        if found is None:
            where = source_line(node)
            raise Untraceable(f"torch.export's graph: node {node.name} is {node.target}, an ATen operation "
                              f"convcalc has no torch function for{f' ({where})' if where else ''}")
        if found == "drop":  # a metadata check of the export's own: nothing reads it
            return
        if found == "same":  # an alias or a detach: the value itself
            self.env[node] = self._map(node.args[0])
            return
        kind, target, args, kwargs = found
        new = self.graph.create_node(kind, target, self._map(tuple(args)), self._map(dict(kwargs)))
        self._meta(new, node)
        self.env[node] = new


def _fqn(key: str, path: str) -> str:
    """``layer1.0.relu@1``: the module's name, and which call of it (export's key says)."""
    again = key.rpartition("@")[2] if "@" in key else ""
    return f"{path}@{again}" if again else path


def _leaves_of(structure) -> list:
    if isinstance(structure, (tuple, list)):
        return [leaf for part in structure for leaf in _leaves_of(part)]
    if isinstance(structure, dict):
        return [leaf for part in structure.values() for leaf in _leaves_of(part)]
    return [structure]


def _same(model, gm, inputs):
    """The regrouped graph against the model: the same output and the same FLOPs."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counts, outputs = [], []
    for module in (model, gm):
        counter = FlopCounterMode(display=False)
        try:
            with torch.no_grad(), no_fastpath(), counter:
                outputs.append(module(*inputs))
        except Exception as e:  # noqa: BLE001 - an ATen operation read as the wrong function
            raise Untraceable(f"torch.export's graph, regrouped into torch's layers and functions, "
                              f"does not run: {type(e).__name__}: {(str(e).splitlines() or [''])[0]}") from None
        counts.append(counter.get_total_flops())
    flat = [torch.utils._pytree.tree_leaves(o) for o in outputs]
    close = len(flat[0]) == len(flat[1]) and all(
        not isinstance(a, torch.Tensor) or (a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-5))
        for a, b in zip(*flat))
    if not close or counts[0] != counts[1]:
        what = "output" if not close else f"FLOPs ({counts[1]:,} against {counts[0]:,})"
        raise Untraceable(f"torch.export's graph, regrouped into torch's layers and functions, "
                          f"does not give the model's {what}")
