"""Layer parameters: normalised to per-dimension tuples and validated once, on construction.

After construction the arithmetic trusts them. Padding is stored as ``((lo, hi), ...)``.
Every check here is one PyTorch makes whatever the input size; checks that depend on the
input live in ``shapes``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from convcalc.engine import formulas
from convcalc.errors import ParamError

INT64_MAX = 2**63 - 1  # PyTorch sizes are int64
DIM_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


class PaddingMode(enum.Enum):
    ZEROS = "zeros"
    REFLECT = "reflect"
    REPLICATE = "replicate"
    CIRCULAR = "circular"


class PaddingKind(enum.Enum):
    """How padding was asked for: explicit numbers, or one of PyTorch's strings."""

    EXPLICIT = "explicit"
    SAME = "same"
    VALID = "valid"


class PoolKind(enum.Enum):
    MAX = "max"
    AVG = "avg"


class _Record:
    """A frozen record, as ``@dataclass(frozen=True)`` makes one: the annotated fields in
    order (a class attribute is a default), keyword or positional construction, equality
    and hashing by type and values, and the same repr. Written out because the dataclasses
    module compiles each method at import, a twentieth of ``convcalc conv``'s start-up."""

    _fields: tuple = ()
    _defaults: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._fields = tuple(cls.__dict__.get("__annotations__", {}))
        cls._defaults = {n: cls.__dict__[n] for n in cls._fields if n in cls.__dict__}

    def __init__(self, *args, **kwargs):
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes {len(fields)} arguments, got {len(args)}")
        values = dict(zip(fields, args))
        for name, value in kwargs.items():
            if name not in fields or name in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated argument {name!r}")
            values[name] = value
        for name in fields:
            if name not in values and name not in self._defaults:
                raise TypeError(f"{type(self).__name__}: missing argument {name!r}")
            object.__setattr__(self, name, values[name] if name in values else self._defaults[name])

    def _values(self) -> tuple:
        return tuple(getattr(self, n) for n in self._fields)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r}: {type(self).__name__} is frozen")

    def __delattr__(self, name):
        raise AttributeError(f"cannot delete field {name!r}: {type(self).__name__} is frozen")


def fmt_num(value) -> str:
    """A number for a message; absurdly large ints are described, not printed."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 100:
        return f"<{value.bit_length()}-bit integer>"
    return str(value)


def fmt_dims(values: Sequence) -> str:
    """``(28, 28)`` -> ``28x28``: how shapes and per-dimension values are written everywhere."""
    return "x".join(fmt_num(v) for v in values)


def check_int(name: str, value, minimum: int | None = None) -> int:
    """An int (not a bool) within ``[minimum, INT64_MAX]``; else a ParamError."""
    return per_dim(name, value, 1, minimum)[0]


def per_dim(name: str, value, ndim: int, minimum: int | None = None) -> tuple[int, ...]:
    """Normalise an int or a sequence of ``ndim`` ints to a checked ``ndim``-tuple.

    Messages show the value as given, whole: ``stride must be >= 1, got 2x0``.
    """
    is_seq = isinstance(value, Sequence) and not isinstance(value, str)
    if is_seq and len(value) != ndim:
        raise ParamError(
            f"{name} must have {ndim} value{'s' if ndim > 1 else ''} "
            f"(one per spatial dimension), got {len(value)}: {fmt_dims(value)}"
        )
    values = tuple(value) if is_seq else (value,) * ndim
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ParamError(f"{name} must be an integer, got {v!r}")
    shown = fmt_dims(values) if is_seq else fmt_num(value)
    if minimum is not None and any(v < minimum for v in values):
        raise ParamError(f"{name} must be >= {minimum}, got {shown}")
    if any(v > INT64_MAX for v in values):
        raise ParamError(f"{name} must be <= 2**63 - 1 (PyTorch sizes are int64), got {shown}")
    return values


def check_ndim(ndim: int) -> int:
    if ndim not in (1, 2, 3):
        raise ParamError(f"spatial dimensions must be 1, 2 or 3, got {ndim}")
    return ndim


def _padding_mode(value) -> PaddingMode:
    try:
        return PaddingMode(value)
    except ValueError:
        choices = ", ".join(repr(m.value) for m in PaddingMode)
        raise ParamError(f"padding_mode must be one of {choices}, got {value!r}") from None


class ConvParams(_Record):
    """A ``ConvNd`` layer's shape parameters (``torch.nn.Conv1d/2d/3d``)."""

    ndim: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    padding_mode: PaddingMode = PaddingMode.ZEROS
    padding_kind: PaddingKind = PaddingKind.EXPLICIT

    @classmethod
    def create(cls, ndim, kernel_size, stride=1, padding=0, dilation=1, padding_mode="zeros"):
        ndim = check_ndim(ndim)
        kernel_size = per_dim("kernel_size", kernel_size, ndim, 1)
        stride = per_dim("stride", stride, ndim, 1)
        dilation = per_dim("dilation", dilation, ndim, 1)
        mode = _padding_mode(padding_mode)
        if isinstance(padding, str):
            kind = _padding_kind(padding)
            if kind is PaddingKind.SAME:
                if any(s != 1 for s in stride):
                    raise ParamError(
                        f"padding='same' is not supported for strided convolutions "
                        f"(stride {fmt_dims(stride)})",
                        fix="use stride 1, or an explicit padding "
                        "(convcalc solve-padding finds one)",
                    )
                pairs = tuple(
                    formulas.same_padding(k, d) for k, d in zip(kernel_size, dilation, strict=True)
                )
            else:
                pairs = ((0, 0),) * ndim
        else:
            kind = PaddingKind.EXPLICIT
            # With a padding_mode other than zeros PyTorch pads through F.pad, which crops
            # on negative padding; only zeros refuses it.
            minimum = 0 if mode is PaddingMode.ZEROS else None
            pairs = tuple((p, p) for p in per_dim("padding", padding, ndim, minimum))
        return cls(ndim, kernel_size, stride, pairs, dilation, mode, kind)


