"""A report's graph as a picture of its shape flow: Graphviz DOT or mermaid text. Pure: no
I/O, no subprocess (the ``draw`` command runs Graphviz's ``dot`` on the DOT text).

``picture`` builds a drawing-neutral model first (nodes, clusters, edges), so that DOT and
mermaid cannot disagree about what is drawn:

- one node per operation, with its description, parameters and MACs; the network's inputs
  and outputs are nodes of their own;
- one edge per value from the node that writes it to each node that reads it, labelled with
  the value's shape (an op with several inputs gets an edge from each producer: branches
  and merges are drawn as they are);
- the groups of the module tree (blocks, named groups, repeats) are clusters; with
  ``depth`` a group ``depth`` deep is folded into one node (params and MACs summed, its
  input and output shapes);
- a run of consecutive sibling groups that compute the same thing (same label, same op
  types, arguments, wiring and shapes, each reading the previous one's output) is one node
  ``label x N`` unless ``expand``.

>>> human(9408), human(118_013_952), human(999_600), human(12)
('9.41K', '118M', '1M', '12')
>>> mermaid_text('<x> & "y" #1')
'#lt;x#gt; #amp; #quot;y#quot; #35;1'
"""

from __future__ import annotations

from convcalc.engine.symbolic import is_symbolic
from convcalc.graph.ir import Op, Scope
from convcalc.graph.report import Report
from convcalc.ops.function import Tensor
from convcalc.ops.merge import MergeType
from convcalc.render.picture import Cluster, Edge, Node, Picture, cost_text, human, shape_text

RANKDIRS = ("TB", "LR")


def picture(report: Report, depth: int | None = None, expand: bool = False) -> Picture:
    """What to draw for ``report`` (its ``graph`` is required)."""
    return _Builder(report, depth, expand).build()


