"""The network, solver and torch-backend commands of ``convcalc``; cli.py holds the group,
the error handling and the single-layer commands, and imports this module to register them."""

from __future__ import annotations

import json

import click

from convcalc.cli.app import FORMATS, _d, _fmt, _in, _k, _layer, any_symbolic, cli
from convcalc.cli.types import Dims, Values
from convcalc.cli.types import fmt_x as _x
from convcalc.cli.types import parse_shape as _parse_shape
from convcalc.cli.types import resolve_dims as _resolve_dims
from convcalc.errors import ConvcalcError

# Networks ---------------------------------------------------------------------------

NET_FORMATS = ("table", "text", "json", "jsonl", "markdown", "csv")  # text = table


@cli.command()
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
    from convcalc.graph.netrun import run_net, run_valid_inputs

    shape = _parse_shape(input_shape)
    if valid_inputs is not None:
        sizes = valid_inputs
        if fmt not in ("table", "text", "json"):
            raise click.UsageError("--valid-inputs prints a table or json")
        if min(sizes) < 1:
            raise click.UsageError("--valid-inputs sizes must be >= 1")
        run_valid_inputs(spec, shape, range(min(sizes), max(sizes) + 1), fmt, _echo_net)
        return
    ok = run_net(spec, shape, depth, "table" if fmt == "text" else fmt, _echo_net)
    if not ok:
        raise SystemExit(1)


def _echo_net(kind: str, payload) -> None:
    """Output hook for run_net: 'out' goes to stdout, 'err' is a one-line error."""
    if kind == "err":
        click.echo(f"Error: {payload}", err=True)
    elif kind == "warn":
        click.echo(f"Warning: {payload}", err=True)
    else:
        click.echo(payload)


@cli.command()
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


# Solvers -----------------------------------------------------------------------------


@cli.command("solve-padding")
@_in
@_k
@click.option("--s", "--stride", "stride", type=Dims(), default=None, metavar="S",
              help="Stride.  [default: 1; pooling: the kernel size]")
@_d
@click.option("--out", "out_size", type=Dims(), default=None, metavar="SIZE",
              help="Target output size.  [default: 'same', i.e. ceil(in / stride); "
              "tconv: in x stride]")
@click.option("--layer", type=click.Choice(["conv", "pool", "tconv"]), default="conv",
              show_default=True, help="The layer to pad.")
@click.option("--kind", type=click.Choice(["max", "avg"]), default="max", show_default=True,
              help="Pooling kind (with --layer pool).")
@click.option("--convention", type=click.Choice(["torch", "tf", "onnx-lower"]), default="torch",
              show_default=True,
              help="Where an odd total padding puts its extra pixel: torch and tf (= ONNX "
              "SAME_UPPER) at the end, onnx-lower (SAME_LOWER) at the start.")
@_fmt
def solve_padding(in_size, kernel_size, stride, dilation, out_size, layer, kind, convention, fmt):
    """The padding that gives 'same' (the default) or a target output size.

    Symmetric PyTorch padding whenever one exists; otherwise the (lo, hi) pair per
    dimension, and the PyTorch to write it (padding='same', or an explicit pad layer).

    \b
    convcalc solve-padding --in 224 --k 3 --s 2
    convcalc solve-padding --in 32x32 --k 4
    convcalc solve-padding --in 7 --k 3 --s 2 --out 4 --layer pool
    convcalc solve-padding --in 16 --k 4 --s 2 --layer tconv
    """
    from convcalc.solve import padding as solve

    if kind == "avg" and layer != "pool":
        raise click.UsageError("--kind applies to --layer pool only")
    ndim, v = _resolve_dims(**{"in": in_size}, k=kernel_size, s=stride or (1,), d=dilation,
                            out=out_size)
    if layer == "pool" and stride is None:
        v["s"] = None
    conv = solve.Convention(convention)
    with _layer({"conv": f"Conv{ndim}d", "pool": f"{kind.capitalize()}Pool{ndim}d",
                 "tconv": f"ConvTranspose{ndim}d"}[layer]):
        if layer == "conv":
            answer = solve.solve_conv_padding(v["in"], v["k"], v["s"], v["d"], v["out"], conv)
        elif layer == "pool":
            answer = solve.solve_pool_padding(v["in"], v["k"], v["s"], v["d"], v["out"], kind, conv)
        else:
            answer = solve.solve_tconv_padding(v["in"], v["k"], v["s"], v["d"], v["out"], conv)
    if fmt == "json":
        click.echo(json.dumps(answer.as_json(), ensure_ascii=False))
        return
    click.echo("\n".join(_padding_text(answer)))


