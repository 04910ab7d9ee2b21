"""Attention and embedding: MultiheadAttention and Embedding, with torch's checks.

``MultiheadAttention`` takes three inputs (``attn(q, k, v)``): its ``forward`` arguments
are bound as torch binds them (``LayerType.forward``) and its rule is the one of
``F.multi_head_attention_forward``, the path torch takes whenever its inference fast
path does not apply (training, masks of floats, cross-attention, odd head counts...).
"""

from __future__ import annotations

from convcalc.engine.symbolic import is_symbolic, unequal, violated
from convcalc.errors import ParamError, ShapeError, SpecError
from convcalc.ops.base import (
    GLOBAL,
    Axes,
    Infer,
    LayerType,
    Step,
    check_bool,
    check_count,
    prod,
    signature,
)
from convcalc.ops.function import params


def _differ(a, b, why: str) -> bool:
    return violated(unequal(a, b), why)


def _shape_differs(a: tuple, b: tuple, why: str) -> bool:
    return len(a) != len(b) or any(_differ(x, y, why) for x, y in zip(a, b))


def _empty(size) -> bool:
    """A size that is zero (a symbolic size never is)."""
    return not is_symbolic(size) and size == 0


def _number(b: dict, name: str, allow_none: bool = False) -> None:
    value = b[name]
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(f"{name} must be a number{' or None' if allow_none else ''}, got {value!r}")


# Embedding ----------------------------------------------------------------------------


def _embedding(b, shape):
    num = check_count(b, "num_embeddings", 0)
    dim = check_count(b, "embedding_dim", 0)
    pad = b["padding_idx"]
    if pad is not None:
        if isinstance(pad, bool) or not isinstance(pad, int):
            raise ParamError(f"padding_idx must be an integer or None, got {pad!r}")
        if not -num <= pad < num:
            raise ParamError(
                f"padding_idx must be within num_embeddings ({-num} <= padding_idx < {num}), "
                f"got padding_idx={pad}",
                fix=f"use a row of the table, from 0 to {num - 1}" if num else "use padding_idx=None",
            )
    _number(b, "max_norm", allow_none=True)
    _number(b, "norm_type")
    check_bool(b, "scale_grad_by_freq", "sparse", "_freeze")
    if b["_weight"] is not None:
        raise SpecError("_weight (a ready-made weight tensor) cannot be given in a spec",
                        fix="drop _weight: the table has the same num_embeddings x embedding_dim parameters")
    if num == 0 and not _empty(prod(shape)):
        raise ShapeError(
            f"an Embedding of 0 rows has no index in range, and the input {list(shape)} "
            "has indices to look up",
            fix="use num_embeddings >= 1",
        )
    n = len(shape)
    return Step(
        (*shape, dim),
        params=num * dim,
        # each index becomes a vector: the input's dims keep their place, a new last dim
        rf=(Axes(tuple((i - n, i - n - 1) for i in range(n))),),
    )


# MultiheadAttention -------------------------------------------------------------------


