"""MultiheadAttention, Embedding, MaxPool's indices with MaxUnpool, and torchvision's
StochasticDepth, Permute, LayerNorm2d and stochastic_depth against real torch.

Hypothesis draws the arguments and the inputs, valid and invalid. convcalc's side is a
spec (helpers.report_of): where it accepts, torch must run with the same output shapes
and parameters, ``build.compare`` must agree, and the exported code must run; where it
refuses, torch must refuse too. MultiheadAttention's oracle is torch's general path
(``F.multi_head_attention_forward``, what training runs); its inference fast path is
checked where it applies, and its MACs against a count of its products.
"""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import requires_torch
from convcalc.backend import build, export
from convcalc.backend.tvcompat import import_torchvision
from convcalc.errors import ConvcalcError, SpecError
from convcalc.ops import REGISTRY
from helpers import engine, outcome, report_of, spec_text

pytestmark = requires_torch
torch = pytest.importorskip("torch")
nn = torch.nn

CASES = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
FEW = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
REFUSALS = (RuntimeError, ValueError, TypeError, IndexError, AssertionError)


spec = spec_text


def typed(shape, dtype: str) -> dict:
    return {"shape": list(shape), "dtype": dtype}


def outputs_of(report, op_index=-1):
    op = report.graph.ops[op_index]
    return [report.graph.shapes[v] for v in op.outputs]


def agrees_and_exports(report):
    """build.compare agrees on every operation, and the exported file runs."""
    checks = build.compare(report)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    code = export.to_torch(report, "test")
    namespace = {}
    exec(compile(code, "<exported>", "exec"), namespace)  # noqa: S102 - our own export
    model = namespace["build_model"]().eval()
    assert sum(p.numel() for p in model.parameters()) == report.totals["params"]
    with torch.no_grad():
        model(*namespace["example_inputs"]())


def run(fn):
    return outcome(fn, REFUSALS)


def shapes(out):
    return [None if o is None else tuple(o.shape) for o in (out if isinstance(out, tuple) else (out,))]


def zeros(shape, dtype="float32"):
    return torch.zeros(shape, dtype=getattr(torch, dtype))


def call_text(name, args: dict) -> str:
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


# MultiheadAttention -------------------------------------------------------------------


@st.composite
def attention(draw):
    heads, head_dim = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    e = heads * head_dim
    ctor = {"embed_dim": e, "num_heads": heads}
    for flag in ("bias", "add_bias_kv", "add_zero_attn", "batch_first"):
        if draw(st.booleans()):
            ctor[flag] = draw(st.booleans())
    for dim in ("kdim", "vdim"):
        if draw(st.integers(0, 2)) == 0:
            ctor[dim] = draw(st.sampled_from([e, 0, 1, 2, 5]))
    if draw(st.booleans()):
        ctor["dropout"] = draw(st.sampled_from([0.0, 0.1, 1.0]))
    kdim = e if ctor.get("kdim") is None else ctor["kdim"]
    vdim = e if ctor.get("vdim") is None else ctor["vdim"]
    batched = draw(st.integers(0, 3)) > 0
    seq, src, batch = draw(st.integers(0, 3)), draw(st.integers(0, 3)), draw(st.integers(0, 2))
    first = ctor.get("batch_first", False)

    def layout(length, features):
        return ((batch, length, features) if first else (length, batch, features)) if batched \
            else (length, features)

    def perturb(shape):
        kind = draw(st.integers(0, 19))
        if kind == 0 and len(shape) > 1:
            return shape[:-1]
        if kind == 1:
            return (*shape, 2)
        if kind == 2:
            i = draw(st.integers(0, len(shape) - 1))
            return tuple(s + 1 if j == i else s for j, s in enumerate(shape))
        return shape

    q, k, v = perturb(layout(seq, e)), perturb(layout(src, kdim)), perturb(layout(src, vdim))
    same = draw(st.integers(0, 2)) == 0  # self-attention: attn(q, q, q)
    call = {}
    masks = {}
    if draw(st.integers(0, 3)) == 0:
        masks["key_padding_mask"] = perturb((batch, src) if batched else (src,))
    mask = draw(st.integers(0, 5))
    if mask == 0:
        masks["attn_mask"] = perturb((seq, src))
    elif mask == 1:
        masks["attn_mask"] = perturb((batch * heads if batched else heads, seq, src))
    for flag in ("need_weights", "average_attn_weights", "is_causal"):
        if draw(st.integers(0, 2)) == 0:
            call[flag] = draw(st.booleans())
    dtype = draw(st.sampled_from(["bool", "float32"]))
    return ctor, q, k, v, same, masks, call, dtype


