"""torchvision's video Swin Transformer (``torchvision.models.video.swin_transformer``): the
functions its ``ShiftedWindowAttention3d`` and ``PatchEmbed3d`` call, which torch.fx keeps as
single calls (``torch.fx.wrap``), under their names and signatures.

Two of them compute sizes only, and give sizes (shape arithmetic, no operation in the
table): ``_get_window_and_shift_size(shift_size, size_dhw, window_size)`` shrinks the
window to an axis no longer than it and drops that axis's shift, giving
``(window_size, shift_size)``; ``_compute_pad_size_3d(size_dhw, patch_size)`` gives what pads
each of three sizes to a multiple of its patch, ``(p − s mod p) mod p``.

``_get_relative_position_bias`` here is not the 2-d Swin's function of the same name (ops/
swin.py): it reads the top-left ``N × N`` block of a 2-d index (``N = wd·wh·ww``), and is
registered as ``_get_relative_position_bias_3d``; a spec calls torchvision's by its full
name, ``torchvision.models.video.swin_transformer._get_relative_position_bias``, and the
importer maps that function, by identity, to this one only.

``_compute_attention_mask_3d(x, size_dhw, window_size, shift_size)``: the roll's regions of a
``(D, H, W)`` map, as a ``(windows, N, N)`` mask. ``shifted_window_attention_3d``: a
channels-last ``(B, T, H, W, C)`` map padded at the end of T, H and W to window multiples,
rolled by ``-shift_size`` when ``sum(shift_size) > 0`` (the shift is not clamped here: the
module clamps it first), cut into windows of ``N`` tokens, multi-head self-attention in each
with the bias (and the mask), undone: the output has the input's shape.

MACs of the attention, as MultiheadAttention's and torch's FLOP counter count them: the qkv
and proj projections over every token of the padded map (tokens × C × 3C, tokens × C × C)
and both products per window, Q·Kᵀ and weights·V (heads × N² × head_dim each). The other
functions: 0. Receptive field of the attention: a ``(2·window − 1)`` box centred on each
position along T, H and W (dims -4 to -2), an upper bound as for the 2-d Swin.
"""

from __future__ import annotations

from convcalc.engine.symbolic import is_symbolic, pretty, unequal, violated
from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import GLOBAL, Axes, Step, Window, check_bool, prod
from convcalc.ops.elementwise import broadcast
from convcalc.ops.function import FunctionType, params
from convcalc.ops.indexing import slice_length
from convcalc.ops.linalg import linear_rule, matmul_shape
from convcalc.ops.swin3d_source import (
    ATTENTION_MASK_3D_FUNCTION,
    PAD_SIZE_3D_FUNCTION,
    RELATIVE_POSITION_BIAS_3D_FUNCTION,
    SHIFTED_WINDOW_ATTENTION_3D,
    WINDOW_AND_SHIFT_SIZE_FUNCTION,
)

_VIDEO = "torchvision.models.video.swin_transformer."


def _size(value) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or is_symbolic(value)


