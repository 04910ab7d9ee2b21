"""Generated composite networks (chains, blocks, concat/add branches) against torch."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import requires_torch
from helpers import report_of

pytestmark = requires_torch
torch = pytest.importorskip("torch")

from convcalc.errors import ConvcalcError  # noqa: E402
from convcalc.backend.build import compare  # noqa: E402

SAME_SIZE = [  # layers that keep the spatial size, so that branches can be joined
    "Conv2d: {out_channels: %d, kernel_size: 3, padding: 1}",
    "Conv2d: {out_channels: %d, kernel_size: 1}",
    "Conv2d: {out_channels: %d, kernel_size: 4, padding: same}",
]
ANY = [
    "Conv2d: {out_channels: %d, kernel_size: 3, stride: 2}",
    "MaxPool2d: {kernel_size: 2, ceil_mode: true}",
    "AvgPool2d: {kernel_size: 3, stride: 1, padding: 1}",
    "BatchNorm2d",
    "ReLU",
    "ConvTranspose2d: {out_channels: %d, kernel_size: 2, stride: 2}",
    "Upsample: {scale_factor: 1.5}",
    "Dropout2d: {p: 0.1}",
]


def layer(draw, pool):
    text = draw(st.sampled_from(pool))
    return "{" + (text % draw(st.integers(1, 6)) if "%d" in text else text) + "}"


@st.composite
def items(draw, depth=0):
    out = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["layer", "layer", "same", "concat", "add"] if depth < 2 else ["layer", "same"]))
        if kind == "layer":
            out.append(layer(draw, ANY))
        elif kind == "same":
            out.append(layer(draw, SAME_SIZE))
        elif kind == "concat":
            branches = [
                "[" + ", ".join(layer(draw, SAME_SIZE) for _ in range(draw(st.integers(1, 2)))) + "]"
                for _ in range(draw(st.integers(2, 3)))
            ]
            out.append("{concat: [" + ", ".join(branches) + "]}")
        else:
            channels = draw(st.integers(1, 6))
            body = "[{Conv2d: {out_channels: %d, kernel_size: 3, padding: 1}}, {BatchNorm2d: null}]" % channels
            shortcut = "[{Conv2d: {out_channels: %d, kernel_size: 1}}]" % channels
            out.append("{add: [%s, %s]}" % (body, draw(st.sampled_from([shortcut, "[]"]))))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=items(), size=st.integers(4, 20), channels=st.integers(1, 4))
def test_generated_networks_agree_with_torch(body, size, channels):
    text = f"input: [2, {channels}, {size}, {size}]\nlayers: [{', '.join(body)}]\n"
    try:
        report = report_of(text)
    except ConvcalcError:
        return  # refusals are compared layer by layer in test_batch_torch.py
    checks = compare(report)
    assert all(c.ok for c in checks), (text, [c for c in checks if not c.ok])
    assert json.dumps(report.totals)  # plain numbers