def torch_attention(ctor, q, k, v, same, masks, call, dtype, fast=False):
    """torch's outputs ([output, weights] shapes, params), or its refusal."""
    module = run(lambda: nn.MultiheadAttention(**ctor).eval())
    if isinstance(module, Exception):
        return module
    query = zeros(q)
    key, value = (query, query) if same else (zeros(k), zeros(v))
    kwargs = {**call, **{n: zeros(s, dtype) for n, s in masks.items()}}
    torch.backends.mha.set_fastpath_enabled(fast)
    try:
        with torch.no_grad():
            out = run(lambda: module(query, key, value, **kwargs))
    finally:
        torch.backends.mha.set_fastpath_enabled(True)
    if isinstance(out, Exception):
        return out
    return shapes(out), sum(p.numel() for p in module.parameters())


def attention_spec(ctor, q, k, v, same, masks, call, dtype):
    inputs = {"q": q} if same else {"q": q, "k": k, "v": v}
    inputs.update({n: typed(s, dtype) for n, s in zip(("kpm", "am"), masks.values())})
    names = dict(zip(masks, ("kpm", "am")))
    forward = ", ".join(["q, q, q" if same else "q, k, v",
                         *(f"{n}={names[n]}" for n in masks), *(f"{n}={b}" for n, b in call.items())])
    return spec(inputs, [f"out, w = {call_text('MultiheadAttention', ctor)}({forward})"], ["out"])


def hand_macs(ctor, q, k, v, call):
    """The multiply-accumulates of the computation, by its matrix products: the three input
    projections and the output one (a Linear per token), Q·Kᵀ and weights·V per head."""
    e, heads = ctor["embed_dim"], ctor["num_heads"]
    batched = len(q) == 3
    if batched and ctor.get("batch_first"):
        n, seq, src = q[0], q[1], k[1]
    elif batched:
        n, seq, src = q[1], q[0], k[0]
    else:
        n, seq, src = 1, q[0], k[0]
    keys = src + bool(ctor.get("add_bias_kv")) + bool(ctor.get("add_zero_attn"))

    def linear(shape, out_features):
        return math.prod(shape[:-1]) * shape[-1] * out_features

    projections = linear(q, e) + linear(k, e) + linear(v, e) + linear((*q[:-1], e), e)
    head_dim = e // heads
    scores = (n * heads) * seq * head_dim * keys  # bmm (N·H, L, hd) @ (N·H, hd, S')
    mixed = (n * heads) * seq * keys * head_dim  # bmm (N·H, L, S') @ (N·H, S', hd)
    return projections + scores + mixed


@CASES
@given(attention())
def test_multihead_attention_matches_torch(case):
    ctor, q, k, v, same, masks, call, dtype = case
    if same:
        k = v = q
    want = torch_attention(*case)
    got = engine(attention_spec(*case))
    if isinstance(got, ConvcalcError):
        assert isinstance(want, Exception), f"convcalc refused what torch runs: {got}"
        return
    assert not isinstance(want, Exception), f"torch refused ({want!r}) what convcalc accepted"
    out_shapes, params = want
    assert outputs_of(got) == out_shapes
    assert got.totals["params"] == params
    assert got.rows[-1].macs == hand_macs(ctor, q, k, v, call)
    fast = torch_attention(*case, fast=True)
    assert not isinstance(fast, Exception) and fast[0][0] == out_shapes[0]
    agrees_and_exports(got)


