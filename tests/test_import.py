"""convcalc import: live models become specs, node by node, verified against the model;
an operation the spec cannot express is an error naming it, unless --approximate."""

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import requires_torch
from convcalc.cli import cli

pytestmark = requires_torch
torch = pytest.importorskip("torch")

HERE = Path(__file__).parent
MODELS = HERE / "import_models.py"
SEEDS = HERE / "seed_models.py"


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def build(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)().eval()


def torch_out(model, shape):
    with torch.no_grad():
        return list(model(torch.randn(shape)).shape)


def agrees(tmp_path, source: Path, name: str, shape: str, other: str | None = None, unused=()):
    """Import ``name``, then the spec's params, output and per-layer shapes (check) agree
    with the model; at ``other`` (another input size) the spec follows the model."""
    path = tmp_path / f"{name}.yaml"
    code, _, notes = run("import", f"{source}:{name}", "--input", shape, "-o", path)
    assert code == 0, notes
    model = build(source, name)
    dims = tuple(int(v) for v in shape.split(","))
    code, out, err = run("net", path, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    skip = {id(p) for m in unused for p in getattr(model, m).parameters()}
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters() if id(p) not in skip)
    assert data["output_shape"] == torch_out(model, dims)
    code, out, err = run("check", path, "--device", "cpu", "--format", "json")
    assert code == 0 and json.loads(out)["agree"], out + err
    if other is not None:
        dims = tuple(int(v) for v in other.split(","))
        code, out, err = run("net", path, "--input", other, "--format", "json")
        try:
            want = torch_out(model, dims)
        except Exception:  # the model refuses this input: so must the spec
            assert code == 1, out
        else:
            assert code == 0, err
            assert json.loads(out)["output_shape"] == want
    return path.read_text(), notes


@pytest.mark.parametrize("name, shape, other", [
    ("ResidualNet", "1,3,32,32", "2,3,20,20"),
    ("InceptionNet", "1,1,28,28", "1,1,36,36"),  # the Linear fixes the size: refused
    ("small_cnn", "1,1,28,28", None),
    ("Bottleneck", "1,16,8,8", "3,16,5,7"),
    ("SqueezeExcite", "1,3,16,16", "2,3,9,9"),
    ("Tokens", "2,3,16,16", "1,3,12,8"),
    ("UpSkip", "1,3,16,16", "1,3,15,11"),
    ("Subclasses", "1,3,8,8", None),
    ("Recurrent", "1,3,8,8", "2,3,5,6"),  # a block run three times: params once
    ("InPlace", "1,3,8,8", None),  # x.add_(y): x changed in place, then read
    ("RMSNormNet", "2,5,8", "1,3,8"),  # pow, rsqrt, normalize, clamp, exp, cumsum, a cast
])
def test_models_import_exactly_and_follow_other_inputs(tmp_path, name, shape, other):
    agrees(tmp_path, MODELS, name, shape, other)


def test_tensors_made_in_forward_import_exactly_and_follow_other_inputs(tmp_path):
    """torch.zeros(..., device=x.device), torch.arange(n, device=x.device) added and as an
    index, torch.full(..., float('-inf')) and x.new_zeros: device= dropped, sizes kept as
    arithmetic on the input's, so another input size follows the model."""
    text, _ = agrees(tmp_path, MODELS, "MadeTensors", "1,3,16,16", "2,3,24,20")
    assert "device" not in text
    assert "torch.zeros((" in text and "torch.ones(1, 1, 8)" in text and "torch.arange(" in text and "float('-inf')" in text and ".new_zeros(" in text
    assert "torch.ones_like(" in text


def test_shape_checks_refuse_where_the_model_does(tmp_path):
    text, _ = agrees(tmp_path, MODELS, "Tokens", "1,3,16,16")
    assert "_assert(" in text and "x.shape" in text  # arithmetic on sizes, not numbers
    code, _, err = run("net", tmp_path / "Tokens.yaml", "--input", "1,3,18,16")
    assert code == 1 and "height must be a multiple of the patch" in err


def test_learned_tensors_and_a_module_called_again_count_once(tmp_path):
    text, _ = agrees(tmp_path, MODELS, "SqueezeExcite", "1,3,8,8")
    assert 'Parameter: [[16, 1, 1]]' in text  # self.gamma, used by functional code
    text, _ = agrees(tmp_path, MODELS, "Bottleneck", "1,16,8,8")
    assert text.count("relu: ReLU(inplace=True)") == 1 and text.count("- self.relu\n") == 2  # one module, called 3 times


