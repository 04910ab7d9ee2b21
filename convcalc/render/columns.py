"""The columns of the network table: what each shows, how ``--columns`` names it, what the
footer says about it; and the numbers as people read them (``117.6K``, ``3.06 MiB``).

A column's cell is text for the table and markdown, an exact value for CSV and JSON.
Pure: no I/O, no rich.
"""

from __future__ import annotations

from dataclasses import dataclass

from convcalc.engine.symbolic import is_symbolic, pretty
from convcalc.graph.report import DTYPES


@dataclass(frozen=True)
class Column:
    key: str  # the CSV header, and the JSON key of a layer
    title: str  # the table's header
    names: tuple  # the spellings --columns accepts
    legend: str  # the footer's explanation of the header
    right: bool = False  # numbers, right-aligned
    drop: int = 0  # when the table is too wide, the highest goes first; 0: never dropped


COLUMNS = {c.key: c for c in (
    Column("layer", "Layer", ("layer", "path"), "module path"),
    Column("type", "Type", ("type",), "layer and key arguments (k kernel, s stride, p padding, "
           "d dilation, g groups)"),
    Column("input_shape", "Input shape", ("input", "in"), "tensor into the layer", drop=6),
    Column("output_shape", "Output shape", ("output", "out"), "tensor out of the layer"),
    Column("params", "Params", ("params",), "learned parameters", True),
    Column("params_percent", "Params %", ("params%", "params-percent"), "share of all params",
           True, drop=5),
    Column("macs", "MACs", ("macs",), "multiply-accumulates", True, drop=1),
    Column("macs_percent", "MACs %", ("macs%", "macs-percent"), "share of all MACs", True, drop=4),
    Column("receptive_field", "RF", ("rf", "receptive-field"),
           "receptive field, the input pixels one output pixel sees (per axis)", drop=3),
    Column("jump", "Jump", ("jump",), "input pixels between neighbouring outputs "
           "(the strides so far multiplied)", drop=7),
    Column("kernel_stride", "K/S", ("kernel", "stride", "kernel/stride", "k/s"),
           "kernel size / stride", drop=8),
    Column("activation_bytes", "Act. mem", ("memory", "activation-bytes", "act"),
           "output elements x dtype bytes", True, drop=2),
    Column("trainable_params", "Trainable", ("trainable",),
           "params updated by training (all: frozen layers are not modelled)", True, drop=9),
)}
DEFAULT = ("layer", "type", "output_shape", "params", "macs", "receptive_field", "jump")
_BY_NAME = {name: c.key for c in COLUMNS.values() for name in (c.key, *c.names)}


def parse(text: str | None) -> tuple:
    """The column keys of ``--columns``: a comma-separated list (``layer,type,input,params%``),
    or changes to the default ones (``+input,+params%,-jump``); ``all`` for every column.
    Raises ValueError naming the unknown column."""
    if text is None:
        return DEFAULT
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ValueError("name at least one column")
    if names == ["all"]:
        return tuple(COLUMNS)
    relative = all(n[0] in "+-" for n in names)
    if not relative and any(n[0] in "+-" for n in names):
        raise ValueError("either list the columns or change the default ones with +NAME/-NAME, not both")
    keys = list(DEFAULT) if relative else []
    for name in names:
        sign, bare = (name[0], name[1:]) if relative else ("+", name)
        key = _BY_NAME.get(bare.lower().replace("_", "-")) or _BY_NAME.get(bare.lower())
        if key is None:
            raise ValueError(f"unknown column {bare!r}; choose from {', '.join(choices())}")
        if sign == "-":
            keys = [k for k in keys if k != key]
        elif key not in keys:
            keys.append(key)
    if not keys:
        raise ValueError("no column left to show")
    return tuple(sorted(keys, key=list(COLUMNS).index)) if relative else tuple(keys)


def choices() -> list:
    return [c.names[0] for c in COLUMNS.values()]


# Numbers as people read them -------------------------------------------------------

_UNITS = ("", "K", "M", "G", "T", "P", "E")


def human(value) -> str:
    """``117,600`` -> ``117.6K``, ``1,814,073,344`` -> ``1.814G`` (4 significant digits);
    below 1000 as it is; a formula as sympy prints it."""
    if is_symbolic(value):
        return pretty(value)
    return _scaled(value, 1000, _UNITS)


def human_bytes(value) -> str:
    """``2,408,448`` -> ``2.297 MiB`` (binary units)."""
    if is_symbolic(value):
        return f"{pretty(value)} B"
    return _scaled(value, 1024, ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"), " ")


def _scaled(value, base: int, units, space: str = "") -> str:
    if abs(value) < base:
        number = f"{value:,}" if isinstance(value, int) else f"{value:.4g}"
        return f"{number}{space}{units[0]}".rstrip()
    v, i = float(value), 0
    while abs(v) >= base and i < len(units) - 1:
        v, i = v / base, i + 1
    text = f"{v:.4g}"
    if float(text) >= base and i < len(units) - 1:  # 999.96K rounds to 1000K: 1M
        v, i = v / base, i + 1
        text = f"{v:.4g}"
    return f"{text}{space}{units[i]}"


def percent(value, total) -> str:
    """``12.3%``; ``<0.1%`` for a small share; ``0`` for none; empty for a formula."""
    if is_symbolic(value) or is_symbolic(total) or not total:
        return ""
    if not value:
        return "0"
    share = 100 * value / total
    return "<0.1%" if share < 0.05 else f"{share:.1f}%"


def share(value, total):
    """The exact share in percent for CSV and JSON (6 decimals), None for a formula."""
    if is_symbolic(value) or is_symbolic(total) or not total:
        return None
    return round(100 * value / total, 6)


def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def kernel_stride(args: dict) -> str:
    """``7/2``, ``3x1/1`` for a windowed layer's kernel_size and stride (stride defaults to
    the kernel, as pooling's does); empty for others."""
    kernel = args.get("kernel_size")
    if kernel is None or isinstance(kernel, str):
        return ""
    stride = args.get("stride")
    stride = kernel if stride is None else stride
    return f"{_dims(kernel)}/{_dims(stride)}"


def _dims(value) -> str:
    if isinstance(value, (tuple, list)):
        if value and all(v == value[0] for v in value):
            value = value[0]
        else:
            return "x".join(pretty(v) for v in value)
    return pretty(value)


def dtype_bytes(dtype: str) -> int:
    return DTYPES[dtype]
