"""One network at several inputs, side by side: ``convcalc net SPEC --input A --input B``.

One table: each row's output shape and MACs per input, its parameters once (per input only
when they differ, as when a ``Linear`` infers ``in_features`` from the size); then the
totals per input with their ratio to the first input's. Rows are matched by module path,
so a block that only runs at one size (a ``when:`` on the shape) gets an empty cell at the
others. JSON: ``{"comparison": [each report], "totals": {...}}`` (docs/json.md).
"""

from __future__ import annotations

import csv
import io

from convcalc.engine.symbolic import is_symbolic, pretty
from convcalc.graph.report import Report
from convcalc.render import report as single
from convcalc.render.columns import human, human_bytes

TOTALS = ("params", "trainable_params", "macs", "flops", "activation_bytes", "param_bytes")
MISSING = "—"


def labels(reports: list[Report]) -> list[str]:
    """``224`` for a square input, ``224x320`` otherwise; the whole shape when two inputs
    differ outside their spatial sizes (batch, channels)."""
    def spatial(shape):
        sizes = [pretty(s) for s in shape[2:]] or [pretty(s) for s in shape]
        return sizes[0] if len(set(sizes)) == 1 else "x".join(sizes)

    out = [spatial(r.input_shape) for r in reports]
    if len(set(out)) < len(out):
        out = ["x".join(pretty(s) for s in r.input_shape) for r in reports]
    return out


def ratio(value, first):
    """``value / first`` as a float, or None when either is symbolic or ``first`` is 0."""
    if is_symbolic(value) or is_symbolic(first) or not first:
        return None
    return value / first


def aligned(reports: list[Report], depth: int | None = None) -> list[list]:
    """The display rows of every report matched by layer path: one list per row, holding
    each report's row (a ``single.table_rows`` dict) or None where it has no such row."""
    tables = []
    for r in reports:
        seen: dict = {}
        keyed = {}
        for row in single.table_rows(r, depth):
            n = seen[row["layer"]] = seen.get(row["layer"], -1) + 1
            keyed[(row["layer"], n)] = row
        tables.append(keyed)
    order = list(tables[0])
    for table in tables[1:]:
        known = set(order)
        previous = None
        for key in table:
            if key not in known:
                order.insert(order.index(previous) + 1 if previous is not None else 0, key)
                known.add(key)
            previous = key
    return [[t.get(key) for t in tables] for key in order]


def _one(cells, key) -> str:
    """A cell shared by the inputs; ``a / b`` where they differ (``Linear(256, 10)`` at one
    size, ``Linear(1024, 10)`` at another, its ``in_features`` inferred)."""
    return " / ".join(dict.fromkeys(c[key] for c in cells if c))


def _params_differ(rows) -> bool:
    return any(len({c["params"] if c else None for c in cells}) > 1 for cells in rows)


def columns(reports, rows, count=None) -> tuple[list, list]:
    """Column titles and the display cells (strings) of each aligned row; ``count`` writes
    params and MACs (default: exact, with thousands separators)."""
    count = count or single_count
    names = labels(reports)
    per_input_params = _params_differ(rows)
    titles = ["Layer", "Type", *[f"Output @{n}" for n in names]]
    titles += [f"Params @{n}" for n in names] if per_input_params else ["Params"]
    titles += [f"MACs @{n}" for n in names]
    table = []
    for cells in rows:
        line = [_one(cells, "layer"), _one(cells, "type"),
                *[c["output_shape"] if c else MISSING for c in cells]]
        params = [count(c["params"]) if c else MISSING for c in cells]
        line += params if per_input_params else params[:1]
        line += [count(c["macs"]) if c else MISSING for c in cells]
        table.append(line)
    return titles, table


def single_count(value) -> str:
    return pretty(value) if is_symbolic(value) else f"{value:,}"


def title(reports: list[Report], quote=lambda text: text) -> str:
    names = labels(reports)
    flows = [f"@{n} {quote(_shape(r.input_shape))} -> {quote(_shape(r.output_shape))}"
             for n, r in zip(names, reports)]
    return f"{reports[0].name}: " + "; ".join(flows)


def _shape(shape) -> str:
    return "[" + ", ".join(map(pretty, shape)) + "]"


