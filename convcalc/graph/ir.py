"""The dataflow graph every spec is lowered to: operations joined by named tensor values.

Like a jaxpr or a torch.fx graph, a ``Graph`` is a flat, ordered list of ``Op``s; each op
reads values by name and writes values by name, so a value may be used any number of
times (a shortcut, a skip from far back). ``Scope``s record the module tree the ops sit
in (the groups and blocks of the spec): an op's ``path`` is its module name in that tree,
which is what exported code and torchvision's ``state_dict`` use.

The graph is built once per input shape by ``graph.lower`` and is read-only afterwards;
every question (receptive field, report, check, export) is a pass over it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

INPUT = "x"  # the name of the network's input value


@dataclass(eq=False)
class Scope:
    """A group of the module tree: a block call, a named group or a named repeat.

    ``inputs`` and ``output`` are the values entering and leaving it; ``entries`` are its
    direct members in execution order (``Op``s and child ``Scope``s)."""

    path: tuple
    label: str  # "Sequential", "repeat", or the block's name
    parent: Scope | None = None
    inputs: tuple = (INPUT,)
    output: str = INPUT
    entries: list = field(default_factory=list)
    chain: tuple = ()  # ((path, label), ...) of this scope and its ancestors, outermost first
    declared: dict = field(default_factory=dict)  # self.attn = ...: name -> (layer, args, kwargs)
    outputs: tuple = ()  # the network's outputs, on the root group
    input_names: tuple = ()  # a block's names for its inputs (x, skip)

    @property
    def input(self) -> str:
        return self.inputs[0]

    def child(self, segment: str, label: str, inputs) -> Scope:
        inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
        path = (*self.path, segment)
        scope = Scope(path, label, self, inputs, inputs[0], [], (*self.chain, (path, label)))
        self.entries.append(scope)
        return scope


@dataclass(eq=False, slots=True)
class Op:
    """One operation: a ``torch.nn`` layer (``module``) or a function such as ``cat``.

    ``args`` are the bound arguments (PyTorch's names, defaults and inferred values filled
    in); ``step`` is what the op's rule computed from its input shapes (output shape,
    parameters, MACs and its receptive-field operation)."""

    index: int
    type: str
    rule: object  # ops.LayerType or ops.merge.MergeType
    args: dict
    inputs: tuple
    outputs: tuple
    path: tuple
    scope: Scope
    line: int
    step: object  # ops.Step
    module: bool = True  # a torch.nn module (a row of the layer table) or a function
    call: dict | None = None  # a module's forward arguments beyond its input (value references)
    reuses: int | None = None  # a module called again: the index of its first call

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(eq=False)
class Graph:
    name: str
    source: str
    inputs: dict  # value name -> shape
    outputs: list  # value names
    ops: list
    shapes: dict  # value name -> shape
    root: Scope
    warnings: list = field(default_factory=list)
    assumptions: list = field(default_factory=list)  # (condition, why) for symbolic sizes
    output_names: list = field(default_factory=list)  # the spec's names for the outputs
    dtypes: dict = field(default_factory=dict)  # input name -> dtype, where not float32

    @property
    def input_shape(self) -> tuple:
        return self.shapes[next(iter(self.inputs))]

    @property
    def output_shape(self) -> tuple:
        return self.shapes[self.outputs[0]]

    def producers(self) -> dict:
        """Value name -> the op that writes it (inputs have none)."""
        return {out: op for op in self.ops for out in op.outputs}
