"""``convcalc net``: read a spec (or a batch of YAML documents), evaluate, render.

Kept apart from the command definitions so that yaml is imported only when a network is
asked for.
"""

from __future__ import annotations

import json

from convcalc import spec
from convcalc.errors import ConvcalcError
from convcalc.graph.run import evaluate
from convcalc.render import report as render


def run_net(path: str, input_shape, depth, fmt: str, emit) -> bool:
    """Evaluate every document of ``path`` and emit each result; True when all succeeded."""
    text, source = spec.read_text(path)
    docs = spec.load_documents(text, source)
    if not docs:
        raise ConvcalcError(f"{source}: empty spec", fix="write a mapping with input: and layers:")
    batch = len(docs) > 1
    failed = 0
    for number, doc in enumerate(docs, 1):
        where = f"{source}#{number}" if batch else source
        try:
            report = evaluate(doc, where, input_shape)
        except ConvcalcError as e:
            failed += 1
            if not batch and fmt not in ("json", "jsonl"):
                raise
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


def run_valid_inputs(path: str, input_shape, sizes: range, fmt: str, emit) -> None:
    """The input sizes in ``sizes`` that the (single-document) spec accepts."""
    from convcalc.solve import valid

    text, source = spec.read_text(path)
    docs = spec.load_documents(text, source)
    if len(docs) != 1:
        raise ConvcalcError(f"{source}: --valid-inputs takes a spec of one document, got {len(docs)}")
    if isinstance(docs[0], ConvcalcError):
        raise docs[0]
    parsed = spec.parse_spec(docs[0], source)
    shape = tuple(input_shape or parsed.input or ())
    result = valid.scan(parsed, shape, sizes)
    if fmt == "json":
        emit("out", json.dumps(result.as_json(shape)))
        return
    dims = "x".join(["S"] * (len(shape) - 2))
    emit("out", "\n".join([
        f"{parsed.name}: input {list(shape[:2])} + {dims}, S from {sizes.start} to {sizes.stop - 1}",
        f"valid:  {valid.compact(result.valid)}",
        f"exact (no layer drops pixels):  {valid.compact(result.exact)}",
        f"smallest valid input: {list((*shape[:2], *[result.valid[0]] * (len(shape) - 2)))}"
        if result.valid else "no size in the range is valid",
    ]))


def _emit_report(report, depth, fmt, emit) -> None:
    if fmt in ("json", "jsonl"):
        data = render.report_json(report)
        emit("out", json.dumps(data, ensure_ascii=False, indent=None if fmt == "jsonl" else 2))
    elif fmt == "markdown":
        emit("out", render.markdown(report, depth))
    elif fmt == "csv":
        emit("out", render.csv_text(report, depth).rstrip("\n"))
    else:
        emit("out", render.text_table(report, depth))
        emit("out", "\n".join(render.totals_lines(report)))
