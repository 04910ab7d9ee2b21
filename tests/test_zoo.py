"""The bundled specs: published totals, and every layer against torch on the CPU."""

import pytest

from conftest import requires_torch
from convcalc import zoo
from helpers import zoo_report

# torchvision's documented figures (weights tables: num_params, GFLOPS = GMACs)
PUBLISHED = {
    "tv-alexnet": (61_100_840, 0.714),
    "tv-vgg16": (138_357_544, 15.47),
    "tv-resnet18": (11_689_512, 1.814),
    "tv-resnet50": (25_557_032, 4.089),
    "tv-googlenet": (6_624_904, 1.498),
    "tv-mobilenet_v2": (3_504_872, 0.301),
}

# torchvision's figures for the modern zoo specs (num_params, _ops rounded to three
# decimals): params exact, MACs within 1% or 0.0005 G (issue: the _ops rule)
MODERN = {
    "tv-mobilenet_v3_small": (2_542_856, 0.057),
    "tv-efficientnet_b0": (5_288_548, 0.386),
    "tv-shufflenet_v2_x1_0": (2_278_604, 0.145),
    "tv-regnet_y_400mf": (4_344_144, 0.402),
    "tv-densenet121": (7_978_856, 2.834),
    "tv-convnext_tiny": (28_589_128, 4.456),
    "tv-vit_b_16": (86_567_656, 17.564),
    "tv-swin_t": (28_288_354, 4.491),
}

# hand-counted: (params, output shape)
PAPERS = {
    "lenet5": (60_806, (1, 10)),  # C1 156 + C3 1,516 + C5 48,120 + F6 10,164 + output 850
    "unet": (31_030_658, (1, 2, 388, 388)),  # 2015 U-Net, unpadded, 2 classes
}

D2L = {  # name: (input shape, classes)
    "lenet": ([1, 1, 28, 28], 10),
    "alexnet": ([1, 1, 224, 224], 10),
    "vgg11": ([1, 1, 224, 224], 10),
    "nin": ([1, 1, 224, 224], 10),
    "googlenet": ([1, 1, 96, 96], 10),
    "resnet18": ([1, 1, 224, 224], 10),
}


def test_zoo_lists_exactly_the_promised_specs():
    assert sorted(zoo.names()) == sorted([*PUBLISHED, *MODERN, *PAPERS, *D2L])
    assert all(zoo.describe(n) for n in zoo.names())


@pytest.mark.parametrize("name", sorted(MODERN))
def test_modern_torchvision_totals_match_the_published_figures(name):
    params, gmacs = MODERN[name]
    report = zoo_report(name)
    assert report.totals["params"] == params
    assert abs(report.totals["macs"] / 1e9 - gmacs) <= max(0.01 * gmacs, 0.0005)


@pytest.mark.parametrize("name", sorted(PAPERS))
def test_paper_networks_have_their_hand_counted_params_and_output(name):
    params, output = PAPERS[name]
    report = zoo_report(name)
    assert (report.totals["params"], report.output_shape) == (params, output)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_torchvision_totals_match_the_published_figures(name):
    params, gmacs = PUBLISHED[name]
    report = zoo_report(name)
    assert report.totals["params"] == params
    digits = len(str(gmacs).split(".")[1])
    assert round(report.totals["macs"] / 1e9, digits) == gmacs
    assert report.output_shape == (1, 1000)
    assert list(report.input_shape) == [1, 3, 224, 224]


@pytest.mark.parametrize("name", sorted(D2L))
def test_d2l_variants_have_the_promised_input_and_classes(name):
    shape, classes = D2L[name]
    report = zoo_report(name)
    assert list(report.input_shape) == shape
    assert report.output_shape == (1, classes)


def test_params_column_sums_to_the_total():
    for name in zoo.names():
        report = zoo_report(name)
        assert sum(r.params for r in report.layers) == report.totals["params"]
        assert sum(r.macs for r in report.layers) == report.totals["macs"]


@requires_torch
@pytest.mark.parametrize("name", zoo.names())
def test_every_layer_agrees_with_torch(name):
    from convcalc.backend.build import build, compare

    report = zoo_report(name)
    checks = compare(report)
    bad = [c for c in checks if not c.ok]
    assert not bad, bad[:3]
    assert len(checks) == len(report.rows)  # every operation, merges included
    model = build(report)
    assert sum(p.numel() for p in model.parameters()) == report.totals["params"]
