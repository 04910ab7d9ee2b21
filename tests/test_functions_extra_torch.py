"""Reductions, softmax, activations, layer_norm and linear algebra (ops/reduce.py,
nonlinear.py, linalg.py) against real torch: over every parameter, valid and invalid
values, convcalc gives torch's output shapes or both refuse; the MACs of matmul, bmm, mm,
addmm, baddbmm, linear and einsum equal an independent count. A few specs also go through
the torch backend (compare) and exported code."""

import json
import math
import warnings

import pytest
from hypothesis import assume, given, settings, strategies as st

from conftest import requires_torch
from convcalc.errors import ConvcalcError
from helpers import checked_and_exported, report_of

pytestmark = requires_torch
torch = pytest.importorskip("torch")
F = torch.nn.functional

NAMES = "xyzwv"
REFUSALS = (RuntimeError, ValueError, IndexError, TypeError, NotImplementedError, OverflowError,
            ZeroDivisionError)


def spec_of(call: str, shapes) -> str:
    inputs = "\n".join(f"  {NAMES[i]}: {list(s)}" for i, s in enumerate(shapes))
    return f"inputs:\n{inputs}\nlayers:\n  - {json.dumps(call)}\n"


def torch_outputs(call: str, shapes, extra=None):
    env = {NAMES[i]: torch.zeros(s) for i, s in enumerate(shapes)}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = eval(call, {"torch": torch, "F": F, **env, **(extra or {})})  # noqa: S307 - our own calls
    except REFUSALS as e:
        return e
    return [tuple(o.shape) for o in (out if isinstance(out, (tuple, list)) else [out])]


def agree(call: str, shapes, extra=None):
    """convcalc and torch agree on ``call``: the step of its (last) operation, or None when
    both refuse."""
    want = torch_outputs(call, shapes, extra)
    try:
        report = report_of(spec_of(call, shapes))
    except ConvcalcError as e:
        assert isinstance(want, Exception), f"{call} on {shapes}: convcalc refused what torch runs ({want}): {e}"
        return None
    assert not isinstance(want, Exception), f"{call} on {shapes}: torch refused ({want!r}), convcalc did not"
    op = report.graph.ops[-1]
    got = [report.graph.shapes[v] for v in op.outputs]
    assert got == want, f"{call} on {shapes}: convcalc {got}, torch {want}"
    return op.step


small = st.integers(0, 4)
shapes = st.lists(small, min_size=1, max_size=4).map(tuple)
OMIT = object()


def _args(*pairs) -> str:
    """Call arguments: (None, value) positional, (name, value) keyword; OMIT left out."""
    return ", ".join(repr(v) if k is None else f"{k}={v!r}" for k, v in pairs if v is not OMIT)


# Reductions --------------------------------------------------------------------------

dims = st.one_of(st.just(OMIT), st.none(), st.integers(-5, 4), st.just([]),
                 st.lists(st.integers(-5, 4), max_size=4).map(tuple), st.sampled_from([1.0, True, "a", (1, True)]))


@settings(max_examples=400, deadline=None)
@given(op=st.sampled_from(["mean", "sum", "amax", "amin"]), shape=shapes, dim=dims,
       keepdim=st.sampled_from([OMIT, False, True, 1]), form=st.sampled_from(["method", "torch", "keyword"]),
       scalar=st.booleans())
def test_reductions(op, shape, dim, keepdim, form, scalar):
    x = "x.sum()" if scalar else "x"
    if form == "keyword":
        call = f"{x}.{op}({_args(('dim', dim), ('keepdim', keepdim))})"
    elif form == "method":
        call = f"{x}.{op}({_args((None, dim), ('keepdim', keepdim))})"
    else:
        assume(dim is not OMIT or keepdim is OMIT)
        call = f"torch.{op}({x}, {_args((None, dim), (None, keepdim))})".replace(", )", ")")
    agree(call, [shape])


