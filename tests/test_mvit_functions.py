"""torchvision's MViT functions (ops/mvit.py), ``_add_rel_pos`` and ``_add_shortcut``, against
torchvision's own (``torchvision.models.video.mvit``) on CPU: output shapes, or both refuse;
the MACs of _add_rel_pos by an independent count; our ``source`` computes torchvision's
values. A spec using both goes through the torch backend (torchvision's functions, then
our source) and exported code, which runs without torchvision. The comparisons with
torchvision skip where it is not installed."""

import json
import math
import sys

import pytest
from hypothesis import given, settings, strategies as st

from conftest import requires_torch
from convcalc.errors import ConvcalcError
from helpers import checked_and_exported, report_of

pytestmark = requires_torch
torch = pytest.importorskip("torch")

MVIT = "torchvision.models.video.mvit."
NAMES = "xyzwv"  # attn, q, rel_pos_h, rel_pos_w, rel_pos_t (x, shortcut for _add_shortcut)
REFUSALS = (RuntimeError, ValueError, IndexError, TypeError, ZeroDivisionError)


@pytest.fixture(scope="module")
def torchvision(torchvision):
    """conftest's torchvision, with the module the calls name imported."""
    import torchvision.models.video.mvit  # noqa: F401

    return torchvision


def spec_of(call: str, shapes) -> str:
    inputs = "\n".join(f"  {NAMES[i]}: {list(s)}" for i, s in enumerate(shapes))
    return f"inputs:\n{inputs}\nlayers:\n  - {json.dumps('out = ' + call)}\noutputs: [out]\n"


def torchvision_shape(torchvision, call: str, shapes):
    env = {NAMES[i]: torch.zeros(s) for i, s in enumerate(shapes)}
    try:
        out = eval(call, {"torchvision": torchvision, "torch": torch, **env})  # noqa: S307 - our own calls
    except REFUSALS as e:
        return e
    return tuple(out.shape)


def agree(torchvision, call: str, shapes):
    """convcalc and torchvision agree on ``call``: its step, or None when both refuse."""
    want = torchvision_shape(torchvision, call, shapes)
    try:
        report = report_of(spec_of(call, shapes))
    except ConvcalcError as e:
        assert isinstance(want, Exception), f"{call} on {shapes}: convcalc refused what torchvision runs: {e}"
        assert "\n" not in str(e)
        return None
    assert not isinstance(want, Exception), f"{call} on {shapes}: torchvision refused ({want!r}), convcalc did not"
    op = report.graph.ops[-1]
    assert report.graph.shapes[op.outputs[0]] == want, f"{call} on {shapes}"
    return op.step


def rel_pos_call(q_thw, k_thw) -> str:
    return f"{MVIT}_add_rel_pos(x, y, {q_thw!r}, {k_thw!r}, z, w, v)"


def independent_macs(q, tables, q_thw, k_thw) -> int:
    """The two einsums (output × the contracted c, a table of one column broadcast) and the
    matmul (output × dim), its shape from torch on meta tensors."""
    b, heads, _, dim = q
    (q_t, q_h, q_w), (k_t, k_h, k_w) = q_thw, k_thw
    grid = b * heads * q_t * q_h * q_w
    macs = 0
    for table, k in zip(tables[:2], (k_h, k_w)):
        macs += grid * k * torch.broadcast_shapes((dim,), (table[1],))[0]
    rows = 2 * max(q_t, k_t) - 1
    rel_t = (q_t, k_t, *tables[2][1:]) if tables[2][0] == rows else (q_t, k_t, tables[2][1])
    by_frame = torch.empty(q_t, b * heads * q_h * q_w, dim, device="meta")
    macs += torch.matmul(by_frame, torch.empty(rel_t, device="meta").transpose(1, 2)).numel() * dim
    return macs


# _add_rel_pos --------------------------------------------------------------------------

def rel_pos_case(q_thw, k_thw, b=2, heads=3, dim=4, attn=None, q=None, h=None, w=None, t=None):
    (q_t, q_h, q_w), (k_t, k_h, k_w) = q_thw, k_thw
    nq, nk = q_t * q_h * q_w, k_t * k_h * k_w
    shapes = [attn or (b, heads, 1 + nq, 1 + nk), q or (b, heads, 1 + nq, dim),
              h or (2 * max(q_h, k_h) - 1, dim), w or (2 * max(q_w, k_w) - 1, dim),
              t or (2 * max(q_t, k_t) - 1, dim)]
    return q_thw, k_thw, shapes


