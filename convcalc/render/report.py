"""Reports -> JSON data, text tables, markdown and CSV. No printing here.

The table, markdown and CSV share one list of display rows (``table_rows``), so they
cannot disagree; JSON lists every leaf layer whatever ``--depth`` says.
"""

from __future__ import annotations

import csv
import io
from fractions import Fraction

from convcalc.errors import ConvcalcError
from convcalc.graph.report import DTYPE_BYTES, Report, Row
from convcalc.engine.symbolic import is_symbolic, pretty

CONVENTIONS = {
    "macs": "multiply-accumulates of conv/linear weights and of matmuls (matmul m*n*k per "
    "batch element, einsum by its contraction, attention both products and its projections); "
    "bias, normalisation, activations, pooling, elementwise and shape operations excluded "
    "(torchvision's GFLOPS convention); FLOPs = 2 x MACs",
    "params": "trainable parameters, learned tensors included; buffers (BatchNorm running "
    "statistics, index tables) are not parameters",
    "receptive_field": "size and jump per spatial axis (Araujo et al., Distill 2019); "
    "over branches the largest",
    "memory": f"estimates, not measurements: activation_bytes = sum of every layer's output "
    f"elements x {DTYPE_BYTES} bytes (float32); param_bytes = params x {DTYPE_BYTES} bytes",
}

COLUMNS = ("Layer", "Type", "Output shape", "Params", "MACs", "RF", "Jump")


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


def report_json(report: Report) -> dict:
    layers, merges = [], []
    graph = report.graph
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
        "totals": {k: _plain(v) for k, v in report.totals.items()},
        "warnings": list(report.warnings),
        "assumptions": [text for text, _ in report.assumptions],
        "conventions": CONVENTIONS,
    }


def error_json(error: ConvcalcError) -> dict:
    return {"error": {"message": str(error), "layer": error.path, "type": error.layer_type}}


# Display rows (table, markdown, CSV) ---------------------------------------------------


def table_rows(report: Report, depth: int | None = None) -> list[dict]:
    """One dict per displayed row; with ``depth``, deeper rows fold into their group."""
    out: list[dict] = []
    groups: dict[tuple, dict] = {}
    for row in report.rows:
        if depth is not None and len(row.path) > depth:
            prefix = row.path[:depth]
            group = groups.get(prefix)
            if group is None:
                kind = next((k for p, k in row.containers if p == prefix), "Sequential")
                group = {"path": prefix, "type": kind, "output_shape": row.output_shape,
                         "params": 0, "macs": 0, "row": row}
                groups[prefix] = group
                out.append(group)
            group["output_shape"] = row.output_shape
            group["params"] += row.params
            group["macs"] += row.macs
            group["row"] = row
        else:
            out.append({"path": row.path, "type": row.describe, "output_shape": row.output_shape,
                        "params": row.params, "macs": row.macs, "row": row})
    return [
        {
            "layer": ".".join(g["path"]),
            "type": g["type"],
            "output_shape": _shape(g["output_shape"]),
            "params": g["params"],
            "macs": g["macs"],
            **_field_text(g["row"]),
        }
        for g in out
    ]


def _shape(shape) -> str:
    return "[" + ", ".join(map(pretty, shape)) + "]"


def _field_text(row: Row) -> dict:
    rf, jump = field_json(row)
    if rf == "global":
        return {"rf": "global", "jump": ""}
    if rf is None:
        return {"rf": "1", "jump": "1"}
    fmt = lambda vs: "x".join(f"{v:g}" if isinstance(v, float) else str(v) for v in vs)  # noqa: E731
    return {"rf": fmt(rf), "jump": fmt(jump)}


