"""Valid input sizes: the scan agrees with torch, and the compact display is exact."""

import json
import warnings

import pytest
from click.testing import CliRunner

from conftest import requires_torch
from convcalc import spec
from convcalc.cli import cli
from convcalc.solve.valid import compact, scan
from helpers import zoo_report


@pytest.mark.parametrize(
    "values, text",
    [
        ([], "none"),
        ([5], "5"),
        ([28, 29, 30, 31], "28..31"),
        ([32, 64, 96, 128], "32 + 32k (k = 0..3)"),
        ([1, 2, 3, 10, 12], "1..3, 10, 12"),
        ([1, 2, 3, 10, 12, 14], "1..3, 10 + 2k (k = 0..2)"),
        ([7, 9], "7, 9"),
    ],
)
def test_compact(values, text):
    assert compact(values) == text


def expand(text):
    """Invert compact() for the round-trip check."""
    out = []
    for part in text.split(", "):
        if part == "none":
            continue
        if ".." in part and "k" not in part:
            a, b = map(int, part.split(".."))
            out += range(a, b + 1)
        elif "k" in part:
            first, rest = part.split(" + ")
            step = int(rest.split("k")[0])
            count = int(rest.split("..")[1].rstrip(")"))
            out += [int(first) + step * k for k in range(count + 1)]
        else:
            out.append(int(part))
    return out


@pytest.mark.parametrize("values", [[1, 2, 3, 5, 7, 9, 20, 21, 40], list(range(3, 90, 7)), [2, 4, 5, 6, 8]])
def test_compact_round_trips(values):
    assert expand(compact(values)) == values


def parsed(name):
    text, source = spec.read_text(f"zoo:{name}")
    (doc,) = spec.load_documents(text, source)
    return spec.parse_spec(doc, source)


@requires_torch
@pytest.mark.parametrize("name, top", [("lenet", 40), ("googlenet", 100), ("tv-resnet18", 70), ("nin", 120)])
def test_scan_agrees_with_torch(name, top):
    import torch

    from convcalc.backend.build import build

    model = build(zoo_report(name)).eval()
    shape = parsed(name).input
    result = scan(parsed(name), shape, range(1, top + 1))
    accepted = []
    for size in range(1, top + 1):
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model(torch.zeros(*shape[:2], size, size))
            accepted.append(size)
        except (RuntimeError, ValueError):
            pass
    assert result.valid == accepted
    assert set(result.exact) <= set(result.valid)


def test_exact_sizes_divide_at_every_strided_layer():
    result = scan(parsed("tv-resnet18"), [1, 3, 224, 224], range(1, 300))
    assert result.exact == list(range(32, 300, 32))
    for size in (224, 100):
        report = zoo_report("tv-resnet18", (1, 3, size, size))
        exact = all(
            r.output_shape[-1] * r.args["stride"] == r.input_shape[-1]
            for r in report.layers
            if r.type in ("Conv2d", "MaxPool2d") and (r.args["stride"] if isinstance(r.args["stride"], int) else r.args["stride"][0]) > 1
        )
        assert exact == (size in result.exact)


