"""The network commands: net and zoo."""

from __future__ import annotations

import json

import click

from convcalc.cli.options import (
    FORMATS,
    Command,
    Group,
    color_option,
    echo_net,
    max_spec_bytes_option,
)
from convcalc.cli.types import parse_inputs

NET_FORMATS = ("table", "text", "json", "jsonl", "markdown", "csv")  # text = table
DTYPES = ("float32", "float16", "bfloat16", "int8", "float64")  # convcalc.graph.report.DTYPES


def _columns(ctx, param, value):
    from convcalc.render import columns

    try:
        return columns.parse(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None


@click.command(cls=Command)
@click.argument("spec", metavar="SPEC")
@click.option("--input", "input_shape", multiple=True, metavar="[NAME=]SHAPE",
              help="Override the spec's input shape, e.g. 1,3,224,224; NAME=SHAPE sets one "
              "of several named inputs. Repeat a shape to compare inputs side by side.")
@click.option("--depth", type=click.IntRange(min=0), default=None, metavar="N",
              help="Fold layers nested deeper than N into one row per block.")
@click.option("--format", "fmt", type=click.Choice(NET_FORMATS), default="table",
              show_default=True, help="Output format (jsonl: one line per YAML document).")
@click.option("--valid-inputs", "valid_inputs", default=None, metavar="A..B[xC..D]",
              help="Instead of the table: which spatial sizes from A to B (one range for "
              "every dimension, or one per dimension) the network accepts, at which no "
              "layer drops pixels, and the smallest valid input.")
@click.option("--keep-going", is_flag=True, help="On a failure, print the table up to the failing layer before the error (the default on a terminal).")
@click.option("--columns", "keys", default=None, callback=_columns, metavar="LIST",
              help="The table's columns, comma-separated, from: layer, type, input, output, "
              "params, params%, macs, macs%, rf, jump, kernel (kernel/stride), memory "
              "(activation bytes), trainable; or +NAME/-NAME to change the default ones "
              "(layer,type,output,params,macs,rf,jump); all for every one. Every format "
              "follows it (JSON adds the chosen values to each layer).")
@click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
              help="Element type of the memory estimates (activations and parameters).")
@color_option
@max_spec_bytes_option
def net(spec, input_shape, depth, fmt, valid_inputs, keep_going, keys, dtype, color, max_bytes):
    """Per-layer output shape, parameters, MACs and receptive field of a model spec.

    SPEC is a YAML file, - for standard input, or zoo:NAME for a bundled spec
    (convcalc zoo lists them). A YAML stream of several documents is a batch: each is
    evaluated on its own, and the exit code is 1 if any failed. SPEC may also be a bare
    YAML list of layers, or the text of print(model) for a model built from nn.Sequential
    (module names become the layer paths); both take their input from --input.

    \b
    convcalc net zoo:lenet
    convcalc net zoo:tv-resnet50 --depth 1
    convcalc net model.yaml --input 1,3,512,512 --format json
    python -c "print(model)" | convcalc net - --input 1,3,224,224
    """
    from convcalc.cli.netrun import View, run_compare, run_net, run_valid_inputs
    from convcalc.render.columns import DEFAULT as DEFAULT_COLUMNS

    view = View(keys, dtype, color)

    shapes, named = parse_inputs(input_shape)
    shape = named or (shapes[0] if shapes else None)
    if valid_inputs is not None:
        from convcalc.solve.valid import parse_ranges

        if fmt not in ("table", "text", "json"):
            raise click.UsageError("--valid-inputs prints a table or json")
        if len(shapes) > 1 or named:
            raise click.UsageError("--valid-inputs takes one unnamed --input (for batch and channels)")
        try:
            sizes = parse_ranges(valid_inputs)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="'--valid-inputs'") from None
        run_valid_inputs(spec, shape, sizes, fmt, echo_net, max_bytes)
        return
    if len(shapes) > 1:
        if keys != DEFAULT_COLUMNS:
            raise click.UsageError("--columns applies to one input; a comparison of several "
                                   "--input has its own columns")
        ok = run_compare(spec, shapes, depth, "table" if fmt == "text" else fmt, echo_net, max_bytes,
                         view)
    else:
        ok = run_net(spec, shape, depth, "table" if fmt == "text" else fmt, echo_net, keep_going,
                     max_bytes, view)
    if not ok:
        raise SystemExit(1)


@click.group(cls=Group, invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format.")
@click.pass_context
def zoo(ctx, fmt):
    """List the bundled model specs (use them as zoo:NAME); zoo show NAME prints one.

    \b
    convcalc zoo
    convcalc zoo show lenet
    """
    if ctx.invoked_subcommand is not None:
        return
    from convcalc import zoo as bundled

    entries = [{"name": n, "spec": f"zoo:{n}", "description": bundled.describe(n)}
               for n in bundled.names()]
    if fmt == "json":
        click.echo(json.dumps(entries, ensure_ascii=False))
        return
    width = max(len(e["name"]) for e in entries)
    for e in entries:
        click.echo(f"{e['name']:<{width}}  {e['description']}")


@zoo.command("show")
@click.argument("name", metavar="NAME")
def zoo_show(name):
    """Print a bundled spec's YAML: a model to read, or to copy and edit.

    \b
    convcalc zoo show lenet
    convcalc zoo show tv-resnet18 > my_resnet.yaml
    """
    from convcalc import zoo as bundled

    click.echo(bundled.read(name.removeprefix("zoo:")), nl=False)
