"""Random specs from the spec grammar, valid and broken, through the CLI: every one ends
with exit 0, or exit 1 or 2 and one line per error, never "internal error" or a
traceback, within a time limit.

The grammar: layers (bare names, call strings, the mapping form, modules named by their
key), block definitions and
calls, repeat, when, concat/add branches, named groups, named values (``h = ...``,
``as:``/``in:``, operators, functions), and expressions everywhere an argument goes; the
values include wrong types, unknown names and huge numbers. A quarter of the documents
are then damaged as text (cut short, or a YAML metacharacter put in), and a few are
batches of several documents.
"""

import time

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc.cli import cli

SECONDS = 5  # per case, on a loaded two-core CI machine

LAYERS = ["Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "BatchNorm2d", "Linear",
          "AdaptiveAvgPool2d", "Upsample", "Dropout", "LayerNorm", "GroupNorm", "ZeroPad2d",
          "Unflatten", "MultiheadAttention", "Conv1d", "LeakyReLU", "GELU", "Embedding"]
BARE = ["ReLU", "Flatten", "Sigmoid", "Identity", "BatchNorm2d", "Tanh", "GELU", "Dropout",
        "Relu", "Foo", "b", "nn.ReLU", "torch.nn.Softmax"]
NUMBERS = st.one_of(st.integers(-2, 9), st.sampled_from([0.5, 2**63, 10**30, -(2**70), 1e308]))
EXPRESSIONS = st.sampled_from([
    "c", "2 * c", "c // 2", "c + 1", "in_channels", "s", "c if s > 1 else 3", "c[0]", "x",
    "'a'", "'same'", "same", "nearest", "true", "None", "c ** 99", "1 / 0", "[c, c]",
    "(c, 2)", "c > 'a'", "not c", "c.shape", "_", "h", "2 ** 0.5", "-c", "c % 0", "(",
    "1e-5", "'1e-5'", "'false'", "x.size(1)", "x.shape[-1]", "len(c)", "__import__('os')",
])
VALUES = st.one_of(NUMBERS, EXPRESSIONS, st.booleans(), st.none(),
                   st.lists(st.integers(0, 4), max_size=3))
KEYWORDS = st.sampled_from(["in_channels", "out_channels", "kernel_size", "stride", "padding",
                            "dilation", "groups", "bias", "eps", "scale_factor", "mode",
                            "output_size", "in_features", "out_features", "p", "dim",
                            "padding_mode", "approximate", "num_features", "kernel_size"])


def _text(value) -> str:
    return value if isinstance(value, str) else repr(value)


call_strings = st.builds(
    lambda name, args, kwargs, bind: (f"{bind} = " if bind else "") + f"{name}("
    + ", ".join([*map(_text, args), *(f"{k}={_text(v)}" for k, v in kwargs)]) + ")",
    st.sampled_from(LAYERS + ["b", "torch.cat", "cat", "permute", "interpolate"]),
    st.lists(VALUES, max_size=4), st.lists(st.tuples(KEYWORDS, VALUES), max_size=3),
    st.sampled_from(["", "", "", "h", "a, b", "self.m", "_"]))
mappings = st.builds(lambda name, body: {name: body}, st.sampled_from(LAYERS + ["b"]),
                     st.one_of(st.none(), st.lists(VALUES, max_size=3),
                               st.dictionaries(KEYWORDS, VALUES, max_size=3), VALUES))
named_modules = st.builds(  # - conv1: Conv2d(...), a module named by its key
    lambda name, body, extra: {name: body, **extra},
    st.sampled_from(["conv1", 0, "b", "Conv2d", "relu", "repeat", "on", "layers.1", "g_{c}"]),
    st.one_of(call_strings, st.sampled_from(BARE), EXPRESSIONS),
    st.sampled_from([{}] * 4 + [{"in": "h"}, {"as": "h"}, {"when": "s != 1"}, {"name": "n"}, {"layers": []}]))
named_values = st.sampled_from([
    "h = _", "y = _ + h", "_ * h", "h @ h", "torch.cat([_, h], dim=1)", "_.permute(0, 2, 3, 1)",
    "x.flatten(1)", "a, b = _.chunk(2, dim=1)", "Conv2d(3, 4, 1)(h)", "y = h - 1", "mean(dim=1)",
    "_assert(x.size(1) == 3, 'three channels')", "w = Parameter([1, 3, 1, 1])", "self.m(h)",
    "torch.cat([a, b], dim=1)", "h.size(9)", "F.interpolate(_, scale_factor=c)",
    {"ReLU": None, "as": "h"}, {"Tanh": None, "in": "h"}, {"ReLU": None, "in": ["h", "h"]},
])
good = st.sampled_from([  # items that work on most 4-d inputs: the valid half of the grammar
    "ReLU", "BatchNorm2d", "Identity", "MaxPool2d(1)", "b(4)", {"b": {"c": 8, "s": 2}}, "h = _",
    {"Conv2d": {"out_channels": 4, "kernel_size": 1}}, {"Conv2d": {"out_channels": "c", "kernel_size": 1}},
    {"Conv2d": {"out_channels": 6, "kernel_size": 3, "padding": "same"}}, "y = _ + h", "GELU(approximate='tanh')",
    {"AdaptiveAvgPool2d": [2]}, "Dropout(0.1)", {"Upsample": {"scale_factor": 2}}, "torch.cat([_, h], dim=1)",
    {"act": "ReLU"}, {"norm": "BatchNorm2d"}, {"blk": "b(4)"}, {"pool": "MaxPool2d(1)", "as": "h"}])
