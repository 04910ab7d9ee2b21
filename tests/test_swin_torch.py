"""torchvision's Swin Transformer operations against convcalc's: ShiftedWindowAttention and
PatchMerging (the layers), shifted_window_attention, _get_relative_position_bias and
_patch_merging_pad (the functions torch.fx keeps whole), and zoo:tv-swin_t.

Our ``source`` classes and functions must compute what torchvision's do with the same
state_dict. Hypothesis draws the arguments and the inputs, valid and not (maps that are
not multiples of the window, windows larger than the map, shifts, heads that do not divide
the channels, channels-first inputs): where convcalc accepts, torchvision must run with the
same output shape, parameter count and MACs (torch's FlopCounterMode: its matmuls, /2);
where convcalc refuses, torchvision must refuse too. Skipped without torchvision.
"""


import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import requires_torch
from convcalc.backend import build
from convcalc.backend.functions import compiled
from convcalc.engine import symbolic
from convcalc.errors import ConvcalcError, ParamError, ShapeError
from convcalc.ops import FUNCTIONS, REGISTRY
from helpers import checked_and_exported, engine, macs_of, outcome, spec_text, zoo_report

pytestmark = requires_torch
torch = pytest.importorskip("torch")

FEW = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
SOME = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
REFUSALS = (RuntimeError, ValueError, TypeError, IndexError, ZeroDivisionError)


@pytest.fixture(scope="module")
def swin(torchvision):
    return torchvision.models.swin_transformer


def ours(name):
    """Our class or function ``name``, from its source, as the torch backend builds it."""
    rule = REGISTRY.get(name) or FUNCTIONS[name]
    return compiled(torch, rule.source)[name]


def run(fn):
    return outcome(fn, REFUSALS)


spec = spec_text


def call_text(name, args: dict) -> str:
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


def agrees_and_exports(report):
    """build.compare agrees on every operation, and the exported file runs."""
    model, _ = checked_and_exported(report)
    assert sum(p.numel() for p in model.parameters()) == report.totals["params"]


# our sources compute what torchvision's do --------------------------------------------

ATTENTION_CASES = [  # dim, window, shift, heads, input (B, H, W)
    (8, [3, 3], [1, 1], 2, (2, 7, 8)),  # padded to 9x9, shifted, masked
    (8, [3, 3], [0, 0], 2, (2, 6, 6)),  # whole windows, no shift
    (6, [2, 3], [1, 2], 3, (1, 5, 7)),  # rectangular window
    (4, [7, 7], [3, 3], 1, (1, 5, 6)),  # one window larger than the map: the shift drops
    (12, [2, 2], [1, 0], 4, (3, 4, 9)),  # shifted along H only
    (8, [4, 2], [2, 1], 2, (1, 4, 3)),  # one window along H: its shift drops, W's stays
]


@pytest.mark.parametrize("dim, window, shift, heads, size", ATTENTION_CASES)
@pytest.mark.parametrize("biases", [(True, True), (False, True), (True, False)])
def test_our_shifted_window_attention_computes_torchvisions(swin, dim, window, shift, heads, size, biases):
    torch.manual_seed(0)
    args = (dim, list(window), list(shift), heads)
    kwargs = {"qkv_bias": biases[0], "proj_bias": biases[1]}
    theirs = swin.ShiftedWindowAttention(*args, **kwargs)
    mine = ours("ShiftedWindowAttention")(*args, **kwargs)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert torch.equal(mine.relative_position_index, theirs.relative_position_index)
    mine.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(*size, dim)
    for mode in ("eval", "train"):  # dropout 0: the same in both
        getattr(mine, mode)()
        getattr(theirs, mode)()
        with torch.no_grad():
            assert torch.allclose(mine(x), theirs(x), rtol=0, atol=1e-5)


def test_our_dropout_draws_as_torchvisions(swin):
    args = (8, [3, 3], [1, 1], 2)
    theirs = swin.ShiftedWindowAttention(*args, attention_dropout=0.3, dropout=0.2).train()
    mine = ours("ShiftedWindowAttention")(*args, attention_dropout=0.3, dropout=0.2).train()
    mine.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 7, 8, 8)
    torch.manual_seed(3)
    a = mine(x)
    torch.manual_seed(3)
    assert torch.allclose(a, theirs(x), rtol=0, atol=1e-5)


