"""Everything that is not a sliding window: linear, norms, reshaping, resampling, padding,
dropout and activations."""

from __future__ import annotations

from fractions import Fraction

from convcalc.engine import shapes
from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import (
    GLOBAL,
    Infer,
    LayerType,
    Scale,
    Step,
    Window,
    as_list,
    check_bool,
    check_count,
    check_probability,
    norm_dim,
    prod,
    rank_error,
    signature,
)
from convcalc.engine.params import fmt_dims
from convcalc.engine.symbolic import any_symbolic, unequal, violated

# Linear --------------------------------------------------------------------------------


def _last_dim(shape):
    if not shape:
        raise rank_error("Linear", shape, (1, 2))
    return shape[-1]


def _linear(b, shape):
    check_count(b, "in_features", 0)
    out_f = check_count(b, "out_features", 0)
    check_bool(b, "bias")
    out = (*shape[:-1], out_f)
    return Step(
        out,
        params=b["in_features"] * out_f + (out_f if b["bias"] else 0),
        macs=prod(shape[:-1]) * b["in_features"] * out_f,
        rf=GLOBAL,
    )


# Normalisation -------------------------------------------------------------------------


def _single_value_note(count: int, shape, what: str) -> str | None:
    """BatchNorm (and InstanceNorm with running stats) refuse one value only in training."""
    if count != 1:
        return None
    return (f"in training mode PyTorch raises here (expected more than 1 {what}, got the "
            f"input {list(shape)}); eval mode is fine")


def _affine_params(b, flag: str, size: int) -> int:
    """A weight per element when affine, and a bias too unless bias=False."""
    return size * (2 if b["bias"] else 1) if b[flag] else 0


def _channel_dim1(ranks, name):
    def read(shape):
        if len(shape) not in ranks:
            raise rank_error(name, shape, ranks)
        return shape[1]

    return read


def _batchnorm(nd):
    ranks = (2, 3) if nd == 1 else (nd + 2,)

    def apply(b, shape):
        if len(shape) not in ranks:
            raise rank_error(f"BatchNorm{nd}d", shape, ranks)
        check_bool(b, "affine", "track_running_stats", "bias")
        return Step(shape, params=_affine_params(b, "affine", b["num_features"]),
                    note=_single_value_note(shape[0] * prod(shape[2:]), shape, "value per channel"))

    return apply, Infer("num_features", _channel_dim1(ranks, f"BatchNorm{nd}d"), "channels")


def _instancenorm(nd):
    ranks = (nd + 1, nd + 2)

    def read(shape):
        if len(shape) not in ranks:
            raise rank_error(f"InstanceNorm{nd}d", shape, ranks)
        return shape[-(nd + 1)]

    def apply(b, shape):
        if len(shape) not in ranks:
            raise rank_error(f"InstanceNorm{nd}d", shape, ranks)
        check_bool(b, "affine", "track_running_stats", "bias")
        channels = shape[-(nd + 1)]
        note = None
        if b["num_features"] != channels:
            if b["affine"]:
                raise ShapeError(
                    f"num_features={b['num_features']} but the incoming shape {list(shape)} has "
                    f"{channels} channels (affine=True needs them to match)",
                    fix=f"use num_features={channels}",
                )
            note = f"num_features={b['num_features']} differs from {channels} channels (PyTorch warns)"
        spatial = prod(shape[len(shape) - nd:])
        if spatial == 1 and not b["track_running_stats"]:
            raise ShapeError(
                f"expected more than 1 spatial element, got the input {list(shape)} "
                "(instance statistics need at least 2 values)",
                fix="use a larger input, or track_running_stats=True and eval mode",
            )
        if spatial == 1:
            note = _single_value_note(spatial, shape, "spatial element")
        return Step(shape, params=_affine_params(b, "affine", b["num_features"]), note=note)

    return apply, read


