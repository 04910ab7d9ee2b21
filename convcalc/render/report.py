"""Reports -> JSON data, text tables, markdown and CSV. No printing here.

The table, markdown and CSV share one list of display rows (``table_rows``), so they
cannot disagree; JSON lists every leaf layer whatever ``--depth`` says.
"""

from __future__ import annotations

import csv
import io
from fractions import Fraction

from convcalc.errors import ConvcalcError
from convcalc.graph.report import Report, Row
from convcalc.engine.symbolic import is_symbolic, pretty
from convcalc.render import columns, layout
from convcalc.render.columns import human, human_bytes

CONVENTIONS = {
    "macs": "multiply-accumulates of conv/linear weights and of matmuls (matmul m*n*k per "
    "batch element, einsum by its contraction, attention both products and its projections); "
    "bias, normalisation, activations, pooling, elementwise and shape operations excluded "
    "(torchvision's GFLOPS convention); FLOPs = 2 x MACs",
    "params": "trainable parameters, learned tensors included; buffers (BatchNorm running "
    "statistics, index tables) are not parameters",
    "receptive_field": "size and jump per spatial axis (Araujo et al., Distill 2019); "
    "over branches the largest",
}


def memory_convention(dtype: str = "float32") -> str:
    size = columns.dtype_bytes(dtype)
    return (f"estimates, not measurements: activation_bytes = sum of every layer's output "
            f"elements x {size} bytes ({dtype}); param_bytes = params x {size} bytes")


COLUMNS = tuple(columns.COLUMNS[k].title for k in columns.DEFAULT)


def _num(value) -> int | float:
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    return value


def _plain(value):
    """A size or count for JSON: an int, or an expression as text sympy parses back."""
    return pretty(value) if is_symbolic(value) else value


def _count(value) -> str:
    return pretty(value) if is_symbolic(value) else f"{value:,}"


def field_json(row: Row):
    """(receptive_field, jump) for JSON: per-axis lists, 'global', or None before any window."""
    f = row.rf
    if f.is_global:
        return "global", None
    if not f.size:
        return None, None
    return [_num(v) for v in f.size], [_num(v) for v in f.jump]


def _shapes(names, shapes) -> dict:
    return {v: None if shapes[v] is None else [_plain(s) for s in shapes[v]] for v in names}


def report_json(report: Report, keys=columns.DEFAULT) -> dict:
    """The documented JSON object; ``keys`` (``--columns``) adds the chosen columns that a
    layer's entry does not have already (``params_percent``, ``activation_bytes``, ...)."""
    layers, merges = [], []
    graph = report.graph
    totals = report.totals
    extra = [k for k in keys if k in _EXTRA_JSON]
    size = columns.dtype_bytes(report.dtype)
    for row in report.rows:
        rf, jump = field_json(row)
        entry = {
            "index": len(layers) if row.leaf else None,
            "path": ".".join(row.path),
            "name": row.name,
            "type": row.type,
            "description": row.describe,
            "input_shape": [_plain(v) for v in row.input_shape],
            "output_shape": [_plain(v) for v in row.output_shape],
            "params": _plain(row.params),
            "macs": _plain(row.macs),
            "receptive_field": rf,
            "jump": jump,
            "line": row.line,
            "inputs": _shapes(row.inputs, graph.shapes),
            "outputs": _shapes(row.outputs, graph.shapes),
        }
        for key in extra:
            entry.update(_EXTRA_JSON[key](_display(row), totals, size))
        if row.leaf:
            layers.append(entry)
        else:
            del entry["index"]
            merges.append(entry)
    several = {}
    if len(graph.inputs) > 1:
        several["inputs"] = _shapes(graph.inputs, graph.shapes)
    if len(graph.outputs) > 1:
        several["outputs"] = {name: [_plain(s) for s in graph.shapes[v]]
                              for name, v in zip(graph.output_names, graph.outputs)}
    return {
        "name": report.name,
        "input_shape": [_plain(v) for v in report.input_shape],
        "output_shape": [_plain(v) for v in report.output_shape],
        **several,
        "layers": layers,
        "merges": merges,
        "totals": {k: _plain(v) for k, v in totals.items()},
        "dtype": report.dtype,
        "warnings": list(report.warnings),
        "assumptions": [text for text, _ in report.assumptions],
        "conventions": {**CONVENTIONS, "memory": memory_convention(report.dtype)},
    }


def _kernel_json(d, totals, size) -> dict:
    args = d["row"].args
    kernel = args.get("kernel_size")
    if kernel is None or isinstance(kernel, str):
        return {"kernel_size": None, "stride": None}
    stride = kernel if args.get("stride") is None else args["stride"]
    as_json = lambda v: [_plain(x) for x in v] if isinstance(v, (tuple, list)) else _plain(v)  # noqa: E731
    return {"kernel_size": as_json(kernel), "stride": as_json(stride)}


