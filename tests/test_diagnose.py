"""Errors that diagnose: the common causes of a refusal are said first, in one line."""

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from convcalc import spec
from convcalc.cli import cli
from convcalc.cli import netrun
from convcalc.diagnose import explain, progression
from convcalc.errors import ConvcalcError, ShapeError
from convcalc.graph.lower import lower

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"

NO_FLATTEN = """\
name: LeNet
input: [1, 1, 28, 28]
layers:
  - Conv2d(1, 6, kernel_size=5, padding=2)
  - AvgPool2d(kernel_size=2, stride=2)
  - Conv2d(6, 16, kernel_size=5)
  - AvgPool2d(kernel_size=2, stride=2)
  - Linear({features}, 120)
  - Linear(120, 10)
"""


def net(*args, monkeypatch=None):
    result = CliRunner().invoke(cli, ["net", *args])
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path, text, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def parsed(path):
    text, source = spec.read_text(path)
    return spec.parse_spec(spec.load_documents(text, source)[0], source)


# A missing Flatten -------------------------------------------------------------------------


def test_linear_after_a_conv_stack_asks_for_flatten(tmp_path):
    path = write(tmp_path, NO_FLATTEN.format(features="16 * 5 * 5"))
    code, out, err = net(path)
    assert code == 1 and out == ""
    assert err == (f"Error: {path}:8: layer 4 Linear: missing Flatten before Linear: its input "
                   "[1, 16, 5, 5] is not flat: add Flatten, then Linear(400, ...) "
                   "(16 x 5 x 5 = 400 features)\n")
    assert "in_features=5" not in err


def test_flatten_fix_names_the_features_flatten_gives(tmp_path):
    path = write(tmp_path, NO_FLATTEN.format(features=300))
    _, _, err = net(path)
    assert "missing Flatten before Linear" in err
    assert "add Flatten, then Linear(400, ...) (16 x 5 x 5 = 400 features, not 300)" in err


def test_a_sequence_into_linear_is_not_a_missing_flatten(tmp_path):
    path = write(tmp_path, "name: t\ninput: [2, 7, 16]\nlayers:\n  - Linear(32, 8)\n")
    _, _, err = net(path)
    assert "Flatten" not in err and "use in_features=16" in err


# The input size ----------------------------------------------------------------------------


def test_unet_input_must_be_a_multiple_of_16():
    code, out, err = net(str(EXAMPLES / "unet-padded.yaml"), "--input", "1,3,250,250")
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"Error: {EXAMPLES / 'unet-padded.yaml'}: the spec was written for "
                          "[1, 3, 256, 256]; the input's H and W must be multiples of 16 "
                          "(4 poolings by 2); nearest valid: 240, 256 (")
    assert "sizes of tensors must match" in err  # what failed, after the cause


def test_multiple_of_rule_without_another_input(tmp_path):
    text = (EXAMPLES / "unet-padded.yaml").read_text().replace("[1, 3, 256, 256]", "[1, 3, 200, 200]")
    code, _, err = net(write(tmp_path, text))
    assert code == 1
    assert ": the input's H and W must be multiples of 16 (4 poolings by 2); nearest valid: 192, 208 (" in err
    assert "written for" not in err


def test_non_square_input_names_each_dimension():
    _, _, err = net(str(EXAMPLES / "unet-padded.yaml"), "--input", "1,3,256,260")
    assert "multiples of 16 (4 poolings by 2); nearest valid: H 256; W 256, 272 (" in err


def test_spec_written_for_another_input():
    code, _, err = net("zoo:lenet", "--input", "1,1,32,32")
    assert code == 1
    assert err == ("Error: zoo:lenet: the spec was written for [1, 1, 28, 28]; the valid sizes near "
                   "32: 28..31 (zoo:lenet:12: layer 7 Linear: in_features=400 but the incoming "
                   "shape [1, 576] has 576 features)\n")


def test_diagnosing_lenet_is_fast():
    lenet = parsed("zoo:lenet")
    with pytest.raises(ConvcalcError) as caught:
        lower(lenet, (1, 1, 32, 32))
    start = time.perf_counter()
    found = explain(caught.value, lenet, (1, 1, 32, 32))
    elapsed = time.perf_counter() - start
    assert found.cause == "input-size" and found.original is caught.value
    assert elapsed < 1.0  # about 20 ms; generous for a loaded machine


def test_other_channels_keep_the_error_and_its_fix():
    _, _, err = net("zoo:lenet", "--input", "1,3,28,28")
    assert err.startswith("Error: zoo:lenet: the spec was written for [1, 1, 28, 28], not "
                          "[1, 3, 28, 28]: zoo:lenet:5: layer 0 Conv2d: in_channels=1")
    assert err.rstrip().endswith("use in_channels=3, or omit it to infer it")


def test_too_small_input_keeps_the_smallest_input():
    _, _, err = net("zoo:lenet", "--input", "1,1,8,8")
    assert err.startswith("Error: zoo:lenet: the spec was written for [1, 1, 28, 28], not [1, 1, 8, 8]: ")
    assert err.rstrip().endswith("the smallest input the whole network accepts is [1, 1, 28, 28]")


