"""The network table on a terminal: blocks as a tree, the table fitted to the window, and
styles, drawn through rich's console.

``NetTable`` is a rich renderable laid out by render/layout.py, not a ``rich.table.Table``
(about 1 ms a row). Importing this module does not import rich: ``console()`` and the
renderable's ``__rich_console__`` do, when they are used.
"""

from __future__ import annotations

from convcalc.render import columns, layout
from convcalc.render import report as render

STYLES = {  # layout's style names -> rich styles
    "border": "dim", "header": "bold cyan", "guide": "dim", "zero": "dim", "dim": "dim",
    "group": "bold blue", "merge": "dim italic", "warn": "yellow", "title": "bold",
    "note": "dim", "warning": "yellow", "hidden": "yellow",
}
TYPE_MIN = 12  # the Type column's narrowest, before a column is dropped: "Conv2d(64, …"


def console(color: str = "auto", stderr: bool = False):
    """rich's console for standard output (or error): ``color`` is --color's auto, always
    or never. rich itself honours NO_COLOR, FORCE_COLOR, TERM=dumb and COLUMNS; never
    writes no escape code at all; a forced console on a pipe is as wide as the table
    unless COLUMNS says otherwise."""
    import os
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    options = {"stderr": stderr, "highlight": False, "emoji": False, "markup": False}
    if color == "never":
        options["color_system"] = None
    elif color == "always":
        options.update(force_terminal=True, no_color=False)
    if not stream.isatty() and not os.environ.get("COLUMNS"):
        options["width"] = 100_000  # no window to fit: the whole table, nothing wrapped
    return Console(**options)


def tree(report, depth=None) -> list:
    """The display rows with a row for each block they sit in, as ``(label, d, kind)``:
    ``label`` the row's name under tree guides (``│  ├─ conv1``), ``d`` a display row
    (for a block: its sums), ``kind`` None, "group", "merge" or "warn"."""
    kinds = {}
    for row in report.rows:
        for prefix, kind in row.containers:
            kinds.setdefault(prefix, kind)
    nodes, stack = [], []  # stack: the open groups, outermost first
    for d in render.display_rows(report, depth):
        parents = d["path"][:-1]
        keep = 0
        while keep < len(stack) and keep < len(parents) and stack[keep]["path"] == parents[: keep + 1]:
            keep += 1
        del stack[keep:]
        for k in range(keep, len(parents)):
            prefix = parents[: k + 1]
            group = {"path": prefix, "type": kinds.get(prefix, ""), "input_shape": d["input_shape"],
                     "output_shape": d["output_shape"], "params": 0, "macs": 0, "elements": 0,
                     "row": None, "kind": "group"}
            stack.append(group)
            nodes.append(group)
        for group in stack:
            group["output_shape"] = d["output_shape"]
            for key in ("params", "macs", "elements"):
                group[key] += d[key]
        row = d["row"]
        if d["kind"] is None and row is not None and (row.note or row.drops) and not d.get("folded"):
            d = {**d, "kind": "warn"}
        nodes.append(d)
    depths = [len(n["path"]) - 1 for n in nodes]
    last, open_ = _guides(depths)
    out = []
    for n, node in enumerate(nodes):
        name = node["path"][-1] if node["path"] else ""
        d = depths[n]
        if d:
            above = "".join("│  " if o else "   " for o in open_[n][1:])
            name = above + ("└─ " if last[n] else "├─ ") + name
        out.append((name, node, node["kind"]))
    return out


def _guides(depths):
    """For each node: whether it is its parent's last child, and for each level above it
    whether a later node continues that level (a ``│`` to draw)."""
    last, open_ = [False] * len(depths), [()] * len(depths)
    later: list = []
    for i in range(len(depths) - 1, -1, -1):
        d = depths[i]
        del later[d + 1:]
        later += [False] * (d + 1 - len(later))
        last[i] = not later[d]
        open_[i] = tuple(later[:d])
        later[d] = True
    return last, open_


def compact(shape) -> str:
    """``1x64x56x56``; a shape with a formula keeps its brackets (``[1, 6, floor(H/2), W]``)."""
    if any(not isinstance(s, int) for s in shape):
        return render.shape_text(shape)
    return "x".join(map(str, shape))


class Fitted:
    """A rich renderable of a table laid out by ``lines(width)``: a title, the styled table,
    footer lines (wrapped by rich)."""

    fit = True

    def lines(self, width: int | None):
        raise NotImplementedError

    def __rich_console__(self, console, options):
        from rich.segment import Segment
        from rich.style import Style
        from rich.text import Text

        styles = {name: Style.parse(spec) for name, spec in STYLES.items()}
        styles[None] = None
        title, table, footer = self.lines(options.max_width if self.fit else None)
        yield Text(title, style=styles["title"])
        new_line = Segment.line()
        for spans in table:
            for text, style in spans:
                yield Segment(text, styles[style])
            yield new_line
        for text, style in footer:
            yield Text(text, style=styles[style] or "")


