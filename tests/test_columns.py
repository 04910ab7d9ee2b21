"""`convcalc net --columns/--dtype` in every format, the numbers in human units, and the
layout that fits a table to a width (render/columns.py, render/layout.py)."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest
from click.testing import CliRunner

from convcalc.cli import cli
from convcalc.cli import progress as progress_module
from convcalc.render import columns, layout


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("value, text", [
    (0, "0"), (999, "999"), (1000, "1K"), (9408, "9.408K"), (117_600, "117.6K"), (240_000, "240K"),
    (999_960, "1M"), (25_557_032, "25.56M"), (4_089_184_256, "4.089G"), (17_564 * 10**9, "17.56T"),
])
def test_human_units(value, text):
    assert columns.human(value) == text


@pytest.mark.parametrize("value, text", [(0, "0 B"), (1023, "1,023 B"), (1024, "1 KiB"),
                                         (2_408_448, "2.297 MiB"), (3 * 2**30, "3 GiB")])
def test_human_bytes(value, text):
    assert columns.human_bytes(value) == text


@pytest.mark.parametrize("value, total, text", [(0, 10, "0"), (1, 10_000, "<0.1%"), (1, 3, "33.3%"),
                                                (5, 0, "")])
def test_percent(value, total, text):
    assert columns.percent(value, total) == text


@pytest.mark.parametrize("text, keys", [
    (None, columns.DEFAULT),
    ("layer,input,output", ("layer", "input_shape", "output_shape")),
    ("+input,+params%,-jump", ("layer", "type", "input_shape", "output_shape", "params",
                                "params_percent", "macs", "receptive_field")),
    ("output, Params%, MACs_percent", ("output_shape", "params_percent", "macs_percent")),
    ("all", tuple(columns.COLUMNS)),
])
def test_columns_parse(text, keys):
    assert columns.parse(text) == keys


@pytest.mark.parametrize("text, message", [
    ("layer,nope", "unknown column 'nope'; choose from layer, type, input, output"),
    ("+input,layer", "either list the columns or change the default ones"),
    (",", "name at least one column"),
    ("-layer,-type,-output,-params,-macs,-rf,-jump", "no column left to show"),
])
def test_bad_columns_are_usage_errors(text, message):
    with pytest.raises(ValueError, match=message):
        columns.parse(text)
    code, _, err = run("net", "zoo:lenet", "--columns", text)
    assert code == 2 and message in err and "Traceback" not in err


ALL = ["--columns", "all"]


def test_columns_in_csv_are_exact():
    code, out, _ = run("net", "zoo:lenet", "--format", "csv", *ALL, "--dtype", "float16")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and list(rows[0]) == list(columns.COLUMNS)
    first = rows[0]
    assert first["input_shape"] == "[1, 1, 28, 28]" and first["kernel_stride"] == "5/1"
    assert first["activation_bytes"] == str(6 * 28 * 28 * 2) and first["trainable_params"] == "156"
    assert abs(sum(float(r["params_percent"]) for r in rows) - 100) < 1e-3
    assert abs(sum(float(r["macs_percent"]) for r in rows) - 100) < 1e-3
    code, out, _ = run("net", "zoo:lenet", "--format", "csv", "--columns", "layer,macs")
    assert out.splitlines()[:2] == ["layer,macs", "0,117600"]


def test_columns_and_dtype_in_json():
    _, out, _ = run("net", "zoo:lenet", "--format", "json")
    plain = json.loads(out)
    assert plain["dtype"] == "float32" and "params_percent" not in plain["layers"][0]
    _, out, _ = run("net", "zoo:lenet", "--format", "json", *ALL, "--dtype", "int8")
    data = json.loads(out)
    layer = data["layers"][0]
    assert {k: layer[k] for k in ("kernel_size", "stride", "activation_bytes", "trainable_params")} == {
        "kernel_size": 5, "stride": 1, "activation_bytes": 6 * 28 * 28, "trainable_params": 156}
    assert layer["params_percent"] == round(100 * 156 / 61706, 6)
    assert data["dtype"] == "int8" and data["totals"]["param_bytes"] == 61706
    assert data["totals"]["activation_bytes"] == sum(l["activation_bytes"] for l in data["layers"])
    assert "x 1 bytes (int8)" in data["conventions"]["memory"]
    assert data["layers"][6]["kernel_size"] is None  # Flatten has no window


def test_columns_and_dtype_in_the_table_and_markdown():
    code, out, _ = run("net", "zoo:lenet", "--columns", "layer,input,params%,kernel,memory",
                       "--dtype", "float16")
    lines = out.splitlines()
    assert code == 0
    assert [c.strip() for c in lines[2].strip("┃").split("┃")] == [
        "Layer", "Input shape", "Params %", "K/S", "Act. mem"]
    assert "│ 0     │ [1, 1, 28, 28]  │     0.3% │ 5/1 │ 9.188 KiB │" in lines
    assert "Memory: outputs x 2 B and params x 2 B (float16)." in out
    assert "Columns: Layer = module path; Input shape = tensor into the layer; Params % = share " \
           "of all params; K/S = kernel size / stride; Act. mem = output elements x dtype bytes." in out
    assert "Activation memory (estimate): 29.3 KiB; parameter memory (estimate): 120.5 KiB" in out
    _, md, _ = run("net", "zoo:lenet", "--format", "markdown", "--columns", "layer,type,macs%")
    assert "| Layer | Type | MACs % |" in md and "| 0 | `Conv2d(1, 6, k=5, p=2)` | 28.2% |" in md


def test_dtype_in_a_comparison_and_a_bad_dtype():
    _, out, _ = run("net", "zoo:lenet", "--input", "1,1,28,28", "--input", "1,1,30,30",
                    "--format", "json", "--dtype", "float16")
    data = json.loads(out)
    assert data["totals"]["param_bytes"] == [2 * 61706, 2 * 61706]
    assert [r["dtype"] for r in data["comparison"]] == ["float16", "float16"]
    code, _, err = run("net", "zoo:lenet", "--dtype", "float8")
    assert code == 2 and "'float8' is not one of" in err


def test_totals_in_human_units_no_tiny_gmacs():
    _, out, _ = run("net", "zoo:lenet")
    assert "Total MACs: 416,520 (416.5K; FLOPs = 2 x MACs = 833K)" in out
    assert "GMACs" not in out and "0.0004" not in out
    _, out, _ = run("net", "zoo:tv-resnet50")
    assert "Total params: 25,557,032 (25.56M; trainable 25,557,032)" in out
    assert "Total MACs: 4,089,184,256 (4.089G; FLOPs = 2 x MACs = 8.178G)" in out


def test_fit_cuts_types_then_drops_the_least_important_columns():
    titles = ["Layer", "Type", "Output", "Params", "RF", "Jump"]
    rows = [["conv1", "Conv2d(3, 64, k=7, s=2, p=3, bias=False)", "[1, 64, 112, 112]", "9.4K", "7x7", "2x2"]]
    drop = [0, 0, 0, 0, 3, 7]
    full = layout.fit(titles, rows, None)
    assert full.width() == 5 + 40 + 17 + 6 + 3 + 4 + 3 * 6 + 1 and full.dropped == []
    cut = layout.fit(titles, rows, 80, drop, [5, 12, 6, 6, 2, 4], shrink=[1])
    assert cut.width() <= 80 and cut.dropped == [] and 1 in cut.cut  # the type is cut first
    narrow = layout.fit(titles, rows, 60, drop, [5, 12, 6, 6, 2, 4], shrink=[1])
    assert narrow.dropped == [5] and narrow.width() <= 60  # then Jump goes
    lines = layout.plain_lines("t", titles, rows, narrow)
    assert max(map(len, lines)) <= 60 and "…" in lines[4]
    tiny = layout.fit(titles, rows, 30, drop, [5, 12, 6, 6, 2, 4], shrink=[1], squeeze=[0, 1, 2])
    assert tiny.dropped == [5, 4] and set(tiny.shown) == {0, 1, 2, 3}


def test_progress_shows_a_bar_only_on_a_terminal_after_a_delay(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    with progress_module.progress(10, "work") as advance:  # standard error is not a terminal here
        advance(5)
    fake = Terminal()
    monkeypatch.setattr(sys, "stderr", fake)
    monkeypatch.setattr(progress_module, "DELAY", 0.0)
    with progress_module.progress(10, "scanning") as advance:
        for _ in range(10):
            advance()
    assert "scanning" in fake.getvalue()
    monkeypatch.setattr(progress_module, "DELAY", 60.0)
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    with progress_module.progress(10, "quick") as advance:
        advance(10)
    assert quiet.getvalue() == ""  # short work shows nothing
