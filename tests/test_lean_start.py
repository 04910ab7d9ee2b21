"""`convcalc conv` imports only what it needs (the timing is benchmarks/startup.py): no
other command's module, and none of json, dataclasses or the lowering."""

import ast
import subprocess
import sys

import pytest
from click.testing import CliRunner

from convcalc.cli import cli
from convcalc.engine.params import ConvParams, PoolParams, TConvParams

PROBE = """
import os, sys
os._exit = sys.exit  # main() leaves without teardown: here, let it return to the probe
before = set(sys.modules)
from convcalc.cli import main
sys.argv = ["convcalc", *{args!r}]
try:
    main()
except SystemExit:
    pass
print(sorted(set(sys.modules) - before))
"""


def loaded_by(args) -> set:
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True,
                          text=True, check=True)
    return set(ast.literal_eval(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("args", [["conv", "--in", "28", "--k", "5", "--p", "2"],
                                  ["pool", "--in", "7", "--k", "3", "--s", "2", "--ceil"]])
def test_single_layer_commands_load_no_other_command(args):
    loaded = loaded_by(args)
    assert "convcalc.cli.layer" in loaded and "convcalc.engine.shapes" in loaded
    others = sorted(m for m in loaded if m.startswith("convcalc.cli.")
                    and m not in ("convcalc.cli.app", "convcalc.cli.types", "convcalc.cli.options",
                                  "convcalc.cli.layer"))
    assert others == []
    assert {"json", "dataclasses", "fractions", "convcalc.graph.lower", "convcalc.ops"}.isdisjoint(loaded)
    # gettext's locale (click's own --help and --version text) and the assumption collector
    # of symbolic sizes cost start-up, and numbers need neither
    assert {"locale", "contextvars", "importlib.metadata"}.isdisjoint(loaded)


def test_every_command_is_registered_and_loads_when_asked():
    names = set(cli.commands)
    assert {"conv", "tconv", "pool", "net", "zoo", "solve", "solve-padding", "check", "export",
            "import"} <= names
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert all(f"  {name} " in result.output for name in names)
    assert all(not isinstance(command, str) for command in cli.commands.values())


def test_the_package_exports_its_names_lazily():
    import convcalc

    assert convcalc.conv_output((28, 28), kernel_size=5, padding=2) == (28, 28)
    assert issubclass(convcalc.ShapeError, convcalc.ConvcalcError)
    assert set(convcalc.__all__) <= set(dir(convcalc))
    with pytest.raises(AttributeError):
        convcalc.no_such_name  # noqa: B018


def test_parameter_records_behave_as_frozen_dataclasses():
    a, b = ConvParams.create(2, 3, padding=1), ConvParams.create(2, 3, padding=1)
    assert a == b and hash(a) == hash(b) and a != ConvParams.create(2, 3)
    assert repr(a) == ("ConvParams(ndim=2, kernel_size=(3, 3), stride=(1, 1), padding=((1, 1), (1, 1)), "
                       "dilation=(1, 1), padding_mode=<PaddingMode.ZEROS: 'zeros'>, "
                       "padding_kind=<PaddingKind.EXPLICIT: 'explicit'>)")
    with pytest.raises(AttributeError):
        a.ndim = 3
    assert ConvParams(1, (3,), (1,), ((0, 0),), (1,)).padding_mode.value == "zeros"  # a default
    assert PoolParams.create(1, 2) != TConvParams.create(1, 2)
    assert PoolParams.create(1, 2, ceil_mode=True) == PoolParams(
        ndim=1, kind=PoolParams.create(1, 2).kind, kernel_size=(2,), stride=(2,), padding=(0,),
        dilation=(1,), ceil_mode=True)
    with pytest.raises(TypeError):
        ConvParams(1, (3,))


EXIT = """
import sys
{setup}
from convcalc.cli import main
sys.argv = ["convcalc", *{args!r}]
try:
    main()
finally:
    print("teardown ran", file=sys.stderr)
"""


@pytest.mark.parametrize("args, code", [(["conv", "--in", "28", "--k", "5", "--p", "2"], 0),
                                        (["conv", "--in", "2", "--k", "5"], 1),
                                        (["conv", "--nope"], 2)])
def test_the_console_script_leaves_without_teardown_and_keeps_its_output(args, code):
    """Output flushed, exit code kept, and no interpreter teardown (``finally`` never runs)."""
    done = subprocess.run([sys.executable, "-c", EXIT.format(setup="", args=args)], capture_output=True, text=True)
    assert done.returncode == code
    assert "teardown ran" not in done.stderr
    assert (done.stdout.strip() == "28") if code == 0 else done.stderr.startswith("Error:")


def test_with_exit_work_to_do_the_console_script_exits_as_usual():
    """logging (or torch, worker threads, temporary files) may have atexit work: sys.exit."""
    args = ["conv", "--in", "28", "--k", "5", "--p", "2"]
    done = subprocess.run([sys.executable, "-c", EXIT.format(setup="import logging", args=args)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "28" and "teardown ran" in done.stderr
