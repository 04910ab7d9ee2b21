"""Path segments: how the items of a group are named, as PyTorch names modules."""

from __future__ import annotations

import re

from convcalc.errors import SpecError
from convcalc.spec import expr


class Names:
    """The path segments of one group: 0, 1, 2... for unnamed items, or the item's name."""

    __slots__ = ("index", "used", "counts")

    def __init__(self):
        self.index = 0
        self.used = set()
        self.counts = {}  # kind -> the next suffix to try (add_1, add_2, ...)

    def take(self, segment: str, source: str, line: int) -> str:
        if segment in self.used:
            raise SpecError(f"{source}:{line}: two items named {segment!r} in the same group")
        self.used.add(segment)
        return segment

    def next(self, item, source: str, env: dict | None = None) -> str:
        segment = item.name if item.name is not None else str(self.index)
        if "{" in segment and env is not None:
            segment = template(segment, env, source, item.line)
        self.index += 1
        return self.take(segment, source, item.line)

    def function(self, kind: str) -> str:
        """torch.fx's naming of function nodes: add, add_1, add_2..."""
        n = self.counts.get(kind, 0)
        segment = kind if n == 0 else f"{kind}_{n}"
        while segment in self.used:
            n += 1
            segment = f"{kind}_{n}"
        self.counts[kind] = n + 1
        self.used.add(segment)
        return segment


def template(name: str, env: dict, source: str, line: int) -> str:
    """``encoder_layer_{i}``, ``denselayer{i + 1}``: a name with the values of expressions
    over loop variables and parameters."""
    values = {k: v for k, v in env.items() if isinstance(v, (int, str)) and not isinstance(v, bool)}

    def fill(match):
        try:
            return str(expr.evaluate(expr.parse(match.group(1), "name"), values))
        except SpecError as e:
            raise SpecError(f"{source}:{line}: name {name!r}: {e.message}") from None

    return re.sub(r"\{([^{}]*)\}", fill, name)
