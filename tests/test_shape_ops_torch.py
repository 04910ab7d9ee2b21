"""The tensor shape operations (convcalc/ops/shape.py, convcalc/ops/indexing.py) against
real torch: hypothesis draws every parameter of every operation, valid and invalid, and
each case runs through a spec and through torch on zeros: the same output shapes, or both
refuse. Then check (torch run op by op) and exported code, and symbolic sizes."""

import json
import re
import warnings

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import requires_torch
from convcalc.backend import build, export
from convcalc.engine import symbolic
from convcalc.errors import ConvcalcError
from helpers import report_of

pytestmark = requires_torch
torch = pytest.importorskip("torch")

CASES = settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
FEW = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
MANY = settings(max_examples=1200, deadline=None, suppress_health_check=list(HealthCheck))
NAMES = "xy"


def spec_text(call: str, shapes) -> str:
    """``out = call`` over inputs x (and y); a 0-d input is x[0] of a [1] input (a spec's
    inputs have a rank)."""
    inputs = "\n".join(f"  {NAMES[i]}: {list(s) or [1]}" for i, s in enumerate(shapes))
    zero = "".join(f"  - \"{NAMES[i]} = {NAMES[i]}[0]\"\n" for i, s in enumerate(shapes) if not s)
    return f"inputs:\n{inputs}\nlayers:\n{zero}  - {json.dumps('out = ' + call)}\n"


def torch_shapes(call: str, shapes):
    env = {NAMES[i]: torch.zeros(s) for i, s in enumerate(shapes)}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = eval(call, {"torch": torch, **env})  # noqa: S307 - the test's own expressions
    except (RuntimeError, ValueError, IndexError, TypeError) as e:
        return e
    return [tuple(o.shape) for o in (out if isinstance(out, (tuple, list)) else [out])]


def engine_shapes(call: str, shapes):
    report = report_of(spec_text(call, shapes))
    return [report.graph.shapes[v] for v in report.graph.ops[-1].outputs]


def agree(call: str, shapes, torch_call: str | None = None):
    """convcalc and torch give the same shapes, or both refuse."""
    want = torch_shapes(torch_call or call, shapes)
    if not isinstance(want, Exception) and any(s < 0 for o in want for s in o):
        # torch's bug: expand with a 0 size skips its checks and makes negative sizes
        # (torch.zeros(()).expand(0, -1) has shape (0, -1)); convcalc refuses
        want = RuntimeError(f"torch made negative sizes {want}")
    try:
        got = engine_shapes(call, shapes)
    except ConvcalcError as e:
        if want == []:  # torch gives an empty tuple; convcalc needs an output
            assert "no tensors" in str(e), e
            return "refused"
        assert isinstance(want, Exception), f"{call} on {shapes}: convcalc refused what torch runs ({want}): {e}"
        return "refused"
    assert not isinstance(want, Exception), f"{call} on {shapes}: torch refused ({want}), convcalc gave {got}"
    assert got == want, f"{call} on {shapes}"
    return "ran"


# strategies --------------------------------------------------------------------------

sizes = st.integers(0, 5)
shapes = st.lists(sizes, max_size=4).map(tuple)
ones = st.lists(st.sampled_from([0, 1, 1, 2, 3]), max_size=4).map(tuple)  # squeeze, expand
dims = st.integers(-5, 5)


def text(values) -> str:
    return ", ".join(map(repr, values))


def forms(template: str, values) -> str:
    """``{a}``: bare arguments (``()`` when there are none), ``{t}`` a tuple, ``{l}`` a list."""
    return template.format(a=text(values) or "()", t=repr(tuple(values)), l=repr(list(values)))


