"""convcalc import through torch.export, where torch.fx cannot trace a model: the ATen
graph regrouped into the model's layers and torch functions, verified against the model
as the fx path is, and pinned to the input it was traced at."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import requires_torch
from convcalc.cli import cli

pytestmark = requires_torch
torch = pytest.importorskip("torch")

MODELS = Path(__file__).parent / "export_models.py"


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def model_of(name):
    spec = importlib.util.spec_from_file_location("export_models", MODELS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)().eval()


def exported_module(path, tmp_path):
    code, out, err = run("export", path, "-o", tmp_path / "exported.py")
    assert code == 0, err
    spec = importlib.util.spec_from_file_location("exported", tmp_path / "exported.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_model().eval()


def test_a_model_fx_cannot_trace_imports_through_torch_export(tmp_path):
    path = tmp_path / "size_check.yaml"
    code, _, err = run("import", f"{MODELS}:SizeCheck", "--input", "1,3,16,16", "-o", path)
    assert code == 0, err
    text = path.read_text()
    assert "of torch.export's graph (fx cannot trace the model" in text
    model = model_of("SizeCheck")
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        want = model(x)
    code, out, err = run("net", path, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["output_shape"] == list(want.shape)
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters())
    paths = {row["path"] for row in data["layers"]}
    assert {"stem.0", "stem.1", "down", "deeper", "lateral", "norm", "head"} <= paths
    # every operation agrees with torch, and the exported module is the model
    code, out, err = run("check", path, "--device", "cpu", "--format", "json")
    assert code == 0 and json.loads(out)["agree"], out + err
    built = exported_module(path, tmp_path)
    built.load_state_dict(model.state_dict(), strict=True)
    with torch.no_grad():
        assert torch.allclose(built(x), want, atol=1e-5)


def test_the_spec_refuses_every_other_input(tmp_path):
    """The export's sizes are the example's: the spec says so rather than compute with
    them at a size the model may well accept (20x20 is a multiple of 4)."""
    path = tmp_path / "size_check.yaml"
    run("import", f"{MODELS}:SizeCheck", "--input", "1,3,16,16", "-o", path)
    code, out, err = run("net", path, "--input", "1,3,20,20")
    assert code == 1 and "torch.export traced the model at 1x3x16x16" in err and err.count("\n") == 1


def test_the_tracer_can_be_chosen(tmp_path):
    code, _, err = run("import", f"{MODELS}:SizeCheck", "--input", "1,3,16,16", "--tracer", "fx")
    assert code == 1 and "torch.fx cannot trace the model" in err and "export_models.py" in err
    code, _, err = run("import", f"{MODELS}:SizeCheck", "--input", "1,3,16,16", "--tracer", "nope")
    assert code == 2


def test_a_model_neither_can_trace_names_both_reasons():
    code, _, err = run("import", f"{MODELS}:DataBranch", "--input", "1,3,8,8")
    assert code == 1 and err.count("\n") == 1
    assert "torch.fx cannot trace the model" in err and "torch.export cannot trace it either" in err


def test_a_layer_is_called_with_the_arguments_it_was_given(tmp_path):
    """torch.export records each layer's call signature: self-attention reads one value
    three times, with a keyword, and gives a tuple the model indexes."""
    path = tmp_path / "attention.yaml"
    code, _, err = run("import", f"{MODELS}:Attention", "--input", "1,4,8", "-o", path)
    assert code == 0, err
    text = path.read_text()
    assert "self.attn(x, x, x, need_weights=False)" in text
    code, out, err = run("check", path, "--device", "cpu", "--format", "json")
    assert code == 0 and json.loads(out)["agree"], out + err


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "shufflenet_v2_x0_5"])
def test_export_gives_the_table_fx_gives(torchvision, tmp_path, name):
    """The same torchvision model through both tracers: every module row the same (path,
    type, shape, params, MACs), and the same totals."""
    holder = type(sys)("export_vs_fx")
    holder.model = torchvision.models.get_model(name, weights=None).eval()
    sys.modules["export_vs_fx"] = holder
    tables = []
    for tracer in ("fx", "export"):
        path = tmp_path / f"{tracer}.yaml"
        code, _, err = run("import", "export_vs_fx:model", "--input", "1,3,64,64", "--tracer", tracer, "-o", path)
        assert code == 0, err
        code, out, err = run("net", path, "--format", "json")
        assert code == 0, err
        tables.append(json.loads(out))
    keys = ("path", "type", "output_shape", "params", "macs")
    fx, exported = ([{k: r[k] for k in keys} for r in t["layers"] if r["params"]] for t in tables)
    assert fx == exported and tables[0]["totals"] == tables[1]["totals"]


def test_a_transformer_encoder_imports_through_torch_export(tmp_path):
    """Its fast path is off while the model is counted (the FLOP counter cannot see it)."""
    path = tmp_path / "text.yaml"
    code, _, err = run("import", f"{MODELS}:TextEncoder", "--input", "2,6", "--dtype", "int64", "-o", path)
    assert code == 0, err
    model = model_of("TextEncoder")
    code, out, err = run("net", path, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["output_shape"] == [2, 3]
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters())
    code, out, err = run("check", path, "--device", "cpu", "--format", "json")
    assert code == 0 and json.loads(out)["agree"], out + err
