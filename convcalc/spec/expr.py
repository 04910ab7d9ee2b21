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

MAX_SOURCE = 10_000  # characters in one expression, in every form (call, mapping value, when:)
MAX_DEPTH = 100  # operators and brackets nested inside one another in one expression
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


# String values of torch.nn arguments, and the argument each is usually given to: written
# without quotes (padding=same) they read as unknown names.
STRING_VALUES = {
    **dict.fromkeys(("same", "valid"), "padding"),
    **dict.fromkeys(("zeros", "reflect", "replicate", "circular"), "padding_mode"),
    **dict.fromkeys(("nearest", "bilinear", "bicubic", "trilinear", "linear", "area"), "mode"),
    **dict.fromkeys(("mean", "sum"), "reduction"),
    **dict.fromkeys(("tanh",), "approximate"),
}


def parse(source: str, what: str = "expression") -> ast.expr:
    node = parse_value(source, what)
    if node is None:
        try:
            ast.parse(source.strip(), mode="eval")
        except (SyntaxError, ValueError) as e:
            raise SpecError(f"cannot parse {what} {source!r}: {getattr(e, 'msg', e)}") from None
    return node


def parse_value(source: str, what: str = "expression") -> ast.expr | None:
    """``source`` parsed as an expression, or None when it is not one (a plain string such
    as ``'nearest-exact'``). Every form of expression is held to the same limits, checked
    before and after parsing: ``MAX_SOURCE`` characters and ``MAX_DEPTH`` levels."""
    check_length(source, what)
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None
    except (MemoryError, RecursionError):  # Python's parser on 9,000 nested operators
        raise SpecError(f"{what} is nested too deeply ({len(source)} characters)") from None
    _check_depth(node, what)
    return node


def check_length(source: str, what: str) -> None:
    if len(source) > MAX_SOURCE:
        raise SpecError(f"{what} is too long ({len(source):,} characters, at most {MAX_SOURCE:,})")


def _check_depth(tree: ast.AST, what: str) -> None:
    """Refuse an expression nested deeper than ``MAX_DEPTH`` (the evaluator recurses)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise SpecError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def evaluate(node: ast.expr, env: dict | None = None, tracer=None):
    """The value of a parsed expression over literals and the names in ``env``.

    With a ``tracer`` (the lowering), expressions over tensors are allowed too: calls,
    methods, operators and indexing on a tensor value are handed to it, and it emits the
    operations; ``x.size(2)``, ``x.shape[-1]`` and ``x.ndim`` read the tensor's shape."""
    return _eval(node, env or {}, tracer)


class TensorLike:
    """What the evaluator knows of a tensor value: its shape (sizes may be symbols)."""

    shape: tuple

    def attribute(self, name: str):
        if name == "shape":
            return tuple(self.shape)
        if name == "ndim":
            return len(self.shape)
        raise SpecError(f"a tensor has no attribute {name!r} in a spec")

    def size_method(self, name: str, args: list):
        """``size()``, ``size(d)``, ``dim()``, ``numel()``; None for any other method."""
        if name == "size":
            if not args:
                return tuple(self.shape)
            (d,) = args
            if isinstance(d, bool) or not isinstance(d, int) or not -len(self.shape) <= d < max(len(self.shape), 1):
                raise SpecError(f"size({d!r}): dimension out of range for a {len(self.shape)}-d tensor")
            return self.shape[d]
        if name in ("dim", "ndimension") and not args:
            return len(self.shape)
        if name == "numel" and not args:
            n = 1
            for v in self.shape:
                n *= v
            return n
        return None


