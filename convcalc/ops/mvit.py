"""torchvision's MViT (``torchvision.models.video.mvit``): the two functions its attention
and blocks call, which torch.fx keeps as single calls (``torch.fx.wrap``), under their
names and signatures, so that a traced model maps onto them one to one.

``_add_rel_pos(attn, q, q_thw, k_thw, rel_pos_h, rel_pos_w, rel_pos_t)`` adds MViT's
decomposed relative position bias to the attention logits, in place, past the class
token's row and column: q is ``[B, heads, 1 + q_t·q_h·q_w, dim]`` (a class token, then a
``q_t × q_h × q_w`` grid), attn ``[B, heads, 1 + Nq, 1 + Nk]`` (``Nk = k_t·k_h·k_w``).
Each table ``rel_pos_*`` is ``[rows, dim]``, linearly interpolated to ``2·max(q, k) − 1``
rows along its axis when it has another number. The bias is q's projection on each
table's rows, two einsums (h and w) and a matmul (t), broadcast to ``[B, heads, Nq, Nk]``.

``_add_shortcut(x, shortcut, residual_with_cls_embed)`` adds the shortcut in place, the
class token included or not (``x[:, :, 1:, :] += shortcut[:, :, 1:, :]``).

``_unsqueeze(x, target_dim, expand_dim)`` gives x with a dim of size 1 inserted at
``expand_dim`` when x has ``target_dim - 1`` dims (x itself when it has ``target_dim``, else
ValueError) and, as a second value, x's own number of dims, which
``_squeeze(x, target_dim, expand_dim, tensor_dim)`` reads to squeeze ``expand_dim`` again.

The rules follow the functions' code statement by statement, with torch's broadcasting:
an in-place ``+=`` broadcasts its right side into the left's shape (attn's batch may be
larger than q's batch of 1), einsum broadcasts a size of 1 (a table of one column), the
matmul's batch dims broadcast. Both return their first argument: its shape is the output.
Memory layout is not modelled: an expanded attn (stride 0) refuses an in-place add in torch.

MACs of ``_add_rel_pos``: its two einsums and its matmul,
``B·heads·q_t·q_h·q_w·dim·(k_h + k_w)`` and ``B·heads·q_h·q_w·q_t·dim·k_t`` (the
interpolation and the additions are not counted); ``_add_shortcut``: 0.
"""

from __future__ import annotations

from dataclasses import replace

from convcalc.engine.symbolic import any_symbolic, is_symbolic, unequal, violated
from convcalc.errors import ParamError, ShapeError
from convcalc.ops import shape as shape_ops
from convcalc.ops.base import GLOBAL, Step, check_bool, prod
from convcalc.ops.function import FunctionType, params
from convcalc.ops.linalg import matmul_shape

# Sources: our own code, torchvision's computation (the exported file's definitions, and
# what the torch backend runs where torchvision is not installed) --------------------

