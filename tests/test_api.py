"""The Python API: ``convcalc.summary`` gives what ``convcalc net`` prints, as values."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import convcalc
from convcalc import spec as specs
from convcalc.api import Row, Summary
from convcalc.cli import cli

ROOT = Path(__file__).resolve().parent.parent
TINY = "name: tiny\ninput: [1, 3, 8, 8]\nlayers:\n  - Conv2d(3, 4, 3)\n  - ReLU\n"


def cli_out(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_docs_page_runs():
    failures, tried = doctest.testfile(str(ROOT / "docs" / "api.md"), module_relative=False)
    assert failures == 0 and tried >= 5


def test_exported_from_the_package():
    assert convcalc.summary is convcalc.api.summary and convcalc.Summary is Summary
    assert {"summary", "Summary"} <= set(convcalc.__all__)


def test_summary_is_the_json_of_net():
    s = convcalc.summary("zoo:tv-resnet18", input="1,3,320,320")
    code, out, _ = cli_out("net", "zoo:tv-resnet18", "--input", "1,3,320,320", "--format", "json")
    data = json.loads(out)
    assert code == 0 and s.to_dict() == data and json.loads(s.to_json()) == data
    assert s.input_shape == (1, 3, 320, 320) and s.output_shape == (1, 1000)
    assert s.totals == data["totals"]
    assert [r.path for r in s.layers] == [layer["path"] for layer in data["layers"]]
    assert [r.path for r in s.rows if not r.leaf] == [m["path"] for m in data["merges"]]
    first = s.rows[0]
    assert isinstance(first, Row)
    assert (first.path, first.type, first.input_shape, first.output_shape, first.params, first.macs,
            first.receptive_field, first.jump) == ("conv1", "Conv2d", (1, 3, 320, 320), (1, 64, 160, 160),
                                                   9408, data["layers"][0]["macs"], [7, 7], [2, 2])


def test_repr_is_the_table_of_net():
    s = convcalc.summary("zoo:tv-resnet18", depth=1)
    _, out, _ = cli_out("net", "zoo:tv-resnet18", "--depth", "1")
    assert repr(s) + "\n" == out == str(s) + "\n"
    assert s.table(depth=0) != s.table()


@pytest.mark.parametrize("source", [
    "zoo:lenet",
    TINY,
    "{input: [1, 3, 8, 8], layers: [ReLU]}",
    {"input": (1, 3, 8, 8), "layers": ["Conv2d(3, 4, 3)"]},
])
def test_every_kind_of_spec(source):
    assert convcalc.summary(source).rows


def test_files_and_parsed_specs(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    from_path = convcalc.summary(path)
    assert convcalc.summary(str(path)).to_dict() == from_path.to_dict()
    (doc,) = specs.load_documents(TINY, "tiny.yaml")
    parsed = specs.parse_spec(doc, "tiny.yaml")
    assert convcalc.summary(parsed, input=(1, 3, 10, 10)).output_shape == (1, 4, 8, 8)
    assert from_path.name == "tiny" and from_path.output_shape == (1, 4, 6, 6)


@pytest.mark.parametrize("shape", [(1, 3, 16, 16), [1, 3, 16, 16], "1,3,16,16", "1x3x16x16", "[1, 3, 16, 16]"])
def test_input_forms(shape):
    assert convcalc.summary(TINY, input=shape).output_shape == (1, 4, 14, 14)


def test_symbolic_and_named_inputs(tmp_path):
    s = convcalc.summary(TINY, input="1,3,H,W")
    assert s.output_shape == (1, 4, "H - 2", "W - 2") and s.assumptions == ["H >= 3", "W >= 3"]
    assert s.rows[0].macs == "27*(4*H - 8)*(W - 2)"
    two = tmp_path / "two.yaml"
    two.write_text("inputs:\n  image: [1, 3, 8, 8]\n  mask: [1, 1, 8, 8]\nlayers:\n"
                   "  - torch.cat([image, mask], dim=1)\n")
    assert convcalc.summary(two, input={"image": "1,3,4,4", "mask": (1, 1, 4, 4)}).output_shape == (1, 4, 4, 4)


@pytest.mark.parametrize("source, shape, args", [
    ("zoo:lenet", "1,1,32,32", ["--input", "1,1,32,32"]),
    ("zoo:lenet", "1,1,2,2", ["--input", "1,1,2,2"]),
    ("zoo:nope", None, []),
    ("missing.yaml", None, []),
])
def test_errors_are_the_command_lines(source, shape, args):
    with pytest.raises(convcalc.ConvcalcError) as e:
        convcalc.summary(source, input=shape)
    code, _, err = cli_out("net", source, *args)
    assert code == 1 and err == f"Error: {e.value}\n"


@pytest.mark.parametrize("bad", ["1,x", "", (1, 3, "8.5", 8), 3, (1, True, 4, 4), (1, -3, 8, 8)])
def test_bad_inputs_raise_convcalc_errors(bad):
    with pytest.raises(convcalc.ConvcalcError):
        convcalc.summary(TINY, input=bad)


def test_several_documents_and_odd_specs():
    with pytest.raises(convcalc.ConvcalcError, match="one document, got 2"):
        convcalc.summary(TINY + "---\n" + TINY)
    with pytest.raises(convcalc.ConvcalcError, match="a spec is a path"):
        convcalc.summary(42)


def test_html_is_escaped_and_aligned():
    s = convcalc.summary({"name": "<script>alert(1)</script>", "input": [1, 3, 8, 8],
                          "layers": ["Conv2d(3, 4, 3)"]})
    page = s._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<tr>") == 2 and '<td style="text-align:right">112</td>' in page
    assert "Total params: 112 (trainable 112)" in page


def test_rich_is_optional_and_not_imported_before_use(monkeypatch):
    probe = ("import sys, convcalc; s = convcalc.summary('zoo:lenet'); repr(s); s._repr_html_(); "
             "print(sorted(m for m in ('rich', 'click', 'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    s = convcalc.summary(TINY)
    monkeypatch.setitem(sys.modules, "rich", None)  # as if rich were not installed
    monkeypatch.setitem(sys.modules, "rich.table", None)
    assert s.__rich__() == s.table()


def test_rich_table_when_rich_is_installed():
    pytest.importorskip("rich")
    from rich.console import Console

    s = convcalc.summary({"name": "t[b]", "input": [1, 3, 8, 8], "layers": ["Conv2d(3, 4, 3)"]})
    console = Console(width=120, record=True)
    console.print(s)
    text = console.export_text()
    assert "t[b]: input [1, 3, 8, 8] -> [1, 4, 6, 6]" in text and "Conv2d(3, 4, k=3)" in text
