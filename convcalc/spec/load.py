"""Reading specs: a file, standard input or a bundled ``zoo:NAME``, then YAML (safe loading
only) -> plain data whose lists and mappings remember their source lines.

Only PyYAML is imported here, and only when a spec is read.
"""

from __future__ import annotations

import re
from pathlib import Path

from convcalc.errors import SpecError

MAX_BYTES = 64 * 1024 * 1024
MAX_VALUES = 1_000_000  # YAML values in one document once aliases are expanded


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


def read_text(path: str, max_bytes: int = MAX_BYTES) -> tuple[str, str]:
    """The spec text and its display name: a path, ``-`` for standard input, or ``zoo:NAME``.

    A file or standard input larger than ``max_bytes`` is refused before it is parsed (a
    file before it is read: its size is known)."""
    if path == "-":
        import sys

        data = sys.stdin.buffer.read(max_bytes + 1)
        return _decode(data, "<stdin>", max_bytes), "<stdin>"
    if path.startswith("zoo:"):
        from convcalc import zoo

        return zoo.read(path[4:]), path
    p = Path(path)
    if p.is_dir():
        raise SpecError(f"{path} is a directory, not a spec file")
    _too_large(_regular(path), path, max_bytes)
    try:
        with p.open("rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file", fix="give a spec path, - for standard input, or zoo:NAME") from None
    except OSError as e:
        raise SpecError(f"{path}: cannot read: {e.strerror}") from None
    return _decode(data, path, max_bytes), path


def _regular(path: str) -> int:
    """The size of the regular file ``path``; a FIFO, a socket or a device is refused
    before it is opened (a FIFO with no writer would block forever)."""
    import os
    import stat

    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file", fix="give a spec path, - for standard input, or zoo:NAME") from None
    except OSError as e:
        raise SpecError(f"{path}: cannot read: {e.strerror}") from None
    if not stat.S_ISREG(status.st_mode):
        raise SpecError(f"{path} is not a regular file (a FIFO, socket or device)",
                        fix="save the spec to a file, or pipe it to - (standard input)")
    return status.st_size


def _too_large(size: int, name: str, max_bytes: int) -> None:
    if size > max_bytes:
        raise SpecError(f"{name} is larger than the limit of {max_bytes:,} bytes for a spec",
                        fix="raise it with --max-spec-bytes")


def _decode(data: bytes, name: str, max_bytes: int = MAX_BYTES) -> str:
    _too_large(len(data), name, max_bytes)
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
            try:
                docs.append(_Builder(yaml, source).build(node) if node is not None else None)
            except SpecError as e:
                docs.append(e)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        if mark is not None and not re.search(r"^---", text[:mark.index], re.M):
            docs = []  # no "---" before it: one malformed document, not a batch (PyYAML ended one early)
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


class _Builder:
    """Composed YAML nodes -> Python data whose lists and dicts carry their source lines.

    An alias is the same node as its anchor: it is built once and shared, and the size of
    the document with every alias expanded is counted first, so that a "billion laughs"
    document is refused before any work. A key given twice in one mapping is an error."""

    def __init__(self, yaml, source: str):
        self.yaml = yaml
        self.source = source
        self.built: dict = {}
        self.sizes: dict = {}

    def build(self, node):
        if self.size(node) > MAX_VALUES:
            raise SpecError(f"{self.source}:{node.start_mark.line + 1}: the document expands to more "
                            f"than {MAX_VALUES:,} values (aliases of aliases?)",
                            fix="write the layers out, or use repeat:")
        return self.node(node)

    def size(self, node) -> int:
        """The number of values under ``node`` with every alias expanded (memoised)."""
        found = self.sizes.get(id(node))
        if found is None:
            if isinstance(node, self.yaml.SequenceNode):
                found = 1 + sum(self.size(n) for n in node.value)
            elif isinstance(node, self.yaml.MappingNode):
                found = 1 + sum(self.size(k) + self.size(v) for k, v in node.value)
            else:
                found = 1
            self.sizes[id(node)] = found = min(found, MAX_VALUES + 1)
        return found

    def node(self, node):
        found = self.built.get(id(node))
        if found is None:
            found = self.built[id(node)] = self._new(node)
        return found

    def _new(self, node):
        yaml = self.yaml
        if isinstance(node, yaml.SequenceNode):
            out = Located(self.node(n) for n in node.value)
            out.lines = [n.start_mark.line + 1 for n in node.value]
            return out
        if isinstance(node, yaml.MappingNode):
            out = LocatedDict()
            out.line = node.start_mark.line + 1
            out.key_lines = {}
            for key_node, value_node in node.value:
                key = self.node(key_node)
                line = key_node.start_mark.line + 1
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    raise SpecError(f"{self.source}:{line}: mapping keys must be plain names")
                if key in out.key_lines:
                    raise SpecError(f"{self.source}:{line}: {key!r} is given twice in one mapping "
                                    f"(lines {out.key_lines[key]} and {line})",
                                    fix="keep one of them")
                out[key] = self.node(value_node)
                out.key_lines[key] = line
            return out
        return _scalar(node, yaml)


def _scalar(node, yaml):
    constructor = yaml.constructor.SafeConstructor()
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.YAMLError as e:
        raise SpecError(f"line {node.start_mark.line + 1}: {getattr(e, 'problem', e)}") from None
