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
        "LeNet: input [1, 1] + SxS, S from 1 to 100",
        "valid:  28..31",
        "exact (no layer drops pixels):  28",
        "smallest valid input: [1, 1, 28, 28]",
    ]
    result = CliRunner().invoke(cli, ["net", "zoo:tv-vgg16", "--valid-inputs", "1..300", "--format", "json"])
    data = json.loads(result.stdout)
    assert data["exact_compact"] == "32 + 32k (k = 0..8)" and data["smallest"] == 32
    result = CliRunner().invoke(cli, ["net", "zoo:lenet", "--valid-inputs", "0..5"])
    assert result.exit_code == 2
