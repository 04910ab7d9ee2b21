"""`convcalc draw`: every zoo spec's DOT laid out by the real Graphviz (skipped without it),
every zoo spec's mermaid checked line by line, runs of identical blocks, folding, several
inputs, and the errors (no dot on PATH, formats, files)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from convcalc import spec as specs
from convcalc import zoo
from convcalc.cli import cli
from convcalc.errors import ConvcalcError
from convcalc.graph.run import evaluate
from convcalc.render import draw

DOT = shutil.which("dot")
needs_dot = pytest.mark.skipif(DOT is None, reason="Graphviz's dot is not installed")
SVG = "{http://www.w3.org/2000/svg}"
MISSING = ("Graphviz's dot is not installed: apt-get install graphviz, brew install graphviz, "
           "or conda install graphviz")

TWO_INPUTS = """\
name: two-inputs
inputs:
  image: [1, 3, 32, 32]
  extra: [1, 8, 16, 16]
layers:
  - h = Conv2d(3, 8, 3, stride=2, padding=1)(image)
  - y = torch.cat([h, extra], dim=1)
  - Conv2d(16, 4, 1)(y)
"""


def run(*args, stdin=None):
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def report(source: str, input_shape=None):
    text, where = specs.read_text(source)
    return evaluate(specs.load_documents(text, where)[0], where, input_shape)


def svg_titles(svg: bytes) -> tuple[set, set, int]:
    """(node titles, cluster titles, edge count) of a Graphviz SVG (which must parse)."""
    root = ET.fromstring(svg)
    found = {"node": set(), "cluster": set(), "edge": []}
    for g in root.iter(f"{SVG}g"):
        kind = g.get("class")
        if kind in found:
            title = g.find(f"{SVG}title").text
            found[kind].add(title) if kind != "edge" else found[kind].append(title)
    return found["node"], found["cluster"], len(found["edge"])


def assert_every_op_drawn(rep, pic, titles):
    """Each operation is one node: its own (titled by its name) or its group's / run's."""
    ops = rep.graph.ops
    assert sorted(i for n in pic.nodes.values() for i in n.ops) == [op.index for op in ops]
    for op in ops:
        owner = pic.owner[op.index]
        assert owner in titles, op.name
        node = pic.nodes[owner]
        if node.kind in ("op", "merge", "param"):
            assert owner.split("#")[0] == op.name
        else:  # a folded group or a run: its id is the group's path (a run: first..last)
            assert op.name.startswith(owner.split("..")[0].rsplit(".", 1)[0])


@needs_dot
@pytest.mark.parametrize("name", zoo.names())
def test_every_zoo_spec_renders_with_graphviz(name):
    code, out, err = run("draw", f"zoo:{name}")
    assert (code, err) == (0, ""), err
    done = subprocess.run([DOT, "-Tsvg"], input=out.encode(), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    nodes, clusters, edges = svg_titles(done.stdout)
    rep = report(f"zoo:{name}")
    pic = draw.picture(rep)
    assert nodes == set(pic.nodes)
    assert clusters == {f"cluster_{c.id}" for c in pic.clusters()}
    assert edges == len(pic.edges)
    assert_every_op_drawn(rep, pic, nodes)
    assert sum(n.params for n in pic.nodes.values()) == rep.totals["params"]
    assert sum(n.macs for n in pic.nodes.values()) == rep.totals["macs"]


# Mermaid: a line-by-line check of the subset of flowchart syntax that draw writes --------

LABEL = r'"((?:[^"<>|`]|<br>)*)"'  # quotes, brackets and pipes are entity codes inside
NODE = re.compile(r"\s*(n\d+)(?:\(\[|\[\[|\(\(|\[/|\[)" + LABEL + r"(?:\]\)|\]\]|\)\)|/\]|\])")
SUBGRAPH = re.compile(r'\s*subgraph (s\d+) \["((?:[^"<>|`])*)"\]')
EDGE = re.compile(r'\s*(n\d+) -->\|"([^"<>|`]*)"\| (n\d+)')
CLASSDEF = re.compile(r"\s*classDef (\w+) [\w:#,.\- ]+")
CLASS = re.compile(r"\s*class ((?:n\d+,)*n\d+) (\w+)")


def parse_mermaid(text: str) -> dict:
    lines = text.splitlines()
    assert lines[0].startswith("%% ") and lines[1] in ("flowchart TB", "flowchart LR")
    nodes, edges, depth, subgraphs, classes = {}, [], 0, set(), {}
    for line in lines[2:]:
        if m := NODE.fullmatch(line):
            assert m[1] not in nodes, line
            nodes[m[1]] = m[2]
        elif m := SUBGRAPH.fullmatch(line):
            assert m[1] not in subgraphs
            subgraphs.add(m[1])
            depth += 1
        elif line.strip() == "end":
            depth -= 1
            assert depth >= 0
        elif m := EDGE.fullmatch(line):
            edges.append((m[1], m[3], m[2]))
        elif m := CLASSDEF.fullmatch(line):
            classes[m[1]] = set()
        elif m := CLASS.fullmatch(line):
            assert m[2] in classes
            classes[m[2]] |= set(m[1].split(","))
        else:
            raise AssertionError(f"not flowchart syntax: {line!r}")
        for text_ in re.findall(r'"([^"]*)"', line):  # every # starts an entity code
            assert re.fullmatch(r"(?:[^#]|#\w+;)*", text_), line
    assert depth == 0
    for src, dst, _ in edges:
        assert src in nodes and dst in nodes
    for members in classes.values():
        assert members <= set(nodes)
    return {"nodes": nodes, "edges": edges, "subgraphs": subgraphs}


@pytest.mark.parametrize("name", zoo.names())
def test_every_zoo_spec_in_mermaid(name):
    rep = report(f"zoo:{name}")
    for depth in (None, 1):
        pic = draw.picture(rep, depth)
        found = parse_mermaid(draw.to_mermaid(pic, "LR" if depth else "TB"))
        assert len(found["nodes"]) == len(pic.nodes)
        assert len(found["edges"]) == len(pic.edges)
        assert len(found["subgraphs"]) == len(list(pic.clusters()))
        drawn = sorted(i for n in pic.nodes.values() for i in n.ops)
        assert drawn == [op.index for op in rep.graph.ops]
    code, out, err = run("draw", f"zoo:{name}", "--format", "mermaid")
    assert (code, err) == (0, "")
    assert out == draw.to_mermaid(draw.picture(rep), "TB")


def test_mermaid_escapes_labels():
    text = 'a "b" <c> #1 | `d` & e'
    escaped = draw.mermaid_text(text)
    assert not set('"<>|`') & set(escaped)
    entities = {"#quot;": '"', "#lt;": "<", "#gt;": ">", "#35;": "#", "#124;": "|",
                "#96;": "`", "#amp;": "&"}
    assert re.sub(r"#\w+;", lambda m: entities[m[0]], escaped) == text
    weird = TWO_INPUTS.replace("name: two-inputs", 'name: "we\\"ird <net> #1 | `x` &"')
    code, out, _ = run("draw", "-", "--format", "mermaid", "--depth", "0", stdin=weird)
    assert code == 0
    assert "we#quot;ird #lt;net#gt; #35;1 #124; #96;x#96; #amp;" in out
    parse_mermaid(out)


# What is drawn -----------------------------------------------------------------------------


def test_identical_blocks_collapse_into_one_box():
    rep = report("zoo:tv-resnet50")
    pic = draw.picture(rep)
    runs = {n.id: n.lines[1] for n in pic.nodes.values() if n.kind == "run"}
    assert runs == {"layer1.1..2": "bottleneck x 2", "layer2.1..3": "bottleneck x 3",
                    "layer3.1..5": "bottleneck x 5", "layer4.1..2": "bottleneck x 2"}
    # the first block of each stage (its downsample makes it differ) is kept, as a cluster
    assert "layer3.0.conv1" in pic.nodes and "layer3.1.conv1" not in pic.nodes
    assert {c.id for c in pic.clusters()} >= {"layer3", "layer3.0", "layer3.0.downsample"}
    run_ = pic.nodes["layer3.1..5"]
    assert run_.lines[2] == "[1, 1024, 14, 14] -> [1, 1024, 14, 14]"
    assert run_.params == 5 * 1_117_184 and run_.lines[3].endswith("(all 5)")
    edges = {(e.src, e.dst): e.label for e in pic.edges}
    assert edges[("layer3.0.relu_2", "layer3.1..5")] == "[1, 1024, 14, 14]"
    assert edges[("layer3.1..5", "layer4.0.conv1")] == "[1, 1024, 14, 14]"

    code, out, _ = run("draw", "zoo:tv-resnet50")
    assert '"layer3.1..5" [label="layer3.1..5\\nbottleneck x 5\\n' in out
    code, out, _ = run("draw", "zoo:tv-resnet50", "--expand")
    assert code == 0 and " x 5" not in out and "..5" not in out
    expanded = draw.picture(rep, expand=True)
    assert len(expanded.nodes) == len(rep.graph.ops) + 2  # + the input and the output
    assert all(f'"{op.name}" [label=' in out for op in rep.graph.ops)


def test_blocks_that_differ_are_not_collapsed():
    assert {n.lines[1] for n in draw.picture(report("zoo:tv-vit_b_16")).nodes.values()
            if n.kind == "run"} == {"encoder_block x 12"}
    for name in ("tv-swin_t", "tv-densenet121", "tv-googlenet"):  # shifts, widths differ
        assert not [n for n in draw.picture(report(f"zoo:{name}")).nodes.values()
                    if n.kind == "run"], name


def test_depth_folds_groups_into_boxes():
    rep = report("zoo:tv-resnet50")
    pic = draw.picture(rep, depth=1)
    assert [n.id for n in pic.nodes.values()] == [
        "input:x", "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
        "avgpool", "flatten", "fc", "output:output"]
    assert not list(pic.clusters())
    layer2 = pic.nodes["layer2"]
    assert layer2.kind == "group"
    assert layer2.lines[1:3] == ["stage", "[1, 256, 56, 56] -> [1, 512, 28, 28]"]
    assert layer2.params == 1_219_584 and layer2.lines[3] == "1.22M params, 1.03G MACs"
    assert sum(n.params for n in pic.nodes.values()) == 25_557_032
    assert [(e.src, e.dst, e.label) for e in pic.edges][4:6] == [
        ("maxpool", "layer1", "[1, 64, 56, 56]"), ("layer1", "layer2", "[1, 256, 56, 56]")]
    whole = draw.picture(rep, depth=0)
    assert [n.id for n in whole.nodes.values()] == ["input:x", "network", "output:output"]
    assert whole.nodes["network"].lines[0] == "tv-resnet50"
    code, out, _ = run("draw", "zoo:tv-resnet50", "--depth", "1", "--rankdir", "LR")
    assert code == 0 and "rankdir=LR" in out and "subgraph" not in out


def test_branches_and_merges_are_drawn_as_they_are():
    pic = draw.picture(report("zoo:tv-resnet18"))
    into_add = sorted((e.src, e.label) for e in pic.edges if e.dst == "layer2.0.add")
    assert into_add == [("layer2.0.bn2", "[1, 128, 28, 28]"),
                        ("layer2.0.downsample.1", "[1, 128, 28, 28]")]
    assert pic.nodes["layer2.0.add"].kind == "merge"
    out_of_stage1 = sorted(e.dst for e in pic.edges if e.src == "layer1.0..1")
    assert out_of_stage1 == ["layer2.0.conv1", "layer2.0.downsample.0"]  # the fork


def test_several_inputs_are_nodes_of_their_own(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text(TWO_INPUTS)
    pic = draw.picture(report(str(path)))
    assert [n.lines for n in pic.nodes.values() if n.kind == "input"] == [
        ["input image", "[1, 3, 32, 32]"], ["input extra", "[1, 8, 16, 16]"]]
    assert sorted((e.src, e.dst) for e in pic.edges) == [
        ("0", "cat"), ("1", "output:output"), ("cat", "1"), ("input:extra", "cat"),
        ("input:image", "0")]
    code, out, _ = run("draw", str(path))
    assert code == 0
    assert '"input:extra" -> "cat" [label="[1, 8, 16, 16]"];' in out
    assert '"input:image" -> "0" [label="[1, 3, 32, 32]"];' in out
    code, out, _ = run("draw", str(path), "--format", "mermaid")
    found = parse_mermaid(out)
    assert [label for label in found["nodes"].values() if label.startswith("input")] == [
        "input image<br>[1, 3, 32, 32]", "input extra<br>[1, 8, 16, 16]"]
    if DOT:
        nodes, _, edges = svg_titles(draw_svg(str(path)))
        assert {"input:image", "input:extra"} <= nodes and edges == 5


def draw_svg(source: str) -> bytes:
    code, out, err = run("draw", source, "--format", "svg")
    assert (code, err) == (0, ""), err
    return out.encode()


def test_symbolic_sizes_are_drawn_as_formulas():
    code, out, _ = run("draw", "zoo:tv-resnet18", "--input", "1,3,H,W", "--depth", "1")
    assert code == 0
    assert '"input:x" [label="input\\n[1, 3, H, W]"' in out
    assert "floor((H - 1)/32) + 1" in out


def test_human_units():
    assert [draw.human(n) for n in (0, 999, 1000, 9408, 999_499, 999_500, 25_557_032,
                                    4_089_184_256)] == [
        "0", "999", "1K", "9.41K", "999K", "1M", "25.6M", "4.09G"]


# Files, formats and errors -----------------------------------------------------------------


@needs_dot
def test_output_file_svg_png_and_text(tmp_path):
    svg = tmp_path / "net.svg"
    code, out, err = run("draw", "zoo:lenet", "-o", str(svg))
    assert (code, out, err) == (0, "", "")
    nodes, _, _ = svg_titles(svg.read_bytes())
    assert {"input:x", "0", "11", "output:output"} <= nodes
    png = tmp_path / "net.png"
    assert run("draw", "zoo:lenet", "-o", str(png))[0] == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    mmd = tmp_path / "net.mmd"
    assert run("draw", "zoo:lenet", "-o", str(mmd), "--rankdir", "LR")[0] == 0
    assert parse_mermaid(mmd.read_text())["nodes"]
    gv = tmp_path / "net.gv"
    assert run("draw", "zoo:lenet", "-o", str(gv))[0] == 0
    assert gv.read_text() == run("draw", "zoo:lenet")[1]


def test_missing_dot_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "")
    target = tmp_path / "net.svg"
    code, out, err = run("draw", "zoo:lenet", "-o", str(target))
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: {MISSING} ") and err.count("\n") == 1
    assert "pip" in err
    assert not target.exists()
    code, out, err = run("draw", "zoo:lenet", "--format", "mermaid")  # text needs no dot
    assert (code, err) == (0, "") and out.startswith("%% LeNet")


@needs_dot
def test_dot_failures_are_one_line(monkeypatch):
    from convcalc.cli import draw as command

    with pytest.raises(ConvcalcError, match="^Graphviz's dot failed: .*syntax error"):
        command.run_dot("digraph {", "svg")

    def slow(*args, **kwargs):
        raise subprocess.TimeoutExpired(args[0], kwargs["timeout"])

    monkeypatch.setattr(subprocess, "run", slow)
    with pytest.raises(ConvcalcError, match="did not finish within 120 s: draw fewer boxes"):
        command.run_dot("digraph {}", "svg")


@pytest.mark.parametrize("args, message", [
    (["-o", "net.txt"], "cannot tell the format from -o net.txt"),
    (["-o", "net.svg", "--format", "png"], "--format png, but -o net.svg ends in .svg"),
    (["--rankdir", "XY"], "Invalid value for '--rankdir'"),
    (["--depth", "-1"], "Invalid value for '--depth'"),
    (["--input", "1,3,a b"], "is not a shape"),
])
def test_usage_errors_exit_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run("draw", "zoo:lenet", *args)
    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_domain_errors_exit_1():
    code, _, err = run("draw", "zoo:lenet", "--input", "1,1,2,2")
    assert code == 1 and err.startswith("Error: zoo:lenet:") and err.count("\n") == 1
    batch = "name: a\ninput: [1, 1, 8, 8]\nlayers: [ReLU]\n---\nname: b\ninput: [1, 1, 8, 8]\n"
    code, _, err = run("draw", "-", stdin=batch)
    assert (code, err) == (1, "Error: <stdin>: draw takes a spec of one document, got 2\n")
    code, _, err = run("draw", "zoo:nope")
    assert code == 1 and "no zoo spec named 'nope'" in err


PROBE = """
import json, sys
from convcalc.cli import cli
cli.main({args!r}, standalone_mode=False)
print(json.dumps(sorted(sys.modules)))
"""


def test_draw_is_imported_lazily_and_imports_nothing_heavy():
    def modules_after(args):
        done = subprocess.run([sys.executable, "-c", PROBE.format(args=args)],
                              capture_output=True, text=True, check=True)
        return set(json.loads(done.stdout.splitlines()[-1]))

    assert "convcalc.render.draw" not in modules_after(["conv", "--in", "28", "--k", "5"])
    loaded = modules_after(["draw", "zoo:tv-resnet50", "--format", "mermaid"])
    assert "convcalc.render.draw" in loaded
    assert not [m for m in loaded if m.split(".")[0] in ("sympy", "torch", "numpy")]


def test_mermaid_size_warning(monkeypatch):
    from convcalc.cli import draw as command

    monkeypatch.setattr(command, "MERMAID_MAX_EDGES", 5)
    code, out, err = run("draw", "zoo:lenet", "--format", "mermaid")
    assert code == 0 and out.startswith("%% LeNet")
    assert err == (f"Warning: 13 edges and {len(out):,} characters: mermaid (GitHub's too) "
                   "draws at most 5 edges and 50,000 characters by default; fold with --depth N\n")


def test_docs_draw_md_is_current():
    """docs/draw.md's mermaid picture is the command's output; its error line is the real one."""
    from pathlib import Path

    from convcalc.cli.draw import MISSING_DOT

    root = Path(__file__).resolve().parent.parent
    text = (root / "docs" / "draw.md").read_text()
    for args, body in re.findall(r"<!-- draw: (.*?) -->\n```mermaid\n(.*?)```", text, re.S):
        code, out, _ = run("draw", *args.split())
        assert code == 0 and out == body, f"docs/draw.md: regenerate the output of draw {args}"
    assert f"Error: {MISSING_DOT}\n" in text