def _padding_text(answer) -> list[str]:
    from convcalc.engine.params import DIM_NAMES

    if answer.symmetric:
        pads = [lo for lo, _ in answer.padding]
        head = f"padding={pads[0] if len(set(pads)) == 1 else _x(pads)}"
    else:
        names = DIM_NAMES[len(answer.padding)]
        pads = ", ".join(f"{n} ({lo}, {hi})" for n, (lo, hi) in zip(names, answer.padding))
        where = "start" if answer.convention == "onnx-lower" else "end"
        head = f"padding {pads} (asymmetric: the extra pixel at the {where}, {answer.convention} convention)"
    if answer.output_padding and any(answer.output_padding):
        head += f", output_padding={_x(answer.output_padding)}"
    if answer.ceil_mode:
        head += ", ceil_mode=True"
    lines = [f"{head} -> {_x(answer.output)}", answer.pytorch]
    return lines + [f"note: {n}" for n in answer.notes]


@cli.command()
@_in
@click.option("--out", "out_size", type=Dims(), required=True, metavar="SIZE",
              help="The output size to reach.")
@click.option("--k", "--kernel-size", "k", type=Values(), default=None,
              help="Allowed kernel sizes.  [default: 1..11]")
@click.option("--s", "--stride", "s", type=Values(), default=None,
              help="Allowed strides.  [default: 1..8]")
@click.option("--p", "--padding", "p", type=Values(), default=None,
              help="Allowed paddings.  [default: 0..d(k-1); pooling 0..k//2]")
@click.option("--d", "--dilation", "d", type=Values(), default=None,
              help="Allowed dilations.  [default: 1..3]")
@click.option("--layer", "layers", type=click.Choice(["conv", "pool", "tconv", "all"]),
              default="all", show_default=True, help="Which layers to consider.")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="How many to print (0: all).")
@_fmt
def solve(in_size, out_size, k, s, p, d, layers, limit, fmt):
    """Every single layer that maps an input size to an output size, simplest first.

    Convolution, max/avg pooling and transposed convolution with PyTorch's symmetric
    padding, the same numbers in every dimension; each answer is checked by the engine.

    \b
    convcalc solve --in 224 --out 56
    convcalc solve --in 224x224 --out 112x112 --layer conv --k 3..7
    convcalc solve --in 7 --out 14 --layer tconv
    """
    from convcalc.solve import inverse as solver

    if any_symbolic(in_size):
        raise click.UsageError("solve needs numeric sizes (symbols: conv, tconv, pool, net)")
    ndim, v = _resolve_dims(**{"in": in_size}, out=out_size)
    if not isinstance(v["out"], tuple):
        v["out"] = (v["out"],) * ndim
    kinds = {"conv": ("conv",), "pool": ("maxpool", "avgpool"), "tconv": ("tconv",),
             "all": ("conv", "maxpool", "avgpool", "tconv")}[layers]
    bounds = {"k": k, "s": s, "p": p, "d": d}
    for name, values in bounds.items():
        if values and min(values) < (0 if name == "p" else 1):
            raise click.UsageError(f"--{name} values must be >= {0 if name == 'p' else 1}")
    found = solver.enumerate_layers(v["in"], v["out"], kinds, {n: b for n, b in bounds.items() if b})
    shown = found if limit == 0 else found[:limit]
    if fmt == "json":
        click.echo(json.dumps({"input": list(v["in"]), "output": list(v["out"]), "count": len(found),
                               "solutions": [c.as_json(ndim) for c in shown]}))
        return
    if not found:
        raise ConvcalcError(
            f"no {layers if layers != 'all' else 'single'} layer maps {_x(v['in'])} to {_x(v['out'])} "
            "within the bounds", fix="widen --k, --s, --p or --d")
    more = f"; the first {len(shown)}" if len(shown) < len(found) else ""
    click.echo(f"{_x(v['in'])} -> {_x(v['out'])}: {len(found)} configurations{more}, simplest first")
    for c in shown:
        click.echo(c.pytorch(ndim))