def _mha_init(b) -> tuple[int, int, int, int]:
    """The constructor's checks; (embed_dim, num_heads, kdim, vdim)."""
    e, h = b["embed_dim"], b["num_heads"]
    for name, value in (("embed_dim", e), ("num_heads", h)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamError(f"{name} must be an integer, got {value!r}")
    if e <= 0 or h <= 0:
        raise ParamError(f"embed_dim and num_heads must be greater than 0, got embed_dim={e} "
                         f"and num_heads={h}")
    if e % h:
        raise ParamError(f"embed_dim must be divisible by num_heads, got embed_dim={e} and "
                         f"num_heads={h}",
                         fix="use a number of heads that divides embed_dim (each head gets "
                         "embed_dim // num_heads features)")
    dims = []
    for name in ("kdim", "vdim"):
        value = b[name]
        if value is None:
            dims.append(e)
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ParamError(f"{name} must be a non-negative integer or None, got {value!r}")
        dims.append(value)
    p = b["dropout"]
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ParamError(f"dropout must be a probability between 0 and 1, got {p!r} "
                         "(PyTorch checks it when training)")
    check_bool(b, "bias", "add_bias_kv", "add_zero_attn", "batch_first")
    return e, h, dims[0], dims[1]


def _mha_params(b) -> int:
    e, _, kdim, vdim = _mha_init(b)
    packed = kdim == e and vdim == e
    count = 3 * e * e if packed else e * e + e * kdim + e * vdim  # in_proj or q/k/v_proj_weight
    count += e * e  # out_proj.weight
    if b["bias"]:
        count += 3 * e + e  # in_proj_bias, out_proj.bias
    if b["add_bias_kv"]:
        count += 2 * e  # bias_k, bias_v
    return count


def _mha(b, shape):
    """The constructor alone (the forward's rule, ``_mha_call``, gives the real step)."""
    return Step(tuple(shape), params=_mha_params(b), rf=GLOBAL)


def _query_features(shape):
    if len(shape) not in (2, 3):
        raise _query_rank(shape)
    return shape[-1]


def _query_rank(shape) -> ShapeError:
    return ShapeError(
        f"query must be 2-d (L, E) unbatched or 3-d batched, got the {len(shape)}-d shape {list(shape)}",
        fix="(L, N, E), or (N, L, E) with batch_first=True",
    )


def _mha_call(b, shape, call):
    e, h, kdim, vdim = _mha_init(b)
    check_bool(call, "need_weights", "average_attn_weights", "is_causal")
    need_weights, is_causal = call["need_weights"], call["is_causal"]
    q, k, v = tuple(shape), call["key"], call["value"]
    kpm, am = call["key_padding_mask"], call["attn_mask"]
    # F._mha_shape_check
    if len(q) not in (2, 3):
        raise _query_rank(q)
    batched = len(q) == 3
    form = "batched (3-d)" if batched else "unbatched (2-d)"
    if len(k) != len(q) or len(v) != len(q):
        raise ShapeError(f"for a {form} query, key and value must be {len(q)}-d too, got "
                         f"{list(k)} and {list(v)}", fix="give key and value the query's layout")
    if kpm is not None and len(kpm) != len(q) - 1:
        raise ShapeError(f"for a {form} query, key_padding_mask must be None or {len(q) - 1}-d, "
                         f"got {list(kpm)}", fix="(N, S) batched, (S,) unbatched")
    if am is not None and len(am) not in (2, 3):
        raise ShapeError(f"attn_mask must be None, 2-d (L, S) or 3-d (N·num_heads, L, S), got {list(am)}",
                         fix="one (L, S) mask for every head and batch element, or one per (N·num_heads)")
    if not batched and am is not None and len(am) == 3 and _shape_differs(
            am, (h, q[0], k[0]), "attn_mask matches (num_heads, L, S)"):
        raise ShapeError(f"for an unbatched query, a 3-d attn_mask must be (num_heads, L, S) = "
                         f"{[h, q[0], k[0]]}, got {list(am)}")
    # (L, N, E) as F.multi_head_attention_forward sees them
    if batched and b["batch_first"]:
        q, k, v = ((t[1], t[0], t[2]) for t in (q, k, v))
    elif not batched:
        q, k, v = ((t[0], 1, t[1]) for t in (q, k, v))
        kpm = None if kpm is None else (1, *kpm)
    seq, n, eq = q
    src, nk, ek = k
    if is_causal and am is None:
        raise ShapeError("is_causal=True needs an attn_mask (PyTorch's hint, not a mask)",
                         fix="pass the causal attn_mask too, or drop is_causal")
    # a causal hint with neither a padding mask nor weights goes to scaled_dot_product_attention
    # as is_causal=True; the given attn_mask is then not used, nor checked
    mask_unused = is_causal and kpm is None and not need_weights
    if _differ(eq, e, "query's last dim is embed_dim"):
        raise ShapeError(f"the query's last dim ({eq}) must be embed_dim={e}",
                         fix=f"use embed_dim={eq}, or project the query to {e} features")
    separate = kdim != e or vdim != e
    if separate:
        if _shape_differs(k[:2], v[:2], "key and value lengths match"):
            raise ShapeError(f"key's sequence and batch dims {list(k[:2])} must match value's {list(v[:2])}",
                             fix="give a value vector for every key")
        for what, t, want in (("key", k, kdim), ("value", v, vdim)):
            if _differ(t[2], want, f"{what} has {want} features"):
                raise ShapeError(f"the {what}'s last dim ({t[2]}) must be "
                                 f"{'kdim' if what == 'key' else 'vdim'}={want}",
                                 fix=f"use {'kdim' if what == 'key' else 'vdim'}={t[2]}")
    else:
        if _shape_differs(k, v, "key and value shapes match"):
            raise ShapeError(f"key shape {list(call['key'])} must equal value shape {list(call['value'])}",
                             fix="give kdim/vdim for keys and values of other widths")
        if _differ(ek, e, "key's last dim is embed_dim"):
            raise ShapeError(f"the key's last dim ({ek}) must be embed_dim={e}",
                             fix=f"give kdim={ek} and vdim={v[2]}")
    if am is not None and not mask_unused:
        want = (seq, src) if len(am) == 2 else (n * h, seq, src)
        if _shape_differs(am, want, "attn_mask's shape"):
            raise ShapeError(f"a {len(am)}-d attn_mask must be {list(want)}"
                             + (" (L, S)" if len(am) == 2 else " (N·num_heads, L, S)")
                             + f", got {list(am)}", fix="L is the query's length, S the key's")
    keys = src
    if b["add_bias_kv"]:
        if _differ(nk, n, "key batch matches the query's"):
            raise ShapeError(f"the key's batch ({nk}) must match the query's ({n})",
                             fix="give key and value the query's batch size")
        keys += 1
    elif not _empty(src) and _differ(nk, n, "key batch matches the query's"):
        raise ShapeError(f"the key's batch ({nk}) must match the query's ({n})",
                         fix="give key and value the query's batch size")
    if b["add_zero_attn"]:
        keys += 1
    if kpm is not None and _shape_differs(kpm, (n, src), "key_padding_mask is (N, S)"):
        raise ShapeError(f"key_padding_mask must be (N, S) = {[n, src]}, got "
                         f"{list(call['key_padding_mask'])}", fix="one flag per key of each batch element")
    if not need_weights and (kpm is not None or (am is not None and not mask_unused)):
        # the merged mask is viewed as (N, num_heads, -1, S') unless it has one matrix
        rows = n * h if kpm is not None or len(am) == 3 else 1
        if not (not is_symbolic(rows) and rows == 1) and _empty(n * h * keys):
            raise ShapeError(f"PyTorch cannot reshape the empty attention mask to (N, num_heads, "
                             f"-1, S') = {[n, h, -1, keys]}: the -1 is ambiguous",
                             fix="give the batch and the key sequence at least one element")
    out = (n, seq, e) if batched and b["batch_first"] else (seq, n, e) if batched else (seq, e)
    weights = None
    if need_weights:
        per_head = () if call["average_attn_weights"] else (h,)
        weights = (n, *per_head, seq, keys) if batched else (*per_head, seq, keys)
    # the projections (q, k, v, out) and the two products (Q·Kᵀ, weights·V)
    macs = (n * seq * e * e + nk * src * kdim * e + nk * src * vdim * e + n * seq * e * e
            + 2 * n * seq * keys * e)
    return Step(out, params=_mha_params(b), macs=macs, rf=GLOBAL, more=(weights,))


_MHA_FORWARD = params("key:tensor", "value:tensor", ("key_padding_mask:tensor", None),
                      ("need_weights", True), ("attn_mask:tensor", None),
                      ("average_attn_weights", True), ("is_causal", False))

LAYERS = [
    LayerType(
        "MultiheadAttention",
        signature("embed_dim", "num_heads", ("dropout", 0.0), ("bias", True), ("add_bias_kv", False),
                  ("add_zero_attn", False), ("kdim", None), ("vdim", None), ("batch_first", False)),
        _mha, family="attention",
        example="MultiheadAttention(8, 2, batch_first=True)", example_input=(2, 5, 8),
        example_forward="x, x, need_weights=False",
        summary=("embed_dim", "num_heads", "kdim", "vdim", "batch_first", "add_bias_kv",
                 "add_zero_attn", "bias"),
        infer=(Infer("embed_dim", _query_features, "features"),),
        forward=_MHA_FORWARD, apply_call=_mha_call,
        doc="Called on three values: `attn(q, k, v)` (`attn(h, h, h)` for self-attention), "
        "with torch's forward arguments (`need_weights=False`, masks as values); returns "
        "(output, weights), weights None when need_weights=False. Output: the query's shape. "
        "Params: 3E² in_proj (E² + E·kdim + E·vdim when kdim/vdim differ) + E² out_proj "
        "(+ 4E biases, + 2E bias_k/bias_v). MACs: the q, k, v and out projections plus "
        "Q·Kᵀ and weights·V (N·L·S·E each; add_bias_kv and add_zero_attn add a key each). "
        "Masks' dtypes (bool or float) are not checked. Follows torch's general path "
        "(training's); its inference fast path (eval, no grad, q is k is v, batch_first, "
        "even heads, bool masks) differs: it runs is_causal=True without an attn_mask, "
        "and for an empty query (N or L 0) returns no weights and checks no mask.",
    ),
    LayerType(
        "Embedding",
        signature("num_embeddings", "embedding_dim", ("padding_idx", None), ("max_norm", None),
                  ("norm_type", 2.0), ("scale_grad_by_freq", False), ("sparse", False),
                  ("_weight", None), ("_freeze", False)),
        _embedding, family="attention",
        example="Embedding(100, 16, padding_idx=0)", example_input=(2, 7),
        example_dtype="int64",
        summary=("num_embeddings", "embedding_dim", "padding_idx"),
        doc="Integer indices in, (*input, embedding_dim) out; declare the input "
        "`{shape: [1, 16], dtype: int64}` (the dtype and the index values are not checked). "
        "Params: num_embeddings·embedding_dim. MACs: 0 (a lookup).",
    ),
]
