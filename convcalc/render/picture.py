"""The drawing-neutral picture of a network: nodes, clusters and edges, and the short
numbers written in them. ``render.draw`` builds it; its DOT and mermaid writers read it."""

from __future__ import annotations

from dataclasses import dataclass, field

from convcalc.engine.symbolic import is_symbolic, pretty


@dataclass
class Node:
    id: str  # unique; the title of the node in Graphviz's SVG
    kind: str  # input | output | op | merge | param | group | run
    lines: list  # the label, one entry per line
    tooltip: str = ""
    ops: tuple = ()  # the indexes of the graph's operations it stands for
    params: object = 0  # summed over ``ops`` (an int, or a formula for symbolic sizes)
    macs: object = 0


@dataclass
class Cluster:
    id: str  # the group's dotted path ("" for the whole network, which is no cluster)
    label: str
    members: list = field(default_factory=list)  # node ids (str) and Clusters, in order


@dataclass
class Edge:
    src: str
    dst: str
    value: str  # the value's name in the graph
    label: str  # its shape


@dataclass
class Picture:
    name: str
    title: str
    nodes: dict  # id -> Node, in drawing order
    root: Cluster
    edges: list
    owner: dict  # op index -> the id of the node that draws it

    def clusters(self):
        """Every cluster, outermost first (the root excluded)."""
        todo = [m for m in self.root.members if isinstance(m, Cluster)]
        while todo:
            cluster = todo.pop(0)
            yield cluster
            todo[:0] = [m for m in cluster.members if isinstance(m, Cluster)]


# Numbers and shapes --------------------------------------------------------------------


def human(n) -> str:
    """A count in three significant digits with K, M, G, T or P (symbolic counts as formulas)."""
    if is_symbolic(n):
        return pretty(n)
    value, unit = n, 0
    while abs(value) >= 999.5 and unit < 5:
        value /= 1000
        unit += 1
    return str(n) if unit == 0 else f"{value:.3g}{'KMGTP'[unit - 1]}"


def shape_text(shape) -> str:
    if shape is None:
        return "?"
    return "[" + ", ".join(pretty(s) if is_symbolic(s) else str(s) for s in shape) + "]"


def cost_text(params, macs, suffix: str = "") -> str | None:
    parts = []
    if is_symbolic(params) or params:
        parts.append(f"{human(params)} params")
    if is_symbolic(macs) or macs:
        parts.append(f"{human(macs)} MACs")
    return ", ".join(parts) + suffix if parts else None


# The model -------------------------------------------------------------------------------
