"""The torch-backend commands: check, export and import (they run convcalc.backend)."""

from __future__ import annotations

import click

from convcalc.cli.options import FORMATS, Command, any_symbolic, echo_net, max_spec_bytes_option
from convcalc.cli.types import parse_shape
from convcalc.errors import ConvcalcError


@click.command(cls=Command)
@click.argument("spec", metavar="SPEC")
@click.option("--device", type=click.Choice(["cpu", "cuda", "meta"]), default=None,
              help="Where torch runs the layers.  [default: cuda when available, else cpu]")
@click.option("--input", "input_shape", default=None, metavar="SHAPE",
              help="Override the spec's input shape, e.g. 1,3,224,224.")
@click.option("--numerics/--no-numerics", default=None,
              help="Also run the same weights on the CPU and the device and compare outputs, "
              "memory and time.  [default: on with --device cuda]")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format.")
@max_spec_bytes_option
def check(spec, device, input_shape, numerics, fmt, max_bytes):
    """Cross-check the engine against real PyTorch layers.

    Builds SPEC's graph as torch.nn modules, runs it once, and compares every operation's
    output shape and parameter count with the engine's; exit 1 on any disagreement.
    A YAML stream of several documents is a batch: one result per document (one JSON
    line each with --format json), and exit 1 if any failed. On the meta device no
    weight is allocated; elsewhere a network whose weights do not fit in free memory is
    refused first. Needs torch (pip install 'convcalc[torch]').

    \b
    convcalc check zoo:tv-resnet50 --device cpu
    convcalc check model.yaml --device cuda --format json
    """
    from convcalc.backend.check import run_check
    from convcalc.cli.progress import progress

    shape = parse_shape(input_shape)
    if not run_check(spec, shape, device, fmt, numerics, echo_net, max_bytes, progress):
        raise SystemExit(1)


@click.command(cls=Command)
@click.argument("spec", metavar="SPEC")
@click.option("--to", "target", type=click.Choice(["torch"]), default="torch", show_default=True,
              help="What to write.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file.  [default: standard output]")
@click.option("--input", "input_shape", default=None, metavar="SHAPE",
              help="Override the spec's input shape, e.g. 1,3,224,224.")
@max_spec_bytes_option
def export(spec, target, output, input_shape, max_bytes):
    """PyTorch code for a spec: a self-contained file defining build_model().

    \b
    convcalc export zoo:tv-resnet18 --to torch -o resnet18.py
    python resnet18.py     # builds it and checks params and output shape
    """
    from convcalc.backend import export as exporter
    from convcalc import spec as specs
    from convcalc.graph.run import evaluate

    text, source = specs.read_text(spec, max_bytes)
    docs = specs.load_documents(text, source)
    if len(docs) != 1:
        raise ConvcalcError(f"{source}: export takes a spec of one document, got {len(docs)}")
    code = exporter.to_torch(evaluate(docs[0], source, parse_shape(input_shape)), source)
    if output is None:
        click.echo(code, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(code)
    except OSError as e:
        raise ConvcalcError(f"cannot write {output}: {e.strerror}") from None


@click.command("import")
@click.argument("target", metavar="MODULE:CALLABLE")
@click.option("--input", "input_shape", required=True, multiple=True, metavar="SHAPE",
              help="The input shape to trace and verify with, e.g. 1,3,224,224; repeat it for "
                   "a forward that takes several inputs, in its order.")
@click.option("--dtype", "dtype", type=click.Choice(["float32", "int64", "int32"]), multiple=True,
              help="The input's dtype (int64 for token indices); one for all inputs, or one per "
                   "--input.  [default: float32]")
@click.option("--approximate", is_flag=True,
              help="Write the spec even where an operation cannot be expressed: it is replaced "
                   "by its traced value and the file's header lists it.")
@click.option("--flat", is_flag=True,
              help="One item per operation, in the model's module groups: no blocks, no repeat.")
@click.option("--tracer", type=click.Choice(["auto", "fx", "export"]), default="auto", show_default=True,
              help="torch.fx, or torch.export (its sizes are the input's: the spec refuses any "
                   "other input); auto tries torch.export where fx cannot trace the model.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the spec to this file.  [default: standard output]")
def import_(target, input_shape, dtype, approximate, flat, tracer, output):
    """A spec from a live PyTorch model, exactly (this runs MODULE's code).

    MODULE is a Python file (net.py) or an importable module; CALLABLE an nn.Module class,
    a factory or an instance in it. The model is traced with torch.fx and every operation
    becomes a line of the spec, in the groups of the model's modules. Before anything is
    written the spec is verified against one forward pass of the model: the parameters of
    the modules it runs, every operation's output shape, and MACs against torch's FLOP
    counter. An operation the spec cannot express, or any difference, is an error naming
    the operation, its module and the source line (exit 1), unless --approximate.

    \b
    convcalc import mynet.py:Net --input 1,3,32,32 -o mynet.yaml
    convcalc import torchvision.models:resnet18 --input 1,3,224,224
    """
    from convcalc.backend import build as torch_backend
    from convcalc.backend.importer import import_spec

    torch_backend.require_torch()
    shapes = [parse_shape(value) for value in input_shape]
    if any(any_symbolic(shape) for shape in shapes):
        raise click.UsageError("--input must be numeric to trace a model")
    if len(dtype) not in (0, 1, len(shapes)):
        raise click.UsageError(f"{len(dtype)} --dtype for {len(shapes)} --input: give one for all, or one each")
    from convcalc.backend.importer import STAGES
    from convcalc.cli.progress import progress

    with progress(STAGES, f"importing {target}") as advance:
        text, notes = import_spec(target, shapes, approximate=approximate, dtype=list(dtype) or "float32", flat=flat,
                                  advance=advance, tracer=tracer)
    if output is None:
        click.echo(text, nl=False)
    else:
        try:
            with open(output, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as e:
            raise ConvcalcError(f"cannot write {output}: {e.strerror}") from None
    for note in notes:
        click.echo(f"Note: {note}", err=True)
