"""Every registered function against real torch: each example of the registry (valid and
refused) gives the same output shapes, or is refused by both. Families add hypothesis
property tests in their own files; this walk makes sure no function goes untested."""

import json
import re

import pytest

from conftest import requires_torch
from convcalc.errors import ConvcalcError
from convcalc.ops import FUNCTIONS
from convcalc.ops.base import DTYPES
from helpers import report_of

pytestmark = requires_torch
torch = pytest.importorskip("torch")
F = torch.nn.functional

NAMES = "xyzwv"
CASES = [(name, call, shapes) for name, f in FUNCTIONS.items() for call, shapes in f.examples]


def spec_text(call: str, shapes, values=()) -> str:
    """``out = call`` as a spec; a call that gives Python values (sizes, or a tensor and an
    int) asserts them instead, ``values``: (index into its result or None, torch's value)."""
    inputs = "\n".join(f"  {NAMES[i]}: {list(s)}" for i, s in enumerate(shapes)) or "  x: [1]"
    if not values:
        return f"inputs:\n{inputs}\nlayers:\n  - {json.dumps('out = ' + call)}\noutputs: [out]\n"
    checks = [f"_assert(result{'' if i is None else f'[{i}]'} == {v!r}, 'value')" for i, v in values]
    layers = "".join(f"  - {json.dumps(line)}\n" for line in ["result = " + call, *checks])
    return f"inputs:\n{inputs}\nlayers:\n{layers}outputs: [x]\n"


def torchvision():
    """torchvision, for its functions' examples (skipped where it is not installed)."""
    from convcalc.backend.tvcompat import import_torchvision

    found = import_torchvision()
    if found is None:
        pytest.skip("torchvision is not installed")
    return found


DTYPE_ARG = re.compile(r"\bdtype=(['\"])(%s)\1" % "|".join(DTYPES))
TO_DTYPE = re.compile(r"\.to\((['\"])(%s)\1" % "|".join(DTYPES))


def torch_shapes(call: str, shapes):
    env = {NAMES[i]: torch.zeros(s) for i, s in enumerate(shapes)}
    # a spec's buffer (an index tensor in getitem's examples): zeros of its dtype
    env["Buffer"] = lambda shape, dtype=torch.float32: torch.zeros(shape, dtype=dtype)
    call = DTYPE_ARG.sub(r"dtype=torch.\2", call)  # a spec's dtype='int64' is torch's torch.int64
    call = TO_DTYPE.sub(r".to(torch.\2", call)  # and x.to('float16') torch's x.to(torch.float16)
    if call.startswith("center_crop("):  # a spec calls torchvision.transforms.v2's by its name
        torchvision()
        from torchvision.transforms.v2.functional import center_crop

        env["center_crop"] = center_crop
    try:
        out = eval(call, {"torch": torch, "F": F, **env,
                           **({"torchvision": torchvision()} if "torchvision." in call else {})})  # noqa: S307 - the registry's own examples
    except (RuntimeError, ValueError, IndexError, TypeError, ZeroDivisionError) as e:
        return e
    if not isinstance(out, torch.Tensor) and not all(isinstance(o, torch.Tensor) for o in out):
        if not any(isinstance(o, torch.Tensor) for o in out):  # sizes only
            return ValueResult([], [(None, out)])
        return ValueResult([tuple(o.shape) for o in out if isinstance(o, torch.Tensor)],
                           [(i, o) for i, o in enumerate(out) if not isinstance(o, torch.Tensor)])
    return [tuple(o.shape) for o in (out if isinstance(out, (tuple, list)) else [out])]


class ValueResult(list):
    """torch's tensor shapes of a call that also gives Python values (``values``)."""

    def __init__(self, shapes, values):
        super().__init__(shapes)
        self.values = values


def test_every_function_has_examples():
    assert [name for name, f in FUNCTIONS.items() if not f.examples] == []


@pytest.mark.parametrize("name, call, shapes", CASES, ids=[f"{c}-{s}" for _, c, s in CASES])
def test_example_matches_torch(name, call, shapes):
    want = torch_shapes(call, shapes)
    try:
        report = report_of(spec_text(call, shapes, getattr(want, "values", ())))
    except ConvcalcError as e:
        assert isinstance(want, Exception), f"convcalc refused what torch runs: {e}"
        return
    assert not isinstance(want, Exception), f"torch refused ({want}) what convcalc accepted"
    if getattr(want, "values", None):  # the values are asserted in the spec
        ops = [op for op in report.graph.ops if op.type == name]
        assert [report.graph.shapes[v] for op in ops for v in op.outputs] == list(want)
        return
    got = [report.graph.shapes[v] for op in report.graph.ops[-1:] for v in op.outputs]
    assert got == want


@pytest.mark.parametrize("name, call, shapes", CASES, ids=[f"{c}-{s}" for _, c, s in CASES])
def test_example_runs_in_the_torch_backend(name, call, shapes):
    """What the spec accepts, `check` runs with torch: every function has its torch call
    (backend/functions.py), with the arguments in the order torch's own function takes."""
    from convcalc.backend.build import compare

    want = torch_shapes(call, shapes)
    if isinstance(want, Exception) or getattr(want, "values", None):
        return  # refused (the test above), or a function giving Python values
    if "torchvision." in call or call.startswith("center_crop("):
        torchvision()
    report = report_of(spec_text(call, shapes))
    checks = compare(report, "cpu")
    assert all(c.ok for c in checks), [(c.path, c.torch_shape, c.torch_error) for c in checks if not c.ok]
