"""The folded import written for reading (convcalc.backend.fx_readable), on items as the
importer makes them: names only where a value is read later than by the next item, modules
as ``conv1: Conv2d(...)``; and YAML scalars that read back as written (PyYAML the oracle)."""

import yaml
from hypothesis import given
from hypothesis import strategies as st

from convcalc.backend.fx_readable import tidy
from convcalc.backend.fx_yaml import Group, plain


def tidied(entries, tensors, outputs=("out",)):
    root = Group("", "", [(text, None) for text in entries])
    tidy(root, {}, ["x"], list(outputs), set(tensors))
    return [entry[0] for entry in root.entries]


def test_a_chain_reads_the_running_value():
    got = tidied(['{conv1: Conv2d(3, 8, 1), in: "x", as: "conv1"}', '{bn1: BatchNorm2d(8), in: "conv1", as: "bn1"}',
                  "relu = self.relu(bn1)", 'v = Conv2d(8, 8, 1)(relu)', "out = torch.flatten(v, 1)"],
                 {"conv1", "bn1", "relu", "v", "out"})
    assert got == ["conv1: Conv2d(3, 8, 1)", "bn1: BatchNorm2d(8)", "self.relu", "Conv2d(8, 8, 1)",
                   "torch.flatten(_, 1)"]


def test_a_value_read_later_keeps_its_name():
    got = tidied(['{conv1: Conv2d(3, 8, 1), in: "x", as: "conv1"}', '{bn1: BatchNorm2d(8), in: "conv1", as: "bn1"}',
                  "out = bn1 + conv1"], {"conv1", "bn1", "out"})
    assert got == ['{conv1: "Conv2d(3, 8, 1)", as: conv1}', "bn1: BatchNorm2d(8)", "_ + conv1"]


def test_names_stay_where_the_running_value_is_not_known():
    # after an item under when:, and for an item reading several values
    got = tidied(['{a: Conv2d(3, 8, 1), in: "x", as: "a"}', '{b: Conv2d(8, 8, 1), in: "a", as: "b", when: flag}',
                  '{c: blk(8), in: ["b", "a"], as: "out"}'], {"a", "b", "out"})
    assert got == ['{a: "Conv2d(3, 8, 1)", as: a}', '{b: "Conv2d(8, 8, 1)", as: b, when: flag}',
                   '{c: "blk(8)", in: ["b", "a"]}']


def test_sizes_leave_the_running_value_and_a_learned_tensor_keeps_its_name():
    got = tidied(["n = x.shape[0]", "eq = n == 1", "_assert(eq, 'one')", '{conv: Conv2d(3, 8, 1), in: "x", as: "conv"}',
                  '{name: "gamma", as: "gamma", Parameter: [[1, 8, 1, 1]]}', "out = gamma * conv"],
                 {"conv", "gamma", "out"})
    assert got[3] == '{conv: "Conv2d(3, 8, 1)", as: conv}'  # no in: x: the sizes left x the running value
    assert got[4:] == ['{name: "gamma", as: "gamma", Parameter: [[1, 8, 1, 1]]}', "gamma * conv"]


def test_numbered_modules_and_keyword_names():
    got = tidied(['{"0": Conv2d(3, 8, 1), in: "x", as: "a"}', '{"1": ReLU(), in: "a", as: "b"}',
                  '{"on": Identity(), in: "b", as: "c"}', '{add: Identity(), in: "c", as: "out"}'], {"a", "b", "c", "out"})
    assert got == ["Conv2d(3, 8, 1)", "ReLU", '"on": Identity', "{name: add, Identity: null}"]


@given(st.one_of(st.text(max_size=12), st.text(alphabet="0123456789.eE+-_:xob nulltrfs~#[]{},'\"!&*|>%@`?=()<",
                                              max_size=8)), st.booleans())
def test_plain_scalars_read_back_as_written(text, flow):
    source = ("{k: " + plain(text, True) + "}") if flow else ("k: " + plain(text))
    got = yaml.safe_load(source)["k"]
    assert got == text or (type(got) is int and str(got) == text)  # a name 0, 1...: YAML's int
