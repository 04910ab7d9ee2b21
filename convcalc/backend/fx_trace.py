"""A live model as a torch.fx graph, and one forward pass over it that records what each
node gave (the oracle the imported spec is verified against).

The trace stops at the modules convcalc knows as layers: ``torch.nn`` layers of the
registry, torchvision's registered layers, and subclasses of them that keep their parent's
``forward`` (a subclass with its own ``forward`` is traced through: its code is not the
layer's). Every other module is traced into, so its code becomes the spec's operations.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from convcalc.errors import ConvcalcError
from convcalc.ops import REGISTRY


def layer_name(module) -> str | None:
    """The registry layer a module is, or None to trace into it: the first registered
    class of its MRO, unless the module's class overrides that class's ``forward``."""
    for cls in type(module).__mro__:
        layer = REGISTRY.get(cls.__name__)
        if layer is not None and _home(cls, layer):
            if cls is not type(module) and type(module).forward is not cls.forward:
                return None  # a subclass with its own forward: its code, not the layer's
            return cls.__name__
    return None


def _home(cls, layer) -> bool:
    """Whether ``cls`` is the class a registry layer describes (not a namesake elsewhere)."""
    module = cls.__module__
    if layer.family == "torchvision":
        return module.startswith("torchvision.")
    return module.startswith("torch.nn.")


def trace(model):
    """``model`` as a ``torch.fx.GraphModule`` whose leaves are convcalc's layers, with
    each node's module stack and source line."""
    import torch.fx

    class Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return layer_name(m) is not None

    tracer = Tracer()
    tracer.record_stack_traces = True
    try:
        graph = tracer.trace(model)
    except Exception as e:
        raise Untraceable(f"torch.fx cannot trace the model{user_line(e)}: {_one_line(e)}",
                          fix="fx traces Python control flow only on sizes, not on tensor "
                          "values; or pass a model whose forward does not branch on data") from None
    return torch.fx.GraphModule(tracer.root, graph, type(model).__name__)


def user_line(error: BaseException) -> str:
    """`` at net.py:12 `if x.sum() > 0:` ``: the last line of the model's own code that ran."""
    import linecache
    import os
    import traceback

    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if not in_torch(f.filename) and "/convcalc/" not in f.filename]
    if not frames:
        return ""
    last = frames[-1]
    code = (last.line or linecache.getline(last.filename, last.lineno)).strip()
    return f" at {os.path.basename(last.filename)}:{last.lineno} `{code}`"


def source_line(node) -> str:
    """``resnet.py:92 `out += identity```: the last line of the model's own code in a
    node's recorded stack trace (fx's or torch.export's), or ""."""
    import os
    import re

    found = [f for f in re.findall(r'File "([^"]+)", line (\d+), in \S+\n\s*(.+)', node.meta.get("stack_trace") or "")
             if not in_torch(f[0])]
    if not found:
        return ""
    path, line, code = found[-1]
    return f"{os.path.basename(path)}:{line} `{code.strip()}`"


def in_torch(path: str) -> bool:
    """Whether a source file is torch's own (a frame of fx's machinery, not the model's)."""
    import os

    import torch

    return os.path.abspath(path).startswith(os.path.dirname(os.path.abspath(torch.__file__)))


def attribute_of(gm, target: str):
    """The value fx's ``get_attr`` node reads: ``features.1.0.layer_scale`` of ``gm``."""
    value = gm
    for part in target.split("."):
        value = getattr(value, part)
    return value


class Untraceable(ConvcalcError):
    """torch.fx cannot trace the model (data-dependent control flow, ...)."""


@dataclass
class Seen:
    """What one node gave on the real input: a tensor's shape and dtype, or a plain value
    (a size, a tuple of tensors described by ``Seen``s); ``flops`` as torch counts them."""

    shape: tuple | None = None
    dtype: str | None = None
    value: object = None
    flops: int = 0

    @property
    def is_tensor(self) -> bool:
        return self.shape is not None


