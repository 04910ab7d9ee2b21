"""The single-layer commands through click's CliRunner: answers, exit codes, exact errors."""

import json

import pytest
from click.testing import CliRunner

from convcalc.cli import cli


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    "args, answer",
    [
        (["conv", "--in", "28", "--k", "5", "--p", "2"], "28"),
        (["conv", "--in", "28x28", "--k", "5", "--p", "2"], "28x28"),
        (["conv", "--in", "32", "--kernel-size", "5"], "28"),
        (["conv", "--in", "224", "--k", "7x7", "--s", "2", "--p", "3"], "112x112"),
        (["conv", "--in", "16x28x28", "--k", "3", "--p", "same"], "16x28x28"),
        (["conv", "--in", "7", "--k", "3", "--d", "2"], "3"),
        (["conv", "--in", "10", "--k", "3", "--p", "valid"], "8"),
        (["tconv", "--in", "512", "--k", "3", "--s", "2"], "1025"),
        (["tconv", "--in", "3", "--k", "3", "--s", "2", "--p", "1", "--op", "1"], "6"),
        (["tconv", "--in", "16x16", "--k", "4", "--s", "2", "--p", "1", "--output-size", "33"], "33x33"),
        (["pool", "--in", "7", "--k", "3", "--s", "2", "--ceil"], "3"),
        (["pool", "--in", "6", "--k", "3", "--s", "2", "--ceil-mode"], "3"),
        (["pool", "--in", "5", "--k", "2", "--s", "2", "--p", "1", "--ceil"], "3"),
        (["pool", "--in", "28x28", "--k", "2", "--kind", "avg"], "14x14"),
        (["pool", "--in", "112", "--k", "3", "--s", "2", "--p", "1"], "56"),
    ],
)
def test_answer_first_and_alone(args, answer):
    code, out, err = run(*args)
    assert (code, out, err) == (0, answer + "\n", "")


def test_json_conv():
    code, out, _ = run("conv", "--in", "28x28", "--k", "5", "--p", "2", "--format", "json")
    assert code == 0
    assert json.loads(out) == {
        "layer": "Conv2d",
        "input": [28, 28],
        "output": [28, 28],
        "kernel_size": [5, 5],
        "stride": [1, 1],
        "padding": [[2, 2], [2, 2]],
        "dilation": [1, 1],
        "padding_mode": "zeros",
    }


def test_json_same_padding_is_asymmetric_for_even_kernels():
    code, out, _ = run("conv", "--in", "10", "--k", "4", "--p", "same", "--format", "json")
    assert code == 0
    assert json.loads(out)["padding"] == [[1, 2]]


def test_json_tconv_and_pool():
    _, out, _ = run("tconv", "--in", "4", "--k", "3", "--s", "2", "--p", "1", "--format", "json")
    data = json.loads(out)
    assert data["output"] == [7]
    assert data["output_size_range"] == [[7, 8]]
    assert data["padding"] == [[1, 1]]
    _, out, _ = run("pool", "--in", "7x7", "--k", "3", "--s", "2", "--ceil", "--format", "json")
    data = json.loads(out)
    assert (data["layer"], data["output"], data["ceil_mode"]) == ("MaxPool2d", [3, 3], True)


def test_explain_shows_the_numbers():
    code, out, _ = run("conv", "--in", "28", "--k", "5", "--p", "2", "--explain")
    assert code == 0
    assert out.splitlines()[0] == "28"
    assert "   padded input      28 + 2 + 2 = 32" in out
    assert "   output            ⌊(32 − 5) / 1⌋ + 1 = 28" in out


def test_explain_says_when_ceil_mode_drops_the_last_window():
    _, out, _ = run("pool", "--in", "5", "--k", "2", "--s", "2", "--p", "1", "--ceil", "--explain")
    assert "   ceil_mode output  ⌊(7 − 2 + 1) / 2⌋ + 1 = 4" in out
    assert "starts at (4 − 1)·2 = 6 ≥ in + p = 6: it would start in the right padding, so it is dropped -> 3" in out
    _, out, _ = run("pool", "--in", "6", "--k", "3", "--s", "2", "--ceil", "--explain")
    assert "kept -> 3" in out


