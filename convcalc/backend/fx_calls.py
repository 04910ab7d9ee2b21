"""The items of an imported spec while it is folded, as text that Python's tokenizer reads:
string items (``h = x + y``, ``v = Conv2d(3, 8, 3)(x)``) and named modules and block calls
as ``{conv1: Conv2d(3, 8, 3), in: "x", as: "conv1"}`` (the call unquoted, so that its
numbers are tokens). The calls in an item and their arguments, numbers as tokens: what
folding reads to name parameters and to line up the variants of a block."""

from __future__ import annotations

import io
import json
import keyword
import re
import tokenize
from dataclasses import dataclass

from convcalc.backend.fx_layers import call_text, literal
from convcalc.backend.fx_yaml import Group

_MODULE = re.compile(r'^\{(?P<segment>"(?:[^"\\]|\\.)*"|\w+): (?P<call>.*?)(?:, in: (?P<inputs>"[^"]*"|\[[^\]]*\]))?'
                     r'(?:, as: (?P<output>"[^"]*"))?(?:, when: (?P<when>[^,{}]+))?\}$')


@dataclass
class Module:
    """A named module or block call: ``{segment: call, in: inputs, as: output, when: flag}``."""
    segment: str
    call: str
    inputs: list  # the values it takes (none: the running value)
    output: str | None = None
    when: str | None = None

    def text(self) -> str:
        segment = self.segment if self.segment.isidentifier() and not keyword.iskeyword(self.segment) \
            and self.segment not in ("name", "true", "false", "null") else json.dumps(self.segment)
        parts = [f"{{{segment}: {self.call}"]
        if self.inputs:
            parts.append(f"in: {json.dumps(self.inputs[0] if len(self.inputs) == 1 else self.inputs)}")
        if self.output is not None:
            parts.append(f"as: {json.dumps(self.output)}")
        if self.when is not None:
            parts.append(f"when: {self.when}")
        return ", ".join(parts) + "}"

    @property
    def callee(self) -> str:
        return self.call.split("(", 1)[0]


def module(text: str) -> Module | None:
    """The named module ``text`` is, or None (a string item, or a learned tensor's mapping)."""
    if not text.startswith("{") or text.startswith("{name: "):
        return None
    found = _MODULE.match(text)
    if found is None:
        return None
    segment = found["segment"]
    inputs = json.loads(found["inputs"]) if found["inputs"] else []
    return Module(json.loads(segment) if segment.startswith('"') else segment, found["call"],
                  [inputs] if isinstance(inputs, str) else inputs,
                  json.loads(found["output"]) if found["output"] else None, found["when"])


def from_flat(text: str, layers) -> str | None:
    """A flat spec's ``{name: "conv1", Conv2d: {...}, in: "x", as: "conv1"}`` as a named
    module (None for any other item: a learned tensor stays a mapping)."""
    if not text.startswith("{name: "):
        return None
    value = _load(text)
    kinds = [k for k in value if k not in ("name", "in", "as")]
    if len(kinds) != 1 or kinds[0] not in layers:
        return None
    args = value[kinds[0]] or {}
    inputs = value.get("in")
    return Module(str(value["name"]), call_text(kinds[0], args),
                  [] if inputs is None else [inputs] if isinstance(inputs, str) else inputs,
                  value.get("as")).text()


def literal_args(args) -> str:
    """A block call's arguments: ``256, 64, True``."""
    return ", ".join(literal(v) for v in args)


def _load(text: str):
    """A flow mapping as the spec reads it: ``1e-06`` (plain) is a number, as in a call."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?\d+(\.\d*)?[eE][-+]?\d+$"),
                                 list("-+0123456789"))
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader


# tokens -----------------------------------------------------------------------------------


def tokens(text: str) -> list:
    return [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
            if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)]


def number(token):
    """The value of a number token (an int or a float), or None."""
    if token.type != tokenize.NUMBER or "j" in token.string.lower():
        return None
    if "." in token.string or ("e" in token.string.lower() and not token.string.lower().startswith("0x")):
        return float(token.string)
    return int(token.string, 0)


def marker(value) -> str:
    """How a number stands in a body's structure: ``#`` for an int, ``#f`` for a float (a
    parameter is one or the other, so that 1 and 1.0 are never taken for each other)."""
    return "#f" if isinstance(value, float) else "#"


def offsets(text: str) -> list:
    """The offset where each line of ``text`` starts (tokens give line and column)."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


@dataclass
class Call:
    """A call of a layer or a block in an item's text: where it is and its arguments, each
    ``(keyword or None, start, end)`` (offsets into the text)."""
    callee: str
    start: int
    end: int
    args: list


