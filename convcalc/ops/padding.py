"""Padding layers: Zero/Constant/Reflection/Replication/CircularPad 1d/2d/3d."""

from __future__ import annotations

from convcalc.errors import ParamError, ShapeError
from convcalc.ops.base import Kind, LayerType, Step, Window, as_list, rank_error, signature
from convcalc.engine.params import fmt_dims
from convcalc.engine.symbolic import any_symbolic, violated


def pad_rule(nd, mode, name):
    def apply(b, shape):
        pad = b["padding"]
        pads = [pad] * (2 * nd) if isinstance(pad, int) and not isinstance(pad, bool) else as_list(pad)
        if len(pads) != 2 * nd or any(isinstance(p, bool) or not isinstance(p, int) for p in pads):
            raise ParamError(
                f"padding must be an integer or {2 * nd} integers (left, right"
                + (", top, bottom" if nd > 1 else "") + (", front, back" if nd > 2 else "")
                + f"), got {pad!r}"
            )
        ranks = (nd + 1, nd + 2)
        if len(shape) not in ranks and not (mode == "constant" and len(shape) >= nd):
            raise rank_error(name, shape, ranks)
        # pads run from the last dimension backwards: (left, right, top, bottom, ...)
        pairs = [(pads[2 * i], pads[2 * i + 1]) for i in range(nd)][::-1]
        in_sp = shape[len(shape) - nd:]
        out_sp = tuple(i + lo + hi for i, (lo, hi) in zip(in_sp, pairs, strict=True))
        if mode == "reflect" and any(violated(max(lo, hi) >= i, "reflection padding smaller than the input")
                                     for i, (lo, hi) in zip(in_sp, pairs)):
            raise ShapeError(
                f"reflection padding {pads} must be smaller than the input {fmt_dims(in_sp)}",
                fix="use ReplicationPad, or less padding",
            )
        if mode == "circular" and any(violated(max(lo, hi) > i, "circular padding at most the input")
                                      for i, (lo, hi) in zip(in_sp, pairs)):
            raise ShapeError(
                f"circular padding {pads} wraps around the input {fmt_dims(in_sp)} more than once"
            )
        note = None
        if mode == "circular" and not any_symbolic(in_sp) and not all(
            _circular_copies_ok(i, lo, hi) for i, (lo, hi) in zip(in_sp, pairs)
        ):
            # PyTorch's copies overlap: it raises "unsupported operation" or not depending on
            # the tensor's memory layout (seen with 2.13: 1 channel raises, 3 do not).
            note = (f"circular padding {pads} crops and wraps with overlapping copies; "
                    "PyTorch may raise 'unsupported operation' depending on memory layout")
        # constant padding narrows (crops) first, then pads; reflection and replication
        # check "some output size >= 1" (an or over the dimensions, as ATen writes it)
        cropped = tuple(i + min(lo, 0) + min(hi, 0) for i, (lo, hi) in zip(in_sp, pairs))
        empty = mode in ("reflect", "replicate") and all(violated(o < 1, "padding output not empty") for o in out_sp)
        if (any(violated(o < 0, "padding output size >= 0") for o in out_sp) or empty
                or (mode == "constant" and any(violated(c < 0, "cropping fits the input") for c in cropped))):
            raise ShapeError(
                f"padding {pads} crops the input {fmt_dims(in_sp)} to {fmt_dims(out_sp)}",
                fix="use less negative padding",
            )
        window = Window((1,) * nd, (1,) * nd, tuple(lo for lo, _ in pairs))
        return Step((*shape[: len(shape) - nd], *out_sp), rf=(window,), note=note)

    return apply


def _aten_slice(n: int, start: int, end: int) -> tuple[int, int]:
    """ATen's Tensor.slice bounds: negative indices wrap once, then clamp to [0, n]."""
    start, end = start + n if start < 0 else start, end + n if end < 0 else end
    start = min(max(start, 0), n)
    return start, min(max(end, start), n)


def _copy_ok(dest, src, same_tensor: bool) -> bool:
    """``dest.copy_(src)`` along one dimension: broadcastable lengths and, within one
    tensor, no partial overlap."""
    dl, sl = dest[1] - dest[0], src[1] - src[0]
    if sl != dl and sl != 1:
        return False
    overlap = max(dest[0], src[0]) < min(dest[1], src[1])
    return not (same_tensor and overlap and dest != src)


def _circular_copies_ok(i: int, lo: int, hi: int) -> bool:
    """Replays ATen's _pad_circular slices for one dimension (negative pads crop first)."""
    size = i + lo + hi
    center = _copy_ok(_aten_slice(size, max(lo, 0), size - max(hi, 0)),
                      _aten_slice(i, max(-lo, 0), i - max(-hi, 0)), False)
    left = lo <= 0 or _copy_ok(_aten_slice(size, 0, lo),
                               _aten_slice(size, size - max(hi, 0) - lo, size - max(hi, 0)), True)
    right = hi <= 0 or _copy_ok(_aten_slice(size, size - hi, size),
                                _aten_slice(size, max(lo, 0), max(lo, 0) + hi), True)
    return center and left and right


def _padding_family():
    modes = {"Zero": "constant", "Constant": "constant", "Reflection": "reflect",
             "Replication": "replicate", "Circular": "circular"}
    for prefix, mode in modes.items():
        for nd in (1, 2, 3):
            name = f"{prefix}Pad{nd}d"
            sig = ("padding", "value") if prefix == "Constant" else ("padding",)
            ex_in = (1, 3, *([8] * nd))
            yield LayerType(
                name,
                signature(*sig),
                pad_rule(nd, mode, name),
                family="padding",
                example=f"{name}({', '.join(['(1, 2' + ', 0, 1' * (nd - 1) + ')'] + (['0.5'] if prefix == 'Constant' else []))})",
                example_input=ex_in,
                summary=("padding",),
                kinds={"value": Kind("number", optional=True)},  # None pads with 0, as in F.pad
                doc=f"Pads the last {nd} dimension(s) by (left, right"
                + (", top, bottom" if nd > 1 else "") + (", front, back" if nd > 2 else "")
                + "); negative padding crops.",
            )


LAYERS = [*_padding_family()]