@settings(max_examples=300, deadline=None)
@given(op=st.sampled_from(["max", "min"]), shape=shapes,
       dim=st.one_of(st.just(OMIT), st.integers(-4, 3), st.integers(-4, 3), st.sampled_from([None, (1,), True, 1.0])),
       keepdim=st.sampled_from([OMIT, OMIT, False, True, True, 1]), form=st.sampled_from(["method", "torch"]),
       scalar=st.integers(0, 4).map(lambda n: n == 0))
def test_max_min(op, shape, dim, keepdim, form, scalar):
    x = "x.sum()" if scalar else "x"
    args = _args(("dim", dim), ("keepdim", keepdim))
    call = f"{x}.{op}({args})" if form == "method" else f"torch.{op}({x}{', ' if args else ''}{args})"
    agree(call, [shape])


@settings(max_examples=250, deadline=None)
@given(op=st.sampled_from(["softmax", "log_softmax"]), shape=shapes,
       dim=st.one_of(st.integers(-5, 4), st.sampled_from([None, (1,), 1.0])),
       form=st.sampled_from(["F", "torch", "method", "stacklevel"]), scalar=st.booleans())
def test_softmax(op, shape, dim, form, scalar):
    x = "x.sum()" if scalar else "x"
    if dim is None:
        form = "F"  # torch.softmax and Tensor.softmax require dim; F picks one (deprecated)
    call = {"F": f"F.{op}({x}, dim={dim!r})", "torch": f"torch.{op}({x}, {dim!r})",
            "method": f"{x}.{op}({dim!r})", "stacklevel": f"F.{op}({x}, {dim!r}, 5)"}[form]
    agree(call, [shape])


# Activations, dropout, layer_norm ----------------------------------------------------

# True for a number and 1 or "a" for inplace (torch: 1 and truthiness) are refused on purpose:
# tests/test_function_types_torch.py
VALUES = [0.1, -1, 2, "a", None]
ACTIVATIONS = st.one_of(
    st.sampled_from(["F.relu({})", "{}.relu()", "torch.relu({})", "torch.sigmoid({})", "{}.sigmoid()",
                     "torch.tanh({})", "{}.tanh()", "F.silu({})", "F.hardswish({})", "F.hardsigmoid({})",
                     "F.mish({})", "F.relu6({})", "F.gelu({})"]),
    st.builds("F.relu({{}}, inplace={!r})".format, st.sampled_from([True, False])),
    st.builds("F.gelu({{}}, approximate={!r})".format, st.sampled_from(["none", "tanh", "sigmoid", None, "TANH"])),
    st.builds("F.leaky_relu({{}}, {!r})".format, st.sampled_from(VALUES)),
    st.builds("F.elu({{}}, alpha={!r}, inplace={!r})".format, st.sampled_from(VALUES), st.booleans()),
    st.builds("F.dropout({{}}, p={!r}, training={!r})".format,
              st.sampled_from([0, 0.5, 1, 1.5, -0.1, None, "a"]), st.sampled_from([True, False, 1, None])),
)


@settings(max_examples=300, deadline=None)
@given(template=ACTIVATIONS, shape=shapes, scalar=st.booleans())
def test_activations(template, shape, scalar):
    step = agree(template.format("x.sum()" if scalar else "x"), [shape])
    assert step is None or step.rf == ()


