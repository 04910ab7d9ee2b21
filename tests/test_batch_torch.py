"""Generated single-layer specs, run as one YAML batch, against real torch layers (CPU).

Every generated document is one layer with random arguments (invalid ones included) and a
random input shape; convcalc's batch output (jsonl) must give torch's output shape, or an
error object exactly where torch raises.
"""

import json
import warnings

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conftest import requires_torch

pytestmark = requires_torch
torch = pytest.importorskip("torch")

from convcalc.cli.netrun import run_net  # noqa: E402

small = st.integers(1, 4)
maybe_bad = st.integers(-1, 4)


def per_dim(nd, values):
    return st.one_of(values, st.tuples(*[values] * nd))


@st.composite
def spatial_input(draw, nd, batched=None):
    batched = draw(st.booleans()) if batched is None else batched
    channels = draw(small)
    sizes = draw(st.lists(st.integers(1, 9 if nd < 3 else 5), min_size=nd, max_size=nd))
    return ([draw(st.integers(1, 2))] if batched else []) + [channels] + sizes


@st.composite
def layer_case(draw):
    family = draw(st.sampled_from([
        "conv", "tconv", "maxpool", "avgpool", "lppool", "adaptive", "upsample", "pixel",
        "linear", "batchnorm", "instancenorm", "layernorm", "groupnorm", "pad", "flatten",
        "unfold", "fold", "dim",
    ]))
    nd = draw(st.integers(1, 3))
    shape = draw(spatial_input(nd))
    c = shape[-nd - 1]
    kw = {}
    if family == "conv":
        name = f"Conv{nd}d"
        args = [draw(st.sampled_from([c, c, c + 1])), draw(small), draw(per_dim(nd, maybe_bad))]
        kw = {"stride": draw(per_dim(nd, maybe_bad)), "dilation": draw(per_dim(nd, st.integers(0, 3))),
              "padding": draw(st.one_of(per_dim(nd, st.integers(-1, 4)), st.sampled_from(["same", "valid"]))),
              "groups": draw(st.integers(1, 3)),
              "padding_mode": draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))}
    elif family == "tconv":
        name = f"ConvTranspose{nd}d"
        args = [c, draw(small), draw(per_dim(nd, maybe_bad))]
        kw = {"stride": draw(per_dim(nd, maybe_bad)), "padding": draw(per_dim(nd, st.integers(-1, 4))),
              "output_padding": draw(per_dim(nd, st.integers(-1, 3))),
              "dilation": draw(per_dim(nd, st.integers(1, 3))), "groups": draw(st.integers(1, 2))}
    elif family in ("maxpool", "avgpool", "lppool"):
        kind = {"maxpool": "Max", "avgpool": "Avg", "lppool": "LP"}[family]
        name = f"{kind}Pool{nd}d"
        args = ([2] if kind == "LP" else []) + [draw(per_dim(nd, maybe_bad))]
        kw = {"stride": draw(st.one_of(st.none(), per_dim(nd, maybe_bad))),
              "ceil_mode": draw(st.booleans())}
        if kind != "LP":
            kw["padding"] = draw(per_dim(nd, st.integers(-1, 3)))
        if kind == "Max":
            kw["dilation"] = draw(per_dim(nd, st.integers(0, 3)))
    elif family == "adaptive":
        name = f"Adaptive{draw(st.sampled_from(['Avg', 'Max']))}Pool{nd}d"
        args = [draw(st.one_of(st.integers(-1, 12), st.tuples(*[st.one_of(st.none(), st.integers(0, 12))] * nd)))]
    elif family == "upsample":
        shape = draw(spatial_input(nd, batched=True))
        name = "Upsample"
        mode = draw(st.sampled_from(["nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact"]))
        size = draw(st.one_of(st.none(), per_dim(nd, st.integers(0, 12))))
        scale = None if size is not None and draw(st.booleans()) else draw(
            st.one_of(st.none(), st.floats(0.1, 3.0), st.sampled_from([0.29, 1.5, 2, 2.5])))
        args = []
        kw = {"size": size, "scale_factor": scale, "mode": mode}
        if mode in ("linear", "bilinear", "bicubic", "trilinear") and draw(st.booleans()):
            kw["align_corners"] = draw(st.booleans())
    elif family == "pixel":
        name = draw(st.sampled_from(["PixelShuffle", "PixelUnshuffle"]))
        shape = draw(st.lists(st.integers(1, 8), min_size=3, max_size=4))
        args = [draw(st.integers(1, 3))]
    elif family == "linear":
        shape = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
        name = "Linear"
        args = [draw(st.sampled_from([shape[-1], shape[-1] + 1])), draw(st.integers(1, 5))]
        kw = {"bias": draw(st.booleans())}
    elif family == "batchnorm":
        name = f"BatchNorm{nd}d"
        shape = draw(st.lists(st.integers(1, 4), min_size=2, max_size=5))
        args = [draw(st.sampled_from([shape[1], shape[1] + 1]))]
        kw = {"affine": draw(st.booleans())}
    elif family == "instancenorm":
        name = f"InstanceNorm{nd}d"
        args = [draw(st.sampled_from([c, c + 1]))]
        kw = {"affine": draw(st.booleans())}
    elif family == "layernorm":
        name = "LayerNorm"
        args = [draw(st.sampled_from([shape[-1:], shape[-2:], [shape[-1] + 1]]))]
    elif family == "groupnorm":
        name = "GroupNorm"
        shape = draw(st.lists(st.integers(1, 6), min_size=2, max_size=4))
        args = [draw(st.integers(1, 4)), draw(st.sampled_from([shape[1], shape[1] + 2]))]
    elif family == "pad":
        name = f"{draw(st.sampled_from(['Zero', 'Constant', 'Reflection', 'Replication', 'Circular']))}Pad{nd}d"
        pads = draw(st.one_of(st.integers(-2, 5), st.lists(st.integers(-2, 5), min_size=2 * nd, max_size=2 * nd)))
        args = [pads] + ([0.5] if name.startswith("Constant") else [])
    elif family == "flatten":
        name = draw(st.sampled_from(["Flatten", "Unflatten"]))
        if name == "Flatten":
            args = [draw(st.integers(-3, 3)), draw(st.integers(-3, 3))]
        else:
            d = draw(st.integers(0, len(shape) - 1))
            args = [d, draw(st.sampled_from([(shape[d], 1), (1, -1), (2, -1), (3, 5)]))]
    elif family == "unfold":
        name = "Unfold"
        shape = draw(spatial_input(2))
        args = [draw(per_dim(2, st.integers(1, 4)))]
        kw = {"padding": draw(per_dim(2, st.integers(0, 2))), "stride": draw(per_dim(2, st.integers(1, 3))),
              "dilation": draw(per_dim(2, st.integers(1, 2)))}
    elif family == "fold":
        name = "Fold"
        k = draw(st.integers(1, 3))
        out = draw(st.integers(k, 6))
        blocks = (out - k + 1) ** 2
        shape = [1, draw(st.sampled_from([k * k, 2 * k * k, k * k + 1])), draw(st.sampled_from([blocks, blocks + 1]))]
        args = [out, k]
    else:
        name = draw(st.sampled_from(["GLU", "Softmax", "LogSoftmax"]))
        args = [draw(st.integers(-5, 4))]
    return name, args, kw, shape