def _three(op: str, name: str, value, sizes: bool = False) -> list:
    """A list (or tuple) whose first three integers the function reads (a symbolic size
    where ``sizes``)."""
    if not isinstance(value, (list, tuple)) or len(value) < 3:
        raise ParamError(f"{op}: {name} must be a list of 3 integers (T, H, W), got {value!r}",
                         fix=f"e.g. {name}=[8, 7, 7]")
    if not all(_size(v) if sizes else isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ParamError(f"{op}: {name} must hold integers, got {value!r}")
    return list(value)


def _decided(op: str, condition, what: str) -> bool:
    """A comparison that picks a branch (not a refusal): decided, or refused for symbols."""
    if isinstance(condition, bool):
        return condition
    import sympy

    if condition in (sympy.true, sympy.false):
        return bool(condition)
    raise ShapeError(f"{op}: whether {what} ({pretty(condition)}) depends on the input's size, and "
                     "the shapes after it follow the answer", fix="give the input's T, H and W as numbers")


def _le(a, b):
    if is_symbolic(a) or is_symbolic(b):
        import sympy

        return sympy.Le(a, b)
    return a <= b


def _window_and_shift_size(b):
    op = "_get_window_and_shift_size"
    size, window = (_three(op, n, b[n], sizes=n == "size_dhw") for n in ("size_dhw", "window_size"))
    shift = b["shift_size"]
    if not isinstance(shift, (list, tuple)):
        raise ParamError(f"{op}: shift_size must be a list of 3 integers (T, H, W), got {shift!r}")
    shift = list(shift)
    for axis in range(3):
        if _decided(op, _le(size[axis], window[axis]), f"size {axis} fits in the window"):
            for name in ("window_size", "shift_size"):
                if isinstance(b[name], tuple):
                    raise ParamError(f"{op}: {name} is a tuple, and the size {pretty(size[axis])} "
                                     f"<= the window {window[axis]} is written into it (TypeError)",
                                     fix=f"give {name} as a list")
            if axis >= len(shift):
                raise ParamError(f"{op}: shift_size {list(shift)} has no axis {axis} to set to 0 (the size "
                                 f"{pretty(size[axis])} <= the window {window[axis]}): IndexError",
                                 fix="give shift_size 3 integers")
            window[axis], shift[axis] = size[axis], 0
    # the same kinds of sequence as given (torchvision changes and returns them)
    return Step(None, values=((type(b["window_size"])(window), type(b["shift_size"])(shift)),))


def _ceil_div(a, b: int):
    return (a + b - 1) // b


def _pad_size_3d(b):
    op = "_compute_pad_size_3d"
    size = _three(op, "size_dhw", b["size_dhw"], sizes=True)
    patch = _three(op, "patch_size", b["patch_size"])
    pads = []
    for s, p in zip(size[:3], patch[:3]):
        if p == 0:
            raise ParamError(f"{op}: patch_size must not hold 0, got {list(b['patch_size'])} (Python "
                             "raises ZeroDivisionError)", fix="use patches of at least 1")
        if is_symbolic(s) and p < 0:
            raise ShapeError(f"{op}: a negative patch {p} of the symbolic size {pretty(s)}",
                             fix="use patches of at least 1")
        pads.append(_ceil_div(s, p) * p - s if is_symbolic(s) else (p - s % p) % p)
    return Step(None, values=(tuple(pads),))


def _number(op: str, value, name: str):
    if is_symbolic(value):
        raise ShapeError(f"{op}: {name} = {pretty(value)} must be a number here",
                         fix="give the input's T, H and W as numbers")
    return value


def _relative_position_bias_3d(b):
    op = "_get_relative_position_bias"
    table, index = b["relative_position_bias_table"], b["relative_position_index"]
    window = _three(op, "window_size", b["window_size"], sizes=True)
    n = _number(op, window[0] * window[1] * window[2], "wd·wh·ww")
    if len(index) < 2:
        raise ShapeError(f"{op}: relative_position_index must be at least 2-d (it is sliced [:N, :N]), "
                         f"got {list(index)}", fix="give the buffer of an N x N window: [N, N]")
    picked = slice_length(None, n, 1, index[0]) * slice_length(None, n, 1, index[1]) * prod(index[2:])
    if not table:
        raise ShapeError(f"{op}: a 0-d relative_position_bias_table cannot be indexed by a tensor",
                         fix="give the table the shape [rows, num_heads]")
    if not is_symbolic(table[0]) and table[0] == 0 and picked:
        raise ShapeError(f"{op}: the table {list(table)} has no rows for the {picked} indices")
    count = picked * prod(table[1:])
    if n < 1:
        raise ShapeError(f"{op}: window_size {list(b['window_size'])} gives N = wd·wh·ww = {n}, and the "
                         "bias is viewed as (N, N, -1)", fix="use a window of at least 1x1x1")
    if violated(unequal(count % (n * n), 0), "the bias views as (N, N, -1)"):
        raise ShapeError(f"{op}: the table's rows at relative_position_index[:N, :N] give {pretty(count)} "
                         f"values, which cannot be viewed as (N, N, -1) = ({n}, {n}, -1)",
                         fix=f"give relative_position_index at least {n} x {n} entries")
    return Step((1, count // (n * n), n, n), rf=GLOBAL)


def _windows(op: str, value) -> list:
    window = _three(op, "window_size", value)
    if any(w < 1 for w in window[:3]):
        raise ParamError(f"{op}: window_size must be >= 1 along each axis, got {list(value)} (a 0 "
                         "divides by zero, a negative one is refused by view)",
                         fix="use a window of at least one position per axis")
    return window[:3]


def _attention_mask_3d(b):
    op = "_compute_attention_mask_3d"
    size = _three(op, "size_dhw", b["size_dhw"], sizes=True)
    if any(not is_symbolic(s) and s < 0 for s in size):
        raise ShapeError(f"{op}: size_dhw {list(size)} has a negative size (x.new_zeros refuses it)")
    window = _windows(op, b["window_size"])
    _three(op, "shift_size", b["shift_size"])
    grid = [s // w for s, w in zip(size, window)]
    if violated(unequal(prod(size), prod(grid) * prod(window)), "the map is a whole number of windows"):
        raise ShapeError(f"{op}: the {' x '.join(map(pretty, size))} map is not a whole number of "
                         f"{' x '.join(map(str, window))} windows (view refuses it)",
                         fix="pad the map to multiples of the window, as shifted_window_attention_3d does")
    n = prod(window)
    return Step((prod(grid), n, n), rf=GLOBAL)


def _probabilities(b: dict) -> None:
    for name in ("attention_dropout", "dropout"):
        if isinstance(b[name], bool) or not isinstance(b[name], (int, float)) or not 0 <= b[name] <= 1:
            raise ParamError(f"{name} must be a probability between 0 and 1, got {b[name]!r} "
                             "(F.dropout checks it)")


def _shifted_window_attention_3d(b):
    op = "shifted_window_attention_3d"
    window = _windows(op, b["window_size"])
    heads = b["num_heads"]
    if isinstance(heads, bool) or not isinstance(heads, int) or heads < 1:
        raise ParamError(f"{op}: num_heads must be an integer >= 1, got {heads!r}")
    shift = b["shift_size"]
    if not isinstance(shift, (list, tuple)) or not all(isinstance(s, int) and not isinstance(s, bool) for s in shift):
        raise ParamError(f"{op}: shift_size must be a list of integers, got {shift!r}")
    shifted = sum(shift) > 0
    if shifted:
        _three(op, "shift_size", shift)
    _probabilities(b)
    check_bool(b, "training")
    shape = b["input"]
    if len(shape) != 5:
        raise ShapeError(f"{op}: expects a 5-d channels-last input (B, T, H, W, C), got the "
                         f"{len(shape)}-d shape {list(shape)}", fix="permute (B, C, T, H, W) with "
                         "x.permute(0, 2, 3, 4, 1), as the patch embedding does")
    batch, *sizes, c = shape
    grid = [_ceil_div(s, w) for s, w in zip(sizes, window)]
    count = prod(grid)  # windows per clip
    windows, n = batch * count, prod(window)
    qkv = linear_rule({"input": (windows, n, c), "weight": b["qkv_weight"], "bias": b["qkv_bias"]})
    features, head_dim = prod(qkv.out[2:]), c // heads
    if (is_symbolic(windows) or windows != 0) and violated(
            unequal(features, 3 * heads * head_dim), "the qkv features split into 3 x num_heads heads"):
        raise ShapeError(f"{op}: the qkv projection gives {pretty(features)} features per token, which "
                         f"must split into 3 x num_heads x (C // num_heads) = 3 x {heads} x {pretty(head_dim)}",
                         fix=f"use a number of heads that divides C={pretty(c)}, and qkv_weight [3 * C, C]")
    if not is_symbolic(head_dim) and head_dim == 0:
        raise ShapeError(f"{op}: C={c} gives C // num_heads = 0 features per head, and the queries are "
                         "scaled by (C // num_heads) ** -0.5 (Python raises ZeroDivisionError)",
                         fix=f"use at most C={c} heads")
    per_head = (windows, heads, n, head_dim)
    scores, _ = matmul_shape("matmul", per_head, (windows, heads, head_dim, n))
    macs = qkv.macs + prod(scores) * head_dim
    scores = broadcast(scores, tuple(b["relative_position_bias"]))
    if violated(unequal(prod(scores), windows * heads * n * n), "the bias keeps the attention's shape"):
        raise ShapeError(f"{op}: relative_position_bias {list(b['relative_position_bias'])} broadcasts "
                         f"the attention scores {[windows, heads, n, n]} to {list(scores)}",
                         fix=f"give the bias the shape [1, num_heads, N, N] = {[1, heads, n, n]}")
    if shifted and not is_symbolic(count) and count == 0:
        raise ShapeError(f"{op}: the map {list(sizes)} holds no window, and the shifted attention "
                         "divides by the number of windows (Python raises ZeroDivisionError)",
                         fix="give the map at least one position along T, H and W")
    out, _ = matmul_shape("matmul", scores, per_head)
    macs += prod(out) * scores[-1]
    if violated(unequal(prod(out), windows * n * c), "the heads give C features"):
        raise ShapeError(f"{op}: num_heads x (C // num_heads) = {heads} x {pretty(head_dim)} features "
                         f"per token cannot be reshaped into C={pretty(c)}",
                         fix=f"use a number of heads that divides C={pretty(c)}")
    proj = linear_rule({"input": (windows, n, c), "weight": b["proj_weight"], "bias": b["proj_bias"]})
    if violated(unequal(prod(proj.out), windows * n * c), "proj gives C features"):
        raise ShapeError(f"{op}: the proj projection gives the shape {list(proj.out)}, which cannot be "
                         f"viewed back into the windows of {list(shape)}",
                         fix=f"give proj_weight the shape [C, C] = [{pretty(c)}, {pretty(c)}]")
    box = tuple(2 * w - 1 for w in window)
    rf = (Axes(((-4, -3), (-3, -2), (-2, -1))), Window(box, (1, 1, 1), tuple(w - 1 for w in window)),
          Axes(((-3, -4), (-2, -3), (-1, -2))))
    return Step(tuple(shape), macs=macs + proj.macs, rf=rf)


def _ex(call: str, *shapes):
    return (f"{_VIDEO}{call}", list(shapes))


FUNCTIONS = [
    FunctionType(
        "_get_window_and_shift_size", params("shift_size", "size_dhw", "window_size"),
        _window_and_shift_size, "torchvision",
        doc="torchvision.models.video.swin_transformer._get_window_and_shift_size: sizes in, sizes "
        "out (no operation): (window_size, shift_size) with, along each of T, H, W no longer than "
        "its window, the window shrunk to the size and no shift.",
        examples=(_ex("_get_window_and_shift_size([4, 3, 3], [16, 7, 9], [8, 7, 7])"),
                  _ex("_get_window_and_shift_size([0, 0, 0], [2, 56, 56], [8, 7, 7])"),
                  _ex("_get_window_and_shift_size((4, 3, 3), [2, 56, 56], (8, 7, 7))"),
                  _ex("_get_window_and_shift_size([4, 3], [16, 7, 9], [8, 7, 7])")),
        method=False, source=WINDOW_AND_SHIFT_SIZE_FUNCTION, origin=f"{_VIDEO}_get_window_and_shift_size",
    ),
    FunctionType(
        "_compute_pad_size_3d", params("size_dhw", "patch_size"), _pad_size_3d, "torchvision",
        doc="torchvision.models.video.swin_transformer._compute_pad_size_3d: sizes in, sizes out (no "
        "operation): for each of 3 sizes, (patch - size % patch) % patch, what pads it to a multiple "
        "of its patch.",
        examples=(_ex("_compute_pad_size_3d((16, 225, 223), (2, 4, 4))"),
                  _ex("_compute_pad_size_3d([3, 5, 8], [3, 2, 5])"),
                  _ex("_compute_pad_size_3d([3, 5, 8], [3, 0, 5])")),
        method=False, source=PAD_SIZE_3D_FUNCTION, origin=f"{_VIDEO}_compute_pad_size_3d",
    ),
    FunctionType(
        "_get_relative_position_bias_3d",
        params("relative_position_bias_table:tensor", "relative_position_index:tensor", "window_size"),
        _relative_position_bias_3d, "torchvision",
        doc="torchvision.models.video.swin_transformer._get_relative_position_bias (not the 2-d Swin's "
        "function of that name; a spec calls it by that full name): the table's rows at the "
        "index's top-left N x N block (N = wd·wh·ww), viewed (N, N, -1), as (1, num_heads, N, N). "
        "The index's dtype and values are not checked.",
        # the index: torch.max(y, 2)[1], the int64 indices of the maximum along y's last dim
        examples=(_ex("_get_relative_position_bias(x, torch.max(y, 2)[1], [2, 2, 2])", (27, 3), (8, 8, 1)),
                  _ex("_get_relative_position_bias(x, torch.max(y, 2)[1], [1, 2, 2])", (27, 3), (8, 8, 1)),
                  _ex("_get_relative_position_bias(x, torch.max(y, 2)[1], [1, 2, 3])", (27, 2), (4, 5, 1)),
                  _ex("_get_relative_position_bias(x, torch.max(y, 1)[1], [2, 2, 2])", (27, 3), (64, 1))),
        method=False, source=RELATIVE_POSITION_BIAS_3D_FUNCTION, origin=f"{_VIDEO}_get_relative_position_bias",
    ),
    FunctionType(
        "_compute_attention_mask_3d", params("x:tensor", "size_dhw", "window_size", "shift_size"),
        _attention_mask_3d, "torchvision",
        doc="torchvision.models.video.swin_transformer._compute_attention_mask_3d: the (windows, N, "
        "N) mask of the regions a roll by shift_size cuts a (D, H, W) map of whole windows into (N = "
        "wd·wh·ww); x gives only its dtype and device.",
        examples=(_ex("_compute_attention_mask_3d(x, (4, 14, 14), (2, 7, 7), (1, 3, 3))", (1, 3)),
                  _ex("_compute_attention_mask_3d(x, (4, 14, 15), (2, 7, 7), (1, 3, 3))", (1, 3)),
                  _ex("_compute_attention_mask_3d(x, (4, 14, 14), (2, 0, 7), (1, 3, 3))", (1, 3))),
        method=False, source=ATTENTION_MASK_3D_FUNCTION, origin=f"{_VIDEO}_compute_attention_mask_3d",
    ),
    FunctionType(
        "shifted_window_attention_3d",
        params("input:tensor", "qkv_weight:tensor", "proj_weight:tensor", "relative_position_bias:tensor",
               "window_size", "num_heads", "shift_size", ("attention_dropout", 0.0), ("dropout", 0.0),
               ("qkv_bias:tensor", None), ("proj_bias:tensor", None), ("training", True)),
        _shifted_window_attention_3d, "torchvision",
        doc="torchvision.models.video.swin_transformer.shifted_window_attention_3d: multi-head "
        "self-attention within the windows (wd x wh x ww = N tokens) of a channels-last (B, T, H, W, C) "
        "map padded to window multiples and rolled by -shift_size when sum(shift_size) > 0; "
        "qkv_weight [3C, C], proj_weight [C, C], relative_position_bias [1, num_heads, N, N]. "
        "Output: the input's shape. MACs: the qkv and proj projections over the padded map's "
        "tokens, Q·Kᵀ and weights·V per window.",
        examples=(
            _ex("shifted_window_attention_3d(x, y, z, w, [2, 3, 3], 2, [1, 1, 1])",
                (1, 3, 5, 4, 4), (12, 4), (4, 4), (1, 2, 18, 18)),
            _ex("shifted_window_attention_3d(x, y, z, w, [2, 2, 3], 3, [0, 0, 0], qkv_bias=v)",
                (2, 2, 4, 3, 6), (18, 6), (6, 6), (1, 3, 12, 12), (18,)),
            _ex("shifted_window_attention_3d(x, y, z, w, [2, 3, 3], 2, [1, 1, 1])",
                (1, 3, 5, 4, 4), (12, 4), (4, 4), (1, 2, 9, 9)),
            _ex("shifted_window_attention_3d(x, y, z, w, [2, 3, 3], 3, [1, 1, 1])",
                (1, 3, 5, 4, 4), (12, 4), (4, 4), (1, 3, 18, 18)),
            _ex("shifted_window_attention_3d(x, y, z, w, [2, 0, 3], 2, [1, 1, 1])",
                (1, 3, 5, 4, 4), (12, 4), (4, 4), (1, 2, 18, 18)),
        ),
        method=False, source=SHIFTED_WINDOW_ATTENTION_3D, origin=f"{_VIDEO}shifted_window_attention_3d",
    ),
]