def _layernorm(b, shape):
    normalized = as_list(b["normalized_shape"])
    check_bool(b, "elementwise_affine", "bias")
    for n in normalized:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ParamError(f"normalized_shape must be non-negative integers, got {normalized}")
    trailing = list(shape[len(shape) - len(normalized):]) if normalized else []
    if len(normalized) > len(shape) or any(
        violated(unequal(a, n), "LayerNorm's normalized_shape matches") for a, n in zip(trailing, normalized)
    ):
        raise ShapeError(
            f"normalized_shape={normalized} expects an input of shape [*, "
            f"{', '.join(map(str, normalized))}], got {list(shape)}",
            fix=f"use normalized_shape={list(shape[-len(normalized):]) if normalized else []}, "
            "or omit it to normalise over the last dimension",
        )
    return Step(shape, params=_affine_params(b, "elementwise_affine", prod(normalized)))


def _groupnorm(b, shape):
    groups = check_count(b, "num_groups")
    channels = check_count(b, "num_channels")
    check_bool(b, "affine", "bias")
    if channels % groups:
        raise ParamError(f"num_channels must be divisible by num_groups, got {channels} and {groups}")
    if len(shape) < 2:
        raise rank_error("GroupNorm", shape, (2, 3, 4))
    if shape[0] * shape[1] // groups * prod(shape[2:]) == 1:
        raise ShapeError(
            f"expected more than 1 value per group, got the input {list(shape)} with "
            f"num_groups={groups}",
            fix="use a larger input or batch, or fewer groups",
        )
    return Step(shape, params=_affine_params(b, "affine", channels))


def _lrn(b, shape):
    if len(shape) < 3:
        raise rank_error("LocalResponseNorm", shape, (3, 4, 5))
    check_count(b, "size")
    return Step(shape)


# Reshaping -----------------------------------------------------------------------------


def _flatten(b, shape):
    rank = len(shape)
    if rank == 0:
        return Step((1,), rf=GLOBAL)
    start = norm_dim(b["start_dim"], rank, "start_dim")
    end = norm_dim(b["end_dim"], rank, "end_dim")
    if start > end:
        raise ShapeError(f"start_dim {b['start_dim']} comes after end_dim {b['end_dim']} for a {rank}-d input")
    return Step((*shape[:start], prod(shape[start:end + 1]), *shape[end + 1:]), rf=GLOBAL)