def test_no_diagnosis_leaves_the_error_alone():
    error = ShapeError("something else")
    assert explain(error) is error
    lenet = parsed("zoo:lenet")
    assert explain(error, lenet, None) is error  # the spec's own input: no scan finds a rule


@pytest.mark.parametrize("valid, scanned, expected", [
    ([192, 208, 224, 240], range(186, 251), (192, 16)),
    ([28, 29, 30, 31], range(1, 97), None),  # a range, not a progression
    ([32, 64], range(1, 97), None),  # two are not enough
    ([16, 32, 48], range(1, 97), None),  # 64 was scanned and refused
    ([20, 36, 52, 68, 84], range(1, 97), (20, 16)),
])
def test_progression(valid, scanned, expected):
    assert progression(valid, scanned) == expected


def test_json_and_batches_carry_the_diagnosis(tmp_path):
    path = write(tmp_path, NO_FLATTEN.format(features=400))
    code, out, _ = net(path, "--format", "json")
    assert code == 1 and "missing Flatten before Linear" in out
    batch = write(tmp_path, NO_FLATTEN.format(features=400) + "---\n" + NO_FLATTEN.format(features=400),
                  "batch.yaml")
    code, out, _ = net(batch, "--format", "jsonl")
    assert code == 1 and out.count("missing Flatten before Linear") == 2


# The partial table -------------------------------------------------------------------------


def test_keep_going_prints_the_rows_before_the_failing_layer(tmp_path):
    path = write(tmp_path, NO_FLATTEN.format(features=400))
    code, out, err = net(path, "--keep-going")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "LeNet: input [1, 1, 28, 28], the layers before 4 Linear, which fails (the error below)"
    assert [line.split("│")[1].strip() for line in lines if line.startswith("│")] == ["0", "1", "2", "3"]
    assert "[1, 16, 5, 5]" in lines[-2]
    assert "missing Flatten" in err


def test_partial_table_by_default_on_a_terminal_only(tmp_path, monkeypatch):
    path = write(tmp_path, NO_FLATTEN.format(features=400))
    assert net(path)[1] == ""  # not a terminal
    monkeypatch.setattr(netrun, "_terminal", lambda: True)
    assert net(path)[1].startswith("LeNet: input [1, 1, 28, 28], the layers before 4 Linear")
    assert net(path, "--format", "json")[1].startswith('{"error"')  # tables only


def test_partial_table_folds_with_depth():
    code, out, _ = net(str(EXAMPLES / "unet-padded.yaml"), "--input", "1,3,250,250",
                       "--keep-going", "--depth", "1")
    assert code == 1
    assert out.splitlines()[0] == ("unet-padded: input [1, 3, 250, 250], the layers before 5.cat, "
                                   "which fails (the error below)")
    assert [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")] == [
        "0", "1", "2", "3", "4", "5"]


def test_lowering_attaches_the_operations_before_the_error():
    with pytest.raises(ConvcalcError) as caught:
        lower(parsed(str(EXAMPLES / "no-flatten.yaml")))
    partial = caught.value.partial
    assert [op.type for op in partial.ops] == ["Conv2d", "Sigmoid", "AvgPool2d", "Conv2d", "Sigmoid",
                                               "AvgPool2d"]
    assert partial.output_shape == (1, 16, 5, 5)


def test_nothing_lowered_gives_no_table(tmp_path):
    path = write(tmp_path, "name: t\ninput: [1, 3, 8, 8]\nlayers:\n  - Linear(5, 2)\n")
    assert net(path, "--keep-going")[1] == ""


# Reading the spec --------------------------------------------------------------------------


@pytest.mark.parametrize("layers", ["\t- ReLU\n", "  -\tReLU\n"])
def test_a_tab_in_the_indentation(tmp_path, layers):
    path = write(tmp_path, "name: t\ninput: [1, 3, 8, 8]\nlayers:\n" + layers)
    code, _, err = net(path)
    assert (code, err) == (1, f"Error: {path}:4: a tab in the indentation; YAML indents with spaces\n")


def test_other_yaml_errors_are_unchanged(tmp_path):
    path = write(tmp_path, "name: t\ninput: [1, 3, 8, 8]\nlayers:\n  - x: [1, 2\n")
    assert "malformed YAML" in net(path)[2]


@pytest.mark.parametrize("call, fix", [
    ("Conv2d(3, 32, 3, padding=same)", "padding='same'"),
    ("Conv2d(3, 32, 3, padding=1, padding_mode=reflect)", "padding_mode='reflect'"),
    ("Upsample(scale_factor=2, mode=bilinear)", "mode='bilinear'"),
])
def test_an_unquoted_string_asks_for_quotes(tmp_path, call, fix):
    path = write(tmp_path, f"name: t\ninput: [1, 3, 8, 8]\nlayers:\n  - {call}\n")
    code, _, err = net(path)
    word = fix.split("'")[1]
    assert code == 1
    assert err.rstrip().endswith(f"unknown name '{word}': quote strings: {fix}")


def test_an_unknown_name_still_lists_the_known_ones(tmp_path):
    path = write(tmp_path, "name: t\ninput: [1, 3, 8, 8]\nlayers:\n  - Conv2d(3, 4, k)\n")
    assert net(path)[2].rstrip().endswith("unknown name 'k' (known: self, x)")
