"""``convcalc layer``: one pasted line of PyTorch -> a one-item spec -> the engine.

The line becomes the only item of a spec and runs through ``graph.run.analyse``, as a
layer of ``convcalc net`` would: every rule, inference and refusal is the engine's.
Kept apart from the command definitions so that the engine is imported only when run.
"""

from __future__ import annotations

import json

from convcalc.errors import ConvcalcError, InputTooSmall, SpecError
from convcalc.graph.run import analyse, smallest_valid_input
from convcalc.render import columns
from convcalc.render import report as render
from convcalc.spec import paste
from convcalc.spec.load import Located, LocatedDict
from convcalc.spec.parse import parse_spec
from convcalc.engine.symbolic import is_symbolic, pretty

SOURCE = "<layer>"
KEYS = ("type", "output_shape", "params", "macs", "receptive_field", "jump")  # net's columns


def one_item_spec(line: str):
    """The spec whose only item is ``line`` (cleaned as pasted), and its module name."""
    name, call = paste.pasted_line(line)
    layers = Located([call])
    layers.lines = [1]
    doc = LocatedDict(name=name or "layer", layers=layers)
    doc.line, doc.key_lines = 1, {}
    spec = parse_spec(doc, SOURCE)
    item = spec.layers[0]
    if item.kind == "call" and item.target in ("Sequential", "ModuleList", "ModuleDict"):
        raise SpecError(f"{item.target} is a container, not a layer",
                        fix="give one layer, or pass the text of print(model) to convcalc net - --input SHAPE")
    if name is not None:
        item.name = name
    elif item.kind == "call" and item.target[:1].isupper():
        item.name = item.target  # errors then read "Conv2d: ...", not "layer 0 Conv2d: ..."
    return spec, call


def run_layer(line: str, input_shape, fmt: str, rich: bool = False):
    """What ``convcalc layer`` prints for ``line`` on ``input_shape``: JSON or the table's
    text, or with ``rich`` the table as a rich renderable fitted to the terminal."""
    try:
        spec, call = one_item_spec(line)
        try:
            report = analyse(spec, input_shape)
        except InputTooSmall as e:
            smallest = smallest_valid_input(spec, input_shape)
            if smallest is not None:
                e.fix = (f"{e.fix}; " if e.fix else "") + f"the smallest input it accepts is {list(smallest)}"
            raise
    except ConvcalcError as e:
        raise _unlocated(e) from None
    if fmt == "json":
        return json.dumps(_json(report, call), ensure_ascii=False)
    if rich:
        from convcalc.render import terminal

        return terminal.NetTable(report, keys=KEYS, title=_title(report, spec.name),
                                 footer=lambda keys: _footer(report, keys))
    return _text(report, spec.name)


def _unlocated(error: ConvcalcError) -> ConvcalcError:
    """The error without the one-item spec's ``<layer>:1:`` (there is no file to point at)."""
    message = error.message
    for prefix in (f"{SOURCE}:1: ", f"{SOURCE}: "):
        message = message.removeprefix(prefix)
    out = type(error)(message, fix=error.fix)
    out.path, out.layer_type = error.path, error.layer_type
    return out


def _text(report, name: str) -> str:
    """The table as net draws it for a pipe (human units), then the exact counts, the
    columns explained, notes and assumptions."""
    size = columns.dtype_bytes(report.dtype)
    rows = [render.cell_texts(KEYS, d, report.totals, size) for d in render.display_rows(report)]
    titles = [columns.COLUMNS[k].title for k in KEYS]
    table = render.box_table(_title(report, name), titles, rows, right=("Params", "MACs"))
    return "\n".join([table, *_footer(report, KEYS)])


def _title(report, name: str) -> str:
    title = f"input {_shape(report.input_shape)} -> {_shape(report.output_shape)}"
    return title if name == "layer" else f"{name}: {title}"


def _footer(report, keys) -> list[str]:
    """The lines under the table: exact counts, the ``keys`` columns explained, notes."""
    totals = report.totals
    lines = [f"Params: {_count(totals['params'])}; MACs: {_count(totals['macs'])}", render.legend(keys)]
    lines += [f"Note: {w}" for w in report.warnings]
    lines += [f"Assuming {text}" + (f" ({why})" if why else "") for text, why in report.assumptions]
    return lines


def _json(report, call: str) -> dict:
    data = render.report_json(report)
    last = data["layers"][-1] if data["layers"] else {}
    totals = data["totals"]
    return {
        "layer": call,
        "type": last.get("type"),
        "description": last.get("description"),
        "input_shape": data["input_shape"],
        "output_shape": data["output_shape"],
        "params": totals["params"],
        "macs": totals["macs"],
        "flops": totals["flops"],
        "receptive_field": last.get("receptive_field"),
        "jump": last.get("jump"),
        "layers": data["layers"],
        "warnings": data["warnings"],
        "assumptions": data["assumptions"],
    }


def _shape(shape) -> str:
    return "[" + ", ".join(map(pretty, shape)) + "]"


def _count(value) -> str:
    """``118,013,952 (118M)``: exact, and from 1000 up in the table's human units."""
    if is_symbolic(value):
        return pretty(value)
    return f"{value:,}" if abs(value) < 1000 else f"{value:,} ({columns.human(value)})"
