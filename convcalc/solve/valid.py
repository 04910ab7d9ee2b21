"""Which input sizes a network accepts, per spatial dimension, shown as ranges and
progressions.

The answer comes from the network's conditions (``solve.conditions``): one lowering with a
symbol per spatial size gives every check the sizes must pass (``H >= 29``, a ``Linear``
that fixes ``H·W``), and the range is then answered by integer checks, in milliseconds for
thousands of sizes. When every condition reads one dimension, the dimensions are
independent: any valid H goes with any valid W, and each is listed on its own. When a
condition couples them (LeNet's ``Linear(400, ...)`` fixes the product), one range for
every dimension gives the sizes with all dimensions equal, and per-dimension ranges give
the valid combinations. Conditions that cannot be decided exactly (an assumption stated in
words) fall back to a scan, one lowering per size; the fast answer is also checked against
direct lowerings at its edges, and a disagreement falls back to the scan too.

"Exact" sizes are those at which every strided layer divides its input exactly
(``in == out × stride``): no pixel is dropped or padded in, and a decoder that upsamples by
the same strides restores the size (the U-Net question). The smallest valid input is looked
for from size 1, below the scanned range too, and reported apart from the range's answer.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import random
from dataclasses import dataclass, field

from convcalc.engine.symbolic import is_symbolic
from convcalc.errors import ConvcalcError, SpecError
from convcalc.graph.lower import lower
from convcalc.solve.conditions import Undecidable, derive
from convcalc.solve.ranges import compact, parse_ranges

MAX_SCAN = 100_000  # lowerings in one scan
MAX_GRID = 1 << 18  # size combinations checked against the conditions (about 0.2 s)
SEARCH_LIMIT = 1 << 16  # how far the smallest valid size is looked for
CHECKS = 12  # direct lowerings that confirm a fast answer

__all__ = ["Dim", "Scan", "compact", "dim_names", "parse_ranges", "scan"]


def dim_names(n: int) -> tuple:
    return {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}.get(n) or tuple(f"S{i}" for i in range(1, n + 1))


@dataclass
class Dim:
    """One spatial dimension's answer, when the dimensions are independent."""

    name: str
    sizes: range
    valid: list
    exact: list
    smallest: int | None  # the smallest valid size, looked for from 1

    def as_json(self) -> dict:
        return {"dim": self.name, "range": [self.sizes.start, self.sizes.stop - 1],
                "valid": self.valid, "valid_compact": compact(self.valid),
                "exact": self.exact, "exact_compact": compact(self.exact), "smallest": self.smallest}


