"""Variants of one module class as one block: instances that differ only by a layer
argument left at its default (``stride=2`` in one, stride 1 left out in the other), or by
an optional part (ResNet's Bottleneck with and without ``downsample``, MobileNet's and
EfficientNet's residual sum when ``use_res_connect``), which becomes a flag parameter:
``when: has_downsample`` on a module, ``x + _ if residual else _`` for an expression.

Folding checks the result: the folded spec must lower to the flat spec's graph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from convcalc.backend.fx_calls import Module, calls, flatten, module, shape, tokens
from convcalc.backend.fx_layers import literal
from convcalc.backend.fx_repeat import indexed
from convcalc.backend.fx_text import rename_text, writes
from convcalc.backend.fx_yaml import Group
from convcalc.ops import REGISTRY

MAX_PART = 2  # items of an optional part (a module, or a module and the sum it feeds)
_APPLIED = re.compile(r"^(?P<out>\w+) = (?P<call>[A-Z]\w*\(.*\))\((?P<input>\w+)\)$")  # v = Conv2d(...)(x)


@dataclass
class Family:
    """Instances folded into one block: its body (the fullest variant's, a flag on its
    optional part) and each instance's numbers at the body's positions (None: a number of
    the optional part, which that instance lacks)."""
    instances: list
    body: list
    numbers: list
    flag: str | None = None
    flags: list = field(default_factory=list)
    tensors: set = field(default_factory=set)


def canonical(instances) -> None:
    """Within each class, every call of a layer gives the keywords with a number default
    that any call of that layer there gives (the default filled in), so that variants
    differing only by a default share a structure; ``trim`` drops them again where they
    stay the default."""
    by_class: dict = {}
    for inst in instances:
        by_class.setdefault(inst.cls, []).append(inst)
    for members in by_class.values():
        given: dict = {}
        for inst in members:
            for line in flatten(inst.body):
                for call in calls(line, REGISTRY):
                    given.setdefault(call.callee, set()).update(k for k, _, _ in call.args if k)
        fill = {layer: {k: d for k, d in REGISTRY[layer].signature if k in names and _numeric(d)}
                for layer, names in given.items()}
        for inst in members:
            body = _rewrite(inst.body, lambda text: _filled(text, fill))
            if body != inst.body:
                inst.body = body
                inst.tokens, inst.numbers = shape(body)


def trim(body) -> list:
    """The body with every keyword argument of a layer that is its default left out."""
    defaults = {layer: {k: literal(d) for k, d in t.signature if _numeric(d)} for layer, t in REGISTRY.items()}

    def drop(text):
        for call in sorted(calls(text, REGISTRY), key=lambda c: -c.start):
            kept = [(k, s, e) for k, s, e in call.args if not (k and defaults[call.callee].get(k) == text[s:e])]
            if len(kept) != len(call.args):
                text = text[:call.start] + _call(call.callee, text, kept, {}) + text[call.end:]
        return text

    return _rewrite(body, drop)


def _numeric(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _rewrite(entries, fn) -> list:
    return [Group(e.path, e.segment, _rewrite(e.entries, fn), e.index, e.holder) if isinstance(e, Group)
            else (fn(e[0]), e[1]) for e in entries]


def _filled(text, fill) -> str:
    for call in sorted(calls(text, fill), key=lambda c: -c.start):
        have = {k for k, _, _ in call.args if k}
        missing = {k: literal(d) for k, d in fill[call.callee].items() if k not in have}
        if missing:
            text = text[:call.start] + _call(call.callee, text, call.args, missing) + text[call.end:]
    return text


def _call(callee, text, args, extra) -> str:
    """``callee(...)`` with ``args`` (spans of ``text``) and ``extra`` keywords, the
    keywords in the signature's order."""
    order = [k for k, _ in REGISTRY[callee].signature]
    positional = [text[s:e] for k, s, e in args if not k]
    keywords = {k: text[s:e] for k, s, e in args if k} | extra
    named = [f"{k}={keywords[k]}" for k in sorted(keywords, key=lambda k: order.index(k) if k in order else len(order))]
    return f"{callee}({', '.join(positional + named)})"


# families ---------------------------------------------------------------------------------


