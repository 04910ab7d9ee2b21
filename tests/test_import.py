"""convcalc import: live models, with branches and functional calls, become specs that
reproduce their own parameter counts and per-layer shapes."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import requires_torch
from convcalc.cli import cli

pytestmark = requires_torch
torch = pytest.importorskip("torch")

MODELS = Path(__file__).parent / "import_models.py"


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def model(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location("import_models", MODELS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)()


@pytest.mark.parametrize(
    "name, shape, method",
    [
        ("ResidualNet", "1,3,32,32", "torch.fx trace"),
        ("InceptionNet", "1,1,28,28", "torch.fx trace"),
        ("small_cnn", "1,1,28,28", "torch.fx trace"),
        ("DataDependent", "1,3,8,8", "forward hooks"),
        ("Bottleneck", "1,16,8,8", "torch.fx trace"),
    ],
)
def test_imported_models_reproduce_params_and_shapes(tmp_path, name, shape, method):
    path = tmp_path / f"{name}.yaml"
    code, out, err = run("import", f"{MODELS}:{name}", "--input", shape, "-o", str(path))
    assert code == 0, err
    assert f"({method})" in path.read_text().splitlines()[0]
    if method == "forward hooks":
        assert "fell back to forward hooks" in err
    else:
        assert err == ""
    live = model(name).eval()
    dims = tuple(int(v) for v in shape.split(","))
    with torch.no_grad():
        expected = list(live(torch.zeros(dims)).shape)
    code, out, _ = run("net", str(path), "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert data["totals"]["params"] == sum(p.numel() for p in live.parameters())
    assert data["output_shape"] == expected
    code, out, _ = run("check", str(path), "--device", "cpu", "--format", "json")
    assert code == 0 and json.loads(out)["agree"]


def test_residual_branches_and_functional_calls_become_add_and_layers(tmp_path):
    path = tmp_path / "res.yaml"
    run("import", f"{MODELS}:ResidualNet", "--input", "1,3,32,32", "-o", str(path))
    text = path.read_text()
    assert text.count("- add:") == 2 and "- []" in text  # identity shortcut, then a projection
    assert text.count('{"ReLU": null}') == 5  # the five F.relu calls in forward


def test_errors_are_one_line(tmp_path):
    code, _, err = run("import", f"{MODELS}:Nope", "--input", "1,3,8,8")
    assert code == 1 and err.startswith("Error: importing") and "AttributeError" in err
    code, _, err = run("import", f"{MODELS}:DataDependent", "--input", "1,3,32,32")
    assert code == 1 and err.startswith("Error: the model raised RuntimeError on an input of [1, 3, 32, 32]")
    code, _, err = run("import", "no_such_module_here:Net", "--input", "1,3,8,8")
    assert code == 1 and "ModuleNotFoundError" in err
    code, _, err = run("import", "justaname", "--input", "1,3,8,8")
    assert code == 1 and "is not MODULE:CALLABLE" in err
    code, _, err = run("import", f"{MODELS}:small_cnn", "--input", "1,1,H,W")
    assert code == 2
