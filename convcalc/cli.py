"""The ``convcalc`` command line: parse, one library call, render.

Errors are translated in one place (``ConvcalcGroup.main``): a domain error exits 1, flag
misuse exits 2, each as one line on standard error; nothing ever prints a traceback.
Start-up matters: only click and the standard library are imported here; each command
imports what it needs when it runs.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys

import click

from convcalc.errors import ConvcalcError

FORMATS = ("text", "json")
_NUMBER = re.compile(r"[+-]?\d{1,40}")


class ConvcalcGroup(click.Group):
    """A click group whose ``main`` turns every failure into one line and an exit code."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(
                args=args, prog_name=prog_name or "convcalc", complete_var=complete_var,
                standalone_mode=False, **extra,
            )
        except click.UsageError as e:
            hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
            code = _fail(f"Error: {e.format_message()}{hint}", 2)
        except click.ClickException as e:
            code = _fail(f"Error: {e.format_message()}", e.exit_code)
        except ConvcalcError as e:
            code = _fail(f"Error: {e}", 1)
        except click.Abort:
            code = _fail("Aborted.", 1)
        except BrokenPipeError:
            code = 1
        except KeyboardInterrupt:
            code = _fail("Interrupted.", 130)
        except RecursionError:
            code = _fail("Error: input is nested too deeply", 1)
        except Exception as e:  # last resort: a bug must still not print a traceback
            code = _fail(f"Error: internal error ({type(e).__name__}: {e}); please report it", 1)
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> int:
    click.echo(message, err=True)
    return code


def main() -> None:
    cli(prog_name="convcalc")


@click.group(
    name="convcalc",
    cls=ConvcalcGroup,
    context_settings={"help_option_names": ["-h", "--help"], "terminal_width": 88,
                      "max_content_width": 88},
)
@click.version_option(package_name="convcalc", message="convcalc %(version)s")
def cli():
    """Shape arithmetic for convolutional networks, exactly as PyTorch computes it.

    \b
    convcalc conv --in 28x28 --k 5 --p 2        Conv output size
    convcalc tconv --in 512 --k 3 --s 2         transposed conv
    convcalc pool --in 7 --k 3 --s 2 --ceil     max/avg pooling
    """


# Parsing per-dimension values -------------------------------------------------------


class Dims(click.ParamType):
    """``28``, ``28x28`` or ``16x28x28``: one integer per spatial dimension (or one for all).

    ``words`` are extra accepted spellings (``same``/``valid`` for convolution padding).
    """

    name = "AxB"

    def __init__(self, words: tuple[str, ...] = (), symbols: bool = False):
        self.words = words
        self.symbols = symbols  # sizes may be symbols (H, W): shapes become formulas

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        text = str(value).strip().lower()
        if text in self.words:
            return text
        parts = str(value).strip().split("x")
        if self.symbols:
            from convcalc.symbolic import SYMBOL, parse_size

            if 1 <= len(parts) <= 3 and all(_NUMBER.fullmatch(p.strip()) or SYMBOL.fullmatch(p.strip())
                                            for p in parts):
                return tuple(parse_size(p) for p in parts)
        if not 1 <= len(parts) <= 3 or not all(_NUMBER.fullmatch(p.strip()) for p in parts):
            words = "".join(f", '{w}'" for w in self.words)
            kinds = "an integer or a symbol (H)" if self.symbols else "an integer"
            self.fail(
                f"{value!r} is not a size: use {kinds}, AxB or AxBxC (one per spatial "
                f"dimension){words}",
                param, ctx,
            )
        return tuple(int(p) for p in parts)


def _resolve_dims(**given) -> tuple[int, dict]:
    """The spatial dimension count and every per-dimension value broadcast to it.

    ndim is the longest value given; every other value must have one entry or ndim.
    ``given["in"]`` is the input size.
    """
    lengths = {k: len(v) for k, v in given.items() if isinstance(v, tuple)}
    ndim = max(lengths.values())
    for name, n in lengths.items():
        if n not in (1, ndim):
            longest = max(lengths, key=lengths.get)
            raise click.UsageError(
                f"--{name} has {n} values ({_x(given[name])}) but --{longest} has {ndim} "
                f"({_x(given[longest])}): give one value, or one per dimension"
            )
    # The input is always spelled out per dimension; a single parameter value stays a
    # scalar, so that messages show it as it was given.
    out = {k: v[0] if isinstance(v, tuple) and len(v) == 1 else v for k, v in given.items()}
    if len(given["in"]) == 1:
        out["in"] = given["in"] * ndim
    return ndim, out


