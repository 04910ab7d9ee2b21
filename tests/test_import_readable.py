"""Imported specs read like the zoo's: blocks from module classes, repeat for runs of
identical blocks, and still exactly the model (the folded spec must lower to the same
graph as the flat one, which is verified against the model)."""

import json
import sys

import pytest
from click.testing import CliRunner

from conftest import requires_torch
from convcalc.cli import cli

pytestmark = requires_torch
torch = pytest.importorskip("torch")

ZOO_RATIO = 3.0  # an imported spec is at most about this many times the zoo's length


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def table(path) -> dict:
    code, out, err = run("net", path, "--format", "json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2", "efficientnet_b0", "vit_b_16"])
def test_imports_are_within_the_ratio_of_the_zoo_and_give_its_table(torchvision, tmp_path, name):
    from convcalc import spec

    path = tmp_path / f"{name}.yaml"
    code, _, err = run("import", f"torchvision.models:{name}", "--input", "1,3,224,224", "-o", path)
    assert code == 0, err
    text = path.read_text()
    zoo, _ = spec.read_text(f"zoo:tv-{name}")
    ratio = len(text.splitlines()) / len(zoo.splitlines())
    assert "blocks:" in text and ratio <= ZOO_RATIO, f"{name}: {ratio:.2f}x the zoo spec"
    got, want = table(path), table(f"zoo:tv-{name}")
    assert got["output_shape"] == want["output_shape"]
    assert got["totals"]["params"] == want["totals"]["params"]
    assert got["totals"]["macs"] == want["totals"]["macs"]
    # every module of the zoo spec is a row of the import, with the same shape and params
    rows = {r["path"]: r for r in got["layers"]}
    for row in want["layers"]:
        if row["params"]:
            mine = rows[row["path"]]
            assert (mine["output_shape"], mine["params"]) == (row["output_shape"], row["params"]), row["path"]


def test_blocks_take_parameters_and_runs_become_repeat(torchvision, tmp_path):
    path = tmp_path / "resnet50.yaml"
    run("import", "torchvision.models:resnet50", "--input", "1,3,224,224", "-o", path)
    text = path.read_text()
    assert "  bottleneck:\n" in text and "# torchvision.models.resnet.Bottleneck" in text
    assert "params: [" in text and "repeat: 4" in text  # layer3's blocks 2..5
    assert text.startswith("# resnet50, imported from torchvision.models:resnet50 by "
                           "`convcalc import torchvision.models:resnet50 --input 1,3,224,224`")


def test_flat_keeps_one_item_per_operation(torchvision, tmp_path):
    path = tmp_path / "flat.yaml"
    code, _, err = run("import", "torchvision.models:resnet18", "--input", "1,3,224,224", "--flat", "-o", path)
    assert code == 0, err
    text = path.read_text()
    assert "blocks:" not in text and "repeat:" not in text
    folded = tmp_path / "folded.yaml"
    run("import", "torchvision.models:resnet18", "--input", "1,3,224,224", "-o", folded)
    keys = ("path", "type", "description", "output_shape", "params", "macs", "receptive_field", "jump")
    rows = [[{k: r[k] for k in keys} for r in table(p)["layers"]] for p in (path, folded)]
    assert rows[0] == rows[1]


def test_importing_twice_gives_the_same_file(torchvision, tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    for path in (first, second):
        run("import", "torchvision.models:mobilenet_v3_small", "--input", "1,3,224,224", "-o", path)
    assert first.read_text() == second.read_text()


def test_a_fold_that_would_change_the_graph_is_not_used(monkeypatch, torchvision):
    """The safety net: if folding produced a different graph, the flat spec is written."""
    from convcalc.backend import fx_blocks, importer

    real = fx_blocks.fold

    def broken(root, inputs, outputs, model, tensors=None):
        blocks = real(root, inputs, outputs, model, tensors)
        for block in blocks.values():  # corrupt every block: its convolutions get a bias
            block.entries = [(e[0].replace("bias=False", "bias=True"), e[1]) if isinstance(e, tuple) else e
                             for e in block.entries]
        return blocks

    monkeypatch.setattr(fx_blocks, "fold", broken)
    holder = type(sys)("readable_broken")
    holder.model = torchvision.models.resnet50(weights=None).eval()
    sys.modules["readable_broken"] = holder
    text, notes = importer.import_spec("readable_broken:model", (1, 3, 64, 64))
    assert "blocks:" not in text and any("kept the spec unfolded" in n for n in notes)