@st.composite
def layer_norm_cases(draw):
    shape = draw(shapes)
    k = draw(st.integers(1, len(shape))) if draw(st.integers(0, 4)) else draw(st.sampled_from([0, len(shape) + 1]))
    normalized = list(shape[len(shape) - k:]) if k <= len(shape) else [1, *shape]
    if draw(st.integers(0, 3)) == 0 and normalized:
        normalized[draw(st.integers(0, len(normalized) - 1))] += draw(st.sampled_from([1, -1, -5]))
    given_ns = draw(st.sampled_from(["list", "tuple"] * 4 + ["int", "float"]))
    ns = {"list": normalized, "tuple": tuple(normalized), "int": normalized[0] if normalized else 3,
          "float": [float(n) for n in normalized] or [1.0]}[given_ns]
    inputs, args = [shape], []
    for _ in ("weight", "bias"):
        kind = draw(st.sampled_from(["none", "same"] * 3 + ["other"]))
        if kind == "none":
            args.append("None")
            continue
        w = list(normalized) if kind == "same" else draw(st.lists(small, min_size=1, max_size=3))
        if not w or min(w) < 0:
            w = [2]
        args.append(NAMES[len(inputs)])
        inputs.append(tuple(w))
    eps = draw(st.sampled_from([1e-5, 1e-5, 0, "a"]))
    return f"F.layer_norm(x, {ns!r}, {args[0]}, {args[1]}, eps={eps!r})", inputs


@settings(max_examples=300, deadline=None)
@given(case=layer_norm_cases())
def test_layer_norm(case):
    agree(*case)


# Linear algebra ----------------------------------------------------------------------

positive = st.integers(1, 4)


@st.composite
def matmul_operands(draw, max_rank=4):
    """Two shapes that multiply (contracted sizes equal, batch dims broadcastable) more
    often than not, and otherwise fail in one place."""
    ra, rb = draw(st.integers(1, max_rank)), draw(st.integers(1, max_rank))
    k = draw(positive)
    batch = draw(st.lists(positive, max_size=2))
    a = [*[draw(st.sampled_from([s, 1])) for s in batch][len(batch) - max(ra - 2, 0):], draw(positive), k][-ra:] \
        if ra > 1 else [k]
    b = [*[draw(st.sampled_from([s, 1])) for s in batch][len(batch) - max(rb - 2, 0):], k, draw(positive)][-rb:] \
        if rb > 1 else [k]
    a = [*[draw(positive) for _ in range(ra - len(a))], *a]
    b = [*[draw(positive) for _ in range(rb - len(b))], *b]
    if draw(st.integers(0, 4)) == 0:
        side, i = draw(st.sampled_from([a, b])), draw(st.integers(0, 3))
        side[i % len(side)] += 1
    return tuple(a), tuple(b)


@settings(max_examples=400, deadline=None)
@given(ops=matmul_operands(), form=st.sampled_from(["torch.matmul(x, y)", "x @ y", "x.matmul(y)"]))
def test_matmul(ops, form):
    step = agree(form, list(ops))
    if step is not None:  # one MAC per product term: the output's elements times the contraction
        assert step.macs == math.prod(step.out) * ops[0][-1]


@st.composite
def matrix_operands(draw, rank):
    """Two operands of ``rank`` dims (now and then another rank) that multiply, or nearly."""
    ranks = [rank if draw(st.integers(0, 5)) else draw(st.integers(1, 4)) for _ in range(2)]
    n, k, p, batch = (draw(positive) for _ in range(4))
    a = [batch, n, k][3 - ranks[0]:] if ranks[0] <= 3 else [2, batch, n, k]
    b = [batch, k, p][3 - ranks[1]:] if ranks[1] <= 3 else [2, batch, k, p]
    if draw(st.integers(0, 4)) == 0:
        side = draw(st.sampled_from([a, b]))
        side[draw(st.integers(0, len(side) - 1))] += 1
    return tuple(a), tuple(b)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), op=st.sampled_from(["bmm", "mm"]), method=st.booleans())
def test_bmm_mm(data, op, method):
    ops = data.draw(matrix_operands(3 if op == "bmm" else 2))
    step = agree(f"x.{op}(y)" if method else f"torch.{op}(x, y)", list(ops))
    if step is not None:
        assert step.macs == math.prod(step.out) * ops[0][-1]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), op=st.sampled_from(["addmm", "baddbmm"]),
       bias=st.lists(st.integers(1, 5), max_size=4), like_output=st.booleans(), scalar=st.integers(0, 5),
       scalars=st.sampled_from(["", "", ", beta=0.5", ", alpha=2, beta=0", ", beta='a'"]))
