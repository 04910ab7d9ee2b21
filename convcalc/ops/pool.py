"""Pooling: max and average windows (with ceil_mode and indices), adaptive pooling,
LPPool, and MaxUnpool (the inverse of a max pool with indices)."""

from __future__ import annotations

from fractions import Fraction

from convcalc.engine import formulas, shapes
from convcalc.engine.params import PoolKind, PoolParams, fmt_dims
from convcalc.engine.symbolic import any_symbolic, unequal, violated
from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import (
    GLOBAL,
    LayerType,
    Scale,
    Step,
    Window,
    check_bool,
    drops_pixels,
    rank_error,
    signature,
    spatial_channel_dim,
)
from convcalc.ops.function import params


def _indices(b: dict, out) -> tuple:
    """MaxPool's ``return_indices=True``: a second output, the argmax indices (int64), of
    the output's shape."""
    if "return_indices" not in b:
        return ()
    check_bool(b, "return_indices")
    return (tuple(out),) if b["return_indices"] else ()


def pool_rule(nd: int, kind: PoolKind, name: str):
    def apply(b, shape):
        spatial_channel_dim(shape, nd, name)
        check_bool(b, "ceil_mode")
        if b.get("dilation", 1) is None:  # MaxPool: None is no default, torch refuses it
            raise ParamError("dilation must be an integer or a tuple of integers, got None")
        divisor = b.get("divisor_override")
        if divisor is not None and (isinstance(divisor, bool) or not isinstance(divisor, int) or divisor == 0):
            raise ParamError(f"divisor_override must be a non-zero integer or None, got {divisor!r}")
        params = PoolParams.create(
            nd, b["kernel_size"], b["stride"], b.get("padding", 0), b.get("dilation", 1),
            b["ceil_mode"], kind,
        )
        in_sp = shape[len(shape) - nd:]
        spatial = shapes.pool_shape(in_sp, params)
        k_eff = tuple(map(formulas.effective_kernel, params.kernel_size, params.dilation))
        out = (*shape[: len(shape) - nd], *spatial)
        return Step(
            out,
            rf=(Window(k_eff, params.stride, params.padding),),
            drops=drops_pixels(in_sp, spatial, params.stride),
            more=_indices(b, out),
        )

    return apply


def adaptive_rule(nd: int, name: str):
    def apply(b, shape):
        spatial_channel_dim(shape, nd, name)
        size = b["output_size"]
        if isinstance(size, list):
            size = tuple(size)
        in_sp = shape[len(shape) - nd:]
        spatial = shapes.adaptive_pool_shape(in_sp, size)
        out = (*shape[: len(shape) - nd], *spatial)
        return Step(out, rf=_adaptive_rf(in_sp, spatial), more=_indices(b, out))

    return apply