REL_POS_CASES = [
    # accepted
    rel_pos_case((2, 3, 2), (1, 2, 2)),
    rel_pos_case((1, 4, 4), (1, 4, 4), b=1, heads=2, dim=8),
    rel_pos_case((2, 2, 2), (2, 4, 4), h=(9, 4), w=(1, 4), t=(5, 4)),  # interpolated tables
    rel_pos_case((2, 3, 2), (1, 2, 2), h=(5, 1), w=(3, 1)),  # einsum broadcasts one column
    rel_pos_case((2, 3, 2), (1, 2, 2), dim=1, h=(5, 6), w=(3, 6), t=(3, 1)),  # ... or q's dim of 1
    rel_pos_case((2, 3, 2), (1, 2, 2), q=(1, 3, 13, 4)),  # q's batch of 1 broadcasts into attn's
    rel_pos_case((2, 3, 2), (1, 2, 2), attn=(2, 3, 13, 5)),
    rel_pos_case((2, 3, 2), (1, 2, 2), b=0, q=(0, 3, 7, 4)),  # 0 elements: any token count
    rel_pos_case((2, 3, 2), (1, 2, 2), dim=0),
    rel_pos_case((1, 2, 2), (2, 3, 3), dim=2, t=(3, 1, 2)),  # a 3-d rel_pos_t torch's matmul runs
    # refused
    rel_pos_case((0, 3, 2), (1, 2, 2)),  # ZeroDivisionError
    ((2, -1, 2), (1, 2, 2), rel_pos_case((2, 3, 2), (1, 2, 2))[2]),
    ((2, 3), (1, 2, 2), [(2, 3, 7, 5), (2, 3, 7, 4), (5, 4), (3, 4), (3, 4)]),
    ((2.0, 3, 2), (1, 2, 2), rel_pos_case((2, 3, 2), (1, 2, 2))[2]),
    rel_pos_case((2, 3, 2), (1, 2, 2), q=(2, 3, 12, 4)),
    rel_pos_case((2, 3, 2), (1, 2, 2), q=(2, 3, 14, 4)),
    rel_pos_case((2, 3, 2), (1, 2, 2), q=(1, 2, 3, 13, 4)),
    rel_pos_case((2, 3, 2), (1, 2, 2), h=(0, 4)),  # interpolating an empty table
    rel_pos_case((2, 3, 2), (1, 2, 2), dim=0, h=(4, 0)),
    rel_pos_case((2, 3, 2), (1, 2, 2), h=(4, 4, 1)),  # interpolating a 3-d table
    rel_pos_case((2, 3, 2), (1, 2, 2), h=(5, 4, 1)),  # a 3-d table of the right length
    rel_pos_case((2, 3, 2), (1, 2, 2), w=(3,)),
    rel_pos_case((2, 3, 2), (1, 2, 2), h=(5, 5)),
    rel_pos_case((2, 3, 2), (1, 2, 2), t=(3, 1)),  # the matmul does not broadcast
    rel_pos_case((2, 3, 2), (1, 2, 2), t=(3,)),
    rel_pos_case((2, 3, 2), (1, 2, 2), t=(3, 1, 4)),
    rel_pos_case((2, 3, 2), (1, 2, 2), attn=(3, 13, 5)),
    rel_pos_case((2, 3, 2), (1, 2, 2), attn=(2, 3, 14, 5)),
    rel_pos_case((2, 3, 2), (1, 2, 2), attn=(2, 3, 13, 6)),
    rel_pos_case((2, 3, 2), (1, 2, 2), attn=(1, 3, 13, 5)),  # in place: attn cannot grow
    rel_pos_case((2, 3, 2), (1, 2, 2), attn=(2, 3, 13, 5, 1)),
]


@pytest.mark.parametrize("q_thw, k_thw, shapes", REL_POS_CASES, ids=[str(c) for c in REL_POS_CASES])
def test_add_rel_pos(torchvision, q_thw, k_thw, shapes):
    step = agree(torchvision, rel_pos_call(q_thw, k_thw), shapes)
    if step is not None:
        assert step.macs == independent_macs(shapes[1], shapes[2:], q_thw, k_thw)


def test_add_rel_pos_macs_are_the_einsums_and_the_matmul(torchvision):
    q_thw, k_thw, shapes = rel_pos_case((2, 3, 2), (1, 2, 2), b=2, heads=3, dim=4)
    step = agree(torchvision, rel_pos_call(q_thw, k_thw), shapes)
    b, heads, dim = 2, 3, 4
    assert step.macs == b * heads * 2 * 3 * 2 * dim * (2 + 2) + b * heads * 3 * 2 * 2 * dim * 1
    assert step.params == 0


