"""The conditions under which a network runs, derived once with a symbol per spatial size.

Lowering with symbolic sizes (``engine.symbolic``) records every check the engine cannot
decide as an assumption (``H >= 29``, ``Eq(400, (16*floor(H/4) - 32)*(floor(W/4) - 2))``):
the network runs at a size exactly when every assumption holds there, because the checks
are recorded in the order they are made and each one is what the concrete lowering would
test at that point. The *exact* sizes (no strided layer drops a pixel) are, likewise,
``in == out × stride`` at every strided convolution and pooling of the symbolic graph.

Each condition is compiled to a small Python function with exact integer arithmetic
(``floor(a/b)`` is ``a // b``), so a range of sizes is answered by integer checks rather
than by one lowering per size. Anything that cannot be compiled faithfully (an assumption
stated in words, a float, a function not listed here) raises ``Undecidable``, and the
caller scans instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from convcalc.engine import symbolic
from convcalc.graph.lower import lower

# The operations whose rules set ``drops`` (ops/conv.py, ops/pool.py, ops/pool_functions.py):
# their receptive-field window carries the stride; tests/test_valid.py checks the list.
DROPPING = re.compile(r"(?:Conv|MaxPool|AvgPool|LPPool)[123]d|(?:max|avg|lp)_pool[123]d")
_BUILTINS = {"min": min, "max": max, "abs": abs}


class Undecidable(Exception):
    """The conditions cannot be derived or evaluated exactly: the sizes must be scanned."""


@dataclass(frozen=True)
class Condition:
    expr: object  # a sympy boolean over the size symbols
    dims: tuple  # the spatial dimensions it reads (indices)
    text: str = ""


@dataclass
class Conditions:
    """The validity and exactness conditions of one network, over ``symbols`` (one per
    spatial dimension)."""

    names: tuple
    symbols: tuple
    valid: list
    exact: list

    @property
    def coupling(self) -> Condition | None:
        """The first condition that reads more than one dimension (None: they are independent)."""
        return next((c for c in (*self.valid, *self.exact) if len(c.dims) > 1), None)

    def per_dim(self, dim: int, exact: bool = False):
        """``f(size) -> bool``: the conditions that read only ``dim``, and those that read no
        size (an op that always drops pixels); the others are ignored."""
        chosen = [c for c in (self.exact if exact else self.valid) if c.dims in ((), (dim,))]
        return self._function(chosen, {self.symbols[dim]: "s"}, "s")

    def diagonal(self, exact: bool = False):
        """``f(size) -> bool``: every condition with every dimension set to ``size``."""
        return self._function(self.exact if exact else self.valid,
                              dict.fromkeys(self.symbols, "s"), "s")

    def full(self, exact: bool = False):
        """``f(s0, s1, ...) -> bool``: every condition, one size per dimension."""
        names = {sym: f"s{i}" for i, sym in enumerate(self.symbols)}
        return self._function(self.exact if exact else self.valid, names, ", ".join(names.values()))

    @staticmethod
    def _function(conditions, names: dict, params: str):
        parts = dict.fromkeys(python(c.expr, names) for c in conditions)  # in order, once
        body = " and ".join(f"({p})" for p in parts) or "True"
        namespace = {"Fraction": Fraction, "__builtins__": _BUILTINS}
        return eval(f"lambda {params}: {body}", namespace)  # noqa: S307 - generated from sympy trees


def derive(spec, lead: tuple, names: tuple) -> Conditions:
    """Lower ``spec`` once at ``(*lead, *names)`` (a symbol per spatial size) and collect
    the conditions; ``Undecidable`` when that lowering fails or a condition is not exact."""
    import sympy

    symbols = tuple(symbolic.symbol(n) for n in names)
    try:
        graph = lower(spec, (*lead, *symbols))
    except RecursionError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure means: scan instead
        raise Undecidable(f"the network does not lower with symbolic sizes ({e})") from None
    index = {s: i for i, s in enumerate(symbols)}
    valid = []
    for entry in graph.assumptions:
        condition = getattr(entry, "condition", None)
        if condition is None:
            raise Undecidable(f"an assumption the engine states in words: {entry[0]}")
        valid.append(_condition(condition, index, entry[0]))
    exact = []
    for op in graph.ops:
        rf = op.step.rf
        if not (DROPPING.fullmatch(op.type) and op.inputs and isinstance(rf, tuple) and rf
                and hasattr(rf[0], "stride")):
            continue
        stride = rf[0].stride
        nd = len(stride)
        sizes = zip(graph.shapes[op.inputs[0]][-nd:], graph.shapes[op.outputs[0]][-nd:], stride)
        for i, o, s in sizes:
            if not (isinstance(s, int) and s > 1):
                continue
            if not symbolic.is_symbolic(i):
                if i != o * s:
                    exact.append(Condition(sympy.false, (), f"{op.name} drops pixels"))
                continue
            exact.append(_condition(sympy.Eq(i, o * s, evaluate=False), index, op.name))
    return Conditions(tuple(names), symbols, valid, exact)


def _condition(expr, index: dict, text: str) -> Condition:
    unknown = [s for s in expr.free_symbols if s not in index]
    if unknown:
        raise Undecidable(f"a condition on {unknown[0]}, not a spatial size: {text}")
    return Condition(expr, tuple(sorted(index[s] for s in expr.free_symbols)), text)


def python(expr, names: dict) -> str:
    """``expr`` as Python source over ``names`` (symbol -> variable), in exact integer (or
    Fraction) arithmetic; ``Undecidable`` for anything else."""
    import sympy

    def go(e) -> str:
        if e is sympy.true or e is sympy.false:
            return str(bool(e))
        if e.is_Symbol:
            if e not in names:
                raise Undecidable(f"unknown symbol {e}")
            return names[e]
        if e.is_Integer:
            return f"({int(e)})"
        if e.is_Rational:
            return f"Fraction({e.p}, {e.q})"
        if e.is_Number:  # a float or a special number: no exact integer meaning
            raise Undecidable(f"the number {e} in a condition")
        if isinstance(e, (sympy.floor, sympy.ceiling)):
            num, den = sympy.fraction(sympy.together(e.args[0]))
            a, b = go(num), go(den)
            return f"(({a}) // ({b}))" if isinstance(e, sympy.floor) else f"(-((-({a})) // ({b})))"
        if isinstance(e, sympy.Add):
            return "(" + " + ".join(go(a) for a in e.args) + ")"
        if isinstance(e, sympy.Mul):
            return "(" + " * ".join(go(a) for a in e.args) + ")"
        if isinstance(e, sympy.Pow):
            exp = e.args[1]
            if not exp.is_Integer:
                raise Undecidable(f"the power {e} in a condition")
            base = go(e.args[0])
            return f"(({base}) ** {int(exp)})" if exp >= 0 else f"(Fraction(1) / ({base}) ** {-int(exp)})"
        if isinstance(e, sympy.Mod):
            return f"(({go(e.args[0])}) % ({go(e.args[1])}))"
        if isinstance(e, (sympy.Min, sympy.Max)):
            return f"{type(e).__name__.lower()}(" + ", ".join(go(a) for a in e.args) + ")"
        if isinstance(e, sympy.Abs):
            return f"abs({go(e.args[0])})"
        if isinstance(e, sympy.Piecewise):
            out = "None"  # no branch holds: comparing None raises, and the caller scans
            for value, cond in reversed(e.args):
                out = f"(({go(value)}) if ({go(cond)}) else {out})"
            return out
        if isinstance(e, sympy.core.relational.Relational):
            op = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}.get(e.rel_op)
            if op is None:
                raise Undecidable(f"the relation {e}")
            return f"(({go(e.lhs)}) {op} ({go(e.rhs)}))"
        if isinstance(e, sympy.And):
            return "(" + " and ".join(go(a) for a in e.args) + ")"
        if isinstance(e, sympy.Or):
            return "(" + " or ".join(go(a) for a in e.args) + ")"
        if isinstance(e, sympy.Not):
            return f"(not {go(e.args[0])})"
        raise Undecidable(f"{type(e).__name__} in a condition: {e}")

    return go(expr)