def families(instances, tensors: set, container) -> list:
    """The instances as families: one per structure, or two structures of a class where
    one is the other with an optional part (not for a ``container`` class, whose
    structure is what it holds)."""
    by_structure: dict = {}
    for inst in instances:
        by_structure.setdefault((inst.cls, inst.tokens), []).append(inst)
    structures = list(by_structure.values())
    out, used = [], set()
    for i, one in enumerate(structures):
        if i in used:
            continue
        found = None
        for j in range(i + 1, len(structures)):
            if j not in used and structures[j][0].cls is one[0].cls and not container(one[0].cls):
                found = _merge(one, structures[j], tensors)
                if found is not None:
                    used.add(j)
                    break
        out.append(found or Family(one, one[0].body, [inst.numbers for inst in one],
                                   tensors=_tensors(one[0], tensors)))
    return out


def _tensors(inst, tensors) -> set:
    return {local for value, local in inst.rename.items() if value in tensors}


def _split(inst) -> tuple:
    """The body without its result's bare name (``conv_3`` at the end), and the result."""
    out = inst.rename[inst.output]
    body = list(inst.body)
    if body and not isinstance(body[-1], Group) and body[-1][0] == out:
        body.pop()
    return body, out


def _merge(one, other, tensors):
    """The two structures as one family, or None."""
    short, full = sorted((one, other), key=lambda s: len(_split(s[0])[0]))
    a_body, a_out = _split(short[0])
    b_body, b_out = _split(full[0])
    k = len(b_body) - len(a_body)
    if not 1 <= k <= MAX_PART or len(short[0].inputs) != len(full[0].inputs):
        return None
    local = _tensors(full[0], tensors)
    for i in range(len(a_body) + 1):
        part = b_body[i:i + k]
        if any(isinstance(e, Group) for e in part):
            continue
        made = {w for e in part for w in writes(e[0])}
        sigma = _compare(a_body, a_out, b_body[:i] + b_body[i + k:], b_out, made)
        if sigma is None:
            continue
        made = _template(b_body, b_out, i, k, sigma, local)
        if made is not None:
            body, flag, alias, mine = made
            numbers = _numbers(short, full, a_body, b_body, i, k)
            return Family(full + short, body, numbers, flag, [True] * len(full) + [False] * len(short),
                          mine | ({alias} if alias else set()))
    return None


def _canon(entries) -> tuple:
    """The entries' token lists with their own values renamed in order (v0, v1...), and the
    renaming."""
    rename: dict = {}
    for line in flatten(entries):
        for w in writes(line):
            rename.setdefault(w, f"__v{len(rename)}")
    return [shape([(rename_text(line, rename), None)])[0] for line in flatten(entries)], rename


def _compare(a_body, a_out, b_rest, b_out, made) -> dict | None:
    """What the short variant reads where the full one reads a value of the optional part
    (``downsample_1`` -> ``x``), if the two are otherwise the same; None if not."""
    ca, rename_a = _canon(a_body)
    cb, rename_b = _canon(b_rest)
    if len(ca) != len(cb):
        return None
    if any(len(x) != len(y) for x, y in zip(ca, cb)):
        return None
    sigma: dict = {}
    pairs = [pair for x, y in zip(ca, cb) for pair in zip(x, y)]
    pairs.append((rename_a.get(a_out, a_out), b_out if b_out in made else rename_b.get(b_out, b_out)))
    for p, q in pairs:
        if p == q:
            continue
        value, instead = q.strip('"'), p.strip('"')
        if value not in made or sigma.setdefault(value, instead) != instead:
            return None
    back = {c: v for v, c in rename_b.items()}
    return {y: back.get(s, s) for y, s in sigma.items()}


