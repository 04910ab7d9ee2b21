"""The torch side of the registered functions: how to run one, and how to write it as code.

By default a function ``name`` is ``torch.name(**bound)`` with torch's own parameter names
(the registry uses them); ``CALLS`` holds the ones that live elsewhere (``F.interpolate``)
or need another form (``x.view(*shape)``, ``x[index]``). Learned tensors are attributes of
their module (``self.class_token``).
"""

from __future__ import annotations

import operator

from convcalc.ops.function import INDEX, OPERAND, TENSOR, TENSORS, VARARGS

# name -> (how torch runs it, how code writes it): "torch" torch.name(kw), "F"
# torch.nn.functional.name(kw), "method" input.name(*varargs, kw), "getitem" input[index],
# "operator:+" input + other, "positional" torch.name(*args) (overloads that refuse keywords),
# "index" torch.name(kw) with the list ``index`` as a long tensor on input's device
# "torchvision" torchvision.ops.name(kw) (or the function's ``origin``) where torchvision is
# installed, else the function's own ``source`` (which exported files define, and call as
# name(kw), its Python values after its tensors dropped); "args" torch.name(*args)
# with a list of tensors spread and trailing defaults dropped (einsum(eq, x, y), max(x, 1));
# "factory" torch.name(*positional, kw) without arguments left unset (arange(5)), on the
# device of the network's first input (a spec's device= never changes a shape: ignored).
# A dtype is a string in a spec ('int64'): torch.int64 here.
CALLS: dict[str, str] = {
    "add": "operator:+", "sub": "operator:-", "mul": "operator:*", "div": "torch",
    "matmul": "operator:@", "getitem": "getitem", "pow": "operator:**",
    "view": "method", "expand": "method", "contiguous": "method", "reshape_as": "method",
    "view_as": "method", "expand_as": "method", "tensor_split": "positional", "index_select": "index",
    "stochastic_depth": "torchvision",
    # ops/reduce.py, nonlinear.py, linalg.py, resize.py
    "mean": "args", "sum": "args", "max": "args", "min": "args", "softmax": "F", "log_softmax": "F",
    "relu": "F", "relu6": "F", "gelu": "F", "silu": "F", "hardswish": "F", "hardsigmoid": "F",
    "leaky_relu": "F", "elu": "F", "mish": "F", "dropout": "F", "layer_norm": "F",
    "linear": "F", "einsum": "args", "interpolate": "F", "pad": "F", "center_crop": "torchvision",
    "pixel_shuffle": "F", "pixel_unshuffle": "F", "adaptive_avg_pool1d": "F",
    "adaptive_avg_pool2d": "F", "adaptive_avg_pool3d": "F", "adaptive_max_pool2d": "F",
    "avg_pool2d": "F", "max_pool2d": "F",
    # ops/conv_functions.py, norm_functions.py, attention_functions.py (torch.batch_norm
    # exists, with another signature: F's is the one the spec binds)
    "conv1d": "F", "conv2d": "F", "conv3d": "F", "batch_norm": "F", "scaled_dot_product_attention": "F",
    "group_norm": "F", "normalize": "F",
    **dict.fromkeys(("to", "type_as", "float", "double", "half", "bfloat16", "long", "int", "short", "char",
                     "byte", "bool"), "method"),
    # ops/swin.py: torchvision.models.swin_transformer's, not in torchvision.ops: their source
    "_patch_merging_pad": "torchvision", "_get_relative_position_bias": "torchvision",
    "shifted_window_attention": "torchvision",
    # ops/mvit.py, ops/swin3d.py: run from their ``origin`` where torchvision is installed
    "_add_rel_pos": "torchvision", "_add_shortcut": "torchvision", "_unsqueeze": "torchvision",
    "_squeeze": "torchvision", "_get_relative_position_bias_3d": "torchvision",
    "_compute_attention_mask_3d": "torchvision", "shifted_window_attention_3d": "torchvision",
    # ops/factories.py: torch.zeros((2, 3), dtype=torch.int64, device=<the network's device>)
    **dict.fromkeys(("zeros", "ones", "empty", "rand", "randn", "full", "arange"), "factory"),
    **dict.fromkeys(("new_zeros", "new_ones", "new_empty", "new_full"), "method"),
}
# "torchvision" functions run from their origin, not torchvision.ops (swin.py's run from
# their source: torchvision.models.swin_transformer's are the same computation)
FROM_ORIGIN = ("torchvision.models.video.",)
OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "@": operator.matmul, "**": operator.pow}


def kind(name: str) -> str:
    return CALLS.get(name, "torch")


