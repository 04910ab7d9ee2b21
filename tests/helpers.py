"""Shared helpers for tests: run specs from text through the library, and the oracle's
side of a comparison (torch's result or refusal, its MACs)."""

import json
import warnings

from convcalc.errors import ConvcalcError
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


def engine(text: str):
    """The report of a spec, or convcalc's refusal."""
    try:
        return report_of(text)
    except ConvcalcError as e:
        return e


def spec_text(inputs: dict, lines: list, outputs: list | None = None) -> str:
    """A spec: inputs name -> shape (or {shape, dtype}), items as text, output names (none:
    the items are a sequence from the first input)."""
    rows = [f"  {name}: {json.dumps(value if isinstance(value, dict) else list(value))}"
            for name, value in inputs.items()] or ["  x: [1]"]
    items = "\n".join(f"  - {json.dumps(line)}" for line in lines)
    text = "inputs:\n" + "\n".join(rows) + f"\nlayers:\n{items}\n"
    return text + (f"outputs: {json.dumps(outputs)}\n" if outputs else "")


def outcome(fn, refusals: tuple):
    """What the oracle gives: fn's result, or the exception (of ``refusals``) it raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn()
        except refusals as e:
            return e


def macs_of(fn) -> int:
    """torch's count of fn's matmuls and convolutions, as MACs (FlopCounterMode's FLOPs / 2)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() // 2


def checked_and_exported(report, inputs=None):
    """The torch backend agrees with ``report`` on every operation, and its exported file
    runs: (the exported model, its output on ``inputs``, by default the file's
    ``example_inputs()``)."""
    import torch

    from convcalc.backend import build, export

    checks = build.compare(report)
    assert checks and all(c.ok for c in checks), [c for c in checks if not c.ok]
    namespace = {}
    exec(compile(export.to_torch(report, "test.yaml"), "<exported>", "exec"), namespace)  # noqa: S102 - our export
    model = namespace["build_model"]().eval()
    with torch.no_grad():
        return model, model(*(namespace["example_inputs"]() if inputs is None else inputs))
