"""Click parameter types and the parsing the commands share: sizes, value lists, shapes."""

from __future__ import annotations

import re

import click

NUMBER = re.compile(r"[+-]?\d{1,40}")


class Dims(click.ParamType):
    """``28``, ``28x28`` or ``16x28x28``: one integer per spatial dimension (or one for all).

    ``words`` are extra accepted spellings (``same``/``valid`` for convolution padding).
    """

    name = "AxB"

    def __init__(self, words: tuple[str, ...] = (), symbols: bool = False):
        self.words = words
        self.symbols = symbols  # sizes may be symbols (H, W): shapes become formulas

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        text = str(value).strip().lower()
        if text in self.words:
            return text
        parts = str(value).strip().split("x")
        if self.symbols:
            from convcalc.engine.symbolic import SYMBOL, parse_size

            if 1 <= len(parts) <= 3 and all(NUMBER.fullmatch(p.strip()) or SYMBOL.fullmatch(p.strip())
                                            for p in parts):
                return tuple(parse_size(p) for p in parts)
        if not 1 <= len(parts) <= 3 or not all(NUMBER.fullmatch(p.strip()) for p in parts):
            words = "".join(f", '{w}'" for w in self.words)
            kinds = "an integer or a symbol (H)" if self.symbols else "an integer"
            self.fail(
                f"{value!r} is not a size: use {kinds}, AxB or AxBxC (one per spatial "
                f"dimension){words}",
                param, ctx,
            )
        return tuple(int(p) for p in parts)


def resolve_dims(**given) -> tuple[int, dict]:
    """The spatial dimension count and every per-dimension value broadcast to it.

    ndim is the longest value given; every other value must have one entry or ndim.
    ``given["in"]`` is the input size.
    """
    lengths = {k: len(v) for k, v in given.items() if isinstance(v, tuple)}
    ndim = max(lengths.values())
    for name, n in lengths.items():
        if n not in (1, ndim):
            longest = max(lengths, key=lengths.get)
            raise click.UsageError(
                f"--{name} has {n} values ({fmt_x(given[name])}) but --{longest} has {ndim} "
                f"({fmt_x(given[longest])}): give one value, or one per dimension"
            )
    # The input is always spelled out per dimension; a single parameter value stays a
    # scalar, so that messages show it as it was given.
    out = {k: v[0] if isinstance(v, tuple) and len(v) == 1 else v for k, v in given.items()}
    if len(given["in"]) == 1:
        out["in"] = given["in"] * ndim
    return ndim, out


def fmt_x(values) -> str:
    return "x".join(str(v) for v in values)


class Values(click.ParamType):
    """``3``, ``1..11`` or ``3,5,7``: the allowed values of one solver parameter."""

    name = "VALUES"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        try:
            if ".." in text:
                lo, hi = (int(x) for x in text.split(".."))
                if hi - lo > 10_000:
                    self.fail(f"{value!r} is too wide a range (at most 10,000 values)", param, ctx)
                values = tuple(range(lo, hi + 1))
            else:
                values = tuple(int(x) for x in text.split(","))
        except ValueError:
            self.fail(f"{value!r} is not a value list: use 3, 1..11 or 3,5,7", param, ctx)
        if not values:
            self.fail(f"{value!r} is an empty range", param, ctx)
        return values


def parse_shape(value: str | None):
    if value is None:
        return None
    from convcalc.engine.symbolic import SYMBOL, is_symbolic, parse_size

    parts = [p.strip() for p in value.split(",")]
    if len(parts) == 1:
        parts = [p.strip() for p in value.split("x")]
    if not parts or not all(NUMBER.fullmatch(p) or SYMBOL.fullmatch(p) for p in parts):
        raise click.BadParameter(
            f"{value!r} is not a shape: write the full tensor shape, e.g. 1,3,224,224 or 1,3,H,W",
            param_hint="'--input'",
        )
    shape = tuple(parse_size(p) for p in parts)
    if any(not is_symbolic(s) and (s < 0 or s > 2**63 - 1) for s in shape):
        raise click.BadParameter(f"{value!r}: sizes must be from 0 to 2**63 - 1", param_hint="'--input'")
    return shape