def test_explain_in_json():
    _, out, _ = run("tconv", "--in", "512", "--k", "3", "--s", "2", "--explain", "--format", "json")
    assert "   output  (512 − 1)·2 − 2·0 + 1·(3 − 1) + 0 + 1 = 1025" in json.loads(out)["explain"]


DOMAIN_ERRORS = [
    (["conv", "--in", "3", "--k", "5"],
     "Error: Conv1d: input 3 is smaller than the dilated kernel 5: pad by at least 1 per side, "
     "or use a smaller kernel or dilation"),
    (["conv", "--in", "28", "--k", "3", "--p", "same", "--s", "2"],
     "Error: Conv1d: padding='same' is not supported for strided convolutions (stride 2): "
     "use stride 1, or an explicit padding (convcalc solve-padding finds one)"),
    (["conv", "--in", "0", "--k", "3"], "Error: Conv1d: input size must be >= 1, got 0"),
    (["conv", "--in", "-4x4", "--k", "3"], "Error: Conv2d: input size must be >= 1, got -4x4"),
    (["conv", "--in", "28", "--k", "0"], "Error: Conv1d: kernel_size must be >= 1, got 0"),
    (["conv", "--in", "28", "--k", "3", "--s", "-2"], "Error: Conv1d: stride must be >= 1, got -2"),
    (["conv", "--in", "28", "--k", "3", "--p", "-1"], "Error: Conv1d: padding must be >= 0, got -1"),
    (["conv", "--in", "9" * 30, "--k", "3"],
     "Error: Conv1d: input size must be <= 2**63 - 1 (PyTorch sizes are int64), got " + "9" * 30),
    (["tconv", "--in", "1", "--k", "1", "--p", "1"],
     "Error: ConvTranspose1d: output would be -1 for input 1: padding 1 removes more than the "
     "layer produces: use padding <= 0, or a larger kernel or stride"),
    (["tconv", "--in", "7", "--k", "3", "--s", "2", "--op", "2"],
     "Error: ConvTranspose1d: output_padding must be smaller than either stride or dilation, "
     "got output_padding 2 with stride 2 and dilation 1: use output_padding <= 1"),
    (["tconv", "--in", "7", "--k", "3", "--p", "same"],
     "Error: ConvTranspose1d: padding must be an integer for a transposed convolution, got 'same': "
     "PyTorch's ConvTranspose has no 'same' or 'valid'"),
    (["pool", "--in", "1x1", "--k", "2"],
     "Error: MaxPool2d: input 1x1 is smaller than the 2x2 window (output would be 0x0): "
     "use an input of at least 2x2, or a smaller kernel"),
    (["pool", "--in", "7", "--k", "3", "--p", "same"],
     "Error: MaxPool1d: padding must be an integer for pooling, got 'same': PyTorch pooling has "
     "no 'same' or 'valid'; convcalc solve-padding finds an explicit padding"),
    (["pool", "--in", "7", "--k", "3", "--p", "2"],
     "Error: MaxPool1d: padding must be at most half the kernel size, got padding 2 with "
     "kernel_size 3: use padding <= 1, or a larger kernel"),
]


@pytest.mark.parametrize("args, message", DOMAIN_ERRORS)
def test_domain_errors_exit_1_with_one_line(args, message):
    code, out, err = run(*args)
    assert (code, out, err) == (1, "", message + "\n")