def _unflatten(b, shape):
    dim = norm_dim(b["dim"], len(shape))
    sizes = as_list(b["unflattened_size"])
    if not sizes or any(isinstance(s, bool) or not isinstance(s, int) for s in sizes):
        raise ParamError(f"unflattened_size must be a non-empty list of integers, got {sizes}")
    if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
        raise ParamError(f"unflattened_size may contain one -1 and no other negative, got {sizes}")
    known = prod(s for s in sizes if s != -1)
    total = shape[dim]
    if -1 in sizes:
        if known == 0 or violated(unequal(total % known, 0), "Unflatten divides exactly"):
            raise ShapeError(f"cannot unflatten dimension {dim} of size {total} into {sizes}")
        sizes = [total // known if s == -1 else s for s in sizes]
    elif violated(unequal(known, total), "Unflatten sizes multiply to the dimension"):
        raise ShapeError(
            f"unflattened_size {sizes} multiplies to {known}, but dimension {dim} of "
            f"{list(shape)} has {total}"
        )
    return Step((*shape[:dim], *sizes, *shape[dim + 1:]))


def _pixel_shuffle(b, shape):
    r = check_count(b, "upscale_factor")
    if len(shape) < 3:
        raise rank_error("PixelShuffle", shape, (3, 4))
    c, h, w = shape[-3:]
    if c % (r * r):
        raise ShapeError(f"channels {c} must be divisible by upscale_factor² = {r * r}")
    return Step((*shape[:-3], c // (r * r), h * r, w * r), rf=(Scale((r, r)),))


def _pixel_unshuffle(b, shape):
    r = check_count(b, "downscale_factor")
    if len(shape) < 3:
        raise rank_error("PixelUnshuffle", shape, (3, 4))
    c, h, w = shape[-3:]
    if any(violated(unequal(x % r, 0), "PixelUnshuffle divides exactly") for x in (h, w)):
        raise ShapeError(f"height {h} and width {w} must be divisible by downscale_factor {r}")
    return Step((*shape[:-3], c * r * r, h // r, w // r), rf=(Window((r, r), (r, r), (0, 0)),))


def _channel_shuffle(b, shape):
    g = check_count(b, "groups")
    if len(shape) < 3:
        raise rank_error("ChannelShuffle", shape, (3, 4))
    if shape[1] % g:
        raise ShapeError(f"channels {shape[1]} must be divisible by groups={g}")
    return Step(shape)


# Resampling ----------------------------------------------------------------------------

_MODE_RANKS = {
    "nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "area": (3, 4, 5),
    "linear": (3,), "bilinear": (4,), "bicubic": (4,), "trilinear": (5,),
}


def _upsample_rule(mode_default, align_default=None, fixed_mode=False):
    def apply(b, shape):
        mode = mode_default if fixed_mode else b["mode"]
        if mode not in _MODE_RANKS:
            raise ParamError(f"mode must be one of {', '.join(_MODE_RANKS)}, got {mode!r}")
        ranks = _MODE_RANKS[mode]
        if len(shape) not in ranks:
            raise rank_error("Upsample", shape, ranks, f" for mode={mode!r}")
        align = align_default if fixed_mode else b["align_corners"]
        if align is not None and mode in ("nearest", "nearest-exact", "area"):
            raise ParamError(
                "align_corners can only be set with the interpolating modes: "
                "linear, bilinear, bicubic, trilinear"
            )
        size, scale = b["size"], b["scale_factor"]
        if size is None and scale is None:
            raise ParamError("either size or scale_factor must be given")
        if size is not None and scale is not None:
            raise ParamError("only one of size and scale_factor may be given")
        nd = len(shape) - 2
        in_sp = shape[2:]
        if isinstance(size, list):
            size = tuple(size)
        if isinstance(scale, list):
            scale = tuple(scale)
        for value, what in ((size, "size"), (scale, "scale_factor")):
            if isinstance(value, tuple) and len(value) != nd:
                raise ShapeError(
                    f"{what} has {len(value)} values but the input has {nd} spatial dimensions"
                )
        # 'area' is adaptive average pooling, which accepts an empty output
        spatial = shapes.upsample_shape(in_sp, size, scale, minimum=0 if mode == "area" else 1)
        if any(o == 0 for o in spatial):
            return Step((*shape[:2], *spatial), rf=GLOBAL)
        if any_symbolic(spatial):
            return Step((*shape[:2], *spatial), rf=GLOBAL)
        factors = tuple(Fraction(o, i) for o, i in zip(spatial, in_sp, strict=True))
        return Step((*shape[:2], *spatial), rf=(Scale(factors),))

    return apply


# Padding layers ------------------------------------------------------------------------


def _pad_rule(nd, mode, name):
    def apply(b, shape):
        pad = b["padding"]
        pads = [pad] * (2 * nd) if isinstance(pad, int) and not isinstance(pad, bool) else as_list(pad)
        if len(pads) != 2 * nd or any(isinstance(p, bool) or not isinstance(p, int) for p in pads):
            raise ParamError(
                f"padding must be an integer or {2 * nd} integers (left, right"
                + (", top, bottom" if nd > 1 else "") + (", front, back" if nd > 2 else "")
                + f"), got {pad!r}"
            )
        ranks = (nd + 1, nd + 2)
        if len(shape) not in ranks and not (mode == "constant" and len(shape) >= nd):
            raise rank_error(name, shape, ranks)
        # pads run from the last dimension backwards: (left, right, top, bottom, ...)
        pairs = [(pads[2 * i], pads[2 * i + 1]) for i in range(nd)][::-1]
        in_sp = shape[len(shape) - nd:]
        out_sp = tuple(i + lo + hi for i, (lo, hi) in zip(in_sp, pairs, strict=True))
        if mode == "reflect" and any(violated(max(lo, hi) >= i, "reflection padding smaller than the input")
                                     for i, (lo, hi) in zip(in_sp, pairs)):
            raise ShapeError(
                f"reflection padding {pads} must be smaller than the input {fmt_dims(in_sp)}",
                fix="use ReplicationPad, or less padding",
            )
        if mode == "circular" and any(violated(max(lo, hi) > i, "circular padding at most the input")
                                      for i, (lo, hi) in zip(in_sp, pairs)):
            raise ShapeError(
                f"circular padding {pads} wraps around the input {fmt_dims(in_sp)} more than once"
            )
        note = None
        if mode == "circular" and not any_symbolic(in_sp) and not all(
            _circular_copies_ok(i, lo, hi) for i, (lo, hi) in zip(in_sp, pairs)
        ):
            # PyTorch's copies overlap: it raises "unsupported operation" or not depending on
            # the tensor's memory layout (seen with 2.13: 1 channel raises, 3 do not).
            note = (f"circular padding {pads} crops and wraps with overlapping copies; "
                    "PyTorch may raise 'unsupported operation' depending on memory layout")
        # constant padding narrows (crops) first, then pads; reflection and replication
        # check "some output size >= 1" (an or over the dimensions, as ATen writes it)
        cropped = tuple(i + min(lo, 0) + min(hi, 0) for i, (lo, hi) in zip(in_sp, pairs))
        empty = mode in ("reflect", "replicate") and all(violated(o < 1, "padding output not empty") for o in out_sp)
        if (any(violated(o < 0, "padding output size >= 0") for o in out_sp) or empty
                or (mode == "constant" and any(violated(c < 0, "cropping fits the input") for c in cropped))):
            raise ShapeError(
                f"padding {pads} crops the input {fmt_dims(in_sp)} to {fmt_dims(out_sp)}",
                fix="use less negative padding",
            )
        window = Window((1,) * nd, (1,) * nd, tuple(lo for lo, _ in pairs))
        return Step((*shape[: len(shape) - nd], *out_sp), rf=(window,), note=note)

    return apply


def _aten_slice(n: int, start: int, end: int) -> tuple[int, int]:
    """ATen's Tensor.slice bounds: negative indices wrap once, then clamp to [0, n]."""
    start, end = start + n if start < 0 else start, end + n if end < 0 else end
    start = min(max(start, 0), n)
    return start, min(max(end, start), n)


def _copy_ok(dest, src, same_tensor: bool) -> bool:
    """``dest.copy_(src)`` along one dimension: broadcastable lengths and, within one
    tensor, no partial overlap."""
    dl, sl = dest[1] - dest[0], src[1] - src[0]
    if sl != dl and sl != 1:
        return False
    overlap = max(dest[0], src[0]) < min(dest[1], src[1])
    return not (same_tensor and overlap and dest != src)


def _circular_copies_ok(i: int, lo: int, hi: int) -> bool:
    """Replays ATen's _pad_circular slices for one dimension (negative pads crop first)."""
    size = i + lo + hi
    center = _copy_ok(_aten_slice(size, max(lo, 0), size - max(hi, 0)),
                      _aten_slice(i, max(-lo, 0), i - max(-hi, 0)), False)
    left = lo <= 0 or _copy_ok(_aten_slice(size, 0, lo),
                               _aten_slice(size, size - max(hi, 0) - lo, size - max(hi, 0)), True)
    right = hi <= 0 or _copy_ok(_aten_slice(size, size - hi, size),
                                _aten_slice(size, max(lo, 0), max(lo, 0) + hi), True)
    return center and left and right


def _padding_family():
    modes = {"Zero": "constant", "Constant": "constant", "Reflection": "reflect",
             "Replication": "replicate", "Circular": "circular"}
    for prefix, mode in modes.items():
        for nd in (1, 2, 3):
            name = f"{prefix}Pad{nd}d"
            sig = ("padding", "value") if prefix == "Constant" else ("padding",)
            ex_in = (1, 3, *([8] * nd))
            yield LayerType(
                name,
                signature(*sig),
                _pad_rule(nd, mode, name),
                family="padding",
                example=f"{name}({', '.join(['(1, 2' + ', 0, 1' * (nd - 1) + ')'] + (['0.5'] if prefix == 'Constant' else []))})",
                example_input=ex_in,
                summary=("padding",),
                doc=f"Pads the last {nd} dimension(s) by (left, right"
                + (", top, bottom" if nd > 1 else "") + (", front, back" if nd > 2 else "")
                + "); negative padding crops.",
            )


# Shape-preserving layers ---------------------------------------------------------------


def _same(*bools, probability=False, dim=None, min_rank=0, max_rank=None):
    def apply(b, shape):
        if bools:
            check_bool(b, *bools)
        if probability:
            check_probability(b)
        if dim is not None and b[dim] is not None:
            norm_dim(b[dim], len(shape))
        if len(shape) < min_rank or (max_rank is not None and len(shape) > max_rank):
            raise rank_error("", shape, tuple(range(min_rank, (max_rank or min_rank) + 1)))
        return Step(shape)

    return apply


def _glu(b, shape):
    d = norm_dim(b["dim"], len(shape))
    if violated(unequal(shape[d] % 2, 0), "GLU halves an even dimension"):
        raise ShapeError(f"GLU halves dimension {b['dim']}, but its size {shape[d]} is odd")
    return Step((*shape[:d], shape[d] // 2, *shape[d + 1:]))


def _prelu(b, shape):
    n = check_count(b, "num_parameters")
    if n != 1:
        channels = shape[1] if len(shape) >= 2 else shape[0] if shape else 1
        if n != channels:
            raise ShapeError(
                f"num_parameters={n} but the incoming shape {list(shape)} has {channels} channels",
                fix=f"use num_parameters=1 or {channels}",
            )
    return Step(shape, params=n)


ACTIVATIONS = [
    ("ReLU", signature(("inplace", False)), _same("inplace")),
    ("ReLU6", signature(("inplace", False)), _same("inplace")),
    ("LeakyReLU", signature(("negative_slope", 0.01), ("inplace", False)), _same("inplace")),
    ("ELU", signature(("alpha", 1.0), ("inplace", False)), _same("inplace")),
    ("SELU", signature(("inplace", False)), _same("inplace")),
    ("CELU", signature(("alpha", 1.0), ("inplace", False)), _same("inplace")),
    ("GELU", signature(("approximate", "none")), _same()),
    ("SiLU", signature(("inplace", False)), _same("inplace")),
    ("Mish", signature(("inplace", False)), _same("inplace")),
    ("Hardswish", signature(("inplace", False)), _same("inplace")),
    ("Hardsigmoid", signature(("inplace", False)), _same("inplace")),
    ("Hardtanh", signature(("min_val", -1.0), ("max_val", 1.0), ("inplace", False),
                           ("min_value", None), ("max_value", None)), _same("inplace")),
    ("Hardshrink", signature(("lambd", 0.5)), _same()),
    ("Softshrink", signature(("lambd", 0.5)), _same()),
    ("Sigmoid", signature(), _same()),
    ("LogSigmoid", signature(), _same()),
    ("Tanh", signature(), _same()),
    ("Tanhshrink", signature(), _same()),
    ("Softsign", signature(), _same()),
    ("Softplus", signature(("beta", 1.0), ("threshold", 20.0)), _same()),
    ("Threshold", signature("threshold", "value", ("inplace", False)), _same("inplace")),
    ("RReLU", signature(("lower", 1 / 8), ("upper", 1 / 3), ("inplace", False)), _same("inplace")),
    ("Softmax", signature(("dim", None)), _same(dim="dim")),
    ("Softmin", signature(("dim", None)), _same(dim="dim")),
    ("LogSoftmax", signature(("dim", None)), _same(dim="dim")),
    ("Softmax2d", signature(), _same(min_rank=3, max_rank=4)),
    ("GLU", signature(("dim", -1)), _glu),
]

DROPOUTS = [
    ("Dropout", _same("inplace", probability=True)),
    ("Dropout1d", _same("inplace", probability=True, min_rank=2, max_rank=3)),
    ("Dropout2d", _same("inplace", probability=True)),
    ("Dropout3d", _same("inplace", probability=True)),
    ("AlphaDropout", _same("inplace", probability=True)),
    ("FeatureAlphaDropout", _same("inplace", probability=True)),
]


def _shape_preserving():
    for name, sig, rule in ACTIVATIONS:
        args = {"Threshold": "Threshold(0.1, 20.0)", "Softmax": "Softmax(dim=1)",
                "Softmin": "Softmin(dim=1)", "LogSoftmax": "LogSoftmax(dim=1)",
                "GLU": "GLU(dim=1)"}
        yield LayerType(
            name, sig, rule, family="activation",
            example=args.get(name, name), example_input=(2, 4, 6, 6),
            summary=tuple(n for n, _ in sig if n not in ("inplace",)),
            doc="Halves `dim` (default: the last)." if name == "GLU" else "Shape-preserving.",
        )
    yield LayerType(
        "PReLU", signature(("num_parameters", 1), ("init", 0.25)), _prelu, family="activation",
        example="PReLU(4)", example_input=(2, 4, 6, 6), summary=("num_parameters",),
        doc="Shape-preserving; num_parameters learnable slopes (1, or one per channel).",
    )
    for name, rule in DROPOUTS:
        yield LayerType(
            name, signature(("p", 0.5), ("inplace", False)), rule, family="dropout",
            example=f"{name}(0.25)",
            example_input=(2, 4, 6) if name == "Dropout1d" else (2, 4, 6, 6) if name != "Dropout3d" else (2, 4, 3, 6, 6),
            summary=("p",),
            doc="Shape-preserving (identity at inference); p in [0, 1].",
        )
    yield LayerType(
        "Identity", (), lambda b, shape: Step(shape), family="reshaping",
        example="Identity", example_input=(1, 3, 8, 8), varargs=True,
        doc="Returns its input; takes and ignores any arguments, as in PyTorch.",
    )


def _norm_family():
    for nd in (1, 2, 3):
        apply, infer = _batchnorm(nd)
        yield LayerType(
            f"BatchNorm{nd}d",
            signature("num_features", ("eps", 1e-05), ("momentum", 0.1), ("affine", True),
                      ("track_running_stats", True), ("bias", True)),
            apply, family="normalization", positional=5,
            example=f"BatchNorm{nd}d(4)",
            example_input=(2, 4, 6) if nd == 1 else (2, 4, *([6] * nd)),
            summary=("num_features", "eps", "affine"),
            infer=(infer,),
            doc="Params: C weights + C biases when affine (bias=False: weights only); running "
            "mean/var are buffers, not parameters. "
            + ("Input (N, C) or (N, C, L)." if nd == 1 else f"Input {nd + 2}-d only (no unbatched form)."),
        )
        apply, read = _instancenorm(nd)
        yield LayerType(
            f"InstanceNorm{nd}d",
            signature("num_features", ("eps", 1e-05), ("momentum", 0.1), ("affine", False),
                      ("track_running_stats", False), ("bias", True)),
            apply, family="normalization", positional=5,
            example=f"InstanceNorm{nd}d(4, affine=True)",
            example_input=(2, 4, *([6] * nd)),
            summary=("num_features", "affine"),
            # a given num_features may differ when affine=False (PyTorch only warns)
            infer=(Infer("num_features", read, "channels", strict=False),),
            doc="Params: C weights + C biases when affine (default False). Unbatched input allowed.",
        )
    yield LayerType(
        "LayerNorm",
        signature("normalized_shape", ("eps", 1e-05), ("elementwise_affine", True), ("bias", True)),
        _layernorm, family="normalization",
        example="LayerNorm([6, 6])", example_input=(2, 4, 6, 6),
        summary=("normalized_shape",),
        infer=(Infer("normalized_shape", lambda shape: [_last_dim(shape)], "as last dimension",
                     strict=False),),
        doc="Params: ∏normalized_shape weights (+ as many biases). Omitted normalized_shape = the last dimension.",
    )
    yield LayerType(
        "GroupNorm",
        signature("num_groups", "num_channels", ("eps", 1e-05), ("affine", True), ("bias", True)),
        _groupnorm, family="normalization", positional=4,
        example="GroupNorm(2, 4)", example_input=(2, 4, 6, 6),
        summary=("num_groups", "num_channels"),
        infer=(Infer("num_channels", _channel_dim1((2, 3, 4, 5, 6), "GroupNorm"), "channels"),),
        doc="Params: C weights + C biases when affine; C must be divisible by num_groups.",
    )
    yield LayerType(
        "LocalResponseNorm",
        signature("size", ("alpha", 0.0001), ("beta", 0.75), ("k", 1.0)),
        _lrn, family="normalization",
        example="LocalResponseNorm(3)", example_input=(2, 4, 6, 6), summary=("size",),
        doc="Shape-preserving; 3-d or larger input.",
    )


LAYERS = [
    LayerType(
        "Linear",
        signature("in_features", "out_features", ("bias", True)),
        _linear, family="linear",
        example="Linear(20, 30)", example_input=(2, 5, 20),
        summary=("in_features", "out_features", "bias"),
        infer=(Infer("in_features", _last_dim, "features"),),
        doc="Acts on the last dimension. Params: in·out (+ out bias). MACs: ∏leading dims · in · out.",
    ),
    *_norm_family(),
    LayerType(
        "Flatten", signature(("start_dim", 1), ("end_dim", -1)), _flatten, family="reshaping",
        example="Flatten()", example_input=(2, 3, 4, 5), summary=("start_dim", "end_dim"),
        doc="Merges dimensions start_dim..end_dim (default: all but the batch).",
    ),
    LayerType(
        "Unflatten", signature("dim", "unflattened_size"), _unflatten, family="reshaping",
        example="Unflatten(1, (3, -1))", example_input=(2, 12, 5),
        summary=("dim", "unflattened_size"),
        doc="Splits dimension dim into unflattened_size (one -1 allowed).",
    ),
    LayerType(
        "PixelShuffle", signature("upscale_factor"), _pixel_shuffle, family="resampling",
        example="PixelShuffle(2)", example_input=(1, 8, 5, 6), summary=("upscale_factor",),
        doc="(*, C·r², H, W) -> (*, C, H·r, W·r).",
    ),
    LayerType(
        "PixelUnshuffle", signature("downscale_factor"), _pixel_unshuffle, family="resampling",
        example="PixelUnshuffle(2)", example_input=(1, 2, 6, 8), summary=("downscale_factor",),
        doc="(*, C, H·r, W·r) -> (*, C·r², H, W).",
    ),
    LayerType(
        "ChannelShuffle", signature("groups"), _channel_shuffle, family="reshaping",
        example="ChannelShuffle(2)", example_input=(1, 4, 3, 3), summary=("groups",),
        doc="Shape-preserving; channels divisible by groups.",
    ),
    LayerType(
        "Upsample",
        signature(("size", None), ("scale_factor", None), ("mode", "nearest"),
                  ("align_corners", None), ("recompute_scale_factor", None)),
        _upsample_rule("nearest"), family="resampling",
        example="Upsample(scale_factor=1.5, mode='bilinear')", example_input=(1, 3, 7, 9),
        summary=("size", "scale_factor", "mode"),
        doc="size, or ⌊in × scale_factor⌋ in float64. Input (N, C, *spatial): no unbatched form.",
    ),
    LayerType(
        "UpsamplingNearest2d", signature(("size", None), ("scale_factor", None)),
        _upsample_rule("nearest", None, fixed_mode=True), family="resampling",
        example="UpsamplingNearest2d(scale_factor=2)", example_input=(1, 3, 7, 9),
        summary=("size", "scale_factor"), doc="Upsample with mode='nearest'.",
    ),
    LayerType(
        "UpsamplingBilinear2d", signature(("size", None), ("scale_factor", None)),
        _upsample_rule("bilinear", True, fixed_mode=True), family="resampling",
        example="UpsamplingBilinear2d(size=(10, 12))", example_input=(1, 3, 7, 9),
        summary=("size", "scale_factor"), doc="Upsample with mode='bilinear', align_corners=True.",
    ),
    *_padding_family(),
    *_shape_preserving(),
]
