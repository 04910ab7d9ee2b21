"""torchvision's video Swin functions (convcalc/ops/swin3d.py) against torchvision's own:
_get_window_and_shift_size and _compute_pad_size_3d (sizes in, sizes out), the 3-d
_get_relative_position_bias, _compute_attention_mask_3d and shifted_window_attention_3d.

Hypothesis draws the arguments, valid and not (windows of 0 or less, short lists, tuples
where torchvision writes into a list, maps that are not whole windows, heads that do not
divide the channels, biases that broadcast the scores): where convcalc accepts, torchvision
must give the same values or output shape, and the same MACs (FlopCounterMode); where
convcalc refuses, torchvision must refuse too. Our ``source`` functions must compute what
torchvision's do. The importer maps each torchvision function by identity: the 3-d
_get_relative_position_bias is never the 2-d one. Skipped without torchvision.
"""


import pytest
import sympy
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import requires_torch
from convcalc.backend.functions import compiled
from convcalc.errors import ConvcalcError, ShapeError
from convcalc.ops import FUNCTIONS
from helpers import engine, macs_of, outcome, spec_text

pytestmark = requires_torch
torch = pytest.importorskip("torch")

SOME = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
REFUSALS = (RuntimeError, ValueError, TypeError, IndexError, ZeroDivisionError)
VIDEO = "torchvision.models.video.swin_transformer."


@pytest.fixture(scope="module")
def video(torchvision):
    return torchvision.models.video.swin_transformer


def run(fn):
    return outcome(fn, REFUSALS)


spec = spec_text


def compare_values(call: str, reference):
    """A function of sizes: the spec asserts torchvision's value, or both refuse."""
    want = run(reference)
    lines = [f"v = {VIDEO}{call}"]
    if not isinstance(want, Exception):
        lines.append(f"_assert(v == {want!r}, 'torchvision gives {want!r}')")
    got = engine(spec({}, lines, ["x"]))
    if isinstance(got, ConvcalcError):
        assert isinstance(want, Exception), f"convcalc refused, or gave another value than {want!r}: {got}"
        return got
    assert not isinstance(want, Exception), f"torchvision refused ({want!r}) what convcalc accepted"
    assert got.rows == []  # shape arithmetic: no operation
    return want


def compare_function(call: str, inputs: dict, reference):
    want = run(reference)
    got = engine(spec(inputs, [f"y = {VIDEO}{call}"], ["y"]))
    if isinstance(got, ConvcalcError):
        assert isinstance(want, Exception), f"convcalc refused what torchvision runs: {got}"
        return got
    assert not isinstance(want, Exception), f"torchvision refused ({want!r}) what convcalc accepted"
    assert got.output_shape == tuple(want.shape)
    return got


def ours(name):
    return compiled(torch, FUNCTIONS[name].source)[name]


sizes3 = st.lists(st.integers(-1, 9), min_size=2, max_size=4)


# sizes in, sizes out ---------------------------------------------------------------------


@SOME
@given(sizes3, st.lists(st.integers(0, 12), min_size=2, max_size=4), sizes3, st.booleans(), st.booleans())
@example([1, 1], [16, 56, 56], [8, 7, 7], False, False)  # a short shift, never written into
@example([4, 3, 3], [8, 56, 56], (8, 7, 7), False, True)  # a tuple written into
def test_get_window_and_shift_size(video, shift, size, window, shift_tuple, window_tuple):
    shift, window = (tuple(shift) if shift_tuple else shift), (tuple(window) if window_tuple else window)
    got = compare_values(f"_get_window_and_shift_size({shift!r}, {size!r}, {window!r})",
                         lambda: video._get_window_and_shift_size(type(shift)(shift), list(size), type(window)(window)))
    ours_value = run(lambda: ours("_get_window_and_shift_size")(type(shift)(shift), list(size), type(window)(window)))
    if isinstance(got, Exception):
        assert isinstance(ours_value, Exception)
    else:
        assert type(ours_value) is type(got) and ours_value == got


@SOME
@given(st.lists(st.integers(0, 30), min_size=2, max_size=4), st.lists(st.integers(-3, 6), min_size=2, max_size=4))
def test_compute_pad_size_3d(video, size, patch):
    got = compare_values(f"_compute_pad_size_3d({tuple(size)!r}, {tuple(patch)!r})",
                         lambda: video._compute_pad_size_3d(tuple(size), tuple(patch)))
    if not isinstance(got, Exception):
        assert ours("_compute_pad_size_3d")(size, patch) == got


