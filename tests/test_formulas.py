"""Documented worked examples, the pure formulas (int and sympy), and validation messages."""

import pytest

from convcalc import (
    ConvcalcError,
    ParamError,
    ShapeError,
    adaptive_pool_output,
    conv_output,
    pool_output,
    tconv_output,
    upsample_output,
)
from convcalc.engine import formulas

# (description, function, expected) -- the worked examples from the seed notes and DESIGN.md
WORKED = [
    ("28, k5, p2 keeps the size", lambda: conv_output(28, 5, padding=2), (28,)),
    ("LeNet C1 on 28x28", lambda: conv_output((28, 28), 5, padding=2), (28, 28)),
    ("32, k5 -> 28 (LeNet-5 C1)", lambda: conv_output(32, 5), (28,)),
    ("5, k3 -> 3", lambda: conv_output(5, 3), (3,)),
    ("transposed 512, k3, s2 -> 1025", lambda: tconv_output(512, 3, stride=2), (1025,)),
    ("max pool 7, k3, s2, ceil -> 3", lambda: pool_output(7, 3, 2, ceil_mode=True), (3,)),
    ("max pool 6, k3, s2, ceil -> 3", lambda: pool_output(6, 3, 2, ceil_mode=True), (3,)),
    ("max pool 5, k2, s2, p1, ceil -> 3 (last window dropped)",
     lambda: pool_output(5, 2, 2, 1, ceil_mode=True), (3,)),
    ("6, k3, s2, p1 -> 3", lambda: conv_output(6, 3, 2, 1), (3,)),
    ("and back: transposed 3, k3, s2, p1, op1 -> 6",
     lambda: tconv_output(3, 3, 2, 1, output_padding=1), (6,)),
    ("7, k3, d2 -> 3", lambda: conv_output(7, 3, dilation=2), (3,)),
    ("AlexNet conv1 224, k11, s4, p1 -> 54", lambda: conv_output(224, 11, 4, 1), (54,)),
    ("same, even kernel", lambda: conv_output((9, 10), 4, padding="same"), (9, 10)),
    ("valid", lambda: conv_output(10, 3, padding="valid"), (8,)),
    ("per-dim values", lambda: conv_output((28, 30), (3, 5), (1, 2), (1, 0)), (28, 13)),
    ("3-d conv", lambda: conv_output((16, 28, 28), 3, padding=1), (16, 28, 28)),
    ("avg pool floor", lambda: pool_output((28, 28), 2, kind="avg"), (14, 14)),
    ("adaptive keeps None", lambda: adaptive_pool_output((7, 9), (None, 1)), (7, 1)),
    ("adaptive may exceed input", lambda: adaptive_pool_output(3, 10), (10,)),
    ("upsample floors a float64 product", lambda: upsample_output(100, scale_factor=0.29), (28,)),
    ("upsample size wins", lambda: upsample_output((5, 5), size=(8, 9)), (8, 9)),
    ("transposed output_size", lambda: tconv_output(16, 4, 2, 1, output_size=32), (32,)),
]


@pytest.mark.parametrize("desc, fn, expected", WORKED, ids=[w[0] for w in WORKED])
def test_worked_examples(desc, fn, expected):
    out = fn()
    assert out == expected
    assert all(type(o) is int for o in out)