def test_a_subclass_with_its_own_forward_is_traced_through():
    from convcalc.backend.fx_trace import layer_name

    import_models = importlib.util.spec_from_file_location("import_models", MODELS)
    module = importlib.util.module_from_spec(import_models)
    import_models.loader.exec_module(module)
    assert layer_name(module.PlainConv(3, 4, 3)) == "Conv2d"
    assert layer_name(module.SamePad(3, 4, 3)) is None


def test_f_conv2d_of_a_traced_subclass(tmp_path):
    source = tmp_path / "same.py"
    source.write_text(
        "import torch.nn.functional as F\nfrom torch import nn\n"
        "class SamePad(nn.Conv2d):\n"
        "    def forward(self, x):\n"
        "        return F.conv2d(F.pad(x, (1, 1, 1, 1)), self.weight, self.bias, self.stride)\n"
        "def net():\n    return nn.Sequential(SamePad(3, 4, 3, stride=2), nn.ReLU())\n")
    agrees(tmp_path, source, "net", "1,3,9,9", "1,3,6,5")


@pytest.mark.parametrize("name, shape", [
    ("lenet", "1,1,28,28"), ("alexnet", "1,1,224,224"), ("vgg", "1,1,224,224"),
    ("nin", "1,1,224,224"), ("googlenet", "1,1,96,96"), ("resnet18", "1,1,96,96"),
])
def test_the_seed_notes_networks_import(tmp_path, name, shape):
    agrees(tmp_path, SEEDS, name, shape)


def test_an_unknown_operation_is_an_error_naming_it_and_nothing_is_written(tmp_path):
    path = tmp_path / "unknown.yaml"
    code, out, err = run("import", f"{MODELS}:Unknown", "--input", "1,3,8,8", "-o", path)
    assert code == 1 and not path.exists()
    assert err.count("\n") == 1 and "node lgamma" in err and "torch.lgamma" in err
    assert "import_models.py:" in err and "--approximate" in err  # the model's source line


def test_approximate_writes_the_spec_and_lists_what_was_lost(tmp_path):
    path = tmp_path / "unknown.yaml"
    code, _, err = run("import", f"{MODELS}:Unknown", "--input", "1,3,8,8", "--approximate", "-o", path)
    assert code == 0, err
    text = path.read_text()
    assert text.startswith("# APPROXIMATE: 1 operations replaced") and "lgamma" in text.splitlines()[1]
    assert "replaced by their traced values" in err
    code, out, _ = run("net", path, "--format", "json")
    assert code == 0 and json.loads(out)["output_shape"] == [1, 4, 6, 6]


def test_modules_the_forward_never_runs_are_a_note(tmp_path):
    text, err = agrees(tmp_path, MODELS, "Unused", "1,3,8,8", unused=["aux"])
    assert "1,010 of the model's 1,122 parameters" in err and "(aux)" in err
    assert "aux" not in text


def test_untraceable_models_are_one_line_errors():
    code, _, err = run("import", f"{MODELS}:DataDependent", "--input", "1,3,8,8")
    assert code == 1 and err.count("\n") == 1 and "torch.fx cannot trace" in err


def test_errors_are_one_line():
    code, _, err = run("import", f"{MODELS}:Nope", "--input", "1,3,8,8")
    assert code == 1 and err.startswith("Error: importing") and "AttributeError" in err
    code, _, err = run("import", f"{MODELS}:InceptionNet", "--input", "1,1,40,40")  # the Linear refuses
    assert code == 1 and err.startswith("Error: the model raised RuntimeError") and err.count("\n") == 1
    code, _, err = run("import", "no_such_module_here:Net", "--input", "1,3,8,8")
    assert code == 1 and "ModuleNotFoundError" in err
    code, _, err = run("import", "justaname", "--input", "1,3,8,8")
    assert code == 1 and "is not MODULE:CALLABLE" in err
    code, _, err = run("import", f"{MODELS}:small_cnn", "--input", "1,1,H,W")
    assert code == 2