@st.composite
def new_shape(draw, shape):
    """Sizes for a reshape of ``shape``: often a valid regrouping (with a -1), sometimes not."""
    numel = 1
    for s in shape:
        numel *= s
    if draw(st.booleans()):
        factors = [f for s in shape for f in _factors(s)]
        factors = draw(st.permutations(factors)) if factors else []
        groups = []
        for f in factors:
            if groups and draw(st.booleans()):
                groups[-1] *= f
            else:
                groups.append(f)
        if draw(st.booleans()):
            groups.insert(draw(st.integers(0, len(groups))), 1)
        if groups and draw(st.booleans()):
            groups[draw(st.integers(0, len(groups) - 1))] = -1
        return groups
    return draw(st.lists(st.integers(-2, 6), max_size=4))


def _factors(n: int) -> list:
    out, p = [], 2
    while n > 1 and p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out if n != 0 else [0]


# shape.py ----------------------------------------------------------------------------


@CASES
@given(st.data(), shapes)
def test_reshape_view(data, shape):
    target = data.draw(new_shape(shape))
    form = data.draw(st.sampled_from(["x.reshape({a})", "x.reshape({t})", "torch.reshape(x, {l})",
                                      "x.view({a})", "x.view({t})", "x.reshape(shape={t})"]))
    agree(forms(form, target), [shape])


@CASES
@given(shapes, shapes, st.sampled_from(["reshape_as", "view_as"]))
def test_reshape_as(shape, other, op):
    agree(f"x.{op}(y)", [shape, other])


@CASES
@given(shapes, st.one_of(st.none(), dims), st.one_of(st.none(), dims), st.booleans())
def test_flatten(shape, start, end, method):
    args = [] if start is None else [str(start)]
    if end is not None:
        args.append(f"end_dim={end}")
    agree(f"x.flatten({', '.join(args)})" if method else f"torch.flatten(x{''.join(', ' + a for a in args)})", [shape])


@CASES
@given(st.data(), shapes.filter(bool), dims)
def test_unflatten(data, shape, dim):
    size = shape[dim] if -len(shape) <= dim < len(shape) else 6
    sizes = data.draw(st.one_of(new_shape((size,)), st.lists(st.integers(-2, 6), max_size=3)))
    agree(f"x.unflatten({dim}, {tuple(sizes)!r})" if data.draw(st.booleans())
          else f"torch.unflatten(x, {dim}, {sizes!r})", [shape])


@CASES
@given(st.data(), shapes)
def test_permute(data, shape):
    rank = len(shape)
    order = data.draw(st.one_of(
        st.permutations(range(rank)).map(lambda p: [d - rank if d % 2 else d for d in p]),
        st.lists(st.integers(-5, 5), max_size=5)))
    form = data.draw(st.sampled_from(["x.permute({a})", "x.permute({t})", "torch.permute(x, {l})",
                                      "x.permute(dims={l})"]))
    agree(forms(form, order), [shape])


@CASES
@given(shapes, dims, dims, st.sampled_from(["transpose", "swapaxes", "swapdims"]), st.booleans())
def test_transpose(shape, a, b, op, method):
    agree(f"x.{op}({a}, {b})" if method else f"torch.{op}(x, {a}, {b})", [shape])


@FEW
@given(shapes, st.booleans())
def test_t(shape, method):
    agree("x.t()" if method else "torch.t(x)", [shape])


@CASES
@given(shapes, st.one_of(dims, st.lists(dims, max_size=3)), st.one_of(dims, st.lists(dims, max_size=3)),
       st.sampled_from(["movedim", "moveaxis"]))
def test_movedim(shape, source, destination, op):
    agree(f"x.{op}({source!r}, {destination!r})", [shape])


@CASES
@given(ones, st.one_of(st.none(), dims, st.lists(dims, max_size=3), st.lists(dims, max_size=3).map(tuple)),
       st.booleans())
def test_squeeze(shape, dim, method):
    if dim is None:
        agree("x.squeeze()" if method else "torch.squeeze(x)", [shape])
    else:
        agree(f"x.squeeze({dim!r})" if method else f"torch.squeeze(x, dim={dim!r})", [shape])


