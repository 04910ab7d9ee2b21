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
from convcalc.graph.propagate import Node, Report

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
    torch_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.engine_shape == self.torch_shape and self.engine_params == self.torch_params


def default_device() -> str:
    return "cuda" if _torch().cuda.is_available() else "cpu"


def _leaves(report: Report, model) -> list:
    """The leaf modules of a built model, in the report's execution order."""
    modules = []

    def walk(node: Node, mod):
        if node.kind == "layer":
            modules.append(mod)
            return
        children = list(mod.branches) if node.kind in ("cat", "add") else list(mod.children())
        for child_node, child in zip(node.children, children, strict=True):
            walk(child_node, child)

    walk(Node("seq", "", children=report.tree), model)
    return modules


def _run_with_hooks(model, modules, x, on_output, on_input=None):
    """One forward pass with hooks on ``modules``; the exception it raised, if any."""
    torch = _torch()
    hooks = [m.register_forward_hook(on_output) for m in modules]
    if on_input is not None:
        hooks += [m.register_forward_pre_hook(on_input) for m in modules]
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model(x)
    except (RuntimeError, ValueError, TypeError, NotImplementedError, IndexError) as e:
        return e
    finally:
        for h in hooks:
            h.remove()
    return None


def compare(report: Report, device: str = "cpu") -> list[LayerCheck]:
    """Run the built network once on zeros and compare every leaf layer with the engine.

    A layer torch refuses gets ``torch_shape`` None and the error's first line."""
    torch = _torch()
    model = build(report).to(device).eval()
    leaves = [r for r in report.rows if r.leaf]
    modules = _leaves(report, model)
    seen: list[tuple] = []
    error = _run_with_hooks(model, modules, torch.zeros(report.input_shape, device=device),
                            lambda _m, _i, out: seen.append(tuple(out.shape)))
    checks = []
    for i, (row, mod) in enumerate(zip(leaves, modules, strict=True)):
        failed = error is not None and i == len(seen)
        checks.append(LayerCheck(
            ".".join(row.path), row.type, tuple(row.output_shape),
            seen[i] if i < len(seen) else None,
            row.params, sum(p.numel() for p in mod.parameters()),
            str(error).splitlines()[0] if failed else None,
        ))
    return checks


@dataclass
class LayerNumerics:
    path: str
    type: str
    max_abs: float | None
    max_rel: float | None
    reference_ms: float
    device_ms: float
    note: str | None = None


@dataclass
class Numerics:
    device: str
    reference: str
    layers: list
    tf32_matmul: bool
    tf32_cudnn: bool
    cudnn_benchmark: bool
    peak_memory_bytes: int | None
    estimate_bytes: int


def numerics(report: Report, device: str = "cuda", reference: str = "cpu", seed: int = 0) -> Numerics:
    """The same weights and input on ``reference`` and ``device``: per layer the largest
    absolute and relative difference of the outputs, and the time each layer took; on CUDA
    the peak memory allocated, beside the engine's activation estimate."""
    import copy
    import time

    torch = _torch()
    torch.manual_seed(seed)
    base = build(report).eval()
    x = torch.randn(report.input_shape, generator=torch.Generator().manual_seed(seed))
    cuda = device.startswith("cuda")

    def run(model, dev):
        model = model.to(dev)
        modules = _leaves(report, model)
        outputs, times, starts = [], [], {}

        def pre(mod, _inputs):
            if cuda and dev == device:
                torch.cuda.synchronize()
            starts[id(mod)] = time.perf_counter()

        def post(mod, _inputs, out):
            if cuda and dev == device:
                torch.cuda.synchronize()
            times.append((time.perf_counter() - starts[id(mod)]) * 1000)
            outputs.append(out.detach().to("cpu", torch.float64))

        if cuda and dev == device:
            torch.cuda.reset_peak_memory_stats()
        error = _run_with_hooks(model, modules, x.to(dev), post, pre)
        peak = torch.cuda.max_memory_allocated() if cuda and dev == device else None
        return outputs, times, error, peak

    ref_out, ref_ms, ref_err, _ = run(copy.deepcopy(base), reference)
    dev_out, dev_ms, dev_err, peak = run(copy.deepcopy(base), device)
    layers = []
    for i, row in enumerate(r for r in report.rows if r.leaf):
        a = ref_out[i] if i < len(ref_out) else None
        b = dev_out[i] if i < len(dev_out) else None
        note = None
        if (a is None) != (b is None):
            failed = reference if a is None else device
            err = ref_err if a is None else dev_err
            note = f"only {failed} refused: {str(err).splitlines()[0] if err else 'not reached'}"
        elif a is not None and a.shape != b.shape:
            note = f"shapes differ: {reference} {tuple(a.shape)}, {device} {tuple(b.shape)}"
        if a is None or b is None or note:
            layers.append(LayerNumerics(".".join(row.path), row.type, None, None,
                                        _at(ref_ms, i), _at(dev_ms, i), note))
            continue
        diff = (a - b).abs()
        max_abs = float(diff.max()) if diff.numel() else 0.0
        scale = float(a.abs().max()) if a.numel() else 0.0
        layers.append(LayerNumerics(".".join(row.path), row.type, max_abs,
                                    max_abs / scale if scale else 0.0, ref_ms[i], dev_ms[i]))
    return Numerics(
        device, reference, layers,
        bool(torch.backends.cuda.matmul.allow_tf32), bool(torch.backends.cudnn.allow_tf32),
        bool(torch.backends.cudnn.benchmark), peak, report.totals["activation_bytes"],
    )


def _at(values, i):
    return values[i] if i < len(values) else float("nan")
