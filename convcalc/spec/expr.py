"""Safe evaluation of the expressions in a spec: constructor calls and argument values.

``Conv2d(1, 6, kernel_size=5, padding=2)`` and ``16 * 5 * 5`` are parsed with ``ast`` and
evaluated over literals, names bound by the enclosing block, and arithmetic, comparison
and conditional operators only. Nothing is imported, no attribute is read, no function is
called: never ``eval``.
"""

from __future__ import annotations

import ast
import operator

from convcalc.errors import SpecError

MAX_SOURCE = 10_000  # characters in one expression
MAX_BITS = 256  # intermediate integers (PyTorch sizes are int64; leave head-room)

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def parse(source: str, what: str = "expression") -> ast.expr:
    if len(source) > MAX_SOURCE:
        raise SpecError(f"{what} is too long ({len(source)} characters, at most {MAX_SOURCE})")
    try:
        return ast.parse(source.strip(), mode="eval").body
    except (SyntaxError, ValueError) as e:
        raise SpecError(f"cannot parse {what} {source!r}: {getattr(e, 'msg', e)}") from None


def evaluate(node: ast.expr, env: dict | None = None):
    """The value of a parsed expression over literals and the names in ``env``."""
    env = env or {}
    return _eval(node, env)


def _eval(node, env):
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float, str, bool)) or node.value is None:
            return node.value
        raise SpecError(f"unsupported literal {node.value!r}")
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        if node.id in ("true", "false"):
            return node.id == "true"
        raise SpecError(f"unknown name {node.id!r}" + _known(env))
    if isinstance(node, (ast.Tuple, ast.List)):
        values = [_eval(e, env) for e in node.elts]
        return tuple(values) if isinstance(node, ast.Tuple) else values
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _eval(node.operand, env)
    if isinstance(node, ast.Subscript):
        container, index = _eval(node.value, env), _eval(node.slice, env)
        if not isinstance(container, (list, tuple)) or isinstance(index, bool) or not isinstance(index, int):
            raise SpecError(f"{ast.unparse(node)!r}: only a list or tuple can be indexed, by an integer")
        if not -len(container) <= index < len(container):
            raise SpecError(f"{ast.unparse(node)!r}: index {index} is out of range")
        return container[index]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _number_op(_UNARY[type(node.op)], _eval(node.operand, env))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left, env), _eval(node.right, env)
        if isinstance(node.op, ast.Pow) and isinstance(right, (int, float)) and abs(right) > 64:
            raise SpecError(f"exponent {right} is too large (at most 64)")
        return _number_op(_BINARY[type(node.op)], left, right)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _COMPARE:
                raise SpecError("only ==, !=, <, <=, >, >= comparisons are allowed")
            right = _eval(comparator, env)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, env) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, env) else node.orelse, env)
    raise SpecError(
        f"unsupported expression {ast.unparse(node)!r}: only literals, block parameters "
        "and arithmetic are allowed"
    )


def _number_op(op, *args):
    for a in args:
        if isinstance(a, bool) or not isinstance(a, (int, float)):
            raise SpecError(f"arithmetic needs numbers, got {a!r}")
    try:
        value = op(*args)
    except (ZeroDivisionError, OverflowError, ValueError) as e:
        raise SpecError(f"arithmetic error: {e}") from None
    if isinstance(value, int) and value.bit_length() > MAX_BITS:
        raise SpecError(f"a number in the spec is too large ({value.bit_length()} bits)")
    if isinstance(value, complex):
        raise SpecError("arithmetic gave a complex number")
    return value


def _known(env) -> str:
    names = sorted(k for k in env if not k.startswith("_"))
    return f" (known: {', '.join(names)})" if names else ""


def parse_call(source: str):
    """``"Conv2d(1, 6, kernel_size=5)"`` -> ``("Conv2d", [arg nodes], {name: node})``.

    A bare name (``"ReLU"``) has no arguments. ``nn.`` and ``torch.nn.`` prefixes are dropped.
    """
    node = parse(source, "layer")
    if isinstance(node, ast.Call):
        func, args, keywords = node.func, node.args, node.keywords
    else:
        func, args, keywords = node, [], []
    name = _dotted(func)
    if name is None:
        raise SpecError(f"cannot read {source!r} as a layer: write Name or Name(arguments)")
    for prefix in ("torch.nn.", "nn."):
        if name.startswith(prefix):
            name = name[len(prefix):]
    if any(isinstance(a, ast.Starred) for a in args) or any(k.arg is None for k in keywords):
        raise SpecError(f"{name}: *args and **kwargs are not supported in a spec")
    return name, list(args), {k.arg: k.value for k in keywords}


def _dotted(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None
