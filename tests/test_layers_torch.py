"""Every registered layer against torch: its signature, and its example's shape and params."""

import inspect
import math

import pytest

from conftest import requires_torch
from convcalc.spec import expr
from convcalc.ops import REGISTRY, REQUIRED

pytestmark = requires_torch
torch = pytest.importorskip("torch")

from torch_oracle import REFUSED  # noqa: E402


# layers that are torchvision's, not torch.nn's: (module, class) to compare with
TORCHVISION = {"StochasticDepth": ("torchvision.ops", "StochasticDepth"),
               "Permute": ("torchvision.ops.misc", "Permute"),
               "LayerNorm2d": ("torchvision.models.convnext", "LayerNorm2d"),
               "ShiftedWindowAttention": ("torchvision.models.swin_transformer", "ShiftedWindowAttention"),
               "PatchMerging": ("torchvision.models.swin_transformer", "PatchMerging")}


def reference_class(name):
    """torch.nn's class ``name``, or torchvision's for its layers (skipped without it)."""
    if not REGISTRY[name].source:
        return getattr(torch.nn, name)
    from importlib import import_module

    from convcalc.backend.tvcompat import import_torchvision

    if import_torchvision() is None:
        pytest.skip("torchvision is not installed")
    module, cls = TORCHVISION[name]
    return getattr(import_module(module), cls)


def torch_signature(name):
    """(name, default) of every constructor argument but device/dtype, and how many of
    them may be given positionally."""
    params = [
        p for p in inspect.signature(reference_class(name).__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    positional = [p for p in params if p.kind != p.KEYWORD_ONLY and p.name not in ("device", "dtype")]
    keep = [p for p in params if p.name not in ("device", "dtype")]
    return [
        (p.name, REQUIRED if p.default is inspect.Parameter.empty else p.default) for p in keep
    ], len(positional)


def same_default(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b)
    return a == b or (a is REQUIRED and b is REQUIRED)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_signature_matches_torch(name):
    layer = REGISTRY[name]
    ours = list(layer.signature)
    theirs, positional = torch_signature(name)
    assert layer.positional == positional
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    for (n, a), (_, b) in zip(ours, theirs):
        assert same_default(a, b), f"{name}.{n}: {a!r} != {b!r}"


def run_example(layer):
    name, args, kwargs = expr.parse_call(layer.example)
    args = [expr.evaluate(a) for a in args]
    kwargs = {k: expr.evaluate(v) for k, v in kwargs.items()}
    return name, args, kwargs


def forward_arguments(layer, x):
    """The example's further forward arguments: real tensors for torch, and the bound
    forward call (tensors as shapes) for the layer's rule."""
    from convcalc.graph.trace import TensorRef, _forward_type

    if not layer.example_forward:
        return [], {}, None
    args, kwargs = eval(f"(lambda *a, **k: (a, k))({layer.example_forward})",  # noqa: S307
                        {"torch": torch, "x": x})

    def ref(v):
        return TensorRef("t", tuple(v.shape)) if isinstance(v, torch.Tensor) else v

    call = _forward_type(layer).bind([ref(a) for a in args], {k: ref(v) for k, v in kwargs.items()},
                                     receiver=ref(x))
    shapes = _forward_type(layer).shapes(call)
    del shapes["input"]
    return args, kwargs, shapes


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_example_matches_torch(name):
    layer = REGISTRY[name]
    _, args, kwargs = run_example(layer)
    shape = layer.example_input
    bound = layer.bind(args, kwargs, shape)
    x = torch.zeros(shape, dtype=getattr(torch, layer.example_dtype))
    more, forward, call = forward_arguments(layer, x)
    step = layer.apply(bound, shape) if call is None else layer.apply_call(bound, shape, call)
    module = reference_class(name)(*args, **kwargs)
    with torch.no_grad():
        out = module(x, *more, **forward)
    if isinstance(out, tuple):  # MultiheadAttention's (output, weights), MaxPool's indices
        assert [None if o is None else tuple(o.shape) for o in out[1:]] == list(step.more)
        out = out[0]
    assert tuple(out.shape) == step.out
    assert sum(p.numel() for p in module.parameters()) == step.params
    assert all(type(v) is int for v in step.out)
    assert REFUSED != step.out
