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


def torch_signature(name):
    """(name, default) of every constructor argument but device/dtype, and how many of
    them may be given positionally."""
    params = [
        p for p in inspect.signature(getattr(torch.nn, name).__init__).parameters.values()
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


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_example_matches_torch(name):
    layer = REGISTRY[name]
    _, args, kwargs = run_example(layer)
    shape = layer.example_input
    bound = layer.bind(args, kwargs, shape)
    step = layer.apply(bound, shape)
    module = getattr(torch.nn, name)(*args, **kwargs)
    with torch.no_grad():
        out = module(torch.zeros(shape))
    assert tuple(out.shape) == step.out
    assert sum(p.numel() for p in module.parameters()) == step.params
    assert all(type(v) is int for v in step.out)
    assert REFUSED != step.out
