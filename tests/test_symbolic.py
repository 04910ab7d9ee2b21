"""Symbolic sizes agree with the numeric engine at every size tried, ceil_mode included,
and their stated assumptions fail exactly where the numeric engine refuses."""

import json

import pytest
import sympy
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc import ConvcalcError, conv_output, pool_output, tconv_output, upsample_output
from convcalc.engine import symbolic
from convcalc.cli import cli
from helpers import zoo_report

H = symbolic.symbol("H")
SIZES = range(1, 70)


def conditions(found):
    """The assumptions that are relations in H (free-text notes are skipped)."""
    out = []
    for text, _ in found:
        try:
            out.append(sympy.sympify(text, locals={"H": H}))
        except (sympy.SympifyError, SyntaxError, TypeError):
            continue
    return [c for c in out if isinstance(c, sympy.logic.boolalg.Boolean)]


def check_layer(fn):
    with symbolic.collecting() as found:
        try:
            (expr,) = fn(H)
        except ConvcalcError:
            for h in SIZES:  # refused whatever H is
                with pytest.raises(ConvcalcError):
                    fn(h)
            return
    conds = conditions(found)
    for h in SIZES:
        holds = all(bool(c.subs(H, h)) for c in conds)
        try:
            (value,) = fn(h)
        except ConvcalcError:
            assert not holds, (h, expr, found)
            continue
        assert holds, (h, expr, found)
        assert int(expr.subs(H, h)) == value, (h, expr)


CASES = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))


@CASES
@given(st.integers(1, 7), st.integers(1, 4), st.integers(0, 4), st.integers(1, 3),
       st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
def test_conv(k, s, p, d, mode):
    check_layer(lambda h: conv_output((h,), k, s, p, d, mode))


@CASES
@given(st.integers(1, 7), st.integers(1, 4), st.integers(0, 3), st.integers(1, 3), st.booleans(),
       st.sampled_from(["max", "avg"]))
def test_pool_ceil_mode_included(k, s, p, d, ceil, kind):
    p = min(p, k // 2)
    d = 1 if kind == "avg" else d
    check_layer(lambda h: pool_output((h,), k, s, p, d, ceil, kind))


@CASES
@given(st.integers(1, 6), st.integers(1, 4), st.integers(0, 5), st.integers(1, 3), st.integers(0, 2))
def test_tconv(k, s, p, d, op):
    op = min(op, max(s, d) - 1)
    check_layer(lambda h: tconv_output((h,), k, s, p, d, op))


@pytest.mark.parametrize("scale", [2, 0.5, 1.5, 0.29, 3.7])
def test_upsample_floor_of_the_product(scale):
    check_layer(lambda h: upsample_output((h,), scale_factor=scale))


@pytest.mark.parametrize("name", ["tv-resnet18", "googlenet", "tv-googlenet", "lenet", "tv-mobilenet_v2"])
def test_networks_evaluate_to_the_numeric_shapes(name):
    symbolic_report = zoo_report(name, (1, zoo_report(name).input_shape[1], H, H))
    conds = conditions(symbolic_report.assumptions)
    for h in (17, 28, 64, 96, 101, 224):
        holds = all(bool(c.subs(H, h)) for c in conds)
        try:
            numeric = zoo_report(name, (1, symbolic_report.input_shape[1], h, h))
        except ConvcalcError:
            assert not holds, (name, h)
            continue
        assert holds, (name, h)
        for a, b in zip(symbolic_report.rows, numeric.rows, strict=True):
            got = tuple(int(v.subs(H, h)) if symbolic.is_symbolic(v) else v for v in a.output_shape)
            assert got == b.output_shape, (name, h, ".".join(a.path))
        macs = symbolic_report.totals["macs"]
        assert int(macs.subs(H, h)) == numeric.totals["macs"]


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_formulas():
    assert run("conv", "--in", "H", "--k", "3", "--s", "2", "--p", "1") == (0, "floor((H - 1)/2) + 1\n", "")
    code, out, _ = run("conv", "--in", "HxW", "--k", "5")
    assert out.splitlines() == ["(H - 4) x (W - 4)", "assuming H >= 5 (input at least the dilated kernel)",
                                "assuming W >= 5 (input at least the dilated kernel)"]
    code, out, _ = run("pool", "--in", "H", "--k", "2", "--s", "2", "--p", "1", "--ceil", "--format", "json")
    data = json.loads(out)
    expr = sympy.sympify(data["output"][0], locals={"H": H})
    assert [int(expr.subs(H, h)) for h in range(1, 9)] == [pool_output(h, 2, 2, 1, ceil_mode=True)[0] for h in range(1, 9)]
    code, out, _ = run("net", "zoo:tv-resnet18", "--input", "1,3,H,W", "--format", "json")
    data = json.loads(out)
    assert data["layers"][-4]["output_shape"] == [1, 512, "floor((H - 1)/32) + 1", "floor((W - 1)/32) + 1"]
    code, out, _ = run("net", "zoo:lenet", "--input", "1,1,H,H", "--format", "json")
    assert any(a.startswith("Eq(400") for a in json.loads(out)["assumptions"])


def test_symbol_names_are_ascii_identifiers_without_x():
    from convcalc.engine.symbolic import is_symbol_name

    assert all(is_symbol_name(t) for t in ("H", "W", "H_in", "X", "_n2", "batch"))
    assert not any(is_symbol_name(t) for t in ("x", "Hx", "2H", "H-1", "", "Ĥ", "H W"))
