"""A module named by its key, ``- conv1: Conv2d(64, 64, 1, bias=False)``, as ``print(model)``
shows ``(conv1): Conv2d(...)``: the same graph as ``{name: conv1, Conv2d: {...}}``, with
``in:``, ``as:`` and ``when:``; keys that are layers, blocks or keywords keep their meaning;
what it cannot hold is refused in one line."""

import pytest
from click.testing import CliRunner

from convcalc import spec
from convcalc.cli import cli
from convcalc.graph.lower import lower

BLOCK = """
blocks:
  pair:
    params: [c, {shortcut: false}]
    layers:
      - identity = x
      - conv: Conv2d(in_channels, c, 3, padding=1, bias=False)
      - {bn: "BatchNorm2d(c)", as: out}
      - {down: "Conv2d(in_channels, c, 1)", in: x, as: identity, when: shortcut}
      - out + identity
"""


def graph(text: str):
    (doc,) = spec.load_documents(text, "test.yaml")
    if isinstance(doc, Exception):
        raise doc
    lowered = lower(spec.parse_spec(doc, "test.yaml"))
    where = {v: ".".join(op.path) for op in lowered.ops for v in op.outputs}
    return [(".".join(op.path), op.type, plain(op.args, where), [where.get(v, v) for v in op.inputs],
             [lowered.shapes[v] for v in op.outputs]) for op in lowered.ops]


def plain(value, where):
    """Arguments with a tensor as the path of the operation that made it."""
    if hasattr(value, "shape") and hasattr(value, "name"):
        return ("tensor", where.get(value.name, value.name))
    if isinstance(value, dict):
        return {k: plain(v, where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, where) for v in value]
    return value


def error(text: str) -> str:
    result = CliRunner().invoke(cli, ["net", "-", "--format", "csv"], input=text)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    return result.stderr.strip().removeprefix("Error: ")


def test_a_named_module_is_the_mapping_with_name():
    named = "input: [1, 3, 8, 8]\nlayers:\n  - conv1: Conv2d(3, 8, 3, padding=1, bias=False)\n" \
            "  - bn1: nn.BatchNorm2d(8)\n  - relu: ReLU\n  - 0: Conv2d(8, 4, 1)\n"
    mapping = "input: [1, 3, 8, 8]\nlayers:\n" \
              "  - {name: conv1, Conv2d: {in_channels: 3, out_channels: 8, kernel_size: 3, padding: 1, bias: false}}\n" \
              "  - {name: bn1, BatchNorm2d: [8]}\n  - {name: relu, ReLU: null}\n  - {name: 0, Conv2d: [8, 4, 1]}\n"
    assert graph(named) == graph(mapping)
    assert [row[0] for row in graph(named)] == ["conv1", "bn1", "relu", "0"]


def test_in_as_and_when_as_on_a_mapping_and_blocks_by_name():
    named = "input: [1, 4, 8, 8]" + BLOCK + "layers:\n  - {stem: \"Conv2d(4, 8, 1)\", as: h}\n" \
            "  - 0: pair(8)\n  - 1: pair(16, shortcut=True)\n  - {side: \"Conv2d(8, 16, 1)\", in: h}\n" \
            "  - {skipped: \"Conv2d(16, 16, 1)\", when: false}\n"
    mapping = "input: [1, 4, 8, 8]" + BLOCK.replace(
        "conv: Conv2d(in_channels, c, 3, padding=1, bias=False)",
        "{name: conv, Conv2d: {out_channels: c, kernel_size: 3, padding: 1, bias: false}}").replace(
        '{bn: "BatchNorm2d(c)", as: out}', "{name: bn, BatchNorm2d: [c], as: out}").replace(
        '{down: "Conv2d(in_channels, c, 1)", in: x, as: identity, when: shortcut}',
        "{name: down, Conv2d: [in_channels, c, 1], in: x, as: identity, when: shortcut}") + \
        "layers:\n  - {name: stem, Conv2d: [4, 8, 1], as: h}\n  - {name: 0, pair: [8]}\n" \
        "  - {name: 1, pair: {c: 16, shortcut: true}}\n  - {name: side, Conv2d: [8, 16, 1], in: h}\n"
    rows = graph(named)
    assert rows == graph(mapping)
    paths = [row[0] for row in rows]
    assert "1.down" in paths and "0.down" not in paths and "skipped" not in paths
    assert rows[-1][0] == "side" and rows[-1][3] == ["stem"]  # in: h, the stem's output