class _Builder:
    def __init__(self, report: Report, depth, expand):
        self.report = report
        self.graph = report.graph
        self.shapes = self.graph.shapes
        self.rows = {row.index: row for row in report.rows}
        self.depth = depth
        self.expand = expand
        self.nodes: dict = {}
        self.owner: dict = {}
        self.signatures: dict = {}
        self.called: dict = {}  # op name -> calls so far (a module called again)

    def build(self) -> Picture:
        graph = self.graph
        root = Cluster("", graph.name)
        for name, shape in graph.inputs.items():
            dtype = graph.dtypes.get(name)
            lines = [f"input {name}" if len(graph.inputs) > 1 or name != "x" else "input",
                     shape_text(shape) + (f" {dtype}" if dtype else "")]
            root.members.append(self._add(Node(f"input:{name}", "input", lines, f"input {name}")))
        if self.depth == 0:
            root.members.append(self._group([graph.root], "network", "network", graph.name))
        else:
            self._walk(graph.root, root)
        names = graph.output_names or graph.outputs
        for number, (value, name) in enumerate(zip(graph.outputs, names)):
            shown = name if len(graph.outputs) > 1 else "output"
            node_id = f"output:{name}" if f"output:{name}" not in self.nodes else f"output:{number}"
            lines = [shown, shape_text(self.shapes.get(value))]
            tooltip = "output" if name == "output" else f"output {name}"
            root.members.append(self._add(Node(node_id, "output", lines, tooltip)))
        edges = self._edges()
        totals = self.report.totals
        title = (f"{graph.name}: {', '.join(shape_text(s) for s in graph.inputs.values())} -> "
                 f"{', '.join(shape_text(self.shapes.get(v)) for v in graph.outputs)}, "
                 f"{human(totals['params'])} params")
        if not is_symbolic(totals["macs"]):  # a formula is in each box; too long for a title
            title += f", {human(totals['macs'])} MACs"
        return Picture(graph.name, title, self.nodes, root, edges, self.owner)

    def _add(self, node: Node) -> str:
        if node.id in self.nodes:  # not expected (names are unique in a group); still unique
            node.id = next(f"{node.id}#{k}" for k in range(2, len(self.nodes) + 3)
                           if f"{node.id}#{k}" not in self.nodes)
        self.nodes[node.id] = node
        for index in node.ops:
            self.owner[index] = node.id
        return node.id

    # Walking the module tree ---------------------------------------------------------------

    def _walk(self, scope: Scope, cluster: Cluster) -> None:
        entries = scope.entries
        i = 0
        while i < len(entries):
            entry = entries[i]
            if isinstance(entry, Op):
                cluster.members.append(self._op(entry, scope))
                i += 1
                continue
            if next(_ops(entry), None) is None:  # nothing to draw: its values pass through
                i += 1
                continue
            run = [entry]
            if not self.expand:
                while (i + len(run) < len(entries) and self._same(run[-1], entries[i + len(run)])):
                    run.append(entries[i + len(run)])
            i += len(run)
            if len(run) > 1:
                cluster.members.append(self._group(run, f"{entry.label} x {len(run)}"))
            elif self.depth is not None and len(entry.path) >= self.depth:
                cluster.members.append(self._group(run, entry.label))
            else:
                child = Cluster(".".join(entry.path), f"{'.'.join(entry.path)} ({entry.label})")
                self._walk(entry, child)
                if child.members:
                    cluster.members.append(child)

    def _op(self, op: Op, scope: Scope) -> str:
        row = self.rows[op.index]
        calls = self.called[op.name] = self.called.get(op.name, 0) + 1
        node_id = op.name if calls == 1 else f"{op.name}#{calls}"
        name = op.path[-1] if op.path else op.type
        if calls > 1:
            name += f" (call {calls})"
        if isinstance(op.rule, MergeType):
            kind = "merge"
        elif not op.inputs:
            kind = "param"
        else:
            kind = "op"
        lines = [name] if row.describe == name else [name, row.describe]
        cost = cost_text(row.params, row.macs) if row.leaf else None
        if cost:
            lines.append(cost)
        tooltip = f"{op.name}: {row.describe}"
        if len(op.outputs) > 1:
            tooltip += " -> " + ", ".join(shape_text(self.shapes.get(v)) for v in op.outputs)
        params, macs = (row.params, row.macs) if row.leaf else (0, 0)
        return self._add(Node(node_id, kind, lines, tooltip, (op.index,), params, macs))

    def _group(self, scopes: list, label: str, node_id: str = "", name: str = "") -> str:
        first, last = scopes[0], scopes[-1]
        if not node_id:
            node_id = ".".join(first.path)
            if len(scopes) > 1:
                node_id += f"..{last.path[-1]}"
        ops = [op for s in scopes for op in _ops(s)]
        params = sum(self.rows[op.index].params for op in ops if self.rows[op.index].leaf)
        macs = sum(self.rows[op.index].macs for op in ops if self.rows[op.index].leaf)
        inputs = ", ".join(shape_text(self.shapes.get(v)) for v in first.inputs)
        lines = [name or node_id, label, f"{inputs} -> {shape_text(self.shapes.get(last.output))}"]
        cost = cost_text(params, macs, f" (all {len(scopes)})" if len(scopes) > 1 else "")
        if cost:
            lines.append(cost)
        kind = "run" if len(scopes) > 1 else "group"
        tooltip = f"{name or node_id}: {label}, {len(ops)} operations"
        return self._add(Node(node_id, kind, lines, tooltip, tuple(op.index for op in ops),
                              params, macs))

    # Runs of identical groups ----------------------------------------------------------------

    def _same(self, previous, candidate) -> bool:
        return (isinstance(candidate, Scope) and candidate.label == previous.label
                and candidate.input == previous.output
                and self._signature(candidate) == self._signature(previous))

    def _signature(self, scope: Scope) -> tuple:
        """What a group computes, independent of its names: its ops' types, arguments,
        shapes and wiring (inputs as positions within the group or of the group's inputs),
        and its nested groups' labels."""
        found = self.signatures.get(id(scope))
        if found is None:
            local = {value: ("in", k) for k, value in enumerate(scope.inputs)}
            found = self.signatures[id(scope)] = (
                *self._entries(scope, local, [0]), ("out", self._ref(scope.output, local)))
        return found

    def _entries(self, scope: Scope, local: dict, counter: list) -> list:
        out = []
        for entry in scope.entries:
            if isinstance(entry, Scope):
                out.append(("group", entry.label, tuple(self._entries(entry, local, counter))))
                continue
            out.append((entry.type, self._plain(entry.args, local),
                        self._plain(entry.call or {}, local), entry.module,
                        tuple(self._ref(v, local) for v in entry.inputs),
                        tuple(shape_text(self.shapes.get(v)) for v in entry.outputs)))
            for k, value in enumerate(entry.outputs):
                local[value] = ("op", counter[0], k)
            counter[0] += 1
        return out

    def _plain(self, value, local: dict):
        """Arguments with the values they reference (tensors) written as ``_ref``s."""
        if isinstance(value, Tensor) and isinstance(getattr(value, "name", None), str):
            return self._ref(value.name, local)
        if isinstance(value, dict):
            return tuple((k, self._plain(v, local)) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return (type(value).__name__, *(self._plain(v, local) for v in value))
        return repr(value)

    def _ref(self, value: str, local: dict):
        # a value from outside the group (not one of its inputs) compares by its shape
        return local.get(value) or ("outer", shape_text(self.shapes.get(value)))

    # Edges ---------------------------------------------------------------------------------

    def _edges(self) -> list:
        graph = self.graph
        source = {name: f"input:{name}" for name in graph.inputs}
        for op in graph.ops:
            for value in op.outputs:
                source[value] = self.owner[op.index]
        edges, seen = [], set()

        def connect(value, dst):
            src = source.get(value)
            if src is None or src == dst or (src, dst, value) in seen:
                return
            seen.add((src, dst, value))
            edges.append(Edge(src, dst, value, shape_text(self.shapes.get(value))))

        for op in graph.ops:
            for value in op.inputs:
                connect(value, self.owner[op.index])
        outputs = [n.id for n in self.nodes.values() if n.kind == "output"]
        for value, dst in zip(graph.outputs, outputs):
            connect(value, dst)
        return edges


def _ops(scope: Scope):
    for entry in scope.entries:
        if isinstance(entry, Scope):
            yield from _ops(entry)
        else:
            yield entry


# Graphviz DOT ----------------------------------------------------------------------------

DOT_STYLE = {  # kind -> node attributes
    "input": 'shape=oval, fillcolor="#dbeafe"',
    "output": 'shape=oval, fillcolor="#dcfce7"',
    "op": 'shape=box, fillcolor="#ffffff"',
    "merge": 'shape=ellipse, fillcolor="#fef3c7"',
    "param": 'shape=box, style="rounded,filled,dashed", fillcolor="#f5f5f5"',
    "group": 'shape=box, fillcolor="#eef2ff"',
    "run": 'shape=box3d, style=filled, fillcolor="#e0e7ff"',
}


def dot_quote(text: str) -> str:
    """A DOT quoted string. In a label backslashes are escapes (``\\n``), so each is
    doubled; Graphviz keeps an ID's backslashes as written, so doubling them there only
    keeps a final one from escaping the closing quote."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(pic: Picture, rankdir: str = "TB") -> str:
    out = [
        f"digraph {dot_quote(pic.name or 'network')} {{",
        f"  graph [rankdir={rankdir}, label={dot_quote(pic.title)}, labelloc=t, fontsize=14, "
        'fontname="Helvetica", nodesep=0.3, ranksep=0.35];',
        '  node [style="rounded,filled", fontname="Helvetica", fontsize=10, margin="0.12,0.05"];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
    ]

    def emit(members, indent):
        pad = "  " * indent
        for member in members:
            if isinstance(member, Cluster):
                out.append(f"{pad}subgraph {dot_quote('cluster_' + member.id)} {{")
                out.append(f"{pad}  label={dot_quote(member.label)}; style=\"rounded,dashed\"; "
                           'color="#9ca3af"; fontsize=10;')
                emit(member.members, indent + 1)
                out.append(f"{pad}}}")
                continue
            node = pic.nodes[member]
            label = "\n".join(node.lines)
            out.append(f"{pad}{dot_quote(node.id)} [label={dot_quote(label)}, "
                       f"tooltip={dot_quote(node.tooltip or node.id)}, {DOT_STYLE[node.kind]}];")

    emit(pic.root.members, 1)
    for edge in pic.edges:
        out.append(f"  {dot_quote(edge.src)} -> {dot_quote(edge.dst)} "
                   f"[label={dot_quote(edge.label)}];")
    out.append("}")
    return "\n".join(out) + "\n"


# Mermaid ---------------------------------------------------------------------------------

MERMAID_SHAPE = {  # kind -> (open, close)
    "input": ('(["', '"])'),
    "output": ('(["', '"])'),
    "op": ('["', '"]'),
    "merge": ('(("', '"))'),
    "param": ('[/"', '"/]'),
    "group": ('["', '"]'),
    "run": ('[["', '"]]'),
}
MERMAID_CLASS = {"input": "io", "output": "io", "merge": "merge", "param": "param",
                 "group": "group", "run": "run"}
MERMAID_STYLE = {
    "io": "fill:#dbeafe,stroke:#3b82f6",
    "merge": "fill:#fef3c7,stroke:#d97706",
    "param": "fill:#f5f5f5,stroke:#9ca3af,stroke-dasharray:3 3",
    "group": "fill:#eef2ff,stroke:#6366f1",
    "run": "fill:#e0e7ff,stroke:#4338ca,stroke-width:2px",
}
_MERMAID_ENTITIES = (("#", "#35;"), ("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"),
                     (">", "#gt;"), ("|", "#124;"), ("`", "#96;"))


def mermaid_text(text: str) -> str:
    """Text for a quoted mermaid label: every character mermaid or HTML would read as
    syntax written as an entity code (``#` first: the codes themselves start with it)."""
    for char, code in _MERMAID_ENTITIES:
        text = text.replace(char, code)
    return text


def to_mermaid(pic: Picture, rankdir: str = "TB") -> str:
    ids = {node_id: f"n{k}" for k, node_id in enumerate(pic.nodes)}
    title = " ".join(pic.title.split())
    out = [f"%% {title}", f"flowchart {rankdir}"]
    counter = [0]

    def emit(members, indent):
        pad = "  " * indent
        for member in members:
            if isinstance(member, Cluster):
                out.append(f'{pad}subgraph s{counter[0]} ["{mermaid_text(member.label)}"]')
                counter[0] += 1
                emit(member.members, indent + 1)
                out.append(f"{pad}end")
                continue
            node = pic.nodes[member]
            open_, close = MERMAID_SHAPE[node.kind]
            label = "<br>".join(mermaid_text(line) for line in node.lines)
            out.append(f"{pad}{ids[node.id]}{open_}{label}{close}")

    emit(pic.root.members, 1)
    for edge in pic.edges:
        out.append(f'  {ids[edge.src]} -->|"{mermaid_text(edge.label)}"| {ids[edge.dst]}')
    classes: dict = {}
    for node in pic.nodes.values():
        if node.kind in MERMAID_CLASS:
            classes.setdefault(MERMAID_CLASS[node.kind], []).append(ids[node.id])
    for name, members in classes.items():
        out.append(f"  classDef {name} {MERMAID_STYLE[name]}")
        out.append(f"  class {','.join(members)} {name}")
    return "\n".join(out) + "\n"