@contextlib.contextmanager
def _layer(name: str):
    """Attribute domain errors raised inside to the layer ``name``."""
    try:
        yield
    except ConvcalcError as e:
        raise e.with_layer(name) from None


def _x(values) -> str:
    return "x".join(str(v) for v in values)


def _emit(fmt: str, text_lines: list[str], payload: dict) -> None:
    if fmt == "json":
        click.echo(json.dumps(payload, ensure_ascii=False))
    else:
        click.echo("\n".join(text_lines))


# Options shared by the single-layer commands -----------------------------------------

_in = click.option("--in", "in_size", type=Dims(symbols=True), required=True, metavar="SIZE",
                   help="Input spatial size: 28, 28x28 or 16x28x28; symbols give formulas (H, HxW).")
_k = click.option("--k", "--kernel-size", "kernel_size", type=Dims(), required=True,
                  metavar="K", help="Kernel size (per dimension as AxB).")
_d = click.option("--d", "--dilation", "dilation", type=Dims(), default="1", show_default=True,
                  metavar="D", help="Dilation.")
_fmt = click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
                    show_default=True, help="Output format.")
_explain = click.option("--explain", is_flag=True,
                        help="Show the formula with the numbers put in, step by step.")


@cli.command()
@_in
@_k
@click.option("--s", "--stride", "stride", type=Dims(), default="1", show_default=True,
              metavar="S", help="Stride.")
@click.option("--p", "--padding", "padding", type=Dims(("same", "valid")), default="0",
              show_default=True, metavar="P", help="Padding: an integer, AxB, 'same' or 'valid'.")
@_d
@click.option("--padding-mode", type=click.Choice(["zeros", "reflect", "replicate", "circular"]),
              default="zeros", show_default=True, help="How the padding is filled.")
@_fmt
@_explain
def conv(in_size, kernel_size, stride, padding, dilation, padding_mode, fmt, explain):
    """Output size of a convolution (torch.nn.Conv1d/2d/3d).

    \b
    convcalc conv --in 28 --k 5 --p 2
    convcalc conv --in 224x224 --k 7 --s 2 --p 3
    convcalc conv --in 32x32 --k 3 --p same --d 2
    """
    from convcalc.params import ConvParams
    from convcalc.shapes import conv_shape

    ndim, v = _resolve_dims(**{"in": in_size}, k=kernel_size, s=stride, p=padding, d=dilation)
    with _layer(f"Conv{ndim}d"), collecting() as assumptions:
        params = ConvParams.create(ndim, v["k"], v["s"], v["p"], v["d"], padding_mode)
        out = conv_shape(v["in"], params)
    payload = {
        "layer": f"Conv{ndim}d",
        "input": _sizes(v["in"]),
        "output": _sizes(out),
        "kernel_size": list(params.kernel_size),
        "stride": list(params.stride),
        "padding": [list(p) for p in params.padding],
        "dilation": list(params.dilation),
        "padding_mode": params.padding_mode.value,
    }
    _answer(fmt, explain, out, payload, lambda: _explainer("conv")(v["in"], params), assumptions)


@cli.command()
@_in
@_k
@click.option("--s", "--stride", "stride", type=Dims(), default="1", show_default=True,
              metavar="S", help="Stride.")
@click.option("--p", "--padding", "padding", type=Dims(("same", "valid")), default="0",
              show_default=True, metavar="P",
              help="Padding (removed from each side of the output).")
@_d
@click.option("--op", "--output-padding", "output_padding", type=Dims(), default="0",
              show_default=True, metavar="OP", help="Extra size added to one side of the output.")
@click.option("--output-size", type=Dims(), default=None, metavar="SIZE",
              help="Ask for this output size, as ConvTranspose's forward(output_size=) does.")
