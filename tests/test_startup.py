"""Start-up stays light: the single-layer commands import none of the heavy libraries.

(Timing lives in benchmarks/startup.py; this asserts behaviour: what gets imported.)
"""

import json
import subprocess
import sys

import pytest

HEAVY = ("sympy", "torch", "numpy", "yaml")

PROBE = """
import json, sys
from convcalc.cli import cli
cli.main({args!r}, standalone_mode=False)
print(json.dumps(sorted(sys.modules)))
"""


def modules_after(args):
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "args",
    [
        ["conv", "--in", "28", "--k", "5", "--p", "2"],
        ["tconv", "--in", "512", "--k", "3", "--s", "2", "--format", "json"],
        ["pool", "--in", "7", "--k", "3", "--s", "2", "--ceil", "--explain"],
    ],
)
def test_single_layer_commands_import_no_heavy_library(args):
    loaded = modules_after(args)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == []
    assert "convcalc.engine.shapes" in loaded  # the probe really ran the command


@pytest.mark.parametrize(
    "args",
    [
        ["net", "zoo:tv-resnet50"],
        ["net", "zoo:tv-googlenet", "--format", "json", "--input", "1,3,2048,2048"],
        ["zoo"],
    ],
)
def test_net_imports_neither_sympy_nor_torch(args):
    loaded = modules_after(args)
    assert sorted(m for m in loaded if m.split(".")[0] in ("sympy", "torch", "numpy")) == []
    assert "convcalc.graph.lower" in loaded or args == ["zoo"]


def test_a_plain_cnn_loads_only_the_classic_operation_families():
    loaded = modules_after(["net", "zoo:tv-resnet50"])
    assert {"convcalc.ops.swin", "convcalc.ops.attention", "convcalc.ops.shape"}.isdisjoint(loaded)
    assert "convcalc.ops.conv" in loaded
    loaded = modules_after(["net", "zoo:tv-vit_b_16"])
    assert {"convcalc.ops.attention", "convcalc.ops.shape"} <= loaded
