"""Normalisation layers: BatchNorm, InstanceNorm, LayerNorm, GroupNorm, LocalResponseNorm."""

from __future__ import annotations

from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import (
    Infer,
    LayerType,
    Step,
    as_list,
    check_bool,
    check_count,
    last_dim,
    prod,
    rank_error,
    signature,
)
from convcalc.engine.symbolic import is_symbolic, unequal, violated


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

    read = _channel_dim1(ranks, f"BatchNorm{nd}d")

    def apply(b, shape):
        if len(shape) not in ranks:
            raise rank_error(f"BatchNorm{nd}d", shape, ranks)
        check_bool(b, "affine", "track_running_stats", "bias")
        features = b["num_features"]
        if not is_symbolic(features) and (isinstance(features, bool) or not isinstance(features, int) or features < 1):
            raise ParamError(f"num_features must be a positive integer, got {features!r}",
                             fix="a batch norm needs at least one channel")
        return Step(shape, params=_affine_params(b, "affine", features),
                    note=_single_value_note(shape[0] * prod(shape[2:]), shape, "value per channel"))

    # the count is checked against the weights or the running statistics: with neither
    # (affine=False, track_running_stats=False) PyTorch checks nothing
    return apply, Infer("num_features", read, "channels",
                        strict=lambda b: bool(b["affine"] or b["track_running_stats"]))


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


def layernorm_rule(b, shape):
    normalized = as_list(b["normalized_shape"])
    check_bool(b, "elementwise_affine", "bias")
    if not normalized:
        raise ParamError("normalized_shape must have at least one dimension, got []",
                         fix="normalise over the last dimension: LayerNorm(C)")
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
        layernorm_rule, family="normalization",
        example="LayerNorm([6, 6])", example_input=(2, 4, 6, 6),
        summary=("normalized_shape",),
        infer=(Infer("normalized_shape", lambda shape: [last_dim(shape)], "as last dimension",
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


LAYERS = [*_norm_family()]