# The torch backend -------------------------------------------------------------------


@cli.command()
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
def check(spec, device, input_shape, numerics, fmt):
    """Cross-check the engine against real PyTorch layers.

    Builds SPEC as torch.nn modules, runs one forward pass with hooks, and compares every
    layer's output shape and parameter count with the engine's; exit 1 on any disagreement.
    Needs torch (pip install 'convcalc[torch]').

    \b
    convcalc check zoo:tv-resnet50 --device cpu
    convcalc check model.yaml --device cuda --format json
    """
    from convcalc.backend.check import run_check

    shape = _parse_shape(input_shape)
    if not run_check(spec, shape, device, fmt, numerics, _echo_net):
        raise SystemExit(1)


@cli.command()
@click.argument("spec", metavar="SPEC")
@click.option("--to", "target", type=click.Choice(["torch"]), default="torch", show_default=True,
              help="What to write.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file.  [default: standard output]")
@click.option("--input", "input_shape", default=None, metavar="SHAPE",
              help="Override the spec's input shape, e.g. 1,3,224,224.")
def export(spec, target, output, input_shape):
    """PyTorch code for a spec: a self-contained file defining build_model().

    \b
    convcalc export zoo:tv-resnet18 --to torch -o resnet18.py
    python resnet18.py     # builds it and checks params and output shape
    """
    from convcalc.backend import export as exporter
    from convcalc.spec import parse as specs
    from convcalc.graph.netrun import evaluate

    text, source = specs.read_text(spec)
    docs = specs.load_documents(text, source)
    if len(docs) != 1:
        raise ConvcalcError(f"{source}: export takes a spec of one document, got {len(docs)}")
    code = exporter.to_torch(evaluate(docs[0], source, _parse_shape(input_shape)), source)
    if output is None:
        click.echo(code, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(code)
    except OSError as e:
        raise ConvcalcError(f"cannot write {output}: {e.strerror}") from None


@cli.command("import")
@click.argument("target", metavar="MODULE:CALLABLE")
@click.option("--input", "input_shape", required=True, metavar="SHAPE",
              help="The input shape to trace and check with, e.g. 1,3,224,224.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the spec to this file.  [default: standard output]")
def import_(target, input_shape, output):
    """A spec from a live PyTorch model (this runs MODULE's code).

    MODULE is a Python file (net.py) or an importable module; CALLABLE an nn.Module class,
    a factory or an instance in it. Traced with torch.fx (branches joined by torch.cat or
    + become concat/add), else recorded with forward hooks; notes on stderr name anything
    the spec does not represent, and the spec is checked against the model's parameter
    count and output shape.

    \b
    convcalc import mynet.py:Net --input 1,3,32,32 -o mynet.yaml
    convcalc import torchvision.models:resnet18 --input 1,3,224,224
    """
    from convcalc.backend import build as torch_backend
    from convcalc.backend.importer import import_spec

    torch_backend._torch()
    shape = _parse_shape(input_shape)
    if any_symbolic(shape):
        raise click.UsageError("--input must be numeric to trace a model")
    text, notes = import_spec(target, shape)
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
