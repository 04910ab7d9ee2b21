"""Resampling, padding and pooling functions (ops/resize.py, ops/pool_functions.py) against
real torch, and center_crop against torchvision: over every parameter, valid and invalid
values, the same output shapes or both refuse; symbolic sizes evaluate to the numeric ones."""

import pytest
from hypothesis import given, settings, strategies as st

from conftest import requires_torch
from convcalc.errors import ConvcalcError
from helpers import checked_and_exported, report_of
from test_functions_extra_torch import agree, spec_of, torch_outputs

pytestmark = requires_torch
torch = pytest.importorskip("torch")

size = st.integers(1, 6)


@st.composite
def tensors(draw, ranks, empty=True):
    """A shape of one of ``ranks``; now and then a batch or a channel dim of 0."""
    shape = [draw(size) for _ in range(draw(st.sampled_from(ranks)))]
    if empty and shape and draw(st.integers(0, 9)) == 0:
        shape[draw(st.integers(0, min(1, len(shape) - 1)))] = 0
    return tuple(shape)


def _kw(**kwargs) -> str:
    return "".join(f", {k}={v!r}" for k, v in kwargs.items() if v is not _OMIT)


_OMIT = object()
# True for a number, or a number for a boolean, is refused on purpose where torch takes it
# (tests/test_function_types_torch.py); these are the values both judge alike.
SCALES = [0.3, 0.5, 1, 1.5, 2, 2.7, 3, 0, -0.5, "a"]
MODES = ["nearest"] * 3 + ["nearest-exact", "linear", "bilinear", "bilinear", "bicubic", "trilinear",
                           "area", "area", "lanczos", "foo"]


VALID_MODES = {3: ["nearest", "nearest-exact", "linear", "area"], 4: ["nearest", "bilinear", "bicubic", "area", "lanczos"],
               5: ["nearest", "trilinear", "area"]}


def rare(draw, common, *others):
    """``common`` five times in six, else one of ``others``."""
    return common if draw(st.integers(0, 5)) else draw(st.sampled_from(others))


@st.composite
def interpolate_calls(draw):
    shape = draw(tensors([3, 4, 4, 5, 5, 2, 6]))
    dim = len(shape) - 2
    n = rare(draw, dim, 0, 1, 2, 3, 4)
    mode = draw(st.sampled_from(VALID_MODES.get(len(shape), ["nearest"]))) if draw(st.integers(0, 4)) \
        else draw(st.sampled_from(MODES))
    which = rare(draw, draw(st.sampled_from(["size", "scale"])), "both", "neither")
    size_ = _OMIT
    scale = _OMIT
    if which in ("size", "both"):
        one = draw(st.integers(-1, 12))
        size_ = draw(st.sampled_from([one, [draw(st.integers(0, 12)) for _ in range(n)],
                                      tuple(draw(st.integers(1, 12)) for _ in range(n)), True, 2.0]))
    if which in ("scale", "both"):
        scale = draw(st.one_of(st.sampled_from(SCALES), st.lists(st.sampled_from(SCALES[:7]), min_size=n, max_size=n)))
    interpolating = mode in ("linear", "bilinear", "bicubic", "trilinear", "lanczos")
    return "F.interpolate(x" + _kw(
        size=size_, scale_factor=scale, mode=mode,
        align_corners=draw(st.sampled_from([_OMIT, True, False] if interpolating else [_OMIT])) if draw(
            st.integers(0, 5)) else draw(st.sampled_from([None, True, 1])),
        recompute_scale_factor=rare(draw, _OMIT, None, True, False),
        antialias=(True if mode == "lanczos" else draw(st.sampled_from([_OMIT, False, True])))
        if draw(st.integers(0, 5)) else draw(st.sampled_from([False, True]))) + ")", shape


@settings(max_examples=600, deadline=None)
@given(case=interpolate_calls())
def test_interpolate(case):
    call, shape = case
    agree(call, [shape])


@st.composite
def pad_calls(draw):
    shape = draw(tensors([1, 2, 3, 3, 4, 4, 5], empty=True))
    n = draw(st.sampled_from([0, 1, 2, 2, 3, 4, 5]))
    pad = [draw(st.integers(-3, 3)) for _ in range(n)]
    form = draw(st.sampled_from(["list", "tuple", "tuple", "int", "float"]))
    pad = {"list": pad, "tuple": tuple(pad), "int": 1, "float": [1.0, 1]}[form]
    mode = draw(st.sampled_from([_OMIT, "constant", "reflect", "reflect", "replicate", "replicate",
                                 "circular", "foo"]))
    value = draw(st.sampled_from([_OMIT, _OMIT, None, 0, 0.5, "a"]))
    return f"F.pad(x, {pad!r}{_kw(mode=mode, value=value)})", shape