def _footer_style(line: str):
    if line.startswith(("Warning", "Note:")):
        return "warning"
    return "note" if line.startswith(("MACs:", "Columns:", "Assuming", "Ratios")) else None


class NetTable(Fitted):
    """``convcalc net``'s table on a terminal, fitted to the console's width."""

    def __init__(self, report, depth=None, keys=columns.DEFAULT, fit: bool = True,
                 title: str | None = None, footer=True):
        """``footer``: net's totals and legend (True), none (False), or a function giving
        the lines for the columns shown, ``footer(keys)``."""
        self.report, self.depth, self.keys, self.fit = report, depth, tuple(keys), fit
        self.title, self.with_footer = title, footer

    def lines(self, width: int | None):
        """(title, styled table lines, footer lines as (text, style))."""
        report, keys = self.report, self.keys
        totals, size = report.totals, columns.dtype_bytes(report.dtype)
        nodes = tree(report, self.depth)
        titles = [columns.COLUMNS[k].title for k in keys]

        def build(shape):
            rows = []
            for label, d, _ in nodes:
                cells = render.cell_texts(keys, d, totals, size, shape)
                if keys[0] == "layer":
                    cells[0] = label
                rows.append(cells)
            return rows

        rows = build(render.shape_text)
        if width is not None and layout.fit(titles, rows, None).width() > width:
            rows = build(compact)  # shapes as 1x64x56x56 before anything is cut
        drop = [columns.COLUMNS[k].drop for k in keys]
        shrink = [i for i, k in enumerate(keys) if k == "type"]
        mins = [len(t) for t in titles]
        for i in shrink:  # a type may be cut down to its class name's first letters
            mins[i] = TYPE_MIN
        squeeze = [i for i, k in enumerate(keys) if not columns.COLUMNS[k].right]
        fitted = layout.fit(titles, rows, width, drop, mins, shrink, squeeze)
        right = [i for i, k in enumerate(keys) if columns.COLUMNS[k].right]
        table = layout.styled_lines(titles, rows, [k for _, _, k in nodes], fitted, right, right)
        footer = self.footer(fitted, titles, width) if self.with_footer else []
        return self.title or render.title_text(report), table, footer

    def footer(self, fitted, titles, width) -> list:
        keys = [self.keys[i] for i in fitted.shown]
        if callable(self.with_footer):
            lines = self.with_footer(keys)
        else:
            lines = render.totals_lines(self.report, keys, warnings=5)
        out = [(line, _footer_style(line)) for line in lines]
        if fitted.dropped:
            hidden = [titles[i] for i in fitted.dropped]
            back = ",".join("+" + columns.COLUMNS[self.keys[i]].names[0] for i in fitted.dropped)
            if "type" in keys:
                back = "-type," + back
            them = "it" if len(hidden) == 1 else "them"
            out.append((f"Hidden to fit {width} columns: {', '.join(hidden)}. A wider window "
                        f"shows {them}, as do --columns (e.g. --columns {back}) and a pipe "
                        f"(| less -S).", "hidden"))
        return out


def _compact_text(cell: str) -> str:
    """``[1, 64, 56, 56]`` -> ``1x64x56x56``; any other cell as it is."""
    if cell.startswith("[") and cell.endswith("]") and cell[1:-1].replace(", ", "").isdigit():
        return cell[1:-1].replace(", ", "x")
    return cell


class ComparisonTable(Fitted):
    """One network at several inputs (render/compare.py) on a terminal: the MACs columns go
    first when the window is narrow (the last input's first), then text is cut."""

    def __init__(self, reports, depth=None):
        self.reports, self.depth = reports, depth

    def lines(self, width: int | None):
        from convcalc.render import compare

        titles, rows = compare.columns(self.reports, compare.aligned(self.reports, self.depth),
                                       columns.human)
        if width is not None and layout.fit(titles, rows, None).width() > width:
            rows = [[_compact_text(c) for c in row] for row in rows]
        right = [i for i, t in enumerate(titles) if t.startswith(("Params", "MACs"))]
        drop = [i if t.startswith("MACs") else 0 for i, t in enumerate(titles)]
        squeeze = [i for i in range(len(titles)) if i not in right]
        fitted = layout.fit(titles, rows, width, drop, [len(t) for t in titles], [1], squeeze)
        table = layout.styled_lines(titles, rows, [None] * len(rows), fitted, right, right)
        footer = [(line, _footer_style(line)) for line in compare.totals_lines(self.reports)]
        if fitted.dropped:
            footer.append((f"Hidden to fit {width} columns: "
                           f"{', '.join(titles[i] for i in fitted.dropped)}. A wider window "
                           "shows everything, as does a pipe (| less -S).", "hidden"))
        return compare.title(self.reports), table, footer