def test_addmm_baddbmm(data, op, bias, like_output, scalar, scalars):
    a, b = data.draw(matrix_operands(3 if op == "baddbmm" else 2))
    if bias and like_output:  # the end of the output's shape, which expands
        bias = list((*a[:-1], b[-1])[-len(bias):])
    x = "x.sum()" if scalar == 0 else "x"
    step = agree(f"torch.{op}({x}, y, z{scalars})", [tuple(bias) or (1,), a, b])
    if step is not None:
        assert step.macs == math.prod(step.out) * a[-1]


@settings(max_examples=400, deadline=None)
@given(x=st.lists(positive, min_size=0, max_size=4), out=positive,
       weight=st.sampled_from(["2d"] * 4 + ["1d", "1d", "0d", "3d", "bad"]),
       bias=st.one_of(st.none(), st.lists(st.sampled_from([1, 2, 3, 4, 5]), max_size=3)))
def test_linear(x, out, weight, bias):
    k = x[-1] if x else 3
    w = {"2d": (out, k), "1d": (k,), "0d": (2,), "3d": (2, out, k), "bad": (out, k + 1)}[weight]
    xs = "x.sum()" if not x else "x"
    ws = "y.sum()" if weight == "0d" else "y"
    shapes_, args = [tuple(x) or (2,), w], f"F.linear({xs}, {ws}"
    if bias is not None:
        if bias and bias[0] != 3:  # mostly the output's size
            bias[-1] = out
        shapes_.append(tuple(bias) or (2,))
        args += ", z.sum()" if not bias else ", z"
    step = agree(args + ")", shapes_)
    if step is not None:
        assert step.macs == math.prod(step.out) * k


@st.composite
def einsum_cases(draw):
    """An equation over a few letters (A before a: torch's order), operands whose sizes
    agree, broadcast (a 1) or, rarely, clash; an ellipsis, repeated subscripts, an explicit
    or implicit output, and now and then a malformed equation."""
    pool = "abcAB"
    size = {c: draw(positive) for c in pool}
    ell = draw(st.lists(st.integers(1, 3), max_size=2))
    terms, shapes_ = [], []
    for _ in range(draw(st.integers(1, 3))):
        letters = draw(st.lists(st.sampled_from(pool), max_size=3))
        dims = [size[c] if draw(st.integers(0, 5)) else draw(st.sampled_from([1, size[c] + 1])) for c in letters]
        for i, c in enumerate(letters):  # a repeated letter needs equal sizes within the operand
            if letters.index(c) != i and draw(st.integers(0, 4)):
                dims[i] = dims[letters.index(c)]
        term = "".join(letters)
        if ell and draw(st.booleans()):
            n = draw(st.integers(0, len(ell)))
            part = [e if draw(st.integers(0, 3)) else 1 for e in ell[len(ell) - n:]]
            at = draw(st.integers(0, len(letters)))
            term, dims = term[:at] + "..." + term[at:], dims[:at] + part + dims[at:]
        if draw(st.integers(0, 9)) == 0:
            dims = dims[:-1] if dims else [2]
        terms.append(term)
        shapes_.append(tuple(dims))
    used = sorted({c for t in terms for c in t if c.isalpha()})
    equation = ",".join(terms)
    if draw(st.booleans()):
        out = draw(st.permutations(used)) if used else []
        out = "".join(out[:draw(st.integers(0, len(out)))])
        if any("..." in t for t in terms) or draw(st.integers(0, 9)) == 0:
            out = "..." + out
        if draw(st.integers(0, 9)) == 0:
            out += draw(st.sampled_from(["a", "z", "."]))
        equation += "->" + out
    if draw(st.integers(0, 14)) == 0:
        at = draw(st.integers(0, len(equation)))
        equation = equation[:at] + draw(st.sampled_from(["1", ".", " ", ","])) + equation[at:]
    return equation, [s or (1,) for s in shapes_], [s == () for s in shapes_], terms


