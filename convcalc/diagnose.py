"""Errors that diagnose: a network's refusal, read for its common causes, said first.

``explain(error, spec, input_shape)`` returns the error with its cause in front when it
recognises one, else the error unchanged (the same object):

- a ``Linear`` fed a tensor that is not flat after a conv/pool stack: a missing ``Flatten``
  (instead of suggesting ``in_features`` = the last dimension);
- the valid input sizes near the one given form a progression ``a + g·k`` (a U-Net whose
  down and up paths must meet): the input must be a multiple of ``g``, with the nearest
  valid sizes, and ``g = 2**k`` read as ``k`` poolings by 2 where the network has them;
- a ``--input`` other than the spec's ``input:``, at which the spec does work: the spec
  was written for its own input, and the valid sizes nearest the one given.

The sizes come from a scan (every spatial dimension one size, H = W, as
``convcalc net --valid-inputs`` scans) over a bounded window around the given size,
nearest sizes first and within a time budget: an error is never slow to report.
"""

from __future__ import annotations

import math
import re
import time

from convcalc.errors import ConvcalcError, InputTooSmall, ShapeError
from convcalc.graph.lower import lower
from convcalc.graph.run import accepts
from convcalc.solve.valid import compact

WINDOW = 64  # sizes scanned on either side of the given one
BUDGET_S = 0.5  # at most this long scanning (LeNet's whole window: about 20 ms)
DIM_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}

_LINEAR = re.compile(r"in_features=(\d+) but the incoming shape \[([^\]]*)\] has")


def explain(error: ConvcalcError, spec=None, input_shape=None, scan: bool = True) -> ConvcalcError:
    """``error`` with its cause said first, or ``error`` itself. ``spec`` is the parsed spec
    (None: only what the error itself shows); ``scan=False`` skips the size scans."""
    found = missing_flatten(error)
    if found is None and spec is not None and isinstance(error, ShapeError):
        found = input_size(error, spec, input_shape, scan)
    return found or error


def _restated(error: ConvcalcError, message: str, fix: str | None = None, cause: str = "") -> ConvcalcError:
    out = type(error)(message, fix=fix)
    out.path, out.layer_type = error.path, error.layer_type
    out.partial = getattr(error, "partial", None)
    out.cause = cause
    out.original = error
    return out


# A missing Flatten ---------------------------------------------------------------------


def missing_flatten(error: ConvcalcError):
    """A ``Linear`` whose input still has its spatial dimensions ([1, 16, 5, 5]): the
    ``Flatten`` before it is missing; None when that is not the case."""
    if error.layer_type not in ("Linear", "nn.Linear"):
        return None
    m = _LINEAR.search(error.message)
    if not m:
        return None
    try:
        shape = [int(s) for s in m[2].split(",")]
    except ValueError:  # symbolic sizes
        return None
    in_features, flat = int(m[1]), math.prod(shape[1:])
    # [N, C, H, W] (or [N, C, L] flattening to exactly in_features): a conv/pool stack's output
    if not (len(shape) >= 4 or (len(shape) == 3 and flat == in_features)):
        return None
    where = error.message[:m.start()]
    product = " x ".join(map(str, shape[1:]))
    count = f"{product} = {flat} features" + ("" if flat == in_features else f", not {in_features}")
    return _restated(error, f"{where}missing Flatten before Linear: its input {shape} is not flat",
                     f"add Flatten, then Linear({flat}, ...) ({count})", "missing-flatten")


# The input size ---------------------------------------------------------------------------


