"""``F.conv1d``, ``F.conv2d``, ``F.conv3d``: the convolution layers' rules on a weight tensor.

The layer's arguments are read off the tensors as ATen reads them: out_channels and the
kernel from ``weight`` ``[out, in / groups, *kernel]``, in_channels from the input (which
must have ``weight[1] * groups`` channels), a bias of exactly ``[out]``. timm's
``Conv2dSame`` and weight-standardised convolutions call these; the weight and bias are
tensors counted where they are made, so the call itself has no parameters.
"""

from __future__ import annotations

from convcalc.engine.symbolic import is_symbolic, unequal, violated
from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import Step, rank_error
from convcalc.ops.conv import conv_rule
from convcalc.ops.function import FunctionType, params


def _conv_function(nd: int):
    op = f"conv{nd}d"
    layer_rule = conv_rule(nd)

    def rule(b):
        shape, weight, bias, groups = tuple(b["input"]), tuple(b["weight"]), b["bias"], b["groups"]
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
            raise ParamError(f"{op}: groups must be a positive integer, got {groups!r}")
        if len(weight) != nd + 2:
            raise ShapeError(f"{op}: weight must be {nd + 2}-d [out_channels, in_channels / groups, "
                             f"*kernel], got {list(weight)}")
        if len(shape) not in (nd + 1, nd + 2):
            raise rank_error(op, shape, (nd + 1, nd + 2))
        channels = shape[len(shape) - nd - 1]
        if violated(unequal(weight[1] * groups, channels), f"{op}: the input has weight[1] * groups channels"):
            raise ShapeError(f"{op}: expected the input {list(shape)} to have weight[1] * groups = "
                             f"{weight[1] * groups} channels, but got {channels} channels instead")
        out = weight[0]
        if not is_symbolic(out) and out % groups:
            raise ShapeError(f"{op}: expected the weight's out_channels {out} to be divisible by groups={groups}")
        if bias is not None and tuple(bias) != (out,):
            raise ShapeError(f"{op}: bias must have the shape [{out}] (the weight's out_channels), "
                             f"got {list(bias)}")
        bound = {"in_channels": channels, "out_channels": out, "kernel_size": tuple(weight[2:]),
                 "stride": _spread(b["stride"]), "padding": _spread(b["padding"]), "dilation": _spread(b["dilation"]),
                 "groups": groups, "bias": bias is not None, "padding_mode": "zeros"}
        step = layer_rule(bound, shape)
        return Step(step.out, macs=step.macs, rf=step.rf, drops=step.drops)

    return rule


def _spread(value):
    """ATen's one value for every dim: a one-element list is its element (stride=[2])."""
    return value[0] if isinstance(value, (list, tuple)) and len(value) == 1 else value


def _ex(call, *shapes):
    return (call, shapes)


FUNCTIONS = [
    FunctionType(f"conv{nd}d", params("input:tensor", "weight:tensor", ("bias:tensor", None), ("stride", 1),
                                      ("padding", 0), ("dilation", 1), ("groups", 1)),
                 _conv_function(nd), "convolution",
                 f"Conv{nd}d as a function of its weight [out, in / groups, *kernel] and bias [out]; "
                 "MACs as the layer's.", examples, method=False)
    for nd, examples in (
        (1, (_ex("F.conv1d(x, y)", (2, 4, 9), (6, 4, 3)), _ex("F.conv1d(x, y, z, 2, 1)", (4, 9), (6, 4, 3), (6,)))),
        (2, (_ex("F.conv2d(x, y, z, stride=2, padding=1)", (1, 3, 8, 8), (4, 3, 3, 3), (4,)),
             _ex("F.conv2d(x, y, groups=2)", (1, 4, 5, 5), (6, 2, 3, 3)),
             _ex("F.conv2d(x, y, padding='same', dilation=2)", (1, 3, 7, 7), (2, 3, 3, 3)),
             _ex("F.conv2d(x, y)", (1, 3, 5, 5), (4, 2, 3, 3)), _ex("F.conv2d(x, y, stride=[2], padding=[1])", (1, 3, 8, 8), (4, 3, 3, 3)),
             _ex("F.conv2d(x, y, stride=[])", (1, 3, 8, 8), (4, 3, 3, 3)))),
        (3, (_ex("F.conv3d(x, y, stride=(1, 2, 2))", (1, 2, 4, 6, 6), (3, 2, 3, 3, 3)),)),
    )
]
