"""A live module as the spec's constructor call, and a function fx recorded as the spec's
name for it: what the importer writes for ``call_module`` and ``call_function`` nodes."""

from __future__ import annotations

import math

from convcalc.ops import FUNCTIONS, REGISTRY, REQUIRED

PER_DIM = {"kernel_size", "stride", "padding", "dilation", "output_padding", "output_size"}


class Lost(Exception):
    """A node the spec cannot express, and why."""


def literal(value) -> str:
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return repr(value)
        return f"float({str(value)!r})"
    if value is Ellipsis:
        return "..."
    if isinstance(value, (list, tuple)):
        inner = ", ".join(literal(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else (f"({inner},)" if len(value) == 1 else f"({inner})")
    raise Lost(f"the value {value!r} (a {type(value).__name__})")



_QUALIFIED: dict = {}


def qualified(fn) -> str:
    """How a spec names a function fx recorded: ``torch.cat``, ``F.interpolate``,
    ``torchvision.ops.stochastic_depth``; Lost when the registry has no such function."""
    if not _QUALIFIED:
        import torch
        import torch.nn.functional as F

        for name in FUNCTIONS:
            if FUNCTIONS[name].origin:  # torchvision's: by identity, below
                continue
            for prefix, namespace in (("torch.", torch), ("F.", F)):
                found = getattr(namespace, name, None)
                if found is not None and id(found) not in _QUALIFIED:
                    _QUALIFIED[id(found)] = f"{prefix}{name}"
    found = _QUALIFIED.get(id(fn))
    if found is not None:
        return found
    import sys

    module, name = getattr(fn, "__module__", "") or "", getattr(fn, "__name__", repr(fn))
    # a torchvision function by identity: the object its registry entry's origin names, so
    # that a namesake (video Swin's 3-d _get_relative_position_bias) is never taken for it
    for ftype in FUNCTIONS.values():
        home, _, attribute = ftype.origin.rpartition(".")
        if home and getattr(sys.modules.get(home), attribute, None) is fn:
            return ftype.origin
    raise Lost(f"the function {module + '.' if module else ''}{name} is not one convcalc knows",
               )


def constructor_args(module, kind: str) -> dict:
    """A layer's constructor arguments that differ from PyTorch's defaults, read off the
    live module."""
    layer = REGISTRY[kind]
    known = _SPECIAL.get(kind, _attributes)(module)
    args = {}
    for arg, default in layer.signature:
        if arg not in known:
            continue
        value = _plain_arg(known[arg], arg)
        if default is REQUIRED or value != _plain_arg(default, arg) or type(value) is not type(_plain_arg(default, arg)):
            args[arg] = value
    return args


def constructor(module, kind: str) -> str:
    return call_text(kind, constructor_args(module, kind))


def call_text(kind: str, args: dict) -> str:
    """``Conv2d(64, 64, 3, padding=1, bias=False)``: the leading required arguments by
    position, as PyTorch's signature orders them, the others by keyword."""
    parts, positional = [], True
    for arg, default in REGISTRY[kind].signature:
        if arg not in args:
            positional = False
            continue
        if positional and default is REQUIRED:
            parts.append(literal(args[arg]))
        else:
            positional = False
            parts.append(f"{arg}={literal(args[arg])}")
    return f"{kind}({', '.join(parts)})"


def _attributes(module) -> dict:
    found = {}
    for name in vars(module):
        found[name] = getattr(module, name)
    if "bias" in found or hasattr(module, "bias"):
        found["bias"] = getattr(module, "bias", None) is not None
    for name in ("padding", "padding_mode", "normalized_shape", "dims", "p", "mode"):
        if hasattr(module, name) and name not in found:
            found[name] = getattr(module, name)
    return found


def _mha(module) -> dict:
    found = _attributes(module)
    found["bias"] = module.in_proj_bias is not None
    found["add_bias_kv"] = module.bias_k is not None
    if module.kdim == module.embed_dim:
        found["kdim"] = None
    if module.vdim == module.embed_dim:
        found["vdim"] = None
    return found


def _swin_attention(module) -> dict:
    found = _attributes(module)
    found.update(dim=module.qkv.in_features, qkv_bias=module.qkv.bias is not None,
                 proj_bias=module.proj.bias is not None)
    return found


def _batch_norm(module) -> dict:
    found = _attributes(module)
    found.pop("bias", None)
    return found


_SPECIAL = {"MultiheadAttention": _mha, "ShiftedWindowAttention": _swin_attention,
            **{k: _batch_norm for k in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d",
                                        "InstanceNorm2d", "InstanceNorm3d", "GroupNorm")}}


def _plain_arg(value, arg: str):
    """Tuples as lists; a per-dimension value that is the same everywhere as one number."""
    if isinstance(value, (tuple, list)):
        value = [_plain_arg(v, "") for v in value]
        if arg in PER_DIM and value and all(v == value[0] for v in value) and isinstance(value[0], int):
            return value[0]
    return value


def unread_buffers(model, groups, read: set, taken: set):
    """(group, item) for each buffer of a module traced into that its forward never reads
    (BatchNorm's num_batches_tracked, in eval): a Buffer of the group, read by nothing, so
    that the model's state_dict loads into the exported spec. ``read``: the attributes the
    graph reads; ``taken``: the value names in use (extended)."""
    from convcalc.backend.fx_yaml import mapping

    for group in groups:
        if group.holder:
            continue
        try:
            module = model.get_submodule(group.path) if group.path else model
        except AttributeError:
            continue
        persistent = module.state_dict(keep_vars=True)
        for buffer_name, value in module.named_buffers(recurse=False):
            target = f"{group.path}.{buffer_name}".lstrip(".")
            if target in read or buffer_name not in persistent:
                continue
            args = {"shape": list(value.shape)}
            dtype = str(value.dtype).removeprefix("torch.")
            if dtype != "float32":
                args["dtype"] = dtype
            out = target.replace(".", "_")
            while out in taken:
                out += "_"
            taken.add(out)
            yield group, mapping({"name": buffer_name, "as": out, "Buffer": args})
