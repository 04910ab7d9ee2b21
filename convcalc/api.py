r"""The Python API: ``convcalc.summary`` is ``convcalc net`` as a value.

>>> import convcalc
>>> s = convcalc.summary("zoo:lenet")
>>> s.input_shape, s.output_shape
((1, 1, 28, 28), (1, 10))
>>> s.totals["params"], s.totals["macs"]
(61706, 416520)
>>> row = s.rows[0]
>>> row.path, row.type, row.output_shape, row.params, row.receptive_field
('0', 'Conv2d', (1, 6, 28, 28), 156, [5, 5])
>>> convcalc.summary("zoo:lenet", input="1,1,H,W").rows[2].output_shape
(1, 6, 'floor(H/2)', 'floor(W/2)')
>>> try:
...     convcalc.summary('input: [1, 3, 8, 8]\nlayers: ["Conv2d(3, 4, 3, stride=0)"]')
... except convcalc.ConvcalcError as e:
...     print(e)
<string>:2: layer 0 Conv2d: stride must be >= 1, got 0

In a notebook a ``Summary`` shows as a table (``_repr_html_``; ``__rich__`` where rich is
installed); ``print(s)`` gives the text table. docs/api.md has the details.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
from dataclasses import dataclass

from convcalc.engine.symbolic import is_symbolic, pretty
from convcalc.errors import ConvcalcError, SpecError
from convcalc.render import report as render

NUMERIC = ("Params", "MACs")


@dataclass(frozen=True)
class Row:
    """One operation, as a row of the table: sizes are ints, or formulas as text."""

    path: str
    type: str
    description: str
    input_shape: tuple
    output_shape: tuple
    params: int | str
    macs: int | str
    receptive_field: list | str | None  # per spatial axis, "global", or None before any window
    jump: list | None
    leaf: bool  # a layer or function (counted in the totals); False for a merge (cat, add)


class Summary:
    """A network's layers and totals at one input (``convcalc.summary``)."""

    def __init__(self, report, depth: int | None = None):
        self.report = report
        self.depth = depth
        self.name = report.name
        self.input_shape = _sizes(report.input_shape)
        self.output_shape = _sizes(report.output_shape)
        self.totals = {k: _plain(v) for k, v in report.totals.items()}
        self.warnings = list(report.warnings)
        self.assumptions = [text for text, _ in report.assumptions]
        self.rows = [_row(r) for r in report.rows]

    @property
    def layers(self) -> list:
        """The rows the totals count (no merges)."""
        return [r for r in self.rows if r.leaf]

    def to_dict(self) -> dict:
        """The JSON object of ``convcalc net --format json`` (docs/json.md)."""
        return render.report_json(self.report)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def table(self, depth: int | None = None) -> str:
        """The text table and totals, as ``convcalc net`` prints them."""
        depth = self.depth if depth is None else depth
        return "\n".join([render.text_table(self.report, depth), *render.totals_lines(self.report)])

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return self.table()

    def _cells(self) -> list:
        return [[r["layer"], r["type"], r["output_shape"], _count(r["params"]), _count(r["macs"]),
                 r["rf"], r["jump"]] for r in render.table_rows(self.report, self.depth)]

    def _title(self) -> str:
        return render.text_table(self.report, 0).split("\n", 1)[0]

    def _repr_html_(self) -> str:
        e = html.escape
        head = "".join(f"<th style=\"text-align:{'right' if c in NUMERIC else 'left'}\">{e(c)}</th>"
                       for c in render.COLUMNS)
        body = []
        for cells in self._cells():
            tds = "".join(f"<td style=\"text-align:{'right' if c in NUMERIC else 'left'}\">{e(v)}</td>"
                          for c, v in zip(render.COLUMNS, cells))
            body.append(f"<tr>{tds}</tr>")
        totals = "<br>".join(e(line) for line in render.totals_lines(self.report))
        return (f"<div class=\"convcalc-summary\"><p><b>{e(self._title())}</b></p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
                f"<p>{totals}</p></div>")

    def __rich__(self):
        """The table as ``convcalc net`` shows it on a terminal, fitted to the console's width
        (without rich, the text table)."""
        try:
            import rich  # noqa: F401
        except ImportError:
            return self.table()
        from convcalc.render.terminal import NetTable

        return NetTable(self.report, self.depth)


