"""What the commands share: click options, output and error attribution helpers.

Only click and the standard library are imported here; the engine is imported by the
helpers that need it, when they run.
"""

from __future__ import annotations

import contextlib

import click

from convcalc.cli.types import Dims, fmt_x
from convcalc.errors import ConvcalcError

FORMATS = ("text", "json")


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
        click.echo(f"Error: {payload}", err=True)
    elif kind == "warn":
        click.echo(f"Warning: {payload}", err=True)
    else:
        click.echo(payload)


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


# Answers of the single-layer commands ------------------------------------------------


def shown_sizes(values) -> list:
    from convcalc.engine.symbolic import is_symbolic, pretty

    return [pretty(v) if is_symbolic(v) else v for v in values]


@contextlib.contextmanager
def collecting():
    """Assumptions made for symbolic sizes (sympy is imported only if a size is a symbol)."""
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