def test_refusals_name_the_constraint():
    q_thw, k_thw, shapes = rel_pos_case((2, 3, 2), (1, 2, 2), q=(2, 3, 12, 4))
    with pytest.raises(ConvcalcError, match=r"q must have 1 \+ q_t·q_h·q_w = 13 tokens.*got 12"):
        report_of(spec_of(rel_pos_call(q_thw, k_thw), shapes))
    with pytest.raises(ConvcalcError, match="q_thw must be >= 1 along each axis, got"):
        report_of(spec_of(rel_pos_call((0, 3, 2), k_thw), shapes))
    with pytest.raises(ConvcalcError, match=r"rel_pos_t must have q's dim = 4 columns.*got 1: give rel_pos_t"):
        report_of(spec_of(rel_pos_call(q_thw, k_thw), [*rel_pos_case(q_thw, k_thw, t=(3, 1))[2]]))


@st.composite
def rel_pos_cases(draw):
    """Mostly valid calls, a size off here and there; sometimes a 3-d rel_pos_t of the
    right length, which torch's matmul broadcasts (q_t = 1, dim = k_t, B = 0...)."""
    three_d = draw(st.integers(0, 4)) == 0
    q_thw = (draw(st.sampled_from([1, 1, 2] if three_d else [1, 2, 3])), draw(st.integers(1, 3)),
             draw(st.integers(1, 3)))
    k_thw = tuple(draw(st.integers(1, 3)) for _ in range(3))
    b, heads, dim = draw(st.integers(0, 2)), draw(st.integers(1, 3)), draw(st.integers(0, 4))
    if three_d:
        dim = draw(st.sampled_from([k_thw[0], k_thw[0], dim]))
    nq, nk = math.prod(q_thw), math.prod(k_thw)

    def table(qn, kn):
        rows = 2 * max(qn, kn) - 1
        return (draw(st.sampled_from([rows] * 6 + [1, rows + 2, 0])),
                draw(st.sampled_from([dim] * 8 + [1, dim + 1])))

    off = st.sampled_from([0] * 12 + [-1, 1])
    q = (draw(st.sampled_from([b] * 5 + [1])), heads, 1 + nq + draw(off), dim)
    attn = (b, draw(st.sampled_from([heads] * 6 + [1])), 1 + nq + draw(off), 1 + nk + draw(off))
    t = table(q_thw[0], k_thw[0])
    if three_d:
        t = (2 * max(q_thw[0], k_thw[0]) - 1, draw(st.sampled_from([1, 1, q_thw[0], 2])),
             draw(st.sampled_from([k_thw[0], dim, 1])))
    return q_thw, k_thw, [attn, q, table(q_thw[1], k_thw[1]), table(q_thw[2], k_thw[2]), t]


@settings(max_examples=200, deadline=None)
@given(case=rel_pos_cases())
def test_add_rel_pos_property(torchvision, case):
    q_thw, k_thw, shapes = case
    step = agree(torchvision, rel_pos_call(q_thw, k_thw), shapes)
    if step is not None:
        assert step.macs == independent_macs(shapes[1], shapes[2:], q_thw, k_thw)


@settings(max_examples=150, deadline=None)
@given(shape=st.lists(st.integers(0, 3), min_size=2, max_size=4), data=st.data())
def test_view_strides_are_torchs(shape, data):
    """The view check of a 3-d rel_pos_t's transposed matmul output: torch's computeStride."""
    from convcalc.ops.mvit import _contiguous_strides, _view_strides

    tensor = torch.empty(shape).transpose(0, 1)
    assert tensor.stride() == (*_contiguous_strides(shape)[1::-1], *_contiguous_strides(shape)[2:])
    sizes = list(data.draw(st.permutations(list(tensor.shape))))
    target = []
    for size in sizes:  # merge some neighbours, put in some 1s
        if target and data.draw(st.booleans()):
            target[-1] *= size
        else:
            target.append(size)
        if data.draw(st.integers(0, 3)) == 0:
            target.append(1)
    try:
        tensor.view(target)
        viewable = True
    except RuntimeError:
        viewable = False
    assert _view_strides(tuple(tensor.shape), tensor.stride(), tuple(target)) == viewable


# _add_shortcut -------------------------------------------------------------------------

