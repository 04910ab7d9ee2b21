"""Argument types as PyTorch checks them, for every registered layer: each argument of each
layer's example is replaced by wrong-typed values (a string for a number, a number for a
string, None, a bool, a list), and torch (building the module and running it on the
example input) is the oracle. Where torch refuses, convcalc refuses; where both accept, the
shapes agree; where torch accepts only by coercion (``if bias:`` takes the string 'false'
as true, ``float('2')``, True as 1), convcalc refuses on purpose: the deliberate
differences listed below and in docs/formulas.md. A layer added later is held to the same."""

import warnings

import pytest

from conftest import requires_torch
from convcalc.errors import ConvcalcError
from convcalc.ops import REGISTRY, REQUIRED

pytestmark = requires_torch
torch = pytest.importorskip("torch")

from test_layers_torch import forward_arguments, run_example  # noqa: E402

PROBES = ("2", "fast", "false", None, True, 2.5, 1)  # strings are str values, not expressions
REFUSED = "refused"

# Arguments PyTorch reads through truthiness (``if bias:``, ``if recompute_scale_factor:``):
# any value is accepted, so 'false' builds a bias. Those whose default is True or False are
# found from torch's own signature; these are the others.
TRUTHINESS_EXTRA = {"recompute_scale_factor"}
# A numeric string torch turns into a number with float() (LPPool's norm_type, scale_factor).
FLOAT_OF_STRING = {"norm_type", "scale_factor"}
# Arguments torch stores but does not read for the example (Embedding reads norm_type only
# with max_norm): torch cannot refuse what it never reads.
UNREAD = {("Embedding", "norm_type")}


# Booleans whose default is None; True given for any other argument (a size, a number, a
# string) is refused, though Python's True is 1 to torch.
OPTIONAL_BOOLEANS = {"align_corners", "recompute_scale_factor"}


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def deliberate(layer, arg, default, valid, probe) -> str | None:
    """Why convcalc refuses ``probe`` for ``arg`` (``valid`` in the example) although torch
    may accept it, or None."""
    if (isinstance(default, bool) or arg in TRUTHINESS_EXTRA) and not isinstance(probe, bool) \
            and not (probe is None and default is None):
        return "truthiness"
    if probe is True and not isinstance(default, bool) and arg not in OPTIONAL_BOOLEANS:
        return "a boolean is not a number"
    if isinstance(probe, str) and arg in FLOAT_OF_STRING:
        return "float() of a string"
    if (layer.name, arg) in UNREAD and not is_number(probe):
        return "not read by torch"
    return None


def torch_verdict(layer, kwargs):
    from convcalc.backend.build import layer_class

    x = torch.zeros(layer.example_input, dtype=getattr(torch, layer.example_dtype))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = layer_class(torch, layer, layer.name)(**kwargs)
            more, forward, _ = forward_arguments(layer, x)
            with torch.no_grad():
                out = module(x, *more, **forward)
    except Exception:  # noqa: BLE001 - any exception is torch's refusal
        return REFUSED
    return tuple((out[0] if isinstance(out, tuple) else out).shape)


def convcalc_verdict(layer, kwargs):
    x = torch.zeros(layer.example_input, dtype=getattr(torch, layer.example_dtype))
    try:
        bound = layer.bind([], kwargs, layer.example_input)
        _, _, call = forward_arguments(layer, x)
        step = (layer.apply(bound, layer.example_input) if call is None
                else layer.apply_call(bound, layer.example_input, call))
    except ConvcalcError:
        return REFUSED
    return tuple(step.out)


def probes_for(default):
    """The wrong-typed values to try; a list only where the default is a boolean, a float
    or a string (a list is a size's right type, and torch spreads [1] over every dim)."""
    scalar = isinstance(default, (bool, float, str))
    return PROBES + (([1],) if scalar else ())


def cases():
    for name in sorted(REGISTRY):
        layer = REGISTRY[name]
        if layer.varargs:
            continue
        _, args, kwargs = run_example(layer)
        names = [n for n, _ in layer.signature]
        base = {**dict(zip(names, args)), **kwargs}
        for arg, default in layer.signature:
            if arg.startswith("_") or not (default is REQUIRED or default is None
                                          or isinstance(default, (bool, int, float, str))):
                continue  # Embedding's _weight, PatchMerging's norm_layer: not spec values
            valid = base.get(arg, default)
            for probe in probes_for(None if default is REQUIRED else default):
                if probe == valid and type(probe) is type(valid):
                    continue
                yield layer, arg, default, valid, {**base, arg: probe}, probe


def test_every_argument_of_every_layer_is_typed_as_torch_types_it():
    wrong, reasons_used, count = [], set(), 0
    for layer, arg, default, valid, kwargs, probe in cases():
        count += 1
        ours, theirs = convcalc_verdict(layer, kwargs), torch_verdict(layer, kwargs)
        reason = deliberate(layer, arg, default, valid, probe)
        if reason is not None:
            reasons_used.add(reason)
            if ours != REFUSED:
                wrong.append(f"{layer.name}({arg}={probe!r}): accepted; convcalc refuses it ({reason})")
        elif ours != theirs:
            wrong.append(f"{layer.name}({arg}={probe!r}): torch {theirs}, convcalc {ours}")
    assert wrong == []
    assert count > 500  # every layer, every argument
    # every deliberate difference is still needed (and stays documented)
    assert reasons_used == {"truthiness", "a boolean is not a number", "float() of a string",
                            "not read by torch"}


@pytest.mark.parametrize("layer, message", [
    ("LeakyReLU(negative_slope='0.1')", "negative_slope must be a number, got '0.1': write 0.1 without quotes"),
    ("BatchNorm2d(3, eps='1e-5')", "eps must be a number, got '1e-5': write 1e-5 without quotes"),
    ("GELU(approximate='fast')", "approximate must be one of 'none', 'tanh', got 'fast'"),
    ("Conv2d(3, 4, 3, bias='false')", "bias must be true or false, got 'false': write false without "
     "quotes (PyTorch would read any non-empty string as true)"),
    ("Hardtanh(0.5, 0.5)", "max_val must be greater than min_val, got min_val=0.5 and max_val=0.5"),
    ("Threshold(None, 1.0)", "threshold must be a number, got None"),
])
def test_wrong_types_are_refused_in_one_line(layer, message):
    from helpers import report_of

    with pytest.raises(ConvcalcError) as caught:
        report_of(f'input: [1, 3, 8, 8]\nlayers: ["{layer}"]\n')
    assert str(caught.value).endswith(message)


def test_truthiness_is_documented():
    from pathlib import Path

    text = Path(__file__).parent.parent.joinpath("docs", "formulas.md").read_text(encoding="utf-8")
    assert "bias='false'" in text and "truthiness" in text
