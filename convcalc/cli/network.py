"""The network commands: net and zoo."""

from __future__ import annotations

import json

import click

from convcalc.cli.options import FORMATS, echo_net
from convcalc.cli.types import Values, parse_shape

NET_FORMATS = ("table", "text", "json", "jsonl", "markdown", "csv")  # text = table


@click.command()
@click.argument("spec", metavar="SPEC")
@click.option("--input", "input_shape", default=None, metavar="SHAPE",
              help="Override the spec's input shape, e.g. 1,3,224,224.")
@click.option("--depth", type=click.IntRange(min=0), default=None, metavar="N",
              help="Fold layers nested deeper than N into one row per block.")
@click.option("--format", "fmt", type=click.Choice(NET_FORMATS), default="table",
              show_default=True, help="Output format (jsonl: one line per YAML document).")
@click.option("--valid-inputs", "valid_inputs", type=Values(), default=None, metavar="A..B",
              help="Instead of the table: which spatial sizes (H = W) from A to B the network "
              "accepts, and at which no layer drops pixels.")
def net(spec, input_shape, depth, fmt, valid_inputs):
    """Per-layer output shape, parameters, MACs and receptive field of a model spec.

    SPEC is a YAML file, - for standard input, or zoo:NAME for a bundled spec
    (convcalc zoo lists them). A YAML stream of several documents is a batch: each is
    evaluated on its own, and the exit code is 1 if any failed.

    \b
    convcalc net zoo:lenet
    convcalc net zoo:tv-resnet50 --depth 1
    convcalc net model.yaml --input 1,3,512,512 --format json
    """
    from convcalc.cli.netrun import run_net, run_valid_inputs

    shape = parse_shape(input_shape)
    if valid_inputs is not None:
        sizes = valid_inputs
        if fmt not in ("table", "text", "json"):
            raise click.UsageError("--valid-inputs prints a table or json")
        if min(sizes) < 1:
            raise click.UsageError("--valid-inputs sizes must be >= 1")
        run_valid_inputs(spec, shape, range(min(sizes), max(sizes) + 1), fmt, echo_net)
        return
    ok = run_net(spec, shape, depth, "table" if fmt == "text" else fmt, echo_net)
    if not ok:
        raise SystemExit(1)


@click.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format.")
def zoo(fmt):
    """List the bundled model specs (use them as zoo:NAME)."""
    from convcalc import zoo as bundled

    entries = [{"name": n, "spec": f"zoo:{n}", "description": bundled.describe(n)}
               for n in bundled.names()]
    if fmt == "json":
        click.echo(json.dumps(entries, ensure_ascii=False))
        return
    width = max(len(e["name"]) for e in entries)
    for e in entries:
        click.echo(f"{e['name']:<{width}}  {e['description']}")
