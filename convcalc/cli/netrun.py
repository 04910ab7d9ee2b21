"""``convcalc net``: read a spec (or a batch of YAML documents), evaluate, render.

Kept apart from the command definitions so that yaml is imported only when a network is
asked for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from convcalc import spec
from convcalc.spec import paste
from convcalc.spec.load import MAX_BYTES
from convcalc.errors import ConvcalcError
from convcalc.graph.run import evaluate
from convcalc.render import report as render
from convcalc.render.columns import DEFAULT
from convcalc.cli.progress import progress


@dataclass(frozen=True)
class View:
    """How results are shown: the columns (--columns), the dtype of the memory estimates
    (--dtype), and --color (auto: rich's console on a terminal, plain text elsewhere)."""

    keys: tuple = DEFAULT
    dtype: str = "float32"
    color: str = "auto"

    def rich(self) -> bool:
        """Whether a table goes through rich: on a terminal, or forced (--color always,
        FORCE_COLOR); output to a pipe or a file stays plain and never imports rich."""
        import os
        import sys

        if self.color == "always" or (self.color == "auto" and os.environ.get("FORCE_COLOR")):
            return True
        return sys.stdout.isatty()


def run_net(path: str, input_shape, depth, fmt: str, emit, keep_going: bool = False,
            max_bytes: int = MAX_BYTES, view: View = View()) -> bool:
    """Evaluate every document of ``path`` and emit each result; True when all succeeded.

    A failure is diagnosed (``convcalc.diagnose``); with one document and a table, the rows
    before the failing layer are printed first, on a terminal or with ``keep_going``."""
    text, source = spec.read_text(path, max_bytes)
    unnamed = None if isinstance(input_shape, dict) else input_shape  # dict: NAME=SHAPE inputs
    docs = paste.documents(text, source, unnamed)  # YAML, a bare list, or print(model)
    if not docs:
        raise ConvcalcError(f"{source}: empty spec", fix="write a mapping with input: and layers:")
    batch = len(docs) > 1
    failed = 0
    with progress(len(docs), "evaluating documents", stdout_too=False) as advance:
        for number, doc in enumerate(docs, 1):
            failed += not _run_document(doc, number, docs, source, input_shape, depth, fmt, emit,
                                        keep_going, view)
            advance()
    if batch and failed and fmt in ("json", "jsonl"):
        emit("err", f"{failed} of {len(docs)} documents failed (see their error objects)")
    return failed == 0


def _run_document(doc, number, docs, source, input_shape, depth, fmt, emit, keep_going, view) -> bool:
    """One document of ``run_net``: its result emitted, or its error; False when it failed."""
    batch = len(docs) > 1
    where = f"{source}#{number}" if batch else source
    try:
        report = evaluate(doc, where, input_shape)
    except ConvcalcError as error:
        e = _diagnosed(error, doc, where, input_shape, scan=not batch)
        if not batch and fmt not in ("json", "jsonl"):
            if fmt == "table" and (keep_going or _terminal()):
                _emit_partial(e, depth, emit, view)
            raise e from None
        if fmt in ("json", "jsonl"):
            emit("out", json.dumps(render.error_json(e), ensure_ascii=False))
            if not batch:
                emit("err", str(e))
        else:
            emit("err", str(e))
        return False
    report.dtype = view.dtype
    _emit_report(report, depth, fmt, emit, view)
    return True


def _diagnosed(error: ConvcalcError, doc, source: str, input_shape, scan: bool) -> ConvcalcError:
    """The error with its cause said first, when ``convcalc.diagnose`` recognises one."""
    from convcalc import diagnose

    try:
        parsed = None if isinstance(doc, ConvcalcError) else spec.parse_spec(doc, source)
    except ConvcalcError:
        parsed = None
    return diagnose.explain(error, parsed, input_shape, scan=scan)


def _terminal() -> bool:
    import sys

    return sys.stdout.isatty()


def partial_report(error: ConvcalcError):
    """(report, title) of the operations lowered before ``error`` stopped the network (the
    lowering attaches them as ``error.partial``), titled with the failing layer; None when
    there are none."""
    from convcalc.graph.report import report

    graph = getattr(error, "partial", None)
    if graph is None or not graph.ops or graph.shapes.get(graph.outputs[0]) is None:
        return None
    failing = error.path or "?"
    if error.layer_type and failing.rsplit(".", 1)[-1] != error.layer_type:
        failing = f"{failing} {error.layer_type}"
    return report(graph), (f"{graph.name}: input {list(graph.input_shape)}, the layers before "
                           f"{failing}, which fails (the error below)")


def partial_table(error: ConvcalcError, depth=None, keys=DEFAULT) -> str | None:
    """``partial_report``'s table as plain text; None when there is none."""
    found = partial_report(error)
    if found is None:
        return None
    _, _, body = render.text_table(found[0], depth, keys).partition("\n")
    return f"{found[1]}\n{body}"


def _emit_partial(error: ConvcalcError, depth, emit, view: View) -> None:
    if not view.rich():
        table = partial_table(error, depth, view.keys)
        if table:
            emit("out", table)
        return
    found = partial_report(error)
    if found is not None:
        from convcalc.render import terminal

        table = terminal.NetTable(found[0], depth, view.keys, title=found[1], footer=False)
        terminal.console(view.color).print(table)


def run_valid_inputs(path: str, input_shape, sizes, fmt: str, emit,
                     max_bytes: int = MAX_BYTES) -> None:
    """The input sizes in ``sizes`` (a range for every spatial dimension, or one range per
    dimension) that the (single-document) spec accepts."""
    from convcalc.solve import valid

    text, source = spec.read_text(path, max_bytes)
    docs = paste.documents(text, source, input_shape)  # YAML, a bare list, or print(model)
    if len(docs) != 1:
        raise ConvcalcError(f"{source}: --valid-inputs takes a spec of one document, got {len(docs)}")
    if isinstance(docs[0], ConvcalcError):
        raise docs[0]
    parsed = spec.parse_spec(docs[0], source)
    shape = tuple(input_shape or parsed.input or ())
    result = valid.scan(parsed, shape, sizes,
                        progress=lambda total: progress(total, "scanning input sizes"))
    if fmt == "json":
        emit("out", json.dumps(result.as_json()))
        return
    emit("out", "\n".join(result.lines(parsed.name)))


def run_compare(path: str, shapes: list, depth, fmt: str, emit,
                max_bytes: int = MAX_BYTES, view: View = View()) -> bool:
    """One (single-document) spec at each of ``shapes``, side by side (render.compare)."""
    from convcalc.render import compare

    text, source = spec.read_text(path, max_bytes)
    docs = paste.documents(text, source, shapes[0])  # YAML, a bare list, or print(model)
    if len(docs) != 1:
        raise ConvcalcError(f"{source}: comparing inputs takes a spec of one document, got {len(docs)}")
    if isinstance(docs[0], ConvcalcError):
        raise docs[0]
    reports = []
    for shape in shapes:
        try:
            reports.append(evaluate(docs[0], source, shape))
            reports[-1].dtype = view.dtype
        except ConvcalcError as failure:
            e = _diagnosed(failure, docs[0], source, shape, scan=True)
            error = type(e)(f"at --input {','.join(map(str, shape))}: {e}")
            error.path, error.layer_type = e.path, e.layer_type
            if fmt not in ("json", "jsonl"):
                raise error from None
            emit("out", json.dumps(render.error_json(error), ensure_ascii=False))
            emit("err", str(error))
            return False
    if fmt == "table" and view.rich():
        from convcalc.render import terminal

        terminal.console(view.color).print(terminal.ComparisonTable(reports, depth))
        return True
    _emit_formatted(fmt, emit, lambda: compare.comparison_json(reports),
                    lambda: compare.markdown(reports, depth), lambda: compare.csv_text(reports, depth),
                    lambda: [compare.text(reports, depth)])
    return True


def _emit_report(report, depth, fmt, emit, view: View = View()) -> None:
    keys = view.keys
    if fmt == "table" and view.rich():
        from convcalc.render import terminal

        terminal.console(view.color).print(terminal.NetTable(report, depth, keys))
        return
    _emit_formatted(fmt, emit, lambda: render.report_json(report, keys),
                    lambda: render.markdown(report, depth, keys),
                    lambda: render.csv_text(report, depth, keys),
                    lambda: [render.text_table(report, depth, keys),
                             "\n".join(render.totals_lines(report, keys))])


def _emit_formatted(fmt, emit, as_json, markdown, csv_text, text) -> None:
    """One rendering of a result in ``fmt``: each argument makes its format's text."""
    if fmt in ("json", "jsonl"):
        emit("out", json.dumps(as_json(), ensure_ascii=False, indent=None if fmt == "jsonl" else 2))
    elif fmt == "markdown":
        emit("out", markdown())
    elif fmt == "csv":
        emit("out", csv_text().rstrip("\n"))
    else:
        for block in text():
            emit("out", block)
