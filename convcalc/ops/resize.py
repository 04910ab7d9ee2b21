"""Resampling and padding functions: ``F.interpolate``, ``F.pad``, torchvision's
``center_crop``, ``F.pixel_shuffle``/``pixel_unshuffle`` (the pooling functions are in
ops/pool_functions.py).

``interpolate`` follows F.interpolate's Python code (size or scale_factor, mode and rank,
align_corners, antialias, recompute_scale_factor) and ATen's kernels: an output size is
``size``, or ``⌊in × scale⌋`` in float64 (``shapes.upsample_shape``, the Upsample rule);
mode 'area' is adaptive average pooling, which accepts an output of 0 (and computes the
size in Python, ``int(in × scale)``). ``pad`` uses the padding layers' rule (negative pads
crop). ``center_crop`` pads (with zeros) when the crop is larger than the input, then
slices at ``int(round((H - h) / 2))``, as torchvision.transforms.v2.functional does.

Empty dims are refused where ATen refuses them: an empty channel dim by interpolate (but
mode='area' below 5-d), any empty non-batch dim by reflect/replicate padding.
Interpolating to all 1s with mode='area' is ATen's mean over the last dims (any empty dim
accepted).
"""

from __future__ import annotations

import math
from fractions import Fraction

from convcalc.engine import shapes
from convcalc.engine.symbolic import any_symbolic, unequal, violated
from convcalc.errors import ParamError, ShapeError
from convcalc.ops import padding
from convcalc.ops.base import GLOBAL, Kind, Mix, Scale, Step, Window, rank_error
from convcalc.ops.function import FunctionType, params

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "lanczos", "area", "nearest-exact")
_MODE_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5, "lanczos": 4}


def _symbolic(value) -> bool:
    return hasattr(value, "free_symbols")


def _empty(size) -> bool:
    return isinstance(size, int) and size == 0


def _per_dim(what: str, value, shape: tuple) -> list:
    dim = len(shape) - 2
    if not isinstance(value, (list, tuple)):
        return [value] * max(dim, 0)
    if len(value) != dim:
        raise ShapeError(f"interpolate: {what} has {len(value)} values but the input {list(shape)} has "
                         f"{max(dim, 0)} spatial dimensions", fix="give one value per spatial dimension "
                         "of an (N, C, *spatial) input")
    return list(value)


def _area_size(i, s):
    """F.interpolate's recomputed size for mode='area': ``int(in * scale)`` in Python."""
    if _symbolic(i):
        if s > 0:
            return shapes.upsample_shape((i,), scale_factor=float(s), minimum=0)[0]
        if s == 0:
            return 0
        raise ShapeError(f"interpolate: scale_factor {s} with mode='area' needs a numeric input size, got {i}")
    product = i * s
    if not math.isfinite(product) or int(product) < 0:
        raise ShapeError(f"interpolate: scale_factor {s} gives the output size {product} for input {i}: "
                         "sizes must be at least 0", fix="use a positive scale_factor")
    return int(product)