SHORTCUT_CASES = [
    ((2, 3, 5, 4), (2, 3, 5, 4), True), ((2, 3, 5, 4), (2, 3, 5, 4), False),
    ((2, 3, 5, 4), (1, 3, 1, 4), True), ((2, 3, 5, 4), (2, 3, 2, 4), False),
    ((2, 3, 5, 4), (4,), True), ((2, 3, 5, 4, 2), (2, 3, 5, 4, 2), False),
    ((2, 3, 1, 4), (2, 3, 2, 4), False), ((2, 3, 0, 4), (2, 3, 1, 4), False),
    ((1, 3, 5, 4), (2, 3, 5, 4), True), ((2, 3, 5, 4), (2, 3, 1, 4), False),
    ((3, 5, 4), (3, 5, 4), False), ((3, 5, 4), (3, 5, 4), True), ((2, 3, 5, 4), (3, 5, 4), False),
    ((2, 3, 5, 4), (2, 3, 5, 3), False), ((2, 3, 1, 4), (2, 3, 5, 4), False),
    ((2, 3, 5, 4), (1, 2, 3, 5, 4), True),
]


@pytest.mark.parametrize("x, shortcut, flag", SHORTCUT_CASES, ids=[str(c) for c in SHORTCUT_CASES])
def test_add_shortcut(torchvision, x, shortcut, flag):
    step = agree(torchvision, f"{MVIT}_add_shortcut(x, y, {flag})", [x, shortcut])
    if step is not None:
        assert step.macs == 0 and step.params == 0


@settings(max_examples=100, deadline=None)
@given(x=st.lists(st.integers(0, 3), min_size=3, max_size=5).map(tuple), data=st.data(), flag=st.booleans())
def test_add_shortcut_property(torchvision, x, data, flag):
    shortcut = tuple(data.draw(st.sampled_from([n, n, 1, n + 1])) for n in x)
    shortcut = shortcut[data.draw(st.integers(0, 1)):]
    step = agree(torchvision, f"{MVIT}_add_shortcut(x, y, {flag})", [x, shortcut])
    if step is not None:
        assert step.macs == 0


def test_residual_flag_must_be_a_bool():
    with pytest.raises(ConvcalcError, match="residual_with_cls_embed must be true or false"):
        report_of(spec_of(f"{MVIT}_add_shortcut(x, y, 'yes')", [(2, 3, 5, 4), (2, 3, 5, 4)]))


# Our source, the torch backend, exported code -----------------------------------------

def ours(name):
    from convcalc.backend.functions import compiled
    from convcalc.ops import FUNCTIONS

    return compiled(torch, FUNCTIONS[name].source)[name]


def test_sources_compute_torchvisions_values(torchvision):
    """Same values, the first argument changed in place alike; refused alike."""
    from torchvision.models.video import mvit

    generator = torch.Generator().manual_seed(0)
    for q_thw, k_thw, shapes in REL_POS_CASES:
        args = [torch.randn(s, generator=generator) for s in shapes]

        def run(function, args=args, q_thw=q_thw, k_thw=k_thw):
            copies = [a.clone() for a in args]
            try:
                out = function(copies[0], copies[1], q_thw, k_thw, *copies[2:])
            except REFUSALS as e:
                return type(e), None, None
            return None, out, copies[0]

        want, got = run(mvit._add_rel_pos), run(ours("_add_rel_pos"))
        assert want[0] == got[0], (q_thw, k_thw, shapes)
        if want[0] is None:
            assert torch.equal(want[1], got[1]) and torch.equal(want[2], got[2]), (q_thw, k_thw, shapes)
    for x, shortcut, flag in SHORTCUT_CASES:
        a, s = torch.randn(x, generator=generator), torch.randn(shortcut, generator=generator)
        try:
            want = mvit._add_shortcut(a.clone(), s, flag)
        except REFUSALS as e:
            with pytest.raises(type(e)):
                ours("_add_shortcut")(a.clone(), s, flag)
            continue
        mine = a.clone()
        assert ours("_add_shortcut")(mine, s, flag) is mine
        assert torch.equal(mine, want)


NETWORK = f"""
inputs:
  x: [2, 13, 16]
layers:
  - rel_h = Parameter([5, 8])
  - rel_w = Parameter([3, 8])
  - rel_t = Parameter([1, 8])                       # interpolated to 3 rows
  - {{name: qkv, Linear: [16, 48], in: x}}
  - q, k, v = _.reshape(2, 13, 3, 2, 8).permute(2, 0, 3, 1, 4).unbind(0)
  - k = k[:, :, :5]                                 # keys pooled to a 1x2x2 grid
  - v = v[:, :, :5]
  - attn = (q * 0.35) @ k.transpose(-2, -1)
  - attn = {MVIT}_add_rel_pos(attn, q, [2, 3, 2], [1, 2, 2], rel_h, rel_w, rel_t)
  - o = attn.softmax(-1) @ v
  - o = {MVIT}_add_shortcut(o, q, False)
  - o.transpose(1, 2).reshape(2, 13, 16)
"""