def _eval(node, env, tracer=None):
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float, str, bool)) or node.value is None:
            return node.value
        if node.value is Ellipsis and tracer is not None:
            return Ellipsis
        raise SpecError(f"unsupported literal {node.value!r}")
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        if node.id in ("true", "false"):
            return node.id == "true"
        if tracer is not None and node.id in ("None",):
            return None
        if node.id in STRING_VALUES:  # padding=same: a string written without its quotes
            raise SpecError(f"unknown name {node.id!r}",
                            fix=f"quote strings: {STRING_VALUES[node.id]}={node.id!r}")
        raise SpecError(f"unknown name {node.id!r}" + _known(env))
    if isinstance(node, (ast.Tuple, ast.List)):
        values = [_eval(e, env, tracer) for e in node.elts]
        return tuple(values) if isinstance(node, ast.Tuple) else values
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _eval(node.operand, env, tracer)
    if isinstance(node, ast.Slice) and tracer is not None:
        return slice(*(None if n is None else _eval(n, env, tracer) for n in (node.lower, node.upper, node.step)))
    if isinstance(node, ast.Subscript):
        container, index = _eval(node.value, env, tracer), _eval(node.slice, env, tracer)
        if isinstance(container, TensorLike):
            return _untraced(node, tracer).subscript(container, index, node)
        if callable(getattr(container, "spec_attribute", None)) and isinstance(index, int) \
                and not isinstance(index, bool):  # self.features[0], as nn.Sequential indexes
            return container.spec_attribute(str(index))
        if isinstance(container, (list, tuple)) and isinstance(index, slice) and all(
                v is None or (isinstance(v, int) and not isinstance(v, bool))
                for v in (index.start, index.stop, index.step)) and index.step != 0:
            return container[index]  # x.shape[-2:]
        if not isinstance(container, (list, tuple)) or isinstance(index, bool) or not isinstance(index, int):
            raise SpecError(f"{ast.unparse(node)!r}: only a list or tuple can be indexed, by an integer")
        if not -len(container) <= index < len(container):
            raise SpecError(f"{ast.unparse(node)!r}: index {index} is out of range")
        return container[index]
    if isinstance(node, ast.Attribute) and tracer is not None:
        base = _eval(node.value, env, tracer)
        if isinstance(base, TensorLike):
            return base.attribute(node.attr)
        if callable(getattr(base, "spec_attribute", None)):
            return base.spec_attribute(node.attr)
        raise SpecError(f"{ast.unparse(node)!r}: only a tensor's shape and ndim can be read")
    if isinstance(node, ast.Call) and _non_finite(node, env) is not None:  # float('-inf'), as code writes it
        return _non_finite(node, env)
    if isinstance(node, ast.Call) and tracer is not None:
        return _call(node, env, tracer)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        operand = _eval(node.operand, env, tracer)
        if isinstance(operand, TensorLike):
            return _untraced(node, tracer).operator(type(node.op).__name__, [operand], node)
        return _number_op(_UNARY[type(node.op)], operand)
    if isinstance(node, ast.BinOp) and (type(node.op) in _BINARY or isinstance(node.op, ast.MatMult)):
        left, right = _eval(node.left, env, tracer), _eval(node.right, env, tracer)
        if isinstance(left, TensorLike) or isinstance(right, TensorLike):
            return _untraced(node, tracer).operator(type(node.op).__name__, [left, right], node)
        if isinstance(node.op, ast.MatMult):
            raise SpecError(f"{ast.unparse(node)!r}: @ needs tensors")
        if isinstance(node.op, ast.Pow) and isinstance(right, (int, float)) and abs(right) > 64:
            raise SpecError(f"exponent {right} is too large (at most 64)")
        return _number_op(_BINARY[type(node.op)], left, right)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env, tracer)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _COMPARE:
                raise SpecError("only ==, !=, <, <=, >, >= comparisons are allowed")
            right = _eval(comparator, env, tracer)
            result = _compare(op, left, right)
            if result is not True:
                return result
            left = right
        return True
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, env, tracer) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, env, tracer) else node.orelse, env, tracer)
    if isinstance(node, ast.JoinedStr) and tracer is not None:
        return "".join(str(_eval(v.value, env, tracer)) if isinstance(v, ast.FormattedValue)
                       else str(v.value) for v in node.values)
    raise SpecError(
        f"unsupported expression {ast.unparse(node)!r}: only literals, block parameters "
        "and arithmetic are allowed"
    )


