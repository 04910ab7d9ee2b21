"""``convcalc net``: read a spec (or a batch of YAML documents), evaluate, render.

Kept apart from the command definitions so that yaml is imported only when a network is
asked for.
"""

from __future__ import annotations

import contextlib
import json

from convcalc import spec
from convcalc.spec import paste
from convcalc.errors import ConvcalcError
from convcalc.graph.run import evaluate
from convcalc.render import report as render


def run_net(path: str, input_shape, depth, fmt: str, emit, keep_going: bool = False) -> bool:
    """Evaluate every document of ``path`` and emit each result; True when all succeeded.

    A failure is diagnosed (``convcalc.diagnose``); with one document and a table, the rows
    before the failing layer are printed first, on a terminal or with ``keep_going``."""
    text, source = spec.read_text(path)
    unnamed = None if isinstance(input_shape, dict) else input_shape  # dict: NAME=SHAPE inputs
    docs = paste.documents(text, source, unnamed)  # YAML, a bare list, or print(model)
    if not docs:
        raise ConvcalcError(f"{source}: empty spec", fix="write a mapping with input: and layers:")
    batch = len(docs) > 1
    failed = 0
    for number, doc in enumerate(docs, 1):
        where = f"{source}#{number}" if batch else source
        try:
            report = evaluate(doc, where, input_shape)
        except ConvcalcError as error:
            failed += 1
            e = _diagnosed(error, doc, where, input_shape, scan=not batch)
            if not batch and fmt not in ("json", "jsonl"):
                if fmt == "table" and (keep_going or _terminal()):
                    table = partial_table(e, depth)
                    if table:
                        emit("out", table)
                raise e from None
            if fmt in ("json", "jsonl"):
                emit("out", json.dumps(render.error_json(e), ensure_ascii=False))
                if not batch:
                    emit("err", str(e))
            else:
                emit("err", str(e))
            continue
        _emit_report(report, depth, fmt, emit)
    if batch and failed and fmt in ("json", "jsonl"):
        emit("err", f"{failed} of {len(docs)} documents failed (see their error objects)")
    return failed == 0


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


def partial_table(error: ConvcalcError, depth=None) -> str | None:
    """The table of the operations lowered before ``error`` stopped the network (the
    lowering attaches them as ``error.partial``), titled with the failing layer; None when
    there are none."""
    from convcalc.graph.report import report

    graph = getattr(error, "partial", None)
    if graph is None or not graph.ops or graph.shapes.get(graph.outputs[0]) is None:
        return None
    _, _, body = render.text_table(report(graph), depth).partition("\n")
    failing = error.path or "?"
    if error.layer_type and failing.rsplit(".", 1)[-1] != error.layer_type:
        failing = f"{failing} {error.layer_type}"
    return (f"{graph.name}: input {list(graph.input_shape)}, the layers before {failing}, "
            f"which fails (the error below)\n{body}")


def run_valid_inputs(path: str, input_shape, sizes, fmt: str, emit) -> None:
    """The input sizes in ``sizes`` (a range for every spatial dimension, or one range per
    dimension) that the (single-document) spec accepts."""
    from convcalc.solve import valid

    text, source = spec.read_text(path)
    docs = paste.documents(text, source, input_shape)  # YAML, a bare list, or print(model)
    if len(docs) != 1:
        raise ConvcalcError(f"{source}: --valid-inputs takes a spec of one document, got {len(docs)}")
    if isinstance(docs[0], ConvcalcError):
        raise docs[0]
    parsed = spec.parse_spec(docs[0], source)
    shape = tuple(input_shape or parsed.input or ())
    result = valid.scan(parsed, shape, sizes, progress=_progress_bar)
    if fmt == "json":
        emit("out", json.dumps(result.as_json()))
        return
    emit("out", "\n".join(result.lines(parsed.name)))


@contextlib.contextmanager
def _progress_bar(total: int):
    """A scan's progress on standard error: only on a terminal, and only with rich installed
    (it is optional); otherwise nothing."""
    import sys

    bar = None
    if total > 100 and sys.stderr.isatty():
        try:
            from rich.console import Console
            from rich.progress import Progress
        except ImportError:
            Console = None
        if Console is not None:
            bar = Progress(console=Console(stderr=True), transient=True)
    if bar is None:
        yield lambda n=1: None
        return
    with bar:
        task = bar.add_task("scanning sizes", total=total)
        yield lambda n=1: bar.advance(task, n)


def run_compare(path: str, shapes: list, depth, fmt: str, emit) -> bool:
    """One (single-document) spec at each of ``shapes``, side by side (render.compare)."""
    from convcalc.render import compare

    text, source = spec.read_text(path)
    docs = paste.documents(text, source, shapes[0])  # YAML, a bare list, or print(model)
    if len(docs) != 1:
        raise ConvcalcError(f"{source}: comparing inputs takes a spec of one document, got {len(docs)}")
    if isinstance(docs[0], ConvcalcError):
        raise docs[0]
    reports = []
    for shape in shapes:
        try:
            reports.append(evaluate(docs[0], source, shape))
        except ConvcalcError as failure:
            e = _diagnosed(failure, docs[0], source, shape, scan=True)
            error = type(e)(f"at --input {','.join(map(str, shape))}: {e}")
            error.path, error.layer_type = e.path, e.layer_type
            if fmt not in ("json", "jsonl"):
                raise error from None
            emit("out", json.dumps(render.error_json(error), ensure_ascii=False))
            emit("err", str(error))
            return False
    _emit_formatted(fmt, emit, lambda: compare.comparison_json(reports),
                    lambda: compare.markdown(reports, depth), lambda: compare.csv_text(reports, depth),
                    lambda: [compare.text(reports, depth)])
    return True


def _emit_report(report, depth, fmt, emit) -> None:
    _emit_formatted(fmt, emit, lambda: render.report_json(report),
                    lambda: render.markdown(report, depth), lambda: render.csv_text(report, depth),
                    lambda: [render.text_table(report, depth), "\n".join(render.totals_lines(report))])


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