def calls(text: str, known) -> list:
    """The calls in ``text`` of the names in ``known`` (layers and blocks), innermost first."""
    toks = tokens(text)
    starts = offsets(text)
    at = [starts[t.start[0] - 1] + t.start[1] for t in toks]
    ends = [starts[t.end[0] - 1] + t.end[1] for t in toks]
    found, stack = [], []
    for i, t in enumerate(toks):
        closing = t.type == tokenize.OP and (t.string in ")]}" or t.string == ",")
        if stack and stack[-1]["from"] is None and not closing:  # an argument starts here
            named = (t.type == tokenize.NAME and i + 1 < len(toks) and toks[i + 1].string == "="
                     and stack[-1]["callee"] is not None)
            stack[-1]["from"] = (t.string if named else None, at[i + 2] if named else at[i])
        if t.type == tokenize.OP and t.string in "([{":
            callee = toks[i - 1].string if (t.string == "(" and i and toks[i - 1].type == tokenize.NAME
                                             and not (i > 1 and toks[i - 2].string == ".")) else None
            stack.append({"callee": callee, "start": at[i - 1] if callee else at[i], "args": [], "from": None})
        elif closing and t.string != "," and stack:
            frame = stack.pop()
            _close(frame, at[i])
            if frame["callee"] in known:
                found.append(Call(frame["callee"], frame["start"], ends[i], frame["args"]))
        elif closing and stack:
            _close(stack[-1], at[i])
    return found


def _close(frame, end) -> None:
    if frame["from"] is not None:
        name, start = frame["from"]
        frame["args"].append((name, start, end))
        frame["from"] = None


def argument_names(text: str, signatures: dict) -> list:
    """For each number of ``text``, in order: ``(name, default)`` of the parameter it is
    given as in the innermost call of a known layer or block (``Conv2d(64, 128, 3,
    stride=2)``: in_channels, out_channels, kernel_size, stride; both numbers of
    ``kernel_size=[3, 1]``), or ``(None, None)``. ``signatures``: callee -> its
    parameters, ``(name, default)`` in order (``REQUIRED`` for none)."""
    names = []
    found = calls(text, signatures)
    starts = offsets(text)
    for t in tokens(text):
        if number(t) is None:
            continue
        where, name = starts[t.start[0] - 1] + t.start[1], (None, None)
        for call in found:  # innermost first: a call closes before the one around it
            arg = next((i for i, (_, s, e) in enumerate(call.args) if s <= where < e), None)
            if arg is not None:
                params = dict(signatures[call.callee])
                key = call.args[arg][0] or (signatures[call.callee][arg][0]
                                            if arg < len(signatures[call.callee]) else None)
                name = (key, params.get(key))
                break
        names.append(name)
    return names


# a body's structure and its numbers ---------------------------------------------------------


def flatten(entries) -> list:
    """A body as lines of text, a nested group as ``group "name"`` ... ``end``."""
    out = []
    for entry in entries:
        if isinstance(entry, Group):
            out.append(f"group {json.dumps(entry.segment)}")
            out.extend(flatten(entry.entries))
            out.append("end")
        else:
            out.append(entry[0])
    return out


def shape(entries) -> tuple:
    """The body's tokens with numbers as markers (its structure), and the numbers."""
    marks, numbers = [], []
    for line in flatten(entries):
        for t in tokens(line):
            value = number(t)
            if value is not None:
                marks.append(marker(value))
                numbers.append(value)
            else:
                marks.append(t.string)
        marks.append("\n")
    return tuple(marks), numbers


def substitute(entries, at: dict) -> list:
    """The body with the numbers at positions ``at`` (counted as ``shape`` counts them)
    replaced by parameter names."""
    counter = iter(range(1 << 62))

    def replace(text):
        out, last = [], 0
        starts = offsets(text)
        for t in tokens(text):
            if number(t) is not None:
                position = next(counter)
                if position in at:
                    start = starts[t.start[0] - 1] + t.start[1]
                    out.append(text[last:start] + at[position])
                    last = start + len(t.string)
        return "".join(out) + text[last:]

    def walk(items):
        result = []
        for entry in items:
            if isinstance(entry, Group):
                replace(f"group {json.dumps(entry.segment)}")  # counted as shape counts it (no number)
                result.append(Group(entry.path, entry.segment, walk(entry.entries), entry.index, entry.holder))
            else:
                result.append((replace(entry[0]), None))
        return result

    return walk(entries)
