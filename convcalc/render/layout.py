"""A box-drawn table laid out for a width: columns cut or dropped to fit, drawn as plain
lines or as styled spans ``(text, style name)`` that render/terminal.py hands to rich.

No rich here, so that output to a pipe never imports it; and no per-cell objects, since
the table of a large network has hundreds of rows (rich's own Table costs about 1 ms a row).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ELLIPSIS = "…"


@dataclass
class Layout:
    """Which columns are shown (their indices), how wide, and what had to give way."""
    shown: list
    widths: list
    dropped: list = field(default_factory=list)  # indices, in the order they were dropped
    cut: list = field(default_factory=list)  # indices of columns whose cells were shortened

    def width(self) -> int:
        return sum(self.widths[i] for i in self.shown) + 3 * len(self.shown) + 1


def natural_widths(titles, rows) -> list:
    widths = [len(t) for t in titles]
    for row in rows:
        for i, cell in enumerate(row):
            if len(cell) > widths[i]:
                widths[i] = len(cell)
    return widths


def fit(titles, rows, width: int | None, drop=(), mins=None, shrink=(), squeeze=()) -> Layout:
    """Lay ``rows`` out within ``width`` characters (None: no limit).

    First the ``shrink`` columns (the types) narrow to their ``mins``; then columns are
    dropped, the highest ``drop`` rank first (0: never); the room left goes back to the
    shrunk columns; a table still too wide cuts the widest of the ``squeeze`` columns
    (default: the ``shrink`` ones) one character at a time, down to 6."""
    natural = natural_widths(titles, rows)
    layout = Layout(list(range(len(titles))), list(natural))
    if width is None or layout.width() <= width:
        return layout
    mins = mins or [len(t) for t in titles]
    for i in shrink:
        layout.widths[i] = min(natural[i], max(mins[i], len(titles[i])))
    ranked = sorted((i for i, d in enumerate(drop) if d), key=lambda i: -drop[i])
    for i in ranked:
        if layout.width() <= width:
            break
        layout.shown.remove(i)
        layout.dropped.append(i)
    room = width - layout.width()
    for i in shrink:
        grow = max(0, min(natural[i] - layout.widths[i], room))
        layout.widths[i] += grow
        room -= grow
    squeezable = [i for i in (squeeze or shrink) if i in layout.shown]
    while room < 0 and squeezable:  # cut the widest text column by one, again and again
        i = max(squeezable, key=lambda i: layout.widths[i])
        if layout.widths[i] <= 6:
            break
        layout.widths[i] -= 1
        room += 1
    layout.cut = [i for i in layout.shown if layout.widths[i] < natural[i]]
    return layout


def _cell(text: str, width: int, right: bool) -> str:
    if len(text) > width:
        return text[: width - 1] + ELLIPSIS
    return text.rjust(width) if right else text.ljust(width)


def plain_lines(title: str, titles, rows, layout: Layout, right=()) -> list:
    """The table as text lines: the title, a heavy header, the rows, a light bottom rule."""
    shown, widths = layout.shown, layout.widths
    right = set(right)

    def line(cells, bar="│"):
        parts = [_cell(cells[i], widths[i], i in right) for i in shown]
        return f"{bar} " + f" {bar} ".join(parts) + f" {bar}"

    def rule(left, mid, end, fill):
        return left + mid.join(fill * (widths[i] + 2) for i in shown) + end

    out = [title, rule("┏", "┳", "┓", "━"), line(titles, "┃"), rule("┡", "╇", "┩", "━")]
    out += [line(row) for row in rows]
    out.append(rule("└", "┴", "┘", "─"))
    return out


GUIDES = "│├└─ "


def styled_lines(titles, rows, kinds, layout: Layout, right=(), numeric=()):
    """The table (without its title) as lines of ``(text, style)`` spans. Styles are names:
    ``border``, ``header``, ``guide`` (tree guides), ``zero`` (a zero or empty number),
    ``group`` (a block's own row), ``merge``, ``warn`` (a row with a warning), or None.
    ``kinds`` gives each row's kind (None, "group", "merge" or "warn")."""
    shown, widths = layout.shown, layout.widths
    right, numeric = set(right), set(numeric)
    bar = ("│", "border")
    out = []

    def rule(left, mid, end, fill):
        return [(left + mid.join(fill * (widths[i] + 2) for i in shown) + end, "border")]

    out.append(rule("┏", "┳", "┓", "━"))
    head = [("┃", "border")]
    for i in shown:
        head += [(" " + _cell(titles[i], widths[i], i in right) + " ", "header"), ("┃", "border")]
    out.append(head)
    out.append(rule("┡", "╇", "┩", "━"))
    for cells, kind in zip(rows, kinds):
        spans = [bar]
        for n, i in enumerate(shown):
            text = _cell(cells[i], widths[i], i in right)
            if n == 0 and text[:1] in GUIDES:
                name = text.lstrip(GUIDES)
                guide = text[: len(text) - len(name)]
                spans += [(" " + guide, "guide"), (name + " ", "group" if kind == "group" else kind)]
            elif i in numeric and cells[i] in ("0", ""):
                spans.append((" " + text + " ", "zero"))
            elif kind == "group":
                spans.append((" " + text + " ", "group" if n == 0 else "dim"))
            elif kind and (n <= 1 or kind != "warn"):
                spans.append((" " + text + " ", kind))
            else:
                spans.append((" " + text + " ", None))
            spans.append(bar)
        out.append(spans)
    out.append(rule("└", "┴", "┘", "─"))
    return out