@settings(max_examples=500, deadline=None)
@given(case=pad_calls())
def test_pad(case):
    call, shape = case
    if isinstance(torch_outputs(call, [shape]), Exception):
        try:
            report = report_of(spec_of(call, [shape]))
        except ConvcalcError:
            return
        # circular padding whose copies overlap: PyTorch raises or not by memory layout, and
        # convcalc says so (ops/padding.py)
        assert "unsupported operation" in (report.graph.ops[-1].step.note or ""), call
        return
    step = agree(call, [shape])
    assert len(step.out) == len(shape)


def test_center_crop_source_is_torchvisions():
    """The function run and exported for center_crop computes what torchvision's does."""
    from convcalc.backend import functions
    from convcalc.backend.tvcompat import import_torchvision
    from convcalc.ops import FUNCTIONS

    if import_torchvision() is None:
        pytest.skip("torchvision is not installed")
    from torchvision.transforms.v2.functional import center_crop

    ours = functions.compiled(torch, FUNCTIONS["center_crop"].source)["center_crop"]
    torch.manual_seed(0)
    for shape in [(3, 8, 9), (1, 3, 5, 4), (5, 4), (2, 0, 3)]:
        x = torch.randn(shape)
        for output_size in [4, [3, 6], [5], [9, 2], (11, 12), 2.5, [0, 3], [-2, 3]]:
            try:
                want = center_crop(x, output_size)
            except (RuntimeError, ValueError) as e:
                with pytest.raises(type(e)):
                    ours(x, output_size)
                continue
            assert torch.equal(ours(x, output_size), want), (shape, output_size)


@settings(max_examples=400, deadline=None)
@given(shape=tensors([1, 2, 3, 3, 4, 4]),
       output_size=st.one_of(st.integers(-2, 10), st.sampled_from([2.7, "a", [3, 4, 5], [2.0, 3]]),
                             st.lists(st.integers(-2, 10), min_size=1, max_size=2)))
def test_center_crop(shape, output_size):
    from convcalc.backend.tvcompat import import_torchvision

    if import_torchvision() is None:
        pytest.skip("torchvision is not installed")
    from torchvision.transforms.v2.functional import center_crop

    agree(f"center_crop(x, {output_size!r})", [shape], {"center_crop": center_crop})


@settings(max_examples=300, deadline=None)
@given(shape=tensors([1, 2, 3, 4, 4, 5]), channels=st.sampled_from([1, 2, 3, 4, 8, 9, 12, 18]),
       factor=st.sampled_from([1, 2, 2, 3, 0, -1, True, 2.0]), op=st.sampled_from(["shuffle", "unshuffle"]),
       form=st.sampled_from(["F", "torch"]))
def test_pixel_shuffle(shape, channels, factor, op, form):
    if len(shape) >= 3 and shape[-3]:
        shape = (*shape[:-3], channels, *shape[-2:])
        if op == "unshuffle":
            shape = (*shape[:-2], shape[-2] * 2, shape[-1] * (2 if channels % 2 else 3))
    name = "upscale_factor" if op == "shuffle" else "downscale_factor"
    agree(f"{form}.pixel_{op}(x, {name}={factor!r})", [shape])


OUTPUT_SIZES = st.one_of(st.integers(-1, 6), st.sampled_from([None, (None, 2), (2, None, 3), 2.0, (1,), (3, 2)]),
                         st.lists(st.integers(0, 6), min_size=1, max_size=3).map(tuple))


@settings(max_examples=400, deadline=None)
@given(nd=st.sampled_from(["1d", "2d", "3d", "max2d"]), data=st.data(), output_size=OUTPUT_SIZES,
       indices=st.sampled_from([_OMIT, False, True]))
def test_adaptive_pools(nd, data, output_size, indices):
    rank = {"1d": 3, "2d": 4, "3d": 5, "max2d": 4}[nd]
    shape = data.draw(tensors([rank - 2, rank - 1, rank, rank, rank + 1]))
    name = "adaptive_max_pool2d" if nd == "max2d" else f"adaptive_avg_pool{nd}"
    extra = _kw(return_indices=indices) if nd == "max2d" else ""
    step = agree(f"F.{name}(x, {output_size!r}{extra})", [shape])
    if step is not None and nd == "max2d" and indices not in (_OMIT, False):
        assert step.more == (step.out,)