USAGE_ERRORS = [
    (["conv", "--in", "2.5", "--k", "3"],
     "Error: Invalid value for '--in': '2.5' is not a size: use an integer or a symbol (H), AxB "
     "or AxBxC (one per spatial dimension) (see 'convcalc conv --help')"),
    (["conv", "--in", "28", "--k", "K"],
     "Error: Invalid value for '--k' / '--kernel-size': 'K' is not a size: use an integer, AxB or AxBxC "
     "(one per spatial dimension) (see 'convcalc conv --help')"),
    (["conv", "--in", "28x28", "--k", "3x3x3"],
     "Error: --in has 2 values (28x28) but --k has 3 (3x3x3): give one value, or one per "
     "dimension (see 'convcalc conv --help')"),
    (["conv", "--in", "28", "--k", "3", "--format", "xml"],
     "Error: Invalid value for '--format': 'xml' is not one of 'text', 'json'. "
     "(see 'convcalc conv --help')"),
    (["conv", "--in", "28"], "Error: Missing option '--k' / '--kernel-size'. (see 'convcalc conv --help')"),
    (["conv", "--k", "3"], "Error: Missing option '--in'. (see 'convcalc conv --help')"),
    (["conv", "--in", "28", "--k", "3", "--op", "1"],
     "Error: No such option '--op'. (Did you mean one of: '--groups', '--help', '--p'?) "
     "(see 'convcalc conv --help')"),
    (["pool", "--in", "7", "--k", "3", "--kind", "avg", "--d", "2"],
     "Error: --d applies to max pooling only: torch.nn.AvgPool has no dilation "
     "(see 'convcalc pool --help')"),
    (["pool", "--in", "7", "--k", "3", "--kind", "min"],
     "Error: Invalid value for '--kind': 'min' is not one of 'max', 'avg'. "
     "(see 'convcalc pool --help')"),
    (["frobnicate"], "Error: No such command 'frobnicate'. (see 'convcalc --help')"),
]


@pytest.mark.parametrize("args, message", USAGE_ERRORS)
def test_usage_errors_exit_2_with_one_line(args, message):
    code, out, err = run(*args)
    assert (code, out, err) == (2, "", message + "\n")


HOSTILE = [
    ["conv", "--in", "1" * 5000, "--k", "3"],
    ["conv", "--in", "28x28x28x28", "--k", "3"],
    ["conv", "--in", "28xx28", "--k", "3"],
    ["conv", "--in", "", "--k", "3"],
    ["conv", "--in", "2.5", "--k", "3"],
    ["conv", "--in", "1e9", "--k", "3"],
    ["conv", "--in", "9223372036854775807", "--k", "1", "--p", "1"],
    ["conv", "--in", "9223372036854775807", "--k", "9223372036854775807"],
    ["tconv", "--in", "9223372036854775807", "--k", "3", "--s", "9223372036854775807"],
    ["pool", "--in", "9223372036854775807", "--k", "9223372036854775807", "--ceil"],
    ["conv", "--in", "28", "--k", "3", "--padding-mode", "mirror"],
    ["conv", "--in", "\x00", "--k", "3"],
    ["conv", "--in", "２８", "--k", "3"],
    ["pool", "--in", "7", "--k", "3", "--s", "0", "--ceil"],
    ["tconv", "--in", "7", "--k", "3", "--output-size", "0"],
    ["tconv", "--in", "7x7", "--k", "3", "--output-size", "1x2x3"],
]


@pytest.mark.parametrize("args", HOSTILE)
def test_hostile_input_never_gives_a_traceback(args):
    code, out, err = run(*args)
    assert code in (0, 1, 2)
    assert "Traceback" not in out + err and "internal error" not in err
    if code:
        assert err.startswith("Error: ") and err.count("\n") == 1


def test_version_and_help():
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("convcalc ")
    code, out, _ = run("--help")
    assert code == 0 and "conv" in out and "pool" in out


def test_python_dash_m_works_like_the_script():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "convcalc", "conv", "--in", "28", "--k", "5", "--p", "2"],
        capture_output=True, text=True, check=False,
    )
    assert (done.returncode, done.stdout) == (0, "28\n")
    done = subprocess.run(
        [sys.executable, "-m", "convcalc", "conv", "--in", "3", "--k", "5"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 1 and done.stderr.startswith("Error: Conv1d: input 3")
