"""The torch side of the registered functions: how to run one, and how to write it as code.

By default a function ``name`` is ``torch.name(**bound)`` with torch's own parameter names
(the registry uses them); ``CALLS`` holds the ones that live elsewhere (``F.interpolate``)
or need another form (``x.view(*shape)``, ``x[index]``). Learned tensors are attributes of
their module (``self.class_token``).
"""

from __future__ import annotations

import operator

from convcalc.ops.function import OPERAND, TENSOR, TENSORS, VARARGS

# name -> (how torch runs it, how code writes it): "torch" torch.name(kw), "F"
# torch.nn.functional.name(kw), "method" input.name(*varargs, kw), "getitem" input[index],
# "operator:+" input + other
CALLS: dict[str, str] = {
    "add": "operator:+", "sub": "operator:-", "mul": "operator:*", "div": "torch",
    "matmul": "operator:@", "getitem": "getitem",
}
OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "@": operator.matmul}


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
        args[param.name] = value
    how = kind(ftype.name)
    first = ftype.signature[0].name
    if how.startswith("operator:"):
        symbol = how.partition(":")[2]
        if symbol in "+-" and args.get("alpha", 1) != 1:
            return getattr(torch, ftype.name)(**args)
        return OPERATORS[symbol](args[first], args["other"])
    if how == "getitem":
        return args[first][args["index"]]
    if how == "method":
        rest = [a for p in ftype.signature[1:] if p.kind == VARARGS for a in args[p.name]]
        kw = {p.name: args[p.name] for p in ftype.signature[1:] if p.kind != VARARGS}
        return getattr(args[first], ftype.name)(*rest, **kw)
    namespace = torch.nn.functional if how == "F" else torch
    return getattr(namespace, ftype.name)(**args)


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
        return _literal(value)

    how = kind(ftype.name)
    first = ftype.signature[0]
    if how.startswith("operator:") and bound.get("alpha", 1) == 1:
        return f"{text(first)} {how.partition(':')[2]} {text(ftype.signature[1])}"
    if how == "getitem":
        return f"{text(first)}[{_index(bound['index'], local)}]"
    if how == "method":
        rest = [text(p) if p.kind != VARARGS else ", ".join(map(_literal, bound[p.name]))
                for p in ftype.signature[1:] if p.kind == VARARGS]
        kw = [f"{p.name}={text(p)}" for p in ftype.signature[1:]
              if p.kind != VARARGS and bound[p.name] != p.default]
        return f"{text(first)}.{ftype.name}({', '.join([r for r in rest if r] + kw)})"
    namespace = "F" if how == "F" else "torch"
    parts = [f"{p.name}={text(p)}" for p in ftype.signature
             if p.kind in (TENSOR, TENSORS) or bound[p.name] != p.default]
    return f"{namespace}.{ftype.name}({', '.join(parts)})"


def _literal(value) -> str:
    if isinstance(value, float) and value != value:
        return "float('nan')"
    return repr(value)


def _index(index, local) -> str:
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
