"""The ``convcalc`` command line: parse, one library call, render.

Errors are translated in one place (``ConvcalcGroup.main``): a domain error exits 1, flag
misuse exits 2, each as one line on standard error; nothing ever prints a traceback.
Start-up matters: only click and the standard library are imported here; each command
imports what it needs when it runs.
"""

from __future__ import annotations

import contextlib
import json
import sys

import click

from convcalc.cli.types import Dims, fmt_x as _x, resolve_dims as _resolve_dims
from convcalc.errors import ConvcalcError

FORMATS = ("text", "json")


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
    convcalc conv --in 28x28 --k 5 --p 2          Conv output size
    convcalc tconv --in 512 --k 3 --s 2           transposed conv
    convcalc pool --in 7 --k 3 --s 2 --ceil       max/avg pooling
    convcalc net zoo:lenet                        every layer of a network
    convcalc solve-padding --in 224 --k 3 --s 2   the padding for 'same'
    convcalc conv --in H --k 3 --s 2 --p 1        sizes as formulas
    convcalc check zoo:tv-resnet50                the engine against real torch
    """


@contextlib.contextmanager
def _layer(name: str):
    """Attribute domain errors raised inside to the layer ``name``."""
    try:
        yield
    except ConvcalcError as e:
        raise e.with_layer(name) from None


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
    from convcalc.engine.params import ConvParams
    from convcalc.engine.shapes import conv_shape

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
    from convcalc.engine.params import TConvParams
    from convcalc.engine.shapes import tconv_output_padding_for, tconv_shape, tconv_size_range

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
    from convcalc.engine.params import PoolKind, PoolParams
    from convcalc.engine.shapes import pool_shape

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
    from convcalc.engine import explain

    return getattr(explain, f"explain_{name}")


def _sizes(values) -> list:
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


def _answer(fmt, explain, out, payload, explanation, assumptions=()) -> None:
    shown = _sizes(out)
    if any(isinstance(v, str) for v in shown) and len(shown) > 1:  # formulas: keep them apart
        lines = [" x ".join(str(v) if isinstance(v, int) or v.isidentifier() else f"({v})" for v in shown)]
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


# The other commands register themselves on the group.
from convcalc.cli import commands as cli_commands
