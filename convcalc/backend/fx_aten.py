"""ATen operations of a ``torch.export`` graph as the torch functions and tensor methods
they came from, the vocabulary of a torch.fx graph (fx_export regroups with it).

Most ATen operations have a torch function or a ``torch.nn.functional`` function of the
same name and argument order (``cat``, ``permute``, ``mean``, ``max_pool2d``); those map
by name, to the function convcalc registers under that name. The rest are written out
here: operators, the normalisations (ATen orders their arguments differently), the
upsampling kernels behind ``F.interpolate``, and ATen's slicing. Whatever maps wrongly is
caught after the fact: the regrouped graph must give the model's output and FLOPs.
"""

from __future__ import annotations

import operator

# ATen's defaults that only say where a tensor lives or how it is laid out
LAYOUT = {"layout", "pin_memory", "memory_format", "non_blocking"}

OPERATORS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
             "floor_divide": operator.floordiv, "remainder": operator.mod, "pow": operator.pow,
             "matmul": operator.matmul}

# export's own bookkeeping: checks nothing reads, and aliases that are the value itself
DROP = {"_assert_tensor_metadata", "_assert_scalar", "sym_constrain_range", "sym_constrain_range_for_size",
        "_assert_async"}
SAME = {"alias", "detach", "detach_", "lift_fresh_copy", "lift_fresh"}

INTERPOLATE = {"upsample_nearest1d": "nearest", "upsample_nearest2d": "nearest", "upsample_nearest3d": "nearest",
               "_upsample_nearest_exact1d": "nearest-exact", "_upsample_nearest_exact2d": "nearest-exact",
               "_upsample_nearest_exact3d": "nearest-exact", "upsample_linear1d": "linear",
               "upsample_bilinear2d": "bilinear", "upsample_trilinear3d": "trilinear",
               "upsample_bicubic2d": "bicubic"}

BIG = 2 ** 62  # ATen's slice end for "to the end"


def translate(node):
    """(op, target, args, kwargs) for torch.fx; ``"same"`` for an alias, ``"drop"`` for a
    check; None when convcalc knows no torch function for it."""
    import torch

    target = node.target
    if not isinstance(target, torch._ops.OpOverload):
        if callable(target) and getattr(target, "__module__", None) in ("_operator", "operator", "builtins"):
            return "call_function", target, node.args, node.kwargs  # getitem, size arithmetic
        return None
    name = target._opname
    args = list(node.args)
    kwargs = {k: v for k, v in node.kwargs.items() if k not in LAYOUT}
    if name in DROP:
        return "drop"
    if name in SAME:
        return "same"
    special = SPECIAL.get(name) or (_interpolate if name in INTERPOLATE else None)
    if special is not None:
        return special(name, args, kwargs, node)
    plain = name.rstrip("_")
    if plain in OPERATORS and len(args) == 2 and kwargs.get("alpha", 1) == 1 and "rounding_mode" not in kwargs:
        if name.endswith("_"):
            return "call_method", name, args, {}
        return "call_function", OPERATORS[plain], args, {}
    if name.endswith("_") and hasattr(torch.Tensor, name):
        return "call_method", name, args, kwargs
    return _by_name(name, args, kwargs)


def _by_name(name, args, kwargs):
    """The registered function of that name (torch's, or torch.nn.functional's), or the
    tensor method."""
    import torch
    import torch.nn.functional as F

    from convcalc.ops import FUNCTIONS

    if name in FUNCTIONS:
        for namespace in (torch, F):
            found = getattr(namespace, name, None)
            if callable(found):
                return "call_function", found, args, kwargs
    if hasattr(torch.Tensor, name):
        return "call_method", name, args, kwargs
    return None


def _function(fn, args, kwargs=None):
    return "call_function", fn, args, kwargs or {}


def _interpolate(name, args, kwargs, node):
    import torch.nn.functional as F

    mode = INTERPOLATE[name]
    if node.target._overloadname != "vec":
        return None  # sizes and per-axis scales: not what F.interpolate passes
    x, size, *rest = args
    scale = rest[-1] if rest else kwargs.get("scale_factors")
    options = {"size": size, "scale_factor": scale, "mode": mode}
    if mode not in ("nearest", "nearest-exact"):
        options["align_corners"] = rest[0] if len(rest) > 1 else kwargs.get("align_corners")
    return _function(F.interpolate, [x], {k: v for k, v in options.items() if v is not None or k == "align_corners"})