def totals_lines(reports: list[Report]) -> list[str]:
    names = labels(reports)
    totals = [r.totals for r in reports]

    def each(key, show, note=lambda v: ""):
        values = [t[key] for t in totals]
        if len({pretty(v) for v in values}) == 1:
            return show(values[0]) + note(values[0])
        parts = []
        for i, (n, v) in enumerate(zip(names, values)):
            extra = [e for e in (note(v).strip(" ()"), _times(v, values[0]) if i else "") if e]
            parts.append(f"@{n} {show(v)}" + (f" ({'; '.join(extra)})" if extra else ""))
        return "; ".join(parts)

    def gmacs(v):
        return "" if is_symbolic(v) or abs(v) < 1000 else f" ({human(v)})"

    def trainable(v):  # params: the trainable ones in brackets, as the single table does
        t = next(t["trainable_params"] for t in totals if t["params"] is v)
        return f" (trainable {single_count(t)})"

    lines = [
        f"Total params: {each('params', single_count, trainable)}",
        f"Total MACs: {each('macs', single_count, gmacs)}; FLOPs = 2 x MACs",
        f"Activation memory (estimate): {each('activation_bytes', human_bytes)}; "
        f"parameter memory (estimate): {each('param_bytes', human_bytes)}",
    ]
    conventions = [line for line in single.totals_lines(reports[0]) if line.startswith("MACs:")]
    lines += conventions
    for n, r in zip(names, reports):
        if r.assumptions:
            lines.append(f"Assuming at @{n} (symbolic sizes): " + "; ".join(
                f"{text} ({why})" if why else text for text, why in r.assumptions))
    if len(reports) > 1:
        lines.append(f"Ratios (x) are to @{names[0]}, the first --input.")
    return lines


def _times(value, first) -> str:
    r = ratio(value, first)
    return "" if r is None else f"x{r:.4g}"


def text(reports: list[Report], depth: int | None = None) -> str:
    titles, table = columns(reports, aligned(reports, depth))
    right = [t for t in titles if t.startswith(("Params", "MACs"))]
    body = single.box_table(title(reports), titles, table, right=right)
    return body + "\n" + "\n".join(totals_lines(reports))


def markdown(reports: list[Report], depth: int | None = None) -> str:
    titles, table = columns(reports, aligned(reports, depth))
    _, _, flow = title(reports, lambda t: f"`{t}`").partition(": ")
    lines = [f"**{reports[0].name}**: {flow}", "", "| " + " | ".join(titles) + " |",
             "|" + "|".join("---:" if t.startswith(("Params", "MACs")) else "---" for t in titles) + "|"]
    for line in table:
        cells = [line[0], f"`{line[1]}`", *line[2:]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    lines += [f"{line}  " for line in totals_lines(reports)]
    return "\n".join(lines)


def csv_text(reports: list[Report], depth: int | None = None) -> str:
    rows = aligned(reports, depth)
    names = labels(reports)
    per_input_params = _params_differ(rows)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["layer", "type", *[f"output_shape@{n}" for n in names],
                     *([f"params@{n}" for n in names] if per_input_params else ["params"]),
                     *[f"macs@{n}" for n in names]])

    def plain(cells, key):
        return ["" if c is None else pretty(c[key]) if is_symbolic(c[key]) else c[key] for c in cells]

    for cells in rows:
        params = plain(cells, "params")
        writer.writerow([_one(cells, "layer"), _one(cells, "type"), *["" if c is None else c["output_shape"] for c in cells],
                         *(params if per_input_params else params[:1]), *plain(cells, "macs")])
    return buf.getvalue()


def comparison_json(reports: list[Report]) -> dict:
    """Every report as ``report_json`` gives it, and the totals side by side: each total
    as a list in ``--input`` order, and ``ratios``: each to the first input's (null when
    it is symbolic or zero)."""
    totals = [r.totals for r in reports]

    def plain(v):
        return pretty(v) if is_symbolic(v) else v

    side = {key: [plain(t[key]) for t in totals] for key in TOTALS}
    return {
        "comparison": [single.report_json(r) for r in reports],
        "totals": {
            "inputs": labels(reports),
            "input_shapes": [[plain(s) for s in r.input_shape] for r in reports],
            "output_shapes": [[plain(s) for s in r.output_shape] for r in reports],
            **side,
            "ratios": {key: [ratio(t[key], totals[0][key]) for t in totals] for key in TOTALS},
        },
    }