ADD_REL_POS_FUNCTION = '''def _add_rel_pos(attn, q, q_thw, k_thw, rel_pos_h, rel_pos_w, rel_pos_t):
    """torchvision's MViT _add_rel_pos: add to attn, in place past its class token's row and
    column, the relative position bias of q's (q_t, q_h, q_w) grid against the keys' grid."""
    q_t, q_h, q_w = q_thw
    k_t, k_h, k_w = k_thw

    def offsets(q_n, k_n):
        # the table row of each (query, key) pair: their distance, the smaller grid
        # stretched to the larger one, counted from the far end of the keys
        q_ratio = max(k_n / q_n, 1.0)
        k_ratio = max(q_n / k_n, 1.0)
        return torch.arange(q_n)[:, None] * q_ratio - (torch.arange(k_n)[None, :] + (1.0 - k_n)) * k_ratio

    def resized(table, rows):
        # a table of another length is interpolated (linearly) to 2 * max(q, k) - 1 rows
        if table.shape[0] == rows:
            return table
        return F.interpolate(table.permute(1, 0).unsqueeze(0), size=rows, mode="linear").squeeze(0).permute(1, 0)

    dist_h, dist_w, dist_t = offsets(q_h, k_h), offsets(q_w, k_w), offsets(q_t, k_t)
    rel_h = resized(rel_pos_h, int(2 * max(q_h, k_h) - 1))[dist_h.long()]  # [q_h, k_h, dim]
    rel_w = resized(rel_pos_w, int(2 * max(q_w, k_w) - 1))[dist_w.long()]
    rel_t = resized(rel_pos_t, int(2 * max(q_t, k_t) - 1))[dist_t.long()]
    B, n_head, _, dim = q.shape
    grid = q[:, :, 1:].reshape(B, n_head, q_t, q_h, q_w, dim)  # the class token left out
    bias_h = torch.einsum("bythwc,hkc->bythwk", grid, rel_h)  # [B, heads, q_t, q_h, q_w, k_h]
    bias_w = torch.einsum("bythwc,wkc->bythwk", grid, rel_w)  # [B, heads, q_t, q_h, q_w, k_w]
    # t: one matmul per query frame, [q_t, B * heads * q_h * q_w, dim] @ [q_t, dim, k_t]
    by_frame = grid.permute(2, 0, 1, 3, 4, 5).reshape(q_t, B * n_head * q_h * q_w, dim)
    bias_t = torch.matmul(by_frame, rel_t.transpose(1, 2)).transpose(0, 1)
    bias_t = bias_t.view(B, n_head, q_h, q_w, q_t, k_t).permute(0, 1, 4, 2, 3, 5)
    bias = (bias_h[:, :, :, :, :, None, :, None] + bias_w[:, :, :, :, :, None, None, :]
            + bias_t[:, :, :, :, :, :, None, None]).reshape(B, n_head, q_t * q_h * q_w, k_t * k_h * k_w)
    attn[:, :, 1:, 1:] += bias
    return attn
'''

ADD_SHORTCUT_FUNCTION = '''def _add_shortcut(x, shortcut, residual_with_cls_embed):
    """torchvision's MViT _add_shortcut: x + shortcut, in place; the class token (index 0 of
    dim 2) keeps x's own value unless residual_with_cls_embed."""
    if residual_with_cls_embed:
        x.add_(shortcut)
    else:
        x[:, :, 1:, :] += shortcut[:, :, 1:, :]
    return x
'''

UNSQUEEZE_FUNCTION = '''def _unsqueeze(x, target_dim, expand_dim):
    """torchvision's MViT _unsqueeze: x with a new dim of size 1 at expand_dim when it is one
    dim short of target_dim (else as it is, or ValueError), and x's own number of dims."""
    rank = x.dim()
    if rank not in (target_dim - 1, target_dim):
        raise ValueError(f"Unsupported input dimension {x.shape}")
    return (x.unsqueeze(expand_dim) if rank == target_dim - 1 else x), rank
'''

SQUEEZE_FUNCTION = '''def _squeeze(x, target_dim, expand_dim, tensor_dim):
    """torchvision's MViT _squeeze: undoes _unsqueeze, which gave tensor_dim."""
    return x.squeeze(expand_dim) if tensor_dim == target_dim - 1 else x
'''

# Shape rules ---------------------------------------------------------------------------

_SHAPE = {f.name: f for f in shape_ops.FUNCTIONS}  # unsqueeze and squeeze, as torch's


def _dims(op: str, b: dict, *names) -> None:
    for name in names:
        if not _integer(b[name]):
            raise ParamError(f"{op}: {name} must be an integer, got {b[name]!r}")


def _unsqueeze(b):
    _dims("_unsqueeze", b, "target_dim", "expand_dim")
    x, target = b["x"], b["target_dim"]
    if len(x) not in (target - 1, target):
        raise ShapeError(f"_unsqueeze: x must have target_dim = {target} dims, or one fewer, got the "
                         f"{len(x)}-d shape {list(x)} (torchvision raises ValueError: Unsupported "
                         "input dimension)", fix=f"give x {target - 1} or {target} dims")
    step = _SHAPE["unsqueeze"].apply({"input": x, "dim": b["expand_dim"]}) if len(x) == target - 1 \
        else Step(tuple(x))
    return replace(step, values=(len(x),))


def _squeeze(b):
    _dims("_squeeze", b, "target_dim", "expand_dim", "tensor_dim")
    if b["tensor_dim"] != b["target_dim"] - 1:
        return Step(tuple(b["x"]))
    return _SHAPE["squeeze"].apply({"input": b["x"], "dim": b["expand_dim"]})



def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _zero(size) -> bool:
    return not is_symbolic(size) and size == 0


def _one(size) -> bool:
    return not is_symbolic(size) and size == 1