def run(torch, ftype, bound: dict, values: dict):
    """Run a function on real tensors: ``bound`` holds value references, ``values`` the
    tensors by value name."""
    args = {}
    for param in ftype.signature:
        value = bound[param.name]
        if param.kind in (TENSOR, OPERAND) and hasattr(value, "name"):
            value = values[value.name]
        elif param.kind == TENSORS:
            value = [values[v.name] for v in value]
        elif param.kind == INDEX:
            value = _index_values(value, values)
        elif param.name == "dtype" and isinstance(value, str):
            value = getattr(torch, value)
        args[param.name] = value
    how = kind(ftype.name)
    if how == "factory":
        positional, keywords = _factory_args(ftype, bound, args)
        if values:
            keywords["device"] = next(iter(values.values())).device
        return getattr(torch, ftype.name)(*positional, **keywords)
    first = ftype.signature[0].name
    if how.startswith("operator:"):
        symbol = how.partition(":")[2]
        if symbol in "+-" and args.get("alpha", 1) != 1:
            return getattr(torch, ftype.name)(**args)
        return OPERATORS[symbol](args[first], args[ftype.signature[1].name])
    if how == "getitem":
        return args[first][args["index"]]
    if how == "method":
        rest = [a for p in ftype.signature[1:] if p.kind == VARARGS for a in args[p.name]]
        if not rest and any(p.kind == VARARGS for p in ftype.signature):
            rest = [()]  # x.view(()): no sizes at all
        kw = {p.name: args[p.name] for p in ftype.signature[1:] if p.kind != VARARGS}
        return getattr(args[first], ftype.name)(*rest, **kw)
    if how == "positional":
        positional, keywords = _positional(ftype, args)
        return getattr(torch, ftype.name)(*positional, **keywords)
    if how == "torchvision":
        out = _torchvision_function(torch, ftype)(**args)
        return out[0] if ftype.values else out  # its tensor, without the values after it
    if how == "args":
        return getattr(torch, ftype.name)(*_spread(ftype, bound, args))
    if how == "index":
        args["index"] = torch.tensor(args["index"], dtype=torch.long, device=args[first].device)
    # a None left at its default is omitted: some overloads refuse it (torch.squeeze(dim=None))
    args = {p.name: args[p.name] for p in ftype.signature
            if not (args[p.name] is None and p.default is None)}
    namespace = torch.nn.functional if how == "F" else torch
    return getattr(namespace, ftype.name)(**args)


def _factory_args(ftype, bound: dict, values: dict) -> tuple:
    """A factory's (positional, keywords): its positional arguments but those left unset
    (arange's end), its keyword-only ones that differ from their defaults, device= left out."""
    from convcalc.ops.factories import UNSET

    positional = [values[p.name] for p in ftype.signature if not p.keyword_only and bound[p.name] is not UNSET]
    keywords = {p.name: values[p.name] for p in ftype.signature
                if p.keyword_only and p.name != "device" and bound[p.name] != p.default}
    return positional, keywords


_COMPILED: dict = {}  # source -> the namespace it defines


def compiled(torch, source: str) -> dict:
    """What a layer's or function's ``source`` defines, run once with torch, nn and F."""
    found = _COMPILED.get(source)
    if found is None:
        found = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional,
                 "__name__": "convcalc_sources"}
        exec(compile(source, "<convcalc source>", "exec"), found)  # noqa: S102 - our own code
        _COMPILED[source] = found
    return found


def _positional(ftype, values: dict, bound: dict | None = None) -> tuple:
    """(positional, keywords) of an overload that refuses its parameters' names: positional
    up to an optional argument left at None, keyword-only ones and those after it by name
    (torch.tensor_split(x, dim=2, indices=(1,)))."""
    bound = values if bound is None else bound
    positional, keywords, skipped = [], {}, False
    for p in ftype.signature:
        unset = p.default is None and bound[p.name] is None
        if unset or p.keyword_only or skipped:
            skipped = skipped or unset
            if not unset:
                keywords[p.name] = values[p.name]
            continue
        positional.append(values[p.name])
    return positional, keywords


def _index_values(index, values):
    """An index with its value references replaced by their tensors."""
    if hasattr(index, "name"):
        return values[index.name]
    if isinstance(index, (tuple, list)):
        return type(index)(values[p.name] if hasattr(p, "name") else p for p in index)
    return index


def _torchvision_function(torch, ftype):
    """torchvision.ops' function ``ftype.name`` (or the one of its ``origin``); without
    torchvision, our equivalent."""
    from convcalc.backend.tvcompat import import_torchvision

    torchvision = import_torchvision()
    if ftype.origin.startswith(FROM_ORIGIN) and torchvision is not None:
        import importlib

        module, _, name = ftype.origin.rpartition(".")
        return getattr(importlib.import_module(module), name)
    found = getattr(getattr(torchvision, "ops", None), ftype.name, None)
    return found if found is not None else compiled(torch, ftype.source)[ftype.name]


