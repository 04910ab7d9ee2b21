"""Imported specs read like the zoo's: blocks from module classes, a flag with ``when:``
where instances differ by an optional part, repeat for runs of identical blocks, modules
as constructor calls by name (``conv1: Conv2d(...)``), names only where a value is read
later; and still exactly the model (the folded spec must lower to the same graph as the
flat one, which is verified against the model)."""

import ast
import json
import sys

import pytest
from click.testing import CliRunner

from conftest import requires_torch
from convcalc.cli import cli

pytestmark = requires_torch
torch = pytest.importorskip("torch")

ZOO_RATIO = 2.0  # an imported spec is at most this many times the zoo's length (issue 12: 3x)


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
    assert needless_names(text) == []
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
    assert "params: [" in text and "repeat: 5" in text  # layer3's blocks 1..5
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


# names only where needed ------------------------------------------------------------------


def needless_names(text: str) -> list:
    """Items of the spec that name what the running value already is: an ``in: v`` right
    after the item that made ``v``, or a module's output named (``as: v``, ``v = ...``) and
    read only by the next item, as its input."""
    from convcalc import spec

    (doc,) = spec.load_documents(text, "import.yaml")
    parsed = spec.parse_spec(doc, "import.yaml")
    found = []
    for items in [parsed.layers] + [block.layers for block in parsed.blocks.values()]:
        sequence = flat(items)
        for before, item in zip(sequence, sequence[1:]):
            made = before.bind if before.when is None and before.kind != "declare" else None
            if made and len(made) == 1 and item.inputs == made:
                found.append(f"line {item.line}: in: {made[0]} after the item that made it")
        for i, item in enumerate(sequence):
            if not item.bind or len(item.bind) != 1 or item.when is not None or not is_module(item, parsed):
                continue
            readers = [j for j, other in enumerate(sequence) if j != i and item.bind[0] in read_by(other)]
            outputs = parsed.outputs or []
            if readers == [i + 1] and sequence[i + 1].inputs == item.bind and item.bind[0] not in outputs:
                found.append(f"line {item.line}: {item.bind[0]} is named, and read only by the next item")
    return found


def flat(items) -> list:
    """The items in the order they run (a group's inline, as the running value flows)."""
    out = []
    for item in items:
        out.append(item)
        if item.kind == "sequential":
            out.extend(flat(item.children))
    return out


def is_module(item, parsed) -> bool:
    return item.kind == "call" and (item.target in parsed.blocks or item.target[:1].isupper())


def read_by(item) -> set:
    names = set(item.inputs or [])
    if isinstance(item.node, ast.AST):
        names |= {n.id for n in ast.walk(item.node) if isinstance(n, ast.Name)}
    return names


def test_the_checker_finds_needless_names():
    text = ("input: [1, 3, 8, 8]\nlayers:\n  - {conv: 'Conv2d(3, 4, 1)', as: h}\n  - {bn: BatchNorm2d, in: h}\n"
            "  - {act: ReLU, in: x}\n")
    assert needless_names(text) == ["line 4: in: h after the item that made it",
                                    "line 3: h is named, and read only by the next item"]


def test_resnet50_has_one_bottleneck_with_a_downsample_flag_and_constructor_calls(torchvision, tmp_path):
    import yaml

    path = tmp_path / "resnet50.yaml"
    code, _, err = run("import", "torchvision.models:resnet50", "--input", "1,3,224,224", "-o", path)
    assert code == 0, err
    text = path.read_text()
    doc = yaml.safe_load(text)
    bottlenecks = [name for name in doc["blocks"] if "Bottleneck" in text.split(f"  {name}:\n")[1].split("\n")[0]]
    assert bottlenecks == ["bottleneck"]  # with and without a downsample: one block
    block = doc["blocks"]["bottleneck"]
    flags = [p for p in block["params"] if isinstance(p, dict) and False in p.values()]
    assert len(flags) == 1
    (flag,) = flags[0]
    conditional = [item for item in block["layers"] if isinstance(item, dict) and item.get("when") == flag]
    assert len(conditional) == 1 and "downsample" in conditional[0]
    # the model's own modules as the spec's constructor calls, named by their attributes:
    # built from the call, with the module's weights, each gives the module's output
    model = torchvision.models.resnet50(weights=None).eval()
    named = [item for item in doc["layers"] if isinstance(item, dict) and len(item) == 1
             and isinstance(next(iter(item.values())), str) and "(" in next(iter(item.values()))]
    assert [next(iter(item)) for item in named] == ["conv1", "bn1", "relu", "maxpool", "avgpool", "fc"]
    seen = {}  # each module's input, as the model's forward gives it

    def keep(name):
        def hook(module, args):
            seen.setdefault(name, args[0].clone())
        return hook

    hooks = [model.get_submodule(next(iter(item))).register_forward_pre_hook(keep(next(iter(item))))
             for item in named]
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
        for hook in hooks:
            hook.remove()
        for item in named:
            ((name, call),) = item.items()
            built = eval(call, {**vars(torch.nn)}).eval()  # noqa: S307 - the test's own file
            original = model.get_submodule(name)
            assert type(built) is type(original), name
            built.load_state_dict(original.state_dict(), strict=True)
            assert torch.equal(built(seen[name].clone()), original(seen[name].clone())), name


@pytest.mark.parametrize("name, cls, flag", [("mobilenet_v2", "mobilenetv2.InvertedResidual", "residual"),
                                             ("efficientnet_b0", "efficientnet.MBConv", "residual")])
def test_a_residual_sum_that_some_instances_have_is_a_flag(torchvision, tmp_path, name, cls, flag):
    path = tmp_path / f"{name}.yaml"
    code, _, err = run("import", f"torchvision.models:{name}", "--input", "1,3,224,224", "-o", path)
    assert code == 0, err
    text = path.read_text()
    assert text.count(f"# torchvision.models.{cls}\n") == 1
    assert f"{{{flag}: false}}" in text and f" if {flag} else _" in text and f"{flag}=True" in text


ODD = '''
from torch import nn


class Unit(nn.Module):
    def __init__(self, c, shortcut):
        super().__init__()
        self.add = nn.Conv2d(c, c, 3, padding=1)  # named like a keyword of the spec
        self.ReLU = nn.ReLU()  # like a layer
        self.on = nn.BatchNorm2d(c)  # like a YAML boolean
        self.shortcut = nn.Conv2d(c, c, 1) if shortcut else None

    def forward(self, x):
        y = self.on(self.ReLU(self.add(x)))
        return y + (self.shortcut(x) if self.shortcut is not None else x)


class Odd(nn.Module):
    def __init__(self):
        super().__init__()
        self.units = nn.Sequential(Unit(4, True), Unit(4, False), Unit(4, False), Unit(4, True))

    def forward(self, x):
        return self.units(x)
'''


def test_modules_named_like_keywords_layers_or_yaml_words(tmp_path):
    source = tmp_path / "odd.py"
    source.write_text(ODD)
    path = tmp_path / "odd.yaml"
    code, _, notes = run("import", f"{source}:Odd", "--input", "1,4,8,8", "-o", path)
    assert code == 0 and "unfolded" not in notes, notes
    text = path.read_text()
    assert "{name: add, Conv2d: {" in text and "{name: ReLU, ReLU: null}" in text and '"on": "BatchNorm2d(4)"' in text
    assert "when: has_shortcut" in text and "unit(has_shortcut=True)" in text
    code, out, err = run("check", path, "--device", "cpu", "--format", "json")
    assert code == 0 and json.loads(out)["agree"], out + err
