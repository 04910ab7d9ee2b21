"""Items of an imported spec as text: the values each reads and writes, renaming values,
the integer literals a block can take as parameters. Tokens, not regular expressions
over Python, so that ``x.mean(dim=1)`` reads ``x`` and not ``mean`` or ``dim``."""

from __future__ import annotations

import io
import keyword
import re
import tokenize


def reads(text: str, values: set) -> list:
    """The values (of ``values``) an item reads: ``in:`` of a mapping, the names an
    expression loads."""
    if text.startswith("{"):
        found = re.search(r'\bin: (\[[^\]]*\]|"[^"]*")', text)
        return [v for v in re.findall(r'"([^"]*)"', found.group(1)) if v in values] if found else []
    return [t.string for t, *around in names(text) if t.string in values and is_value(t, *around)]


def writes(text: str) -> list:
    if text.startswith("{"):
        found = re.search(r'\bas: (?:"([^"]*)"|(\w+))', text)
        return [found.group(1) or found.group(2)] if found else []
    left, sep, _ = text.partition(" = ")
    if not sep or left.startswith("self."):
        return []
    return [n.strip() for n in left.split(",")]


def names(text: str):
    """(token, the token before, the token after, bracket depth) of each name."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
              if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)]
    depth = 0
    for i, t in enumerate(tokens):
        if t.type == tokenize.OP and t.string in "([{":
            depth += 1
        elif t.type == tokenize.OP and t.string in ")]}":
            depth -= 1
        if t.type == tokenize.NAME and not keyword.iskeyword(t.string):
            yield t, tokens[i - 1] if i else None, tokens[i + 1] if i + 1 < len(tokens) else None, depth


def is_value(token, before, after, depth) -> bool:
    """A name that stands for a value: not an attribute (``x.mean``) and not an argument
    name (``dim`` in ``x.mean(dim=1)``)."""
    return (before is None or before.string != ".") and not (
        depth > 0 and after is not None and after.string == "=")


def rename_text(text: str, rename: dict) -> str:
    if text.startswith("{"):  # the values of in: and as:, never a module's name
        return re.sub(r'\b(in|as): ("[^"]*"|\[[^\]]*\])', lambda m: m.group(1) + ": " + re.sub(
            r'"([^"]*)"', lambda v: f'"{rename.get(v.group(1), v.group(1))}"', m.group(2)), text)
    pieces, last = [], 0
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    for t, *around in names(text):
        if t.string in rename and is_value(t, *around):
            start = offsets[t.start[0] - 1] + t.start[1]
            pieces.append(text[last:start] + rename[t.string])
            last = start + len(t.string)
    return "".join(pieces) + text[last:]


def is_int(token) -> bool:
    return token.type == tokenize.NUMBER and "." not in token.string and "e" not in token.string.lower() \
        and "j" not in token.string.lower()
