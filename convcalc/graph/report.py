"""The report pass: a lowered graph -> one row per operation, with totals. Pure: no I/O.

Rows are the graph's operations in execution order: ``torch.nn`` layers and functions
(``leaf``), and the merges of branches (``concat:``/``add:``), marked ``leaf=False``.
Totals count the leaves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from convcalc.graph.fields import Field, receptive_fields
from convcalc.graph.ir import Graph
from convcalc.ops.merge import MergeType

DTYPE_BYTES = 4  # float32, the default of the memory estimates
DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8}  # bytes a value
NO_FIELD = Field()  # before any window, or not computed


@dataclass(slots=True)
class Row:
    index: int
    path: tuple
    type: str
    rule: object  # the registry entry of the op (a LayerType or a MergeType)
    input_shape: tuple
    output_shape: tuple
    params: int = 0
    macs: int = 0
    rf: Field = field(default_factory=Field)
    line: int = 0
    note: str | None = None
    leaf: bool = True
    args: dict = field(default_factory=dict)  # the bound constructor arguments
    drops: bool = False  # a strided window leaves input pixels unused
    containers: tuple = ()  # (path prefix, container type) of each enclosing group
    describe: str = ""  # the table's type column: Conv2d(3, 64, k=7, s=2, p=3)
    inputs: tuple = ()  # the names of the values it reads
    outputs: tuple = ()  # and writes

    @property
    def name(self) -> str:
        return self.path[-1] if self.path else ""


@dataclass
class Report:
    name: str
    input_shape: tuple
    output_shape: tuple
    rows: list
    warnings: list = field(default_factory=list)
    assumptions: list = field(default_factory=list)  # (condition, why) for symbolic sizes
    graph: Graph | None = None
    dtype: str = "float32"  # of the memory estimates (a key of DTYPES)

    @property
    def layers(self) -> list:
        return [r for r in self.rows if r.leaf]

    @property
    def totals(self) -> dict:
        leaves = self.layers
        params = sum(r.params for r in leaves)
        macs = sum(r.macs for r in leaves)
        size = DTYPES[self.dtype]
        return {
            "params": params,
            "trainable_params": params,
            "macs": macs,
            "flops": 2 * macs,
            "activation_bytes": sum(_numel(r.output_shape) for r in leaves) * size,
            "param_bytes": params * size,
        }


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def report(graph: Graph, fields: bool = True) -> Report:
    """The rows of ``graph``; ``fields=False`` skips the receptive-field pass (for scans)."""
    values, misaligned = receptive_fields(graph) if fields else ({}, set())
    shapes = graph.shapes
    rows, warnings = [], []
    described: dict = {}  # identical layers share their bound arguments (graph.lower)
    for op in graph.ops:
        step = op.step
        out = op.outputs[0]
        text = described.get(id(op.args))
        if text is None:
            text = described[id(op.args)] = op.rule.describe(op.args)
        rows.append(Row(op.index, op.path, op.type, op.rule,
                        shapes[op.inputs[0]] if op.inputs else (), shapes[out],
                        step.params, step.macs, values.get(out, NO_FIELD), op.line,
                        step.note, not isinstance(op.rule, MergeType), op.args, step.drops,
                        op.scope.chain, text,
                        op.inputs, op.outputs))
        if step.note:
            warnings.append(f"{op.name}: {step.note}")
        if op.index in misaligned:
            warnings.append(f"{op.name}: branches have misaligned receptive fields "
                            "(different jumps or centres); the largest is reported")
    return Report(graph.name, graph.input_shape, graph.output_shape, rows, warnings,
                  graph.assumptions, graph)