@CASES
@given(shapes, st.integers(-6, 6), st.booleans())
def test_unsqueeze(shape, dim, method):
    agree(f"x.unsqueeze({dim})" if method else f"torch.unsqueeze(x, {dim})", [shape])


@CASES
@given(st.data(), ones)
def test_expand(data, shape):
    lead = data.draw(st.lists(st.integers(-2, 4), max_size=2))
    kept = [data.draw(st.sampled_from([s, -1, 0, 1, 3, -2])) for s in shape]
    if data.draw(st.booleans()) and kept:
        kept.pop(0)
    target = lead + kept
    form = data.draw(st.sampled_from(["x.expand({a})", "x.expand({t})", "x.expand(size={l})"]))
    agree(forms(form, target), [shape])


@FEW
@given(ones, ones)
def test_expand_as(shape, other):
    agree("x.expand_as(y)", [shape, other])


@FEW
@given(shapes)
def test_contiguous(shape):
    agree("x.contiguous()", [shape])


@CASES
@given(shapes, st.one_of(st.integers(-3, 3), st.lists(st.integers(-3, 3), max_size=3)),
       st.one_of(st.none(), dims, st.lists(dims, max_size=3)), st.booleans())
def test_roll(shape, shifts, dims_, method):
    agree(f"x.roll({shifts!r}, {dims_!r})" if method else f"torch.roll(x, shifts={shifts!r}, dims={dims_!r})", [shape])


# indexing.py -------------------------------------------------------------------------


@CASES
@given(shapes, dims, st.integers(-6, 6), st.integers(-1, 6), st.booleans())
def test_narrow(shape, dim, start, length, method):
    agree(f"x.narrow({dim}, {start}, {length})" if method else f"torch.narrow(x, {dim}, {start}, {length})", [shape])


def _slice(start, stop, step) -> str:
    out = ("" if start is None else str(start)) + ":" + ("" if stop is None else str(stop))
    return out + ("" if step is None else f":{step}")


part = st.one_of(
    st.integers(-3, 3).map(str),
    st.builds(_slice, st.one_of(st.none(), st.integers(-6, 6)), st.one_of(st.none(), st.integers(-6, 6)),
              st.one_of(st.none(), st.integers(-1, 3))),
    st.just("None"), st.just("..."), st.sampled_from(["True", "False"]),
    st.lists(st.integers(-3, 3), max_size=3).map(repr),
    st.lists(st.lists(st.integers(-2, 2), min_size=2, max_size=2), min_size=1, max_size=2).map(repr),
    st.lists(st.booleans(), min_size=1, max_size=4).map(repr),
)
index_shapes = st.lists(st.sampled_from([0, 1, 2, 3, 3, 4, 4, 5]), max_size=4).map(tuple)


@MANY
@given(index_shapes, st.lists(part, max_size=4), st.sampled_from(["tuple", "bare", "list"]))
def test_getitem(shape, parts, form):
    if sum(p == "..." for p in parts) > 1:  # convcalc refuses several ellipses (torch misreads them)
        parts = [p for p in parts if p != "..."] + ["..."]
    if form == "bare" and len(parts) == 1:
        index = parts[0]
    elif form == "list" and all(p.lstrip("-").isdigit() for p in parts):
        index = f"[{', '.join(parts)}]"  # a top-level list of ints: one index tensor
    else:
        index = ", ".join(parts) + ("," if len(parts) == 1 else "") if parts else "()"
    agree(f"x[{index}]", [shape])


@CASES
@given(shapes, dims, st.lists(st.integers(-5, 5), max_size=4), st.booleans())
def test_index_select(shape, dim, index, method):
    call = f"x.index_select({dim}, {index!r})" if method else f"torch.index_select(x, {dim}, {index!r})"
    agree(call, [shape], _torch_index(call))


@CASES
@given(shapes, st.integers(-1, 7), st.one_of(st.none(), dims), st.booleans())
def test_chunk(shape, chunks, dim, method):
    rest = "" if dim is None else f", dim={dim}"
    agree(f"x.chunk({chunks}{rest})" if method else f"torch.chunk(x, {chunks}{rest})", [shape])