def input_size(error: ConvcalcError, spec, input_shape, scan: bool = True):
    """The input size as the cause: a multiple-of rule the valid sizes follow, or the spec
    written for another input. None when neither applies."""
    if isinstance(input_shape, dict):  # named inputs
        return None
    own = tuple(spec.input or ())
    shape = tuple(input_shape) if input_shape is not None else own
    if len(shape) < 3 or not all(isinstance(s, int) for s in shape):
        return None
    written_for = (input_shape is not None and own and tuple(input_shape) != own
                   and all(isinstance(s, int) for s in own) and accepts(spec, own))
    if written_for and (isinstance(error, InputTooSmall) or shape[:2] != own[:2]):
        # too small (the fix names the smallest input) or other channels: the error says the rest
        return _restated(error, f"{spec.source}: the spec was written for {list(own)}, not "
                         f"{list(shape)}: {error.message}", error.fix, "input-size")
    if isinstance(error, InputTooSmall) or not scan:
        return None
    spatial = shape[2:]
    names = DIM_NAMES.get(len(spatial)) or tuple(f"S{i}" for i in range(1, len(spatial) + 1))
    sizes = list(dict.fromkeys(spatial))
    found = {s: near(spec, shape, s) for s in sizes}
    step = progression(*found[sizes[0]])
    rules = {_rule(progression(*found[s])) for s in sizes}  # the same a + g·k for every size
    if step is not None and len(rules) > 1:
        step = None
    parts = []
    if written_for:
        parts.append(f"the spec was written for {list(own)}")
    if step is not None:
        first, g = step
        rule = f"multiples of {g}" if first % g == 0 else f"{first % g} more than a multiple of {g}"
        nearest = "; ".join(
            (f"{_and([n for n, v in zip(names, spatial) if v == s])} " if len(sizes) > 1 else "")
            + _nearest(s, found[s][0]) for s in sizes)
        parts.append(f"the input's {_and(names)} must be {rule}{_why(spec, shape, g, first)}; "
                     f"nearest valid: {nearest}")
    elif written_for:
        parts += [_around(s, found[s][0]) for s in sizes]
    if not parts:
        return None
    return _restated(error, f"{spec.source}: {'; '.join(parts)} ({error.message})", None,
                     "input-multiple" if step is not None else "input-size")


def near(spec, shape, center: int, window: int = WINDOW, budget_s: float = BUDGET_S):
    """The valid sizes (every spatial size the same) within ``window`` of ``center``, and
    the range actually scanned: nearest sizes first, until the time budget is spent."""
    deadline = time.monotonic() + budget_s
    lead, nd = tuple(shape[:2]), len(shape) - 2
    valid, reach = [], 0
    for d in range(window + 1):
        for size in dict.fromkeys((center - d, center + d)):
            if size >= 1 and accepts(spec, (*lead, *([size] * nd))):
                valid.append(size)
        reach = d
        if time.monotonic() > deadline:
            break
    return sorted(valid), range(max(1, center - reach), center + reach + 1)


def progression(valid: list, scanned: range):
    """``(first, step)`` when the valid sizes in ``scanned`` are every ``step``-th size from
    ``first`` on (at least three of them, step >= 2); else None."""
    if len(valid) < 3:
        return None
    step = valid[1] - valid[0]
    if step < 2 or any(b - a != step for a, b in zip(valid, valid[1:])):
        return None
    if valid[-1] + step < scanned.stop:  # the next member was scanned and refused
        return None
    return valid[0], step


def _why(spec, shape, step: int, size: int) -> str:
    """`` (4 poolings by 2)`` when ``step`` is 2**k and the network halves k times."""
    k = step.bit_length() - 1
    if step != 1 << k:
        return ""
    try:
        graph = lower(spec, (*shape[:2], *([size] * (len(shape) - 2))))
    except ConvcalcError:
        return f" ({step} = 2^{k})"
    halving = [op.type for op in graph.ops if isinstance(op.step.rf, tuple)
               and any(set(getattr(w, "stride", ())) == {2} for w in op.step.rf)]
    if len(halving) != k:
        return f" ({step} = 2^{k})"
    if all("Pool" in t for t in halving):
        return f" ({k} poolings by 2)"
    if all(t.startswith("Conv") for t in halving):
        return f" ({k} stride-2 convolutions)"
    return f" ({k} downsamplings by 2)"


def _rule(step):
    return None if step is None else (step[0] % step[1], step[1])


def _nearest(size: int, valid: list) -> str:
    """The valid sizes either side of ``size`` (itself when valid)."""
    if size in valid:
        return str(size)
    below = [v for v in valid if v < size]
    above = [v for v in valid if v > size]
    picks = ([below[-1]] if below else []) + ([above[0]] if above else [])
    return ", ".join(map(str, picks)) or "none"


def _around(size: int, valid: list) -> str:
    """The valid sizes near ``size``, as a short list (LeNet near 32: 28..31) or the nearest."""
    if not valid:
        return f"no size near {size} is valid"
    shown = compact(valid)
    if shown.count(",") < 2:
        return f"the valid sizes near {size}: {shown}"
    return f"the valid sizes nearest {size}: {_nearest(size, valid)}"


def _and(names) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
