"""The tv- zoo specs are torchvision's models: exported, they load torchvision's state_dict
with strict=True and reproduce its eval-mode output. Skips where torchvision is missing."""

import runpy

import pytest
from click.testing import CliRunner

from conftest import requires_torch
from convcalc import zoo
from convcalc.cli import cli

pytestmark = requires_torch
torch = pytest.importorskip("torch")

TV_SPECS = [n for n in zoo.names() if n.startswith("tv-")]
EXTRA = {"googlenet": {"aux_logits": False, "init_weights": False}}


@pytest.mark.parametrize("name", TV_SPECS)
def test_exported_tv_spec_loads_torchvision_weights_and_matches_its_output(name, torchvision, tmp_path):
    path = tmp_path / f"{name}.py"
    result = CliRunner().invoke(cli, ["export", f"zoo:{name}", "--to", "torch", "-o", str(path)])
    assert result.exit_code == 0, result.stderr
    module = runpy.run_path(str(path))
    model_name = name.removeprefix("tv-")
    torch.manual_seed(0)
    reference = getattr(torchvision.models, model_name)(weights=None, **EXTRA.get(model_name, {})).eval()
    exported = module["build_model"]().eval()
    exported.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(module["INPUT_SHAPE"], generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, got = reference(x), exported(x)
    assert got.shape == want.shape
    assert torch.allclose(got, want, rtol=0, atol=1e-4), float((got - want).abs().max())


def test_every_tv_spec_has_a_torchvision_model(torchvision):
    available = set(torchvision.models.list_models())
    assert {n.removeprefix("tv-") for n in TV_SPECS} <= available


@pytest.mark.parametrize("name", TV_SPECS)
def test_tv_spec_macs_agree_with_torchvision_ops(name, torchvision):
    """torchvision documents each DEFAULT weight's GFLOPS as `_ops`, which counts MACs
    (matmuls included) rounded to three decimals: agree within 1% or 0.0005 G."""
    from helpers import zoo_report

    meta = torchvision.models.get_model_weights(name.removeprefix("tv-")).DEFAULT.meta
    report = zoo_report(name)
    gmacs = report.totals["macs"] / 1e9
    assert abs(gmacs - meta["_ops"]) <= max(0.01 * meta["_ops"], 0.0005), (gmacs, meta["_ops"])
    assert report.totals["params"] == meta["num_params"]