def _after_first(size):
    """The length of ``[1:]`` along a dim of ``size``."""
    return size - 1 if is_symbolic(size) else max(size - 1, 0)


def _thw(op: str, name: str, value) -> tuple:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise ParamError(f"{op}: {name} must be 3 integers (t, h, w), got {value!r}",
                         fix=f"give the grid's frames, height and width, e.g. {name}=[2, 7, 7]")
    if not all(_integer(v) for v in value):
        raise ParamError(f"{op}: {name} must hold integers, got {value!r}",
                         fix="sizes of the token grid are plain integers")
    if any(v < 1 for v in value):
        raise ParamError(f"{op}: {name} must be >= 1 along each axis, got {list(value)} "
                         "(torchvision divides by them and counts positions with torch.arange)",
                         fix="give a grid of at least one position per axis")
    return tuple(value)


def _table(op: str, name: str, shape: tuple, rows: int, axis: str) -> tuple:
    """The dims after the rows of ``_interpolate(table, rows)`` (indexed, it becomes
    ``[q, k, *those]``): a table of ``rows`` rows is kept as it is, any other is
    interpolated, as a 2-d ``[rows, dim]``, to ``rows`` rows."""
    if not shape:
        raise ShapeError(f"{op}: {name} must be a table [2·max(q_{axis}, k_{axis}) − 1, dim], "
                         "got a 0-d tensor", fix=f"give {name} the shape [{rows}, dim]")
    if unequal(shape[0], rows) is False:  # already the length it needs
        return tuple(shape[1:])
    if len(shape) != 2:
        raise ShapeError(f"{op}: {name} of {shape[0]} rows is interpolated to 2·max(q_{axis}, "
                         f"k_{axis}) − 1 = {rows} rows, which needs a 2-d table [rows, dim], got "
                         f"the {len(shape)}-d shape {list(shape)}", fix=f"give {name} the shape [{rows}, dim]")
    if _zero(shape[0]) or _zero(shape[1]):
        raise ShapeError(f"{op}: {name} {list(shape)} is interpolated to {rows} rows, and "
                         "F.interpolate needs a non-empty table", fix=f"give {name} the shape [{rows}, dim]")
    return (shape[1],)


def _einsum_table(op: str, name: str, rest: tuple, dim, rows: int, axis: str):
    """The size of the einsum's ``c``: the table's columns broadcast with q's dim."""
    if len(rest) != 1:
        raise ShapeError(f"{op}: {name} must be a 2-d table [rows, dim] (it is indexed into a "
                         f"[q_{axis}, k_{axis}, dim] einsum operand), got {1 + len(rest)} dims",
                         fix=f"give {name} the shape [{rows}, dim]")
    (columns,) = rest
    if _one(columns):
        return dim
    if not _one(dim) and violated(unequal(columns, dim), f"{name} has q's dim columns"):
        raise ShapeError(f"{op}: {name} must have q's dim = {dim} columns (or 1), got {columns}",
                         fix=f"give {name} the shape [{rows}, {dim}]")
    return columns


