"""Click parameter types and the parsing the commands share: sizes, value lists, shapes.

Sizes are read as users write them: ``224x224``, ``224,224`` and ``224×224`` alike, and a
shape pasted with its brackets (``[1, 3, 224, 224]``). No regular expression is compiled
here: this module is on every command's start-up path (benchmarks/startup.py).
"""

from __future__ import annotations

import click

SEPARATORS = ("×", ",")  # read as "x"


def is_number(text: str) -> bool:
    """An integer as written on a command line: an optional sign and 1 to 40 digits."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    return 0 < len(digits) <= 40 and digits.isdecimal()


def split_sizes(value: str) -> list[str]:
    """``224x224``, ``224,224``, ``224×224``, ``[224, 224]`` -> ``["224", "224"]``."""
    text = value.strip()
    if text[:1] in ("[", "(") and text[-1:] in ("]", ")"):
        text = text[1:-1]
    for sep in SEPARATORS:
        text = text.replace(sep, "x")
    return [p.strip() for p in text.split("x")]


# The layer a command computes, for the hint on an input that looks like channels first.
LAYER_3D = {"conv": "Conv3d", "tconv": "ConvTranspose3d", "pool": "MaxPool3d/AvgPool3d"}
IMAGE = {1: "a one-channel image", 3: "an RGB image", 4: "an RGBA image"}


def channels_hint(sizes: tuple, command: str | None) -> str | None:
    """``3x224x224`` is three spatial sizes to convcalc, but reads like an RGB image's
    channels-first shape: the hint, or None. Channels look like 1, 3 or 4 followed by two
    sizes much larger (at least 16, and 8 times the first)."""
    if len(sizes) != 3 or not all(isinstance(s, int) for s in sizes):
        return None
    first, h, w = sizes
    if first not in IMAGE or min(h, w) < max(16, 8 * first):
        return None
    layer = LAYER_3D.get(command or "", "a 3-d layer")
    return (f"{first}x{h}x{w} is read as 3 spatial dims ({layer}); for {IMAGE[first]} give "
            f"--in {h}x{w}")


class Dims(click.ParamType):
    """``28``, ``28x28`` or ``16x28x28`` (``28,28`` alike): one integer per spatial dimension
    (or one for all).

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
        parts = split_sizes(str(value))
        if self.symbols and not all(is_number(p) for p in parts):
            from convcalc.engine.symbolic import is_symbol_name, parse_size

            if 1 <= len(parts) <= 3 and all(is_number(p) or is_symbol_name(p) for p in parts):
                return tuple(parse_size(p) for p in parts)
        if not 1 <= len(parts) <= 3 or not all(is_number(p) for p in parts):
            words = "".join(f", '{w}'" for w in self.words)
            kinds = "an integer or a symbol (H)" if self.symbols else "an integer"
            self.fail(
                f"{value!r} is not a size: use {kinds}, AxB or AxBxC (one per spatial "
                f"dimension){words}",
                param, ctx,
            )
        sizes = tuple(int(p) for p in parts)
        if param is not None and param.name == "in_size":
            hint = channels_hint(sizes, ctx.info_name if ctx is not None else None)
            if hint:
                click.echo(f"Hint: {hint}", err=True)
        return sizes


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


class Sized(tuple):
    """Allowed values given per dimension, as ``3x3``: the values and ``ndim``."""

    ndim: int = 1


class Values(click.ParamType):
    """``3``, ``1..11`` or ``3,5,7``: the allowed values of one solver parameter.

    With ``dims``, ``3x3`` also means the value 3 in each of two dimensions (a ``Sized``):
    the solvers use one value in every dimension, so the parts must agree."""

    name = "VALUES"

    def __init__(self, dims: bool = False):
        self.dims = dims

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        if self.dims and ("x" in text or "×" in text):
            parts = split_sizes(text)
            if not 2 <= len(parts) <= 3 or not all(is_number(p) for p in parts):
                self.fail(f"{value!r} is not a value list: use 3, 1..11, 3,5,7 or 3x3", param, ctx)
            if len(set(map(int, parts))) != 1:
                self.fail(f"{value!r}: the solver uses one value in every dimension; give "
                          f"{parts[0]} and the input per dimension (--in 224x224)", param, ctx)
            sized = Sized((int(parts[0]),))
            sized.ndim = len(parts)
            return sized
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
    """A full tensor shape: ``1,3,224,224``, ``1x3x224x224`` or ``[1, 3, 224, 224]``; sizes
    may be symbols (``1,3,H,W``)."""
    if value is None:
        return None
    parts = split_sizes(value)
    if all(is_number(p) for p in parts):
        shape = tuple(int(p) for p in parts)
    else:
        from convcalc.engine.symbolic import is_symbol_name, parse_size

        if not all(is_number(p) or is_symbol_name(p) for p in parts):
            raise click.BadParameter(
                f"{value!r} is not a shape: write the full tensor shape, e.g. 1,3,224,224, "
                "1x3x224x224 or 1,3,H,W",
                param_hint="'--input'",
            )
        shape = tuple(parse_size(p) for p in parts)
    if any(isinstance(s, int) and (s < 0 or s > 2**63 - 1) for s in shape):
        raise click.BadParameter(f"{value!r}: sizes must be from 0 to 2**63 - 1", param_hint="'--input'")
    return shape


def parse_inputs(values) -> tuple[list, dict]:
    """``--input`` given any number of times: the unnamed shapes in order (several are
    compared side by side) and the named ones (``NAME=SHAPE``, a multi-input spec's)."""
    shapes, named = [], {}
    for value in values or ():
        name, eq, rest = value.partition("=")
        if not eq:
            shapes.append(parse_shape(value))
            continue
        name = name.strip()
        if not name.isidentifier():
            raise click.BadParameter(f"{value!r}: write NAME=SHAPE, e.g. image=1,3,224,224",
                                     param_hint="'--input'")
        if name in named:
            raise click.BadParameter(f"the input {name!r} is given twice", param_hint="'--input'")
        named[name] = parse_shape(rest)
    if shapes and named:
        raise click.BadParameter("give unnamed shapes (several are compared) or NAME=SHAPE for "
                                 "named inputs, not both", param_hint="'--input'")
    return shapes, named