def summary(spec, input=None, *, depth: int | None = None) -> Summary:  # noqa: A002 - torch's word
    """Every layer of ``spec`` at ``input`` (default: the spec's own), with totals.

    ``spec``: a path, ``"zoo:NAME"``, YAML text, a parsed mapping (``yaml.safe_load``'s) or a
    ``convcalc.spec.Spec``. ``input``: a shape (``(1, 3, 224, 224)``, ``"1,3,224,224"``,
    ``"1,3,H,W"`` for formulas) or a mapping of named inputs to shapes. ``depth`` folds the
    displayed table as ``--depth`` does. Errors raise ``ConvcalcError`` with the command
    line's message."""
    from convcalc.graph.run import analyse, evaluate
    from convcalc.spec import Spec, parse_spec

    shape = _input(input)
    parsed = spec if isinstance(spec, Spec) else None
    try:
        if parsed is not None:
            return Summary(analyse(parsed, shape), depth)
        doc, source = _document(spec, shape)
        try:
            return Summary(evaluate(doc, source, shape), depth)
        except ConvcalcError:
            with contextlib.suppress(ConvcalcError):
                parsed = parse_spec(doc, source)
            raise
    except ConvcalcError as error:
        from convcalc import diagnose  # the command line's diagnosis: the same message

        raise diagnose.explain(error, parsed, shape, scan=True) from None


def _document(spec, shape):
    from convcalc.spec import paste, read_text

    if isinstance(spec, dict):
        import yaml

        text, source = yaml.safe_dump(_lists(spec), sort_keys=False), "<dict>"
    elif isinstance(spec, os.PathLike):
        text, source = read_text(os.fspath(spec))
    elif isinstance(spec, str):
        if spec.startswith("zoo:") or ("\n" not in spec and os.path.exists(spec)):
            text, source = read_text(spec)
        elif "\n" in spec or spec.lstrip().startswith(("{", "[", "-")) or ": " in spec:
            text, source = spec, "<string>"
        else:
            text, source = read_text(spec)  # the command line's "no such file"
    else:
        raise ConvcalcError(f"a spec is a path, zoo:NAME, YAML text or a mapping, got {type(spec).__name__}")
    docs = paste.documents(text, source, None if isinstance(shape, dict) else shape)
    if not docs:
        raise SpecError(f"{source}: empty spec", fix="write a mapping with input: and layers:")
    if len(docs) != 1:
        raise SpecError(f"{source}: summary takes a spec of one document, got {len(docs)}")
    return docs[0], source


def _lists(value):
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def _input(value):
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(name): _shape(shape) for name, shape in value.items()}
    return _shape(value)


def _shape(value) -> tuple:
    from convcalc.engine.symbolic import is_symbol_name, parse_size

    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "[(" and text[-1:] in ")]":
            text = text[1:-1]
        parts = [p.strip() for p in text.replace("×", "x").replace(",", "x").split("x")]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        parts = None
    out = []
    for p in parts or [None]:
        if isinstance(p, bool) or p is None:
            out = None
            break
        if isinstance(p, int) or is_symbolic(p):
            out.append(p)
        elif isinstance(p, str) and (p.lstrip("+-").isdecimal() or is_symbol_name(p)):
            out.append(parse_size(p))
        else:
            out = None
            break
    if not out:
        raise ConvcalcError(f"{value!r} is not a shape: write the full tensor shape, e.g. 1,3,224,224, "
                            "1x3x224x224 or 1,3,H,W")
    if any(isinstance(s, int) and not 0 <= s <= 2**63 - 1 for s in out):
        raise ConvcalcError(f"{value!r}: sizes must be from 0 to 2**63 - 1")
    return tuple(out)


def _plain(value):
    return pretty(value) if is_symbolic(value) else value


def _sizes(shape) -> tuple:
    return tuple(_plain(s) for s in shape)


def _count(value) -> str:
    return pretty(value) if is_symbolic(value) else f"{value:,}"


def _row(row) -> Row:
    rf, jump = render.field_json(row)
    return Row(".".join(row.path), row.type, row.describe, _sizes(row.input_shape),
               _sizes(row.output_shape), _plain(row.params), _plain(row.macs), rf, jump, row.leaf)