@pytest.mark.parametrize("ctor", [
    {"embed_dim": 6, "num_heads": 4}, {"embed_dim": 0, "num_heads": 1}, {"embed_dim": 4, "num_heads": 0},
    {"embed_dim": 4, "num_heads": -2}, {"embed_dim": 4.0, "num_heads": 2},
    {"embed_dim": 4, "num_heads": 2, "kdim": -1}, {"embed_dim": 4, "num_heads": 2, "dropout": 1.5},
    {"embed_dim": 4, "num_heads": 2, "dropout": -0.1}, {"embed_dim": 4, "num_heads": 2, "vdim": 0},
    {"embed_dim": 4, "num_heads": 4, "kdim": 4, "vdim": 4},
], ids=str)
def test_multihead_attention_constructor(ctor):
    """convcalc refuses what torch refuses when it builds the module or trains it."""

    def trained():
        module = nn.MultiheadAttention(**ctor).train()
        q = zeros((2, 3, 4))
        k = zeros((2, 3, module.kdim))
        v = zeros((2, 3, module.vdim))
        for need_weights in (True, False):
            module(q, k, v, need_weights=need_weights)
        return sum(p.numel() for p in module.parameters())

    want = run(trained)
    k = 4 if ctor.get("kdim") is None else ctor["kdim"]
    v = 4 if ctor.get("vdim") is None else ctor["vdim"]
    got = engine(spec({"q": (2, 3, 4), "k": (2, 3, max(k, 0)), "v": (2, 3, v)},
                      [f"y, _ = {call_text('MultiheadAttention', ctor)}(q, k, v)"], ["y"]))
    if isinstance(got, ConvcalcError):
        assert isinstance(want, Exception), f"convcalc refused what torch runs: {got}"
    else:
        assert got.totals["params"] == want


def test_multihead_attention_fast_path_differences():
    """torch's inference fast path (eval, no grad, q is k is v, batch_first, even heads,
    packed projections, bias, no bias_kv/zero_attn) skips checks of the general path:
    convcalc refuses with the general path."""
    module = nn.MultiheadAttention(4, 2, batch_first=True).eval()
    x = zeros((2, 3, 4))
    with torch.no_grad():
        assert shapes(module(x, x, x, is_causal=True)) == [(2, 3, 4), (2, 3, 3)]  # fast
        assert isinstance(run(lambda: module(x, x, x.clone(), is_causal=True)), RuntimeError)
    got = engine(spec({"x": (2, 3, 4)}, ["y, w = MultiheadAttention(4, 2, batch_first=True)"
                                         "(x, x, x, is_causal=True)"], ["y"]))
    assert isinstance(got, ConvcalcError) and "is_causal=True needs an attn_mask" in str(got)
    # an empty query: no weights, and the masks are not looked at
    empty = zeros((0, 3, 4))
    with torch.no_grad():
        assert shapes(module(empty, empty, empty, key_padding_mask=zeros((5, 7), "bool"))) == [(0, 3, 4), None]
        assert isinstance(run(lambda: module(empty, empty, empty.clone(), key_padding_mask=zeros((5, 7), "bool"))),
                          AssertionError)
    report = report_of(spec({"x": (0, 3, 4)}, ["y, w = MultiheadAttention(4, 2, batch_first=True)(x, x, x)"],
                            ["y"]))
    assert outputs_of(report) == [(0, 3, 4), (0, 3, 3)]  # the general path's weights


def test_multihead_attention_vit_b_16_counts():
    """One encoder layer's attention of torchvision's vit_b_16: 197 tokens of 768."""
    report = report_of(spec({"x": (1, 197, 768)}, [
        "y, _ = MultiheadAttention(768, 12, dropout=0.0, batch_first=True)(x, x, x, need_weights=False)"],
        ["y"]))
    assert report.rows[-1].params == sum(p.numel() for p in nn.MultiheadAttention(768, 12).parameters())
    assert report.rows[-1].params == 4 * 768 * 768 + 4 * 768
    assert report.rows[-1].macs == 4 * 197 * 768 * 768 + 2 * 197 * 197 * 768 == 524_391_936
    assert outputs_of(report) == [(1, 197, 768), None]