@pytest.mark.parametrize("size", [(2, 5, 6, 4), (3, 4, 4), (1, 2, 7, 7, 4), (1, 1, 1, 4)])
def test_our_patch_merging_computes_torchvisions(swin, size):
    torch.manual_seed(0)
    theirs = swin.PatchMerging(4)
    mine = ours("PatchMerging")(4)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    mine.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(size)
    with torch.no_grad():
        assert torch.allclose(mine(x), theirs(x), rtol=0, atol=1e-5)
    assert torch.equal(ours("_patch_merging_pad")(x), swin._patch_merging_pad(x))


def test_our_functions_compute_torchvisions(swin):
    """The functions, with V2's cosine attention (logit_scale) and a qkv bias too."""
    torch.manual_seed(0)
    table, module = torch.randn(15, 3), swin.ShiftedWindowAttention(6, [3, 2], [1, 1], 3)
    index = module.relative_position_index
    bias = swin._get_relative_position_bias(table, index, [3, 2])
    assert torch.equal(ours("_get_relative_position_bias")(table, index, [3, 2]), bias)
    x, qkv_w, proj_w = torch.randn(2, 7, 5, 6), torch.randn(18, 6), torch.randn(6, 6)
    extra = {"qkv_bias": torch.randn(18), "proj_bias": torch.randn(6), "training": False}
    for more in ({}, {"logit_scale": torch.randn(3, 1, 1)}):
        for shift in ([0, 0], [1, 1], [2, 1]):
            args = (x, qkv_w, proj_w, bias, [3, 2], 3, shift)
            want = swin.shifted_window_attention(*args, **extra, **more)
            got = ours("shifted_window_attention")(*args, **extra, **more)
            assert torch.allclose(got, want, rtol=0, atol=1e-5)
    # a qkv_bias torchvision zeroes a third of for V2: a copy, the caller's is unchanged
    kept = extra["qkv_bias"].clone()
    ours("shifted_window_attention")(*args, **extra, logit_scale=torch.ones(3, 1, 1))
    assert torch.equal(extra["qkv_bias"], kept)


# the layers, drawn --------------------------------------------------------------------


@st.composite
def attention_layer(draw):
    heads = draw(st.integers(1, 3))
    dim = heads * draw(st.integers(1, 3)) if draw(st.integers(0, 5)) else draw(st.integers(1, 7))
    window = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
    if not draw(st.integers(0, 12)):
        window[draw(st.integers(0, 1))] = draw(st.sampled_from([0, -1]))
    shift = [draw(st.integers(0, max(w, 0))) for w in window]
    ctor = {"dim": dim, "window_size": window, "shift_size": shift, "num_heads": heads}
    for flag in ("qkv_bias", "proj_bias"):
        if draw(st.booleans()):
            ctor[flag] = draw(st.booleans())
    for p in ("attention_dropout", "dropout"):
        if not draw(st.integers(0, 4)):
            ctor[p] = draw(st.sampled_from([0.0, 0.5, 1.0, 1.5]))
    batch = draw(st.integers(0, 2)) if not draw(st.integers(0, 8)) else draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    channels = dim if draw(st.integers(0, 5)) else draw(st.integers(1, 8))
    shape = (batch, h, w, channels)
    if not draw(st.integers(0, 8)):
        shape = draw(st.sampled_from([(batch, channels, h, w), (h, w, channels), (1, batch, h, w, channels)]))
    return ctor, shape


def compare_layer(name, reference, ctor, shape, export_too=False):
    """convcalc's layer against torchvision's on an input: shape, params, MACs, refusals."""
    module = run(lambda: reference(**ctor))
    x = torch.randn(shape) if not isinstance(module, Exception) else None
    want = module if isinstance(module, Exception) else run(lambda: tuple(module.eval()(x).shape))
    got = engine(spec({"x": shape}, [f"y = {call_text(name, ctor)}(x)"], ["y"]))
    if isinstance(got, ConvcalcError):
        assert isinstance(want, Exception), f"convcalc refused what torchvision runs: {got}"
        return got
    assert not isinstance(want, Exception), f"torchvision refused ({want!r}) what convcalc accepted"
    assert got.output_shape == want
    assert got.totals["params"] == sum(p.numel() for p in module.parameters())
    assert got.totals["macs"] == macs_of(lambda: module(x))
    if export_too:
        agrees_and_exports(got)
    return got


