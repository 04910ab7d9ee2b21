"""The commands that answer about one layer: ``layers`` (what is supported, and one layer
in full) and ``layer`` (one pasted line of PyTorch on an input)."""

from __future__ import annotations

import json
import shlex

import click

from convcalc.cli.options import FORMATS, Command, color_option
from convcalc.cli.types import parse_shape

EXAMPLE = '"nn.Conv2d(3, 64, 7, 2, 3)"'


@click.command(cls=Command)
@click.argument("name", metavar="[NAME]", required=False)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format.")
def layers(name, fmt):
    """List every supported layer and function with its signature, or show one in full.

    With NAME (Conv2d, nn.MaxPool2d, F.interpolate, cat): its signature, what it computes,
    its output-size formula and what PyTorch refuses.

    \b
    convcalc layers
    convcalc layers Conv2d
    convcalc layers --format json
    """
    from convcalc.cli import catalog

    if name is not None:
        entry = catalog.find(name)
        click.echo(json.dumps(entry, ensure_ascii=False) if fmt == "json"
                   else "\n".join(catalog.detail_lines(entry)))
        return
    found = catalog.entries()
    if fmt == "json":
        click.echo(json.dumps([{k: e[k] for k in ("name", "kind", "family", "signature", "doc")}
                               for e in found], ensure_ascii=False))
        return
    click.echo("\n".join(e["signature"] for e in found))


@click.command(cls=Command)
@click.argument("line", metavar="LINE")
@click.option("--input", "input_shape", default=None, metavar="SHAPE",
              help="The input tensor's shape: 1,3,224,224 or 1x3x224x224 (symbols give "
              "formulas: 1,3,H,W).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format.")
@color_option
def layer(line, input_shape, fmt, color):
    """Output shape, parameters, MACs and receptive field of one pasted layer or function.

    LINE is written as in PyTorch: positional or keyword arguments, tuples, an nn. or
    torch.nn. prefix, a line of print(model) with its (name): prefix, or a function on
    the input x (torch.flatten(x, 1)). It is evaluated as the only layer of a spec.

    \b
    convcalc layer "nn.Conv2d(3, 64, 7, 2, 3)" --input 1,3,224,224
    convcalc layer "(conv1): Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)" --input 1x3x224x224
    convcalc layer "MaxPool2d(3, 2, 1, ceil_mode=True)" --input 1,64,112,112
    """
    from convcalc.spec.paste import is_printed_model

    if "\n" in line.strip():
        hint = ("this is the text of print(model): pass it on standard input to "
                "convcalc net - --input SHAPE" if is_printed_model(line)
                else "give one layer; a network is convcalc net's")
        raise click.UsageError(f"LINE has several lines: {hint}")
    if input_shape is None:
        raise click.UsageError(
            f"Missing option '--input': the input tensor's shape, e.g. "
            f"convcalc layer {shlex.quote(line) if line.strip() else EXAMPLE} --input 1,3,224,224")
    shape = parse_shape(input_shape)
    from convcalc.cli.layerrun import run_layer
    from convcalc.cli.netrun import View

    rich = View(color=color).rich()
    shown = run_layer(line, shape, fmt, rich)
    if isinstance(shown, str):
        click.echo(shown)
    else:
        from convcalc.render import terminal

        terminal.console(color).print(shown)
