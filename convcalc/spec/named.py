"""A module named by its key: ``- conv1: Conv2d(64, 64, 1, bias=False)``, as ``print(model)``
shows ``(conv1): Conv2d(...)``.

The form is told apart from ``{Conv2d: {...}}`` and ``{block: [args]}`` by its value: a
string calling a layer (a registered one, or any CamelCase name, reported as unknown when
lowered, as layers are) or a block of the spec. A key that is a layer or a keyword of the
spec language keeps its own meaning (a module named like one needs ``name:``), and so does
a block given a bare name (``act: Tanh``: the block ``act`` with the string ``Tanh``).
"""

from __future__ import annotations

import ast
import re

from convcalc.errors import SpecError
from convcalc.ops import REGISTRY
from convcalc.spec import expr

NAMED_MODIFIERS = ("in", "as", "when")  # what a named module's mapping may carry besides its key
_CALLEE = re.compile(r"\s*(?:(?P<bind>[\w, ]+?)\s*=(?!=)\s*)?(?P<callee>[A-Za-z_][\w.]*)\s*(?P<call>\(|$)")


def named_module(value: dict, blocks, keywords) -> tuple[str, str] | None:
    """``(name, call string)`` when the one-key mapping ``value`` names a module by its key,
    else None (the mapping keeps its other meanings). ``blocks``: the spec's block names;
    ``keywords``: the structural keys and modifiers."""
    main = [k for k in value if k not in keywords]
    if len(main) != 1:
        return None
    key, body = main[0], value[main[0]]
    if not isinstance(body, str) or isinstance(key, bool) or not isinstance(key, (str, int)):
        return None
    name = str(key)
    if name in keywords or expr.strip_prefix(name) in REGISTRY:
        return None
    found = _CALLEE.match(body[:200])  # the callee is at the start (an expression's length is checked later)
    if found is None:
        return None
    callee = expr.strip_prefix(found["callee"])
    if callee not in blocks and not (callee[:1].isupper() and "." not in callee):
        return None
    if name in blocks and not found["call"]:  # {block: Name}: a block given a string argument
        return None
    return name, body


def check_named(name: str, body: str, value: dict, item, where: str) -> None:
    """Refuse what a named module's mapping cannot hold, in one line (``item``: its value
    parsed as a string item)."""
    extra = [k for k in value if k != name and str(k) != name and k not in NAMED_MODIFIERS]
    if "name" in extra:
        raise SpecError(f"{where}: module {name}: its key is its name already, so name: is not needed",
                        fix=f"write {name}: {body}, or {{name: {name}, ...}} without the key")
    if extra:
        raise SpecError(f"{where}: module {name}: {extra[0]}: does not apply to a module named by its key",
                        fix="a named module takes in:, as: and when:")
    if item.bind:
        raise SpecError(f"{where}: module {name}: the value is the module's constructor, not an "
                        "assignment", fix=f"name its output with as: {item.bind[0]}")
    if item.kind != "call":
        node = item.node
        applied = isinstance(node, ast.Call) and isinstance(node.func, ast.Call) and not node.keywords
        fix = (f"write {{{name}: {ast.unparse(node.func)!r}, in: [{', '.join(map(ast.unparse, node.args))}]}}"
               if applied else None)
        raise SpecError(f"{where}: module {name}: the value must be a layer's constructor or a "
                        "block call, like Conv2d(64, 64, 3)", fix=fix)