@_fmt
@_explain
def tconv(in_size, kernel_size, stride, padding, dilation, output_padding, output_size, fmt,
          explain):
    """Output size of a transposed convolution (torch.nn.ConvTranspose1d/2d/3d).

    \b
    convcalc tconv --in 512 --k 3 --s 2
    convcalc tconv --in 3 --k 3 --s 2 --p 1 --op 1
    convcalc tconv --in 16x16 --k 4 --s 2 --p 1 --output-size 32x32
    """
    from convcalc.params import TConvParams
    from convcalc.shapes import tconv_output_padding_for, tconv_shape, tconv_size_range

    ndim, v = _resolve_dims(**{"in": in_size}, k=kernel_size, s=stride, p=padding, d=dilation,
                            op=output_padding, output_size=output_size)
    if v["output_size"] is not None and any_symbolic(v["in"]):
        raise click.UsageError("--output-size needs a numeric --in")
    with _layer(f"ConvTranspose{ndim}d"), collecting() as assumptions:
        params = TConvParams.create(ndim, v["k"], v["s"], v["p"], v["d"], v["op"])
        if v["output_size"] is not None:
            op = tconv_output_padding_for(v["in"], v["output_size"], params)
            params = TConvParams.create(ndim, v["k"], v["s"], v["p"], v["d"], op)
        out = tconv_shape(v["in"], params)
    payload = {
        "layer": f"ConvTranspose{ndim}d",
        "input": _sizes(v["in"]),
        "output": _sizes(out),
        "kernel_size": list(params.kernel_size),
        "stride": list(params.stride),
        "padding": [[p, p] for p in params.padding],
        "dilation": list(params.dilation),
        "output_padding": list(params.output_padding),
    }
    if not any_symbolic(v["in"]):
        payload["output_size_range"] = [list(r) for r in tconv_size_range(v["in"], params)]
    _answer(fmt, explain, out, payload, lambda: _explainer("tconv")(v["in"], params), assumptions)


@cli.command()
@_in
@_k
@click.option("--s", "--stride", "stride", type=Dims(), default=None, metavar="S",
              help="Stride.  [default: the kernel size]")
@click.option("--p", "--padding", "padding", type=Dims(("same", "valid")), default="0",
              show_default=True, metavar="P", help="Padding on each side (at most kernel // 2).")
@click.option("--d", "--dilation", "dilation", type=Dims(), default=None, metavar="D",
              help="Dilation (max pooling only).  [default: 1]")
@click.option("--kind", type=click.Choice(["max", "avg"]), default="max", show_default=True,
              help="Max or average pooling.")
@click.option("--ceil", "--ceil-mode", "ceil_mode", is_flag=True,
              help="ceil_mode=True: round the window count up (the last window must start "
              "inside the input or the left padding).")
@_fmt
@_explain
def pool(in_size, kernel_size, stride, padding, dilation, kind, ceil_mode, fmt, explain):
    """Output size of max or average pooling (torch.nn.MaxPool/AvgPool 1d/2d/3d).

    \b
    convcalc pool --in 7 --k 3 --s 2 --ceil
    convcalc pool --in 112x112 --k 3 --s 2 --p 1
    convcalc pool --in 32x32 --k 2 --kind avg
    """
    from convcalc.params import PoolKind, PoolParams
    from convcalc.shapes import pool_shape

    if kind == "avg" and dilation is not None:
        raise click.UsageError("--d applies to max pooling only: torch.nn.AvgPool has no dilation")
    ndim, v = _resolve_dims(**{"in": in_size}, k=kernel_size, s=stride, p=padding,
                            d=dilation or (1,))
    with _layer(f"{kind.capitalize()}Pool{ndim}d"), collecting() as assumptions:
        params = PoolParams.create(ndim, v["k"], v["s"], v["p"], v["d"], ceil_mode, PoolKind(kind))
        out = pool_shape(v["in"], params)
    payload = {
        "layer": f"{kind.capitalize()}Pool{ndim}d",
        "input": _sizes(v["in"]),
        "output": _sizes(out),
        "kernel_size": list(params.kernel_size),
        "stride": list(params.stride),
        "padding": [[p, p] for p in params.padding],
        "dilation": list(params.dilation),
        "ceil_mode": params.ceil_mode,
    }
    _answer(fmt, explain, out, payload, lambda: _explainer("pool")(v["in"], params), assumptions)


def _explainer(name):
    from convcalc import explain

    return getattr(explain, f"explain_{name}")


def _sizes(values) -> list:
    from convcalc.symbolic import is_symbolic, pretty

    return [pretty(v) if is_symbolic(v) else v for v in values]


