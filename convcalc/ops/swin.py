"""torchvision's Swin Transformer: the layers ``ShiftedWindowAttention`` and ``PatchMerging``,
and the functions their ``forward`` calls, which torch.fx keeps as single calls
(``torch.fx.wrap``): ``shifted_window_attention``, ``_get_relative_position_bias`` and
``_patch_merging_pad`` (``torchvision.models.swin_transformer``'s names and signatures).

Swin keeps its feature maps channels-last, ``(B, H, W, C)``. ``shifted_window_attention``
pads H and W at the bottom and right to multiples of the window, rolls the map by
``-shift_size`` (no shift along an axis that one window covers), cuts it into windows of
``wh·ww`` tokens, runs multi-head self-attention in each window with a learned relative
position bias (and a mask that keeps the regions the roll brought together apart), and
undoes all of it: the output has the input's shape.

MACs, as for MultiheadAttention: the qkv projection (tokens × C × 3C) and the output
projection (tokens × C × C) over every token of the padded map, plus both products of
each window's attention, Q·Kᵀ and weights·V (heads × N² × head_dim each, N = wh·ww).
That is how torchvision's ``_ops`` counts swin_t (4.491 G: the two products are its
``aten.bmm``). ``PatchMerging``: its reduction (output tokens × 4C × 2C).

Receptive field: a position sees the window that contains it, which lies within
``window - 1`` positions either side: a ``(2·window - 1)`` square centred on it (an upper
bound; the roll's mask never mixes positions further apart). PatchMerging is a 2×2 window
of stride 2. Both act on the map's H and W, dims -3 and -2 of channels-last.

The layers are not torch.nn's: each carries its ``source``, a class of our own with
torchvision's parameter and buffer names (``qkv``, ``proj``,
``relative_position_bias_table``, ``relative_position_index``; ``norm``, ``reduction``)
and the same computation, which the tests compare with torchvision's.
"""

from __future__ import annotations

from convcalc.engine.symbolic import is_symbolic, unequal, violated
from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import (
    GLOBAL,
    Axes,
    LayerType,
    Step,
    Window,
    check_bool,
    check_count,
    prod,
    signature,
)
from convcalc.ops.elementwise import broadcast
from convcalc.ops.function import FunctionType, params
from convcalc.ops.swin_source import PATCH_MERGING_PAD_FUNCTION, RELATIVE_POSITION_BIAS_FUNCTION, SHIFTED_WINDOW_ATTENTION_FUNCTION, SHIFTED_WINDOW_ATTENTION, PATCH_MERGING
from convcalc.ops.linalg import linear_rule, matmul_shape


class TorchClass:
    """A torch.nn class by name, without importing torch: PatchMerging's ``norm_layer``
    default, ``nn.LayerNorm``. It equals the class itself (the signature tests compare it
    with torchvision's default), is written ``nn.LayerNorm`` in code, and when called (as
    the built module calls ``norm_layer(4 * dim)``) builds the torch.nn layer."""

    def __init__(self, name: str):
        self.name = name

    def __eq__(self, other) -> bool:
        if isinstance(other, TorchClass):
            return other.name == self.name
        return (isinstance(other, type) and other.__name__ == self.name
                and other.__module__.startswith("torch.nn."))

    def __hash__(self) -> int:
        return hash(("torch.nn", self.name))

    def __repr__(self) -> str:
        return f"nn.{self.name}"

    def __call__(self, *args, **kwargs):
        import torch

        return getattr(torch.nn, self.name)(*args, **kwargs)


LAYER_NORM = TorchClass("LayerNorm")

# Sources: our own code, torchvision's computation ------------------------------------

CHANNELS_LAST_FIX = ("Swin's maps are channels-last: permute an (N, C, H, W) map with "
                     "x.permute(0, 2, 3, 1), as its patch embedding does (Permute([0, 2, 3, 1]))")