def _adaptive_rf(in_sp, out_sp):
    """Adaptive pooling's bins: exact windows when the sizes divide, else the largest bin."""
    if any_symbolic(in_sp) or any(o == 0 for o in out_sp):
        return GLOBAL
    kernels, strides = [], []
    for i, o in zip(in_sp, out_sp, strict=True):
        if i % o == 0:
            kernels.append(i // o)
            strides.append(i // o)
        else:
            # bin j spans [floor(j·i/o), ceil((j+1)·i/o)); the largest is at most ceil(i/o) + 1
            kernels.append(-(-i // o) + 1)
            strides.append(Fraction(i, o))
    return (Window(tuple(kernels), tuple(strides), (0,) * len(in_sp)),)


def _lppool_rule(nd: int, name: str):
    pool = pool_rule(nd, PoolKind.AVG, name)

    def apply(b, shape):
        if nd == 1 and isinstance(b["kernel_size"], (list, tuple)):
            raise ParamError(
                f"kernel_size must be an integer for LPPool1d, got {b['kernel_size']!r} "
                "(PyTorch multiplies by it and fails on a sequence)"
            )
        norm = b["norm_type"]
        if isinstance(norm, bool) or not isinstance(norm, (int, float)):
            raise ParamError(f"norm_type must be a number, got {norm!r}")
        return pool({**b, "padding": 0}, shape)

    return apply


def _unpool_ints(b: dict, name: str, nd: int) -> tuple:
    value = b[name]
    values = tuple(value) if isinstance(value, (list, tuple)) else (value,) * nd
    if len(values) != nd or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        raise ParamError(f"{name} must be an integer or {nd} integers, got {value!r}")
    return values


def _fails(condition, why: str) -> bool:
    return condition if isinstance(condition, bool) else violated(condition, why)


def _unpool_rule(nd: int):
    name = f"MaxUnpool{nd}d"

    def apply_call(b, shape, call):
        kernel = _unpool_ints(b, "kernel_size", nd)
        stride = kernel if b["stride"] is None else _unpool_ints(b, "stride", nd)
        padding = _unpool_ints(b, "padding", nd)
        if len(shape) not in (nd + 1, nd + 2):
            raise rank_error(name, shape, (nd + 1, nd + 2), " ((C, *spatial) or (N, C, *spatial))")
        indices = call["indices"]
        if len(indices) != len(shape) or any(
                violated(unequal(a, i), "MaxUnpool's indices have its input's shape")
                for a, i in zip(shape, indices)):
            raise ShapeError(f"indices must have the input's shape {list(shape)}, got {list(indices)}",
                             fix="pass the indices of the MaxPool whose output this is")
        for d, size in enumerate(shape[1:], 1):
            if not any_symbolic([size]) and size == 0:
                raise ShapeError(f"expected the input to have non-zero size for non-batch "
                                 f"dimensions, got {list(shape)} with dimension {d} empty")
        if nd == 3 and any(s <= 0 for s in stride):
            raise ParamError(f"stride must be greater than zero, got {fmt_dims(stride)}")
        in_sp = shape[len(shape) - nd:]
        default = [(i - 1) * s + k - 2 * p for i, s, k, p in zip(in_sp, stride, kernel, padding)]
        size = call["output_size"]
        if size is None:
            size = default
        else:
            if not isinstance(size, (list, tuple)):
                raise ParamError(f"output_size must be a sequence of {nd} or {nd + 2} sizes, got {size!r}")
            size = list(size)[2:] if len(size) == nd + 2 else list(size)
            if len(size) != nd:
                raise ParamError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                                 f"elements, got {len(call['output_size'])}")
            for d, (o, low, s) in enumerate(zip(size, default, stride)):
                if isinstance(o, bool) or not (isinstance(o, int) or any_symbolic([o])):
                    raise ParamError(f"output_size must hold integers, got {call['output_size']!r}")
                if _fails(o <= low - s, "MaxUnpool's output_size is in range") or _fails(
                        o >= low + s, "MaxUnpool's output_size is in range"):
                    raise ShapeError(
                        f"invalid output_size {fmt_dims(size)}: dim {d} must be strictly between "
                        f"{low - s} and {low + s} (the default is {low})",
                        fix="give the size of the MaxPool's input, or omit output_size")
        for d, o in enumerate(size):
            if _fails(o < 0, "MaxUnpool's output size is non-negative"):
                raise ShapeError(f"output sizes must be non-negative, got {fmt_dims(size)} "
                                 f"((in - 1)·stride - 2·padding + kernel_size = {default[d]} in dim {d})")
        rf = GLOBAL
        if all(s > 0 for s in stride) and all(k > 0 for k in kernel):
            rf = (Scale(stride), Window(kernel, (1,) * nd, tuple(k - 1 - p for k, p in zip(kernel, padding))))
        return Step((*shape[: len(shape) - nd], *size), rf=rf)

    def apply(b, shape):
        return apply_call(b, shape, {"indices": tuple(shape), "output_size": None})

    return apply, apply_call


def _unpool_family():
    for nd in (1, 2, 3):
        apply, apply_call = _unpool_rule(nd)
        ex_in = (1, 3, *([14] * nd if nd < 3 else [4] * 3))
        yield LayerType(
            f"MaxUnpool{nd}d",
            signature("kernel_size", ("stride", None), ("padding", 0)),
            apply, family="pooling",
            example=f"MaxUnpool{nd}d(2)", example_input=ex_in,
            example_forward=f"torch.zeros({', '.join(map(str, ex_in))}, dtype=torch.long)",
            summary=("kernel_size", "stride", "padding"),
            forward=params("indices:tensor", ("output_size", None)), apply_call=apply_call,
            doc=f"The inverse of MaxPool{nd}d: `MaxUnpool{nd}d(2)(y, indices)`, or with `output_size=` "
            "(N, C and the spatial sizes, or the spatial sizes alone; each strictly within "
            "stride of the default). Output: (in - 1)·stride - 2·padding + kernel_size per "
            "dim. indices must have the input's shape; their values are not checked: after a "
            "MaxPool that did not divide its input exactly, pass `output_size=` that input's "
            "size, or torch may find an index out of range.",
        )


def _pool_family():
    for nd in (1, 2, 3):
        ex_in = (1, 3, *([28] * nd if nd < 3 else [8] * 3))
        yield LayerType(
            f"MaxPool{nd}d",
            signature("kernel_size", ("stride", None), ("padding", 0), ("dilation", 1),
                      ("return_indices", False), ("ceil_mode", False)),
            pool_rule(nd, PoolKind.MAX, f"MaxPool{nd}d"),
            family="pooling",
            example=f"MaxPool{nd}d(3, stride=2, padding=1, ceil_mode=True)",
            example_input=ex_in,
            summary=("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
            doc="Max pooling; stride defaults to kernel_size; padding at most kernel_size // 2. "
            "return_indices=True adds a second output, the indices (int64, the same shape): "
            f"`y, indices = MaxPool{nd}d(2, return_indices=True)(x)`.",
        )
        avg_sig = ["kernel_size", ("stride", None), ("padding", 0), ("ceil_mode", False),
                   ("count_include_pad", True)]
        if nd > 1:
            avg_sig.append(("divisor_override", None))
        yield LayerType(
            f"AvgPool{nd}d",
            signature(*avg_sig),
            pool_rule(nd, PoolKind.AVG, f"AvgPool{nd}d"),
            family="pooling",
            example=f"AvgPool{nd}d(3, stride=2, padding=1, ceil_mode=True)",
            example_input=ex_in,
            summary=("kernel_size", "stride", "padding", "ceil_mode"),
            doc="Average pooling (no dilation)."
            + (" AvgPool3d also needs the unpadded input to be at least the kernel." if nd == 3 else ""),
        )
        yield LayerType(
            f"LPPool{nd}d",
            signature("norm_type", "kernel_size", ("stride", None), ("ceil_mode", False)),
            _lppool_rule(nd, f"LPPool{nd}d"),
            family="pooling",
            example=f"LPPool{nd}d(2, 3, stride=2)",
            example_input=ex_in,
            summary=("norm_type", "kernel_size", "stride", "ceil_mode"),
            doc="Power-average pooling: average pooling's shape rules, no padding.",
        )
        for kind in ("Avg", "Max"):
            sig = ["output_size"] + ([("return_indices", False)] if kind == "Max" else [])
            yield LayerType(
                f"Adaptive{kind}Pool{nd}d",
                signature(*sig),
                adaptive_rule(nd, f"Adaptive{kind}Pool{nd}d"),
                family="pooling",
                example=f"Adaptive{kind}Pool{nd}d({', '.join(['5'] * nd) if nd == 1 else '(' + ', '.join(['5'] * nd) + ')'})",
                example_input=ex_in,
                summary=("output_size",),
                doc="Output size as given (None elements keep the input size, 2-d/3-d only); "
                "may exceed the input; 0 gives an empty tensor."
                + (" return_indices=True adds a second output, the indices." if kind == "Max" else ""),
            )



LAYERS = [*_pool_family(), *_unpool_family()]