def test_sizes_of_a_symbolic_clip():
    t = sympy.Symbol("T", integer=True, positive=True)
    (pads,) = FUNCTIONS["_compute_pad_size_3d"].apply({"size_dhw": (t, 9, 10), "patch_size": (2, 4, 4)}).values
    assert [sympy.sympify(p).subs(t, n) for n in (5, 6) for p in pads[:1]] == [1, 0] and pads[1:] == (3, 2)
    with pytest.raises(ShapeError, match="depends on the input's size"):  # shrink the window or not
        FUNCTIONS["_get_window_and_shift_size"].apply(
            {"shift_size": [4, 3, 3], "size_dhw": [t, 56, 56], "window_size": [8, 7, 7]})


# tensors ------------------------------------------------------------------------------------


@SOME
@given(st.lists(st.integers(0, 6), min_size=0, max_size=3), st.lists(st.integers(0, 9), min_size=1, max_size=4),
       st.lists(st.integers(-1, 3), min_size=3, max_size=3))
def test_get_relative_position_bias(video, table, index, window):
    t, i = torch.randn(table), torch.zeros(index, dtype=torch.long)
    got = compare_function(f"_get_relative_position_bias(t, i, {window})",
                           {"t": table, "i": {"shape": index, "dtype": "int64"}},
                           lambda: video._get_relative_position_bias(t, i, window))
    if not isinstance(got, ConvcalcError):
        assert got.rows[-1].type == "_get_relative_position_bias_3d"
        assert torch.equal(ours("_get_relative_position_bias_3d")(t, i, window),
                           video._get_relative_position_bias(t, i, window))


@SOME
@given(st.lists(st.integers(0, 8), min_size=3, max_size=4), st.lists(st.integers(-1, 4), min_size=3, max_size=3),
       st.lists(st.integers(-2, 3), min_size=3, max_size=3))
def test_compute_attention_mask_3d(video, size, window, shift):
    x = torch.zeros(2, 3)
    got = compare_function(f"_compute_attention_mask_3d(x, {tuple(size)}, {tuple(window)}, {tuple(shift)})",
                           {"x": (2, 3)}, lambda: video._compute_attention_mask_3d(x, tuple(size), tuple(window),
                                                                                  tuple(shift)))
    if not isinstance(got, ConvcalcError):
        assert torch.equal(ours("_compute_attention_mask_3d")(x, size, window, shift),
                           video._compute_attention_mask_3d(x, tuple(size), tuple(window), tuple(shift)))


@st.composite
def attention_call(draw):
    """shifted_window_attention_3d's arguments: mostly consistent weights, sometimes not."""
    heads = draw(st.integers(1, 3))
    c = heads * draw(st.integers(1, 2)) if draw(st.integers(0, 5)) else draw(st.integers(1, 5))
    window = [draw(st.integers(1, 3)) for _ in range(3)]
    if not draw(st.integers(0, 12)):
        window[draw(st.integers(0, 2))] = draw(st.sampled_from([0, -1]))
    n = max(window[0] * window[1] * window[2], 1)

    def maybe(shape):
        shape = list(shape)
        if not draw(st.integers(0, 10)):
            i = draw(st.integers(0, len(shape) - 1))
            shape[i] = max(shape[i] + draw(st.sampled_from([-1, 1])), 0)
        return tuple(shape)

    clip = (draw(st.integers(0, 2)) if not draw(st.integers(0, 8)) else 1,
            *(draw(st.integers(0, 5)) for _ in range(3)), c)
    args = {"input": maybe(clip) if draw(st.integers(0, 12)) else clip[1:],
            "qkv_weight": maybe((3 * c, c)), "proj_weight": maybe((c, c)),
            "relative_position_bias": draw(st.sampled_from([(1, heads, n, n), (heads, n, n), (1, 1, n, n),
                                                            (1, heads, n, 1), (2, heads, n, n)]))}
    if draw(st.booleans()):
        args["qkv_bias"] = maybe((3 * c,))
    if draw(st.booleans()):
        args["proj_bias"] = maybe((c,))
    shift = [draw(st.integers(-1, 2)) for _ in range(draw(st.sampled_from([3, 3, 3, 2])))]
    return args, {"shift": shift, "heads": heads, "window": window}


@SOME
@given(attention_call())
@example(({"input": (1, 0, 2, 2, 2), "qkv_weight": (6, 2), "proj_weight": (2, 2),  # no window, shifted
           "relative_position_bias": (1, 1, 8, 8)}, {"shift": [1, 1, 1], "heads": 1, "window": [2, 2, 2]}))