def spec_doc(name, args, kw, shape):
    call = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kw.items()])
    return f"name: case\ninput: {json.dumps(shape)}\nlayers:\n  - \"{name}({call})\"\n"


def torch_answer(name, args, kw, shape):
    """(output shape or None if torch raises, whether it raises only in training mode)."""

    def attempt(train):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = getattr(torch.nn, name)(*args, **kw).train(train)
                with torch.no_grad():
                    return list(module(torch.zeros(shape)).shape)
        except (RuntimeError, ValueError, TypeError, NotImplementedError, IndexError):
            return None

    trained = attempt(True)
    if trained is not None:
        return trained, False
    evaluated = attempt(False)
    return evaluated, evaluated is not None


def check(case, result):
    """convcalc's result for one case agrees with torch (shape, refusal, training-only note)."""
    expected, train_only = torch_answer(*case)
    got = None if "error" in result else result["output_shape"]
    if expected is not None and 0 in expected and got is None and case[0].startswith("ConvTranspose"):
        return  # oneDNN's empty output; see tests/test_torch_oracle.py
    layout_dependent = any("memory layout" in w for w in result.get("warnings", []))
    if layout_dependent and expected is None:
        return  # PyTorch raised on overlapping copies, as the warning says it may
    assert got == expected, (spec_doc(*case), result)
    if got is not None:
        noted = any("training mode" in w for w in result["warnings"])
        assert noted == train_only, (spec_doc(*case), result)


def run_batch(text, tmp_path):
    path = tmp_path / "batch.yaml"
    path.write_text(text)
    lines = []

    def emit(kind, payload):
        if kind == "out":
            lines.append(payload)

    run_net(str(path), None, None, "jsonl", emit)
    return [json.loads(line) for line in lines]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(cases=st.lists(layer_case(), min_size=60, max_size=60))
def test_generated_single_layer_specs_agree_with_torch(cases, tmp_path_factory):
    text = "---\n".join(spec_doc(*case) for case in cases)
    results = run_batch(text, tmp_path_factory.mktemp("batch"))
    assert len(results) == len(cases)
    for case, result in zip(cases, results):
        check(case, result)