@dataclass
class Scan:
    shape: tuple  # batch and channels, then the spec's own spatial sizes
    ranges: tuple  # one range per spatial dimension
    names: tuple
    method: str  # "symbolic" (from the conditions) or "scan" (one lowering per size)
    mode: str  # "independent", "diagonal" (every dimension the same size) or "grid"
    note: str
    valid: list = field(default_factory=list)  # diagonal: sizes S; grid: size tuples
    exact: list = field(default_factory=list)
    dims: list = field(default_factory=list)  # independent: one Dim per dimension
    smallest: tuple | None = None  # the smallest valid spatial sizes, looked for from 1
    smallest_in_range: tuple | None = None
    smallest_square: int | None = None  # one range for all: the smallest S valid as SxS
    searched: int = 0  # the smallest was looked for up to this size
    conditions: list = field(default_factory=list)

    @property
    def square(self) -> bool:
        return len(set(self.ranges)) == 1

    @property
    def sizes(self) -> range:
        return self.ranges[0]

    def full(self, sizes) -> list | None:
        return None if sizes is None else [*self.shape[:2], *sizes]

    def as_json(self) -> dict:
        out = {
            "input_shape": list(self.shape), "spatial_dims": len(self.names), "dims": list(self.names),
            "ranges": [[r.start, r.stop - 1] for r in self.ranges],
            "method": self.method, "mode": self.mode, "note": self.note,
            "conditions": self.conditions,
        }
        if self.square and self.mode != "grid":  # sizes with every dimension equal
            out.update({"range": [self.sizes.start, self.sizes.stop - 1],
                        "valid": self.valid, "valid_compact": compact(self.valid),
                        "exact": self.exact, "exact_compact": compact(self.exact),
                        "smallest": self.smallest_square,
                        "smallest_in_range": self.valid[0] if self.valid else None})
        if self.mode == "independent":
            out["per_dim"] = [d.as_json() for d in self.dims]
        if self.mode == "grid":
            out.update({"valid": [list(t) for t in self.valid], "exact": [list(t) for t in self.exact]})
        out.update({"smallest_input": self.full(self.smallest),
                    "smallest_input_in_range": self.full(self.smallest_in_range),
                    "searched_up_to": self.searched})
        return out

    def lines(self, name: str) -> list:
        """The text answer, one line per list."""
        names, lead = self.names, list(self.shape[:2])
        if self.mode == "diagonal":
            r = self.sizes
            head = f"{name}: input {lead} + {'x'.join('S' * len(names))}, S from {r.start} to {r.stop - 1}"
        elif self.square:
            r = self.sizes
            each = f"{_and(names)} each" if len(names) > 1 else names[0]
            head = f"{name}: input {lead} + {'x'.join(names)}, {each} from {r.start} to {r.stop - 1}"
        else:
            head = f"{name}: input {lead} + {'x'.join(names)}, " + ", ".join(
                f"{n} from {r.start} to {r.stop - 1}" for n, r in zip(names, self.ranges))
        out = [head]
        if self.mode == "grid":
            out += [f"valid {'x'.join(names)}:", *_groups(self.valid, names),
                    f"exact {'x'.join(names)} (no layer drops pixels):", *_groups(self.exact, names)]
        elif self.mode == "diagonal" or _same(self.dims):
            valid, exact = (self.valid, self.exact) if self.mode == "diagonal" else (
                self.dims[0].valid, self.dims[0].exact)
            out += [f"valid:  {compact(valid)}", f"exact (no layer drops pixels):  {compact(exact)}"]
        else:
            out += [f"valid {d.name}:  {compact(d.valid)}" for d in self.dims]
            out += [f"exact {d.name} (no layer drops pixels):  {compact(d.exact)}" for d in self.dims]
        out.append(self._smallest_line())
        if self.note:
            out.append(self.note)
        return out

    def _smallest_line(self) -> str:
        best, inside = self.full(self.smallest), self.full(self.smallest_in_range)
        if best is None and inside is None:
            return f"no size from 1 to {self.searched:,} is valid"
        if inside is None:
            return f"no size in the range is valid; the smallest valid input is {best}"
        if best is None or best == inside:
            return f"smallest valid input: {inside}"
        below = all(s < r.start for s, r in zip(self.smallest, self.ranges))
        return f"smallest valid input: {best} ({'below' if below else 'outside'} the range; in it: {inside})"


def _equal(sizes) -> bool:
    return sizes is not None and len(set(sizes)) == 1


def _same(dims) -> bool:
    return all((d.sizes, d.valid, d.exact) == (dims[0].sizes, dims[0].valid, dims[0].exact) for d in dims)


def _and(names) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _groups(tuples, names, limit: int = 40) -> list:
    """Size tuples as lines ``  H 12..15 with W 108..111``: first sizes grouped by the rest."""
    if not tuples:
        return ["  none"]
    rest: dict = {}
    for t in tuples:
        rest.setdefault(t[0], []).append(t[1:])
    groups: dict = {}
    for first, others in rest.items():
        groups.setdefault(tuple(others), []).append(first)
    lines = []
    for others, firsts in groups.items():
        if len(others[0]) == 1:
            tail = compact([o[0] for o in others])
        else:
            tail = ", ".join("x".join(map(str, o)) for o in others[:8]) + (", ..." if len(others) > 8 else "")
        lines.append(f"  {names[0]} {compact(firsts)} with {'x'.join(names[1:])} {tail}")
    return lines[:limit] + ([f"  ... ({len(lines) - limit} more groups; --format json lists them)"]
                            if len(lines) > limit else [])


# The scan --------------------------------------------------------------------------------


def scan(spec, shape, ranges, method: str = "auto", progress=None) -> Scan:
    """The valid and exact sizes of ``spec`` over ``ranges`` (one range for every spatial
    dimension, or one per dimension); batch and channels come from ``shape``.

    ``method``: "auto" (the conditions, else a scan), "symbolic" (the conditions or
    ``Undecidable``) or "scan" (one lowering per size). ``progress(total)`` is a context
    manager giving an ``advance(n)`` callable, used by the scan only."""
    shape = tuple(shape or ())
    nd = len(shape) - 2
    if nd < 1:
        raise SpecError(f"input {list(shape)} has no spatial dimensions to vary (batch and channels come first)")
    if any(is_symbolic(s) for s in shape[:2]):
        raise SpecError(f"input {list(shape)}: batch and channels must be numbers to vary the spatial sizes")
    ranges = (ranges,) if isinstance(ranges, range) else tuple(ranges)
    if len(ranges) == 1:
        ranges *= nd
    if len(ranges) != nd:
        raise SpecError(f"{len(ranges)} size ranges for the {nd} spatial dimensions of {list(shape)}: "
                        "give one range, or one per dimension")
    names = dim_names(nd)
    why = "asked for"
    if method != "scan":
        try:
            conditions = derive(spec, shape[:2], names)
            result = _from_conditions(conditions, shape, ranges)
            _confirm(spec, shape, conditions, result)
            return result
        except Undecidable as e:
            if method == "symbolic":
                raise
            why = str(e)
    return _scan(spec, shape, ranges, names, why, progress or _silent)


