"""Build a spec as real ``torch.nn`` modules and compare them with the engine.

The only module that imports torch, and only when called. ``build`` turns a propagated
report's structure into an ``nn.Module`` (``nn.Sequential`` for groups, a small ``Branches``
module for ``concat``/``add``); ``compare`` runs one forward pass with hooks on every leaf
layer and lists, per layer, the engine's and torch's output shape and parameter count.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from convcalc.errors import ConvcalcError
from convcalc.propagate import Node, Report

INSTALL = "pip install 'convcalc[torch]'  (or: pip install torch)"


def _torch():
    try:
        import torch
    except ImportError:
        raise ConvcalcError(f"this needs PyTorch, which is not installed: {INSTALL}") from None
    return torch


def build(report: Report):
    """The report's network as an ``nn.Module`` whose leaves are the report's leaf layers."""
    torch = _torch()
    nn = torch.nn

    class Branches(nn.Module):
        """Parallel branches on one input, joined by ``torch.cat(dim)`` or by a sum."""

        def __init__(self, kind, dim, branches):
            super().__init__()
            self.kind, self.dim = kind, dim
            self.branches = nn.ModuleList(branches)

        def forward(self, x):
            outs = [branch(x) for branch in self.branches]
            if self.kind == "cat":
                return torch.cat(outs, dim=self.dim)
            total = outs[0]
            for out in outs[1:]:
                total = total + out
            return total

    def module(node: Node):
        if node.kind == "layer":
            cls = getattr(nn, node.row.type)
            return cls(**node.row.args)
        if node.kind == "seq":
            seq = nn.Sequential()
            for child in node.children:
                seq.add_module(child.name.replace(".", "_"), module(child))
            return seq
        return Branches(node.kind, node.dim, [module(b) for b in node.children])

    return module(Node("seq", "", children=report.tree))


@dataclass
class LayerCheck:
    path: str
    type: str
    engine_shape: tuple
    torch_shape: tuple | None
    engine_params: int
    torch_params: int

    @property
    def ok(self) -> bool:
        return self.engine_shape == self.torch_shape and self.engine_params == self.torch_params


def compare(report: Report, device: str = "cpu") -> list[LayerCheck]:
    """Run the built network once on zeros and compare every leaf layer with the engine."""
    torch = _torch()
    model = build(report).to(device).eval()
    leaves = [r for r in report.rows if r.leaf]
    seen: list[tuple] = []
    modules = []

    def walk(node: Node, mod):
        if node.kind == "layer":
            modules.append(mod)
            return
        children = list(mod.branches) if node.kind in ("cat", "add") else list(mod.children())
        for child_node, child in zip(node.children, children, strict=True):
            walk(child_node, child)

    walk(Node("seq", "", children=report.tree), model)
    hooks = [m.register_forward_hook(lambda _m, _i, out: seen.append(tuple(out.shape)))
             for m in modules]
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model(torch.zeros(report.input_shape, device=device))
    finally:
        for h in hooks:
            h.remove()
    return [
        LayerCheck(
            ".".join(row.path), row.type, tuple(row.output_shape),
            seen[i] if i < len(seen) else None,
            row.params, sum(p.numel() for p in mod.parameters()),
        )
        for i, (row, mod) in enumerate(zip(leaves, modules, strict=True))
    ]