def test_multihead_attention_needs_key_and_value_in_a_sequence():
    got = engine(spec({"x": (2, 5, 8)}, ["MultiheadAttention(8, 2)"]))
    assert isinstance(got, SpecError)
    assert "takes key, value besides its input" in str(got) and "(x, key, value)" in got.fix


def test_multihead_attention_called_again_and_declared():
    text = spec({"x": (2, 5, 8), "m": (2, 7, 8)}, [
        "self.attn = MultiheadAttention(8, 2, batch_first=True)",
        "a, _ = self.attn(x, x, x)",
        "b, wb = self.attn(a, m, m, average_attn_weights=False)",
    ], ["b", "wb"])
    report = report_of(text)
    assert outputs_of(report) == [(2, 5, 8), (2, 2, 5, 7)]
    assert report.totals["params"] == sum(p.numel() for p in nn.MultiheadAttention(8, 2).parameters())
    agrees_and_exports(report)


# Embedding ----------------------------------------------------------------------------


@CASES
@given(st.integers(0, 6), st.integers(0, 5), st.one_of(st.none(), st.integers(-8, 8)),
       st.lists(st.integers(0, 3), min_size=1, max_size=3), st.booleans(),
       st.sampled_from([None, 1.0, 2]))
def test_embedding_matches_torch(num, dim, padding_idx, shape, freeze, max_norm):
    ctor = {"num_embeddings": num, "embedding_dim": dim}
    if padding_idx is not None:
        ctor["padding_idx"] = padding_idx
    if freeze:
        ctor["_freeze"] = True
    if max_norm is not None:
        ctor["max_norm"] = max_norm
    module = run(lambda: nn.Embedding(**ctor))
    want = module if isinstance(module, Exception) else run(
        lambda: tuple(module(zeros(shape, "int64")).shape))
    got = engine(spec({"ids": typed(shape, "int64")}, [call_text("Embedding", ctor)]))
    if isinstance(got, ConvcalcError):
        assert isinstance(want, Exception), f"convcalc refused what torch runs: {got}"
        return
    assert not isinstance(want, Exception), f"torch refused ({want!r}) what convcalc accepted"
    assert got.output_shape == want
    assert got.totals["params"] == sum(p.numel() for p in module.parameters()) == num * dim
    agrees_and_exports(got)


def test_embedding_of_a_0d_index():
    layer = REGISTRY["Embedding"]
    step = layer.apply(layer.bind([5, 3], {}, ()), ())
    assert step.out == tuple(nn.Embedding(5, 3)(torch.tensor(2)).shape) == (3,)


# MaxPool's indices and MaxUnpool ------------------------------------------------------


