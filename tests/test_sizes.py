"""Sizes as users write them: separators, brackets, the reading of one size, and the
hints and warnings that say which reading was taken."""

import json

import pytest
from click.testing import CliRunner

from convcalc.cli import cli
from convcalc.cli.types import channels_hint, is_number, parse_shape, split_sizes


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("given", ["224x224", "224,224", "224×224", "224, 224", "[224, 224]", "(224,224)"])
def test_in_accepts_every_spelling(given):
    assert run("conv", "--in", given, "--k", "3") == (0, "222x222\n", "")


@pytest.mark.parametrize("given", ["1,3,224,224", "1x3x224x224", "[1, 3, 224, 224]", " 1, 3, 224, 224 "])
def test_input_accepts_every_spelling(given):
    assert parse_shape(given) == (1, 3, 224, 224)


def test_input_with_symbols_and_refusals():
    assert [str(s) for s in parse_shape("1x3xHxW")] == ["1", "3", "H", "W"]
    code, _, err = run("net", "zoo:lenet", "--input", "1,1,28,2.5")
    assert code == 2 and "is not a shape" in err
    code, _, err = run("net", "zoo:lenet", "--input", "1,1,28,28", "--format", "json")
    assert code == 0


def test_is_number_and_split_sizes():
    assert [is_number(t) for t in ("28", "+3", "-1", "", "2.5", "²", "1" * 41)] == [
        True, True, True, False, False, False, False]
    assert split_sizes("[16, 28x28]") == ["16", "28", "28"]


# One size: which reading -----------------------------------------------------------------


def test_solve_padding_says_one_size_is_read_as_1d():
    code, out, err = run("solve-padding", "--in", "224", "--k", "3", "--s", "2")
    assert (code, err) == (0, "")
    assert out.splitlines() == ["padding=1 -> 112",
                                "nn.Conv1d(C_in, C_out, kernel_size=3, stride=2, padding=1)",
                                "note: 1-d; give --in 224x224 for 2-d"]


@pytest.mark.parametrize("args", [["--in", "224", "--k", "3x3"], ["--in", "224x224", "--k", "3"],
                                  ["--in", "224,224", "--k", "3"]])
def test_solve_padding_reads_2d_from_any_2d_value(args):
    code, out, _ = run("solve-padding", *args, "--s", "2")
    assert code == 0
    assert out.splitlines() == ["padding=1 -> 112x112",
                                "nn.Conv2d(C_in, C_out, kernel_size=3, stride=2, padding=1)"]


def test_solve_padding_json_is_unchanged_by_the_note():
    code, out, _ = run("solve-padding", "--in", "224", "--k", "3", "--format", "json")
    assert code == 0 and "notes" not in json.loads(out)


def test_solve_padding_refuses_symbols():
    code, _, err = run("solve-padding", "--in", "H", "--k", "3")
    assert code == 2 and "needs numeric sizes" in err


def test_solve_reads_a_2d_kernel_as_2d():
    code, out, _ = run("solve", "--in", "224", "--out", "112", "--layer", "conv", "--k", "3x3",
                       "--s", "2", "--limit", "1")
    assert code == 0
    assert out.splitlines() == ["224x224 -> 112x112: 3 configurations; the first 1, simplest first",
                                "nn.Conv2d(C_in, C_out, kernel_size=3, stride=2, padding=1)"]
    code, out, _ = run("solve", "--in", "224", "--out", "112", "--layer", "conv", "--k", "3",
                       "--s", "2", "--limit", "1")
    assert out.splitlines()[0] == ("224 -> 112 (1-d; give --in 224x224 for 2-d): 3 configurations; "
                                   "the first 1, simplest first")


@pytest.mark.parametrize("args, message", [
    (["--in", "224", "--out", "112", "--k", "3x5"], "the solver uses one value in every dimension"),
    (["--in", "224x224x224", "--out", "112", "--k", "3x3"], "--k is 2-d but --in 224x224x224 is 3-d"),
    (["--in", "224", "--out", "112", "--k", "3xa"], "is not a value list"),
])
def test_solve_refuses_mismatched_dimensions(args, message):
    code, _, err = run("solve", *args)
    assert code == 2 and message in err


# Hints and warnings -----------------------------------------------------------------------


def test_channels_first_input_gets_a_hint():
    code, out, err = run("conv", "--in", "3x224x224", "--k", "1")
    assert (code, out) == (0, "3x224x224\n")
    assert err == ("Hint: 3x224x224 is read as 3 spatial dims (Conv3d); for an RGB image give "
                   "--in 224x224\n")


@pytest.mark.parametrize("sizes, command, expected", [
    ((1, 28, 28), "pool", "1x28x28 is read as 3 spatial dims (MaxPool3d/AvgPool3d); for a "
     "one-channel image give --in 28x28"),
    ((4, 64, 64), "tconv", "4x64x64 is read as 3 spatial dims (ConvTranspose3d); for an RGBA "
     "image give --in 64x64"),
    ((3, 224, 224), "solve-padding", "3x224x224 is read as 3 spatial dims (a 3-d layer); for an "
     "RGB image give --in 224x224"),
    ((16, 28, 28), "conv", None),  # a volume
    ((3, 16, 16), "conv", None),  # not much larger
    ((224, 224), "conv", None),
])
def test_channels_hint(sizes, command, expected):
    assert channels_hint(sizes, command) == expected


def test_padding_larger_than_the_kernel_warns():
    code, out, err = run("solve-padding", "--in", "224", "--k", "7", "--s", "2", "--out", "224")
    assert code == 0
    assert out.startswith("padding=115 -> 224\n")
    assert err == ("Warning: padding 115 exceeds the kernel size 7: PyTorch allows it, but it is "
                   "almost never meant (some windows see padding alone); with stride 2, 'same' is "
                   "112, not 224\n")
    code, out, err = run("solve-padding", "--in", "224", "--k", "7", "--s", "2", "--out", "224",
                         "--format", "json")
    assert code == 0 and json.loads(out)["warnings"] == [err.removeprefix("Warning: ").rstrip("\n")]


@pytest.mark.parametrize("args, warned", [
    (["--in", "224", "--k", "7", "--s", "2"], False),  # 'same': padding 3
    (["--in", "10", "--k", "3", "--out", "30"], True),
    (["--in", "16", "--k", "4", "--s", "2", "--out", "2", "--layer", "tconv"], True),
    (["--in", "20", "--k", "2", "--out", "20", "--layer", "pool"], True),
])
def test_large_padding_warning_cases(args, warned):
    code, _, err = run("solve-padding", *args)
    assert code == 0 and err.startswith("Warning: padding") == warned
