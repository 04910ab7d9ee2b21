"""Hostile and malformed input ends quickly with one line: alias bombs, special files,
duplicate keys, repeated keywords (a first part of the reliability issue's suite)."""

import os
import re
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
    ("input: []\nlayers:\n  - {concat: [[ReLU]], dim: 0}\n",  # found by tests/test_fuzz_specs.py
     "cat: a zero-dimensional tensor cannot be concatenated, as in torch.cat"),
    ("input: [1, 3]\nlayers:\n  - LeakyReLU(negative_slope='0.1')\n", "negative_slope must be a number, got '0.1'"),
    ("input: [1, 3, 8, 8]\nblocks:\n  b:\n    params: [x]\n    layers: ['Conv2d(3, 4, x - 1)']\nlayers: ['b(3)']\n",
     "'x - 1': a tensor cannot be used here, only numbers"),  # the block's input x hides its parameter
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


def expression(n_chars: int) -> str:
    return "1" + "+1" * (n_chars // 2)


@pytest.mark.parametrize("form, size", [
    ("layers:\n  - Linear: {{in_features: 3, out_features: '{e}'}}\n", 60_000_000),
    ("layers:\n  - {{ReLU: null, when: '{e} > 3'}}\n", 1_000_000),
    ("blocks:\n  b:\n    params: [{{n: '{e}'}}]\n    layers: ['Linear(3, n)']\nlayers: [b]\n", 1_000_000),
    ("layers:\n  - {{repeat: '{e}', layers: [ReLU]}}\n", 1_000_000),
    ("layers:\n  - Linear(3, {e})\n", 1_000_000),
])
def test_every_form_of_expression_has_the_same_length_limit(tmp_path, form, size):
    """A 60 MB expression in a mapping value (and a long one in a when:, a block default,
    a repeat count or a call string) is refused before it is parsed: quickly, and within
    the child's address-space limit."""
    path = tmp_path / "big.yaml"
    path.write_text("input: [1, 3]\n" + form.format(e=expression(size)))
    start = time.monotonic()
    code, err = convcalc("net", str(path))
    assert code == 1 and err.count("\n") == 1
    assert re.search(rf"is too long \({size // 10**6},0{{2}}0,0\d\d characters, at most 10,000\)", err), err
    assert time.monotonic() - start < 3


@pytest.mark.parametrize("form", [
    "layers:\n  - Linear: {{in_features: 3, out_features: '{e}'}}\n",
    "layers:\n  - {{ReLU: null, when: '{e} > 3'}}\n",
    "layers:\n  - Linear(3, {e})\n",
    "blocks:\n  b:\n    params: [n]\n    layers: ['Linear(3, n)']\nlayers: ['b({e})']\n",
    "blocks:\n  b:\n    params: [n]\n    layers: ['Linear(3, n)']\nlayers: [{{b: {{n: '{e}'}}}}]\n",
])
def test_every_form_of_expression_has_the_same_nesting_limit(form):
    code, err = convcalc("net", "-", stdin="input: [1, 3]\n" + form.format(e=expression(4000)))
    assert code == 1 and err.count("\n") == 1 and "nested too deeply" in err
    assert "<stdin>:" in err and "internal error" not in err


def test_the_size_limit_is_checked_before_reading_and_can_be_raised(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("input: [1, 3]\nlayers: [ReLU]\n" + "# padding\n" * 100)
    code, err = convcalc("net", str(path), "--max-spec-bytes", "1000")
    assert code == 1 and err == (f"Error: {path} is larger than the limit of 1,000 bytes for a spec: "
                                 "raise it with --max-spec-bytes\n")
    code, err = convcalc("net", str(path), "--max-spec-bytes", "2K")
    assert code == 0, err
    code, err = convcalc("net", "-", "--max-spec-bytes", "20", stdin=path.read_text())
    assert code == 1 and "<stdin> is larger than the limit of 20 bytes" in err
    code, err = convcalc("net", str(path), "--max-spec-bytes", "lots")
    assert code == 2 and "expected a size in bytes" in err


def test_the_default_size_limit_is_the_documented_one():
    from pathlib import Path

    from convcalc.spec.load import MAX_BYTES

    docs = Path(__file__).parent.parent.joinpath("docs", "specs.md").read_text(encoding="utf-8")
    assert f"{MAX_BYTES // 2**20} MiB" in docs and "--max-spec-bytes" in docs
