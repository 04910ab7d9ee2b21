"""solve-padding: every answer reaches its target in the engine and in torch, is symmetric
whenever a symmetric answer exists, and 'no solution' is only said when brute force agrees."""

import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import requires_torch
from convcalc.engine import formulas
from convcalc.cli import cli
from convcalc.errors import ConvcalcError
from convcalc.solve.padding import Convention, solve_conv_padding, solve_pool_padding, solve_tconv_padding

CASES = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


@st.composite
def problem(draw, layer="conv"):
    nd = draw(st.integers(1, 3))
    sizes = tuple(draw(st.integers(1, 40 if nd < 3 else 12)) for _ in range(nd))
    k = tuple(draw(st.integers(1, 7)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 3 if layer != "avg" else 1)) for _ in range(nd))
    if layer == "tconv":
        base = tuple(i * st_ for i, st_ in zip(sizes, s))
    else:
        base = tuple(-(-i // st_) for i, st_ in zip(sizes, s))
    out = draw(st.one_of(st.none(), st.tuples(*[st.integers(max(1, b - 3), b + 3) for b in base])))
    return sizes, k, s, d, out


def conv_totals_brute(i, k_eff, s, t, limit=100):
    return [T for T in range(limit) if formulas.conv_out(i, k_eff, s, 0, T, 1) == t]


@CASES
@given(problem(), st.sampled_from(list(Convention)))
def test_conv_padding_is_right_and_symmetric_when_possible(case, convention):
    sizes, k, s, d, out = case
    target = out or tuple(-(-i // x) for i, x in zip(sizes, s))
    k_eff = [formulas.effective_kernel(a, b) for a, b in zip(k, d)]
    totals = [conv_totals_brute(i, ke, x, t) for i, ke, x, t in zip(sizes, k_eff, s, target)]
    try:
        answer = solve_conv_padding(sizes, k, s, d, out, convention)
    except ConvcalcError:
        assert any(not t for t in totals)
        return
    assert answer.output == tuple(target)
    for (lo, hi), options in zip(answer.padding, totals):
        assert lo + hi in options
        assert lo + hi == min(options, key=lambda T: (T % 2, T)) or not any(T % 2 == 0 for T in options)
    assert answer.symmetric == all(any(T % 2 == 0 for T in o) for o in totals)
    if not answer.symmetric:
        extra_first = convention is Convention.ONNX_LOWER
        assert all((lo >= hi) if extra_first else (lo <= hi) for lo, hi in answer.padding)


def symmetric_pool_answers(sizes, k, s, d, target, kind):
    import itertools

    from convcalc import pool_output

    found = []
    for p in itertools.product(*[range(x // 2 + 1) for x in k]):
        for ceil in (False, True):
            try:
                if pool_output(sizes, k, s, p, d, ceil, kind) == tuple(target):
                    found.append((p, ceil))
            except ConvcalcError:
                pass
    return found


@CASES
@given(problem("pool"), st.sampled_from(["max", "avg"]))
def test_pool_padding_prefers_pytorch_padding(case, kind):
    sizes, k, s, d, out = case
    if kind == "avg":
        d = (1,) * len(d)
    target = out or tuple(-(-i // x) for i, x in zip(sizes, s))
    symmetric = symmetric_pool_answers(sizes, k, s, d, target, kind)
    try:
        answer = solve_pool_padding(sizes, k, s, d, out, kind)
    except ConvcalcError:
        assert not symmetric
        k_eff = [formulas.effective_kernel(a, b) for a, b in zip(k, d)]
        assert any(not conv_totals_brute(i, ke, x, t) for i, ke, x, t in zip(sizes, k_eff, s, target))
        return
    assert answer.output == tuple(target)
    explicit = answer.pytorch.startswith("nn.Sequential")
    assert explicit == (not symmetric)
    if not explicit:  # the smallest PyTorch padding, floor mode first
        best = min(symmetric, key=lambda a: (a[1], sum(a[0]), a[0]))
        assert ([lo for lo, _ in answer.padding], answer.ceil_mode) == (list(best[0]), best[1])


@CASES
@given(problem("tconv"))
def test_tconv_padding_reaches_the_target(case):
    sizes, k, s, d, out = case
    target = out or tuple(i * x for i, x in zip(sizes, s))
    try:
        answer = solve_tconv_padding(sizes, k, s, d, out)
    except ConvcalcError:
        for i, kk, x, dd, t in zip(sizes, k, s, d, target):
            options = [(p, op) for p in range(60) for op in range(max(x, dd))
                       if formulas.tconv_out(i, kk, x, p, dd, op) == t]
            if not options:
                return
        pytest.fail(f"a solution exists for {case}")
    assert answer.output == tuple(target)


@requires_torch
@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(problem(), st.sampled_from(list(Convention)), st.sampled_from(["conv", "max", "avg", "tconv"]))
def test_answers_reach_the_target_in_torch(case, convention, layer):
    import torch
    import torch.nn.functional as F

    sizes, k, s, d, out = case
    nd = len(sizes)
    try:
        if layer == "conv":
            answer = solve_conv_padding(sizes, k, s, d, out, convention)
        elif layer == "tconv":
            answer = solve_tconv_padding(sizes, k, s, d, out)
        else:
            answer = solve_pool_padding(sizes, k, s, d if layer == "max" else 1, out, layer, convention)
    except ConvcalcError:
        return
    x = torch.zeros(1, 1, *sizes)
    flat = [v for lo, hi in reversed(answer.padding) for v in (lo, hi)]
    with torch.no_grad():
        if layer == "conv":
            y = getattr(torch.nn, f"Conv{nd}d")(1, 1, k, s, 0, d)(F.pad(x, flat))
        elif layer == "tconv":
            m = getattr(torch.nn, f"ConvTranspose{nd}d")(
                1, 1, k, s, [p for p, _ in answer.padding], answer.output_padding, dilation=d)
            y = m(x)
        elif answer.pytorch.startswith("nn.Sequential"):
            value = float("-inf") if layer == "max" else 0.0
            padded = F.pad(x, flat, value=value)
            pool = (getattr(torch.nn, f"MaxPool{nd}d")(k, s, 0, d) if layer == "max"
                    else getattr(torch.nn, f"AvgPool{nd}d")(k, s, 0))
            y = pool(padded)
        else:
            p = [lo for lo, _ in answer.padding]
            pool = (getattr(torch.nn, f"MaxPool{nd}d")(k, s, p, d, ceil_mode=answer.ceil_mode)
                    if layer == "max" else
                    getattr(torch.nn, f"AvgPool{nd}d")(k, s, p, ceil_mode=answer.ceil_mode))
            y = pool(x)
    assert tuple(y.shape[2:]) == answer.output


def run(*args):
    result = CliRunner().invoke(cli, ["solve-padding", *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_examples():
    assert run("--in", "224", "--k", "3", "--s", "2") == (
        0, "padding=1 -> 112\nnn.Conv1d(C_in, C_out, kernel_size=3, stride=2, padding=1)\n"
        "note: 1-d; give --in 224x224 for 2-d\n", "")
    code, out, _ = run("--in", "32x32", "--k", "4")
    assert out.splitlines()[1] == "nn.Conv2d(C_in, C_out, kernel_size=4, padding='same')"
    code, out, _ = run("--in", "32x32", "--k", "4", "--convention", "onnx-lower", "--format", "json")
    data = json.loads(out)
    assert data["padding"] == [[2, 1], [2, 1]] and data["symmetric"] is False
    assert data["pytorch"] == "nn.Sequential(nn.ZeroPad2d((2, 1, 2, 1)), nn.Conv2d(C_in, C_out, kernel_size=4))"
    code, out, err = run("--in", "10", "--k", "3", "--layer", "tconv", "--out", "100")
    assert code == 1 and err == ("Error: ConvTranspose1d: no padding gives 100 from 10 (L 100: reachable "
                                 "1..12): change the kernel, stride or dilation, or the target size\n")
    code, out, err = run("--in", "10", "--k", "3", "--kind", "avg")
    assert code == 2