def test_cli_valid_inputs():
    result = CliRunner().invoke(cli, ["net", "zoo:lenet", "--valid-inputs", "1..100"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "LeNet: input [1, 1] + HxW, H and W each from 1 to 100",
        "valid:  28..31",
        "exact (no layer drops pixels):  28",
        "smallest valid input: [1, 1, 28, 28]",
        "H and W are coupled (Eq(400, (16*floor(H/4) - 32)*(floor(W/4) - 2))), but in these "
        "ranges each valid H goes with each valid W",
    ]
    result = CliRunner().invoke(cli, ["net", "zoo:tv-vgg16", "--valid-inputs", "1..300", "--format", "json"])
    data = json.loads(result.stdout)
    assert data["exact_compact"] == "32 + 32k (k = 0..8)" and data["smallest"] == 32
    for bad in ("0..5", "5..3", "1..10x", "a..b", "1..10x1..10x1..10"):
        result = CliRunner().invoke(cli, ["net", "zoo:lenet", "--valid-inputs", bad])
        assert result.exit_code == (1 if bad.count("x") == 2 else 2), (bad, result.output)
    result = CliRunner().invoke(cli, ["net", "zoo:lenet", "--valid-inputs", "1..9", "--format", "csv"])
    assert result.exit_code == 2


# The fast answer: conditions from one symbolic lowering -----------------------------------

import time  # noqa: E402

from convcalc import zoo  # noqa: E402
from convcalc.graph.lower import lower  # noqa: E402
from convcalc.solve import conditions as conds  # noqa: E402
from convcalc.solve.valid import Scan, parse_ranges  # noqa: E402

SPATIAL_ZOO = [n for n in zoo.names() if len(parsed(n).input) > 2]

SMALL_UNET = """
name: small-unet
input: [1, 1, 128, 128]
blocks:
  double_conv:
    params: [channels]
    layers:
      - Conv2d: {out_channels: channels, kernel_size: 3}
      - ReLU()
      - Conv2d: {out_channels: channels, kernel_size: 3}
      - ReLU()
  up:
    inputs: [x, skip]
    params: [channels]
    layers:
      - {name: up, ConvTranspose2d: {out_channels: channels, kernel_size: 2, stride: 2}, as: u}
      - crop = center_crop(skip, u.shape[-2:])
      - torch.cat([crop, u], dim=1)
      - double_conv(channels)
layers:
  - s1 = double_conv(8)
  - MaxPool2d(2)
  - double_conv(16)
  - up(8)(_, s1)
  - {name: out, Conv2d: {out_channels: 2, kernel_size: 1}}
"""


def from_text(text, source="test.yaml"):
    (doc,) = spec.load_documents(text, source)
    return spec.parse_spec(doc, source)


def test_every_zoo_spec_with_a_spatial_input_is_checked():
    assert {"unet", "lenet", "tv-resnet50", "tv-vit_b_16", "tv-swin_t"} <= set(SPATIAL_ZOO)


@pytest.mark.parametrize("name", SPATIAL_ZOO)
def test_fast_answer_equals_the_scan(name):
    """Over 1..512 (every dimension the same size), the conditions give exactly what one
    lowering per size gives: valid sizes, exact sizes, the smallest."""
    net = parsed(name)
    fast = scan(net, net.input, range(1, 513), method="symbolic")
    slow = scan(net, net.input, range(1, 513), method="scan")
    assert fast.method == "symbolic" and slow.method == "scan"
    assert fast.valid == slow.valid
    assert fast.exact == slow.exact
    assert fast.as_json()["smallest_in_range"] == slow.as_json()["smallest_in_range"]
    if slow.smallest_square is not None:  # the scan looks from 1 to 512
        assert fast.smallest_square == slow.smallest_square


def test_unet_exact_sizes_are_a_progression_of_16_and_lenet_a_band():
    unet = scan(parsed("unet"), parsed("unet").input, range(1, 513), method="symbolic")
    assert compact(unet.valid) == "188..512"
    assert compact(unet.exact) == "188 + 16k (k = 0..20)"
    lenet = scan(parsed("lenet"), parsed("lenet").input, range(1, 513), method="symbolic")
    assert lenet.mode == "diagonal" and lenet.valid == [28, 29, 30, 31] and lenet.exact == [28]


def test_the_smallest_valid_input_is_found_below_the_range():
    net = from_text(SMALL_UNET)
    result = scan(net, net.input, range(100, 201))
    assert result.method == "symbolic"
    assert result.valid[0] == 100 and result.smallest_square == 18
    assert result.smallest == (18, 18) and result.smallest_in_range == (100, 100)
    truth = next(s for s in range(1, 100) if scan(net, net.input, range(s, s + 1), method="scan").valid)
    assert truth == 18
    assert "smallest valid input: [1, 1, 18, 18] (below the range; in it: [1, 1, 100, 100])" in result.lines("u")
    unet = scan(parsed("unet"), parsed("unet").input, range(200, 301))
    assert unet.smallest_square == 188 and unet.as_json()["smallest_in_range"] == 200
    # and above it: nothing in the range, the smallest further up
    vit = scan(parsed("tv-vit_b_16"), parsed("tv-vit_b_16").input, range(1, 100))
    assert vit.valid == [] and vit.smallest == (224, 224)
    assert vit.lines("vit")[3] == "no size in the range is valid; the smallest valid input is [1, 3, 224, 224]"


def test_per_dimension_ranges_agree_with_a_scan_of_every_combination():
    for name, ranges in [("tv-resnet18", (range(1, 40), range(60, 70))),
                         ("lenet", (range(1, 40), range(100, 120))),
                         ("lenet", (range(10, 35), range(10, 115)))]:
        net = parsed(name)
        fast = scan(net, net.input, ranges, method="symbolic")
        slow = scan(net, net.input, ranges, method="scan")
        assert slow.mode == "grid"
        if fast.mode == "independent":
            pairs = [(h, w) for h in fast.dims[0].valid for w in fast.dims[1].valid]
            exact = [(h, w) for h in fast.dims[0].exact for w in fast.dims[1].exact]
        else:
            assert fast.mode == "grid"
            pairs, exact = fast.valid, fast.exact
        assert pairs == slow.valid and exact == slow.exact, name


def test_independence_is_read_from_the_conditions():
    resnet = conds.derive(parsed("tv-resnet50"), (1, 3), ("H", "W"))
    assert resnet.coupling is None
    assert all(len(c.dims) == 1 for c in resnet.valid + resnet.exact)
    lenet = conds.derive(parsed("lenet"), (1, 1), ("H", "W"))
    assert lenet.coupling.dims == (0, 1) and "400" in lenet.coupling.text
    net = parsed("lenet")
    grid = scan(net, net.input, (range(1, 121), range(1, 120)))
    assert grid.mode == "grid"
    assert grid.lines("LeNet")[2:5] == ["  H 12..15 with W 108..111", "  H 28..31 with W 28..31",
                                        "  H 108..111 with W 12..15"]


def test_non_square_networks_get_their_own_answer_per_dimension():
    text = """
input: [1, 1, 64, 64]
layers:
  - Conv2d(1, 4, kernel_size=3, stride=(4, 1), padding=1)
  - MaxPool2d(kernel_size=(1, 3))
"""
    net = from_text(text)
    result = scan(net, net.input, range(1, 60))
    assert result.mode == "independent" and result.method == "symbolic"
    h, w = result.dims
    assert (h.valid, w.valid) == (list(range(1, 60)), list(range(3, 60)))
    assert (h.exact, w.exact) == (list(range(4, 60, 4)), list(range(3, 60, 3)))
    assert result.smallest == (1, 3) and result.smallest_square == 3
    assert result.valid == list(range(3, 60)) and result.exact == list(range(12, 60, 12))
    assert result.lines("t")[1:5] == ["valid H:  1..59", "valid W:  3..59",
                                      "exact H (no layer drops pixels):  4 + 4k (k = 0..13)",
                                      "exact W (no layer drops pixels):  3 + 3k (k = 0..18)"]
    slow = scan(net, net.input, range(1, 60), method="scan")
    assert result.valid == slow.valid and result.exact == slow.exact


def test_resnet50_over_4096_sizes_is_fast():
    net = parsed("tv-resnet50")
    start = time.perf_counter()
    result = scan(net, net.input, parse_ranges("1..4096"))
    took = time.perf_counter() - start
    assert result.method == "symbolic" and result.mode == "independent"
    assert compact(result.valid) == "1..4096" and compact(result.exact) == "32 + 32k (k = 0..127)"
    assert took < 3, took  # about 0.4 s, importing sympy included; a scan takes about 11 s


def test_conditions_in_words_fall_back_to_a_scan_with_progress():
    net = from_text("input: [1, 1, 32, 32]\nlayers:\n  - Upsample(scale_factor=1.7)\n  - Conv2d(1, 2, 5, stride=2)\n")
    calls = []

    import contextlib

    @contextlib.contextmanager
    def progress(total):
        calls.append(total)
        yield lambda n=1: calls.append(n)

    result = scan(net, net.input, range(5, 40), progress=progress)
    assert result.method == "scan" and "in words" in result.note
    assert calls[0] == 39 and sum(calls[1:]) == 39  # the sizes below the range are counted too
    assert result.valid == list(range(5, 40)) and result.smallest_square == 3
    with pytest.raises(conds.Undecidable):
        scan(net, net.input, range(5, 40), method="symbolic")


def test_only_the_listed_operations_drop_pixels():
    """conditions.DROPPING names every op whose rule sets ``drops``: at odd sizes, where
    strided layers drop pixels, no other op does."""
    for name in SPATIAL_ZOO:
        net = parsed(name)
        result = scan(net, net.input, range(1, 2))
        size = next((s for s in (231, 225, 97, 193) if scan(net, net.input, range(s, s + 1), method="scan").valid),
                    None) or (result.smallest or [None])[0]
        if size is None:
            continue
        graph = lower(net, (*net.input[:2], *[size] * (len(net.input) - 2)))
        assert all(conds.DROPPING.fullmatch(op.type) for op in graph.ops if op.step.drops), name


@pytest.mark.parametrize("text, ranges", [
    ("1..4096", (range(1, 4097),)),
    ("1..64x32..48", (range(1, 65), range(32, 49))),
    ("224", (range(224, 225),)),
    ("8..16×1..2", (range(8, 17), range(1, 3))),
])
def test_parse_ranges(text, ranges):
    assert parse_ranges(text) == ranges


@pytest.mark.parametrize("text", ["0..4", "9..3", "a", "1..", "1..2..3", "1..4x", ""])
def test_parse_ranges_refuses(text):
    with pytest.raises(ValueError):
        parse_ranges(text)


def test_compiled_conditions_agree_with_sympy():
    import sympy

    from convcalc.engine.symbolic import symbol

    h, w = symbol("H"), symbol("W")
    exprs = [
        sympy.Eq(sympy.floor((h - 1) / 4) * 4 + 4, h),
        sympy.ceiling(h / 3) >= sympy.floor((w + 2) / 5),
        sympy.Ne(sympy.Mod(h, 7), 3),
        sympy.Piecewise((h - 1, sympy.Mod(h, 2) <= 0), (h, True)) > 4,
        sympy.And(h >= 5, sympy.Or(w < 9, sympy.Not(sympy.Eq(h, w)))),
        sympy.Max(h, w) - sympy.Min(h, 3) <= sympy.Abs(w - 20),
        sympy.Rational(3, 2) * h < w,
    ]
    for expr in exprs:
        c = conds.Conditions(("H", "W"), (h, w), [conds.Condition(expr, (0, 1))], [])
        f = c.full()
        for a in range(1, 30):
            for b in range(1, 30, 3):
                assert f(a, b) == bool(expr.subs({h: a, w: b})), (expr, a, b)
    with pytest.raises(conds.Undecidable):
        conds.python(sympy.Float(0.5) * h < 3, {h: "s"})


def test_json_answer_per_dimension():
    result = CliRunner().invoke(cli, ["net", "zoo:tv-resnet18", "--valid-inputs", "1..64x30..40",
                                      "--format", "json"])
    data = json.loads(result.stdout)
    assert data["mode"] == "independent" and data["method"] == "symbolic"
    assert "range" not in data and [d["dim"] for d in data["per_dim"]] == ["H", "W"]
    assert data["per_dim"][1]["valid_compact"] == "30..40" and data["per_dim"][1]["exact"] == [32]
    assert data["smallest_input"] == [1, 3, 1, 1] and data["smallest_input_in_range"] == [1, 3, 1, 30]
    assert isinstance(Scan, type)


def test_one_and_three_spatial_dimensions():
    net = from_text("input: [1, 2, 50]\nlayers:\n  - Conv1d(2, 4, 5, stride=2)\n  - MaxPool1d(3)\n")
    result = scan(net, net.input, range(1, 61))
    assert result.lines("c")[0] == "c: input [1, 2] + L, L from 1 to 60"
    assert result.lines("c")[1] == "valid:  9..60" and len(result.lines("c")) == 4  # no note for 1-d
    assert result.valid == scan(net, net.input, range(1, 61), method="scan").valid
    net = from_text("input: [1, 2, 8, 16, 16]\nlayers:\n  - Conv3d(2, 4, 3, stride=(1, 2, 2))\n"
                    "  - Flatten()\n  - Linear(4*6*7*7, 3)\n")
    ranges = (range(7, 11), range(12, 18), range(12, 18))
    fast, slow = scan(net, net.input, ranges), scan(net, net.input, ranges, method="scan")
    assert fast.mode == slow.mode == "grid" and fast.method == "symbolic"
    assert fast.valid == slow.valid and (8, 15, 15) in fast.valid and (9, 13, 15) in fast.valid
    assert fast.lines("v")[2] == "  D 8 with HxW 15x15, 15x16, 16x15, 16x16"


def test_a_layer_that_always_drops_pixels_leaves_no_exact_size():
    """After a global pool the sizes are numbers: a strided layer there drops pixels (or
    not) whatever the input."""
    net = from_text("input: [1, 1, 16, 16]\nlayers:\n  - Conv2d(1, 2, 3, stride=2, padding=1)\n"
                    "  - AdaptiveAvgPool2d(5)\n  - MaxPool2d(2)\n")
    fast, slow = scan(net, net.input, range(1, 40)), scan(net, net.input, range(1, 40), method="scan")
    assert fast.method == "symbolic" and fast.exact == slow.exact == [] and fast.valid == slow.valid
    assert fast.dims[0].exact == [] and fast.valid == list(range(1, 40))