def run(gm, inputs: list) -> dict:
    """Run the graph on ``inputs`` node by node: node name -> ``Seen``. The flops of each
    node are counted by torch's own FlopCounterMode (the convolutions, matmuls and
    attention kernels that node ran), independently of convcalc's rules."""
    import torch
    import torch.fx
    from torch.utils.flop_counter import FlopCounterMode

    _count_cpu_attention(torch)
    seen: dict = {}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, n):
            counter = FlopCounterMode(display=False)
            with counter:
                result = super().run_node(n)
            seen[n.name] = describe(result)
            seen[n.name].flops = counter.get_total_flops()
            return result

        def call_function(self, target, args, kwargs):
            # fx freezes the lists it recorded; a function that edits its argument in
            # place (torchvision's 3-d Swin adjusts window_size) needs its own copy
            return super().call_function(target, _thaw(args), _thaw(kwargs))

    try:
        with torch.no_grad(), no_fastpath():
            Recorder(gm).run(*inputs)
    except Exception as e:
        raise ConvcalcError(f"the model raised {_one_line(e)}", fix="check --input") from None
    return seen


@contextlib.contextmanager
def no_fastpath():
    """MultiheadAttention's and TransformerEncoder's fused fast path runs kernels the FLOP
    counter does not see: off while the model is counted."""
    import torch

    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)


_COUNTING_CPU_ATTENTION = False


def _count_cpu_attention(torch) -> None:
    """torch's FLOP counter knows the CUDA attention kernels, not the CPU one that
    scaled_dot_product_attention runs here: count it with torch's own formula for them."""
    from torch.utils import flop_counter

    global _COUNTING_CPU_ATTENTION
    kernel = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if kernel is None or _COUNTING_CPU_ATTENTION:
        return
    _COUNTING_CPU_ATTENTION = True

    @flop_counter.register_flop_formula(kernel)
    def _flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
        return flop_counter.sdpa_flop_count(query_shape, key_shape, value_shape)


def _thaw(value):
    if isinstance(value, dict):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_thaw(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_thaw(v) for v in value)
    return value


def describe(value) -> Seen:
    import torch

    if isinstance(value, torch.Tensor):
        return Seen(tuple(value.shape), str(value.dtype).removeprefix("torch."))
    if isinstance(value, torch.Size):
        return Seen(value=tuple(value))
    if isinstance(value, (tuple, list)):
        return Seen(value=type(value)(describe(v) for v in value))
    return Seen(value=value)


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}".rstrip(": ")


def live_nodes(nodes, computed=()) -> set:
    """The nodes the spec keeps: those whose values reach the output, the checks
    (``_assert``), the tensor operations in ``computed`` even when nothing reads them (the
    model runs them: their MACs are real, and a wrapped function may change its argument),
    with what they read; in-place changes of live values. Dropped: sizes read for nothing."""
    import torch

    live = set()
    work = [n for n in nodes if n.op == "output" or n in computed
            or (n.op == "call_function" and n.target is torch._assert)]
    while work:
        while work:
            node = work.pop()
            if node in live:
                continue
            live.add(node)
            work.extend(node.all_input_nodes)
        # an in-place method (x.add_(y)) is live when what it changes is
        work = [n for n in nodes if n not in live and in_place(n) and n.args[0] in live]
    return live


# functions fx keeps as one call that change their first argument in place, whose result a
# model may ignore (MViT: ``_add_shortcut(x, q, ...)`` adds q into x and the forward goes on
# with x): (module, name)
MUTATING = {("torchvision.models.video.mvit", "_add_shortcut")}


def in_place(node) -> bool:
    """``x.add_(y)``, ``_add_shortcut(x, ...)``: an operation that changes its first
    argument (its result is that argument)."""
    target = node.target
    if node.op == "call_function":
        return bool(node.args) and (getattr(target, "__module__", None), getattr(target, "__name__", None)) in MUTATING
    return (node.op == "call_method" and isinstance(target, str) and target.endswith("_")
            and not target.endswith("__") and bool(node.args))