def totals_lines(report: Report) -> list[str]:
    t = report.totals
    gmacs = "" if is_symbolic(t["macs"]) else f" ({t['macs'] / 1e9:.4g} GMACs; FLOPs = 2 x MACs)"
    lines = [
        f"Total params: {_count(t['params'])} (trainable {_count(t['trainable_params'])})",
        f"Total MACs: {_count(t['macs'])}{gmacs}",
        f"Activation memory (estimate): {_mib(t['activation_bytes'])}; "
        f"parameter memory (estimate): {_mib(t['param_bytes'])}",
        "MACs: conv/linear weights and matmul/attention products (bias, norms, activations, "
        "pooling, elementwise and shape ops excluded). Params exclude buffers (BN statistics). "
        "Memory: outputs x 4 B and params x 4 B (float32).",
    ]
    if report.assumptions:
        lines.append("Assuming (symbolic sizes): " + "; ".join(
            f"{text} ({why})" if why else text for text, why in report.assumptions))
    return lines


def _mib(n) -> str:
    return f"{pretty(n)} bytes" if is_symbolic(n) else f"{n / 2**20:,.2f} MiB"


def text_table(report: Report, depth: int | None = None) -> str:
    """The report as a fixed-width box-drawn table, its title above and nothing wrapped.

    Drawn here rather than with rich: rich's Table took about 210 ms for ResNet-50's
    230 rows, more than the whole rest of ``convcalc net`` (benchmarks/net_vs_torchinfo.py).
    """
    rows = [[r["layer"], r["type"], r["output_shape"], _count(r["params"]), _count(r["macs"]),
             r["rf"], r["jump"]] for r in table_rows(report, depth)]
    title = _title(report)
    return box_table(title, COLUMNS, rows, right=("Params", "MACs"))


def _title(report: Report, quote=lambda text: text) -> str:
    """``name: input [..] -> [..]``; with several inputs or outputs, each by name."""
    graph = report.graph

    def shape(value):
        return quote(_shape(graph.shapes[value]))

    if len(graph.inputs) == 1 and len(graph.outputs) == 1:
        return f"{report.name}: input {shape(next(iter(graph.inputs)))} -> {shape(graph.outputs[0])}"
    ins = ", ".join(f"{n} {shape(n)}" for n in graph.inputs)
    outs = ", ".join(f"{n} {shape(v)}" for n, v in zip(graph.output_names, graph.outputs))
    return f"{report.name}: inputs {ins} -> outputs {outs}"


def box_table(title: str, columns, rows, right=()) -> str:
    """Rows of strings under a heavy header, columns as wide as their widest cell."""
    widths = [max([len(c), *(len(row[i]) for row in rows)]) for i, c in enumerate(columns)]
    right_at = {columns.index(c) for c in right}

    def line(cells, bar="│"):
        parts = [c.rjust(w) if i in right_at else c.ljust(w)
                 for i, (c, w) in enumerate(zip(cells, widths))]
        return f"{bar} " + f" {bar} ".join(parts) + f" {bar}"

    def rule(left, mid, end, fill):
        return left + mid.join(fill * (w + 2) for w in widths) + end

    out = [title, rule("┏", "┳", "┓", "━"), line(columns, "┃"), rule("┡", "╇", "┩", "━")]
    out += [line(row) for row in rows]
    out.append(rule("└", "┴", "┘", "─"))
    return "\n".join(out)


def markdown(report: Report, depth: int | None = None) -> str:
    _, _, flow = _title(report, lambda text: f"`{text}`").partition(": ")
    lines = [f"**{report.name}**: {flow}", "",
             "| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---:" if c in ("Params", "MACs") else "---" for c in COLUMNS) + "|"]
    for r in table_rows(report, depth):
        cells = [r["layer"], f"`{r['type']}`", r["output_shape"], _count(r["params"]),
                 _count(r["macs"]), r["rf"], r["jump"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    lines += [f"{line}  " for line in totals_lines(report)]
    return "\n".join(lines)


def csv_text(report: Report, depth: int | None = None) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["layer", "type", "output_shape", "params", "macs", "receptive_field", "jump"])
    for r in table_rows(report, depth):
        writer.writerow([r["layer"], r["type"], r["output_shape"], _plain(r["params"]),
                         _plain(r["macs"]), r["rf"], r["jump"]])
    return buf.getvalue()