@st.composite
def pooling(draw):
    nd = draw(st.integers(1, 3))
    batched = draw(st.booleans())
    spatial = [draw(st.integers(1, 7 if nd < 3 else 5)) for _ in range(nd)]
    shape = [*([draw(st.integers(1, 2))] if batched else []), draw(st.integers(1, 2)), *spatial]
    kernel = draw(st.integers(1, 3))
    pool = {"kernel_size": kernel}
    stride = draw(st.one_of(st.none(), st.integers(1, 3)))
    if stride is not None:
        pool["stride"] = stride
    padding = draw(st.integers(0, kernel // 2))
    if padding:
        pool["padding"] = padding
    if draw(st.booleans()):
        pool["ceil_mode"] = True
    unpool = {k: v for k, v in pool.items() if k != "ceil_mode"}
    choice = draw(st.integers(0, 4))
    if choice == 0:
        output_size = None
    elif choice == 1:
        output_size = "x.shape"  # the pooled input's size: always a valid place for the indices
    else:
        output_size = [s + draw(st.integers(-3, 3)) for s in spatial]
        if choice == 3:
            output_size = [*shape[:-nd], *output_size]
        if choice == 4 and draw(st.booleans()):
            output_size = output_size[1:]
    return nd, shape, pool, unpool, output_size


@CASES
@given(pooling())
def test_maxpool_indices_and_maxunpool_round_trip(case):
    nd, shape, pool, unpool, output_size = case
    size = list(shape) if output_size == "x.shape" else output_size

    def torch_side():
        y, i = getattr(nn, f"MaxPool{nd}d")(**pool, return_indices=True)(zeros(shape))
        u = getattr(nn, f"MaxUnpool{nd}d")(**unpool)(y, i, output_size=size)
        return [tuple(y.shape), tuple(i.shape), tuple(u.shape)]

    want = run(torch_side)
    forward = "y, i" + ("" if output_size is None else f", output_size={output_size if isinstance(output_size, str) else size}")
    got = engine(spec({"x": shape}, [
        f"y, i = {call_text(f'MaxPool{nd}d', {**pool, 'return_indices': True})}(x)",
        f"u = {call_text(f'MaxUnpool{nd}d', unpool)}({forward})"], ["u"]))
    if isinstance(got, ConvcalcError):
        assert isinstance(want, Exception), f"convcalc refused what torch runs: {got}"
        return
    ours = [*outputs_of(got, 0), *outputs_of(got, 1)]
    out_sp = ours[2][len(shape) - nd:]
    if math.prod(out_sp) >= math.prod(shape[len(shape) - nd:]):
        # the indices (positions in the pooled input) all fit in the output
        assert not isinstance(want, Exception), f"torch refused ({want!r}) what convcalc accepted"
    if isinstance(want, Exception):
        assert "invalid max index" in str(want)  # the indices' values: not a shape rule
        return
    assert ours == want
    agrees_and_exports(got)


@st.composite
def unpooling(draw):
    """MaxUnpool alone, indices an int64 input (zeros: always in range) of any shape."""
    nd = draw(st.integers(1, 3))
    shape = [draw(st.integers(0, 3)) for _ in range(draw(st.sampled_from([nd, nd + 1, nd + 2, nd + 2, nd + 3])))]
    indices = shape if draw(st.integers(0, 4)) else [s + draw(st.integers(0, 1)) for s in shape]

    def per_dim(low, high):
        return draw(st.one_of(st.integers(low, high), st.lists(st.integers(low, high), min_size=nd, max_size=nd)))

    ctor = {"kernel_size": per_dim(-1, 4)}
    if draw(st.booleans()):
        ctor["stride"] = per_dim(-1, 4)
    if draw(st.booleans()):
        ctor["padding"] = per_dim(-1, 2)
    output_size = None
    if draw(st.booleans()):
        output_size = [draw(st.integers(-1, 9)) for _ in range(draw(st.sampled_from([nd, nd, nd + 2, nd + 1])))]
    return nd, shape, indices, ctor, output_size


@CASES
@given(unpooling())
def test_maxunpool_matches_torch(case):
    nd, shape, indices, ctor, output_size = case
    name = f"MaxUnpool{nd}d"
    want = run(lambda: tuple(getattr(nn, name)(**ctor)(
        zeros(shape), zeros(indices, "int64"), output_size=output_size).shape))
    forward = "x, i" + ("" if output_size is None else f", output_size={output_size}")
    got = engine(spec({"x": shape, "i": typed(indices, "int64")}, [f"u = {call_text(name, ctor)}({forward})"], ["u"])) \
        if shape else None
    if got is None:  # a 0-d input cannot be a spec's input: the rule alone
        layer = REGISTRY[name]
        try:
            got = layer.apply_call(layer.bind([], ctor, ()), (), {"indices": tuple(indices), "output_size": output_size})
        except ConvcalcError as e:
            got = e
        assert isinstance(got, ConvcalcError) and isinstance(want, Exception)
        return
    if isinstance(got, ConvcalcError):
        assert isinstance(want, Exception), f"convcalc refused what torch runs: {got}"
        return
    assert not isinstance(want, Exception), f"torch refused ({want!r}) what convcalc accepted"
    assert got.output_shape == want
    agrees_and_exports(got)


@FEW
@given(st.integers(1, 3), st.booleans(), st.data())
def test_adaptive_maxpool_indices(nd, batched, data):
    shape = [*([2] if batched else []), 3, *data.draw(st.lists(st.integers(1, 6), min_size=nd, max_size=nd))]
    size = data.draw(st.lists(st.integers(0, 7), min_size=nd, max_size=nd))
    name = f"AdaptiveMaxPool{nd}d"
    want = run(lambda: shapes(getattr(nn, name)(size, return_indices=True)(zeros(shape))))
    got = engine(spec({"x": shape}, [f"y, i = {name}({size}, return_indices=True)(x)"], ["y", "i"]))
    if isinstance(got, ConvcalcError):
        assert isinstance(want, Exception), f"convcalc refused what torch runs: {got}"
        return
    assert outputs_of(got) == want
    agrees_and_exports(got)


def test_indices_in_a_sequence_are_refused():
    got = engine("input: [1, 3, 8, 8]\nlayers:\n  - MaxPool2d(2, return_indices=True)\n  - ReLU\n")
    assert isinstance(got, SpecError)
    assert "returns 2 values here" in str(got) and "y, indices = MaxPool2d" in got.fix


# torchvision's layers and stochastic_depth --------------------------------------------


@pytest.fixture(scope="module")
def torchvision():
    found = import_torchvision()
    if found is None:
        pytest.skip("torchvision is not installed")
    from importlib import import_module

    for module in ("torchvision.models.convnext", "torchvision.ops.misc"):  # LayerNorm2d, Permute
        import_module(module)
    return found


def compare_layer(name, reference, ctor, shape, forward=""):
    """A torchvision layer against convcalc's, on a spec; its training-mode refusal too."""
    module = run(lambda: reference(**ctor))
    want = module if isinstance(module, Exception) else run(lambda: tuple(module.eval()(zeros(shape)).shape))
    got = engine(spec({"x": shape}, [f"y = {call_text(name, ctor)}(x)"], ["y"]))
    if isinstance(got, ConvcalcError):
        assert isinstance(want, Exception), f"convcalc refused what torchvision runs: {got}"
        return
    assert not isinstance(want, Exception), f"torchvision refused ({want!r}) what convcalc accepted"
    assert got.output_shape == want
    assert got.totals["params"] == sum(p.numel() for p in module.parameters())
    if not got.rows[-1].note:
        trained = run(lambda: module.train()(zeros(shape)))
        assert not isinstance(trained, Exception), trained
    agrees_and_exports(got)


@FEW
@given(st.one_of(st.sampled_from([-0.5, 0.0, 1.0, 1.5, 1, 0]), st.floats(0, 1)),
       st.sampled_from(["batch", "row", "rows", 3]), st.lists(st.integers(0, 3), min_size=1, max_size=4))
def test_stochastic_depth_layer(torchvision, p, mode, shape):
    compare_layer("StochasticDepth", torchvision.ops.StochasticDepth, {"p": p, "mode": mode}, shape)


@FEW
@given(st.lists(st.integers(0, 3), min_size=1, max_size=4), st.data())
def test_permute_layer(torchvision, shape, data):
    n = len(shape)
    dims = data.draw(st.one_of(st.permutations(list(range(n))),
                               st.lists(st.integers(-n - 1, n), min_size=max(n - 1, 0), max_size=n + 1)))
    dims = [d - n if data.draw(st.booleans()) and 0 <= d < n else d for d in dims]
    compare_layer("Permute", torchvision.ops.misc.Permute, {"dims": dims}, shape)


@FEW
@given(st.lists(st.integers(1, 4), min_size=3, max_size=5), st.data())
def test_layernorm2d_layer(torchvision, shape, data):
    ctor = {}
    choice = data.draw(st.integers(0, 3))
    if choice == 1:
        ctor["normalized_shape"] = data.draw(st.integers(1, 4))
    elif choice >= 2:
        ctor["normalized_shape"] = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    for flag in ("elementwise_affine", "bias"):
        if data.draw(st.booleans()):
            ctor[flag] = data.draw(st.booleans())
    reference = torchvision.models.convnext.LayerNorm2d
    if "normalized_shape" not in ctor:  # torch requires it; convcalc reads the channels
        got = engine(spec({"x": shape}, [f"y = {call_text('LayerNorm2d', ctor)}(x)"], ["y"]))
        if len(shape) != 4:
            assert isinstance(got, ConvcalcError)
            return
        ctor["normalized_shape"] = shape[1]
    compare_layer("LayerNorm2d", reference, ctor, shape)


@FEW
@given(st.one_of(st.sampled_from([-0.1, 0.0, 1.0, 2]), st.floats(0, 1)), st.sampled_from(["batch", "row", "x"]),
       st.sampled_from([None, True, False]), st.lists(st.integers(0, 3), min_size=1, max_size=3))
def test_stochastic_depth_function(torchvision, p, mode, training, shape):
    kwargs = {} if training is None else {"training": training}
    want = run(lambda: tuple(torchvision.ops.stochastic_depth(zeros(shape), p, mode, **kwargs).shape))
    extra = "" if training is None else f", training={training}"
    got = engine(spec({"x": shape}, [f"y = torchvision.ops.stochastic_depth(x, {p!r}, {mode!r}{extra})"], ["y"]))
    if isinstance(got, ConvcalcError):
        assert isinstance(want, Exception), f"convcalc refused what torchvision runs: {got}"
        return
    assert not isinstance(want, Exception), f"torchvision refused ({want!r}) what convcalc accepted"
    assert got.output_shape == want
    agrees_and_exports(got)


def test_sources_behave_as_torchvision(torchvision):
    """convcalc's own classes compute what torchvision's do, with the same state_dict."""
    from convcalc.backend.functions import compiled
    from convcalc.ops import FUNCTIONS

    def ours(name):
        return compiled(torch, REGISTRY[name].source)[name]

    x = torch.randn(4, 3, 5, 6)
    pairs = [(ours("LayerNorm2d")(3), torchvision.models.convnext.LayerNorm2d(3)),
             (ours("Permute")([0, 2, 3, 1]), torchvision.ops.misc.Permute([0, 2, 3, 1])),
             (ours("StochasticDepth")(0.5, "row"), torchvision.ops.StochasticDepth(0.5, "row"))]
    for mine, theirs in pairs:
        assert list(mine.state_dict()) == list(theirs.state_dict())
        theirs.load_state_dict(mine.state_dict())
        for mode in ("eval", "train"):
            getattr(mine, mode)()
            getattr(theirs, mode)()
            torch.manual_seed(0)
            a = mine(x)
            torch.manual_seed(0)
            assert torch.equal(a, theirs(x))
    function = compiled(torch, FUNCTIONS["stochastic_depth"].source)["stochastic_depth"]
    for args in ((0.3, "batch"), (0.3, "row"), (0.3, "row", False)):
        torch.manual_seed(1)
        a = function(x, *args)
        torch.manual_seed(1)
        assert torch.equal(a, torchvision.ops.stochastic_depth(x, *args))


def test_exported_file_defines_torchvision_layers_once(torchvision):
    text = spec({"x": (2, 4, 5, 5)}, [
        "a = LayerNorm2d(4)(x)", "b = LayerNorm2d(4)(a)", "c = StochasticDepth(0.2, 'batch')(b)",
        "d = Permute([0, 2, 3, 1])(c)", "e = torchvision.ops.stochastic_depth(d, 0.1, 'row')",
        "stochastic_depth = Permute([0, 3, 1, 2])(e)"], ["stochastic_depth"])
    report = report_of(text)
    code = export.to_torch(report, "test")
    assert code.count("class LayerNorm2d(nn.LayerNorm)") == 1
    assert code.count("def stochastic_depth(") == 1
    assert "nn.LayerNorm2d" not in code and "LayerNorm2d(normalized_shape=4)" in code
    agrees_and_exports(report)
    # the state_dict of the built network loads into torchvision's layers
    model = build.build(report)
    reference = torchvision.models.convnext.LayerNorm2d(4)
    reference.load_state_dict({k.split(".", 1)[1]: v for k, v in model.state_dict().items()
                               if k.startswith("0.")})
