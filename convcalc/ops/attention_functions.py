"""``F.scaled_dot_product_attention``: softmax(Q·Kᵀ · scale + mask)·V, as timm's and
torchvision's attention blocks call it.

PyTorch's math: query ``(..., L, E)``, key ``(..., S, E)``, value ``(..., S, Ev)``, each at
least 2-d, batch dims broadcast (as matmul broadcasts them); ``enable_gqa`` repeats the
key and value heads (dim -3) up to the query's, which they must divide; a mask
broadcasts to ``(..., L, S)``. Output ``(..., L, Ev)``; MACs: the two products,
∏batch · L · S · (E + Ev), as torch's FLOP counter counts the attention kernels.
"""

from __future__ import annotations

from convcalc.engine.symbolic import is_symbolic, unequal, violated
from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import GLOBAL, Step, check_bool, prod
from convcalc.ops.elementwise import broadcast
from convcalc.ops.function import FunctionType, params


def _sdpa(b):
    q, k, v = (tuple(b[n]) for n in ("query", "key", "value"))
    check_bool(b, "is_causal", "enable_gqa")
    p = b["dropout_p"]
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ParamError(f"scaled_dot_product_attention: dropout_p must be between 0 and 1, got {p!r}")
    if min(len(q), len(k), len(v)) < 2:
        raise ShapeError(f"scaled_dot_product_attention: query, key and value must be at least 2-d, got "
                         f"{list(q)}, {list(k)} and {list(v)}")
    if b["enable_gqa"]:
        if min(len(q), len(k), len(v)) < 3:
            raise ShapeError("scaled_dot_product_attention: enable_gqa needs a heads dim (-3) in "
                             "query, key and value")
        heads = q[-3]
        for name, t in (("key", k), ("value", v)):
            if not (is_symbolic(heads) or is_symbolic(t[-3])) and (t[-3] == 0 or heads % t[-3]):
                raise ShapeError(f"scaled_dot_product_attention: the {name}'s {t[-3]} heads must divide "
                                 f"the query's {heads} (enable_gqa)")
        k, v = (*k[:-3], heads, *k[-2:]), (*v[:-3], heads, *v[-2:])
    if violated(unequal(q[-1], k[-1]), "query and key have one feature size"):
        raise ShapeError(f"scaled_dot_product_attention: query {list(q)} and key {list(k)} must have "
                         "the same last dim (E)")
    if violated(unequal(k[-2], v[-2]), "key and value have one length"):
        raise ShapeError(f"scaled_dot_product_attention: key {list(k)} and value {list(v)} must have "
                         "the same length (dim -2, S)")
    batch = broadcast(broadcast(q[:-2], k[:-2]), v[:-2])
    scores = (*batch, q[-2], k[-2])
    if b["attn_mask"] is not None and broadcast(tuple(b["attn_mask"]), scores) != scores:
        raise ShapeError(f"scaled_dot_product_attention: attn_mask {list(b['attn_mask'])} does not "
                         f"broadcast to the scores {list(scores)}")
    out = (*batch, q[-2], v[-1])
    return Step(out, macs=prod(batch) * q[-2] * k[-2] * (q[-1] + v[-1]), rf=GLOBAL)


def _ex(call, *shapes):
    return (call, shapes)


FUNCTIONS = [
    FunctionType("scaled_dot_product_attention",
                 params("query:tensor", "key:tensor", "value:tensor", ("attn_mask:tensor", None),
                        ("dropout_p", 0.0), ("is_causal", False), ("|scale", None), ("|enable_gqa", False)),
                 _sdpa, "attention",
                 "softmax(Q·Kᵀ·scale + mask)·V: query (..., L, E), key (..., S, E), value (..., S, Ev) "
                 "-> (..., L, Ev), batch dims broadcast; MACs ∏batch·L·S·(E + Ev).",
                 (_ex("F.scaled_dot_product_attention(x, y, z)", (2, 4, 5, 8), (2, 4, 6, 8), (2, 4, 6, 3)),
                  _ex("F.scaled_dot_product_attention(x, y, z)", (5, 8), (6, 8), (6, 3)),
                  _ex("F.scaled_dot_product_attention(x, y, z)", (8,), (6, 8), (6, 3)),
                  _ex("F.scaled_dot_product_attention(x, y, z)", (2, 4, 5, 8), (2, 4, 6, 7), (2, 4, 6, 3)),
                  _ex("F.scaled_dot_product_attention(x, y, z)", (2, 4, 5, 8), (2, 4, 6, 8), (2, 4, 7, 3)),
                  _ex("F.scaled_dot_product_attention(x, y, z)", (2, 4, 5, 8), (1, 4, 6, 8), (2, 1, 6, 3)),
                  _ex("F.scaled_dot_product_attention(x, y, z)", (2, 4, 5, 8), (3, 4, 6, 8), (2, 4, 6, 3)),
                  _ex("F.scaled_dot_product_attention(x, y, z, enable_gqa=True)", (2, 4, 5, 8), (2, 2, 6, 8), (2, 2, 6, 3)),
                  _ex("F.scaled_dot_product_attention(x, y, z, enable_gqa=True)", (2, 4, 5, 8), (2, 3, 6, 8), (2, 3, 6, 3)),
                  _ex("F.scaled_dot_product_attention(x, y, z)", (2, 4, 5, 8), (2, 2, 6, 8), (2, 2, 6, 3)),
                  _ex("F.scaled_dot_product_attention(x, y, z, is_causal=True)", (2, 4, 5, 8), (2, 4, 6, 8), (2, 4, 6, 3)),
                  _ex("F.scaled_dot_product_attention(x, y, z)", (2, 4, 5, 8), (4, 6, 8), (4, 6, 3)),
                  _ex("F.scaled_dot_product_attention(x, y, z, dropout_p=1.5)", (2, 5, 8), (2, 6, 8), (2, 6, 3)),
                  _ex("F.scaled_dot_product_attention(x, y, z, w)", (2, 4, 5, 8), (2, 4, 6, 8), (2, 4, 6, 3), (5, 6)),
                  _ex("F.scaled_dot_product_attention(x, y, z, w)", (2, 4, 5, 8), (2, 4, 6, 8), (2, 4, 6, 3), (5, 7)),
                  _ex("F.scaled_dot_product_attention(x, y, z)", (2, 4, 0, 8), (2, 4, 6, 8), (2, 4, 6, 3))),
                 method=False),
]