@settings(max_examples=500, deadline=None)
@given(shape=tensors([2, 3, 4, 4, 4, 5]), op=st.sampled_from(["avg", "max"]),
       kernel=st.sampled_from([1, 2, 3, 3, (2, 3), (3, 2), [2], 0]),
       stride=st.sampled_from([_OMIT, _OMIT, None, 1, 2, 2, (1, 2), [], 0]),
       padding=st.sampled_from([_OMIT, _OMIT, 0, 1, 1, (1, 0), -1, 2]), dilation=st.sampled_from([_OMIT, _OMIT, 1, 2, 0]),
       ceil_mode=st.sampled_from([_OMIT, _OMIT, False, True, 1]),
       extra=st.sampled_from([_OMIT, _OMIT, _OMIT, False, True, 1, 0, 2]))
def test_pools(shape, op, kernel, stride, padding, dilation, ceil_mode, extra):
    if op == "avg":  # no dilation; count_include_pad and divisor_override instead
        kwargs = _kw(stride=stride, padding=padding, ceil_mode=ceil_mode,
                     count_include_pad=extra if extra in (_OMIT, False, True, 1) else _OMIT,
                     divisor_override=extra if extra in (0, 2, True) else _OMIT)
    else:
        kwargs = _kw(stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode,
                     return_indices=extra if isinstance(extra, bool) else _OMIT)
    step = agree(f"F.{op}_pool2d(x, {kernel!r}{kwargs})", [shape])
    if step is not None and op == "max" and extra is True:
        assert step.more == (step.out,)


RESIZING = """
inputs:
  x: [2, 4, 9, 10]
layers:
  - "up = F.interpolate(x, scale_factor=1.5, mode='bicubic', align_corners=True)"
  - "p = F.pad(up, (1, 2, -1, 0), mode='replicate')"
  - "c = center_crop(p, [17, 20])"
  - "s = F.pixel_shuffle(F.pixel_unshuffle(c[..., :16, :], 2), 2)"
  - "m, i = F.max_pool2d(s, 3, stride=2, padding=1, return_indices=True)"
  - "a = F.adaptive_avg_pool2d(m, (None, 3)) + F.adaptive_max_pool2d(m, 1) + F.avg_pool2d(m, (2,))[..., :1, :1].sum()"
  - "a.sum() + i.sum() + F.adaptive_avg_pool1d(x.flatten(2), 1).sum() + F.adaptive_avg_pool3d(x, 1).sum()"
"""


def test_backend_and_export():
    report = report_of(RESIZING)
    shapes = {op.type: report.graph.shapes[op.outputs[0]] for op in report.graph.ops}
    assert shapes["interpolate"] == (2, 4, 13, 15) and shapes["center_crop"] == (2, 4, 17, 20)
    _, out = checked_and_exported(report, [torch.zeros(2, 4, 9, 10)])
    assert tuple(out.shape) == report.output_shape


@pytest.mark.parametrize("call", [
    "F.interpolate(x, scale_factor=2, mode='bilinear')", "F.interpolate(x, size=x.shape[-2:], mode='nearest-exact')",
    "F.interpolate(x, scale_factor=0.5, mode='area')", "F.pad(x, (1, 2, -1, 0), mode='reflect')",
    "center_crop(x, [x.size(2) - 2, 3])", "F.pixel_unshuffle(x, 2)", "F.adaptive_avg_pool2d(x, (None, 2))",
    "F.max_pool2d(x, 3, 2, 1, ceil_mode=True)", "x.mean((2, 3))", "x.amax(-1, keepdim=True)", "x.softmax(2)",
    "torch.einsum('nchw,nckw->nchk', x, x)", "x @ x.transpose(-1, -2)", "F.layer_norm(x, x.shape[-2:])"])
def test_symbolic_sizes(call):
    """With symbolic H and W, each size is the expression that numeric sizes evaluate."""
    from convcalc.engine.symbolic import is_symbolic, symbol

    h, w = symbol("H"), symbol("W")
    text = "inputs:\n  x: [2, 4, 6, 6]\nlayers:\n  - \"" + call + "\"\n"
    symbolic = report_of(text, input_shape=(2, 4, h, w))
    for size in (6, 8, 12):
        numeric = report_of(text, input_shape=(2, 4, size, size))
        got = tuple(int(v.subs({h: size, w: size})) if is_symbolic(v) else v for v in symbolic.output_shape)
        assert got == numeric.output_shape, (call, size)
        macs = symbolic.graph.ops[-1].step.macs
        assert (int(macs.subs({h: size, w: size})) if is_symbolic(macs) else macs) == numeric.graph.ops[-1].step.macs
