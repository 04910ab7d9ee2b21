"""Every registered function against real torch: each example of the registry (valid and
refused) gives the same output shapes, or is refused by both. Families add hypothesis
property tests in their own files; this walk makes sure no function goes untested."""

import json

import pytest

from conftest import requires_torch
from convcalc.errors import ConvcalcError
from convcalc.ops import FUNCTIONS
from helpers import report_of

pytestmark = requires_torch
torch = pytest.importorskip("torch")
F = torch.nn.functional

NAMES = "xyzwv"
CASES = [(name, call, shapes) for name, f in FUNCTIONS.items() for call, shapes in f.examples]


def spec_text(call: str, shapes) -> str:
    inputs = "\n".join(f"  {NAMES[i]}: {list(s)}" for i, s in enumerate(shapes))
    return f"inputs:\n{inputs}\nlayers:\n  - {json.dumps('out = ' + call)}\noutputs: [out]\n"


def torchvision():
    """torchvision, for its functions' examples (skipped where it is not installed)."""
    from convcalc.backend.tvcompat import import_torchvision

    found = import_torchvision()
    if found is None:
        pytest.skip("torchvision is not installed")
    return found


def torch_shapes(call: str, shapes):
    env = {NAMES[i]: torch.zeros(s) for i, s in enumerate(shapes)}
    if call.startswith("center_crop("):  # a spec calls torchvision.transforms.v2's by its name
        torchvision()
        from torchvision.transforms.v2.functional import center_crop

        env["center_crop"] = center_crop
    try:
        out = eval(call, {"torch": torch, "F": F, **env,
                           **({"torchvision": torchvision()} if "torchvision." in call else {})})  # noqa: S307 - the registry's own examples
    except (RuntimeError, ValueError, IndexError, TypeError) as e:
        return e
    return [tuple(o.shape) for o in (out if isinstance(out, (tuple, list)) else [out])]


def test_every_function_has_examples():
    assert [name for name, f in FUNCTIONS.items() if not f.examples] == []


@pytest.mark.parametrize("name, call, shapes", CASES, ids=[f"{c}-{s}" for _, c, s in CASES])
def test_example_matches_torch(name, call, shapes):
    want = torch_shapes(call, shapes)
    try:
        report = report_of(spec_text(call, shapes))
    except ConvcalcError as e:
        assert isinstance(want, Exception), f"convcalc refused what torch runs: {e}"
        return
    assert not isinstance(want, Exception), f"torch refused ({want}) what convcalc accepted"
    got = [report.graph.shapes[v] for op in report.graph.ops[-1:] for v in op.outputs]
    assert got == want
