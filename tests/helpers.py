"""Shared helpers for tests: run specs from text through the library."""

from convcalc.graph.run import analyse
from convcalc import spec


def report_of(text: str, source: str = "test.yaml", input_shape=None):
    (doc,) = spec.load_documents(text, source)
    if isinstance(doc, Exception):
        raise doc
    return analyse(spec.parse_spec(doc, source), input_shape)


def zoo_report(name: str, input_shape=None):
    text, source = spec.read_text(f"zoo:{name}")
    return report_of(text, source, input_shape)