@SOME
@given(attention_layer())
def test_shifted_window_attention_layer(swin, case):
    ctor, shape = case
    compare_layer("ShiftedWindowAttention", swin.ShiftedWindowAttention, ctor, shape)


@FEW
@given(attention_layer())
def test_shifted_window_attention_builds_and_exports(swin, case):
    ctor, shape = case
    got = compare_layer("ShiftedWindowAttention", swin.ShiftedWindowAttention, ctor, shape, export_too=True)
    if not isinstance(got, ConvcalcError):  # our built module against torchvision's
        model = build.build(got).eval()
        reference = swin.ShiftedWindowAttention(**ctor).eval()
        model.load_state_dict({f"0.{k}": v for k, v in reference.state_dict().items()}, strict=True)
        x = torch.randn(shape)
        with torch.no_grad():
            assert torch.allclose(model(x), reference(x), rtol=0, atol=1e-5)


@SOME
@given(st.integers(1, 6), st.lists(st.integers(0, 7), min_size=1, max_size=5), st.data())
def test_patch_merging_layer(swin, dim, shape, data):
    if len(shape) >= 1 and data.draw(st.integers(0, 4)):
        shape[-1] = dim
    export_too = data.draw(st.integers(0, 5)) == 0
    compare_layer("PatchMerging", swin.PatchMerging, {"dim": dim}, tuple(shape), export_too=export_too)


# the functions, drawn -----------------------------------------------------------------


def compare_function(call: str, inputs: dict, tensors: dict, reference):
    """A function call in a spec against torchvision's function on zeros-free tensors."""
    want = run(reference)
    got = engine(spec(inputs, [f"y = {call}"], ["y"]))
    if isinstance(got, ConvcalcError):
        assert isinstance(want, Exception), f"convcalc refused what torchvision runs: {got}"
        return got
    assert not isinstance(want, Exception), f"torchvision refused ({want!r}) what convcalc accepted"
    assert got.output_shape == tuple(want.shape)
    return got


@SOME
@given(st.lists(st.integers(0, 5), min_size=1, max_size=5))
def test_patch_merging_pad(swin, shape):
    x = torch.randn(shape)
    got = compare_function("torchvision.models.swin_transformer._patch_merging_pad(x)", {"x": shape}, {},
                           lambda: swin._patch_merging_pad(x))
    assert isinstance(got, ConvcalcError) or got.rows[-1].macs == 0


@SOME
@given(st.lists(st.integers(1, 6), min_size=1, max_size=3), st.lists(st.integers(0, 5), min_size=1, max_size=3),
       st.lists(st.integers(-2, 4), min_size=1, max_size=3))
def test_get_relative_position_bias(swin, table, index, window):
    t, i = torch.randn(table), torch.zeros(index, dtype=torch.long)
    compare_function(f"torchvision.models.swin_transformer._get_relative_position_bias(t, i, {window})",
                     {"t": table, "i": {"shape": index, "dtype": "int64"}}, {},
                     lambda: swin._get_relative_position_bias(t, i, window))


@st.composite
def attention_call(draw):
    """shifted_window_attention's arguments: mostly consistent weights, sometimes not."""
    heads = draw(st.integers(1, 3))
    c = heads * draw(st.integers(1, 3)) if draw(st.integers(0, 5)) else draw(st.integers(1, 6))
    window = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
    if not draw(st.integers(0, 12)):
        window[0] = draw(st.sampled_from([0, -1, -2]))
    n = max(window[0] * window[1], 1)  # tensor sizes (a negative window's is refused anyway)

    def maybe(shape):  # usually right, sometimes off by one somewhere
        shape = list(shape)
        if shape and not draw(st.integers(0, 10)):
            i = draw(st.integers(0, len(shape) - 1))
            shape[i] = max(shape[i] + draw(st.sampled_from([-1, 1])), 0)
        return tuple(shape)

    args = {
        "input": maybe((draw(st.integers(0, 2)), draw(st.integers(0, 9)), draw(st.integers(0, 9)), c)),
        "qkv_weight": maybe((3 * c, c)), "proj_weight": maybe((c, c)),
        "relative_position_bias": draw(st.sampled_from([(1, heads, n, n), (heads, n, n), (1, 1, n, n),
                                                        (1, heads, n, 1), (1, 1, heads, n, n), (2, heads, n, n)])),
    }
    options = {"shift": [draw(st.integers(-2, 3)), draw(st.integers(-2, 3))], "heads": heads, "window": window}
    if draw(st.booleans()):
        args["qkv_bias"] = maybe((3 * c,))
    if draw(st.booleans()):
        args["proj_bias"] = maybe((c,))
    if not draw(st.integers(0, 3)):
        args["logit_scale"] = draw(st.sampled_from([(heads, 1, 1), (1,), (heads, n, n), (2, 1, 1, 1)]))
    return args, options