def _padding_kind(value: str) -> PaddingKind:
    if value in ("same", "valid"):
        return PaddingKind(value)
    raise ParamError(f"padding must be an integer, 'same' or 'valid', got {value!r}")


class TConvParams(_Record):
    """A ``ConvTransposeNd`` layer's shape parameters."""

    ndim: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    output_padding: tuple[int, ...]

    @classmethod
    def create(
        cls, ndim, kernel_size, stride=1, padding=0, dilation=1, output_padding=0,
        padding_mode="zeros",
    ):
        ndim = check_ndim(ndim)
        if _padding_mode(padding_mode) is not PaddingMode.ZEROS:
            raise ParamError(
                f"padding_mode must be 'zeros' for a transposed convolution, got {padding_mode!r}"
            )
        if isinstance(padding, str):
            raise ParamError(
                f"padding must be an integer for a transposed convolution, got {padding!r}",
                fix="PyTorch's ConvTranspose has no 'same' or 'valid'",
            )
        kernel_size = per_dim("kernel_size", kernel_size, ndim, 1)
        stride = per_dim("stride", stride, ndim, 1)
        padding = per_dim("padding", padding, ndim, 0)
        dilation = per_dim("dilation", dilation, ndim, 1)
        output_padding = per_dim("output_padding", output_padding, ndim, 0)
        bad = [
            (op, s, d)
            for op, s, d in zip(output_padding, stride, dilation, strict=True)
            if not (op < s or op < d)
        ]
        if bad:
            raise ParamError(
                f"output_padding must be smaller than either stride or dilation, got "
                f"output_padding {fmt_dims(output_padding)} with stride {fmt_dims(stride)} "
                f"and dilation {fmt_dims(dilation)}",
                fix=f"use output_padding <= {fmt_dims(max(s, d) - 1 for s, d in zip(stride, dilation))}",
            )
        return cls(ndim, kernel_size, stride, padding, dilation, output_padding)


class PoolParams(_Record):
    """A ``MaxPoolNd`` / ``AvgPoolNd`` layer's shape parameters."""

    ndim: int
    kind: PoolKind
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool = False

    @classmethod
    def create(
        cls, ndim, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
        kind=PoolKind.MAX,
    ):
        ndim = check_ndim(ndim)
        kind = PoolKind(kind)
        if isinstance(padding, str):
            raise ParamError(
                f"padding must be an integer for pooling, got {padding!r}",
                fix="PyTorch pooling has no 'same' or 'valid'; "
                "convcalc solve-padding finds an explicit padding",
            )
        if kind is PoolKind.AVG and dilation not in (1, None) and dilation != (1,) * ndim:
            raise ParamError("dilation is not supported by average pooling (torch.nn.AvgPool has none)")
        kernel_size = per_dim("kernel_size", kernel_size, ndim, 1)
        # PyTorch: stride defaults to the kernel size (None, or an empty list).
        if stride is None or (isinstance(stride, Sequence) and len(stride) == 0):
            stride = kernel_size
        stride = per_dim("stride", stride, ndim, 1)
        padding = per_dim("padding", padding, ndim, 0)
        dilation = per_dim("dilation", 1 if dilation is None else dilation, ndim, 1)
        # ATen checks pad <= kernel_size // 2 and pad <= (d·(k−1)+1) // 2; with d >= 1 the
        # first implies the second.
        limit = tuple(k // 2 for k in kernel_size)
        if any(p > m for p, m in zip(padding, limit, strict=True)):
            raise ParamError(
                f"padding must be at most half the kernel size, got padding {fmt_dims(padding)} "
                f"with kernel_size {fmt_dims(kernel_size)}",
                fix=f"use padding <= {fmt_dims(limit)}, or a larger kernel",
            )
        if not isinstance(ceil_mode, bool):
            raise ParamError(f"ceil_mode must be true or false, got {ceil_mode!r}")
        return cls(ndim, kind, kernel_size, stride, padding, dilation, ceil_mode)