# (function, error type, exact message)
REFUSALS = [
    (lambda: conv_output(3, 5), ShapeError,
     "input 3 is smaller than the dilated kernel 5: pad by at least 1 per side, "
     "or use a smaller kernel or dilation"),
    (lambda: conv_output((1, 1), 3, dilation=2, padding=1), ShapeError,
     "input 1x1 (padded 3x3) is smaller than the dilated kernel 5x5 (kernel_size 3x3, "
     "dilation 2x2): pad by at least 2x2 per side, or use a smaller kernel or dilation"),
    (lambda: conv_output(28, 3, stride=2, padding="same"), ParamError,
     "padding='same' is not supported for strided convolutions (stride 2): use stride 1, "
     "or an explicit padding (convcalc solve-padding finds one)"),
    (lambda: conv_output(28, 3, stride=0), ParamError, "stride must be >= 1, got 0"),
    (lambda: conv_output((28, 28), 3, stride=(2, 0)), ParamError, "stride must be >= 1, got 2x0"),
    (lambda: conv_output(28, 0), ParamError, "kernel_size must be >= 1, got 0"),
    (lambda: conv_output(28, 3, dilation=0), ParamError, "dilation must be >= 1, got 0"),
    (lambda: conv_output(28, 3, padding=-1), ParamError, "padding must be >= 0, got -1"),
    (lambda: conv_output(28, 3.5), ParamError, "kernel_size must be an integer, got 3.5"),
    (lambda: conv_output(28, 3, padding="full"), ParamError,
     "padding must be an integer, 'same' or 'valid', got 'full'"),
    (lambda: conv_output(0, 3), ParamError, "input size must be >= 1, got 0"),
    (lambda: conv_output((28, 28), (3, 3, 3)), ParamError,
     "kernel_size must have 2 values (one per spatial dimension), got 3: 3x3x3"),
    (lambda: conv_output(7, 3, padding=7, padding_mode="reflect"), ShapeError,
     "reflect padding 7 must be smaller than the input 7: use padding <= 6, "
     "or padding_mode='replicate'"),
    (lambda: conv_output(7, 3, padding=8, padding_mode="circular"), ShapeError,
     "circular padding 8 wraps around the input 7 more than once: use padding <= 7"),
    (lambda: conv_output(7, 3, padding_mode="mirror"), ParamError,
     "padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular', got 'mirror'"),
    (lambda: conv_output(2**63, 3), ParamError,
     "input size must be <= 2**63 - 1 (PyTorch sizes are int64), got 9223372036854775808"),
    (lambda: conv_output(10**400, 3), ParamError,
     "input size must be <= 2**63 - 1 (PyTorch sizes are int64), got <1329-bit integer>"),
    (lambda: tconv_output(1, 1, padding=1), ShapeError,
     "output would be -1 for input 1: padding 1 removes more than the layer produces: "
     "use padding <= 0, or a larger kernel or stride"),
    (lambda: tconv_output(7, 3, 2, output_padding=2), ParamError,
     "output_padding must be smaller than either stride or dilation, got output_padding 2 "
     "with stride 2 and dilation 1: use output_padding <= 1"),
    (lambda: tconv_output(16, 4, 2, 1, output_size=40), ShapeError,
     "requested output size 40 is outside the valid range [32, 33]: "
     "change stride, padding or kernel_size to reach it"),
    (lambda: pool_output((1, 1), 2), ShapeError,
     "input 1x1 is smaller than the 2x2 window (output would be 0x0): "
     "use an input of at least 2x2, or a smaller kernel"),
    (lambda: pool_output(7, 3, padding=2), ParamError,
     "padding must be at most half the kernel size, got padding 2 with kernel_size 3: "
     "use padding <= 1, or a larger kernel"),
    (lambda: pool_output(7, 3, padding="same"), ParamError,
     "padding must be an integer for pooling, got 'same': PyTorch pooling has no 'same' or "
     "'valid'; convcalc solve-padding finds an explicit padding"),
    (lambda: pool_output(7, 3, dilation=2, kind="avg"), ParamError,
     "dilation is not supported by average pooling (torch.nn.AvgPool has none)"),
    (lambda: pool_output((2, 2, 2), 3, padding=1, kind="avg"), ShapeError,
     "input 2x2x2 is smaller than the 3x3x3 window (AvgPool3d ignores padding in this check): "
     "use an input of at least 3x3x3, or a smaller kernel"),
    (lambda: adaptive_pool_output(7, -1), ParamError, "output_size must be >= 0, got -1"),
    (lambda: upsample_output(7, scale_factor=0.1), ShapeError,
     "output would be 0 for input 7 at scale 0.1: sizes must be greater than 0: "
     "use a larger scale_factor or an explicit size"),
    (lambda: upsample_output(7), ParamError, "give exactly one of size and scale_factor"),
]


@pytest.mark.parametrize("fn, error, message", REFUSALS)
def test_refusal_messages(fn, error, message):
    with pytest.raises(error) as info:
        fn()
    assert str(info.value) == message
    assert isinstance(info.value, ConvcalcError)


def test_transposed_padding_mode_must_be_zeros():
    from convcalc import TConvParams

    with pytest.raises(ParamError, match="padding_mode must be 'zeros'"):
        TConvParams.create(2, 3, padding_mode="reflect")


def test_negative_padding_crops_with_non_zero_padding_modes():
    # PyTorch pads through F.pad for these modes, and F.pad crops on negative padding.
    assert conv_output((7, 7), 3, padding=-1, padding_mode="replicate") == (3, 3)
    with pytest.raises(ShapeError):
        conv_output(7, 3, padding=-3, padding_mode="reflect")


def test_formulas_accept_sympy_symbols():
    import sympy

    H = sympy.Symbol("H", integer=True, positive=True)
    out = formulas.conv_out(H, 3, 2, 1, 1, 1)
    for h in range(1, 40):
        assert out.subs(H, h) == formulas.conv_out(h, 3, 2, 1, 1, 1)
    ceil = formulas.pool_ceil_out(H, 3, 2, 1, 1)
    for h in range(1, 40):
        assert ceil.subs(H, h) == formulas.pool_ceil_out(h, 3, 2, 1, 1)
    t = formulas.tconv_out(H, 4, 2, 1, 1, 0)
    assert sympy.simplify(t - 2 * H) == 0
    up = formulas.upsample_out(H, 0.29)
    assert up.subs(H, 100) == 28


def test_formulas_return_plain_ints():
    values = [
        formulas.conv_out(28, 5, 1, 2, 2, 1),
        formulas.pool_ceil_out(7, 3, 2, 0, 1),
        formulas.tconv_out(512, 3, 2, 0, 1, 0),
        formulas.upsample_out(100, 0.29),
        *formulas.same_padding(4, 1),
    ]
    assert all(type(v) is int for v in values)
    assert formulas.same_padding(4, 1) == (1, 2)
    assert formulas.same_padding(3, 2) == (2, 2)