def _map_window(kernel: tuple, stride: tuple, pad: tuple) -> tuple:
    """The receptive-field ops of a window over a channels-last map's H and W (dims -3 and
    -2): moved to the last two dims, the window, moved back."""
    return (Axes(((-3, -2), (-2, -1))), Window(kernel, stride, pad), Axes(((-2, -3), (-1, -2))))


def _ceil_div(a, b: int):
    """⌈a / b⌉ for b >= 1, as floor((a + b - 1) / b): symbolic sizes stay one floor deep."""
    return (a + b - 1) // b


def _nonzero(size) -> bool:
    """A size that is not zero (a symbolic size never is)."""
    return is_symbolic(size) or size != 0


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _pair(name: str, value, minimum=None, exact: bool = False) -> tuple:
    """window_size or shift_size: a list (or tuple) of integers, the first two used (exactly
    two for the layer); each at least ``minimum``."""
    count = "2" if exact else "at least 2"
    if not isinstance(value, (list, tuple)) or (len(value) != 2 if exact else len(value) < 2):
        raise ParamError(f"{name} must be a list of {count} integers [height, width], got {value!r}",
                         fix=f"e.g. {name}=[7, 7]" if name == "window_size" else f"e.g. {name}=[3, 3] (or [0, 0])")
    if not all(_integer(v) for v in value):
        raise ParamError(f"{name} must hold integers, got {value!r}")
    if minimum is not None and any(v < minimum for v in value[:2]):
        raise ParamError(f"{name} must be >= {minimum}, got {list(value)}",
                         fix="use a window of at least one position per axis")
    return value[0], value[1]


def _shift(value) -> tuple:
    if isinstance(value, tuple):
        raise ParamError(f"shift_size must be a list, got the tuple {value!r} (torchvision "
                         "calls shift_size.copy(), which a tuple does not have)",
                         fix=f"write it as a list: {list(value)!r}")
    return _pair("shift_size", value)


def _heads(heads) -> int:
    if not _integer(heads) or heads < 1:
        raise ParamError(f"num_heads must be an integer >= 1, got {heads!r}")
    return heads


def _map(shape: tuple) -> tuple:
    """(B, H, W, C) of a channels-last input."""
    if len(shape) != 4:
        raise ShapeError(f"expects a 4-d channels-last input (B, H, W, C), got the "
                         f"{len(shape)}-d shape {list(shape)}",
                         fix="reshape the tokens into a (B, H, W, C) map")
    return tuple(shape)


def _shifted(shift: list, window: tuple, pad_h, pad_w) -> bool:
    """Whether the forward rolls the map: no shift along an axis that one window covers,
    then ``sum(shift_size) > 0`` over the whole list, as torchvision writes it. An axis of
    symbolic size rolls only when it is longer than its window: that is the condition."""
    shift, open_axis = list(shift), None
    for axis, size in enumerate((pad_h, pad_w)):
        if not is_symbolic(size):
            shift[axis] = shift[axis] if size > window[axis] else 0
        elif shift[axis]:
            open_axis = axis
    if open_axis is None:
        return sum(shift) > 0
    kept, shift[open_axis] = sum(shift), 0
    if sum(shift) > 0:
        return True
    return kept > 0 and violated((pad_h, pad_w)[open_axis] > window[open_axis],
                                 "an empty map is not shifted")