def _batch_norm(name, args, kwargs, node):
    import torch.nn.functional as F

    x, weight, bias, mean, var, training, momentum, eps, *_ = args
    return _function(F.batch_norm, [x, mean, var, weight, bias, training, momentum, eps])


def _instance_norm(name, args, kwargs, node):
    import torch.nn.functional as F

    x, weight, bias, mean, var, use_input_stats, momentum, eps, *_ = args
    return _function(F.instance_norm, [x, mean, var, weight, bias, use_input_stats, momentum, eps])


def _group_norm(name, args, kwargs, node):
    import torch.nn.functional as F

    x, groups, weight, bias, eps, *_ = [*args, *[None] * (6 - len(args))]
    return _function(F.group_norm, [x, groups, weight, bias, 1e-5 if eps is None else eps])


def _layer_norm(name, args, kwargs, node):
    import torch.nn.functional as F

    x, shape, weight, bias, eps, *_ = [*args, *[None] * (6 - len(args))]
    return _function(F.layer_norm, [x, shape, weight, bias, 1e-5 if eps is None else eps])


def _dropout(name, args, kwargs, node):
    import torch.nn.functional as F

    x, p, train = args[:3]
    if train:
        return None  # the model is in eval mode: a dropout that trains is not ours to guess
    return _function(F.dropout, [x, p, False])


def _slice(name, args, kwargs, node):
    x, dim, start, end, step = [*args, *[0, None, None, 1][len(args) - 1:]][:5]
    dim = _dim(node, dim)
    index = (slice(None),) * dim + (slice(start or None, None if end is None or end >= BIG else end,
                                           None if step == 1 else step),)
    return _function(operator.getitem, [x, index])


def _select(name, args, kwargs, node):
    x, dim, index = args
    return _function(operator.getitem, [x, (slice(None),) * _dim(node, dim) + (index,)])


def _dim(node, dim) -> int:
    rank = len(node.args[0].meta["val"].shape)
    return dim + rank if dim < 0 else dim


def _view(name, args, kwargs, node):
    return "call_method", "view", args[:2], {}


def _expand(name, args, kwargs, node):
    return "call_method", "expand", args[:2], {}


def _clone(name, args, kwargs, node):
    return "call_method", "contiguous", args[:1], {}


def _to(name, args, kwargs, node):
    dtype = kwargs.get("dtype") if len(args) < 2 else args[1]
    return ("call_method", "to", [args[0], dtype], {}) if dtype is not None else "same"


def _constant_pad(name, args, kwargs, node):
    import torch.nn.functional as F

    x, pad, *value = args
    return _function(F.pad, [x, pad, "constant", value[0] if value else 0])


def _rsub(name, args, kwargs, node):
    if kwargs.get("alpha", 1) != 1 or len(args) != 2:
        return None
    return _function(operator.sub, [args[1], args[0]])


def _neg(name, args, kwargs, node):
    return _function(operator.neg, args[:1])


def _linear(name, args, kwargs, node):
    import torch.nn.functional as F

    return _function(F.linear, args, kwargs)


def _index(name, args, kwargs, node):
    """``x[i, :, j]``: ATen's None is a whole axis (Python's ``:``), not a new one."""
    x, indices = args
    return _function(operator.getitem, [x, tuple(slice(None) if i is None else i for i in indices)])


def _embedding(name, args, kwargs, node):
    import torch.nn.functional as F

    weight, indices, padding_idx = [*args, -1][:3]
    return _function(F.embedding, [indices, weight], {} if padding_idx == -1 else {"padding_idx": padding_idx})


def _einsum(name, args, kwargs, node):
    import torch

    return _function(torch.einsum, args[:2])


SPECIAL = {"batch_norm": _batch_norm, "instance_norm": _instance_norm, "group_norm": _group_norm,
           "layer_norm": _layer_norm, "dropout": _dropout, "feature_dropout": _dropout,
           "feature_dropout_": _dropout, "alpha_dropout": _dropout, "feature_alpha_dropout": _dropout,
           "slice": _slice, "select": _select, "view": _view, "_unsafe_view": _view, "expand": _expand,
           "clone": _clone, "to": _to, "_to_copy": _to, "constant_pad_nd": _constant_pad, "rsub": _rsub,
           "neg": _neg, "linear": _linear, "index": _index, "embedding": _embedding, "einsum": _einsum}
