"""Run real torch layers on the CPU and report what PyTorch does: a shape, or a refusal."""

from __future__ import annotations

import warnings

import torch

from convcalc import ConvcalcError

REFUSED = "refused"


def torch_spatial(make_module, in_size, channels=1):
    """Build the module and run it on a zero tensor (batch 1); spatial output sizes or REFUSED."""
    x = torch.zeros(1, channels, *in_size)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with torch.no_grad():
                y = make_module()(x)
    except (RuntimeError, ValueError, TypeError, NotImplementedError):
        return REFUSED
    return tuple(y.shape[2:])


def ours(fn):
    """convcalc's answer: spatial sizes (checked to be plain ints) or REFUSED."""
    try:
        out = fn()
    except ConvcalcError:
        return REFUSED
    assert all(type(o) is int for o in out), out
    return tuple(out)