@settings(max_examples=600, deadline=None)
@given(case=einsum_cases(), as_list=st.booleans())
def test_einsum(case, as_list):
    equation, shapes_, scalar, terms = case
    operands = [f"{NAMES[i]}.sum()" if s else NAMES[i] for i, s in enumerate(scalar)]
    joined = ", ".join(operands)
    step = agree(f"torch.einsum({equation!r}, {'[' + joined + ']' if as_list else joined})", shapes_)
    if step is None:
        return
    if len(terms) == 1:
        assert step.macs == 0
        return
    # independent count: every letter at its largest (broadcast) size, times the ellipsis
    sizes, parts = {}, []
    for term, shape, is_scalar in zip(terms, shapes_, scalar):
        shape = () if is_scalar else shape
        before, _, after = term.partition("...")
        if "..." in term:
            parts.append(tuple(shape[len(before):len(shape) - len(after)]))
        pairs = [*zip(before, shape), *zip(after, shape[len(shape) - len(after):])]
        for c, n in pairs:
            sizes[c] = max(sizes.get(c, 1), n)
    ell = torch.broadcast_shapes(*parts) if parts else ()
    assert step.macs == math.prod(sizes.values()) * math.prod(ell)


# Through the torch backend and exported code -----------------------------------------

NETWORK = """
inputs:
  x: [2, 3, 8, 8]
  w: [5, 3]
  q: [2, 4, 6, 8]
  k: [2, 4, 7, 8]
layers:
  - "a = x.mean((2, 3), keepdim=True)"
  - "m, i = x.amax(1).max(-1)"
  - "s = torch.einsum('bhqd,bhkd->bhqk', q, k).softmax(-1)"
  - "p = torch.matmul(s, k)"
  - "t = F.linear(x.permute(0, 2, 3, 1), w)"
  - "u = F.gelu(F.layer_norm(t, [5]), approximate='tanh')"
  - "v = F.dropout(F.leaky_relu(u, 0.2), 0.1, training=False).log_softmax(dim=3)"
  - "o = torch.bmm(q.sum(1), k.sum(1).transpose(1, 2))"
  - "c = torch.baddbmm(o, q.sum(1), k.sum(1).transpose(1, 2), beta=0.5)"
  - "a.sum() + m.sum() + i.sum() + p.sum() + v.sum() + c.sum()"
"""


def test_backend_and_export():
    report = report_of(NETWORK)
    _, out = checked_and_exported(report, [torch.zeros(s) for s in report.graph.inputs.values()])
    assert tuple(out.shape) == report.output_shape == ()
    macs = {op.type: op.step.macs for op in report.graph.ops}
    assert macs["einsum"] == 2 * 4 * 6 * 7 * 8 and macs["matmul"] == 2 * 4 * 6 * 8 * 7
    assert macs["linear"] == 2 * 8 * 8 * 5 * 3 and macs["bmm"] == 2 * 6 * 7 * 8


# group_norm and normalize (ops/norm_functions.py) -----------------------------------------

@settings(max_examples=300, deadline=None)
@given(shape=st.lists(st.integers(0, 6), min_size=0, max_size=4).map(tuple),
       groups=st.one_of(st.integers(-3, 7), st.sampled_from([2.0, True, "2"])),
       weight=st.one_of(st.just(OMIT), st.integers(0, 7).map(lambda n: (n,)), st.just((2, 2))),
       bias=st.booleans())
def test_group_norm(shape, groups, weight, bias):
    shapes = [shape]
    pairs = [(None, groups)]
    if weight is not OMIT:
        shapes.append(weight)
        pairs.append((None, "W"))
        if bias:
            shapes.append(weight)
            pairs.append((None, "B"))
    call = "F.group_norm(x, " + ", ".join(repr(v) if v not in ("W", "B") else {"W": "y", "B": "z"}[v]
                                        for _, v in pairs) + ")"
    agree(call, shapes)