def _view_strides(shape: tuple, strides: tuple, target: tuple) -> bool:
    """Whether ``view(target)`` of a tensor of ``shape`` and ``strides`` (concrete, same
    number of elements) needs no copy: torch's ``computeStride``."""
    if not shape or prod(shape) == 0:
        return True
    view_d = len(target) - 1
    base = strides[-1]
    tensor_numel = view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[d]
        if d == 0 or (shape[d - 1] != 1 and strides[d - 1] != tensor_numel * base):
            while view_d >= 0 and (view_numel < tensor_numel or target[view_d] == 1):
                view_numel *= target[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return False
            if d > 0:
                base = strides[d - 1]
                tensor_numel = view_numel = 1
    return view_d == -1


def _contiguous_strides(shape: tuple) -> tuple:
    out, step = [], 1
    for size in reversed(shape):
        out.append(step)
        step *= max(size, 1)
    return tuple(reversed(out))


def _frames(op: str, by_frame: tuple, rest: tuple, target: tuple):
    """The t bias: ``matmul(by_frame, rel_t.transpose(1, 2)).transpose(0, 1).view(target)``;
    its MACs."""
    q_t, k_t = target[4], target[5]
    rel_t = (q_t, k_t, *rest)
    if len(rel_t) < 3:
        raise ShapeError(f"{op}: rel_pos_t must be a 2-d table [rows, dim] (its rows, picked for "
                         f"each (q_t, k_t) pair, are transposed as [q_t, dim, k_t]), got a 1-d table",
                         fix=f"give rel_pos_t the shape [{2 * max(q_t, k_t) - 1}, dim]")
    dim = by_frame[2]
    if len(rest) == 1:  # a 2-d table: [q_t, M, dim] @ [q_t, dim, k_t], viewed as [B, heads, q_h, q_w, q_t, k_t]
        if violated(unequal(rest[0], dim), "rel_pos_t has q's dim columns"):
            raise ShapeError(f"{op}: rel_pos_t must have q's dim = {dim} columns (a matmul contracts "
                             f"them, without broadcasting), got {rest[0]}",
                             fix=f"give rel_pos_t the shape [{2 * max(q_t, k_t) - 1}, {dim}]")
        return prod(by_frame) * k_t
    # a table of more dims (as long as needed, so not interpolated): matmul broadcasts
    moved = (rel_t[0], rel_t[2], rel_t[1], *rel_t[3:])
    out, k = matmul_shape(f"{op} (q's frames @ rel_pos_t)", by_frame, moved)
    swapped = (out[1], out[0], *out[2:])
    if any_symbolic((*swapped, *target)):
        raise ShapeError(f"{op}: a rel_pos_t of {1 + len(rest)} dims is only supported with "
                         "concrete sizes", fix="give rel_pos_t the shape [rows, dim]")
    if prod(swapped) != prod(target):
        raise ShapeError(f"{op}: the t bias {list(swapped)} cannot be viewed as [B, heads, q_h, "
                         f"q_w, q_t, k_t] = {list(target)}",
                         fix=f"give rel_pos_t the shape [{2 * max(q_t, k_t) - 1}, dim]")
    strides = _contiguous_strides(out)
    if not _view_strides(swapped, (strides[1], strides[0], *strides[2:]), target):
        raise ShapeError(f"{op}: the t bias {list(swapped)} (transposed) cannot be viewed as "
                         f"{list(target)}: view size is not compatible with its strides",
                         fix=f"give rel_pos_t the shape [{2 * max(q_t, k_t) - 1}, dim]")
    return prod(out) * k


def _in_place(op: str, what: str, left: tuple, right: tuple, fix: str) -> None:
    """``left += right``: right broadcasts into left's shape."""
    if len(right) > len(left) or any(
            not _one(r) and violated(unequal(r, s), f"{op}'s in-place add keeps {what}'s shape")
            for s, r in zip(reversed(left), reversed(right))):
        raise ShapeError(f"{op}: {list(right)} cannot be added in place to {what} {list(left)}: "
                         "it must broadcast to that shape (each size equal, or 1)", fix=fix)


def _add_rel_pos(b):
    op = "_add_rel_pos"
    q_t, q_h, q_w = _thw(op, "q_thw", b["q_thw"])
    k_t, k_h, k_w = _thw(op, "k_thw", b["k_thw"])
    rows = {a: 2 * max(qs, ks) - 1 for a, qs, ks in (("h", q_h, k_h), ("w", q_w, k_w), ("t", q_t, k_t))}
    rest = {a: _table(op, f"rel_pos_{a}", b[f"rel_pos_{a}"], rows[a], a) for a in "hwt"}
    attn, q = b["attn"], b["q"]
    if len(q) != 4:
        raise ShapeError(f"{op}: q must be 4-d [B, heads, 1 + q_t·q_h·q_w, dim], got the "
                         f"{len(q)}-d shape {list(q)}", fix="give q the attention's [B, heads, tokens, dim]")
    batch, heads, tokens, dim = q
    nq, nk = q_t * q_h * q_w, k_t * k_h * k_w
    if (not any(_zero(s) for s in (batch, heads, dim))
            and violated(unequal(_after_first(tokens), nq), "q has a class token and q_t·q_h·q_w tokens")):
        raise ShapeError(f"{op}: q must have 1 + q_t·q_h·q_w = {1 + nq} tokens (a class token and "
                         f"the {q_t}x{q_h}x{q_w} grid of q_thw {list(b['q_thw'])}), got {tokens} in {list(q)}",
                         fix=f"give q {1 + nq} tokens, or give q_thw the grid of q's tokens after its class token")
    grid = (batch, heads, q_t, q_h, q_w)
    c_h = _einsum_table(op, "rel_pos_h", rest["h"], dim, rows["h"], "h")
    c_w = _einsum_table(op, "rel_pos_w", rest["w"], dim, rows["w"], "w")
    macs = prod(grid) * c_h * k_h + prod(grid) * c_w * k_w
    macs += _frames(op, (q_t, batch * heads * q_h * q_w, dim), rest["t"], (batch, heads, q_h, q_w, q_t, k_t))
    if len(attn) < 4:
        raise ShapeError(f"{op}: attn must be [B, heads, 1 + q_t·q_h·q_w, 1 + k_t·k_h·k_w] (at least "
                         f"4-d: attn[:, :, 1:, 1:] is added to), got the {len(attn)}-d shape {list(attn)}",
                         fix=f"give attn the shape [{batch}, {heads}, {1 + nq}, {1 + nk}]")
    window = (attn[0], attn[1], _after_first(attn[2]), _after_first(attn[3]), *attn[4:])
    _in_place(op, "attn[:, :, 1:, 1:]", window, (batch, heads, nq, nk),
              fix=f"attn is [B, heads, 1 + q_t·q_h·q_w, 1 + k_t·k_h·k_w] = "
              f"[{batch}, {heads}, {1 + nq}, {1 + nk}]")
    return Step(tuple(attn), macs=macs, rf=GLOBAL)


def _add_shortcut(b):
    op = "_add_shortcut"
    check_bool(b, "residual_with_cls_embed")
    x, shortcut = b["x"], b["shortcut"]
    if b["residual_with_cls_embed"]:
        _in_place(op, "x", x, shortcut, fix="give shortcut x's shape")
        return Step(tuple(x))
    for name, shape in (("x", x), ("shortcut", shortcut)):
        if len(shape) < 4:
            raise ShapeError(f"{op}: {name} must be at least 4-d [B, heads, tokens, dim] (without the "
                             f"class token, [:, :, 1:, :] is added), got the {len(shape)}-d shape {list(shape)}",
                             fix="give x and shortcut the blocks' [B, heads, tokens, dim]")
    _in_place(op, "x[:, :, 1:, :]", (*x[:2], _after_first(x[2]), *x[3:]),
              (*shortcut[:2], _after_first(shortcut[2]), *shortcut[3:]), fix="give shortcut x's shape")
    return Step(tuple(x))


_MVIT = "torchvision.models.video.mvit."

FUNCTIONS = [
    FunctionType(
        "_add_rel_pos",
        params("attn:tensor", "q:tensor", "q_thw", "k_thw", "rel_pos_h:tensor", "rel_pos_w:tensor",
               "rel_pos_t:tensor"),
        _add_rel_pos, "torchvision",
        doc="torchvision.models.video.mvit._add_rel_pos: adds, in place, MViT's decomposed "
        "relative position bias to attn [B, heads, 1 + q_t·q_h·q_w, 1 + k_t·k_h·k_w] past the "
        "class token, from q [B, heads, 1 + q_t·q_h·q_w, dim] and tables rel_pos_h/w/t "
        "[rows, dim] (interpolated to 2·max(q, k) − 1 rows). Output: attn's shape. MACs: two "
        "einsums and a matmul, B·heads·q_t·q_h·q_w·dim·(k_h + k_w + k_t).",
        examples=(
            (f"{_MVIT}_add_rel_pos(x, y, [2, 3, 2], [1, 2, 2], z, w, v)",
             [(2, 3, 13, 5), (2, 3, 13, 4), (5, 4), (3, 4), (3, 4)]),
            (f"{_MVIT}_add_rel_pos(x, y, (1, 2, 2), (2, 4, 4), z, w, v)",
             [(1, 2, 5, 33), (1, 2, 5, 8), (3, 8), (7, 8), (1, 8)]),
            (f"{_MVIT}_add_rel_pos(x, y, [2, 3, 2], [1, 2, 2], z, w, v)",
             [(2, 3, 14, 5), (2, 3, 13, 4), (5, 4), (3, 4), (3, 4)]),
            (f"{_MVIT}_add_rel_pos(x, y, [2, 3, 2], [1, 2, 2], z, w, v)",
             [(2, 3, 13, 5), (2, 3, 12, 4), (5, 4), (3, 4), (3, 4)]),
            (f"{_MVIT}_add_rel_pos(x, y, [2, 3, 2], [1, 2, 2], z, w, v)",
             [(2, 3, 13, 5), (2, 3, 13, 4), (5, 5), (3, 4), (3, 4)]),
            (f"{_MVIT}_add_rel_pos(x, y, [2, 3, 2], [1, 2, 2], z, w, v)",
             [(2, 3, 13, 5), (2, 3, 13, 4), (5, 4), (3, 4), (3, 1)]),
            (f"{_MVIT}_add_rel_pos(x, y, [2, 3, 2], [1, 2, 2], z, w, v)",
             [(2, 3, 13, 5), (2, 3, 13, 4), (5, 4, 1), (3, 4), (3, 4)]),
        ),
        method=False,
        source=ADD_REL_POS_FUNCTION, origin=f"{_MVIT}_add_rel_pos",
    ),
    FunctionType(
        "_add_shortcut", params("x:tensor", "shortcut:tensor", "residual_with_cls_embed"),
        _add_shortcut, "torchvision",
        doc="torchvision.models.video.mvit._add_shortcut: x += shortcut in place, all of it "
        "(residual_with_cls_embed) or past the class token (x[:, :, 1:, :] += "
        "shortcut[:, :, 1:, :]); shortcut broadcasts to x. Output: x's shape. MACs: 0.",
        examples=(
            (f"{_MVIT}_add_shortcut(x, y, True)", [(2, 3, 5, 4), (2, 3, 5, 4)]),
            (f"{_MVIT}_add_shortcut(x, y, False)", [(2, 3, 5, 4), (2, 3, 5, 4)]),
            (f"{_MVIT}_add_shortcut(x, y, True)", [(2, 3, 5, 4), (1, 3, 1, 4)]),
            (f"{_MVIT}_add_shortcut(x, y, True)", [(1, 3, 5, 4), (2, 3, 5, 4)]),
            (f"{_MVIT}_add_shortcut(x, y, False)", [(2, 3, 5, 4), (2, 3, 1, 4)]),
            (f"{_MVIT}_add_shortcut(x, y, False)", [(3, 5, 4), (3, 5, 4)]),
        ),
        method=False,
        source=ADD_SHORTCUT_FUNCTION, origin=f"{_MVIT}_add_shortcut",
    ),
    FunctionType(
        "_unsqueeze", params("x:tensor", "target_dim", "expand_dim"), _unsqueeze, "torchvision",
        doc="torchvision.models.video.mvit._unsqueeze: (x, x.dim()), x unsqueezed at expand_dim "
        "when it has target_dim - 1 dims; x must have target_dim dims or one fewer. Two values: "
        "a, n = _unsqueeze(x, 4, 1).",
        examples=(
            (f"{_MVIT}_unsqueeze(x, 4, 1)", [(2, 5, 3)]),
            (f"{_MVIT}_unsqueeze(x, 4, 1)", [(2, 3, 5, 3)]),
            (f"{_MVIT}_unsqueeze(x, 5, -1)", [(2, 3, 5, 3)]),
            (f"{_MVIT}_unsqueeze(x, 4, 1)", [(5, 3)]),
            (f"{_MVIT}_unsqueeze(x, 4, 4)", [(2, 5, 3)]),
        ),
        method=False, values=1,
        source=UNSQUEEZE_FUNCTION, origin=f"{_MVIT}_unsqueeze",
    ),
    FunctionType(
        "_squeeze", params("x:tensor", "target_dim", "expand_dim", "tensor_dim"), _squeeze, "torchvision",
        doc="torchvision.models.video.mvit._squeeze: x.squeeze(expand_dim) when tensor_dim (from "
        "_unsqueeze) is target_dim - 1, else x.",
        examples=(
            (f"{_MVIT}_squeeze(x, 4, 1, 3)", [(2, 1, 5, 3)]),
            (f"{_MVIT}_squeeze(x, 4, 1, 4)", [(2, 1, 5, 3)]),
            (f"{_MVIT}_squeeze(x, 4, 1, 3)", [(2, 4, 5, 3)]),
            (f"{_MVIT}_squeeze(x, 4, 7, 3)", [(2, 1, 5, 3)]),
        ),
        method=False,
        source=SQUEEZE_FUNCTION, origin=f"{_MVIT}_squeeze",
    ),
]
