"""Linear: a matrix product over the last dimension."""

from __future__ import annotations

from convcalc.ops.base import (
    Mix,
    Infer,
    LayerType,
    Step,
    check_bool,
    check_count,
    last_dim,
    prod,
    signature,
)


def _linear(b, shape):
    check_count(b, "in_features", 0)
    out_f = check_count(b, "out_features", 0)
    check_bool(b, "bias")
    out = (*shape[:-1], out_f)
    return Step(
        out,
        params=b["in_features"] * out_f + (out_f if b["bias"] else 0),
        macs=prod(shape[:-1]) * b["in_features"] * out_f,
        rf=(Mix((-1,)),),  # global after a Flatten; pointwise in space on channels-last
    )


LAYERS = [
    LayerType(
        "Linear",
        signature("in_features", "out_features", ("bias", True)),
        _linear, family="linear",
        example="Linear(20, 30)", example_input=(2, 5, 20),
        summary=("in_features", "out_features", "bias"),
        infer=(Infer("in_features", last_dim, "features"),),
        doc="Acts on the last dimension. Params: in·out (+ out bias). MACs: ∏leading dims · in · out.",
    ),
]