@settings(max_examples=300, deadline=None)
@given(shape=st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple),
       dim=st.one_of(st.just(OMIT), st.integers(-5, 4), st.sampled_from([1.0, None, (0, 1)])),
       p=st.sampled_from([OMIT, 1.0, 2.0, 0.5, 3]))
def test_normalize(shape, dim, p):
    agree(f"F.normalize({_args((None, 'X'), ('p', p), ('dim', dim))})".replace("'X'", "x"), [shape])


# dtype conversions (ops/convert.py) ----------------------------------------------------------

@pytest.mark.parametrize("call", ["x.to('float16')", "x.to(dtype='int64')", "x.to('bool')", "x.to()",
                                  "x.float()", "x.double()", "x.half()", "x.bfloat16()", "x.long()", "x.int()",
                                  "x.short()", "x.char()", "x.byte()", "x.bool()", "x.long().float()"])
def test_conversions_give_torchs_dtype(call):
    """The dtype the rule gives the output is torch's (a spec's dtype names are torch's
    without the prefix; x.to() keeps the input's, float32)."""
    want = eval(call.replace("('", "(torch.").replace("='", "=torch.").replace("')", ")"),  # noqa: S307
                {"torch": torch, "x": torch.zeros(2, 3)}).dtype
    report = report_of(spec_of(call, [(2, 3)]))
    got = report.graph.ops[-1].step.dtype or "float32"
    assert got == str(want).removeprefix("torch."), call


# pointwise math (ops/pointwise.py) --------------------------------------------------------------

operands = st.one_of(shapes, st.sampled_from([2, 0.5, -1.0, None, "2"]))  # True: refused on purpose


def _operand_call(template: str, values) -> tuple[str, list]:
    """``template`` with each operand a tensor name (its shape an input) or a literal."""
    names, tensor_shapes = [], []
    for value in values:
        if isinstance(value, tuple):
            names.append(NAMES[len(tensor_shapes)])
            tensor_shapes.append(value)
        else:
            names.append(repr(value))
    return template.format(*names), tensor_shapes


@settings(max_examples=300, deadline=None)
@given(base=operands, exponent=operands, form=st.sampled_from(["torch.pow({}, {})", "{}.pow({})", "{} ** {}"]))
def test_pow(base, exponent, form):
    assume(isinstance(base, tuple) or form != "{}.pow({})")
    call, tensor_shapes = _operand_call(form, [base, exponent])
    assume(tensor_shapes)
    agree(call, tensor_shapes)


@settings(max_examples=300, deadline=None)
@given(shape=shapes, low=st.one_of(st.just(OMIT), operands), high=st.one_of(st.just(OMIT), operands),
       op=st.sampled_from(["clamp", "clip"]))
def test_clamp(shape, low, high, op):
    values, parts = [shape], ["{}"]
    for name, value in (("min", low), ("max", high)):
        if value is not OMIT:
            values.append(value)
            parts.append(f"{name}={{}}")
    call, tensor_shapes = _operand_call(f"torch.{op}(" + ", ".join(parts) + ")", values)
    agree(call, tensor_shapes)


@settings(max_examples=200, deadline=None)
@given(shape=st.lists(small, max_size=4).map(tuple), dim=st.one_of(st.integers(-5, 4), st.sampled_from([None, 1.0])),
       name=st.sampled_from(sorted(["sqrt", "rsqrt", "exp", "log", "sin", "cos", "erf", "abs", "floor", "square",
                                    "reciprocal", "sign", "cumsum"])))
def test_unary_and_cumsum(shape, dim, name):
    call = f"x.cumsum({dim!r})" if name == "cumsum" else f"torch.{name}(x)"
    agree(call, [shape])
