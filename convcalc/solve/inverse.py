"""``convcalc solve``: every conv, pooling or transposed-conv configuration that maps one
size to another, simplest first. Each candidate is checked by the forward engine."""

from __future__ import annotations

from dataclasses import dataclass

from convcalc.engine import formulas, shapes
from convcalc.engine.params import ConvParams, PoolKind, PoolParams, TConvParams, per_dim
from convcalc.errors import ConvcalcError

DEFAULT_BOUNDS = {"k": (1, 11), "s": (1, 8), "d": (1, 3)}


@dataclass(frozen=True)
class Config:
    """One single-layer configuration (the same in every dimension)."""

    layer: str  # conv, maxpool, avgpool, tconv
    k: int
    s: int
    p: int
    d: int = 1
    ceil: bool = False
    op: int = 0

    def torch_name(self, nd: int) -> str:
        return {"conv": f"Conv{nd}d", "maxpool": f"MaxPool{nd}d", "avgpool": f"AvgPool{nd}d",
                "tconv": f"ConvTranspose{nd}d"}[self.layer]

    def pytorch(self, nd: int) -> str:
        pool = self.layer.endswith("pool")
        parts = [f"kernel_size={self.k}"]
        if self.s != (self.k if pool else 1):  # pooling's stride defaults to the kernel
            parts.append(f"stride={self.s}")
        if self.p:
            parts.append(f"padding={self.p}")
        if self.op:
            parts.append(f"output_padding={self.op}")
        if self.d != 1:
            parts.append(f"dilation={self.d}")
        if self.ceil:
            parts.append("ceil_mode=True")
        channels = "" if pool else "C_in, C_out, "
        return f"nn.{self.torch_name(nd)}({channels}{', '.join(parts)})"

    def as_json(self, nd: int) -> dict:
        data = {"layer": self.torch_name(nd), "kernel_size": self.k, "stride": self.s,
                "padding": self.p, "dilation": self.d}
        if self.layer.endswith("pool"):
            data["ceil_mode"] = self.ceil
        if self.layer == "tconv":
            data["output_padding"] = self.op
        data["pytorch"] = self.pytorch(nd)
        return data

    def sort_key(self):
        rank = {"conv": 0, "maxpool": 1, "avgpool": 2, "tconv": 3}[self.layer]
        return (self.d, self.k, self.s, self.p, self.op, rank, self.ceil)


def _range(bounds, key, default):
    value = bounds.get(key)
    if value is None:
        return range(default[0], default[1] + 1)
    return value


def enumerate_layers(in_size, out_size, layers=("conv", "maxpool", "avgpool", "tconv"),
                     bounds=None) -> list[Config]:
    """Every single-layer configuration mapping ``in_size`` to ``out_size``, simplest first.

    ``bounds`` maps ``k``, ``s``, ``p``, ``d`` to an iterable of allowed values; by default
    kernel 1..11, stride 1..8, dilation 1..3, and padding 0..d·(k−1) (more padding only
    adds windows of nothing but padding); pooling padding is at most kernel // 2."""
    sizes = shapes.input_sizes(in_size)
    nd = len(sizes)
    target = per_dim("output size", out_size, nd, 1)
    bounds = bounds or {}
    found = []
    for layer in layers:
        for d in _range(bounds, "d", DEFAULT_BOUNDS["d"]) if layer in ("conv", "maxpool", "tconv") else (1,):
            for k in _range(bounds, "k", DEFAULT_BOUNDS["k"]):
                k_eff = formulas.effective_kernel(k, d)
                pads = bounds.get("p") or range(0, (k // 2 if layer.endswith("pool") else k_eff - 1) + 1)
                for s in _range(bounds, "s", DEFAULT_BOUNDS["s"]):
                    for p in pads:
                        found += _matches(layer, sizes, target, k, s, p, d, nd)
    return sorted(set(found), key=Config.sort_key)


def _matches(layer, sizes, target, k, s, p, d, nd) -> list[Config]:
    """The configurations with these numbers that give ``target``, checked by the engine."""
    if layer == "conv":
        options = [Config("conv", k, s, p, d)]
        if any(formulas.conv_out(i, k, s, p, p, d) != t for i, t in zip(sizes, target)):
            return []
    elif layer == "tconv":
        options = [Config("tconv", k, s, p, d, op=op) for op in range(max(s, d))
                   if all(formulas.tconv_out(i, k, s, p, d, op) == t for i, t in zip(sizes, target))]
    else:
        options = [Config(layer, k, s, p, d, ceil) for ceil in (False, True)]
    good = []  # ceil_mode only where floor mode does not already give the target
    for c in options:
        try:
            if c.layer == "conv":
                out = shapes.conv_shape(sizes, ConvParams.create(nd, k, s, p, d))
            elif c.layer == "tconv":
                out = shapes.tconv_shape(sizes, TConvParams.create(nd, k, s, p, d, c.op))
            else:
                kind = PoolKind.MAX if c.layer == "maxpool" else PoolKind.AVG
                out = shapes.pool_shape(sizes, PoolParams.create(nd, k, s, p, d, c.ceil, kind))
        except ConvcalcError:
            continue
        if out == tuple(target):
            good.append(c)
            if c.layer.endswith("pool"):
                break
    return good
