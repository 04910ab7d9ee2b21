"""Reading specs: a file, standard input or a bundled ``zoo:NAME``, then YAML (safe loading
only) -> plain data whose lists and mappings remember their source lines.

Only PyYAML is imported here, and only when a spec is read.
"""

from __future__ import annotations

from pathlib import Path

from convcalc.errors import SpecError

MAX_BYTES = 64 * 1024 * 1024


class Located(list):
    """A list that remembers the source line of each element."""

    lines: list


class LocatedDict(dict):
    line: int
    key_lines: dict


def _yaml():
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a dependency
        raise SpecError("PyYAML is needed to read specs: pip install PyYAML") from None
    return yaml


def read_text(path: str) -> tuple[str, str]:
    """The spec text and its display name: a path, ``-`` for standard input, or ``zoo:NAME``."""
    if path == "-":
        import sys

        data = sys.stdin.buffer.read(MAX_BYTES + 1)
        return _decode(data, "<stdin>"), "<stdin>"
    if path.startswith("zoo:"):
        from convcalc import zoo

        return zoo.read(path[4:]), path
    p = Path(path)
    if p.is_dir():
        raise SpecError(f"{path} is a directory, not a spec file")
    try:
        with p.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file", fix="give a spec path, - for standard input, or zoo:NAME") from None
    except OSError as e:
        raise SpecError(f"{path}: cannot read: {e.strerror}") from None
    return _decode(data, path), path


def _decode(data: bytes, name: str) -> str:
    if len(data) > MAX_BYTES:
        raise SpecError(f"{name} is larger than {MAX_BYTES // 2**20} MiB")
    if b"\x00" in data:
        raise SpecError(f"{name} is a binary file, not a YAML spec")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError(f"{name} is not UTF-8 text") from None


def load_documents(text: str, source: str) -> list:
    """Each YAML document as plain data with line numbers, or the SpecError that stops it."""
    yaml = _yaml()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    docs = []
    try:
        for node in yaml.compose_all(text, Loader=loader):
            docs.append(_from_node(node, yaml) if node is not None else None)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        if mark and _tab_indent(text, mark):  # PyYAML: "found character that cannot start any token"
            docs.append(SpecError(f"{where}: a tab in the indentation; YAML indents with spaces"))
        else:
            docs.append(SpecError(f"{where}: malformed YAML: {problem}"))
    except RecursionError:
        docs.append(SpecError(f"{source}: YAML nested too deeply"))
    return docs


def _tab_indent(text: str, mark) -> bool:
    """Whether the YAML error at ``mark`` is a tab in the indentation (before the first
    token of its line, ``- `` markers included)."""
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    lead = line[:len(line) - len(line.lstrip(" \t-"))]
    return "\t" in lead and mark.column <= len(lead)


def _from_node(node, yaml):
    """A composed YAML node -> Python data; lists and dicts carry their source lines."""
    if isinstance(node, yaml.SequenceNode):
        out = Located(_from_node(n, yaml) for n in node.value)
        out.lines = [n.start_mark.line + 1 for n in node.value]
        return out
    if isinstance(node, yaml.MappingNode):
        out = LocatedDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = _from_node(key_node, yaml)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise SpecError(f"line {key_node.start_mark.line + 1}: mapping keys must be plain names")
            out[key] = _from_node(value_node, yaml)
            out.key_lines[key] = key_node.start_mark.line + 1
        return out
    constructor = yaml.constructor.SafeConstructor()
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.YAMLError as e:
        raise SpecError(f"line {node.start_mark.line + 1}: {getattr(e, 'problem', e)}") from None