def test_token_indices_take_a_dtype(tmp_path):
    path = tmp_path / "tokens.yaml"
    code, _, err = run("import", f"{MODELS}:TokenClassifier", "--input", "2,7", "--dtype", "int64", "-o", path)
    assert code == 0, err
    assert 'ids: {"shape": [2, 7], "dtype": "int64"}' in path.read_text()
    code, out, err = run("net", path, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["output_shape"] == [2, 3] and data["totals"]["params"] == 100 * 16 + 16 * 3 + 3


def test_torchscript_is_refused_in_one_line():
    code, _, err = run("import", f"{MODELS}:scripted", "--input", "1,1,28,28")
    assert code == 1 and err.count("\n") == 1 and "TorchScript" in err


def test_an_input_left_at_its_default_is_written_where_it_is_used(tmp_path):
    text, _ = agrees(tmp_path, MODELS, "Masked", "2,5,8", "3,4,8")
    assert "attn_mask=None" in text and "blocks:" in text  # folded: the blocks take only x


def test_unread_buffers_are_kept_so_the_state_dict_loads(tmp_path):
    text, _ = agrees(tmp_path, MODELS, "NormActNet", "1,3,12,12", "2,3,9,9")
    assert 'name: "num_batches_tracked"' in text and "norm_act:" in text  # folded, buffer kept
    code, _, err = run("export", tmp_path / "NormActNet.yaml", "-o", tmp_path / "exported.py")
    assert code == 0, err
    spec = importlib.util.spec_from_file_location("exported_normact", tmp_path / "exported.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = build(MODELS, "NormActNet")
    exported = module.build_model().eval()
    exported.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(1, 3, 12, 12)
    with torch.no_grad():
        assert torch.allclose(exported(x), model(x))


def test_a_non_persistent_buffer_stays_outside_the_state_dict(tmp_path):
    text, _ = agrees(tmp_path, MODELS, "NonPersistent", "1,3,8,8")
    assert '"persistent": false' in text
    code, _, err = run("export", tmp_path / "NonPersistent.yaml", "-o", tmp_path / "exported.py")
    assert code == 0, err
    spec = importlib.util.spec_from_file_location("exported_nonpersistent", tmp_path / "exported.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build_model().load_state_dict(build(MODELS, "NonPersistent").state_dict(), strict=True)


def test_a_computation_nothing_reads_is_kept_with_its_macs(tmp_path):
    from torch.utils.flop_counter import FlopCounterMode

    agrees(tmp_path, MODELS, "DeadBranch", "1,3,10,10")
    code, out, _ = run("net", tmp_path / "DeadBranch.yaml", "--format", "json")
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        build(MODELS, "DeadBranch")(torch.randn(1, 3, 10, 10))
    assert json.loads(out)["totals"]["macs"] == counter.get_total_flops() // 2 > 4 * 27 * 64


def test_a_forward_of_several_inputs_takes_one_input_each(tmp_path):
    path = tmp_path / "two.yaml"
    code, _, err = run("import", f"{MODELS}:ImageAndTokens", "--input", "2,3,9,9", "--input", "2,5",
                       "--dtype", "float32", "--dtype", "int64", "-o", path)
    assert code == 0, err
    text = path.read_text()
    assert "--input 2,3,9,9 --input 2,5 --dtype float32 --dtype int64" in text
    model = build(MODELS, "ImageAndTokens")
    with torch.no_grad():
        want = model(torch.randn(2, 3, 9, 9), torch.zeros(2, 5, dtype=torch.int64))
    code, out, err = run("net", path, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["output_shape"] == list(want.shape)
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters())
    code, out, err = run("check", path, "--device", "cpu", "--format", "json")
    assert code == 0 and json.loads(out)["agree"], out + err
    # the spec follows the model to other sizes of either input
    code, out, err = run("net", path, "--input", "image=1,3,11,11", "--input", "ids=1,7", "--format", "json")
    assert code == 0, err
    with torch.no_grad():
        want = model(torch.randn(1, 3, 11, 11), torch.zeros(1, 7, dtype=torch.int64))
    assert json.loads(out)["output_shape"] == list(want.shape)


def test_too_few_or_too_many_inputs_are_one_line_errors():
    code, _, err = run("import", f"{MODELS}:ImageAndTokens", "--input", "2,3,9,9")
    assert code == 1 and "forward takes 2 inputs (image, ids); --input gives 1" in err and err.count("\n") == 1
    code, _, err = run("import", f"{MODELS}:small_cnn", "--input", "1,1,28,28", "--input", "1,1,28,28")
    assert code == 1 and "--input gives 2" in err
    code, _, err = run("import", f"{MODELS}:ImageAndTokens", "--input", "2,3,9,9", "--input", "2,5",
                       "--dtype", "float32", "--dtype", "int64", "--dtype", "int64")
    assert code == 2
