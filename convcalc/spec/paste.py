"""Pasted PyTorch text -> spec documents, beside YAML specs.

- The text of ``print(model)`` for a model built from ``nn.Sequential``s: its tree of
  ``(name): Module(...)`` lines becomes a spec whose items are named as the modules, so
  every path in the table is the module's name (``features.0``). Any other container is
  refused: print(model) shows a custom module's children but not its ``forward``, so how
  they connect is not in the text (``convcalc import`` reads the model itself).
- A bare YAML list of layers: the ``layers:`` of a spec whose input is ``--input``.
- One pasted line (``(conv1): Conv2d(3, 64, kernel_size=(7, 7), bias=False)``,
  ``self.conv1 = nn.Conv2d(3, 64, 7),``): its module name and the call. print(model) writes
  some strings bare (``padding=same``, ``padding_mode=reflect``); they read as strings.

PyYAML is imported only for YAML text (through ``convcalc.spec.load``).
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field

from convcalc.errors import SpecError
from convcalc.spec.load import Located, LocatedDict

# ``(features): Sequential(``, ``(0): Conv2d(3, 64, kernel_size=(3, 3))``, ``VGG(``
HEADER = re.compile(r"(?:\((?P<key>[^()]*)\):\s*)?(?P<cls>[A-Za-z_][\w.]*)\((?P<rest>.*)$")
PASTED_NAME = re.compile(r"^\s*(?:\((?P<key>[^()]*)\):\s*|self\.(?P<attr>[A-Za-z_]\w*)\s*=(?!=)\s*)")
CONTAINERS = ("Sequential",)  # the containers whose forward is their children in order
TENSOR_NAMES = ("x", "_")  # a pasted line's input, by name
EXAMPLE_INPUT = "--input 1,3,224,224"
IMPORT_HINT = ("use convcalc import MODULE:CALLABLE --input SHAPE instead, which traces the "
               "model itself (docs/torch.md)")


def documents(text: str, source: str, input_shape=None) -> list:
    """The spec documents in ``text``: YAML (a bare list of layers wrapped as ``layers:``)
    or the text of ``print(model)``. Each is plain data, or the SpecError that stops it."""
    if is_printed_model(text):
        try:
            return [printed_model(text, source, input_shape)]
        except SpecError as e:
            return [e]
    from convcalc.spec.load import load_documents

    return [_wrap_list(doc, source, input_shape) if isinstance(doc, list) else doc
            for doc in load_documents(text, source)]


def _wrap_list(layers: list, source: str, input_shape):
    line = (getattr(layers, "lines", None) or [1])[0]
    if input_shape is None:
        return SpecError(f"{source}:{line}: a bare list of layers has no input shape",
                         fix=f"pass {EXAMPLE_INPUT}, or write a mapping with input: and layers:")
    return _mapping(line, layers=layers)


# print(model) --------------------------------------------------------------------------


def is_printed_model(text: str) -> bool:
    """Whether ``text`` reads as print(model): its first line is ``Module(`` or a module's
    one-line repr, which no spec begins with (a spec is a mapping or a list)."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            found = HEADER.fullmatch(stripped)
            return found is not None and found["key"] is None
    return False


@dataclass
class _Module:
    key: str | None
    cls: str
    line: int
    call: str | None = None  # a one-line module: "Conv2d(3, 64, kernel_size=(3, 3))"
    children: list = field(default_factory=list)
    extra: list = field(default_factory=list)  # a multi-line module's extra_repr lines


def _tree(text: str, source: str) -> _Module:
    """The module tree of print(model)'s text: a line ``(key): Cls(`` opens a module whose
    children follow, up to its line ``)``; ``(key): Cls(args)`` is a module on one line."""
    stack: list[_Module] = []
    root = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if root is not None and not stack:
            raise SpecError(f"{source}:{number}: text after the model's closing ')': {line!r}",
                            fix="paste the output of one print(model)")
        if line == ")":
            if not stack:
                raise SpecError(f"{source}:{number}: ')' closes no module")
            done = stack.pop()
            if not stack:
                root = done
            continue
        found = HEADER.fullmatch(line)
        if stack and (found is None or found["key"] is None):
            stack[-1].extra.append(line)  # a container's own extra_repr
            continue
        if found is None or (not stack and found["key"] is not None):
            raise SpecError(f"{source}:{number}: cannot read {line!r} as a line of print(model)",
                            fix="lines look like (name): Module(arguments)")
        module = _Module(found["key"], found["cls"], number)
        if found["rest"]:
            module.call = f"{found['cls']}({found['rest']}"
        if stack:
            stack[-1].children.append(module)
        if found["rest"]:
            if not stack:
                root = module
        else:
            stack.append(module)
    if stack:
        raise SpecError(f"{source}:{stack[-1].line}: {stack[-1].cls}( is never closed",
                        fix="paste the whole output of print(model)")
    if root is None:
        raise SpecError(f"{source}: empty spec")
    return root


def printed_model(text: str, source: str, input_shape=None) -> LocatedDict:
    """A spec document from the text of print(model)."""
    root = _tree(text, source)
    if input_shape is None:
        raise SpecError(f"{source}: the text of print(model) has no input shape",
                        fix=f"pass the input, e.g. {EXAMPLE_INPUT}")
    if root.call is None:
        _check_container(root, source)
        layers = _items(root.children, source)
    elif _empty_sequential(root):
        layers = _located([], [])
    else:
        layers = _items([root], source)
    return _mapping(root.line, name=root.cls, layers=layers)


def _check_container(module: _Module, source: str) -> None:
    if module.cls.rsplit(".", 1)[-1] in CONTAINERS:
        if module.extra:
            raise SpecError(f"{source}:{module.line}: {module.cls} has lines that are not "
                            f"modules: {module.extra[0]!r}")
        return
    raise SpecError(
        f"{source}:{module.line}: {module.cls} is not an nn.Sequential: its forward is not "
        "visible in print(model) (only its submodules are), so how they connect cannot be "
        "read from the text",
        fix=IMPORT_HINT,
    )


def _empty_sequential(module: _Module) -> bool:
    return module.call is not None and module.cls.rsplit(".", 1)[-1] in CONTAINERS and \
        module.call.endswith("()")


def _items(children: list, source: str) -> Located:
    items = []
    for position, child in enumerate(children):
        if child.call is None:
            _check_container(child, source)
            items.append(_mapping(child.line, name=child.key, layers=_items(child.children, source)))
        elif _empty_sequential(child):
            items.append(_mapping(child.line, name=child.key, layers=_located([], [])))
        else:
            items.append(_leaf(child, position, source))
    return _located(items, [c.line for c in children])


def _leaf(module: _Module, position: int, source: str):
    """A one-line module: its call as written when its name is its position (the default
    path), else ``{name: key, Cls: {argument: value}}`` with the arguments by name."""
    try:
        node = clean_call(module.call)
    except SpecError as e:
        raise SpecError(f"{source}:{module.line}: {e.message}", fix=e.fix) from None
    if module.key in (None, str(position)):
        return ast.unparse(node)
    cls = module.cls.rsplit(".", 1)[-1]
    kwargs = {k.arg: _literal(k.value, module, source) for k in node.keywords}
    if node.args:
        from convcalc.ops import REGISTRY

        layer = REGISTRY.get(cls)
        if layer is None:  # the lowering names the unknown layer and suggests one
            return _mapping(module.line, name=module.key, **{cls: None})
        names = [n for n, _ in layer.signature][: layer.positional]
        if len(node.args) > len(names):
            raise SpecError(f"{source}:{module.line}: {cls} takes at most {len(names)} positional "
                            f"arguments, got {len(node.args)}")
        for name, arg in zip(names, node.args):
            if name in kwargs:
                raise SpecError(f"{source}:{module.line}: {cls}: got multiple values for {name!r}")
            kwargs[name] = _literal(arg, module, source)
    body = _mapping(module.line, kwargs) if kwargs else None
    return _mapping(module.line, name=module.key, **{cls: body})


def _literal(node, module: _Module, source: str):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        raise SpecError(f"{source}:{module.line}: {module.cls}: cannot read the argument "
                        f"{ast.unparse(node)!r}") from None


# One pasted line -----------------------------------------------------------------------


def pasted_line(text: str) -> tuple[str | None, str]:
    """``(conv1): Conv2d(...)``, ``self.conv1 = nn.Conv2d(...),`` or ``nn.Conv2d(...)`` ->
    (the module's name or None, the call with print(model)'s bare strings quoted)."""
    text = text.strip()
    name = None
    found = PASTED_NAME.match(text)
    if found:
        name = found["key"] or found["attr"]
        text = text[found.end():]
    text = text.rstrip().removesuffix(",").rstrip()  # a line copied out of nn.Sequential(...)
    try:
        node = clean_call(text, keep=TENSOR_NAMES)
    except SpecError:
        return name, text  # not a plain call (h = x + y): the spec reads it as it is
    return name, ast.unparse(node)


def clean_call(text: str, keep: tuple = ()) -> ast.Call:
    """``Conv2d(3, 3, 3, padding=same)`` -> its ast with ``padding='same'``: print(model)
    writes some string arguments without quotes. Names in ``keep`` stay names."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError) as e:
        raise SpecError(f"cannot read {text!r} as a module: {getattr(e, 'msg', e)}") from None
    if not isinstance(node, ast.Call):
        raise SpecError(f"cannot read {text!r} as a module: write Name(arguments)")
    for keyword in node.keywords:
        keyword.value = _quote_names(keyword.value, keep)
    return node


def _quote_names(node, keep):
    if isinstance(node, ast.Name) and node.id not in keep:
        if node.id in ("inf", "nan"):
            return ast.Constant(float(node.id))
        return ast.Constant(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Name) and node.operand.id == "inf":
        return ast.Constant(-math.inf if isinstance(node.op, ast.USub) else math.inf)
    if isinstance(node, (ast.Tuple, ast.List)):
        node.elts = [_quote_names(e, keep) for e in node.elts]
    return node


# Plain data with source lines, as convcalc.spec.load makes it --------------------------


def _located(values: list, lines: list) -> Located:
    out = Located(values)
    out.lines = list(lines)
    return out


def _mapping(line: int, values: dict | None = None, **more) -> LocatedDict:
    out = LocatedDict({**(values or {}), **more})
    out.line = line
    out.key_lines = {k: line for k in out}
    return out