def _from_conditions(conditions, shape, ranges) -> Scan:
    names, nd = conditions.names, len(ranges)
    texts = [c.text for c in conditions.valid]
    base = dict(shape=shape, ranges=ranges, names=names, method="symbolic", conditions=texts)
    coupling = conditions.coupling
    try:
        per = [conditions.per_dim(d) for d in range(nd)]
        per_exact = [conditions.per_dim(d, exact=True) for d in range(nd)]
        lists = [[s for s in r if f(s)] for r, f in zip(ranges, per)]
        exacts = [[s for s in v if f(s)] for v, f in zip(lists, per_exact)]
        full, full_exact = conditions.full(), conditions.full(exact=True)
        independent = coupling is None
        if not independent and math.prod(map(len, lists)) <= MAX_GRID:
            valid = [t for t in itertools.product(*lists) if full(*t)]
            exact = [t for t in valid if full_exact(*t)]
            lists, exacts = _projections(valid, nd), _projections(exact, nd)
            independent = _is_product(valid, lists) and _is_product(exact, exacts)
        diagonal, diagonal_exact = conditions.diagonal(), conditions.diagonal(exact=True)
        if independent:
            dims = []
            for d in range(nd):
                own = per[d] if coupling is None else None  # the coupled smallest is the diagonal's
                dims.append(Dim(names[d], ranges[d], lists[d], exacts[d],
                                _first(own, ranges[d], lists[d]) if own else None))
            smallest = tuple(d.smallest for d in dims) if coupling is None else None
            if coupling is not None:  # outside the ranges, the coupling may matter
                s = _first(diagonal, ranges[0], [s for s in ranges[0] if diagonal(s)])
                smallest = None if s is None else (s,) * nd
            inside = tuple(d.valid[0] for d in dims) if all(d.valid for d in dims) else None
            sets = [set(d.valid) for d in dims]
            exact_sets = [set(d.exact) for d in dims]
            square = [s for s in ranges[0] if all(s in v for v in sets)] if len(set(ranges)) == 1 else []
            least = _first(diagonal, ranges[0], square) if len(set(ranges)) == 1 else None
            each = f"each valid {names[0]} goes with each valid {names[-1]}"
            note = "" if nd == 1 else f"{_and(names)} are independent: {each}" if coupling is None else (
                f"{_and(names)} are coupled ({coupling.text}), but in these ranges {each}")
            return Scan(**base, mode="independent", note=note, dims=dims, valid=square,
                        exact=[s for s in square if all(s in e for e in exact_sets)],
                        smallest=smallest, smallest_in_range=inside, smallest_square=least,
                        searched=SEARCH_LIMIT)
        equal = " = ".join(names)
        if len(set(ranges)) == 1:
            valid = [s for s in ranges[0] if diagonal(s)]
            s = _first(diagonal, ranges[0], valid)
            return Scan(**base, mode="diagonal", valid=valid,
                        exact=[s for s in valid if diagonal_exact(s)],
                        note=f"{_and(names)} are coupled ({coupling.text}): sizes with {equal}",
                        smallest=None if s is None else (s,) * nd, smallest_square=s,
                        smallest_in_range=(valid[0],) * nd if valid else None, searched=SEARCH_LIMIT)
        if math.prod(map(len, ranges)) > MAX_GRID:
            raise SpecError(f"{_and(names)} are coupled ({coupling.text}): give one range for every "
                            f"dimension, or ranges of at most {MAX_GRID:,} combinations")
        valid = [t for t in itertools.product(*ranges) if full(*t)]
        inside = min(valid, key=lambda t: (math.prod(t), t)) if valid else None
        return Scan(**base, mode="grid", valid=valid, exact=[t for t in valid if full_exact(*t)],
                    note=f"{_and(names)} are coupled ({coupling.text})", smallest=inside,
                    smallest_in_range=inside, searched=max(r.stop - 1 for r in ranges))
    except (ArithmeticError, TypeError) as e:
        raise Undecidable(f"a condition cannot be evaluated ({e})") from None


def _projections(tuples, nd) -> list:
    return [sorted({t[d] for t in tuples}) for d in range(nd)]


def _is_product(tuples, lists) -> bool:
    return len(tuples) == math.prod(map(len, lists))