def _attend(shape: tuple, qkv_w: tuple, proj_w: tuple, bias: tuple, window: tuple,
            heads: int, shift: list, qkv_b, proj_b, logit_scale) -> Step:
    """shifted_window_attention on shapes: its refusals, in its order, and its MACs."""
    batch, h, w, c = shape
    wh, ww = window
    pad_h, pad_w = _ceil_div(h, wh) * wh, _ceil_div(w, ww) * ww
    per_image = (pad_h // wh) * (pad_w // ww)
    windows = batch * per_image  # B · windows: the attention's batch
    n = wh * ww
    tokens = (windows, n, c)
    if logit_scale is not None and qkv_b is not None and not qkv_b:
        raise ShapeError("with logit_scale, qkv_bias is sliced in thirds, and a 0-d "
                         "qkv_bias cannot be", fix="give qkv_bias the shape [3 * C]")
    qkv = linear_rule({"input": tokens, "weight": qkv_w, "bias": qkv_b})
    features = prod(qkv.out[2:])
    head_dim = c // heads
    if _nonzero(windows) and violated(unequal(features, 3 * heads * head_dim),
                                      "the qkv features split into 3 x num_heads heads"):
        raise ShapeError(f"the qkv projection gives {features} features per token, which must "
                         f"split into 3 x num_heads x (C // num_heads) = 3 x {heads} x {head_dim}",
                         fix=f"use a number of heads that divides C={c}, and a qkv_weight of "
                         f"[3 * C, C] = [{3 * c}, {c}]")
    if logit_scale is None and not is_symbolic(head_dim) and head_dim == 0:
        raise ShapeError(f"C={c} gives C // num_heads = 0 features per head, and the queries are "
                         "scaled by (C // num_heads) ** -0.5 (Python raises ZeroDivisionError)",
                         fix=f"use at most C={c} heads")
    per_head = (windows, heads, n, head_dim)  # q, k and v
    scores, _ = matmul_shape("matmul", per_head, (windows, heads, head_dim, n))  # Q·Kᵀ
    macs = qkv.macs + prod(scores) * head_dim
    if logit_scale is not None:
        scores = broadcast(scores, tuple(logit_scale))
    scores = broadcast(scores, tuple(bias))
    if violated(unequal(prod(scores), windows * heads * n * n), "the bias keeps the attention's shape"):
        # a shift views the scores as (B, windows, num_heads, N, N); without one, the
        # product with V is reshaped into (B · windows, N, C): either refuses more values
        raise ShapeError(f"relative_position_bias {list(bias)} broadcasts the attention "
                         f"scores {[windows, heads, n, n]} to {list(scores)}",
                         fix=f"give the bias the shape [1, num_heads, N, N] = {[1, heads, n, n]}")
    if not is_symbolic(per_image) and per_image == 0 and _shifted(shift, window, pad_h, pad_w):
        raise ShapeError(f"the {h} x {w} map holds no window, and the shift's attention mask "
                         "divides by the number of windows (Python raises ZeroDivisionError)",
                         fix="give the map at least one row and one column")
    out, _ = matmul_shape("matmul", scores, per_head)  # weights·V
    macs += prod(out) * scores[-1]
    if violated(unequal(prod(out), windows * n * c), "the heads give C features"):
        raise ShapeError(f"num_heads x (C // num_heads) = {heads} x {head_dim} features per "
                         f"token cannot be reshaped into C={c}",
                         fix=f"use a number of heads that divides C={c}")
    proj = linear_rule({"input": tokens, "weight": proj_w, "bias": proj_b})
    if violated(unequal(prod(proj.out), windows * n * c), "proj gives C features"):
        raise ShapeError(f"the proj projection gives the shape {list(proj.out)}, which "
                         f"cannot be viewed back into the {list(shape)} map's windows",
                         fix=f"give proj_weight the shape [C, C] = [{c}, {c}]")
    return Step(tuple(shape), macs=macs + proj.macs,
                rf=_map_window((2 * wh - 1, 2 * ww - 1), (1, 1), (wh - 1, ww - 1)))


def _attention_options(b: dict) -> None:
    for name in ("attention_dropout", "dropout"):
        if isinstance(b[name], bool) or not isinstance(b[name], (int, float)) or not 0 <= b[name] <= 1:
            raise ParamError(f"{name} must be a probability between 0 and 1, got {b[name]!r} "
                             "(F.dropout checks it)")


def _shifted_window_attention_layer(b, shape):
    dim = check_count(b, "dim", 0)
    window = _pair("window_size", b["window_size"], minimum=1, exact=True)
    _pair("shift_size", b["shift_size"], exact=True)
    heads = _heads(b["num_heads"])
    check_bool(b, "qkv_bias", "proj_bias")
    _attention_options(b)
    _shift(b["shift_size"])  # a list: the forward copies it
    batch, h, w, c = _map(shape)
    if violated(unequal(c, dim), "the input has dim channels"):
        looks_first = not is_symbolic(shape[1]) and shape[1] == dim
        raise ShapeError(f"the input's last dim C={c} must be dim={dim} (a channels-last "
                         f"(B, H, W, C) map), got {list(shape)}",
                         fix=CHANNELS_LAST_FIX if looks_first else f"use dim={c}")
    wh, ww = window
    windows = batch * _ceil_div(h, wh) * _ceil_div(w, ww)
    if dim % heads and _nonzero(windows):
        raise ShapeError(f"num_heads must divide dim (each head gets dim // num_heads "
                         f"features), got dim={dim} and num_heads={heads}",
                         fix="use a number of heads that divides dim")
    step = _attend((batch, h, w, dim), (3 * dim, dim), (dim, dim), (1, heads, wh * ww, wh * ww),
                   window, heads, b["shift_size"], (3 * dim,) if b["qkv_bias"] else None,
                   (dim,) if b["proj_bias"] else None, None)
    table = (2 * wh - 1) * (2 * ww - 1) * heads
    params = 3 * dim * dim + dim * dim + (3 * dim if b["qkv_bias"] else 0) + (dim if b["proj_bias"] else 0)
    return Step(step.out, params=params + table, macs=step.macs, rf=step.rf)


def _norm_layer(b) -> None:
    if not isinstance(b["norm_layer"], TorchClass) or b["norm_layer"] != LAYER_NORM:
        raise ParamError(f"norm_layer must be nn.LayerNorm, its default, got "
                         f"{b['norm_layer']!r}", fix="omit norm_layer: convcalc builds "
                         "PatchMerging with nn.LayerNorm(4 * dim) only")


def _merge_shape(shape: tuple) -> tuple:
    if len(shape) < 3:
        raise ShapeError(f"expects a channels-last input [..., H, W, C] of at least 3 dims, got "
                         f"the {len(shape)}-d shape {list(shape)}", fix="reshape the tokens into an "
                         "(H, W, C) or (B, H, W, C) map")
    h, w = shape[-3], shape[-2]
    return (*shape[:-3], _ceil_div(h, 2), _ceil_div(w, 2))


def _patch_merging(b, shape):
    dim = check_count(b, "dim", 0)
    _norm_layer(b)
    positions = _merge_shape(shape)
    c = shape[-1]
    if violated(unequal(c, dim), "the input has dim channels"):
        looks_first = len(shape) == 4 and not is_symbolic(shape[1]) and shape[1] == dim
        raise ShapeError(f"the input's last dim C={c} must be dim={dim} (its norm is "
                         f"LayerNorm(4 * dim) over the 4C channels of each 2x2 patch), got {list(shape)}",
                         fix=CHANNELS_LAST_FIX if looks_first else f"use dim={c}")
    return Step((*positions, 2 * dim), params=8 * dim + 8 * dim * dim,
                macs=prod(positions) * 4 * dim * 2 * dim,
                rf=_map_window((2, 2), (2, 2), (0, 0)))


def _patch_merging_pad(b):
    shape = b["x"]
    positions = _merge_shape(shape)
    return Step((*positions, 4 * shape[-1]), rf=_map_window((2, 2), (2, 2), (0, 0)))


def _relative_position_bias(b):
    table, index = b["relative_position_bias_table"], b["relative_position_index"]
    wh, ww = _pair("window_size", b["window_size"])
    if not table:
        raise ShapeError("a 0-d relative_position_bias_table cannot be indexed by a tensor",
                         fix="give the table the shape [(2 * wh - 1) * (2 * ww - 1), num_heads]")
    picked = (*index, *table[1:])  # table[index]: a row per index
    n = wh * ww
    if n < 1:
        raise ShapeError(f"window_size {list(b['window_size'])} gives N = wh * ww = {n} "
                         "tokens, and the bias is viewed as (N, N, -1)", fix="use a window of at least 1x1")
    count = prod(picked)
    if not is_symbolic(count) and count % (n * n):
        raise ShapeError(f"the table's rows at relative_position_index give {list(picked)} "
                         f"= {count} values, which cannot be viewed as (N, N, -1) = ({n}, {n}, -1)",
                         fix=f"index the table with N * N = {n * n} indices (the buffer "
                         "relative_position_index of a wh x ww window)")
    return Step((1, count // (n * n), n, n), rf=GLOBAL)


def _shifted_window_attention(b):
    window = _pair("window_size", b["window_size"], minimum=1)
    heads = _heads(b["num_heads"])
    _shift(b["shift_size"])
    _attention_options(b)
    check_bool(b, "training")
    shape = _map(b["input"])
    return _attend(shape, b["qkv_weight"], b["proj_weight"], b["relative_position_bias"], window,
                   heads, b["shift_size"], b["qkv_bias"], b["proj_bias"], b["logit_scale"])


LAYERS = [
    LayerType(
        "ShiftedWindowAttention",
        signature("dim", "window_size", "shift_size", "num_heads", ("qkv_bias", True), ("proj_bias", True),
                  ("attention_dropout", 0.0), ("dropout", 0.0)),
        _shifted_window_attention_layer, family="torchvision",
        example="ShiftedWindowAttention(8, [3, 3], [1, 1], 2)", example_input=(2, 5, 7, 8),
        summary=("dim", "window_size", "shift_size", "num_heads"),
        source=SHIFTED_WINDOW_ATTENTION,
        doc="torchvision.models.swin_transformer.ShiftedWindowAttention: multi-head "
        "self-attention within windows of a channels-last (B, H, W, C) map (C = dim), padded "
        "to window multiples and rolled by -shift_size (no shift along an axis one window "
        "covers). Output: the input's shape. Params: 4·dim² (qkv, proj) + 4·dim biases + a "
        "(2wh−1)(2ww−1) × num_heads relative position bias table "
        "(relative_position_index is a buffer). MACs: tokens of the padded map × 4·dim² "
        "(qkv, proj) + per window 2 × num_heads × N² × dim/num_heads (Q·Kᵀ, weights·V), "
        "N = wh·ww.",
    ),
    LayerType(
        "PatchMerging",
        signature("dim", ("norm_layer", LAYER_NORM)),
        _patch_merging, family="torchvision",
        example="PatchMerging(4)", example_input=(2, 5, 6, 4),
        summary=("dim",),
        source=PATCH_MERGING,
        doc="torchvision.models.swin_transformer.PatchMerging: each 2x2 patch of a "
        "channels-last [..., H, W, C] map (C = dim; padded to even H and W) becomes 4C "
        "channels, LayerNorm-ed and reduced to 2C: [..., ⌈H/2⌉, ⌈W/2⌉, 2C]. norm_layer: "
        "nn.LayerNorm only. Params: 8·dim (norm) + 8·dim² (reduction, no bias). MACs: output "
        "positions × 8·dim².",
    ),
]

_SWIN = "torchvision.models.swin_transformer."

FUNCTIONS = [
    FunctionType(
        "_patch_merging_pad", params("x:tensor"), _patch_merging_pad, "torchvision",
        doc="torchvision.models.swin_transformer._patch_merging_pad: [..., H, W, C] padded to "
        "even H and W, each 2x2 patch's pixels side by side: [..., ⌈H/2⌉, ⌈W/2⌉, 4C].",
        examples=(("torchvision.models.swin_transformer._patch_merging_pad(x)", [(2, 5, 6, 3)]),
                  ("torchvision.models.swin_transformer._patch_merging_pad(x)", [(3, 3, 4)]),
                  ("torchvision.models.swin_transformer._patch_merging_pad(x)", [(2, 1, 7, 7, 2)]),
                  ("torchvision.models.swin_transformer._patch_merging_pad(x)", [(4, 5)])),
        method=False,
        source=PATCH_MERGING_PAD_FUNCTION, origin=f"{_SWIN}_patch_merging_pad",
    ),
    FunctionType(
        "_get_relative_position_bias",
        params("relative_position_bias_table:tensor", "relative_position_index:tensor", "window_size"),
        _relative_position_bias, "torchvision",
        doc="torchvision.models.swin_transformer._get_relative_position_bias: the table's rows "
        "at the index, viewed (N, N, -1) for N = wh·ww, as (1, num_heads, N, N). The index's "
        "dtype (integer) and values are not checked.",
        # the index: torch.max(y, 1)[1], the int64 indices of the maximum of each row of y
        examples=(("torchvision.models.swin_transformer._get_relative_position_bias(x, torch.max(y, 1)[1], [2, 3])",
                   [(15, 4), (36, 1)]),
                  ("torchvision.models.swin_transformer._get_relative_position_bias(x, torch.max(y, 1)[1], [2, 2])",
                   [(9, 3), (15, 1)]),
                  ("torchvision.models.swin_transformer._get_relative_position_bias(x, torch.max(y, 1)[1], [1, 2])",
                   [(3, 2, 2), (4, 1)])),
        method=False,
        source=RELATIVE_POSITION_BIAS_FUNCTION, origin=f"{_SWIN}_get_relative_position_bias",
    ),
    FunctionType(
        "shifted_window_attention",
        params("input:tensor", "qkv_weight:tensor", "proj_weight:tensor", "relative_position_bias:tensor",
               "window_size", "num_heads", "shift_size", ("attention_dropout", 0.0), ("dropout", 0.0),
               ("qkv_bias:tensor", None), ("proj_bias:tensor", None), ("logit_scale:tensor", None),
               ("training", True)),
        _shifted_window_attention, "torchvision",
        doc="torchvision.models.swin_transformer.shifted_window_attention: ShiftedWindowAttention's "
        "computation with its weights as tensors (qkv_weight [3C, C], proj_weight [C, C], "
        "relative_position_bias [1, num_heads, N, N]). Output: the input's shape. MACs: the "
        "qkv and proj projections over the padded map's tokens, Q·Kᵀ and weights·V per window.",
        examples=(
            ("torchvision.models.swin_transformer.shifted_window_attention(x, y, z, w, [3, 3], 2, [1, 1])",
             [(2, 5, 7, 4), (12, 4), (4, 4), (1, 2, 9, 9)]),
            ("torchvision.models.swin_transformer.shifted_window_attention(x, y, z, w, [2, 3], 3, [0, 0], qkv_bias=v)",
             [(1, 4, 4, 6), (18, 6), (6, 6), (1, 3, 6, 6), (18,)]),
            ("torchvision.models.swin_transformer.shifted_window_attention(x, y, z, w, [3, 3], 2, [1, 1])",
             [(2, 4, 5, 7), (12, 4), (4, 4), (1, 2, 9, 9)]),
            ("torchvision.models.swin_transformer.shifted_window_attention(x, y, z, w, [3, 3], 3, [1, 1])",
             [(2, 5, 7, 4), (12, 4), (4, 4), (1, 3, 9, 9)]),
            ("torchvision.models.swin_transformer.shifted_window_attention(x, y, z, w, [3, 3], 2, [1, 1])",
             [(2, 5, 7, 4), (12, 4), (4, 4), (1, 2, 8, 8)]),
        ),
        method=False,
        source=SHIFTED_WINDOW_ATTENTION_FUNCTION, origin=f"{_SWIN}shifted_window_attention",
    ),
]