leaves = st.one_of(good, good, good, st.sampled_from(BARE), call_strings, mappings, named_values, named_modules,
                   st.sampled_from(["b(4)", "b(c=8, s=2)", "b()", "b(1, 2, 3)", {"b": {"c": 4}},
                                    {"b": [2, 2]}, "b(4)(h)"]))


def _extend(children):
    lists = st.lists(children, max_size=3)
    counts = st.one_of(st.integers(-1, 4), st.sampled_from(["c", "'x'", "s * 2", 1000, 10**6, None]))
    conditions = st.one_of(st.booleans(), st.sampled_from(["s != 1", "c > 3 and s == 1", "true", "1 > 2"]),
                           EXPRESSIONS, st.sampled_from([None, "c > 'a'", "[1]"]))
    return st.one_of(
        st.builds(lambda n, body, var: {"repeat": n, "layers": body, **({"var": var} if var else {})},
                  counts, lists, st.sampled_from([None, None, None, "i", "c", "1x"])),
        st.builds(lambda kind, branches: {kind: branches}, st.sampled_from(["concat", "add"]),
                  st.lists(lists, min_size=1, max_size=3)),
        st.builds(lambda branches, dim: {"concat": branches, "dim": dim},
                  st.lists(lists, min_size=1, max_size=2), VALUES),
        st.builds(lambda name, body: {"name": name, "layers": body},
                  st.sampled_from(["g", "stem", "a.b", "x\ny", "", 3]), lists),
        st.builds(lambda body: {"sequential": body}, lists),
        st.builds(lambda item, when: {**(item if isinstance(item, dict) else {item: None}), "when": when},
                  st.one_of(mappings, st.sampled_from(["ReLU", "Flatten"])), conditions),
    )


items = st.recursive(leaves, _extend, max_leaves=12)
working_shapes = st.sampled_from([[1, 3, 8, 8], [1, 3, 32, 32], [2, 16, 5, 5], [1, 3], [3, 8, 8], [1, 8, 16]])
shapes = st.one_of(
    working_shapes, working_shapes, working_shapes,
    st.lists(st.integers(-1, 40), max_size=5),
    st.sampled_from(["1x3x8x8", "a", None, [], [[1]], {"shape": [1, 4], "dtype": "int64"},
                     {"shape": [1, 3, 8, 8], "dtype": "complex"}, [1.5, 3]]))
blocks = st.fixed_dictionaries({"params": st.sampled_from([["c", {"s": 1}]] * 4 + [["c"], [], "c", [{"c": 4}, "c"]]),
                                "layers": st.lists(items, max_size=4)})
documents = st.builds(
    lambda shape, layers, block, name, extra: {
        **({"name": name} if name is not None else {}), "input": shape, "layers": layers,
        **({"blocks": {"b": block}} if block is not None else {}), **extra},
    shapes, st.one_of(st.lists(items, max_size=6), items), st.one_of(st.none(), blocks),
    st.sampled_from([None, "net", "", 7]),
    st.sampled_from([{}] * 8 + [{"outputs": "h"}, {"description": "x"}, {"input2": 1}]))


@st.composite
def spec_texts(draw):
    """YAML text: one or a few documents, a quarter of them then damaged as text."""
    docs = draw(st.lists(documents, min_size=1, max_size=3 if draw(st.integers(0, 9)) == 0 else 1))
    text = "---\n".join(yaml.safe_dump(d, sort_keys=False, allow_unicode=True) for d in docs)
    damage = draw(st.integers(0, 7))
    if damage == 0 and text:
        text = text[:draw(st.integers(len(text) // 2, len(text) - 1))]
    elif damage == 1:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(list("[]{}:-'\"&*!\t|>%@`") + ["\n  ", "\x00"])) + text[at:]
    return text


COMMANDS = [["net", "-"], ["net", "-", "--format", "json"], ["net", "-", "--format", "jsonl"],
            ["net", "-", "--depth", "1", "--format", "csv"], ["export", "-", "--to", "torch"]]


@settings(max_examples=600, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=spec_texts(), command=st.sampled_from(COMMANDS))
def test_any_spec_ends_cleanly_in_one_line_per_error(text, command):
    start = time.monotonic()
    result = CliRunner().invoke(cli, command, input=text)
    elapsed = time.monotonic() - start
    assert elapsed < SECONDS, f"{elapsed:.1f} s"
    assert result.exit_code in (0, 1, 2), result.exception
    err = result.stderr
    assert "internal error" not in err and "Traceback" not in err + result.stdout, err
    lines = err.splitlines()
    assert all(line.startswith(("Error: ", "Warning: ")) for line in lines), err
    if result.exit_code != 0:
        assert any(line.startswith("Error: ") for line in lines), err
        if text.count("\n---\n") == 0 and command[0] == "net" and "json" not in command[-1]:
            assert len([line for line in lines if line.startswith("Error: ")]) == 1, err


@pytest.mark.parametrize("text", [
    "input: [1, 3, 8, 8]\nlayers:\n  - {repeat: 3, layers: [{add: [[], ['Conv2d(3, 3, 3, padding=1)']]}]}\n",
    "input: [1, 3, 8, 8]\nblocks:\n  b:\n    params: [c, {s: 1}]\n    layers:\n"
    "      - {Conv2d: {out_channels: c, kernel_size: 3, stride: s, padding: 1}, when: s == 1}\n"
    "layers: ['b(4)', {b: {c: 8, s: 2}}, 'h = _', 'torch.cat([_, h], dim=1)']\n",
])
def test_the_grammar_reaches_valid_specs(text):
    """The strategy's pieces make working networks too (the property is not only refusals)."""
    result = CliRunner().invoke(cli, ["net", "-"], input=text)
    assert result.exit_code == 0, result.stderr
