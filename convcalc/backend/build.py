"""Build a spec as real ``torch.nn`` modules and compare them with the engine.

torch is imported only when called. ``build`` turns a report's graph into an ``nn.Module``
whose ``forward`` runs the graph's operations in order; ``compare`` runs it once and lists,
per operation, the engine's and torch's output shape and parameter count.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from convcalc.errors import ConvcalcError
from convcalc.backend import functions
from convcalc.graph.ir import Scope
from convcalc.graph.trace import LEARNED
from convcalc.ops.merge import MergeType
from convcalc.graph.report import Report

INSTALL = "pip install 'convcalc[torch]'  (or: pip install torch)"


def require_torch():
    try:
        import torch
    except ImportError:
        raise ConvcalcError(f"this needs PyTorch, which is not installed: {INSTALL}") from None
    return torch


def build(report: Report):
    """The report's graph as an ``nn.Module``: one submodule per group and per layer, named by
    their paths (so ``state_dict`` keys are the table's paths), and a ``forward`` that runs
    the graph's operations in order."""
    torch = require_torch()
    nn = torch.nn
    graph = report.graph

    class Network(nn.Module):
        def __init__(self):
            super().__init__()
            layers = {}

            def fill(scope, module):
                for entry in scope.entries:
                    if isinstance(entry, Scope):
                        child = nn.Module()
                        module.add_module(_attribute(entry.path[-1]), child)
                        fill(entry, child)
                    elif entry.reuses is not None:
                        continue  # a module called again: its first call registered it
                    elif entry.type in LEARNED:
                        tensor = torch.zeros(entry.args["shape"], dtype=getattr(torch, entry.args["dtype"]))
                        if entry.type == "Parameter":
                            module.register_parameter(_attribute(entry.path[-1]), nn.Parameter(tensor))
                        else:
                            module.register_buffer(_attribute(entry.path[-1]), tensor)
                        layers[entry.index] = (module, _attribute(entry.path[-1]))
                    elif entry.module:
                        layer = layer_class(torch, entry.rule, entry.type)(**entry.args)
                        module.add_module(_attribute(entry.path[-1]), layer)
                        layers[entry.index] = layer

            fill(graph.root, self)
            self.layers = layers  # op index -> module (a plain dict: registered above)

        def forward(self, *inputs, on_op=None):
            values = dict(zip(graph.inputs, inputs))
            for op in graph.ops:
                if op.type in LEARNED:
                    owner, name = self.layers[op.index]
                    out = getattr(owner, name)
                elif op.module:
                    layer = self.layers[op.index if op.reuses is None else op.reuses]
                    if op.call:
                        out = layer(values[op.inputs[0]], **functions.arguments(op.call, values))
                    else:
                        out = layer(values[op.inputs[0]])
                elif isinstance(op.rule, MergeType):
                    out = MERGE_FUNCTIONS[op.type](torch, [values[v] for v in op.inputs], op.args)
                else:
                    out = functions.run(torch, op.rule, op.args, values)
                if len(op.outputs) == 1:
                    values[op.outputs[0]] = out
                else:
                    values.update(zip(op.outputs, out))
                if on_op is not None:
                    on_op(op, out if len(op.outputs) == 1 else out[0])
            outs = [values[v] for v in graph.outputs]
            return outs[0] if len(outs) == 1 else tuple(outs)

    return Network()


def layer_class(torch, rule, name: str):
    """A layer's class: torch.nn's, or the one its ``source`` defines (torchvision's layers)."""
    source = getattr(rule, "source", "")
    return functions.compiled(torch, source)[name] if source else getattr(torch.nn, name)


def _count(layer) -> int:
    if layer is None:
        return 0
    return sum(p.numel() for p in (layer if isinstance(layer, list) else layer.parameters()))


def _sum(torch, args, _bound):
    total = args[0]
    for a in args[1:]:
        total = total + a
    return total


MERGE_FUNCTIONS = {  # the structural merges: concat and add of branches
    "cat": lambda torch, args, bound: torch.cat(args, dim=bound["dim"]),
    "add": _sum,
}


def _attribute(segment: str) -> str:
    return segment.replace(".", "_")


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
    return "cuda" if require_torch().cuda.is_available() else "cpu"


def _run(model, inputs, on_op):
    """One forward pass, calling ``on_op(op, output)`` after each operation; the exception
    torch raised, if any."""
    torch = require_torch()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model(*inputs, on_op=on_op)
    except (RuntimeError, ValueError, TypeError, NotImplementedError, IndexError,
            AssertionError) as e:  # MultiheadAttention and Embedding refuse by assertions
        return e
    return None


def memory_needed(report: Report, copies: int = 1) -> int | None:
    """What running ``report`` in torch takes, estimated: ``copies`` of its weights
    (params × dtype bytes) and every activation (None for symbolic sizes)."""
    total = report.totals["param_bytes"] * copies + report.totals["activation_bytes"]
    return total if isinstance(total, int) else None


def available_memory(device: str) -> int | None:
    """Free memory on ``device`` (the kernel's MemAvailable for the CPU), or None when it
    cannot be told; the meta device allocates nothing."""
    if device == "meta":
        return None
    if device.startswith("cuda"):
        return require_torch().cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    import os

    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(report: Report, device: str, copies: int = 1) -> None:
    """Refuse, before any weight is allocated, a network whose weights and activations do
    not fit in ``device``'s free memory."""
    needed, free = memory_needed(report, copies), available_memory(device)
    if needed is None or free is None or needed <= free:
        return
    raise ConvcalcError(
        f"running {report.name} on {device} needs about {_gib(needed)} ({report.totals['params']:,} "
        f"params: {_gib(report.totals['param_bytes'])} of weights"
        + (f" × {copies}" if copies > 1 else "") + f", and the activations), but {_gib(free)} is free",
        fix="check on --device meta: it allocates no weights (shapes and parameter counts only)")


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.1f} MiB"


