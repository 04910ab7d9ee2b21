"""convcalc solve: the enumeration is complete within its bounds, ordered simplest first,
and its answers are what torch computes."""

import json

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import requires_torch
from convcalc import ConvcalcError, conv_output, pool_output, tconv_output
from convcalc.cli import cli
from convcalc.solve.inverse import Config, enumerate_layers

BOUNDS = {"k": range(1, 6), "s": range(1, 4), "d": range(1, 3)}


def brute_force(i, o):
    found = set()
    for d in BOUNDS["d"]:
        for k in BOUNDS["k"]:
            for s in BOUNDS["s"]:
                for p in range(0, d * (k - 1) + 1):
                    try:
                        if conv_output(i, k, s, p, d) == (o,):
                            found.add(Config("conv", k, s, p, d))
                    except ConvcalcError:
                        pass
                    for op in range(max(s, d)):
                        try:
                            if tconv_output(i, k, s, p, d, op) == (o,):
                                found.add(Config("tconv", k, s, p, d, op=op))
                        except ConvcalcError:
                            pass
                for p in range(0, k // 2 + 1):
                    for kind in ("max", "avg"):
                        if kind == "avg" and d != 1:
                            continue
                        for ceil in (False, True):
                            try:
                                if pool_output(i, k, s, p, d, ceil, kind) == (o,):
                                    found.add(Config(f"{kind}pool", k, s, p, d, ceil))
                                    break  # ceil_mode only where floor mode does not do it
                            except ConvcalcError:
                                pass
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(1, 30), st.integers(1, 40))
def test_enumeration_is_complete_and_sorted(i, o):
    found = enumerate_layers(i, o, bounds=dict(BOUNDS))
    assert set(found) == brute_force(i, o)
    assert found == sorted(found, key=Config.sort_key)
    assert len(found) == len(set(found))


@requires_torch
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(1, 30), st.integers(1, 40))
def test_answers_hold_in_torch(i, o):
    import torch

    for c in enumerate_layers(i, o, bounds=dict(BOUNDS))[:10]:
        if c.layer == "conv":
            m = torch.nn.Conv1d(1, 1, c.k, c.s, c.p, c.d)
        elif c.layer == "tconv":
            m = torch.nn.ConvTranspose1d(1, 1, c.k, c.s, c.p, c.op, dilation=c.d)
        elif c.layer == "maxpool":
            m = torch.nn.MaxPool1d(c.k, c.s, c.p, c.d, ceil_mode=c.ceil)
        else:
            m = torch.nn.AvgPool1d(c.k, c.s, c.p, ceil_mode=c.ceil)
        with torch.no_grad():
            assert m(torch.zeros(1, 1, i)).shape[-1] == o, c


def test_cli():
    result = CliRunner().invoke(cli, ["solve", "--in", "224", "--out", "56", "--limit", "3"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "224 -> 56 (1-d; give --in 224x224 for 2-d): 142 configurations; the first 3, simplest first",
        "nn.Conv1d(C_in, C_out, kernel_size=1, stride=4)",
        "nn.MaxPool1d(kernel_size=1, stride=4)",
        "nn.AvgPool1d(kernel_size=1, stride=4)",
    ]
    result = CliRunner().invoke(cli, ["solve", "--in", "224x224", "--out", "112x112", "--layer", "conv",
                                      "--k", "3", "--s", "2", "--format", "json"])
    data = json.loads(result.stdout)
    assert data["count"] == 3 and data["solutions"][0]["padding"] == 1  # then dilation 2 and 3
    result = CliRunner().invoke(cli, ["solve", "--in", "10", "--out", "5", "--k", "1..99999"])
    assert result.exit_code == 2