def test_backend_and_export(monkeypatch):
    from convcalc.backend import functions, tvcompat
    from convcalc.backend.build import compare
    from convcalc.backend.export import to_torch
    from convcalc.ops import FUNCTIONS

    report = report_of(NETWORK)
    macs = {op.type: op.step.macs for op in report.graph.ops}
    assert macs["_add_rel_pos"] == 2 * 2 * 12 * 8 * (2 + 2) + 2 * 2 * 12 * 8 * 1 and macs["_add_shortcut"] == 0
    tv = tvcompat.import_torchvision()
    if tv is not None:  # the backend runs torchvision's own functions
        from torchvision.models.video import mvit

        assert functions._torchvision_function(torch, FUNCTIONS["_add_rel_pos"]) is mvit._add_rel_pos
        assert [c for c in compare(report) if not c.ok] == []
    monkeypatch.setattr(tvcompat, "import_torchvision", lambda: None)  # ... else our source
    assert functions._torchvision_function(torch, FUNCTIONS["_add_shortcut"]).__module__ == "convcalc_sources"
    assert [c for c in compare(report) if not c.ok] == []
    code = to_torch(report, "test.yaml")
    assert "torchvision" not in code.replace("torchvision's", "")
    assert code.count("def _add_rel_pos(") == 1 and code.count("def _add_shortcut(") == 1
    monkeypatch.setitem(sys.modules, "torchvision", None)  # importing it now fails
    namespace = {}
    exec(compile(code, "exported", "exec"), namespace)  # noqa: S102 - our export
    with torch.no_grad():
        out = namespace["build_model"]().eval()(torch.randn(2, 13, 16))
    assert tuple(out.shape) == report.output_shape == (2, 13, 16)


# _unsqueeze and _squeeze: a tensor and an int, then the int read back --------------------


@settings(max_examples=150, deadline=None)
@given(shape=st.lists(st.integers(0, 3), max_size=5).map(tuple), target=st.integers(0, 6),
       expand=st.integers(-6, 6), squeeze=st.booleans())
def test_unsqueeze_then_squeeze_property(torchvision, shape, target, expand, squeeze):
    """``a, n = _unsqueeze(x, target, expand)`` (and ``_squeeze(a, target, expand, n)``): the
    spec's tensor shape and int are torchvision's, or both refuse."""
    from torchvision.models.video import mvit

    def reference():
        a, n = mvit._unsqueeze(torch.zeros(shape), target, expand)
        return (mvit._squeeze(a, target, expand, n) if squeeze else a), n

    try:
        tensor, n = reference()
        want = (tuple(tensor.shape), n)
    except REFUSALS as e:
        want = e
    lines = [f"a, n = {MVIT}_unsqueeze(x, {target}, {expand})",
             f"out = {MVIT}_squeeze(a, {target}, {expand}, n)" if squeeze else "out = a"]
    if not isinstance(want, Exception):
        lines.append(f"_assert(n == {want[1]}, 'the input has {want[1]} dims')")
    text = f"inputs:\n  x: {list(shape)}\nlayers:\n" + "".join(f"  - {json.dumps(s)}\n" for s in lines) + \
        "outputs: [out]\n"
    try:
        report = report_of(text)
    except ConvcalcError as e:
        assert isinstance(want, Exception), f"convcalc refused what torchvision runs: {e}"
        return
    assert not isinstance(want, Exception), f"torchvision refused ({want!r}), convcalc did not"
    assert report.output_shape == want[0]


def test_unsqueeze_runs_and_exports_its_tensor():
    """The backend and exported code keep _unsqueeze's tensor, dropping the int after it."""
    from convcalc.backend import functions
    from convcalc.graph.trace import TensorRef
    from convcalc.ops import FUNCTIONS

    ftype = FUNCTIONS["_unsqueeze"]
    bound = ftype.bind([], {"x": TensorRef("x", (2, 5, 3)), "target_dim": 4, "expand_dim": 1})
    assert tuple(functions.run(torch, ftype, bound, {"x": torch.zeros(2, 5, 3)}).shape) == (2, 1, 5, 3)
    assert functions.code(ftype, bound, {"x": "x"}).endswith(")[0]")
    text = ("inputs:\n  x: [2, 5, 3]\nlayers:\n"
            f"  - a, n = {MVIT}_unsqueeze(x, 4, 1)\n  - out = {MVIT}_squeeze(a, 4, 1, n)\noutputs: [out]\n")
    _, out = checked_and_exported(report_of(text))
    assert tuple(out.shape) == (2, 5, 3)
