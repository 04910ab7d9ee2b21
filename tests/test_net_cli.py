"""`convcalc net` and `convcalc zoo` through click's CliRunner: formats, batch, errors, goldens.

Regenerate the golden tables after an intended change: ``python tests/test_net_cli.py --update``.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from convcalc import zoo
from convcalc.cli import cli

GOLDEN = Path(__file__).parent / "golden"
GOLDENS = {  # file: arguments
    "lenet.txt": ["net", "zoo:lenet"],
    "tv-resnet18-depth1.txt": ["net", "zoo:tv-resnet18", "--depth", "1"],
    "googlenet-depth2.md": ["net", "zoo:googlenet", "--depth", "2", "--format", "markdown"],
    "alexnet.csv": ["net", "zoo:alexnet", "--format", "csv"],
}


def run(*args, stdin=None):
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_golden_output(name):
    code, out, err = run(*GOLDENS[name])
    assert (code, err) == (0, "")
    assert out == (GOLDEN / name).read_text(), "run python tests/test_net_cli.py --update if intended"


def test_table_params_column_sums_to_total():
    code, out, _ = run("net", "zoo:tv-mobilenet_v2", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    _, js, _ = run("net", "zoo:tv-mobilenet_v2", "--format", "json")
    totals = json.loads(js)["totals"]
    assert sum(int(r["params"]) for r in rows) == totals["params"] == 3_504_872
    assert sum(int(r["macs"]) for r in rows) == totals["macs"]
    for depth in ("0", "1", "2"):
        _, out, _ = run("net", "zoo:tv-mobilenet_v2", "--format", "csv", "--depth", depth)
        rows = list(csv.DictReader(io.StringIO(out)))
        assert sum(int(r["params"]) for r in rows) == totals["params"]


def test_json_has_the_documented_keys():
    code, out, _ = run("net", "zoo:lenet", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert {"name", "input_shape", "output_shape", "layers", "totals"} <= set(data)
    assert set(data["totals"]) >= {"params", "trainable_params", "macs", "activation_bytes", "param_bytes"}
    layer = data["layers"][0]
    assert set(layer) >= {"index", "path", "name", "type", "input_shape", "output_shape", "params",
                          "macs", "receptive_field", "jump"}
    assert [l["index"] for l in data["layers"]] == list(range(len(data["layers"])))
    assert data["layers"][0]["type"] == "Conv2d" and data["layers"][0]["receptive_field"] == [5, 5]
    assert data["output_shape"] == [1, 10]
    assert data["totals"]["param_bytes"] == 4 * data["totals"]["params"]


def test_json_layers_list_every_leaf_with_block_paths():
    _, out, _ = run("net", "zoo:tv-resnet18", "--format", "json")
    paths = [l["path"] for l in json.loads(out)["layers"]]
    assert paths[:4] == ["conv1", "bn1", "relu", "maxpool"]
    assert "layer2.0.downsample.0" in paths and "layer2.1.conv2" in paths  # torchvision's names
    assert all(l["type"] != "add" for l in json.loads(out)["layers"])


def test_input_override_and_spec_from_stdin():
    spec = "name: tiny\ninput: [1, 3, 8, 8]\nlayers:\n  - Conv2d(3, 4, 3)\n"
    code, out, _ = run("net", "-", "--format", "json", stdin=spec)
    assert code == 0 and json.loads(out)["output_shape"] == [1, 4, 6, 6]
    code, out, _ = run("net", "-", "--format", "json", "--input", "2,3,10,12", stdin=spec)
    assert json.loads(out)["output_shape"] == [2, 4, 8, 10]


def test_input_size_does_not_change_the_work():
    _, small, _ = run("net", "zoo:tv-resnet50", "--format", "json")
    _, big, _ = run("net", "zoo:tv-resnet50", "--format", "json", "--input", "1,3,2048,2048")
    small, big = json.loads(small), json.loads(big)
    assert big["output_shape"] == [1, 1000]
    assert big["totals"]["params"] == small["totals"]["params"]
    assert big["totals"]["macs"] > small["totals"]["macs"]


def test_batch_jsonl_one_line_per_document_in_order(tmp_path):
    docs = [
        "name: a\ninput: [1, 1, 8, 8]\nlayers: ['Conv2d(1, 2, 3)']\n",
        "name: b\ninput: [1, 1, 2, 2]\nlayers: ['Conv2d(1, 2, 3)']\n",
        "name: c\ninput: [1, 4]\nlayers: ['Linear(4, 5)']\n",
        "name: d\ninput: [1, 4]\nlayers: [Nope]\n",
    ]
    path = tmp_path / "batch.yaml"
    path.write_text("---\n".join(docs))
    code, out, err = run("net", str(path), "--format", "jsonl")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert [l.get("name") for l in lines] == ["a", None, "c", None]
    assert lines[0]["output_shape"] == [1, 2, 6, 6] and lines[2]["output_shape"] == [1, 5]
    assert lines[1]["error"]["type"] == "Conv2d" and lines[1]["error"]["layer"] == "0"
    assert "#2:" in lines[1]["error"]["message"]
    assert lines[3]["error"]["message"].endswith("unknown layer 'Nope': see docs/layers.md for the supported layers")
    assert err == "Error: 2 of 4 documents failed (see their error objects)\n"


def test_batch_of_valid_documents_exits_0(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("---\n".join(f"input: [1, 1, {n}, {n}]\nlayers: [MaxPool2d(2)]\n" for n in range(2, 40)))
    code, out, _ = run("net", str(path), "--format", "jsonl")
    assert code == 0
    assert [json.loads(l)["output_shape"][-1] for l in out.splitlines()] == [n // 2 for n in range(2, 40)]


def write(tmp_path, text, name="spec.yaml"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


SPEC_ERRORS = [
    ("name: x\ninput: [1, 1, 28, 28]\nlayers:\n  - Conv2d(1, 6, kernal_size=5)\n",
     "spec.yaml:4: layer 0 Conv2d: unknown argument 'kernal_size': did you mean kernel_size?"),
    ("input: [1, 1, 28, 28]\nlayers:\n  - Conv2d(1, 6, 5)\n  - Flatten\n  - Linear(400, 10)\n",
     "spec.yaml:5: layer 2 Linear: in_features=400 but the incoming shape [1, 3456] has 3456 features: "
     "use in_features=3456, or omit it to infer it"),
    ("input: [1, 3, 28, 28]\nlayers:\n  - Conv2d(1, 6, 5)\n",
     "spec.yaml:3: layer 0 Conv2d: in_channels=1 but the incoming shape [1, 3, 28, 28] has 3 channels: "
     "use in_channels=3, or omit it to infer it"),
    ("input: [1, 1, 28, 28]\nlayers:\n  - Conv2D(1, 6, 5)\n",
     "spec.yaml:3: layer 0 Conv2D: unknown layer 'Conv2D': did you mean Conv2d?"),
    ("input: [1, 1, 28, 28]\nlayers:\n  - Conv2d(1, 6, -5)\n",
     "spec.yaml:3: layer 0 Conv2d: kernel_size must be >= 1, got -5"),
    ("input: [1, 1, 28, 28]\nlayers:\n  - Conv2d(1, 6, 10**30)\n",
     "spec.yaml:3: layer 0 Conv2d: kernel_size must be <= 2**63 - 1 (PyTorch sizes are int64), "
     "got 1000000000000000000000000000000"),
    ("input: [1, 1, 28, 28]\nlayers:\n  - Conv2d(1, 6, '5')\n",
     "spec.yaml:3: layer 0 Conv2d: kernel_size must be an integer, got '5'"),
    ("input: [1, 1, 28, 28]\nlayers:\n  - Conv2d(1, 6, 5\n",
     "spec.yaml:3: cannot parse layer 'Conv2d(1, 6, 5': '(' was never closed: inside a YAML "
     "[flow list], quote calls that contain commas: ['Conv2d(1, 6, 5)']"),
    ("input: [1, 1, 28, 28]\nlayers:\n  - Conv2d(1, 6, __import__('os'))\n",
     "spec.yaml:3: layer 0 Conv2d: unsupported expression \"__import__('os')\": only literals, "
     "block parameters and arithmetic are allowed"),
    ("input: [1, 1, 28, 28]\nlayers: [Conv2d: {out_channels: 6}]\n",
     "spec.yaml:2: layer 0 Conv2d: missing required argument 'kernel_size'"),
    ("input: [1, 1, 28, 28]\nlayers:\n  - {Conv2d: {out_channels: 6, kernel_size: 3}, ReLU: null}\n",
     "spec.yaml:3: a layer mapping has one key (the layer), got 'Conv2d', 'ReLU': "
     "write {Conv2d: {out_channels: 6, kernel_size: 5}}"),
    ("input: [1, 1, 28, 28]\nlayer:\n  - ReLU\n",
     "spec.yaml:2: unknown key 'layer': a spec has name, input, inputs, outputs, layers, blocks, description"),
    ("input: [1, 1, 28, 28]\nlayers: [ReLU\n", None),  # malformed YAML
    ("\n  input:\n- 1\n- 3\nlayers: []\n",  # one malformed document (PyYAML ends one early), not a batch
     "spec.yaml:3: malformed YAML: did not find expected <document start>"),
    ("- just\n- a list\n", "spec.yaml:1: a bare list of layers has no input shape: pass --input "
     "1,3,224,224, or write a mapping with input: and layers:"),  # with --input: its layers:
    ("", "spec.yaml: empty spec: write a mapping with input: and layers:"),
    ("input: [1, -3, 28]\nlayers: [ReLU]\n",
     "spec.yaml:1: input sizes must be integers from 0 to 2**63 - 1, got -3"),
    ("input: [1, 1, 4, 4]\nlayers:\n  - Conv2d(1, 2, 3)\n  - MaxPool2d(3)\n",
     "spec.yaml:4: layer 1 MaxPool2d: input 2x2 is smaller than the 3x3 window (output would be 0x0): "
     "use an input of at least 3x3, or a smaller kernel; the smallest input the whole network accepts "
     "is [1, 1, 5, 5]"),
    ("input: [1, 2, 8, 8]\nlayers:\n  - add:\n      - ['Conv2d(2, 4, 3, padding=1)']\n      - []\n",
     "spec.yaml:3: add: cannot add branches of shapes [[1, 4, 8, 8], [1, 2, 8, 8]]: "
     "give the shortcut a 1x1 convolution with the same stride and channels"),
    ("blocks:\n  b:\n    layers: [b]\ninput: [1, 2]\nlayers: [b]\n",
     "spec.yaml:3: blocks nest deeper than 64 levels (does a block call itself?)"),
]


@pytest.mark.parametrize("text, message", SPEC_ERRORS)
def test_spec_errors_are_one_line_with_file_and_line(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, text)
    code, out, err = run("net", "spec.yaml")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    if message is None:
        assert err.startswith("Error: spec.yaml:3: malformed YAML")
    else:
        assert err == f"Error: {message}\n"


def test_files_that_are_not_specs(tmp_path):
    code, _, err = run("net", str(tmp_path))
    assert code == 1 and err == f"Error: {tmp_path} is a directory, not a spec file\n"
    code, _, err = run("net", write(tmp_path, b"\x00\x01\x02binary", "b.bin"))
    assert code == 1 and err.endswith("is a binary file, not a YAML spec\n")
    code, _, err = run("net", write(tmp_path, b"\xff\xfe\xfa", "latin.yaml"))
    assert code == 1 and err.endswith("is not UTF-8 text\n")
    code, _, err = run("net", str(tmp_path / "missing.yaml"))
    assert code == 1 and "no such file" in err
    code, _, err = run("net", "zoo:resnet-18")
    assert code == 1 and err == "Error: no zoo spec named 'resnet-18': did you mean zoo:resnet18?\n"


def test_usage_errors(tmp_path):
    code, _, err = run("net", "zoo:lenet", "--input", "1,1,2.5,W")
    assert code == 2 and "is not a shape" in err
    code, _, err = run("net", "zoo:lenet", "--format", "xml")
    assert code == 2
    code, _, err = run("net", "zoo:lenet", "--depth", "-1")
    assert code == 2


def test_json_error_object_for_a_single_document(tmp_path):
    path = write(tmp_path, "input: [1, 1, 2, 2]\nlayers: ['Conv2d(1, 1, 3)']\n")
    code, out, err = run("net", path, "--format", "json")
    assert code == 1
    assert json.loads(out)["error"]["type"] == "Conv2d"
    assert err.startswith("Error: ")


def test_zoo_lists_every_spec():
    code, out, _ = run("zoo", "--format", "json")
    names = [e["name"] for e in json.loads(out)]
    assert code == 0 and "tv-resnet50" in names and names == zoo.names()  # every bundled file
    code, out, _ = run("zoo")
    assert out.splitlines()[0].startswith("alexnet")


def update() -> None:
    for name, args in GOLDENS.items():
        code, out, err = run(*args)
        assert code == 0, err
        (GOLDEN / name).write_text(out)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    if sys.argv[1:] == ["--update"]:
        update()
    else:
        sys.exit("usage: python tests/test_net_cli.py --update")