def _non_finite(node: ast.Call, env):
    """``float('inf')``, ``float('-inf')``, ``float('nan')``: the numbers without a literal."""
    if isinstance(node.func, ast.Name) and node.func.id == "float" and "float" not in env \
            and not node.keywords and len(node.args) == 1 and isinstance(node.args[0], ast.Constant) \
            and str(node.args[0].value).strip().lower() in ("inf", "-inf", "+inf", "nan"):
        return float(node.args[0].value)
    return None


def _compare(op, left, right):
    """A comparison; over symbolic sizes a sympy relation, which the caller decides."""
    from convcalc.engine.symbolic import is_symbolic

    if is_symbolic(left) or is_symbolic(right):
        import sympy

        relation = {ast.Eq: sympy.Eq, ast.NotEq: sympy.Ne, ast.Lt: sympy.Lt, ast.LtE: sympy.Le,
                    ast.Gt: sympy.Gt, ast.GtE: sympy.Ge}[type(op)](left, right)
        return relation if relation not in (sympy.true, sympy.false) else bool(relation)
    try:
        return bool(_COMPARE[type(op)](left, right))
    except TypeError:
        raise SpecError(f"cannot compare {left!r} ({type(left).__name__}) with {right!r} "
                        f"({type(right).__name__})") from None


def _untraced(node, tracer):
    """The tracer, for an operation on tensors; where none runs (a layer's constructor
    arguments, a block's parameters), a tensor is the wrong kind of value."""
    if tracer is None:
        raise SpecError(f"{ast.unparse(node)!r}: a tensor cannot be used here, only numbers "
                        "(does a block parameter or an argument share a value's name, such as x?)")
    return tracer


def _call(node: ast.Call, env, tracer):
    """A call in a traced expression: a shape method of a tensor, or an operation."""
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        raise SpecError(f"{ast.unparse(node)!r}: *args and **kwargs are not supported in a spec")
    _no_repeated_keyword(ast.unparse(node.func), node.keywords)
    args = [_eval(a, env, tracer) for a in node.args]
    kwargs = {k.arg: _eval(k.value, env, tracer) for k in node.keywords}
    func = node.func
    if isinstance(func, ast.Attribute):
        dotted = _dotted(func)
        if dotted is None or dotted.split(".")[0] in env:  # a method of a value: x.permute(...)
            base = _eval(func.value, env, tracer)
            if isinstance(base, TensorLike):
                found = base.size_method(func.attr, args)
                if found is not None:
                    return found
                return tracer.method(base, func.attr, args, kwargs, node)
            if callable(getattr(base, "spec_attribute", None)):  # self.relu(x)
                return _apply(base.spec_attribute(func.attr), args, kwargs, node)
            raise SpecError(f"{ast.unparse(node)!r}: methods can be called on tensors only")
        return tracer.function(dotted, args, kwargs, node)
    if isinstance(func, ast.Name):
        if func.id in env:
            return _apply(env[func.id], args, kwargs, node)
        return tracer.function(func.id, args, kwargs, node)
    if isinstance(func, ast.Call):  # Conv2d(3, 64, 3)(x): a module applied to values
        return tracer.apply(func, args, kwargs, node, env)
    if isinstance(func, ast.Subscript):  # self.features[0](x)
        return _apply(_eval(func, env, tracer), args, kwargs, node)
    raise SpecError(f"cannot call {ast.unparse(func)!r}")


def _apply(target, args, kwargs, node):
    if callable(getattr(target, "spec_apply", None)):
        return target.spec_apply(args, kwargs, node)
    raise SpecError(f"{ast.unparse(node.func)!r} cannot be called")


def _number_op(op, *args):
    from convcalc.engine.symbolic import is_symbolic

    for a in args:
        if isinstance(a, bool) or not (isinstance(a, (int, float)) or is_symbolic(a)):
            raise SpecError(f"arithmetic needs numbers, got {a!r}")
    try:
        value = op(*args)
    except (ZeroDivisionError, OverflowError, ValueError) as e:
        raise SpecError(f"arithmetic error: {e}") from None
    except TypeError as e:
        raise SpecError(f"arithmetic error: {e}") from None
    if isinstance(value, int) and value.bit_length() > MAX_BITS:
        raise SpecError(f"a number in the spec is too large ({value.bit_length()} bits)")
    if isinstance(value, complex):
        raise SpecError("arithmetic gave a complex number")
    return value


