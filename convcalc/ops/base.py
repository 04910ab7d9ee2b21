"""Building blocks of the registry: LayerType, Step, argument binding, shared checks."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from convcalc.errors import ParamError, ShapeError, SpecError
from convcalc.engine.params import fmt_dims
from convcalc.engine.symbolic import any_symbolic, is_symbolic, unequal, violated


class _Required:
    def __repr__(self):
        return "REQUIRED"


REQUIRED = _Required()
Shape = tuple[int, ...]
# the dtypes a spec names (as strings: Buffer(shape, dtype='int64'), zeros(2, dtype='long'))
DTYPES = ("float32", "float", "float16", "half", "bfloat16", "float64", "double",
          "int64", "long", "int32", "int", "int16", "int8", "uint8", "bool")
ALIASES = {"float": "float32", "half": "float16", "double": "float64", "long": "int64", "int": "int32"}


@dataclass(frozen=True)
class Window:
    """Receptive-field op: a sliding window per spatial axis (effective kernel, stride, left pad)."""

    kernel: tuple
    stride: tuple
    pad: tuple


@dataclass(frozen=True)
class Scale:
    """Receptive-field op: resampling by ``factor`` per spatial axis (upsample, transposed conv)."""

    factor: tuple


GLOBAL = "global"  # every output sees the whole input
NONE = "none"  # no output sees an input pixel (x.new_zeros(...): a tensor made from sizes)


@dataclass(frozen=True)
class Mix:
    """Receptive-field op: positions along these dims (negative, counted from the last) are
    mixed (Linear's last dim, a softmax's dim, a reduction's dims): the field becomes global
    when one of them carries it, and is unchanged otherwise (a Linear on channels-last)."""

    dims: tuple


@dataclass(frozen=True)
class Axes:
    """Receptive-field op: where each input dim goes (negative dims, input -> output; a dim
    missing from the map was merged or removed): permute, transpose, reshape, squeeze."""

    mapping: tuple  # ((input dim, output dim), ...)


def regroup(in_shape, out_shape) -> Axes:
    """The dims a reshape keeps whole: input dim i survives as output dim j when the sizes
    before and up to it agree (its boundaries line up); merged or split dims are lost."""
    mapping = []
    before_in = 1
    for i, size in enumerate(in_shape):
        before_out = 1
        for j, other in enumerate(out_shape):
            if before_out == before_in and other == size:
                mapping.append((i - len(in_shape), j - len(out_shape)))
                break
            before_out = before_out * other
        before_in = before_in * size
    return Axes(tuple(mapping))


def moved(perm) -> Axes:
    """The Axes op of a permutation: output dim i is input dim perm[i]."""
    n = len(perm)
    return Axes(tuple(((d % n) - n, i - n) for i, d in enumerate(perm)))


@dataclass(frozen=True)
class Step:
    """What one layer does to a tensor: output shape, parameters, MACs, receptive-field ops."""

    out: Shape
    params: int = 0
    macs: int = 0
    rf: tuple | str = ()  # () pointwise, GLOBAL, NONE, or a sequence of Window/Scale
    note: str | None = None
    drops: bool = False  # a strided window leaves input pixels at the end unused
    more: tuple = ()  # the shapes of further outputs (chunk, MaxPool2d's indices)
    # Python values a function returns after its tensors (MViT's _unsqueeze: the input's
    # number of dims); a function of sizes only (_compute_pad_size_3d) has ``out=None`` and
    # its result as the one value: shape arithmetic, no operation
    values: tuple = ()
    dtype: str | None = None  # the output's dtype where the rule knows it (a factory's)

    @property
    def outs(self) -> tuple:
        """Every output shape, the first one first."""
        return (tuple(self.out), *self.more)


@dataclass(frozen=True)
class Infer:
    """An argument PyTorch requires but a spec may omit: read off the incoming shape."""

    arg: str
    read: Callable[[Shape], int | list]
    noun: str  # "channels", "features"
    # a given value must match the shape: always, or when strict(bound arguments) says so
    # (BatchNorm checks its count only against weights or running statistics it has)
    strict: bool | Callable[[dict], bool] = True


@dataclass(frozen=True)
class Kind:
    """The type PyTorch accepts for an argument: ``number`` (an int or a float, never a
    bool or a string), ``boolean`` (True or False only: PyTorch's ``if bias:`` would take the
    string 'false' as true), ``dims`` (an int or a sequence of ints: squeeze's dim), or one
    of ``choices``; ``optional`` also allows None."""

    what: str  # "number", "boolean", "dims" or "choice"
    optional: bool = False
    choices: tuple = ()

    def check(self, name: str, value, op: str = "") -> None:
        """Refuses a wrong-typed ``value``; ``op`` names a function (``relu: inplace ...``)."""
        if value is None and self.optional:
            return
        label = f"{op}: {name}" if op else name
        if self.what == "choice":
            if not isinstance(value, str) or value not in self.choices:
                shown = ", ".join(map(repr, self.choices))
                raise ParamError(f"{label} must be one of {shown}, got {value!r}")
            return
        if self.what == "boolean":
            ok = isinstance(value, bool)
        elif self.what == "dims":
            ok = all(_is_int(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
        else:
            ok = (not isinstance(value, bool) and isinstance(value, (int, float))) or is_symbolic(value)
        if not ok:
            none = " or None" if self.optional else ""
            wanted = {"boolean": "true or false", "dims": "an integer or a list of integers"}
            raise ParamError(f"{label} must be {wanted.get(self.what, 'a number')}{none}, got {value!r}",
                             fix=_unquote(value))


def _is_int(value) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or is_symbolic(value)


def _unquote(value) -> str | None:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return f"write {value.strip().lower()} without quotes (PyTorch would read any non-empty string as true)"
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return None
        return f"write {value.strip()} without quotes"
    return None


NUMBER, BOOLEAN = Kind("number"), Kind("boolean")
# The kinds a default does not tell: True/False defaults are booleans and float defaults
# numbers (kind_of); these are required, None by default, or take None as well.
KINDS = {
    "momentum": Kind("number", optional=True), "min_value": Kind("number", optional=True),
    "max_value": Kind("number", optional=True), "max_norm": Kind("number", optional=True),
    "threshold": NUMBER, "value": NUMBER, "norm_type": NUMBER,
    "align_corners": Kind("boolean", optional=True),
    "recompute_scale_factor": Kind("boolean", optional=True),
    "approximate": Kind("choice", choices=("none", "tanh")),
}


def kind_of(name: str, default, kinds: dict | None = None) -> Kind | None:
    """The kind of argument ``name``: the layer's own ``kinds``, else ``KINDS``, else read
    off its default (None: its layer's rule checks it: sizes, counts, dims)."""
    if kinds and name in kinds:
        return kinds[name]
    if name in KINDS:
        return KINDS[name]
    if isinstance(default, bool):
        return BOOLEAN
    if isinstance(default, float):
        return NUMBER
    return None


@dataclass(frozen=True)
class LayerType:
    name: str
    signature: tuple[tuple[str, object], ...]
    apply: Callable[[dict, Shape], Step]
    family: str
    example: str  # a constructor call, checked against torch by the tests
    example_input: tuple[int, ...]
    summary: tuple[str, ...] = ()  # the arguments shown in a table's type column
    infer: tuple[Infer, ...] = ()
    varargs: bool = False  # nn.Identity takes and ignores anything
    doc: str = ""
    positional: int = -1  # how many arguments may be positional (-1: all)
    # a module whose forward takes more than one input (MultiheadAttention(query, key,
    # value, need_weights=...)): its forward's parameters after the first input
    # (ops.function.Param), and the rule apply_call(bound, shape, call) that also gets
    # the bound forward arguments, tensors as shapes
    forward: tuple = ()
    apply_call: Callable | None = None
    # the example's further forward arguments, as Python over the example input ``x`` and
    # ``torch`` ("x, x, need_weights=False"), and the example input's dtype (Embedding's
    # indices are int64)
    example_forward: str = ""
    example_dtype: str = "float32"
    # a layer that is not in torch.nn (torchvision's StochasticDepth): a self-contained
    # class definition named as the layer, run with torch, nn and F in scope; build
    # constructs it from here and export writes it into the generated file
    source: str = ""
    # argument kinds that differ from ``KINDS`` (ConstantPad's value may be None, Threshold's not)
    kinds: dict = field(default_factory=dict)
    arg_names: frozenset = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "arg_names", frozenset(n for n, _ in self.signature))
        if self.positional < 0:
            object.__setattr__(self, "positional", len(self.signature))

    def bind(self, args: Sequence, kwargs: dict, shape: Shape) -> dict:
        """PyTorch's argument binding: positional, then keywords, then defaults and inference."""
        if self.varargs:
            return {}
        names = [n for n, _ in self.signature]
        if len(args) > self.positional:
            shown = ", ".join(names[: self.positional])
            raise SpecError(
                f"takes at most {self.positional} positional arguments ({shown}), got {len(args)}"
            )
        bound = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in self.arg_names:
                close = difflib.get_close_matches(key, names, n=1)
                raise SpecError(
                    f"unknown argument {key!r}",
                    fix=f"did you mean {close[0]}?" if close else f"arguments are: {', '.join(names)}",
                )
            if key in bound:
                raise SpecError(f"got multiple values for argument {key!r}")
            bound[key] = value
        inferable = {i.arg: i for i in self.infer}
        given = []  # (rule, value read off the shape) for inferable arguments the spec gave
        for name, default in self.signature:
            if name in inferable:
                rule = inferable[name]
                actual = rule.read(shape)
                if name not in bound:
                    bound[name] = actual
                else:
                    given.append((rule, actual))
            elif name not in bound:
                if default is REQUIRED:
                    raise SpecError(f"missing required argument {name!r}")
                bound[name] = default
        for name, default in self.signature:  # types first, as PyTorch checks them
            kind = kind_of(name, default, self.kinds)
            if kind is not None:
                kind.check(name, bound[name])
        for rule, actual in given:  # once every argument is bound: strictness may depend on them
            name = rule.arg
            strict = rule.strict(bound) if callable(rule.strict) else rule.strict
            if strict and violated(unequal(bound[name], actual), f"{name} matches the input"):
                raise ShapeError(
                    f"{name}={bound[name]} but the incoming shape {list(shape)} has "
                    f"{actual} {rule.noun}",
                    fix=f"use {name}={actual}, or omit it to infer it",
                )
        return bound

    def describe(self, bound: dict) -> str:
        """``Conv2d(1, 6, k=5, p=2)``-style text for tables: the key arguments only."""
        parts = []
        defaults = dict(self.signature)
        for name in self.summary:
            value = bound.get(name)
            if name in defaults and value == defaults[name] and defaults[name] is not REQUIRED:
                continue
            parts.append(_short(name, value))
        return f"{self.name}({', '.join(parts)})" if parts else self.name


_ABBREV = {
    "kernel_size": "k", "stride": "s", "padding": "p", "dilation": "d", "groups": "g",
    "output_padding": "op",
}


def _short(name, value) -> str:
    if isinstance(value, (tuple, list)) and value and all(v == value[0] for v in value):
        value = value[0]
    text = fmt_dims(value) if isinstance(value, (tuple, list)) else repr(value) if isinstance(value, str) else str(value)
    if name in ("in_channels", "out_channels", "in_features", "out_features", "num_features"):
        return text
    return f"{_ABBREV.get(name, name)}={text}"


# Shared checks -----------------------------------------------------------------------


def drops_pixels(in_sp, out_sp, stride) -> bool:
    """A strided layer is exact when it divides its input exactly, ``in == out × s``: the
    sizes that a decoder upsampling by ``s`` can restore. Otherwise it drops (or pads in)
    pixels that no ×s upsampling gives back."""
    if any_symbolic(in_sp):
        return False  # exactness is a question for numeric sizes (convcalc net --valid-inputs)
    return any(s > 1 and i != o * s for i, o, s in zip(in_sp, out_sp, stride))


def rank_error(layer: str, shape: Shape, allowed: Sequence[int], what: str = "") -> ShapeError:
    ranks = " or ".join(f"{r}-d" for r in allowed)
    return ShapeError(
        f"expects a {ranks} input{what}, got the {len(shape)}-d shape {list(shape)}",
        fix="add or remove a Flatten/Unflatten, or check the spec's input shape",
    )


def last_dim(shape: Shape):
    """The last dimension: what Linear acts on and LayerNorm normalises by default."""
    if not shape:
        raise rank_error("Linear", shape, (1, 2))
    return shape[-1]


def spatial_channel_dim(shape: Shape, nd: int, name: str) -> int:
    """The channel dimension of an ``nd``-spatial layer's input: 0 unbatched, 1 batched."""
    if len(shape) == nd + 2:
        return 1
    if len(shape) == nd + 1:
        return 0
    raise rank_error(name, shape, (nd + 1, nd + 2), " ((C, *spatial) or (N, C, *spatial))")


def check_bool(bound: dict, *names: str) -> None:
    for name in names:
        if not isinstance(bound[name], bool):
            raise ParamError(f"{name} must be true or false, got {bound[name]!r}")


def check_count(bound: dict, name: str, minimum: int = 1) -> int:
    value = bound[name]
    if is_symbolic(value):  # inferred from a symbolic shape (Linear after Flatten)
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ParamError(f"{name} must be >= {minimum}, got {value}")
    if value > 2**63 - 1:
        raise ParamError(f"{name} must be <= 2**63 - 1, got {fmt_dims([value])}")
    return value


def check_probability(bound: dict, name: str = "p") -> None:
    p = bound[name]
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ParamError(f"{name} must be a probability between 0 and 1, got {p!r}")


def norm_dim(dim, rank: int, name: str = "dim") -> int:
    """PyTorch's dimension wrapping: ``dim`` in ``[-rank, rank)``."""
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise ParamError(f"{name} must be an integer, got {dim!r}")
    top = max(rank, 1)
    if not -top <= dim < top:
        raise ShapeError(
            f"{name}={dim} is out of range for a {rank}-d input (expected {-top} to {top - 1})"
        )
    return dim % top


def prod(values) -> int:
    return math.prod(values)


def as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def signature(*items) -> tuple[tuple[str, object], ...]:
    """``signature("in_channels", ("stride", 1))``: bare names are required arguments.
    Keyword-only arguments go in ``LayerType(positional=...)``."""
    return tuple((i, REQUIRED) if isinstance(i, str) else i for i in items)
