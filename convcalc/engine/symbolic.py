"""Symbolic sizes: any size may be a symbol (``H``), and shapes become sympy expressions.

Sympy is imported only when a size is symbolic. Every check the engine makes goes through
``violated``: with integers it is the plain comparison; with expressions sympy decides it
when it can (``H + 2 < 3`` is false for a positive integer ``H``), and otherwise the
network is evaluated on the assumption that the check passes, and that assumption is
recorded (``H >= 3``) and reported with the result. Nothing is ``simplify()``-ed over a
whole network: expressions are only tidied for display.
"""

from __future__ import annotations

import contextlib
import functools

from convcalc.errors import ConvcalcError


def is_symbol_name(text: str) -> bool:
    """A size symbol's name: an ASCII identifier without ``x`` (it separates dimensions)."""
    return text.isascii() and text.isidentifier() and "x" not in text


_SINK: dict = {}  # written once: the context variable below


def _sink():
    """Where ``collecting`` puts the assumptions: a context variable, made on first use
    (contextvars costs start-up, and numeric sizes never need it); ``setdefault`` keeps
    one even when two threads make it at once."""
    var = _SINK.get("assumptions")
    if var is None:
        import contextvars

        var = _SINK.setdefault("assumptions", contextvars.ContextVar("convcalc_assumptions", default=None))
    return var


def symbol(name: str):
    import sympy

    return sympy.Symbol(name, integer=True, positive=True)


def is_symbolic(value) -> bool:
    return not isinstance(value, (int, float, str, bool, type(None), tuple, list))


def any_symbolic(values) -> bool:
    return any(is_symbolic(v) for v in values)


@contextlib.contextmanager
def collecting():
    """Collect the assumptions made while evaluating symbolic sizes: yields the list."""
    found: list = []
    token = _sink().set(found)
    try:
        yield found
    finally:
        _sink().reset(token)


def violated(condition, reason: str = "") -> bool:
    """Whether a refusal condition holds: True/False when decidable, else False with the
    negation recorded as an assumption."""
    if isinstance(condition, bool):
        return condition
    import sympy

    if condition in (sympy.true, True):
        return True
    if condition in (sympy.false, False):
        return False
    decided = _threshold(condition)
    if decided is not None:
        if isinstance(decided, bool):
            return decided
        condition = decided
    sink = _sink().get()
    if sink is None:
        raise ConvcalcError(f"cannot decide {pretty(condition)} for symbolic sizes")
    holds = sympy.Not(condition)
    text = pretty(holds)
    if all(text != t for t, _ in sink):
        sink.append(Assumption(text, reason, holds))
    return False


class Assumption(tuple):
    """``(text, why)``, as reported, and the sympy ``condition`` the text states (None for
    one in words): ``convcalc net --valid-inputs`` evaluates the conditions themselves."""

    def __new__(cls, text: str, why: str = "", condition=None):
        entry = super().__new__(cls, (text, why))
        entry.condition = condition
        return entry


def _threshold(condition):
    """Decide an ordering check in one size symbol, or reduce it to ``H < H0``.

    The engine's refusal checks compare sizes that never decrease as the input grows
    (every layer's output is a non-decreasing function of its input), so "too small"
    holds below some threshold and never above it: true at 1 and false at 2**40 means
    it fails exactly for ``H < H0``, found by bisection. Anything else stays undecided."""
    import sympy

    if not isinstance(condition, (sympy.Lt, sympy.Le, sympy.Gt, sympy.Ge)):
        return None
    free = condition.free_symbols
    if len(free) != 1:
        return None
    (h,) = free

    def at(value):
        return bool(condition.subs(h, value))

    top = 2**40
    low_fails, high_fails = at(1), at(top)
    if low_fails == high_fails:
        return low_fails
    if not low_fails:
        return None  # grows into a failure: not a "too small" check; keep it as stated
    from convcalc.engine.search import first_true

    return sympy.Lt(h, first_true(lambda n: not at(n), 1, top))  # fails at 1, passes at top


def assume(text: str, reason: str = "") -> None:
    """Record an assumption stated in words (one the engine cannot write as a relation)."""
    sink = _sink().get()
    if sink is not None and all(text != t for t, _ in sink):
        sink.append((text, reason))


def unequal(a, b):
    """``a != b`` as a condition: a bool for numbers, a sympy relation for expressions,
    proved equal when their difference simplifies to zero."""
    if not (is_symbolic(a) or is_symbolic(b)):
        return a != b
    import sympy

    if sympy.simplify(a - b) == 0:
        return False
    return sympy.Ne(a, b)


def fold_floors(expr):
    """``floor((floor(a) + b) / n)`` -> ``floor((a + b) / n)`` for integer ``b`` and ``n >= 1``
    (an identity), applied bottom-up, so that strided layers in a row stay one floor deep:
    ``floor(floor((H - 1)/2)/2)`` becomes ``floor((H - 1)/4)``."""
    import sympy

    def rule(arg):
        num, den = sympy.fraction(sympy.together(arg))
        if not (den.is_Integer and den > 0):
            return sympy.floor(arg)
        terms = sympy.Add.make_args(sympy.expand(num))
        floors = [t for t in terms if isinstance(t, sympy.floor)]
        rest = [t for t in terms if not isinstance(t, sympy.floor)]
        if len(floors) == 1 and all(t.is_integer for t in rest):
            return sympy.floor((floors[0].args[0] + sympy.Add(*rest)) / den)
        return sympy.floor(arg)

    return expr.replace(sympy.floor, rule) if hasattr(expr, "replace") else expr


def pretty(value) -> str:
    """An expression as sympy-parsable text, with floor arguments over one denominator:
    ``floor((H - 1)/2) + 1`` rather than ``floor(H/2 - 1/2) + 1``. Each distinct expression
    is tidied once (a network repeats the same few sizes in many rows)."""
    if not is_symbolic(value):
        return str(value)
    return _tidy(value)


@functools.lru_cache(maxsize=4096)
def _tidy(value) -> str:
    import sympy

    return str(value.replace(sympy.floor, lambda arg: sympy.floor(sympy.together(arg))))


def parse_size(text: str):
    """An integer, or a symbol name, as given on the command line or in a spec."""
    text = text.strip()
    if is_symbol_name(text):
        return symbol(text)
    return int(text)