@CASES
@given(st.data(), shapes, st.one_of(st.none(), dims))
def test_split(data, shape, dim):
    size = shape[dim or 0] if shape and -len(shape) <= (dim or 0) < len(shape) else 3
    how = data.draw(st.one_of(st.integers(-1, 6), st.lists(st.integers(-1, 4), max_size=4),
                              st.lists(st.integers(0, size), max_size=3).map(lambda p: p + [size - sum(p)])))
    rest = "" if dim is None else f", dim={dim}"
    agree(f"x.split({how!r}{rest})" if data.draw(st.booleans()) else f"torch.split(x, {how!r}{rest})", [shape])


@CASES
@given(shapes, st.one_of(st.integers(-1, 6), st.lists(st.integers(-6, 6), max_size=3)),
       st.one_of(st.none(), dims), st.booleans())
def test_tensor_split(shape, how, dim, method):
    rest = "" if dim is None else f", dim={dim}"
    agree(f"x.tensor_split({how!r}{rest})" if method else f"torch.tensor_split(x, {how!r}{rest})", [shape])


@CASES
@given(shapes, st.one_of(st.none(), dims), st.booleans())
def test_unbind(shape, dim, method):
    rest = "" if dim is None else f"{dim}"
    agree(f"x.unbind({rest})" if method else f"torch.unbind(x{', ' + rest if rest else ''})", [shape])


EDGES = [  # torch's behaviours found by running it, beyond its docs
    ("x.view(2, 3, True, 4)", (2, 3, 4)),      # view and expand take a bool as 1; reshape refuses it
    ("x.expand(2, True, 4)", (2, 3, 4)), ("x.reshape(True, 24)", (2, 3, 4)),
    ("x[True:2]", (2, 3)),                     # a slice takes bools
    ("x[True, [True, False]]", (2, 3)),         # a bool is a new axis indexed by [0] or []
    ("x[[0, 1], False]", (2, 3)), ("x[[0], False]", (2, 3)), ("x[False, 0]", (2, 3, 4)),
    ("x[[0, None]]", (2, 3, 4)),               # a short list with None, a list or a slice is a tuple
    ("x[[[0, 1], [1, 0]]]", (2, 3, 4)), ("x[[[0, 1], [1, 0]], ]", (2, 3, 4)), ("x[:, (0, 2)]", (2, 3)),
    ("x[[0, 1], None, [1, 0]]", (2, 3, 4)),     # lists apart: their result goes first
    ("x[[5], []]", (2, 3, 4)),                 # an empty result reads no index: 5 is not checked
    ("x[:, [7]]", (0, 3)), ("x[[0]]", (0, 3)),  # ... but a non-empty index into a size-0 dim is refused
    ("x[:, [True, False, True]]", (2, 3)), ("x[[True, False, True]]", (2, 3)),
    ("x.index_select(0, [])", (0, 3)), ("x.index_select(0, [0])", (0, 3)),
    ("x.roll(1, 5)", (0, 3)),                  # an empty tensor's dims are not read
    ("x.roll((1, 1), (0, 0))", (2, 3)), ("x.roll((), ())", (2, 3)), ("x.roll(1, ())", (2, 3)),
    ("x.chunk(3)", (0, 2)), ("x.split(0)", (0, 2)), ("x.split([0, 0])", (0, 2)), ("x.split(5)", (0, 2)),
    ("x.tensor_split([10, -10], 1)", (2, 3)), ("x.tensor_split([-1], 1)", (2, 3)),
    ("x.squeeze(0)", ()), ("x.squeeze((0, -1))", ()), ("x.unsqueeze(-1)", ()), ("x.flatten()", ()),
    ("x.transpose(0, -1)", ()), ("x.movedim(0, -1)", ()), ("x.unflatten(0, (1,))", ()),
    ("x.index_select(0, [0])", ()), ("x.index_select(-1, [0, 0])", ()), ("x.roll(1)", ()),
    ("x.roll(1, 0)", ()), ("x.unbind(0)", ()), ("x.narrow(0, 0, 1)", ()), ("x[None]", ()),
    ("x[...]", ()), ("x[True]", ()), ("x[()]", ()), ("x[0]", ()), ("x[[0]]", ()),
    ("x.reshape(-1, 1)", ()), ("x.expand(3, 2)", ()), ("x.permute(())", ()), ("x.t()", ()),
]