@contextlib.contextmanager
def collecting():
    """Assumptions made for symbolic sizes (sympy is imported only if a size is a symbol)."""
    from convcalc import symbolic

    with symbolic.collecting() as found:
        yield found


def any_symbolic(values) -> bool:
    from convcalc.symbolic import any_symbolic as check

    return check(values)


def _answer(fmt, explain, out, payload, explanation, assumptions=()) -> None:
    shown = _sizes(out)
    if any(isinstance(v, str) for v in shown) and len(shown) > 1:  # formulas: keep them apart
        lines = [" x ".join(v if isinstance(v, int) or v.isidentifier() else f"({v})" for v in shown)]
    else:
        lines = [_x(shown)]
    if assumptions:
        payload["assumptions"] = [text for text, _ in assumptions]
        lines += [f"assuming {text} ({why})" for text, why in assumptions]
    if explain:
        steps = explanation()
        payload["explain"] = steps
        lines += [""] + steps
    _emit(fmt, lines, payload)


# Networks ---------------------------------------------------------------------------

NET_FORMATS = ("table", "json", "jsonl", "markdown", "csv")


def _parse_shape(value: str | None):
    if value is None:
        return None
    from convcalc.symbolic import SYMBOL, is_symbolic, parse_size

    parts = [p.strip() for p in value.split(",")]
    if len(parts) == 1:
        parts = [p.strip() for p in value.split("x")]
    if not parts or not all(_NUMBER.fullmatch(p) or SYMBOL.fullmatch(p) for p in parts):
        raise click.BadParameter(
            f"{value!r} is not a shape: write the full tensor shape, e.g. 1,3,224,224 or 1,3,H,W",
            param_hint="'--input'",
        )
    shape = tuple(parse_size(p) for p in parts)
    if any(not is_symbolic(s) and (s < 0 or s > 2**63 - 1) for s in shape):
        raise click.BadParameter(f"{value!r}: sizes must be from 0 to 2**63 - 1", param_hint="'--input'")
    return shape


@cli.command()
@click.argument("spec", metavar="SPEC")
@click.option("--input", "input_shape", default=None, metavar="SHAPE",
              help="Override the spec's input shape, e.g. 1,3,224,224.")
@click.option("--depth", type=click.IntRange(min=0), default=None, metavar="N",
              help="Fold layers nested deeper than N into one row per block.")
@click.option("--format", "fmt", type=click.Choice(NET_FORMATS), default="table",
              show_default=True, help="Output format (jsonl: one line per YAML document).")
@click.option("--valid-inputs", "valid_inputs", default=None, metavar="A..B",
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
    from convcalc.netrun import run_net, run_valid_inputs

    shape = _parse_shape(input_shape)
    if valid_inputs is not None:
        sizes = Values().convert(valid_inputs, None, click.get_current_context())
        if fmt not in ("table", "json"):
            raise click.UsageError("--valid-inputs prints a table or json")
        if min(sizes) < 1:
            raise click.UsageError("--valid-inputs sizes must be >= 1")
        run_valid_inputs(spec, shape, range(min(sizes), max(sizes) + 1), fmt, _echo_net)
        return
    ok = run_net(spec, shape, depth, fmt, _echo_net)
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
    from convcalc import solve

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
    from convcalc.params import DIM_NAMES

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


class Values(click.ParamType):
    """``3``, ``1..11`` or ``3,5,7``: the allowed values of one solver parameter."""

    name = "VALUES"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        try:
            if ".." in text:
                lo, hi = (int(x) for x in text.split(".."))
                if hi - lo > 10_000:
                    self.fail(f"{value!r} is too wide a range (at most 10,000 values)", param, ctx)
                values = tuple(range(lo, hi + 1))
            else:
                values = tuple(int(x) for x in text.split(","))
        except ValueError:
            self.fail(f"{value!r} is not a value list: use 3, 1..11 or 3,5,7", param, ctx)
        if not values:
            self.fail(f"{value!r} is an empty range", param, ctx)
        return values


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
    from convcalc import solve as solver

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
    from convcalc.checkrun import run_check

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
    from convcalc import export as exporter
    from convcalc import spec as specs
    from convcalc.netrun import evaluate

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
    from convcalc import torch_backend
    from convcalc.importer import import_spec

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
