"""Runs of identical block calls, each on the one before, as ``repeat``: what a loop
filling an ``nn.Sequential`` (or a ``ModuleList`` named ``layer_1``, ``layer_2``...) was."""

from __future__ import annotations

import re

from convcalc.backend.fx_calls import Module, module
from convcalc.backend.fx_yaml import Group, Repeat

_NUMBERED = re.compile(r"^(.*?)(\d+)$")
_INDEXED = re.compile(r"^(\{|\w+ = [A-Z]\w*\(.*\)\()")  # items numbered like nn.Sequential's


def repeat_runs(group: Group, blocks) -> None:
    """Runs of three or more identical calls of a block, each on the one before, named 0,
    1, 2... (as an nn.Sequential names them) or layer_1, layer_2...: the first stays a call,
    the rest become one ``repeat`` (with a name template for named ones)."""
    entries, out, index = group.entries, [], 0
    i = 0
    while i < len(entries):
        run = _run(entries, i, blocks)
        prefix = run[0][1] if run else ""
        if len(run) >= 3 and (prefix or int(run[0][2]) == index):
            (first, _, _), (last, _, _) = run[0], run[-1]
            # the first call too, when it takes the running value (the item before it made it)
            whole = i > 0 and not isinstance(entries[i - 1], (Group, Repeat)) and \
                _made(entries[i - 1][0]) == first.inputs[0]
            start = run[0][2] if whole else run[1][2]
            if prefix:  # named: the loop variable fills the name
                name = f"{prefix}{{i + {start}}}" if start != "0" else f"{prefix}{{i}}"
                repeat = Repeat(len(run) - (0 if whole else 1), Module(name, first.call, []).text(), "i")
            else:
                repeat = Repeat(len(run) - (0 if whole else 1), first.call)
            out += ([] if whole else [entries[i]]) + [repeat, (f"{last.output} = _", None)]
            index += len(run)
            i += len(run)
            continue
        entry = entries[i]
        if isinstance(entry, Group) or indexed(entry[0]):
            index += 1
        out.append(entry)
        i += 1
    group.entries[:] = out


def _made(text: str) -> str | None:
    """The tensor an item makes, where it is sure to be the running value after it: a
    module's or a block's output."""
    call = module(text)
    if call is not None:
        return call.output if call.when is None else None
    found = re.match(r"^(\w+) = [A-Z]\w*\(.*\)\(\w+\)$", text)
    return found[1] if found else None


def indexed(text: str) -> bool:
    """Whether an item takes the next number of its group (a module, named or not)."""
    return _INDEXED.match(text) is not None


def _run(entries, start, blocks) -> list:
    """(call, name prefix, number) of the block calls from ``start`` that chain."""
    run = []
    for entry in entries[start:]:
        call = module(entry[0]) if not isinstance(entry, (Group, Repeat)) else None
        numbered = _NUMBERED.match(call.segment) if call is not None else None
        if (numbered is None or call.callee not in blocks or call.when or len(call.inputs) != 1
                or call.output is None):
            break
        if run:
            before, prefix, index = run[-1]
            if ((numbered[1], call.call) != (prefix, run[0][0].call) or call.inputs[0] != before.output
                    or int(numbered[2]) != int(index) + 1):
                break
        run.append((call, numbered[1], numbered[2]))
    return run
