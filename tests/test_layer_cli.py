"""One layer at a time: ``convcalc layers`` (what is supported), ``convcalc layer`` (one
pasted line on an input, through the engine), ``convcalc zoo show``, and ``conv``/``tconv``
with channels (params and MACs); checked against torch where it is installed."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import requires_torch
from convcalc import zoo
from convcalc.cli import catalog, cli
from convcalc.ops import FUNCTIONS, REGISTRY


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


# convcalc layers ------------------------------------------------------------------------


def test_layers_lists_every_layer_and_function_with_its_signature():
    code, out, err = run("layers")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == len(REGISTRY) + len(FUNCTIONS)
    assert [line.partition("(")[0] for line in lines] == [*REGISTRY, *FUNCTIONS]
    assert ("Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, "
            "groups=1, bias=True, padding_mode='zeros')") in lines
    assert "cat(tensors, dim=0)" in lines
    assert "permute(input, *dims)" in lines
    code, out, _ = run("layers", "--format", "json")
    data = json.loads(out)
    assert [e["name"] for e in data] == [*REGISTRY, *FUNCTIONS]
    assert data[0].keys() == {"name", "kind", "family", "signature", "doc"}
    assert {e["kind"] for e in data} == {"layer", "function"}


def test_layers_shows_one_with_formula_and_refusals():
    code, out, err = run("layers", "nn.Conv2d")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("Conv2d(in_channels, out_channels, kernel_size, stride=1")
    assert "  out = ⌊(in + 2p − d·(k − 1) − 1) / s⌋ + 1" in lines
    assert "PyTorch refuses (and so does convcalc):" in lines
    assert "  - in_channels or out_channels not divisible by groups" in lines
    assert "  - padding='same' with a stride other than 1" in lines
    assert lines[-1] == ('Try: convcalc layer "Conv2d(3, 6, kernel_size=3, stride=2, padding=1)" '
                         "--input 1,3,28,28")
    code, out, _ = run("layers", "F.max_pool2d", "--format", "json")
    data = json.loads(out)
    assert data["kind"] == "function" and data["name"] == "max_pool2d"
    assert data["formula"][0] == "out = ⌊(in + 2p − d·(k − 1) − 1) / s⌋ + 1"
    assert "padding above half the kernel, p > k // 2" in data["refusals"]


@pytest.mark.parametrize("name, suggestion", [("Conv2D", "Conv2d"), ("MaxPool2D", "MaxPool2d"),
                                              ("nn.Conv2x", "Conv2d"), ("F.rellu", "relu")])
def test_unknown_names_get_the_closest_one(name, suggestion):
    code, out, err = run("layers", name)
    assert (code, out) == (1, "")
    assert err == f"Error: unknown layer or function {name!r}: did you mean {suggestion}?\n"


def test_every_family_formula_agrees_with_the_explanations():
    from convcalc.engine import explain
    from convcalc.engine.params import ConvParams, PoolKind, PoolParams, TConvParams

    assert explain.explain_tconv((5,), TConvParams.create(1, 3, 2, 1, 1, 0))[0] == \
        catalog.FORMULAS["tconv"][0]
    assert explain.explain_pool((5,), PoolParams.create(1, 3, 2, 1, 1, False, PoolKind.MAX))[0] == \
        catalog.FORMULAS["maxpool"][0]
    assert explain.explain_conv((5,), ConvParams.create(1, 3, 2, 1, 1))[0].startswith("out = ⌊(in + ")
    kinds = {re.sub(r"\d", "", n) for n in [*REGISTRY, *FUNCTIONS] if catalog.kinds_of(n)[0]}
    assert {"Convd", "ConvTransposed", "MaxPoold", "AvgPoold", "AdaptiveAvgPoold", "Upsample",
            "Linear", "interpolate", "max_poold"} <= kinds


def test_every_try_line_runs():
    tries = [catalog.find(e["name"])["try"] for e in catalog.entries()]
    tries = [t for t in tries if t]
    assert len(tries) > 150
    for line in tries:
        argv = shlex.split(line)
        code, out, err = run(*argv[1:])
        assert (code, err) == (0, ""), line


# convcalc layer -------------------------------------------------------------------------

RESNET_CONV1 = "(conv1): Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)"


def test_layer_prints_a_small_table():
    code, out, err = run("layer", "nn.Conv2d(3, 64, 7, 2, 3)", "--input", "1,3,224,224")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "input [1, 3, 224, 224] -> [1, 64, 112, 112]"
    # human units in the table, as net's; the exact counts under it, and the headers explained
    assert "│ Conv2d(3, 64, k=7, s=2, p=3) │ [1, 64, 112, 112] │ 9.472K │ 118M │ 7x7 │ 2x2  │" in out
    assert "\nParams: 9,472 (9.472K); MACs: 118,013,952 (118M)\n" in out
    assert "\nColumns: Type = layer and key arguments" in out and "; Jump = input pixels" in out
    code, out, _ = run("layer", RESNET_CONV1, "--input", "1x3x224x224")
    assert out.splitlines()[0] == "conv1: input [1, 3, 224, 224] -> [1, 64, 112, 112]"
    assert "│ 9.408K │" in out and "Params: 9,408 (9.408K)" in out
    code, out, _ = run("layer", "nn.ReLU()", "--input", "1,8")
    assert "│      0 │    0 │" in out and "Params: 0; MACs: 0" in out  # small counts as they are


def test_layer_json():
    code, out, _ = run("layer", RESNET_CONV1, "--input", "1,3,224,224", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert {k: data[k] for k in ("layer", "type", "input_shape", "output_shape", "params", "macs",
                                 "flops", "receptive_field", "jump")} == {
        "layer": "Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)",
        "type": "Conv2d", "input_shape": [1, 3, 224, 224], "output_shape": [1, 64, 112, 112],
        "params": 9408, "macs": 118013952, "flops": 236027904, "receptive_field": [7, 7],
        "jump": [2, 2]}
    assert data["layers"][0]["path"] == "conv1"


LINES = [  # (pasted line, input shape): every form PyTorch code and print(model) use
    ("nn.Conv2d(3, 64, 7, 2, 3)", (1, 3, 32, 32)),
    ("torch.nn.Conv2d(in_channels=3, out_channels=8, kernel_size=(3, 5), stride=(2, 1), dilation=2)", (1, 3, 32, 32)),
    ("Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)", (2, 3, 30, 30)),
    (RESNET_CONV1, (1, 3, 64, 64)),
    ("self.conv = nn.Conv2d(4, 4, 3, padding=same, padding_mode=reflect, groups=2),", (1, 4, 9, 9)),
    ("(0): ConvTranspose2d(16, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))", (1, 16, 7, 7)),
    ("nn.Conv1d(3, 6, 5, padding=2, bias=False)", (3, 20)),
    ("(4): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)", (1, 3, 10, 10)),
    ("nn.AvgPool2d(2)", (1, 3, 9, 9)),
    ("(avgpool): AdaptiveAvgPool2d(output_size=(1, 1))", (1, 512, 7, 7)),
    ("(bn1): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)", (1, 64, 4, 4)),
    ("(fc): Linear(in_features=512, out_features=1000, bias=True)", (1, 512)),
    ("nn.Linear(400, 120)", (4, 400)),
    ("(ln): LayerNorm((768,), eps=1e-06, elementwise_affine=True)", (1, 197, 768)),
    ("nn.Upsample(scale_factor=2, mode='nearest')", (1, 3, 5, 5)),
    ("nn.Flatten()", (2, 3, 4, 4)),
    ("nn.Embedding(10, 3)", None),
    ("torch.flatten(x, 1)", (2, 3, 4, 4)),
    ("F.interpolate(x, scale_factor=2, mode='bilinear')", (1, 3, 4, 4)),
    ("x.permute(0, 2, 3, 1)", (1, 3, 4, 5)),
    ("F.relu(x)", (1, 3, 4, 5)),
]


@requires_torch
@pytest.mark.parametrize("line, shape", [pytest.param(line, shape, id=line) for line, shape in LINES
                                         if shape is not None])
def test_pasted_lines_against_torch(line, shape):
    import torch
    from torch import nn
    from torch.nn import functional as F

    from convcalc.spec.paste import pasted_line

    _, call = pasted_line(line)
    x = torch.zeros(shape)
    scope = {"nn": nn, "torch": torch, "F": F, "x": x, **vars(nn)}
    made = eval(call, scope)  # noqa: S307 - the test's own lines
    out = made(x) if isinstance(made, nn.Module) else made
    params = sum(p.numel() for p in made.parameters()) if isinstance(made, nn.Module) else 0
    code, text, err = run("layer", line, "--input", ",".join(map(str, shape)), "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(text)
    assert (data["output_shape"], data["params"]) == (list(out.shape), params)


@requires_torch
@pytest.mark.parametrize("model", ["resnet18", "mobilenet_v3_small", "vit_b_16"])
def test_every_printed_leaf_of_a_torchvision_model(model):
    """Each leaf line of print(model), pasted with its (name): prefix, on the input that
    module saw: the output shape and the params of the module itself."""
    import torch

    from convcalc.backend.tvcompat import import_torchvision

    tv = import_torchvision()
    if tv is None:
        pytest.skip("torchvision is not installed")
    with torch.device("meta"):
        net = getattr(tv.models, model)()
    seen = {}

    def hook(module, inputs, output, name):
        seen.setdefault(name, (module, tuple(inputs[0].shape), output))  # returns None: keeps output

    for name, module in net.named_modules():
        if name and not list(module.children()):
            module.register_forward_hook(lambda m, i, o, name=name: hook(m, i, o, name))
    with torch.no_grad():
        net(torch.zeros((1, 3, 224, 224), device="meta"))
    checked = 0
    for name, (module, shape, out) in seen.items():
        if not isinstance(out, torch.Tensor) or type(module).__name__ not in REGISTRY:
            continue
        line = f"({name.rsplit('.', 1)[-1]}): {module!r}"
        code, text, err = run("layer", line, "--input", ",".join(map(str, shape)), "--format", "json")
        assert (code, err) == (0, ""), line
        data = json.loads(text)
        assert data["output_shape"] == list(out.shape), line
        assert data["params"] == sum(p.numel() for p in module.parameters()), line
        checked += 1
    assert checked >= 10


def test_layer_needs_input_and_gives_an_example():
    code, out, err = run("layer", "nn.Conv2d(3, 64, 7, 2, 3)")
    assert (code, out) == (2, "")
    assert err == ("Error: Missing option '--input': the input tensor's shape, e.g. convcalc layer "
                   "'nn.Conv2d(3, 64, 7, 2, 3)' --input 1,3,224,224 (see 'convcalc layer --help')\n")


@pytest.mark.parametrize("args, code, message", [
    (["torch.nn.Conv2d(16, 64, 7, 2, 3)", "--input", "1,3,224,224"], 1,
     "Error: Conv2d: in_channels=16 but the incoming shape [1, 3, 224, 224] has 3 channels: use "
     "in_channels=3, or omit it to infer it"),
    (["MaxPool2d(3, 2)", "--input", "1,3,2,2"], 1,
     "Error: MaxPool2d: input 2x2 is smaller than the 3x3 window (output would be 0x0): use an input "
     "of at least 3x3, or a smaller kernel; the smallest input it accepts is [1, 3, 3, 3]"),
    (["(c): Conv2d(3, 4, 3, groups=2)", "--input", "1,3,8,8"], 1,
     "Error: layer c Conv2d: in_channels must be divisible by groups, got 3 and groups=2"),
    (["Conv2x(3, 4, 3)", "--input", "1,3,8,8"], 1,
     "Error: Conv2x: unknown layer 'Conv2x': did you mean Conv2d?"),
    (["Conv2d(3, 4", "--input", "1,3,8,8"], 1, "Error: cannot parse layer 'Conv2d(3, 4'"),
    (["nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU())", "--input", "1,3,8,8"], 1,
     "Error: Sequential is a container, not a layer: give one layer, or pass the text of "
     "print(model) to convcalc net - --input SHAPE"),
    (["Sequential(\n  (0): ReLU()\n)", "--input", "1,3,8,8"], 2,
     "Error: LINE has several lines: this is the text of print(model): pass it on standard input "
     "to convcalc net - --input SHAPE"),
    (["ReLU()", "--input", "1,3,8.5,8"], 2, "Error: Invalid value for '--input'"),
])
def test_layer_errors_are_one_line(args, code, message):
    got, out, err = run("layer", *args)
    assert (got, out) == (code, "")
    assert err.startswith(message) and err.count("\n") == 1


def test_layer_with_a_symbolic_input_gives_formulas():
    code, out, _ = run("layer", "Conv2d(3, 8, 3, stride=2, padding=1)", "--input", "1,3,H,H",
                       "--format", "json")
    data = json.loads(out)
    assert data["output_shape"] == [1, 8, "floor((H - 1)/2) + 1", "floor((H - 1)/2) + 1"]
    assert data["params"] == 224


# conv and tconv with channels -----------------------------------------------------------


def test_conv_without_channels_prints_what_it_always_did():
    assert run("conv", "--in", "224x224", "--k", "7", "--s", "2", "--p", "3") == (0, "112x112\n", "")
    code, out, _ = run("tconv", "--in", "512", "--k", "3", "--s", "2", "--format", "json")
    assert "params" not in json.loads(out) and "in_channels" not in json.loads(out)


def test_conv_with_channels_shows_params_and_macs():
    args = ["conv", "--in", "224x224", "--k", "7", "--s", "2", "--p", "3", "--in-channels", "3",
            "--out-channels", "64", "--no-bias"]
    assert run(*args) == (0, "112x112\nparams: 9,408 (9.408K)\nMACs: 118,013,952 (118M)\n", "")
    code, out, _ = run(*args, "--format", "json")
    data = json.loads(out)
    assert {k: data[k] for k in ("in_channels", "out_channels", "groups", "bias", "params", "macs")} == {
        "in_channels": 3, "out_channels": 64, "groups": 1, "bias": False, "params": 9408,
        "macs": 118013952}
    # the same numbers as the same layer in a network
    _, out, _ = run("layer", "Conv2d(3, 64, 7, 2, 3, bias=False)", "--input", "1,3,224,224", "--format", "json")
    assert (json.loads(out)["params"], json.loads(out)["macs"]) == (9408, 118013952)


@pytest.mark.parametrize("args, message", [
    (["--in-channels", "3", "--out-channels", "64", "--groups", "2"],
     "Error: Conv2d: in_channels must be divisible by groups, got 3 and groups=2"),
    (["--in-channels", "4", "--out-channels", "6", "--groups", "4"],
     "Error: Conv2d: out_channels must be divisible by groups, got 6 and groups=4"),
])
def test_groups_must_divide_both_channel_counts(args, message):
    code, out, err = run("conv", "--in", "8x8", "--k", "3", *args)
    assert (code, out, err) == (1, "", message + "\n")


@pytest.mark.parametrize("args, message", [
    (["--in-channels", "3"], "give both --in-channels and --out-channels"),
    (["--groups", "2"], "--groups and --bias/--no-bias need --in-channels and --out-channels"),
    (["--no-bias"], "--groups and --bias/--no-bias need --in-channels and --out-channels"),
])
def test_channel_options_go_together(args, message):
    code, out, err = run("tconv", "--in", "8", "--k", "3", *args)
    assert (code, out) == (2, "")
    assert err.startswith(f"Error: {message}")


@requires_torch
@pytest.mark.parametrize("command, args, layer", [
    ("conv", "--in 17x12 --k 3x5 --s 2 --p 1x2 --d 2 --in-channels 8 --out-channels 12 --groups 4",
     "Conv2d(8, 12, (3, 5), 2, (1, 2), 2, groups=4)"),
    ("conv", "--in 9 --k 4 --p same --in-channels 3 --out-channels 5 --no-bias",
     "Conv1d(3, 5, 4, padding='same', bias=False)"),
    ("conv", "--in 6x6x6 --k 3 --in-channels 2 --out-channels 4 --padding-mode circular --p 1",
     "Conv3d(2, 4, 3, padding=1, padding_mode='circular')"),
    ("tconv", "--in 16x16 --k 4 --s 2 --p 1 --output-size 33 --in-channels 6 --out-channels 9 --groups 3",
     "ConvTranspose2d(6, 9, 4, 2, 1, output_padding=1, groups=3)"),
    ("tconv", "--in 7 --k 3 --s 3 --d 2 --in-channels 2 --out-channels 2 --no-bias",
     "ConvTranspose1d(2, 2, 3, 3, dilation=2, bias=False)"),
])
def test_conv_params_and_macs_against_torch(command, args, layer):
    import math

    import torch
    from torch import nn

    module = eval(f"nn.{layer}", {"nn": nn})  # noqa: S307 - the test's own layers
    code, out, err = run(command, *args.split(), "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    x = torch.zeros((1, module.in_channels, *data["input"]))
    y = module(x)
    assert data["output"] == list(y.shape[2:])
    assert data["params"] == sum(p.numel() for p in module.parameters())
    kernel = math.prod(module.kernel_size)
    if command == "conv":  # output elements x C_in/groups x prod(kernel)
        assert data["macs"] == y.numel() * module.in_channels // module.groups * kernel
    else:  # input elements x C_out/groups x prod(kernel)
        assert data["macs"] == x.numel() * module.out_channels // module.groups * kernel


# zoo show, bare convcalc, start-up ------------------------------------------------------


def test_zoo_show_prints_the_bundled_yaml():
    assert run("zoo", "show", "lenet") == (0, zoo.read("lenet"), "")
    assert run("zoo", "show", "zoo:tv-resnet18")[1] == zoo.read("tv-resnet18")
    assert run("zoo", "show", "lenett") == (1, "", "Error: no zoo spec named 'lenett': did you mean zoo:lenet?\n")
    code, out, _ = run("zoo")
    assert code == 0 and len(out.splitlines()) == len(zoo.names())
    code, out, _ = run("zoo", "--format", "json")
    assert [e["name"] for e in json.loads(out)] == zoo.names()


def test_bare_convcalc_shows_the_help():
    code, out, err = run()
    assert (code, err) == (0, "")
    assert out == run("--help")[1]


PROBE = """
import json, sys
from convcalc.cli import cli
cli.main({args!r}, standalone_mode=False)
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("args", [
    ["layer", "nn.Conv2d(3, 64, 7, 2, 3)", "--input", "1,3,224,224"],
    ["layers", "Conv2d"],
    ["zoo", "show", "lenet"],
    ["conv", "--in", "28", "--k", "3", "--in-channels", "3", "--out-channels", "8"],
])
def test_these_commands_import_no_heavy_library(args):
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True,
                          text=True, check=True)
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert [m for m in loaded if m.split(".")[0] in ("sympy", "torch", "numpy", "yaml")] == []