def _spread(ftype, bound: dict, values: dict) -> list:
    """``values`` in signature order, a list of tensors spread, the trailing arguments left
    at their defaults dropped (torch.max(x) and torch.max(x, dim) are two overloads)."""
    kept = list(ftype.signature)
    while kept and kept[-1].kind not in (TENSOR, TENSORS) and bound[kept[-1].name] is kept[-1].default:
        kept.pop()
    out = []
    for p in kept:
        if p.kind == TENSORS:
            out.extend(values[p.name])
        else:
            out.append(values[p.name])
    return out


def arguments(call: dict, values: dict) -> dict:
    """A module's forward arguments with value references replaced by tensors."""
    return {k: values[v.name] if hasattr(v, "name") else v for k, v in call.items()}


def call_code(call: dict, local: dict) -> str:
    """A module's forward arguments beyond its input, as code."""
    return "".join(f", {k}={local[v.name] if hasattr(v, 'name') else _literal(v)}"
                   for k, v in call.items())


def code(ftype, bound: dict, local: dict) -> str:
    """The Python expression of a function call, values written as ``local`` names them."""

    def text(param):
        value = bound[param.name]
        if param.kind in (TENSOR, OPERAND) and hasattr(value, "name"):
            return local[value.name]
        if param.kind == TENSORS:
            return "[" + ", ".join(local[v.name] for v in value) + "]"
        if param.name == "dtype" and isinstance(value, str):
            return f"torch.{value}"
        return _literal(value)

    how = kind(ftype.name)
    if how == "factory":
        positional, keywords = _factory_args(ftype, bound, {p.name: text(p) for p in ftype.signature})
        if local:  # on the device of the forward's first input
            keywords["device"] = f"{next(iter(local.values()))}.device"
        return f"torch.{ftype.name}({', '.join([*positional, *(f'{k}={v}' for k, v in keywords.items())])})"
    first = ftype.signature[0]
    if how.startswith("operator:") and bound.get("alpha", 1) == 1:
        return f"{text(first)} {how.partition(':')[2]} {text(ftype.signature[1])}"
    if how == "getitem":
        return f"{text(first)}[{_index(bound['index'], local)}]"
    if how == "method":
        rest = [text(p) if p.kind != VARARGS else ", ".join(map(_literal, bound[p.name])) or "()"
                for p in ftype.signature[1:] if p.kind == VARARGS]
        kw = [f"{p.name}={text(p)}" for p in ftype.signature[1:]
              if p.kind != VARARGS and bound[p.name] != p.default]
        return f"{text(first)}.{ftype.name}({', '.join([r for r in rest if r] + kw)})"
    if how == "positional":
        positional, keywords = _positional(ftype, {p.name: text(p) for p in ftype.signature}, bound)
        return f"torch.{ftype.name}({', '.join([*positional, *(f'{k}={v}' for k, v in keywords.items())])})"
    if how == "args":
        texts = {p.name: [local[v.name] for v in bound[p.name]] if p.kind == TENSORS else text(p)
                 for p in ftype.signature}
        return f"torch.{ftype.name}({', '.join(_spread(ftype, bound, texts))})"
    if how == "torchvision":  # the exported file defines it from ftype.source
        parts = [f"{p.name}={text(p)}" for p in ftype.signature
                 if p.kind in (TENSOR, TENSORS) or bound[p.name] != p.default]
        return f"{ftype.name}({', '.join(parts)}){'[0]' if ftype.values else ''}"
    if how == "index":
        index = f"torch.tensor({_literal(bound['index'])}, dtype=torch.long, device={text(first)}.device)"
        parts = [f"{p.name}={index if p.name == 'index' else text(p)}" for p in ftype.signature]
        return f"torch.{ftype.name}({', '.join(parts)})"
    namespace = "F" if how == "F" else "torch"
    parts = [f"{p.name}={text(p)}" for p in ftype.signature
             if p.kind in (TENSOR, TENSORS) or bound[p.name] != p.default]
    return f"{namespace}.{ftype.name}({', '.join(parts)})"


def _literal(value) -> str:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return f"float({str(value)!r})"  # float('nan'), float('-inf')
    return repr(value)


def _index(index, local) -> str:
    if index == ():
        return "()"
    parts = index if isinstance(index, tuple) else (index,)

    def one(p):
        if isinstance(p, slice):
            text = ":".join("" if v is None else str(v) for v in (p.start, p.stop, p.step))
            return text[:-1] if text.endswith(":") and p.step is None and text.count(":") == 2 else text
        if p is Ellipsis:
            return "..."
        if hasattr(p, "name"):
            return local[p.name]
        return repr(p)

    return ", ".join(map(one, parts)) + ("," if len(parts) == 1 and isinstance(index, tuple) else "")