_EXTRA_JSON = {
    "params_percent": lambda d, t, size: {"params_percent": columns.share(d["params"], t["params"])},
    "macs_percent": lambda d, t, size: {"macs_percent": columns.share(d["macs"], t["macs"])},
    "activation_bytes": lambda d, t, size: {"activation_bytes": _plain(d["elements"] * size)},
    "trainable_params": lambda d, t, size: {"trainable_params": _plain(d["params"])},
    "kernel_stride": _kernel_json,
}


def error_json(error: ConvcalcError) -> dict:
    return {"error": {"message": str(error), "layer": error.path, "type": error.layer_type}}


# Display rows (table, markdown, CSV) ---------------------------------------------------


def _display(row: Row) -> dict:
    return {"path": row.path, "type": row.describe, "input_shape": row.input_shape,
            "output_shape": row.output_shape, "params": row.params, "macs": row.macs,
            "elements": columns.numel(row.output_shape) if row.leaf else 0, "row": row,
            "kind": None if row.leaf else "merge"}


def display_rows(report: Report, depth: int | None = None) -> list[dict]:
    """One dict per displayed row (path, type, shapes, params, macs, output ``elements``
    as the totals count them, the report ``row`` it shows, ``kind``); with ``depth``,
    deeper rows fold into one row per group, which sums them."""
    out: list[dict] = []
    groups: dict[tuple, dict] = {}
    for row in report.rows:
        if depth is not None and len(row.path) > depth:
            prefix = row.path[:depth]
            group = groups.get(prefix)
            if group is None:
                kind = next((k for p, k in row.containers if p == prefix), "Sequential")
                group = {"path": prefix, "type": kind, "input_shape": row.input_shape,
                         "output_shape": row.output_shape, "params": 0, "macs": 0,
                         "elements": 0, "row": row, "kind": None, "folded": True}
                groups[prefix] = group
                out.append(group)
            group["output_shape"] = row.output_shape
            group["params"] += row.params
            group["macs"] += row.macs
            group["elements"] += columns.numel(row.output_shape) if row.leaf else 0
            group["row"] = row
        else:
            out.append(_display(row))
    return out


def table_rows(report: Report, depth: int | None = None) -> list[dict]:
    """The display rows as the default columns' text (shapes, field) and exact numbers."""
    return [
        {
            "layer": ".".join(d["path"]),
            "type": d["type"],
            "output_shape": shape_text(d["output_shape"]),
            "params": d["params"],
            "macs": d["macs"],
            **_field_text(d["row"]),
        }
        for d in display_rows(report, depth)
    ]


def shape_text(shape) -> str:
    return "[" + ", ".join(map(pretty, shape)) + "]"


def _field_text(row: Row | None) -> dict:
    if row is None:
        return {"rf": "", "jump": ""}
    rf, jump = field_json(row)
    if rf == "global":
        return {"rf": "global", "jump": ""}
    if rf is None:
        return {"rf": "1", "jump": "1"}
    fmt = lambda vs: "x".join(f"{v:g}" if isinstance(v, float) else str(v) for v in vs)  # noqa: E731
    return {"rf": fmt(rf), "jump": fmt(jump)}


def cell_texts(keys, d: dict, totals: dict, size: int, shape=shape_text) -> list:
    """The table's text of the display row ``d`` in the columns ``keys``."""
    return [_TEXT[k](d, totals, size, shape) for k in keys]


def _percent_of(key):
    return lambda d, t, size, shape: columns.percent(d[key], t[key])


_TEXT = {
    "layer": lambda d, t, size, shape: ".".join(d["path"]),
    "type": lambda d, t, size, shape: d["type"],
    "input_shape": lambda d, t, size, shape: shape(d["input_shape"]),
    "output_shape": lambda d, t, size, shape: shape(d["output_shape"]),
    "params": lambda d, t, size, shape: human(d["params"]),
    "params_percent": _percent_of("params"),
    "macs": lambda d, t, size, shape: human(d["macs"]),
    "macs_percent": _percent_of("macs"),
    "receptive_field": lambda d, t, size, shape: _field_text(d["row"])["rf"],
    "jump": lambda d, t, size, shape: _field_text(d["row"])["jump"],
    "kernel_stride": lambda d, t, size, shape: (
        "" if d["row"] is None or d.get("folded") else columns.kernel_stride(d["row"].args)),
    "activation_bytes": lambda d, t, size, shape: human_bytes(d["elements"] * size),
    "trainable_params": lambda d, t, size, shape: human(d["params"]),
}


def cell_values(keys, d: dict, totals: dict, size: int) -> list:
    """CSV's values: exact integers, shares with 6 decimals, shapes and fields as text."""
    out = []
    for k in keys:
        if k in ("params", "macs", "trainable_params"):
            out.append(_plain(d["params" if k == "trainable_params" else k]))
        elif k in ("params_percent", "macs_percent"):
            out.append(columns.share(d[k[:-8]], totals[k[:-8]]))
        elif k == "activation_bytes":
            out.append(_plain(d["elements"] * size))
        else:
            out.append(_TEXT[k](d, totals, size, shape_text))
    return out


