"""convcalc check and export: every zoo spec on the CPU; CUDA paths skip without a GPU."""

import json
import runpy
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import requires_torch
from convcalc import zoo
from convcalc.cli import cli
from helpers import zoo_report

pytestmark = requires_torch
torch = pytest.importorskip("torch")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def run(*args, input=None):
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", zoo.names())
def test_check_passes_on_every_zoo_spec_on_the_cpu(name):
    code, out, err = run("check", f"zoo:{name}", "--device", "cpu", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["agree"] and err == ""
    assert data["totals"]["engine_params"] == data["totals"]["torch_params"]
    assert all(layer["ok"] for layer in data["layers"])


def test_check_table_and_meta_warning():
    code, out, err = run("check", "zoo:lenet", "--device", "cpu")
    assert code == 0
    assert out.splitlines()[0] == "LeNet on cpu (torch %s): 12 of 12 operations agree" % torch.__version__
    assert out.splitlines()[-1] == ("Total params: engine 61,706, torch 61,706; output: engine [1, 10], "
                                    "torch [1, 10]: all agree")
    code, out, err = run("check", "zoo:lenet", "--device", "meta")
    assert code == 0 and err.startswith("Warning: the meta device accepts configurations")


def test_check_reports_a_disagreement(monkeypatch):
    """A deliberately wrong engine answer must be caught: exit 1, the row marked."""
    from convcalc.graph import run as pipeline

    real = pipeline.analyse

    def tampered(spec, input_shape=None):
        report = real(spec, input_shape)
        report.layers[0].params += 1
        return report

    monkeypatch.setattr(pipeline, "analyse", tampered)
    code, out, _ = run("check", "zoo:lenet", "--device", "cpu")
    assert code == 1 and "MISMATCH" in out and out.rstrip().endswith("DISAGREE")


def test_numerics_path_runs_cpu_against_cpu():
    from convcalc.backend.build import numerics

    result = numerics(zoo_report("tv-resnet18"), device="cpu")
    assert len(result.layers) == len(zoo_report("tv-resnet18").rows)
    assert all(l.max_abs == 0.0 for l in result.layers)
    assert result.peak_memory_bytes is None


@cuda
def test_check_and_numerics_on_cuda():
    code, out, _ = run("check", "zoo:tv-resnet18", "--device", "cuda", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["agree"]
    nums = data["numerics"]
    assert nums["peak_memory_bytes"] > 0
    assert max(l["max_rel"] for l in nums["layers"] if l["max_rel"] is not None) < 1e-2


def test_cuda_without_a_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    code, _, err = run("check", "zoo:lenet", "--device", "cuda")
    assert code == 1 and err.startswith("Error: --device cuda: no CUDA device is available")


@pytest.mark.parametrize("name", zoo.names())
def test_export_round_trips_every_zoo_spec(name, tmp_path):
    path = tmp_path / f"{name}.py"
    code, _, err = run("export", f"zoo:{name}", "--to", "torch", "-o", str(path))
    assert code == 0 and err == ""
    module = runpy.run_path(str(path))
    model = module["build_model"]().eval()
    report = zoo_report(name)
    assert sum(p.numel() for p in model.parameters()) == report.totals["params"]
    with torch.no_grad():
        out = model(torch.zeros(module["INPUT_SHAPE"]))
    assert tuple(out.shape) == report.output_shape
    named = dict(model.named_modules())
    for op in report.graph.ops:  # every module sits at its path, of its type
        if op.module and op.reuses is None and op.type not in ("Parameter", "Buffer"):
            assert type(named[".".join(op.path)]).__name__ == op.type


def test_exported_file_checks_itself(tmp_path):
    path = tmp_path / "lenet.py"
    run("export", "zoo:lenet", "-o", str(path))
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "params 61,706 (expected 61,706); output [1, 10] (expected [1, 10])"
    code, out, _ = run("export", "zoo:lenet")
    assert out == path.read_text()


def test_without_torch_the_commands_say_how_to_install_it(tmp_path):
    probe = (
        "import sys; sys.modules['torch'] = None\n"
        "from convcalc.cli import cli\n"
        "cli.main(['check', 'zoo:lenet'])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr == ("Error: this needs PyTorch, which is not installed: "
                           "pip install 'convcalc[torch]'  (or: pip install torch)\n")
    probe = probe.replace("['check', 'zoo:lenet']", "['net', 'zoo:lenet', '--format', 'csv', '--depth', '0']")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0  # everything else works without torch


HUGE = "input: [1, 1000000]\nlayers: ['Linear(1000000, 1000000)']\n"  # 10^12 weights: 3.6 TiB


def test_check_on_meta_allocates_no_weights():
    code, out, err = run("check", "-", "--device", "meta", "--format", "json", input=HUGE)
    data = json.loads(out)
    assert code == 0 and data["agree"], err
    assert data["totals"]["torch_params"] == 1_000_001_000_000


def test_check_on_cpu_refuses_what_does_not_fit_and_says_what_it_needs():
    code, out, err = run("check", "-", "--device", "cpu", input=HUGE)
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("Error: running <stdin> on cpu needs about 3,725.3 GiB (1,000,001,000,000 "
                          "params: 3,725.3 GiB of weights, and the activations), but ")
    assert err.endswith("is free: check on --device meta: it allocates no weights (shapes and "
                        "parameter counts only)\n")


def test_check_takes_a_batch_of_documents():
    text = ("input: [1, 3, 8, 8]\nlayers: ['Conv2d(3, 4, 3)', ReLU]\n---\n"
            "input: [1, 3, 2, 2]\nlayers: ['Conv2d(3, 4, 3)']\n---\n"
            "input: [1, 4]\nlayers: ['Linear(4, 2)']\n")
    code, out, err = run("check", "-", "--device", "cpu", "--format", "json", input=text)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(lines) == 3
    assert lines[0]["agree"] and lines[2]["agree"] and lines[2]["totals"]["torch_params"] == 10
    assert lines[1]["error"]["message"].startswith("<stdin>#2:5: layer 0 Conv2d: input 2x2 is smaller")
    assert err.count("\n") == 1 and err.startswith("Error: <stdin>#2:5:")
    code, out, err = run("check", "-", "--device", "cpu", input=text)
    assert code == 1 and out.count("all agree") == 2 and err.startswith("Error: <stdin>#2:5:")
