"""The single-layer commands: conv, tconv and pool."""

from __future__ import annotations

import click

from convcalc.cli.options import (
    Command,
    answer,
    any_symbolic,
    collecting,
    d_option,
    explain_option,
    format_option,
    in_option,
    k_option,
    layer_errors,
    shown_sizes,
)
from convcalc.cli.types import Dims, resolve_dims

_CHANNEL_OPTIONS = (  # conv and tconv: params and MACs when the channels are given
    click.option("--in-channels", type=int, default=None, metavar="C",
                 help="Input channels: with --out-channels, show params and MACs."),
    click.option("--out-channels", type=int, default=None, metavar="C", help="Output channels."),
    click.option("--groups", type=int, default=None, metavar="G",
                 help="Groups (must divide both channel counts).  [default: 1]"),
    click.option("--bias/--no-bias", default=None, help="A bias per output channel.  [default: bias]"),
)


def channel_options(f):
    for option in reversed(_CHANNEL_OPTIONS):
        f = option(f)
    return f


@click.command(cls=Command)
@in_option
@k_option
@click.option("--s", "--stride", "stride", type=Dims(), default="1", show_default=True,
              metavar="S", help="Stride.")
@click.option("--p", "--padding", "padding", type=Dims(("same", "valid")), default="0",
              show_default=True, metavar="P", help="Padding: an integer, AxB, 'same' or 'valid'.")
@d_option
@click.option("--padding-mode", type=click.Choice(["zeros", "reflect", "replicate", "circular"]),
              default="zeros", show_default=True, help="How the padding is filled.")
@channel_options
@format_option
@explain_option
def conv(in_size, kernel_size, stride, padding, dilation, padding_mode, in_channels, out_channels,
         groups, bias, fmt, explain):
    """Output size of a convolution (torch.nn.Conv1d/2d/3d).

    With --in-channels and --out-channels, also its parameters and MACs (one sample).

    \b
    convcalc conv --in 28 --k 5 --p 2
    convcalc conv --in 224x224 --k 7 --s 2 --p 3
    convcalc conv --in 32x32 --k 3 --p same --d 2
    convcalc conv --in 224x224 --k 7 --s 2 --p 3 --in-channels 3 --out-channels 64 --no-bias
    """
    from convcalc.engine.params import ConvParams
    from convcalc.engine.shapes import conv_shape

    channels = _channels(in_channels, out_channels, groups, bias)
    ndim, v = resolve_dims(**{"in": in_size}, k=kernel_size, s=stride, p=padding, d=dilation)
    with layer_errors(f"Conv{ndim}d"), collecting(v["in"]) as assumptions:
        params = ConvParams.create(ndim, v["k"], v["s"], v["p"], v["d"], padding_mode)
        out = conv_shape(v["in"], params)
        weights = _weights(f"Conv{ndim}d", v["in"], channels, kernel_size=v["k"], stride=v["s"],
                           padding=v["p"], dilation=v["d"], padding_mode=padding_mode)
    payload = _payload(f"Conv{ndim}d", v["in"], out, params, [list(p) for p in params.padding],
                       padding_mode=params.padding_mode.value)
    answer(fmt, explain, out, payload, lambda: _explainer("conv")(v["in"], params), assumptions,
           _weight_lines(payload, channels, weights))


@click.command(cls=Command)
@in_option
@k_option
@click.option("--s", "--stride", "stride", type=Dims(), default="1", show_default=True,
              metavar="S", help="Stride.")
@click.option("--p", "--padding", "padding", type=Dims(("same", "valid")), default="0",
              show_default=True, metavar="P",
              help="Padding (removed from each side of the output).")
@d_option
@click.option("--op", "--output-padding", "output_padding", type=Dims(), default="0",
              show_default=True, metavar="OP", help="Extra size added to one side of the output.")
@click.option("--output-size", type=Dims(), default=None, metavar="SIZE",
              help="Ask for this output size, as ConvTranspose's forward(output_size=) does.")
