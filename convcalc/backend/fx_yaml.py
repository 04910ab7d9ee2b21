"""The imported spec as YAML text, in the zoo's style: flow mappings with plain keys for
layers, block-style lists, one item per line."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from convcalc.backend.fx_text import writes

# a module named by its key, ``conv1: Conv2d(...)``: written as it is (a string item never
# starts with a name and ": ")
_NAMED = re.compile(r'^("(?:[^"\\]|\\.)*"|[^\s:"\'{}\[\],]+): ')
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "=", "<<"}  # not plain strings


@dataclass
class Group:
    path: str  # the module's qualified name ("" for the model)
    segment: str
    entries: list = field(default_factory=list)  # (text, node name or None) and _Group
    index: int = 0  # the next automatic segment (0, 1, 2... as the lowering numbers items)
    holder: bool = False  # holds the parameters of a module that is never called


def groups(group: Group) -> list:
    """``group`` and every group inside it, outermost first."""
    out = [group]
    for entry in group.entries:
        if isinstance(entry, Group):
            out.extend(groups(entry))
    return out


def render(header, title, entries, inputs, outputs, blocks=None) -> tuple[str, dict]:
    """The spec's YAML, and which line each node's item is on. An output the items leave
    unnamed is the spec's last value, its default output (no ``outputs:``)."""
    lines = [f"# {h}" for h in header]
    lines.append(f"name: {json.dumps(title)}")
    lines.append("inputs:")
    for input_name, (shape, dtype) in inputs.items():
        shown = list(shape) if dtype == "float32" else {"shape": list(shape), "dtype": dtype}
        lines.append(f"  {input_name}: {json.dumps(shown)}")
    where: dict = {}
    if blocks:
        lines.append("blocks:")
        for name, block in blocks.items():
            lines.append(f"  {name}:")
            if block.comment:
                lines.append(f"    # {block.comment}")
            if block.params:
                shown = [f"{{{p}: {json.dumps(block.defaults[p])}}}" if p in block.defaults else p
                         for p in block.params]
                lines.append(f"    params: [{', '.join(shown)}]")
            if block.inputs != ["x"]:
                lines.append(f"    inputs: [{', '.join(block.inputs)}]")
            lines.append("    layers:")
            _emit(block.entries, 3, lines, {})
    lines.append("layers:")
    _emit(entries, 1, lines, where)
    named = {w for line in _texts(entries) for w in writes(line)} | set(inputs)
    if not (len(outputs) == 1 and outputs[0] not in named):
        lines.append(f"outputs: {json.dumps(outputs)}")
    return "\n".join(lines) + "\n", where


def _texts(entries) -> list:
    out = []
    for entry in entries:
        if isinstance(entry, Group):
            out.extend(_texts(entry.entries))
        elif not isinstance(entry, Repeat):
            out.append(entry[0])
    return out


@dataclass
class Repeat:
    """``repeat: count`` of one item (a block called on the running value), with a loop
    variable when the item's name is a template (``encoder_layer_{i + 1}``)."""
    count: int
    text: str
    var: str | None = None


def _emit(entries, depth, lines, where) -> None:
    pad = "  " * depth
    for entry in entries:
        if isinstance(entry, Group):
            lines.append(f"{pad}- name: {plain(entry.segment, True)}")
            lines.append(f"{pad}  layers:")
            _emit(entry.entries, depth + 2, lines, where)
            continue
        if isinstance(entry, Repeat):
            lines.append(f"{pad}- repeat: {entry.count}")
            if entry.var:
                lines.append(f"{pad}  var: {entry.var}")
            lines.append(f"{pad}  layers:")
            lines.append(f"{pad}    - {_item(entry.text)}")
            continue
        text, node = entry
        lines.append(f"{pad}- {_item(text)}")
        if node is not None:
            where[len(lines)] = node


def _item(text: str) -> str:
    """An item as YAML: a mapping as written, a string item as a plain or quoted scalar."""
    return text if text.startswith("{") or _NAMED.match(text) else _scalar(text)


def _scalar(text: str) -> str:
    """A YAML plain scalar when it reads back as the same string, else a quoted one."""
    if (": " in text or " #" in text or text[:1] in "!&*[]{}|>'\"%@`,?:-#" or text.endswith(":")):
        return json.dumps(text)
    return text


def flow(value) -> str:
    """A YAML flow value with plain keys, as the zoo writes them: ``{out_channels: 64,
    bias: false}``; ``null`` for no arguments."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}" if value else "null"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return json.dumps(value)


def mapping(pairs: dict) -> str:
    return "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in pairs.items()) + "}"


def key(text: str) -> str:
    """A module's name as a mapping key: plain when it is a word (``conv1``, ``0``,
    ``layers.1``), else quoted (a name template, ``layer_{i + 1}``)."""
    return plain(text, True) if re.fullmatch(r"[\w.]+", text) else _quoted(text)


def plain(text, in_flow=False) -> str:
    """A YAML plain scalar when it reads back as the same string (or, for a number's
    digits, the same number), else a double-quoted one; ``in_flow``: inside ``{...}``."""
    text = str(text)
    risky = (not text.isascii() or not text.isprintable() or ": " in text or " #" in text
             or text[:1] in "!&*[]{}|>'\"%@`,?:-# " or text.endswith((":", " ")) or text.lower() in _YAML_WORDS
             or (in_flow and any(c in text for c in "{}[],?:#")))
    if not risky and re.fullmatch(r"[-+]?(\.\d|\d)[\d_.eE+-]*|0[xXoObB][\da-fA-F_]+|[-+]?\.(inf|nan)|[\d:]+",
                                  text, re.IGNORECASE):
        risky = not (text.isdigit() and (text == "0" or not text.startswith("0")))  # 12 reads as 12: fine
    return _quoted(text) if risky else text


def _quoted(text: str) -> str:
    """A double-quoted YAML scalar, escaped as PyYAML reads it back."""
    import yaml

    return yaml.safe_dump(text, default_style='"', width=float("inf"), allow_unicode=True).rstrip("\n")