@pytest.mark.parametrize("call, shape", EDGES, ids=[f"{c}-{s}" for c, s in EDGES])
def test_torch_edges(call, shape):
    agree(call, [shape], _torch_index(call))


def _torch_index(call: str) -> str:
    """index_select's list as torch's index tensor."""
    return re.sub(r"(index_select\(.*, )(\[.*\])\)", r"\1torch.tensor(\2, dtype=torch.long))", call)


# messages, several outputs, check, export -------------------------------------------


def test_messages_follow_the_template():
    with pytest.raises(ConvcalcError, match=r"reshape: shape \[2, -1, 5\] is invalid for input of size 24 "
                                            r"\(shape \[2, 3, 4\]\)"):
        report_of(spec_text("x.reshape(2, -1, 5)", [(2, 3, 4)]))
    with pytest.raises(ConvcalcError, match="slice step must be greater than zero"):
        report_of(spec_text("x[::-1]", [(2, 3)]))
    with pytest.raises(ConvcalcError, match="index 3 is out of bounds for dimension 1 with size 3"):
        report_of(spec_text("x[:, 3]", [(2, 3)]))


def test_chunk_gives_fewer_chunks_than_asked():
    assert engine_shapes("x.chunk(4)", [(6,)]) == [(2,), (2,), (2,)] == torch_shapes("x.chunk(4)", [(6,)])
    assert engine_shapes("x.chunk(4)", [(10,)]) == [(3,), (3,), (3,), (1,)]


def test_several_outputs_are_named_values():
    report = report_of("inputs:\n  x: [2, 6, 5]\nlayers:\n  - \"a, b, c = x.chunk(3, dim=1)\"\n"
                       "  - \"d = a.transpose(1, 2)\"\noutputs: [d, b, c]\n")
    assert [report.graph.shapes[v] for v in report.graph.outputs] == [(2, 5, 2), (2, 2, 5), (2, 2, 5)]


VALID = [
    ("x.reshape(2, -1)", (2, 3, 4)), ("x.view(-1, 4)", (2, 3, 4)), ("x.view(())", (1,)),
    ("x.reshape_as(y)", (2, 6), (3, 4)), ("x.view_as(y)", (2, 6), (12,)),
    ("torch.flatten(x, 1)", (2, 3, 4)), ("x.unflatten(1, (2, -1))", (2, 6)),
    ("x.permute(2, 0, 1)", (2, 3, 4)), ("x.transpose(0, -1)", (2, 3, 4)), ("x.swapaxes(0, 1)", (2, 3)),
    ("x.swapdims(1, 0)", (2, 3)), ("x.t()", (2, 3)), ("x.movedim((0, 1), (2, 0))", (2, 3, 4)),
    ("x.moveaxis(0, -1)", (2, 3, 4)), ("x.squeeze()", (1, 3, 1)), ("x.squeeze((0, 2))", (1, 3, 1)),
    ("x.unsqueeze(-1)", (2, 3)), ("x.expand(4, -1, 3)", (2, 1)), ("x.expand_as(y)", (3, 1), (2, 3, 4)),
    ("x.contiguous()", (2, 3)), ("x.roll(1)", (2, 3)), ("torch.roll(x, (1, 2), (0, 1))", (2, 3)),
    ("x.narrow(1, -2, 2)", (2, 3)), ("x[:, [0, 2], None, 1:]", (2, 3, 4)), ("x[()]", (2, 3)),
    ("x[..., 0]", (2, 3)), ("x[[0, 1], :, [1, 0]]", (2, 3, 4)), ("x.index_select(1, [0, 2, 2])", (2, 3, 4)),
    ("x.index_select(1, [])", (2, 3)), ("x.chunk(4, 1)", (2, 6)), ("x.split(2, 1)", (2, 5)),
    ("x.split([1, 4], 1)", (2, 5)), ("x.tensor_split(3, 1)", (2, 5)), ("x.tensor_split([1, -1], 1)", (2, 5)),
    ("x.unbind(1)", (2, 3)),
]


