"""Pasted PyTorch text as a network: the text of print(model) and bare YAML lists of layers
(``convcalc net -``), read by convcalc.spec.paste; checked against the models themselves."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from convcalc.cli import cli
from convcalc.errors import SpecError
from convcalc.spec import paste
from conftest import requires_torch

LENET = """\
Sequential(
  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
  (1): Sigmoid()
  (2): AvgPool2d(kernel_size=2, stride=2, padding=0)
  (3): Flatten(start_dim=1, end_dim=-1)
  (4): Linear(in_features=1176, out_features=120, bias=True)
)
"""

NAMED = """\
Sequential(
  (features): Sequential(
    (conv): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=same, padding_mode=reflect)
    (bn): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    (act): ReLU(inplace=True)
    (0): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    (empty): Sequential()
  )
  (pool): AdaptiveAvgPool2d(output_size=(1, 1))
  (flatten): Flatten(start_dim=1, end_dim=-1)
  (head): Sequential(
    (0): Dropout(p=0.5, inplace=False)
    (1): Linear(in_features=8, out_features=10, bias=True)
  )
)
"""


def run(*args, stdin=None):
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def csv_rows(out: str) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(out)))[1:]


def test_print_of_a_sequential_is_a_network_with_the_module_names_as_paths():
    code, out, err = run("net", "-", "--input", "1,1,28,28", "--format", "csv", stdin=LENET)
    assert (code, err) == (0, "")
    rows = csv_rows(out)
    assert [r[0] for r in rows] == ["0", "1", "2", "3", "4"]
    assert rows[-1][1:4] == ["Linear(1176, 120)", "[1, 120]", "141240"]


def test_nested_named_sequentials_keep_their_names_and_print_strings():
    code, out, err = run("net", "-", "--input", "1x3x16x16", "--format", "json", stdin=NAMED)
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["name"] == "Sequential"
    assert [layer["path"] for layer in data["layers"]] == [
        "features.conv", "features.bn", "features.act", "features.0", "pool", "flatten",
        "head.0", "head.1"]
    conv = data["layers"][0]
    assert conv["description"] == "Conv2d(3, 8, k=3, s=1, p='same', padding_mode='reflect')"
    assert conv["output_shape"] == [1, 8, 16, 16]
    assert data["output_shape"] == [1, 10]
    assert data["totals"]["params"] == 3 * 8 * 9 + 8 + 16 + 8 * 10 + 10


def test_one_module_on_its_own_is_a_network_of_one_layer():
    code, out, _ = run("net", "-", "--input", "1,3,8,8", "--format", "csv", stdin="Conv2d(3, 6, 5)\n")
    assert code == 0
    assert csv_rows(out) == [["0", "Conv2d(3, 6, k=5)", "[1, 6, 4, 4]", "456", "7200", "5x5", "1x1"]]


def test_print_model_needs_input():
    code, out, err = run("net", "-", stdin=LENET)
    assert (code, out) == (1, "")
    assert err == ("Error: <stdin>: the text of print(model) has no input shape: pass the input, "
                   "e.g. --input 1,3,224,224\n")


CUSTOM = """\
VGG(
  (features): Sequential(
    (0): Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
  )
  (avgpool): AdaptiveAvgPool2d(output_size=(7, 7))
)
"""


@pytest.mark.parametrize("text, name, line", [
    (CUSTOM, "VGG", 1),
    ("Sequential(\n  (0): ReLU()\n  (blocks): ModuleList(\n    (0): ReLU()\n  )\n)\n", "ModuleList", 3),
    ("Sequential(\n  (attn): MultiheadAttention(\n    (out_proj): NonDynamicallyQuantizableLinear("
     "in_features=8, out_features=8, bias=True)\n  )\n)\n", "MultiheadAttention", 2),
])
def test_custom_modules_are_refused_with_a_pointer_to_import(text, name, line):
    code, out, err = run("net", "-", "--input", "1,3,224,224", stdin=text)
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: <stdin>:{line}: {name} is not an nn.Sequential: its forward is "
                          "not visible in print(model)")
    assert "use convcalc import MODULE:CALLABLE --input SHAPE instead" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("text, message", [
    ("Sequential(\n  (0): ReLU()\n", "<stdin>:1: Sequential( is never closed"),
    ("Sequential(\n  (0): ReLU()\n)\n)\n", "<stdin>:4: text after the model's closing ')'"),
    ("Sequential(\n  (0): Conv2d(3, 6, 5\n)\n", "<stdin>:2: cannot read 'Conv2d(3, 6, 5' as a module"),
    ("Sequential(\n  (a): Conv2d(3, 6, 5, in_channels=3)\n)\n",
     "<stdin>:2: Conv2d: got multiple values for 'in_channels'"),
    ("Sequential(\n  (a): Conv2x(3, 6, 5)\n)\n",
     "<stdin>:2: layer a Conv2x: unknown layer 'Conv2x': did you mean Conv2d?"),
])
def test_malformed_print_text_is_one_located_error(text, message):
    code, _, err = run("net", "-", "--input", "1,3,8,8", stdin=text)
    assert code == 1
    assert err.startswith(f"Error: {message}")


def test_a_bare_yaml_list_is_the_layers_of_a_spec_with_input_from_the_flag():
    text = "- Conv2d(3, 6, 5)\n- ReLU\n- {name: pool, MaxPool2d: [2]}\n"
    code, out, err = run("net", "-", "--input", "1,3,32,32", "--format", "csv", stdin=text)
    assert (code, err) == (0, "")
    assert [r[:3] for r in csv_rows(out)] == [["0", "Conv2d(3, 6, k=5)", "[1, 6, 28, 28]"],
                                             ["1", "ReLU", "[1, 6, 28, 28]"],
                                             ["pool", "MaxPool2d(k=2)", "[1, 6, 14, 14]"]]
    code, out, err = run("net", "-", stdin=text)
    assert (code, out) == (1, "")
    assert err == ("Error: <stdin>:1: a bare list of layers has no input shape: pass --input "
                   "1,3,224,224, or write a mapping with input: and layers:\n")


def test_pastes_work_with_valid_inputs_and_batches():
    code, out, _ = run("net", "-", "--input", "1,3,8,8", "--valid-inputs", "1..10", stdin="- Conv2d(3, 6, 5)\n")
    assert code == 0 and "valid:  5..10" in out
    code, out, _ = run("net", "-", "--input", "1,3,8,8", "--format", "jsonl",
                       stdin="- Conv2d(3, 6, 5)\n---\nlayers: [ReLU]\n")
    assert code == 0
    assert [json.loads(line)["output_shape"] for line in out.splitlines()] == [[1, 6, 4, 4], [1, 3, 8, 8]]


def test_yaml_specs_are_read_as_before():
    assert not paste.is_printed_model("# LeNet\nname: LeNet\ninput: [1, 1, 28, 28]\nlayers: [ReLU]\n")
    assert not paste.is_printed_model("- Conv2d(3, 6, 5)\n")
    assert not paste.is_printed_model("(0): Conv2d(3, 6, 5)\n")
    assert paste.is_printed_model("\n  Sequential(\n  (0): ReLU()\n)")
    (doc,) = paste.documents("input: [1, 3, 8, 8]\nlayers: [ReLU]\n", "x.yaml")
    assert doc == {"input": [1, 3, 8, 8], "layers": ["ReLU"]}


@pytest.mark.parametrize("line, name, call", [
    ("(conv1): Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)", "conv1",
     "Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)"),
    ("  self.conv = nn.Conv2d(3, 3, 3, padding=same, padding_mode=reflect),", "conv",
     "nn.Conv2d(3, 3, 3, padding='same', padding_mode='reflect')"),
    ("nn.Hardtanh(min_val=-inf, max_val=inf)", None, "nn.Hardtanh(min_val=-1e309, max_val=1e309)"),
    ("torch.flatten(x, 1)", None, "torch.flatten(x, 1)"),
    ("F.interpolate(input=x, mode=nearest, scale_factor=2)", None,
     "F.interpolate(input=x, mode='nearest', scale_factor=2)"),
    ("h = x + 1", None, "h = x + 1"),
])
def test_pasted_lines(line, name, call):
    assert paste.pasted_line(line) == (name, call)


def test_clean_call_refuses_what_is_not_a_call():
    with pytest.raises(SpecError, match="write Name"):
        paste.clean_call("x + 1")


# Against the models themselves ---------------------------------------------------------


def _torch_check(model, shape):
    """convcalc's report of print(model) against the model: every module's output shape (by
    its name, which is its path), the parameter count, the output."""
    import torch

    seen = {}
    for name, module in model.named_modules():
        if name and not list(module.children()):
            module.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, list(o.shape)))
    with torch.no_grad():
        out = model(torch.zeros(shape, device="meta"))
    code, text, err = run("net", "-", "--input", ",".join(map(str, shape)), "--format", "json",
                          stdin=str(model) + "\n")
    assert (code, err) == (0, "")
    data = json.loads(text)
    assert {layer["path"]: layer["output_shape"] for layer in data["layers"]} == seen
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters())
    assert data["output_shape"] == list(out.shape)


@requires_torch
def test_the_d2l_lenet_print_against_torch():
    import torch
    from torch import nn

    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
                              nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
                              nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
                              nn.Linear(84, 10))
    _torch_check(model, (1, 1, 28, 28))


@requires_torch
def test_torchvision_vgg16_as_nested_named_sequentials_against_torch():
    from collections import OrderedDict

    import torch
    from torch import nn

    from convcalc.backend.tvcompat import import_torchvision

    tv = import_torchvision()
    if tv is None:
        pytest.skip("torchvision is not installed")
    with torch.device("meta"):
        vgg = tv.models.vgg16()
        model = nn.Sequential(OrderedDict(features=vgg.features, avgpool=vgg.avgpool,
                                          flatten=nn.Flatten(), classifier=vgg.classifier))
    _torch_check(model, (1, 3, 224, 224))
    # VGG itself flattens in its forward, which print(model) does not show
    code, _, err = run("net", "-", "--input", "1,3,224,224", stdin=str(vgg))
    assert code == 1 and err.startswith("Error: <stdin>:1: VGG is not an nn.Sequential")


@requires_torch
def test_printed_arguments_of_many_layers_against_torch():
    import torch
    from torch import nn

    with torch.device("meta"):
        model = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding="same", padding_mode="circular", bias=False),
            nn.BatchNorm2d(8), nn.GELU(approximate="tanh"), nn.ZeroPad2d((1, 0, 2, 1)),
            nn.Sequential(nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1, groups=4),
                          nn.InstanceNorm2d(4, affine=True), nn.LeakyReLU(0.2)),
            nn.MaxPool2d(3, 2, 1, ceil_mode=True), nn.Upsample(scale_factor=2, mode="bilinear"),
            nn.GroupNorm(2, 4), nn.PixelUnshuffle(2), nn.Dropout2d(0.1), nn.LayerNorm(11),
            nn.AdaptiveMaxPool2d((2, None)), nn.Flatten(), nn.Unflatten(1, (4, -1)),
            nn.Softmax(dim=-1), nn.Hardtanh(-2.0, 2.0), nn.Identity())
    _torch_check(model, (2, 3, 9, 9))