def _template(b_body, b_out, i, k, sigma, local):
    """(body, flag, alias, tensors) of the merged block: the optional part
    ``b_body[i:i + k]`` under a flag, or None when it cannot be written so."""
    flag = _flag(b_body[i:i + k])
    taken = {w for line in flatten(b_body) for w in writes(line)} | {"x"}
    if flag in taken:  # the flag is a parameter: a value of the body named like it is renamed
        fresh = next(f"{flag}_{n}" for n in range(1, len(taken) + 2) if f"{flag}_{n}" not in taken)
        b_body = [e if isinstance(e, Group) else (rename_text(e[0], {flag: fresh}), None) for e in b_body]
        sigma = {(fresh if y == flag else y): (fresh if v == flag else v) for y, v in sigma.items()}
        b_out = fresh if b_out == flag else b_out
        local = {fresh if v == flag else v for v in local}
    part = b_body[i:i + k]
    running = "x" if i == 0 else (writes(b_body[i - 1][0]) or [None])[0] \
        if not isinstance(b_body[i - 1], Group) else None
    last = writes(part[-1][0])
    if len(last) != 1 or running not in local | {"x"}:
        running = None
    expression = not _is_module(part[-1][0])
    if sigma == {last[0]: running} and (expression or (i + k == len(b_body) and last[0] == b_out)):
        index = sum(1 for e in b_body[:i] if isinstance(e, Group) or indexed(e[0]))
        made = []
        for e in part:
            text = _conditional(e[0], flag, str(index + len(made)))
            if text is None:
                return None
            made.append((text, None))
        body = b_body[:i] + made + b_body[i + k:]
        if expression and (isinstance(body[-1], Group) or writes(body[-1][0]) != [b_out]):
            body.append((b_out, None))  # the block's result
        return body, flag, None, local
    call = module(part[0][0])
    if k != 1 or call is None or set(sigma) != {call.output}:
        return None
    source = sigma[call.output]
    at = 0 if source == "x" else next((j + 1 for j, e in enumerate(b_body[:i]) if not isinstance(e, Group)
                                       and writes(e[0]) == [source] and source in local), None)
    if at is None:
        return None
    taken = {w for line in flatten(b_body) for w in writes(line)}
    alias = "identity" if source == "x" and "identity" not in taken else call.output
    call.output, call.when = alias, flag
    after = [e if isinstance(e, Group) else (rename_text(e[0], {y: alias for y in sigma}), None)
             for e in b_body[i + 1:]]
    body = b_body[:at] + [(f"{alias} = {source}", None)] + b_body[at:i] + [(call.text(), None)] + after
    if b_out in sigma:
        body.append((alias, None))
    return body, flag, alias, local


def _is_module(text) -> bool:
    return module(text) is not None or _APPLIED.match(text) is not None


def _conditional(text, flag, index) -> str | None:
    """An item of the optional part under its flag: a module with ``when:``, an expression
    that is the running value without it (``add = x + conv if residual else _``)."""
    call = module(text)
    if call is not None:
        if call.when is not None:
            return None
        call.when = flag
        return call.text()
    applied = _APPLIED.match(text)
    if applied is not None:  # v = SiLU(inplace=True)(x): named by its index, as it was
        return Module(index, applied["call"], [applied["input"]], applied["out"], flag).text()
    left, sep, right = text.partition(" = ")
    if not sep or left.startswith("self.") or "," in left:
        return None
    right = f"({right})" if re.search(r"\b(if|lambda)\b", right) else right
    return f"{left} = {right} if {flag} else _"


def _flag(part) -> str:
    """The flag's name: ``residual`` for a sum with the block's input, ``has_downsample``
    for a named module, the layer's name (``silu``) for a numbered one."""
    texts = [e[0] for e in part]
    if any("+" in t and "x" in {tok.string for tok in tokens(t.partition(" = ")[2])} for t in texts):
        base = "residual"
    else:
        call = module(texts[0])
        applied = _APPLIED.match(texts[0])
        if call is not None and call.segment.isidentifier():
            return f"has_{call.segment}"
        callee = call.callee if call is not None else applied["call"].split("(")[0] if applied else "part"
        base = re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", callee).lower()
    return base


def _numbers(short, full, a_body, b_body, i, k) -> list:
    """Each instance's numbers at the merged body's positions: the full variant's own; the
    short variant's, with the optional part's filled in: its constant, or where it varies,
    the short variant's number at the place where the full variant always has the same
    (its channels), else None."""
    counts = [len(shape([e])[1]) for e in b_body]
    start, stop = sum(counts[:i]), sum(counts[:i + k])
    rows = [inst.numbers for inst in full]
    outside = [q for q in range(len(rows[0])) if not start <= q < stop]
    fill = {}
    for p in range(start, stop):
        same = next((q for q in outside if all(_same(r[p], r[q]) for r in rows)), None)
        if all(_same(r[p], rows[0][p]) for r in rows):
            fill[p] = ("constant", rows[0][p])
        elif same is not None:
            fill[p] = ("at", outside.index(same))
        else:
            fill[p] = ("constant", None)
    out = [list(r) for r in rows]
    for inst in short:
        mine = list(inst.numbers)
        row = mine[:start] + [mine[v] if how == "at" else v for how, v in (fill[p] for p in range(start, stop))]
        out.append(row + mine[start:])
    return out


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b
