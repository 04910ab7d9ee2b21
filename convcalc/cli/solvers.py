"""The solver commands: solve-padding and solve."""

from __future__ import annotations

import click

from convcalc.cli.options import (
    Command,
    any_symbolic,
    d_option,
    format_option,
    in_option,
    k_option,
    layer_errors,
)
from convcalc.cli.types import Dims, Values, fmt_x, resolve_dims
from convcalc.errors import ConvcalcError


@click.command("solve-padding", cls=Command)
@in_option
@k_option
@click.option("--s", "--stride", "stride", type=Dims(), default=None, metavar="S",
              help="Stride.  [default: 1; pooling: the kernel size]")
@d_option
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
@format_option
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
    if any_symbolic(in_size):
        raise click.UsageError("solve-padding needs numeric sizes (symbols: conv, tconv, pool, net)")
    ndim, v = resolve_dims(**{"in": in_size}, k=kernel_size, s=stride or (1,), d=dilation,
                            out=out_size)
    if layer == "pool" and stride is None:
        v["s"] = None
    conv = solve.Convention(convention)
    with layer_errors({"conv": f"Conv{ndim}d", "pool": f"{kind.capitalize()}Pool{ndim}d",
                 "tconv": f"ConvTranspose{ndim}d"}[layer]):
        if layer == "conv":
            answer = solve.solve_conv_padding(v["in"], v["k"], v["s"], v["d"], v["out"], conv)
        elif layer == "pool":
            answer = solve.solve_pool_padding(v["in"], v["k"], v["s"], v["d"], v["out"], kind, conv)
        else:
            answer = solve.solve_tconv_padding(v["in"], v["k"], v["s"], v["d"], v["out"], conv)
    for warning in answer.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if fmt == "json":
        import json

        click.echo(json.dumps(answer.as_json(), ensure_ascii=False))
        return
    lines = _padding_text(answer)
    if len(in_size) == 1 and ndim == 1:  # one size, one kernel: say which reading was taken
        lines.append(f"note: {one_d(in_size)}")
    click.echo("\n".join(lines))


def one_d(in_size) -> str:
    """The note on a single size read as one spatial dimension."""
    size = in_size[0]
    return f"1-d; give --in {size}x{size} for 2-d"


def _padding_text(answer) -> list[str]:
    from convcalc.engine.params import DIM_NAMES

    if answer.symmetric:
        pads = [lo for lo, _ in answer.padding]
        head = f"padding={pads[0] if len(set(pads)) == 1 else fmt_x(pads)}"
    else:
        names = DIM_NAMES[len(answer.padding)]
        pads = ", ".join(f"{n} ({lo}, {hi})" for n, (lo, hi) in zip(names, answer.padding))
        where = "start" if answer.convention == "onnx-lower" else "end"
        head = f"padding {pads} (asymmetric: the extra pixel at the {where}, {answer.convention} convention)"
    if answer.output_padding and any(answer.output_padding):
        head += f", output_padding={fmt_x(answer.output_padding)}"
    if answer.ceil_mode:
        head += ", ceil_mode=True"
    lines = [f"{head} -> {fmt_x(answer.output)}", answer.pytorch]
    return lines + [f"note: {n}" for n in answer.notes]


@click.command(cls=Command)
@in_option
@click.option("--out", "out_size", type=Dims(), required=True, metavar="SIZE",
              help="The output size to reach.")
@click.option("--k", "--kernel-size", "k", type=Values(dims=True), default=None,
              help="Allowed kernel sizes (3x3: 3, in 2-d).  [default: 1..11]")
@click.option("--s", "--stride", "s", type=Values(dims=True), default=None,
              help="Allowed strides.  [default: 1..8]")
@click.option("--p", "--padding", "p", type=Values(dims=True), default=None,
              help="Allowed paddings.  [default: 0..d(k-1); pooling 0..k//2]")
@click.option("--d", "--dilation", "d", type=Values(dims=True), default=None,
              help="Allowed dilations.  [default: 1..3]")
@click.option("--layer", "layers", type=click.Choice(["conv", "pool", "tconv", "all"]),
              default="all", show_default=True, help="Which layers to consider.")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="How many to print (0: all).")
@format_option
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
    ndim, v = resolve_dims(**{"in": in_size}, out=out_size)
    given = {name: getattr(b, "ndim", 1) for name, b in (("k", k), ("s", s), ("p", p), ("d", d)) if b}
    wanted = max(given.values(), default=1)  # --k 3x3: a 2-d layer
    if wanted > 1 and wanted != ndim:
        if ndim != 1:
            name = max(given, key=given.get)
            raise click.UsageError(f"--{name} is {wanted}-d but --in {fmt_x(in_size)} is {ndim}-d: "
                                   "give the same number of dimensions")
        ndim, v["in"] = wanted, v["in"] * wanted
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
        import json

        click.echo(json.dumps({"input": list(v["in"]), "output": list(v["out"]), "count": len(found),
                               "solutions": [c.as_json(ndim) for c in shown]}))
        return
    if not found:
        raise ConvcalcError(
            f"no {layers if layers != 'all' else 'single'} layer maps {fmt_x(v['in'])} to {fmt_x(v['out'])} "
            "within the bounds", fix="widen --k, --s, --p or --d")
    more = f"; the first {len(shown)}" if len(shown) < len(found) else ""
    reading = f" ({one_d(in_size)})" if ndim == 1 and len(in_size) == 1 else ""
    click.echo(f"{fmt_x(v['in'])} -> {fmt_x(v['out'])}{reading}: {len(found)} configurations{more}, "
               "simplest first")
    for c in shown:
        click.echo(c.pytorch(ndim))