@SOME
@given(attention_call())
@example(({"input": (0, 0, 2, 1), "qkv_weight": (3, 1), "proj_weight": (1, 1),  # no window, shifted
           "relative_position_bias": (1, 1, 1, 1)}, {"shift": [0, 1], "heads": 1, "window": [1, 1]}))
@example(({"input": (1, 3, 0, 2), "qkv_weight": (6, 2), "proj_weight": (2, 2),  # no window, sum 0
           "relative_position_bias": (1, 1, 1, 1)}, {"shift": [1, -1], "heads": 1, "window": [1, 1]}))
def test_shifted_window_attention_function(swin, case):
    args, options = case
    names = dict(zip(args, "xyzwvut"))
    tensors = {name: torch.randn(shape) for name, shape in args.items()}
    keywords = [k for k in args if k in ("qkv_bias", "proj_bias", "logit_scale")]
    text = ", ".join([names[k] for k in ("input", "qkv_weight", "proj_weight", "relative_position_bias")]
                     + [repr(options["window"]), str(options["heads"]), repr(options["shift"])]
                     + [f"{k}={names[k]}" for k in keywords])

    def reference():
        return swin.shifted_window_attention(
            *(tensors[k] for k in ("input", "qkv_weight", "proj_weight", "relative_position_bias")),
            options["window"], options["heads"], list(options["shift"]), **{k: tensors[k] for k in keywords})

    got = compare_function(f"torchvision.models.swin_transformer.shifted_window_attention({text})",
                           {names[k]: shape for k, shape in args.items()}, tensors, reference)
    if not isinstance(got, ConvcalcError):  # the function's row (totals count modules only)
        assert got.rows[-1].macs == macs_of(reference)


# refusals, one by one ------------------------------------------------------------------


def layer_error(item: str, shape) -> ConvcalcError:
    got = engine(spec({"x": shape}, [f"y = {item}(x)"], ["y"]))
    assert isinstance(got, ConvcalcError), got
    return got


def test_a_channels_first_map_is_refused_with_the_permute_to_do(swin):
    for item in ("ShiftedWindowAttention(96, [7, 7], [3, 3], 3)", "PatchMerging(96)"):
        got = layer_error(item, (1, 96, 56, 56))
        assert isinstance(got, ShapeError) and "x.permute(0, 2, 3, 1)" in got.fix
        assert "C=56 must be dim=96" in got.message
    with pytest.raises(RuntimeError):  # torchvision refuses it too
        swin.ShiftedWindowAttention(96, [7, 7], [3, 3], 3)(torch.zeros(1, 96, 56, 56))