def test_names_that_are_not_identifiers_and_templates():
    rows = graph("input: [1, 2, 8, 8]\nblocks:\n  b:\n    layers: [ReLU]\nlayers:\n"
                 "  - Mixed_5b: b\n  - layers.1: b()\n  - repeat: 2\n    var: i\n    layers:\n"
                 "      - \"stage_{i + 1}\": b\n  - \"on\": Identity\n")
    assert [row[0] for row in rows] == ["Mixed_5b.0", "layers.1.0", "stage_1.0", "stage_2.0", "on"]


def test_keys_that_are_layers_blocks_or_keywords_keep_their_meaning():
    rows = graph("input: [1, 2, 4, 4]\nblocks:\n  act:\n    params: [kind]\n    layers:\n"
                 "      - {ReLU: null, when: kind == 'ReLU'}\n      - {Tanh: null, when: kind != 'ReLU'}\n"
                 "layers:\n"
                 "  - {Conv2d: [2, 4, 1], as: h}\n"  # a layer as the key: its arguments
                 "  - act: Tanh\n"  # a block given a bare name: its string argument
                 "  - {mul: h}\n")  # a function: its argument
    assert [row[:2] for row in rows] == [("0", "Conv2d"), ("1.0", "Tanh"), ("mul", "mul")]
    assert error('input: [1, 2, 4, 4]\nlayers:\n  - {repeat: "Conv2d(2, 4, 1)"}\n').startswith(
        "<stdin>:3: repeat needs layers:")


@pytest.mark.parametrize("item, message", [
    ('{conv1: "Conv2d(3, 8, 3)", name: c}',
     "<stdin>:3: module conv1: its key is its name already, so name: is not needed: "
     "write conv1: Conv2d(3, 8, 3), or {name: conv1, ...} without the key"),
    ('{conv1: "h = Conv2d(3, 8, 3)"}',
     "<stdin>:3: module conv1: the value is the module's constructor, not an assignment: name its output with as: h"),
    ('{conv1: "Conv2d(3, 8, 3)(x)"}',
     "<stdin>:3: module conv1: the value must be a layer's constructor or a block call, like "
     "Conv2d(64, 64, 3): write {conv1: 'Conv2d(3, 8, 3)', in: [x]}"),
    ('{conv1: "Conv2d(3, 8, 3)", layers: [ReLU]}',
     "<stdin>:3: module conv1: layers: does not apply to a module named by its key: "
     "a named module takes in:, as: and when:"),
    ('{conv1: "Conv2d(3, 8, 3)", var: i}',
     "<stdin>:3: module conv1: var: does not apply to a module named by its key: "
     "a named module takes in:, as: and when:"),
    ('{conv1: "Conv2e(3, 8, 3)"}', "<stdin>:3: layer conv1 Conv2e: unknown layer 'Conv2e': did you mean Conv2d?"),
    ('{conv1: "Conv2d(3, 8"}', "<stdin>:3: cannot parse layer 'Conv2d(3, 8': '(' was never closed: inside a "
                               "YAML [flow list], quote calls that contain commas: ['Conv2d(1, 6, 5)']"),
    ('{conv1: "Conv2d(3, 8, 3)", when: null}',
     "<stdin>:3: when: needs a condition, got null: write when: true, or an expression such as stride != 1"),
])
def test_what_a_named_module_cannot_hold_is_refused_in_one_line(item, message):
    assert error(f"input: [1, 3, 8, 8]\nlayers:\n  - {item}\n") == message


def test_a_long_value_is_refused_by_the_expression_limit_not_the_key_test():
    long = "Conv2d(3, 8, " + "1 + " * 20_000 + "1)"
    assert "characters" in error(f"input: [1, 3, 8, 8]\nlayers:\n  - conv1: {long}\n")
