"""Hostile and malformed input ends quickly with one line: alias bombs, special files,
duplicate keys, repeated keywords (a first part of the reliability issue's suite)."""

import os
import resource
import subprocess
import sys
import time

import pytest

LIMIT_BYTES = 400 * 2**20  # address space for a command that does not import torch


def convcalc(*args, stdin=None, seconds=5):
    """Run the CLI in a child with a time and address-space limit: (exit code, stderr)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))

    done = subprocess.run([sys.executable, "-m", "convcalc", *args], input=stdin, text=True,
                          capture_output=True, timeout=seconds, preexec_fn=limit)
    return done.returncode, done.stderr


def bomb(levels=9, width=9, where="layers"):
    lines = ["a: &a [" + ", ".join(["ReLU"] * width) + "]"]
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * width) + "]")
    last = chr(ord("a") + levels - 1)
    body = {"layers": f"layers: *{last}", "description": f"description: *{last}\nlayers: [ReLU]"}[where]
    return "\n".join(lines) + f"\ninput: [1, 3]\n{body}\n"


@pytest.mark.parametrize("where", ["layers", "description"])
def test_alias_bombs_are_refused_before_any_work(where):
    start = time.monotonic()
    code, err = convcalc("net", "-", stdin=bomb(where=where))
    assert code == 1 and err.count("\n") == 1
    assert "expands to more than 1,000,000 values" in err
    assert time.monotonic() - start < 3


def test_shared_aliases_below_the_limit_still_work():
    text = "input: [1, 3, 4, 4]\nlayers: [&conv 'Conv2d(3, 3, 1)', *conv, ReLU]\n"
    code, err = convcalc("net", "-", "--format", "json", stdin=text)
    assert code == 0, err


def test_a_fifo_is_refused_without_being_opened(tmp_path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    code, err = convcalc("net", str(fifo), seconds=5)
    assert code == 1 and err == f"Error: {fifo} is not a regular file (a FIFO, socket or device): " \
                                "save the spec to a file, or pipe it to - (standard input)\n"


@pytest.mark.parametrize("text, line", [
    ("input: [1, 3, 8, 8]\ninput: [1, 3, 9, 9]\nlayers: [ReLU]\n", "'input' is given twice in one mapping (lines 1 and 2)"),
    ("input: [1, 3, 8, 8]\nlayers: [ReLU]\nlayers: [Tanh]\n", "'layers' is given twice in one mapping (lines 2 and 3)"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - Conv2d: {in_channels: 3, out_channels: 4, kernel_size: 3, kernel_size: 5}\n",
     "'kernel_size' is given twice in one mapping (lines 3 and 3)"),
])
def test_duplicate_keys_are_errors_with_both_lines(text, line):
    code, err = convcalc("net", "-", stdin=text)
    assert code == 1 and line in err and err.count("\n") == 1


def test_a_repeated_keyword_is_refused_as_python_does():
    code, err = convcalc("net", "-", stdin="input: [1, 3, 8, 8]\nlayers:\n  - Conv2d(3, 4, kernel_size=3, kernel_size=5)\n")
    assert code == 1 and err == "Error: <stdin>:3: Conv2d(): keyword argument repeated: kernel_size\n"


DEEP_MINUS = "input: [1, 3]\nlayers:\n  - Linear(3, " + "-" * 9000 + "3)\n"


@pytest.mark.parametrize("text, expected", [
    ("input: [1, 3, 8, 8]\nlayers:\n  - {ReLU: null, when: \"'a' > 3\"}\n",
     "cannot compare 'a' (str) with 3 (int)"),
    (DEEP_MINUS, "layer is nested too deeply (9012 characters)"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - Upsample: {scale_factor: 2, mode: [a]}\n",
     "mode must be one of nearest, nearest-exact, area, linear, bilinear, bicubic, trilinear, got ['a']"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {when: null, ReLU: null}\n", "when: needs a condition, got null"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {name: \"a\\nb\", Conv2d: [3, 3, 9]}\n", "layer a\\nb Conv2d"),
])
def test_no_internal_error_and_one_line(text, expected):
    code, err = convcalc("net", "-", stdin=text)
    assert code == 1 and expected in err
    assert err.count("\n") == 1 and "internal error" not in err


@pytest.mark.parametrize("body, limit, seconds", [
    ("[]", "1,000,000 items", 2),
    ("[{ReLU: null, when: false}]", "1,000,000 items", 2),
    ("[{add: [[], []]}]", "200,000 operations", 6),  # each iteration really emits an operation
])
def test_nested_repeats_are_refused_quickly(body, limit, seconds):
    text = f"input: [1, 3]\nlayers:\n  - repeat: 100000\n    layers:\n      - repeat: 100000\n        layers: {body}\n"
    start = time.monotonic()
    code, err = convcalc("net", "-", stdin=text, seconds=seconds + 5)
    assert code == 1 and limit in err and err.count("\n") == 1
    assert time.monotonic() - start < seconds


EDGES = [  # (layer, input): cases where convcalc and PyTorch once differed
    ("Upsample(size=5, recompute_scale_factor=True)", [1, 1, 3, 3]),
    ("BatchNorm2d(3, affine=False, track_running_stats=False)", [2, 4, 3, 3]),
    ("BatchNorm2d(3, affine=False)", [2, 4, 3, 3]),
    ("BatchNorm3d(0)", [2, 0, 3, 3, 3]),
    ("LayerNorm([])", [2, 3]),
    ("ReLU()", []),
    ("Dropout()", []),
]


@pytest.mark.parametrize("layer, shape", EDGES)
def test_edge_cases_agree_with_torch(layer, shape):
    torch = pytest.importorskip("torch")
    from helpers import report_of

    try:
        want = tuple(eval(f"torch.nn.{layer}", {"torch": torch})(torch.zeros(shape)).shape)  # noqa: S307
    except (RuntimeError, ValueError, IndexError) as e:
        want = e
    try:
        got = report_of(f"input: {shape}\nlayers: ['{layer}']\n").output_shape
    except Exception as e:  # noqa: BLE001 - a ConvcalcError is a refusal
        got = e
    assert isinstance(want, Exception) == isinstance(got, Exception), (want, got)
    if not isinstance(want, Exception):
        assert got == want
