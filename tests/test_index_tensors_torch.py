"""getitem with integer tensors (convcalc/ops/getitem.py) against torch's advanced indexing.

Hypothesis draws a tensor and an index of int64/int32 tensors (0-d ones included), slices,
integers, None and ``...``: where convcalc accepts, torch must give the same shape; where
it refuses, torch must refuse too. The index tensors hold zeros, valid wherever the
dimension is not empty (their values are data, which convcalc does not check). A mask (bool
or uint8) is refused by design, since its result's size is data, and so is an index whose
dtype the spec does not tell; a float one is refused as torch refuses it.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import requires_torch
from convcalc.errors import ConvcalcError
from helpers import checked_and_exported, report_of

pytestmark = requires_torch
torch = pytest.importorskip("torch")

SOME = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))


def lowered(inputs: dict, line: str):
    rows = [f"  {k}: {json.dumps(v)}" for k, v in inputs.items()]
    text = "inputs:\n" + "\n".join(rows) + f"\nlayers:\n  - {json.dumps(line)}\noutputs: [y]\n"
    try:
        return report_of(text)
    except ConvcalcError as e:
        return e


@st.composite
def indexing(draw):
    shape = draw(st.lists(st.integers(0, 4), min_size=1, max_size=4))
    parts, tensors = [], {}
    for _ in range(draw(st.integers(1, len(shape) + 1))):
        kind = draw(st.sampled_from(["tensor", "tensor", "tensor", "slice", "int", "none", "ellipsis"]))
        if kind == "tensor":
            name = f"i{len(tensors)}"
            tensors[name] = (draw(st.lists(st.integers(0, 3), max_size=2)), draw(st.sampled_from(["int64", "int32"])))
            parts.append(name)
        elif kind == "slice":
            parts.append(draw(st.sampled_from([":", "1:", ":2", "::2"])))
        elif kind == "int":
            parts.append(str(draw(st.integers(-2, 2))))
        else:
            parts.append("None" if kind == "none" else "...")
    return shape, parts, tensors


@SOME
@given(indexing())
def test_integer_tensor_indices_index_as_torch(case):
    shape, parts, tensors = case
    index = ", ".join(parts)
    env = {"x": torch.zeros(shape), **{n: torch.zeros(s, dtype=getattr(torch, d)) for n, (s, d) in tensors.items()}}
    try:
        want = tuple(eval(f"x[{index}]", {}, env).shape)  # noqa: S307 - drawn above
    except (IndexError, RuntimeError, TypeError, ValueError) as e:
        want = e
    got = lowered({"x": shape, **{n: {"shape": s, "dtype": d} for n, (s, d) in tensors.items()}}, f"y = x[{index}]")
    if isinstance(got, ConvcalcError):
        assert isinstance(want, Exception), f"convcalc refused x[{index}] of {shape}, torch gives {want}: {got}"
        return
    assert not isinstance(want, Exception), f"torch refused ({want}) x[{index}] of {shape}: convcalc {got.output_shape}"
    assert got.output_shape == want


def test_the_dtype_reaches_the_index_through_shape_operations():
    # a buffer viewed, as maxvit's relative_position_index.view(-1)
    got = lowered({"t": [169, 4]}, "y = t[Buffer([13, 13], dtype='int64').view(-1)]")
    assert got.output_shape == (169, 4)
    got = lowered({"t": [9, 4], "i": {"shape": [3, 3], "dtype": "int64"}}, "y = t[i.flatten()[2:], None]")
    assert got.output_shape == (7, 1, 4)


@pytest.mark.parametrize("index, message", [
    ("Buffer([3], dtype='bool')", "is a mask"),
    ("Buffer([3], dtype='uint8')", "is a mask"),
    ("Buffer([3], dtype='float32')", "must be long, int, byte or bool"),
    ("Buffer([3], dtype='int16')", "must be long, int, byte or bool"),
    ("torch.max(t, 1)[1]", "dtype of the [3] index tensor is not known"),
    ("t[:, 0]", "must be long, int, byte or bool"),  # the input's float32, kept by getitem
])
def test_masks_and_other_dtypes_are_refused_by_name(index, message):
    got = lowered({"t": [3, 4]}, f"y = t[{index}]")
    assert isinstance(got, ConvcalcError) and message in got.message, got
    assert "\n" not in str(got)
    if "mask" in message:  # torch runs it, but the size is the mask's count of True
        assert tuple(torch.zeros(3, 4)[torch.tensor([True, False, True])].shape) == (2, 4)


def test_an_index_tensor_runs_in_torch_and_in_exported_code():
    report = lowered({"t": [169, 4]}, "y = t[Buffer([13, 13], dtype='int64').view(-1)].view(13, 13, -1)")
    _, out = checked_and_exported(report)
    assert tuple(out.shape) == (13, 13, 4)
