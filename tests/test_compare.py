"""``convcalc net --input A --input B``: one network at several inputs, side by side; and
``--input NAME=SHAPE`` for the named inputs of a multi-input spec."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from convcalc.cli import cli
from convcalc.render import compare
from helpers import report_of, zoo_report

TWO_INPUTS = """name: two
inputs:
  image: [1, 3, 32, 32]
  mask: [1, 1, 32, 32]
layers:
  - torch.cat([image, mask], dim=1)
  - Conv2d(4, 8, 3)
"""

INFERRED = """name: head
input: [1, 2, 8, 8]
layers:
  - Conv2d(2, 4, 3, padding=1)
  - Flatten()
  - Linear(out_features=10)
"""


def run(*args, stdin=None):
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_one_input_is_unchanged():
    """A single --input prints exactly what it printed before (and what no --input prints
    when the shape is the spec's own)."""
    plain = run("net", "zoo:tv-resnet18", "--depth", "1")
    same = run("net", "zoo:tv-resnet18", "--depth", "1", "--input", "1,3,224,224")
    assert plain == same and plain[0] == 0
    for fmt in ("json", "csv", "markdown"):
        assert run("net", "zoo:lenet", "--format", fmt) == run("net", "zoo:lenet", "--format", fmt,
                                                              "--input", "1,1,28,28")


def test_two_resolutions_side_by_side():
    code, out, err = run("net", "zoo:tv-resnet18", "--depth", "1", "--input", "1,3,224,224",
                         "--input", "1,3,512,512")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "tv-resnet18: @224 [1, 3, 224, 224] -> [1, 1000]; @512 [1, 3, 512, 512] -> [1, 1000]"
    header = [c.strip() for c in lines[2].strip("┃").split("┃")]
    assert header == ["Layer", "Type", "Output @224", "Output @512", "Params", "MACs @224", "MACs @512"]
    conv1 = [c.strip() for c in lines[4].strip("│").split("│")]
    assert conv1 == ["conv1", "Conv2d(3, 64, k=7, s=2, p=3, bias=False)", "[1, 64, 112, 112]",
                     "[1, 64, 256, 256]", "9,408", "118,013,952", "616,562,688"]
    assert "Total params: 11,689,512 (trainable 11,689,512)" in lines
    assert ("Total MACs: @224 1,814,073,344 (1.814G); @512 9,475,444,736 (9.475G; x5.223); "
            "FLOPs = 2 x MACs") in lines
    assert lines[-1] == "Ratios (x) are to @224, the first --input."
    assert len([line for line in lines if line.startswith("│")]) == 11  # the rows of --depth 1


def test_json_holds_each_report_and_the_totals_side_by_side():
    code, out, _ = run("net", "zoo:tv-resnet18", "--input", "1,3,224,224", "--input", "1,3,448,448",
                       "--format", "json")
    data = json.loads(out)
    assert code == 0 and set(data) == {"comparison", "totals"}
    single = [json.loads(run("net", "zoo:tv-resnet18", "--input", s, "--format", "json")[1])
              for s in ("1,3,224,224", "1,3,448,448")]
    assert data["comparison"] == single
    totals = data["totals"]
    assert totals["inputs"] == ["224", "448"]
    assert totals["input_shapes"] == [[1, 3, 224, 224], [1, 3, 448, 448]]
    assert totals["macs"] == [s["totals"]["macs"] for s in single]
    assert totals["ratios"]["params"] == [1.0, 1.0]
    assert totals["ratios"]["macs"][1] == pytest.approx(totals["macs"][1] / totals["macs"][0])
    assert set(totals["ratios"]) == set(compare.TOTALS)
    code, out, _ = run("net", "zoo:tv-resnet18", "--input", "1,3,224,224", "--input", "1,3,448,448",
                       "--format", "jsonl")
    assert code == 0 and len(out.splitlines()) == 1 and json.loads(out) == data


def test_params_per_input_when_they_differ():
    code, out, _ = run("net", "-", "--input", "1,2,8,8", "--input", "1,2,16,16", stdin=INFERRED)
    assert code == 0
    header = [c.strip() for c in out.splitlines()[2].strip("┃").split("┃")]
    assert header == ["Layer", "Type", "Output @8", "Output @16", "Params @8", "Params @16",
                      "MACs @8", "MACs @16"]
    assert "Total params: @8 2,650 (trainable @8 2,650" not in out
    assert "Total params: @8 2,646 (trainable 2,646); @16 10,326 (trainable 10,326; x3.902)" in out
    code, out, _ = run("net", "-", "--input", "1,2,8,8", "--input", "1,2,16,16", "--format", "csv",
                       stdin=INFERRED)
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["layer", "type", "output_shape@8", "output_shape@16", "params@8", "params@16",
                       "macs@8", "macs@16"]
    assert rows[3][:2] == ["2", "Linear(256, 10) / Linear(1024, 10)"] and rows[3][4:6] == ["2570", "10250"]


def test_markdown_and_labels():
    code, out, _ = run("net", "zoo:lenet", "--input", "1,1,28,28", "--input", "2,1,28,28",
                       "--format", "markdown")
    assert code == 0
    # the same spatial size twice: the labels are the whole shapes
    assert out.splitlines()[0] == ("**LeNet**: @1x1x28x28 `[1, 1, 28, 28]` -> `[1, 10]`; "
                                   "@2x1x28x28 `[2, 1, 28, 28]` -> `[2, 10]`")
    assert "| Layer | Type | Output @1x1x28x28 | Output @2x1x28x28 | Params |" in out
    reports = [zoo_report("lenet", (1, 1, 28, 31)), zoo_report("lenet", (1, 1, 30, 30))]
    assert compare.labels(reports) == ["28x31", "30"]


def test_rows_are_matched_by_path():
    text = ("input: [1, 1, 8, 8]\nblocks:\n  shrink:\n    layers:\n      - MaxPool2d: [2]\n"
            "        when: in_shape[-1] > 8\nlayers:\n  - shrink()\n  - Conv2d(1, 2, 3)\n")
    small, large = report_of(text, input_shape=(1, 1, 8, 8)), report_of(text, input_shape=(1, 1, 16, 16))
    rows = compare.aligned([small, large])
    assert [[c["layer"] if c else None for c in cells] for cells in rows] == [[None, "0.0"], ["1", "1"]]
    _, table = compare.columns([small, large], rows)
    assert table[0][2] == compare.MISSING and table[0][3] == "[1, 1, 8, 8]"


def test_a_failing_input_names_itself():
    code, out, err = run("net", "zoo:lenet", "--input", "1,1,28,28", "--input", "1,1,32,32")
    assert code == 1 and out == ""
    assert err.startswith("Error: at --input 1,1,32,32: zoo:lenet") and "layer 7 Linear" in err
    code, out, err = run("net", "zoo:lenet", "--input", "1,1,28,28", "--input", "1,1,32,32", "--format", "json")
    assert code == 1 and json.loads(out)["error"]["layer"] == "7"
    code, _, err = run("net", "-", "--input", "1,3,8,8", "--input", "1,3,9,9",
                       stdin="input: [1, 3, 8, 8]\nlayers: [ReLU]\n---\ninput: [1, 3, 8, 8]\nlayers: [ReLU]\n")
    assert code == 1 and "comparing inputs takes a spec of one document, got 2" in err


def test_named_inputs(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text(TWO_INPUTS)
    code, out, _ = run("net", str(path), "--input", "image=1,3,64,64", "--input", "mask=1,1,64,64",
                       "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["output_shape"] == [1, 8, 62, 62]
    assert data["inputs"] == {"image": [1, 3, 64, 64], "mask": [1, 1, 64, 64]}
    code, _, err = run("net", str(path), "--input", "mask=1,1,64,64")  # the other keeps its shape
    assert code == 1 and "expected size 32 but got size 64" in err
    code, _, err = run("net", str(path), "--input", "maks=1,1,64,64")
    assert code == 1 and err == f"Error: {path}: no input named 'maks': the spec's inputs are image, mask\n"
    for args, message in [
        (["--input", "1,3,8,8", "--input", "mask=1,1,8,8"], "not both"),
        (["--input", "mask=1,1,8,8", "--input", "mask=1,1,9,9"], "given twice"),
        (["--input", "9x=1,1,8,8"], "write NAME=SHAPE"),
        (["--input", "mask=1,1,8,8", "--valid-inputs", "1..9"], "one unnamed --input"),
    ]:
        code, _, err = run("net", str(path), *args)
        assert code == 2 and message in err, (args, err)
    code, out, _ = run("net", "zoo:lenet", "--input", "x=1,1,28,28", "--format", "csv")
    assert code == 0 and out == run("net", "zoo:lenet", "--format", "csv")[1]