@channel_options
@format_option
@explain_option
def tconv(in_size, kernel_size, stride, padding, dilation, output_padding, output_size,
          in_channels, out_channels, groups, bias, fmt, explain):
    """Output size of a transposed convolution (torch.nn.ConvTranspose1d/2d/3d).

    With --in-channels and --out-channels, also its parameters and MACs (one sample).

    \b
    convcalc tconv --in 512 --k 3 --s 2
    convcalc tconv --in 3 --k 3 --s 2 --p 1 --op 1
    convcalc tconv --in 16x16 --k 4 --s 2 --p 1 --output-size 32x32
    """
    from convcalc.engine.params import TConvParams
    from convcalc.engine.shapes import tconv_output_padding_for, tconv_shape, tconv_size_range

    channels = _channels(in_channels, out_channels, groups, bias)
    ndim, v = resolve_dims(**{"in": in_size}, k=kernel_size, s=stride, p=padding, d=dilation,
                            op=output_padding, output_size=output_size)
    if v["output_size"] is not None and any_symbolic(v["in"]):
        raise click.UsageError("--output-size needs a numeric --in")
    with layer_errors(f"ConvTranspose{ndim}d"), collecting(v["in"]) as assumptions:
        params = TConvParams.create(ndim, v["k"], v["s"], v["p"], v["d"], v["op"])
        if v["output_size"] is not None:
            op = tconv_output_padding_for(v["in"], v["output_size"], params)
            params = TConvParams.create(ndim, v["k"], v["s"], v["p"], v["d"], op)
        out = tconv_shape(v["in"], params)
        weights = _weights(f"ConvTranspose{ndim}d", v["in"], channels,
                           kernel_size=params.kernel_size, stride=params.stride,
                           padding=params.padding, dilation=params.dilation,
                           output_padding=params.output_padding)
    payload = _payload(f"ConvTranspose{ndim}d", v["in"], out, params,
                       [[p, p] for p in params.padding],
                       output_padding=list(params.output_padding))
    if not any_symbolic(v["in"]):
        payload["output_size_range"] = [list(r) for r in tconv_size_range(v["in"], params)]
    answer(fmt, explain, out, payload, lambda: _explainer("tconv")(v["in"], params), assumptions,
           _weight_lines(payload, channels, weights))


@click.command(cls=Command)
@in_option
@k_option
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
@format_option
@explain_option
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
    ndim, v = resolve_dims(**{"in": in_size}, k=kernel_size, s=stride, p=padding,
                            d=dilation or (1,))
    with layer_errors(f"{kind.capitalize()}Pool{ndim}d"), collecting(v["in"]) as assumptions:
        params = PoolParams.create(ndim, v["k"], v["s"], v["p"], v["d"], ceil_mode, PoolKind(kind))
        out = pool_shape(v["in"], params)
    payload = _payload(f"{kind.capitalize()}Pool{ndim}d", v["in"], out, params,
                       [[p, p] for p in params.padding], ceil_mode=params.ceil_mode)
    answer(fmt, explain, out, payload, lambda: _explainer("pool")(v["in"], params), assumptions)


def _payload(layer, in_size, out, params, padding, **extra) -> dict:
    """The JSON of a single-layer answer: sizes and the normalised per-dim parameters."""
    return {
        "layer": layer,
        "input": shown_sizes(in_size),
        "output": shown_sizes(out),
        "kernel_size": list(params.kernel_size),
        "stride": list(params.stride),
        "padding": padding,
        "dilation": list(params.dilation),
        **extra,
    }


def _channels(in_channels, out_channels, groups, bias) -> dict | None:
    """The channel options, or None when none is given (no params or MACs then)."""
    if in_channels is None and out_channels is None:
        if groups is not None or bias is not None:
            raise click.UsageError("--groups and --bias/--no-bias need --in-channels and --out-channels")
        return None
    if in_channels is None or out_channels is None:
        raise click.UsageError("give both --in-channels and --out-channels: parameters and MACs need both")
    return {"in_channels": in_channels, "out_channels": out_channels,
            "groups": 1 if groups is None else groups, "bias": True if bias is None else bias}


def _weights(layer: str, in_sizes, channels, **arguments) -> dict | None:
    """Params and MACs of one sample, by the registry's rule for ``layer`` (its checks, groups
    dividing both channel counts among them, are the engine's)."""
    if channels is None:
        return None
    from convcalc.ops import REGISTRY

    rule = REGISTRY[layer]
    shape = (channels["in_channels"], *in_sizes)  # unbatched: (C, *spatial)
    step = rule.apply(rule.bind([], {**arguments, **channels}, shape), shape)
    return {"params": step.params, "macs": step.macs}


def _weight_lines(payload: dict, channels, weights) -> list[str]:
    if channels is None:
        return []
    payload.update(channels)
    payload.update({k: shown_sizes([v])[0] for k, v in weights.items()})
    return [f"params: {_count(payload['params'])}", f"MACs: {_count(payload['macs'])}"]


def _count(value) -> str:
    """``118,013,952 (118M)``: exact, and from 1000 up in net's human units."""
    if not isinstance(value, int):
        return str(value)
    if abs(value) < 1000:
        return f"{value:,}"
    from convcalc.render.columns import human

    return f"{value:,} ({human(value)})"


def _explainer(name):
    from convcalc.engine import explain

    return getattr(explain, f"explain_{name}")