def _first(ok, sizes: range, valid: list):
    """The smallest size accepted by ``ok``: below ``sizes``, in it (``valid``), or above."""
    below = next((s for s in range(1, min(sizes.start, SEARCH_LIMIT + 1)) if ok(s)), None)
    if below is not None or valid:
        return below if below is not None else valid[0]
    return next((s for s in range(sizes.stop, SEARCH_LIMIT + 1) if ok(s)), None)


def _confirm(spec, shape, conditions, result: Scan) -> None:
    """Lower the network directly at the answer's edges (and a few sizes at random); any
    disagreement with the conditions means they are not the whole story: scan instead."""
    full, full_exact = conditions.full(), conditions.full(exact=True)
    candidates = []
    for d, r in enumerate(result.ranges):
        values = result.dims[d].valid if result.dims else (
            result.valid if result.mode == "diagonal" else sorted({t[d] for t in result.valid}))
        exact = result.dims[d].exact if result.dims else []
        picks = [r.start, r.stop - 1, *_edges(values, r)[:4], *exact[:1], *[e + 1 for e in exact[:1]]]
        if result.smallest:
            picks += [result.smallest[d], result.smallest[d] - 1]
        candidates.append(list(dict.fromkeys(p for p in picks if p >= 1)))
    rng = random.Random(len(candidates))
    points = {tuple(c[k % len(c)] for c in candidates) for k in range(max(map(len, candidates)))}
    points |= {tuple(rng.choice(r) for r in result.ranges) for _ in range(2)}
    if result.mode == "diagonal":
        points = {(p[0],) * len(p) for p in points}
    for point in sorted(points)[:CHECKS]:
        ok, exact = _concrete(spec, shape[:2], point)
        predicted = bool(full(*point))
        if (ok, exact) != (predicted, predicted and bool(full_exact(*point))):
            raise Undecidable(f"the conditions disagree with a direct evaluation at {'x'.join(map(str, point))}")


def _edges(values: list, sizes: range) -> list:
    """Where membership changes inside ``sizes``: each run's first and last, and their neighbours."""
    out = []
    for i, v in enumerate(values):
        if i == 0 or values[i - 1] != v - 1:
            out += [v, v - 1]
        if i == len(values) - 1 or values[i + 1] != v + 1:
            out += [v, v + 1]
    return [v for v in out if v in sizes]


def _concrete(spec, lead, sizes) -> tuple:
    """(valid, exact) from one lowering."""
    try:
        graph = lower(spec, (*lead, *sizes))
    except ConvcalcError:
        return False, False
    return True, not any(op.step.drops for op in graph.ops)


@contextlib.contextmanager
def _silent(total):
    yield lambda n=1: None


def _scan(spec, shape, ranges, names, why, progress) -> Scan:
    nd, lead = len(ranges), shape[:2]
    base = dict(shape=shape, ranges=ranges, names=names, method="scan")
    if len(set(ranges)) == 1:
        sizes = ranges[0]
        if len(sizes) + sizes.start - 1 > MAX_SCAN:
            raise SpecError(f"{why}: a scan covers at most {MAX_SCAN:,} sizes (from 1), "
                            f"got {len(sizes) + sizes.start - 1:,}")
        valid, exact, below = [], [], None
        with progress(len(sizes) + sizes.start - 1) as advance:
            for s in range(1, sizes.start):
                advance(1)
                if _concrete(spec, lead, (s,) * nd)[0]:
                    below = s
                    advance(sizes.start - 1 - s)
                    break
            for s in sizes:
                ok, fine = _concrete(spec, lead, (s,) * nd)
                advance(1)
                if ok:
                    valid.append(s)
                    if fine:
                        exact.append(s)
        first = below if below is not None else valid[0] if valid else None
        return Scan(**base, mode="diagonal", valid=valid, exact=exact,
                    note=f"sizes with {' = '.join(names)}, scanned one by one: {why}",
                    smallest=None if first is None else (first,) * nd, smallest_square=first,
                    smallest_in_range=(valid[0],) * nd if valid else None, searched=sizes.stop - 1)
    total = math.prod(map(len, ranges))
    if total > MAX_SCAN:
        raise SpecError(f"{why}: a scan covers at most {MAX_SCAN:,} size combinations, got {total:,}")
    valid, exact = [], []
    with progress(total) as advance:
        for t in itertools.product(*ranges):
            ok, fine = _concrete(spec, lead, t)
            advance(1)
            if ok:
                valid.append(t)
                if fine:
                    exact.append(t)
    inside = min(valid, key=lambda t: (math.prod(t), t)) if valid else None
    return Scan(**base, mode="grid", valid=valid, exact=exact, note=f"scanned one by one: {why}",
                smallest=inside, smallest_in_range=inside, searched=max(r.stop - 1 for r in ranges))