@pytest.mark.parametrize("call, shapes", [(c, s) for c, *s in VALID], ids=[c for c, *_ in VALID])
def test_check_runs_each_op_in_torch(call, shapes):
    report = report_of(spec_text(call, shapes))
    checks = build.compare(report)
    assert checks and all(c.ok for c in checks), [(c.path, c.engine_shape, c.torch_shape, c.torch_error)
                                                  for c in checks if not c.ok]


@pytest.mark.parametrize("call, shapes", [(c, s) for c, *s in VALID], ids=[c for c, *_ in VALID])
def test_exported_code_runs(call, shapes):
    report = report_of(spec_text(call, shapes))
    namespace = {}
    exec(export.to_torch(report, "x"), namespace)  # noqa: S102 - the exporter's own output
    out = namespace["build_model"]()(*(torch.zeros(s) for s in shapes))
    first = out[0] if isinstance(out, (tuple, list)) else out
    assert tuple(first.shape) == report.graph.shapes[report.graph.ops[-1].outputs[0]]


# symbolic sizes ----------------------------------------------------------------------

H = symbolic.symbol("H")
SYMBOLIC = ["x.reshape(2, -1)", "x.view(x.size(0), 3, -1)", "x.flatten(1)", "x.permute(0, 2, 1)",
            "x.expand(4, -1, -1)", "x.narrow(2, 1, 3)", "x[:, :, 1:-1:2]", "x[:, :, -3]", "x[:, :, [0, 2]]",
            "x.chunk(3, dim=2)", "x.tensor_split(3, dim=2)", "x.tensor_split([2, -1], 2)",
            "x.split([2, 3], 2)", "x.index_select(2, [0, 4])", "x.unflatten(2, (2, -1))", "x.roll(1, 2)"]


def _conditions(found):
    out = []
    for text_, _ in found:
        try:
            out.append(sympy.sympify(text_, locals={"H": H}))
        except (sympy.SympifyError, SyntaxError, TypeError):
            continue
    return [c for c in out if isinstance(c, sympy.logic.boolalg.Boolean)]


@pytest.mark.parametrize("call", SYMBOLIC)
def test_symbolic_sizes_agree_with_numbers(call):
    """[1, 3, H]: where the stated assumptions hold the shapes are the numeric ones at every H
    tried; where they fail the numeric engine refuses (or gives another chunk count)."""
    text_ = spec_text(call, [(1, 3, 5)])
    try:
        report = report_of(text_, input_shape=(1, 3, H))
    except ConvcalcError:
        for h in range(1, 13):
            with pytest.raises(ConvcalcError):
                report_of(text_, input_shape=(1, 3, h))
        return
    outs = [report.graph.shapes[v] for v in report.graph.ops[-1].outputs]
    conditions = _conditions(report.assumptions)
    for h in range(1, 13):
        holds = all(bool(c.subs(H, h)) for c in conditions)
        try:
            numeric = report_of(text_, input_shape=(1, 3, h))
        except ConvcalcError:
            assert not holds, (h, report.assumptions)
            continue
        if not holds:
            continue
        want = [numeric.graph.shapes[v] for v in numeric.graph.ops[-1].outputs]
        assert [tuple(int(sympy.sympify(s).subs(H, h)) for s in o) for o in outs] == want, h