def _interpolate(b):
    shape, mode, align = tuple(b["input"]), b["mode"], b["align_corners"]
    size, scale = b["size"], b["scale_factor"]
    if mode in ("nearest", "area", "nearest-exact"):
        if align is not None:
            raise ParamError(f"interpolate: align_corners can only be set with the interpolating modes "
                             f"(linear, bilinear, bicubic, trilinear), not mode={mode!r}", fix="drop align_corners")
    elif align is None:
        align = False
    if size is not None and scale is not None:
        raise ParamError("interpolate: only one of size and scale_factor may be given")
    if size is None and scale is None:
        raise ParamError("interpolate: either size or scale_factor must be given")
    if size is not None:
        values = _per_dim("size", size, shape)
        if any(not _symbolic(v) and (isinstance(v, bool) or not isinstance(v, int)) for v in values):
            raise ParamError(f"interpolate: size must be an integer or a list of integers, got {size!r}")
    else:
        values = _per_dim("scale_factor", scale, shape)
        if any(_symbolic(v) for v in values):
            raise ShapeError(f"interpolate: scale_factor must be a number, got {scale} (sizes are symbolic)",
                             fix="give size= instead, computed from the shapes")
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
            raise ParamError(f"interpolate: scale_factor must be a number or a list of numbers, got {scale!r}")
    if b["recompute_scale_factor"] and size is not None:
        raise ParamError("interpolate: recompute_scale_factor is not meaningful with an explicit size",
                         fix="drop recompute_scale_factor")
    if b["antialias"] and not (mode in ("bilinear", "bicubic", "lanczos") and len(shape) == 4):
        raise ParamError("interpolate: antialias is restricted to the bilinear, bicubic and lanczos modes "
                         "and a 4-d input", fix="drop antialias")
    if mode not in _MODES or len(shape) not in (3, 4, 5):
        raise rank_error("interpolate", shape, (3, 4, 5), f" for modes {', '.join(_MODES)} (got mode={mode!r})")
    if _MODE_RANK.get(mode, len(shape)) != len(shape):
        raise rank_error("interpolate", shape, (_MODE_RANK[mode],), f" for mode={mode!r}")
    if mode not in ("nearest", "area", "nearest-exact") and not isinstance(align, bool):
        raise ParamError(f"interpolate: align_corners must be true, false or None, got {align!r}")
    if mode == "lanczos" and (align or not b["antialias"]):
        raise ParamError("interpolate: mode='lanczos' needs antialias=True and no align_corners=True")
    in_sp = shape[2:]
    if mode == "area":  # adaptive_avg_pool1d/2d/3d
        if size is not None:
            spatial = tuple(values)
            if any(not _symbolic(v) and v < 0 for v in spatial):
                raise ShapeError(f"interpolate: size {list(spatial)} must be at least 0 with mode='area'")
        else:
            spatial = tuple(_area_size(i, s) for i, s in zip(in_sp, values))
        if all(isinstance(o, int) and o == 1 for o in spatial):  # ATen's mean shortcut checks nothing
            return Step((*shape[:2], *spatial), rf=(Mix(tuple(range(-len(spatial), 0))),))
        shapes.input_sizes(in_sp)
        if len(shape) == 5 and _empty(shape[1]):
            raise ShapeError(f"interpolate: expected a non-empty channel dim, got the input {list(shape)}")
    else:
        if _empty(shape[1]):
            raise ShapeError(f"interpolate: expected a non-empty channel dim, got the input {list(shape)}")
        if size is not None and any_symbolic(values):
            shapes.input_sizes(in_sp)
            if any(not _symbolic(v) and v < 1 for v in values):
                raise ShapeError(f"interpolate: size {values} must be at least 1")
            spatial = tuple(values)
        elif size is not None:
            spatial = shapes.upsample_shape(in_sp, size=tuple(values), minimum=1)
        else:
            spatial = shapes.upsample_shape(in_sp, scale_factor=tuple(float(v) for v in values), minimum=1)
    out = (*shape[:2], *spatial)
    if any_symbolic(spatial) or any_symbolic(in_sp) or 0 in spatial:
        return Step(out, rf=GLOBAL)
    return Step(out, rf=(Scale(tuple(Fraction(o, i) for o, i in zip(spatial, in_sp))),))


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad(b):
    shape, pad, mode, value = tuple(b["input"]), b["pad"], b["mode"], b["value"]
    rank = len(shape)
    if isinstance(pad, (list, tuple)) and any(_symbolic(p) for p in pad):
        raise ShapeError(f"pad: the pads must be numbers, got {list(pad)} (sizes are symbolic)",
                         fix="evaluate the spec for numeric input sizes")
    if not isinstance(pad, (list, tuple)) or any(isinstance(p, bool) or not isinstance(p, int) for p in pad):
        raise ParamError(f"pad: pad must be a list of integers (left, right, top, bottom, ...), got {pad!r}")
    if len(pad) % 2:
        raise ParamError(f"pad: the padding length must be divisible by 2, got {len(pad)}: {list(pad)}",
                         fix="give a (left, right) pair per padded dimension")
    nd = len(pad) // 2
    if nd > rank:
        raise ShapeError(f"pad: {len(pad)} pads cover {nd} dimensions, but the input {list(shape)} has {rank}",
                         fix=f"give at most {2 * rank} values")
    if mode != "constant":
        if value not in (None, 0):
            raise ParamError(f"pad: mode={mode!r} takes no value, got value={value!r}", fix="drop value")
        if nd not in (1, 2, 3) or rank not in (nd + 1, nd + 2):
            raise ShapeError(f"pad: mode={mode!r} pads the last 1, 2 or 3 dims of a 2-d to 5-d input "
                             f"(batched or not), not {len(pad)} values for the {rank}-d input {list(shape)}")
        inner = shape[1:] if rank == nd + 2 else shape
        if mode != "circular" and any(not _symbolic(s) and s == 0 for s in inner):
            raise ShapeError(f"pad: mode={mode!r} needs non-empty dims (but the batch), got {list(shape)}")
    if nd == 0:
        return Step(shape)
    step = padding.pad_rule(nd, mode, "pad")({"padding": list(pad)}, shape)
    # the field lives on the spatial dims, (N, C, *spatial) from 4-d: pads elsewhere do not
    # move it; a 3-d input is (N, C, L) or (C, H, W) as the pads say, a 2-d one (C, L)
    axes = rank - 2 if rank >= 4 else min(nd, rank - 1)
    if axes <= 0:
        return Step(step.out, note=step.note)
    lows = [pad[2 * i] for i in range(nd)][::-1][-axes:]
    lows = [0] * (axes - len(lows)) + lows
    return Step(step.out, rf=(Window((1,) * axes, (1,) * axes, tuple(lows)),), note=step.note)


