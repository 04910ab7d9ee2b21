"""What the commands share: click options, output and error attribution helpers.

Only click and the standard library are imported here; the engine is imported by the
helpers that need it, when they run.
"""

from __future__ import annotations

import contextlib
import os
import sys

import click

from convcalc.cli.types import Dims, fmt_x
from convcalc.errors import ConvcalcError

FORMATS = ("text", "json")


class PlainHelp:
    """``--help`` made without ``gettext``: click translates its help text with ``_()``,
    and gettext imports ``locale`` on every call, a sixth of ``convcalc conv``'s start-up
    (benchmarks/startup.py). The same option as click's, in English only, as all of
    convcalc's text is."""

    def get_help_option(self, ctx):
        names = self.get_help_option_names(ctx)
        if not names or not self.add_help_option:
            return None
        if "_plain_help" not in self.__dict__:  # one object: click orders eager options by it
            self._plain_help = click.Option(
                names, is_flag=True, expose_value=False, is_eager=True, callback=_show_help,
                help="Show this message and exit.")
        return self._plain_help


def _show_help(ctx, param, value) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(ctx.get_help(), color=ctx.color)
        ctx.exit()


class Command(PlainHelp, click.Command):
    """Every convcalc command: ``@click.command(cls=Command)``."""


class Group(PlainHelp, click.Group):
    """A group of convcalc commands; its subcommands are ``Command``s."""

    command_class = Command


@contextlib.contextmanager
def layer_errors(name: str):
    """Attribute domain errors raised inside to the layer ``name``."""
    try:
        yield
    except ConvcalcError as e:
        raise e.with_layer(name) from None


def emit(fmt: str, text_lines: list[str], payload: dict) -> None:
    if fmt == "json":
        import json  # only here: json costs start-up (benchmarks/startup.py)

        click.echo(json.dumps(payload, ensure_ascii=False))
    else:
        click.echo("\n".join(text_lines))


def echo_net(kind: str, payload) -> None:
    """Output hook for run_net and run_check: 'out' goes to stdout, 'err' is a one-line error."""
    if kind == "err":
        click.echo(on_stderr(f"Error: {payload}"), err=True)
    elif kind == "warn":
        click.echo(on_stderr(f"Warning: {payload}"), err=True)
    else:
        click.echo(payload)


PREFIX_STYLES = {"Error": "1;31", "Warning": "33"}  # SGR codes: bold red, yellow


def on_stderr(message: str) -> str:
    """``message`` as standard error shows it: on a terminal its ``Error:`` or ``Warning:``
    prefix in colour, unless NO_COLOR is set or TERM is dumb. Plain ANSI codes: an error
    must not import rich (a pipe never does)."""
    prefix, colon, rest = message.partition(":")
    style = PREFIX_STYLES.get(prefix)
    if (style is None or not colon or not sys.stderr.isatty() or os.environ.get("NO_COLOR")
            or os.environ.get("TERM") == "dumb"):
        return message
    return f"\x1b[{style}m{prefix}:\x1b[0m{rest}"


# Options shared by the single-layer commands -----------------------------------------

in_option = click.option("--in", "in_size", type=Dims(symbols=True), required=True, metavar="SIZE",
                         help="Input spatial size: 28, 28x28 or 16x28x28; symbols give formulas (H, HxW).")
k_option = click.option("--k", "--kernel-size", "kernel_size", type=Dims(), required=True,
                        metavar="K", help="Kernel size (per dimension as AxB).")
d_option = click.option("--d", "--dilation", "dilation", type=Dims(), default="1", show_default=True,
                        metavar="D", help="Dilation.")
format_option = click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
                             show_default=True, help="Output format.")
explain_option = click.option("--explain", is_flag=True,
                              help="Show the formula with the numbers put in, step by step.")


# Options shared by the commands that read a spec (net, check, export, draw) -----------


class ByteSize(click.ParamType):
    """A number of bytes: ``1000000``, or with a binary suffix ``512K``, ``200M``, ``1G``."""

    name = "size"
    UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip().upper().removesuffix("IB").removesuffix("B")
        unit = text[-1:] if text[-1:] in self.UNITS else ""
        digits = text[: len(text) - len(unit)]
        if not digits.isdigit() or int(digits) < 1 or len(digits) > 15:
            self.fail(f"expected a size in bytes such as 1000000, 512K, 200M or 1G, got {value!r}",
                      param, ctx)
        return int(digits) * self.UNITS[unit]


def max_spec_bytes_option(command):
    """``--max-spec-bytes``: the size limit on a spec file or standard input (the limit
    itself is ``convcalc.spec.load.MAX_BYTES``)."""
    from convcalc.spec.load import MAX_BYTES

    return click.option("--max-spec-bytes", "max_bytes", type=ByteSize(), default=MAX_BYTES,
                        metavar="SIZE", help="Refuse a spec file larger than this, before "
                        f"reading it (bytes, or 512K, 200M, 1G).  [default: {MAX_BYTES // 2**20}M]")(command)


color_option = click.option(
    "--color", "color", type=click.Choice(("auto", "always", "never")), default="auto",
    show_default=True, help="Colour and a table fitted to the window: auto does so on a "
    "terminal (NO_COLOR turns the colour off, FORCE_COLOR on); output to a pipe or a file "
    "is plain text.")


# Answers of the single-layer commands ------------------------------------------------


def shown_sizes(values) -> list:
    from convcalc.engine.symbolic import is_symbolic, pretty

    return [pretty(v) if is_symbolic(v) else v for v in values]


@contextlib.contextmanager
def collecting(sizes):
    """Assumptions made for the symbolic ``sizes`` (H): numbers need none, and then nothing
    is loaded to collect them (start-up)."""
    if not any_symbolic(sizes):
        yield []
        return
    from convcalc.engine import symbolic

    with symbolic.collecting() as found:
        yield found


def any_symbolic(values) -> bool:
    from convcalc.engine.symbolic import any_symbolic as check

    return check(values)


def answer(fmt, explain, out, payload, explanation, assumptions=(), extra=()) -> None:
    """The size first; then ``extra`` lines (params, MACs), assumptions, the explanation."""
    shown = shown_sizes(out)
    if any(isinstance(v, str) for v in shown) and len(shown) > 1:  # formulas: keep them apart
        lines = [" x ".join(str(v) if isinstance(v, int) or v.isidentifier() else f"({v})" for v in shown)]
    else:
        lines = [fmt_x(shown)]
    lines += list(extra)
    if assumptions:
        payload["assumptions"] = [text for text, _ in assumptions]
        lines += [f"assuming {text} ({why})" for text, why in assumptions]
    if explain:
        steps = explanation()
        payload["explain"] = steps
        lines += [""] + steps
    emit(fmt, lines, payload)