@example(({"input": (1, 2, 2, 2, 2), "qkv_weight": (6, 2), "proj_weight": (2, 2),  # short, not shifted
           "relative_position_bias": (1, 1, 8, 8)}, {"shift": [0, 0], "heads": 1, "window": [2, 2, 2]}))
def test_shifted_window_attention_3d(video, case):
    args, options = case
    names = dict(zip(args, "xyzwvu"))
    tensors = {name: torch.randn(shape) for name, shape in args.items()}
    keywords = [k for k in args if k in ("qkv_bias", "proj_bias")]
    text = ", ".join([names[k] for k in ("input", "qkv_weight", "proj_weight", "relative_position_bias")]
                     + [repr(options["window"]), str(options["heads"]), repr(options["shift"])]
                     + [f"{k}={names[k]}" for k in keywords])

    def reference(fn=video.shifted_window_attention_3d):
        return fn(*(tensors[k] for k in ("input", "qkv_weight", "proj_weight", "relative_position_bias")),
                  options["window"], options["heads"], list(options["shift"]), **{k: tensors[k] for k in keywords})

    got = compare_function(f"shifted_window_attention_3d({text})", {names[k]: s for k, s in args.items()}, reference)
    if not isinstance(got, ConvcalcError):
        assert got.rows[-1].macs == macs_of(reference)
        torch.manual_seed(0)
        assert torch.allclose(reference(ours("shifted_window_attention_3d")), reference(), rtol=0, atol=1e-5)


def test_refusals_name_the_constraint_and_the_value(video):
    cases = [
        ("shifted_window_attention_3d(x, y, z, w, [2, 0, 2], 1, [1, 1, 1])", "window_size must be >= 1"),
        ("shifted_window_attention_3d(x[0], y, z, w, [2, 2, 2], 1, [1, 1, 1])", "5-d channels-last"),
        ("shifted_window_attention_3d(x, y, z, w, [2, 2, 2], 3, [1, 1, 1])", "split into 3 x num_heads"),
        ("shifted_window_attention_3d(x, y, z, w[:, None], [2, 2, 2], 1, [1, 1, 1])", "broadcasts the attention"),
        ("_compute_pad_size_3d((4, 4, 4), (2, 0, 2))", "must not hold 0"),
        ("_compute_attention_mask_3d(x, (4, 5, 4), (2, 2, 2), (1, 1, 1))", "not a whole number of"),
        ("_get_relative_position_bias(y, x[0, 0, 0, 0], [2, 2, 2])", "at least 2-d"),
    ]
    inputs = {"x": (1, 4, 4, 4, 2), "y": (6, 2), "z": (2, 2), "w": (2, 1, 8, 8)}
    for call, message in cases:
        got = engine(spec(inputs, [f"out = {VIDEO}{call}"], ["out"]))
        assert isinstance(got, ConvcalcError) and message in got.message, (call, got)
        assert "\n" not in str(got)


# the importer's mapping: by identity ----------------------------------------------------------


def test_torchvision_functions_map_by_identity_never_by_name(video):
    from torchvision.models import swin_transformer

    from convcalc.backend.fx_layers import Lost, qualified

    assert qualified(video._get_relative_position_bias) == f"{VIDEO}_get_relative_position_bias"
    assert qualified(swin_transformer._get_relative_position_bias) == \
        "torchvision.models.swin_transformer._get_relative_position_bias"

    def _get_relative_position_bias(table, index, window_size):  # a namesake in torchvision's module
        return table

    _get_relative_position_bias.__module__ = video.__name__
    with pytest.raises(Lost):
        qualified(_get_relative_position_bias)
    # and the spec reads each full name as its own function
    inputs = {"t": (27, 3), "i": {"shape": [8, 8], "dtype": "int64"}}
    for home, rule in ((VIDEO, "_get_relative_position_bias_3d"),
                       ("torchvision.models.swin_transformer.", "_get_relative_position_bias")):
        window = "[2, 2, 2]" if rule.endswith("3d") else "[2, 4]"
        got = engine(spec(inputs, [f"b = {home}_get_relative_position_bias(t, i, {window})"], ["b"]))
        assert not isinstance(got, ConvcalcError), got
        assert got.rows[-1].type == rule and got.output_shape == (1, 3, 8, 8)


def test_swin3d_imports_exactly_at_a_small_clip(video):
    from convcalc.backend.importer import import_spec

    text, _ = import_spec("torchvision.models.video:swin3d_t", [1, 3, 4, 64, 64])
    assert f"{VIDEO}shifted_window_attention_3d(" in text
    assert f"{VIDEO}_get_relative_position_bias(" in text