def _crop_size(output_size) -> tuple:
    """torchvision's _center_crop_parse_output_size: a number (truncated), or a list of 1 or
    2 sizes (a float passes here, and fails where torchvision pads or slices with it)."""
    if isinstance(output_size, (int, float)) and not isinstance(output_size, bool):  # True is 1 to torch
        return (int(output_size),) * 2
    if isinstance(output_size, (list, tuple)) and len(output_size) in (1, 2) and all(
            (isinstance(v, (int, float)) and not isinstance(v, bool)) or _symbolic(v) for v in output_size):
        return tuple(output_size) * (3 - len(output_size))
    raise ParamError(f"center_crop: output_size must be an integer or a list of 1 or 2 integers, "
                     f"got {output_size!r}")


def _integral(values) -> bool:
    return all(isinstance(v, int) or _symbolic(v) for v in values)


def center_crop_plan(shape: tuple, ch, cw):
    """What torchvision does to a non-empty input of numeric sizes: the zero padding
    [left, right, top, bottom] (or None), then the slices (start, stop) of the last two
    dims (None where the padded input is the crop)."""
    h, w = shape[-2:]
    pad = None
    if ch > h or cw > w:
        pad = [(cw - w) // 2 if cw > w else 0, (cw - w + 1) // 2 if cw > w else 0,
               (ch - h) // 2 if ch > h else 0, (ch - h + 1) // 2 if ch > h else 0]
        h, w = h + pad[2] + pad[3], w + pad[0] + pad[1]
        if (ch, cw) == (h, w):
            return pad, None
    top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
    return pad, ((top, top + ch), (left, left + cw))


CENTER_CROP_SOURCE = '''def center_crop(inpt, output_size):
    """torchvision.transforms.v2.functional.center_crop on a tensor: zero-pad where the crop
    is larger than the input, then slice at int(round((H - h) / 2))."""
    if isinstance(output_size, (int, float)):
        output_size = [int(output_size)] * 2
    elif len(output_size) == 1:
        output_size = [output_size[0]] * 2
    crop_h, crop_w = output_size
    if inpt.numel() == 0:
        return inpt.reshape(inpt.shape[:-2] + (crop_h, crop_w))
    h, w = inpt.shape[-2:]
    if crop_h > h or crop_w > w:
        pad_w, pad_h = max(crop_w - w, 0), max(crop_h - h, 0)
        inpt = F.pad(inpt, [pad_w // 2, (pad_w + 1) // 2, pad_h // 2, (pad_h + 1) // 2], value=0.0)
        h, w = inpt.shape[-2:]
        if (crop_h, crop_w) == (h, w):
            return inpt
    top, left = int(round((h - crop_h) / 2.0)), int(round((w - crop_w) / 2.0))
    return inpt[..., top:top + crop_h, left:left + crop_w]
'''


def _center_crop(b):
    shape = tuple(b["inpt"])
    ch, cw = _crop_size(b["output_size"])
    floats = ParamError(f"center_crop: output_size {[ch, cw]} must be integers (torchvision pads and "
                        "slices with them)")
    if any(_empty(s) for s in shape):  # torchvision reshapes an empty input
        out = (*shape[:-2], ch, cw)
        if not _integral((ch, cw)):
            raise floats
        known = math.prod(v for v in out if v != -1)
        if out.count(-1) == 1 and all(v >= -1 for v in out) and known != 0:
            out = tuple(0 if v == -1 else v for v in out)  # reshape infers the -1: 0
        if min(out) < 0 or math.prod(out) != 0:
            raise ShapeError(f"center_crop: the empty input {list(shape)} cannot become {list(out)}")
        return Step(out, rf=GLOBAL)
    if len(shape) < 2:
        raise rank_error("center_crop", shape, (2, 3, 4), " (*, H, W)")
    if any_symbolic((*shape[-2:], ch, cw)):
        if not _integral((ch, cw)):
            raise floats
        if any(not _symbolic(v) and v < 0 for v in (ch, cw)):
            raise ShapeError(f"center_crop: a negative output_size {[ch, cw]} needs numeric input sizes")
        return Step((*shape[:-2], ch, cw), rf=GLOBAL)
    pad, slices = center_crop_plan(shape, ch, cw)
    pad = pad or [0, 0, 0, 0]
    if not _integral(pad) or (slices is not None and not _integral((ch, cw))):
        raise floats
    h, w = shape[-2] + pad[2] + pad[3], shape[-1] + pad[0] + pad[1]
    (top, bottom), (left, right) = slices or ((0, h), (0, w))
    out = (*shape[:-2], len(range(h)[top:bottom]), len(range(w)[left:right]))
    return Step(out, rf=(Window((1, 1), (1, 1), (pad[2] - top, pad[0] - left)),))


def _factor(op: str, b: dict, name: str) -> int:
    r = b[name]
    if isinstance(r, bool) or not isinstance(r, int):
        raise ParamError(f"{op}: {name} must be an integer, got {r!r}")
    if r <= 0:
        raise ParamError(f"{op}: {name} must be positive, got {r}")
    return r


def _pixel_shuffle(b):
    shape = tuple(b["input"])
    r = _factor("pixel_shuffle", b, "upscale_factor")
    if len(shape) < 3:
        raise rank_error("pixel_shuffle", shape, (3, 4), " (*, C·r², H, W)")
    c, h, w = shape[-3:]
    if violated(unequal(c % (r * r), 0), "pixel_shuffle's channels divide by r²"):
        raise ShapeError(f"pixel_shuffle: channels {c} must be divisible by upscale_factor² = {r * r}",
                         fix=f"use {r * r}·k channels")
    return Step((*shape[:-3], c // (r * r), h * r, w * r), rf=(Scale((r, r)),))


def _pixel_unshuffle(b):
    shape = tuple(b["input"])
    r = _factor("pixel_unshuffle", b, "downscale_factor")
    if len(shape) < 3:
        raise rank_error("pixel_unshuffle", shape, (3, 4), " (*, C, H·r, W·r)")
    c, h, w = shape[-3:]
    for what, x in (("height", h), ("width", w)):
        if violated(unequal(x % r, 0), "pixel_unshuffle divides exactly"):
            raise ShapeError(f"pixel_unshuffle: {what} {x} must be divisible by downscale_factor {r}")
    if any(_empty(s) for s in shape):  # ATen's CPU kernel returns an empty input as it is
        return Step(shape, note="pixel_unshuffle returns an empty input unchanged on the CPU; "
                    f"other devices give {[*shape[:-3], c * r * r, h // r, w // r]}")
    return Step((*shape[:-3], c * r * r, h // r, w // r), rf=(Window((r, r), (r, r), (0, 0)),))


def _ex(call, *shapes):
    return (call, shapes)


FUNCTIONS = [
    FunctionType("interpolate", params("input:tensor", ("size", None), ("scale_factor", None), ("mode", "nearest"),
                                       ("align_corners", None), ("recompute_scale_factor", None), ("antialias", False)),
                 _interpolate, "resampling",
                 "Resizes (N, C, *spatial) to size, or ⌊in × scale_factor⌋ in float64; mode 'area' accepts 0.",
                 (_ex("F.interpolate(x, scale_factor=2)", (1, 3, 4, 5)), _ex("F.interpolate(x, size=(7, 8), mode='bilinear')", (1, 3, 4, 5)),
                  _ex("F.interpolate(x, scale_factor=0.29, mode='linear')", (1, 2, 100)), _ex("F.interpolate(x, size=7)", (4, 5)),
                  _ex("F.interpolate(x, scale_factor=0.1, mode='area')", (1, 3, 5)), _ex("F.interpolate(x, scale_factor=0.1)", (1, 3, 5)),
                  _ex("F.interpolate(x, scale_factor=2, align_corners=True)", (1, 3, 4)),
                  _ex("F.interpolate(x, size=(3, 4), mode='bicubic', antialias=True)", (1, 3, 8, 8)),
                  _ex("F.interpolate(x, scale_factor=1.5, mode='trilinear', recompute_scale_factor=True)", (1, 2, 3, 4, 5))),
                 method=False, summary=("size", "scale_factor", "mode"), kinds={"mode": Kind("choice", choices=_MODES)}),
    FunctionType("pad", params("input:tensor", "pad", ("mode", "constant"), ("value", None)), _pad, "padding",
                 "Pads the last len(pad)/2 dims by (left, right, top, bottom, ...); negative pads crop; "
                 "reflect/replicate/circular pad 1-3 trailing dims of a batched or unbatched input.",
                 (_ex("F.pad(x, (1, 2))", (2, 3, 4)), _ex("F.pad(x, [1, 1, 2, 0], mode='reflect')", (1, 3, 4, 4)),
                  _ex("F.pad(x, (-1, -1, 0, 3), value=0.5)", (2, 3)), _ex("F.pad(x, (3, 0), 'reflect')", (2, 3)),
                  _ex("F.pad(x, (1, 1, 1, 1), 'replicate')", (2, 3)), _ex("F.pad(x, (-2, -2))", (2, 3))),
                 method=False, kinds={"mode": Kind("choice", choices=_PAD_MODES), "value": Kind("number", optional=True)}),
    FunctionType("center_crop", params("inpt:tensor", "output_size"), _center_crop, "resampling",
                 "torchvision.transforms.v2.functional.center_crop: (*, H, W) -> (*, h, w), zero-padded "
                 "first where the crop is larger; offset int(round((H - h) / 2)).",
                 (_ex("center_crop(x, [4, 6])", (1, 3, 8, 9)), _ex("center_crop(x, 10)", (3, 7, 5)),
                  _ex("center_crop(x, [5])", (2, 4, 6))), method=False, source=CENTER_CROP_SOURCE,
                 origin="torchvision.transforms.v2.functional.center_crop"),
    FunctionType("pixel_shuffle", params("input:tensor", "upscale_factor"), _pixel_shuffle, "resampling",
                 "(*, C·r², H, W) -> (*, C, H·r, W·r).",
                 (_ex("F.pixel_shuffle(x, 2)", (1, 8, 3, 3)), _ex("F.pixel_shuffle(x, 2)", (1, 6, 3, 3)),
                  _ex("torch.pixel_shuffle(x, 3)", (9, 2, 2))), method=False),
    FunctionType("pixel_unshuffle", params("input:tensor", "downscale_factor"), _pixel_unshuffle, "resampling",
                 "(*, C, H·r, W·r) -> (*, C·r², H, W).",
                 (_ex("F.pixel_unshuffle(x, 2)", (1, 2, 4, 6)), _ex("F.pixel_unshuffle(x, 2)", (1, 2, 5, 6))),
                 method=False),
]