def compare(report: Report, device: str = "cpu", advance=None) -> list[LayerCheck]:
    """Run the built network once on zeros and compare every operation with the engine;
    ``advance()``, if given, is called after each operation runs (a progress bar).

    The modules are built on ``device`` itself: on the meta device no weight is ever
    allocated, elsewhere a network that would not fit is refused first (``check_memory``).
    An operation torch refuses gets ``torch_shape`` None and the error's first line."""
    torch = require_torch()
    check_memory(report, device)
    with torch.device(device):
        model = build(report).eval()
    seen: list[tuple] = []
    inputs = [torch.zeros(shape, device=device, dtype=getattr(torch, report.graph.dtypes.get(name, "float32")))
              for name, shape in report.graph.inputs.items()]

    def ran(_op, out):  # an operation of several outputs (chunk) shows its first, as its row
        seen.append(tuple((out[0] if isinstance(out, (tuple, list)) else out).shape))
        if advance is not None:
            advance()

    error = _run(model, inputs, ran)
    checks = []
    for i, row in enumerate(report.rows):
        layer = model.layers.get(row.index)
        if isinstance(layer, tuple):  # a learned tensor: (module, attribute name)
            layer = None if row.type != "Parameter" else [getattr(*layer)]
        failed = error is not None and i == len(seen)
        checks.append(LayerCheck(
            ".".join(row.path), row.type, tuple(row.output_shape),
            seen[i] if i < len(seen) else None,
            row.params, _count(layer),
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


def numerics(report: Report, device: str = "cuda", reference: str = "cpu", seed: int = 0,
             advance=None) -> Numerics:
    """The same weights and input on ``reference`` and ``device``: per operation the largest
    absolute and relative difference of the outputs, and the time it took; on CUDA
    the peak memory allocated, beside the engine's activation estimate. ``advance()``, if
    given, is called after each operation of either run."""
    import copy
    import time

    torch = require_torch()
    torch.manual_seed(seed)
    base = build(report).eval()
    generator = torch.Generator().manual_seed(seed)
    xs = [torch.randn(shape, generator=generator) if name not in report.graph.dtypes
          else torch.zeros(shape, dtype=getattr(torch, report.graph.dtypes[name]))
          for name, shape in report.graph.inputs.items()]
    cuda = device.startswith("cuda")

    def run(model, dev):
        model = model.to(dev)
        timed = cuda and dev == device
        outputs, times, last = [], [], [0.0]

        def sync():
            if timed:
                torch.cuda.synchronize()

        def post(_op, out):
            sync()
            times.append((time.perf_counter() - last[0]) * 1000)
            outputs.append(out.detach().to("cpu", torch.float64))
            sync()
            if advance is not None:
                advance()
            last[0] = time.perf_counter()  # the copy above is not the next operation's time

        if timed:
            torch.cuda.reset_peak_memory_stats()
        inputs = [x.to(dev) for x in xs]
        sync()
        last[0] = time.perf_counter()
        error = _run(model, inputs, post)
        peak = torch.cuda.max_memory_allocated() if timed else None
        return outputs, times, error, peak

    ref_out, ref_ms, ref_err, _ = run(copy.deepcopy(base), reference)
    dev_out, dev_ms, dev_err, peak = run(copy.deepcopy(base), device)
    layers = []
    for i, row in enumerate(report.rows):
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
