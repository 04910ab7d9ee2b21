"""The imported spec as YAML text, in the zoo's style: flow mappings with plain keys for
layers, block-style lists, one item per line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


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
    """The spec's YAML, and which line each node's item is on."""
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
                lines.append(f"    params: [{', '.join(block.params)}]")
            if block.inputs != ["x"]:
                lines.append(f"    inputs: [{', '.join(block.inputs)}]")
            lines.append("    layers:")
            _emit(block.entries, 3, lines, {})
    lines.append("layers:")
    _emit(entries, 1, lines, where)
    lines.append(f"outputs: {json.dumps(outputs)}")
    return "\n".join(lines) + "\n", where


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
            lines.append(f"{pad}- name: {json.dumps(entry.segment)}")
            lines.append(f"{pad}  layers:")
            _emit(entry.entries, depth + 2, lines, where)
            continue
        if isinstance(entry, Repeat):
            lines.append(f"{pad}- repeat: {entry.count}")
            if entry.var:
                lines.append(f"{pad}  var: {entry.var}")
            lines.append(f"{pad}  layers:")
            lines.append(f"{pad}    - {entry.text if entry.text.startswith('{') else _scalar(entry.text)}")
            continue
        text, node = entry
        lines.append(f"{pad}- {text if text.startswith('{') else _scalar(text)}")
        if node is not None:
            where[len(lines)] = node


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