def totals_lines(report: Report, keys=columns.DEFAULT, warnings: int = 3) -> list[str]:
    """The footer: totals in exact and human units, the conventions, the meaning of each
    column in ``keys``, and the first ``warnings`` warnings."""
    t = report.totals
    size = columns.dtype_bytes(report.dtype)
    lines = [
        f"Total params: {_count(t['params'])}{_also(t['params'], '; ')}"
        f"trainable {_count(t['trainable_params'])})",
        f"Total MACs: {_count(t['macs'])}{_also(t['macs'], '; ')}FLOPs = 2 x MACs"
        f"{'' if is_symbolic(t['flops']) else ' = ' + human(t['flops'])})",
        f"Activation memory (estimate): {human_bytes(t['activation_bytes'])}; "
        f"parameter memory (estimate): {human_bytes(t['param_bytes'])}",
        "MACs: conv/linear weights and matmul/attention products (bias, norms, activations, "
        "pooling, elementwise and shape ops excluded). Params exclude buffers (BN statistics). "
        f"Memory: outputs x {size} B and params x {size} B ({report.dtype}).",
        legend(keys),
    ]
    if report.assumptions:
        lines.append("Assuming (symbolic sizes): " + "; ".join(
            f"{text} ({why})" if why else text for text, why in report.assumptions))
    lines += warning_lines(report, warnings)
    return lines


def _also(n, sep: str) -> str:
    """`` (25.56M`` then ``sep``: the human form of a count of 1000 or more, opening the
    bracket that the caller closes; `` (`` alone otherwise."""
    if is_symbolic(n) or abs(n) < 1000:
        return " ("
    return f" ({human(n)}{sep}"


def legend(keys) -> str:
    return "Columns: " + "; ".join(f"{columns.COLUMNS[k].title} = {columns.COLUMNS[k].legend}"
                                   for k in keys) + "."


def warning_lines(report: Report, limit: int = 3) -> list[str]:
    found = report.warnings
    lines = [f"Warning: {w}" for w in found[:limit]]
    if len(found) > limit:
        lines.append(f"Warning: {len(found) - limit} more (--format json lists them all)")
    return lines


def text_table(report: Report, depth: int | None = None, keys=columns.DEFAULT) -> str:
    """The report as a fixed-width box-drawn table, its title above and nothing cut:
    the plain text for a pipe or a file (render/terminal.py fits a terminal)."""
    t, size = report.totals, columns.dtype_bytes(report.dtype)
    rows = [cell_texts(keys, d, t, size) for d in display_rows(report, depth)]
    titles = [columns.COLUMNS[k].title for k in keys]
    right = [i for i, k in enumerate(keys) if columns.COLUMNS[k].right]
    fitted = layout.fit(titles, rows, None)
    return "\n".join(layout.plain_lines(title_text(report), titles, rows, fitted, right))


def title_text(report: Report, quote=lambda text: text) -> str:
    """``name: input [..] -> [..]``; with several inputs or outputs, each by name."""
    graph = report.graph

    def shape(value):
        return quote(shape_text(graph.shapes[value]))

    if len(graph.inputs) == 1 and len(graph.outputs) == 1:
        return f"{report.name}: input {shape(next(iter(graph.inputs)))} -> {shape(graph.outputs[0])}"
    ins = ", ".join(f"{n} {shape(n)}" for n in graph.inputs)
    outs = ", ".join(f"{n} {shape(v)}" for n, v in zip(graph.output_names, graph.outputs))
    return f"{report.name}: inputs {ins} -> outputs {outs}"


def box_table(title: str, titles, rows, right=()) -> str:
    """Rows of strings under a heavy header, columns as wide as their widest cell."""
    at = [i for i, c in enumerate(titles) if c in right]
    return "\n".join(layout.plain_lines(title, list(titles), rows, layout.fit(titles, rows, None), at))


def markdown(report: Report, depth: int | None = None, keys=columns.DEFAULT) -> str:
    _, _, flow = title_text(report, lambda text: f"`{text}`").partition(": ")
    t, size = report.totals, columns.dtype_bytes(report.dtype)
    lines = [f"**{report.name}**: {flow}", "",
             "| " + " | ".join(columns.COLUMNS[k].title for k in keys) + " |",
             "|" + "|".join("---:" if columns.COLUMNS[k].right else "---" for k in keys) + "|"]
    type_at = keys.index("type") if "type" in keys else -1
    for d in display_rows(report, depth):
        cells = cell_texts(keys, d, t, size)
        if type_at >= 0:
            cells[type_at] = f"`{cells[type_at]}`"
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    lines += [f"{line}  " for line in totals_lines(report, keys)]
    return "\n".join(lines)


def csv_text(report: Report, depth: int | None = None, keys=columns.DEFAULT) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(keys)  # the keys are CSV's headers
    t, size = report.totals, columns.dtype_bytes(report.dtype)
    for d in display_rows(report, depth):
        writer.writerow(cell_values(keys, d, t, size))
    return buf.getvalue()