def test_refusals_name_the_constraint_and_the_value(swin):
    cases = [
        ("ShiftedWindowAttention(64, [7, 7], [3, 3], 4)", (1, 14, 14, 96), "C=96 must be dim=64", "use dim=96"),
        ("ShiftedWindowAttention(96, [7, 7], [3, 3], 5)", (1, 14, 14, 96), "num_heads=5", "divides dim"),
        ("ShiftedWindowAttention(96, [7, 7], (3, 3), 3)", (1, 14, 14, 96), "shift_size must be a list", "[3, 3]"),
        ("ShiftedWindowAttention(96, [7], [3, 3], 3)", (1, 14, 14, 96), "window_size must be a list of 2", "[7, 7]"),
        ("ShiftedWindowAttention(96, [0, 7], [3, 3], 3)", (1, 14, 14, 96), "window_size must be >= 1", "window"),
        ("ShiftedWindowAttention(96, [7, 7], [3, 3], 3)", (14, 14, 96), "4-d channels-last", "(B, H, W, C)"),
        ("PatchMerging(96, norm_layer='BatchNorm2d')", (1, 14, 14, 96), "norm_layer must be nn.LayerNorm",
         "omit norm_layer"),
        ("PatchMerging(96)", (14, 96), "at least 3 dims", "map"),
    ]
    for item, shape, message, fix in cases:
        got = layer_error(item, shape)
        assert message in got.message and fix in got.fix, (item, str(got))
        assert "\n" not in str(got)
    # torchvision: a tuple shift_size fails at forward (shift_size.copy())
    with pytest.raises(AttributeError):
        swin.ShiftedWindowAttention(96, [7, 7], (3, 3), 3)(torch.zeros(1, 14, 14, 96))
    with pytest.raises(ParamError):
        REGISTRY["PatchMerging"].apply(REGISTRY["PatchMerging"].bind([4], {"norm_layer": "LayerNorm"}, (1, 2, 2, 4)),
                                      (1, 2, 2, 4))


def test_norm_layer_default_is_torchs_layernorm(swin):
    import inspect

    default = dict(REGISTRY["PatchMerging"].signature)["norm_layer"]
    assert default == inspect.signature(swin.PatchMerging).parameters["norm_layer"].default
    assert isinstance(default(8), torch.nn.LayerNorm) and repr(default) == "nn.LayerNorm"


def test_a_module_on_an_empty_batch_runs_as_torchvisions(swin):
    """heads that do not divide dim are refused, but for an empty input, as torch does."""
    ctor = {"dim": 5, "window_size": [2, 2], "shift_size": [1, 1], "num_heads": 2}
    assert not isinstance(compare_layer("ShiftedWindowAttention", swin.ShiftedWindowAttention, ctor, (0, 4, 4, 5)),
                          ConvcalcError)
    assert isinstance(compare_layer("ShiftedWindowAttention", swin.ShiftedWindowAttention, ctor, (1, 4, 4, 5)),
                      ConvcalcError)


# the zoo spec ---------------------------------------------------------------------------

H, W = symbolic.symbol("H"), symbolic.symbol("W")


def test_swin_t_symbolic_sizes_evaluate_to_the_numeric_ones():
    symbolic_report = zoo_report("tv-swin_t", (1, 3, H, W))
    for h, w in ((224, 224), (230, 250), (100, 60), (32, 32), (17, 41)):
        numeric = zoo_report("tv-swin_t", (1, 3, h, w))
        values = {H: h, W: w}
        for a, b in zip(symbolic_report.rows, numeric.rows, strict=True):
            got = tuple(int(v.subs(values)) if symbolic.is_symbolic(v) else v for v in a.output_shape)
            assert got == b.output_shape, (h, w, ".".join(a.path))
        assert int(symbolic_report.totals["macs"].subs(values)) == numeric.totals["macs"]


def test_swin_t_macs_are_torchs_count_at_other_sizes(swin):
    """At 224 the total is torchvision's _ops (test_torchvision); at sizes that are no
    multiple of the windows, the padded windows are counted as torch runs them."""
    model = swin.swin_t().eval()
    for size in ((1, 3, 230, 250), (2, 3, 100, 60)):
        x = torch.zeros(size)
        assert zoo_report("tv-swin_t", size).totals["macs"] == macs_of(lambda: model(x)), size


def test_swin_t_built_at_another_size_computes_torchvisions(swin):
    """The spec's network with torchvision's weights, on a map that is no multiple of the
    windows (padded, shifted and masked in every stage but the last)."""
    torch.manual_seed(0)
    reference = swin.swin_t().eval()
    built = build.build(zoo_report("tv-swin_t", (1, 3, 100, 60))).eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(1, 3, 100, 60, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(built(x), reference(x), rtol=0, atol=1e-4)


def test_swin_t_receptive_field_grows_with_the_windows():
    rows = {".".join(r.path): r for r in zoo_report("tv-swin_t").rows}
    # 4x4 patches, then each 7x7 window attention reaches 6 patches either side
    assert rows["features.1.0.attn"].rf.size == (52, 52)
    assert rows["features.1.1.attn"].rf.size == (100, 100)
    assert rows["features.2"].rf.size == (104, 104) and rows["features.2"].rf.jump == (8, 8)