def _known(env) -> str:
    names = sorted(k for k in env if not k.startswith("_"))
    return f" (known: {', '.join(names)})" if names else ""


PREFIXES = ("torch.nn.functional.", "torch.nn.", "torch.", "nn.functional.", "nn.", "F.",
            "torchvision.ops.misc.", "torchvision.ops.", "torchvision.models.swin_transformer.",
            "torchvision.models.video.mvit.", "torchvision.models.")


def strip_prefix(name: str) -> str:
    """``nn.Conv2d`` -> ``Conv2d``, ``F.relu`` -> ``relu``, ``torch.cat`` -> ``cat``."""
    for prefix in PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def parse_item(source: str):
    """An item string -> (assigned names or None, expression node).

    ``Conv2d(1, 6, 5)``, ``h = x + y`` and ``a, b = chunk(2, dim=1)`` read as in a
    ``forward``; ``_`` discards a value. ``self.attn = MultiheadAttention(...)`` declares a
    module, as ``__init__`` does: the assigned names are then the string ``"self.attn"``."""
    check_length(source, "layer")
    try:
        module = ast.parse(source.strip(), mode="exec")
    except (SyntaxError, ValueError) as e:
        raise SpecError(f"cannot parse layer {source!r}: {getattr(e, 'msg', e)}") from None
    except (MemoryError, RecursionError):  # Python's parser on 9,000 nested operators
        raise SpecError(f"layer is nested too deeply ({len(source)} characters)") from None
    _check_depth(module, "layer")
    if len(module.body) != 1 or not isinstance(module.body[0], (ast.Expr, ast.Assign)):
        raise SpecError(f"cannot read {source!r} as a layer: write Name(arguments) or name = expression")
    statement = module.body[0]
    if isinstance(statement, ast.Expr):
        return None, statement.value
    if len(statement.targets) != 1:
        raise SpecError(f"{source!r}: assign to one name, or to a tuple of names")
    target = statement.targets[0]
    if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
            and target.value.id == "self"):
        return f"self.{target.attr}", statement.value  # a declaration, as in __init__
    elements = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
    if not elements or not all(isinstance(e, ast.Name) for e in elements):
        raise SpecError(f"{source!r}: assign to one name, or to a tuple of names")
    names = [e.id for e in elements]
    return (names if isinstance(target, (ast.Tuple, ast.List)) else names[:1]), statement.value


def simple_call(node):
    """``(name, [arg nodes], {name: node})`` when ``node`` is ``Name`` or ``Name(args)`` (a
    layer, a block or a function by name, prefixes such as ``nn.`` dropped), else None."""
    func, args, keywords = (node.func, node.args, node.keywords) if isinstance(node, ast.Call) else (node, [], [])
    name = _dotted(func)
    if name is None:
        return None
    if "." in name:
        stripped = strip_prefix(name)
        if stripped == name or "." in stripped:
            return None  # a method of a value: x.permute(0, 2, 3, 1)
        name = stripped
    if any(isinstance(a, ast.Starred) for a in args) or any(k.arg is None for k in keywords):
        raise SpecError(f"{name}: *args and **kwargs are not supported in a spec")
    _no_repeated_keyword(name, keywords)
    return name, list(args), {k.arg: k.value for k in keywords}


def _no_repeated_keyword(name, keywords) -> None:
    """Python refuses ``f(a=1, a=2)`` when it compiles the call; ``ast.parse`` does not."""
    seen = set()
    for k in keywords:
        if k.arg in seen:
            raise SpecError(f"{name}(): keyword argument repeated: {k.arg}")
        seen.add(k.arg)


def parse_call(source: str):
    """``"Conv2d(1, 6, kernel_size=5)"`` -> ``("Conv2d", [arg nodes], {name: node})``.

    A bare name (``"ReLU"``) has no arguments. ``nn.`` and ``torch.nn.`` prefixes are dropped.
    """
    found = simple_call(parse(source, "layer"))
    if found is None:
        raise SpecError(f"cannot read {source!r} as a layer: write Name or Name(arguments)")
    return found


def _dotted(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None
