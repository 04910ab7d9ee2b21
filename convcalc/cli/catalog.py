"""``convcalc layers``: every registered layer and function, or one of them in full.

A signature comes from the registry (torch's names, order and defaults); the formula and
the refusals are written per family, in the words of docs/formulas.md, and the engine's
checks are what enforce them (tests/test_torch_oracle.py checks both against torch).
"""

from __future__ import annotations

import difflib
import re

from convcalc.errors import SpecError
from convcalc.ops import FUNCTIONS, REGISTRY, REQUIRED
from convcalc.ops.function import VARARGS
from convcalc.spec.expr import strip_prefix

_WINDOW = "kernel_size, stride or dilation below 1; negative padding"
_POOL_ROUNDING = "then out − 1 if (out − 1)·s ≥ in + p (the last window may not start in the right padding)"

# Output size per spatial dimension (or the shape rule), by kind
FORMULAS = {
    "conv": ("out = ⌊(in + 2p − d·(k − 1) − 1) / s⌋ + 1",
             "padding='same' (stride 1 only): total = d·(k − 1), lo = total // 2, hi = total − lo; "
             "'valid' is 0"),
    "tconv": ("out = (in − 1)·s − 2p + d·(k − 1) + output_padding + 1",
              "forward(x, output_size=...) accepts min to min + s − 1 (min: output_padding 0)"),
    "maxpool": ("out = ⌊(in + 2p − d·(k − 1) − 1) / s⌋ + 1",
                "ceil_mode=True: out = ⌊(in + 2p − d·(k − 1) − 1 + (s − 1)) / s⌋ + 1, " + _POOL_ROUNDING,
                "stride defaults to kernel_size"),
    "avgpool": ("out = ⌊(in + 2p − k) / s⌋ + 1",
                "ceil_mode=True: out = ⌊(in + 2p − k + (s − 1)) / s⌋ + 1, " + _POOL_ROUNDING,
                "stride defaults to kernel_size"),
    "lppool": ("out = ⌊(in − k) / s⌋ + 1  (no padding)",
               "ceil_mode=True: out = ⌊(in − k + (s − 1)) / s⌋ + 1, then out − 1 if (out − 1)·s ≥ in",
               "stride defaults to kernel_size"),
    "adaptive": ("out = output_size  (a None element keeps that input size)",),
    "unpool": ("out = (in − 1)·s − 2p + k  (or forward's output_size, strictly within s of it)",),
    "upsample": ("out = size, or ⌊in × scale_factor⌋ computed in float64",),
    "unfold": ("(N, C, H, W) -> (N, C·∏k, L), L = ∏ over H, W of (⌊(in + 2p − d·(k − 1) − 1) / s⌋ + 1)",),
    "fold": ("(N, C·∏k, L) -> (N, C, *output_size), L = ∏ over output_size of "
             "(⌊(out + 2p − d·(k − 1) − 1) / s⌋ + 1)",),
    "linear": ("(*, in_features) -> (*, out_features)",),
    "flatten": ("(*, d_start, …, d_end, *) -> (*, d_start·…·d_end, *)",),
    "pixel_shuffle": ("(*, C·r², H, W) -> (*, C, H·r, W·r)",),
    "pixel_unshuffle": ("(*, C, H·r, W·r) -> (*, C·r², H, W)",),
}

# What PyTorch refuses, by kind (the engine refuses the same, in one line)
REFUSALS = {
    "conv": ("kernel_size, stride or dilation below 1; negative padding with padding_mode='zeros' "
             "(the other modes crop)",
             "in_channels or out_channels not divisible by groups",
             "an input whose channels differ from in_channels, or that is not (C, *spatial) or "
             "(N, C, *spatial)",
             "a padded input smaller than the dilated kernel, in + 2p < d·(k − 1) + 1; an empty input",
             "padding='same' with a stride other than 1",
             "padding_mode='reflect' with padding ≥ the input; 'circular' with padding > the input"),
    "tconv": (_WINDOW + " or output_padding",
              "output_padding not smaller than the stride or the dilation (op < s or op < d)",
              "in_channels or out_channels not divisible by groups",
              "a padding_mode other than 'zeros'; a string padding ('same', 'valid')",
              "an output size below 1"),
    "maxpool": (_WINDOW, "padding above half the kernel, p > k // 2",
                "an output size below 1; an empty input"),
    "avgpool": ("kernel_size or stride below 1; negative padding",
                "padding above half the kernel, p > k // 2",
                "an output size below 1; an empty input",
                "AvgPool3d: an unpadded input smaller than the kernel, even when padding would fit it"),
    "lppool": ("kernel_size or stride below 1", "an output size below 1"),
    "adaptive": ("negative output sizes",
                 "None as the whole output_size, or in a 1-d one"),
    "unpool": ("indices of another shape than the input",
               "an output_size not strictly within stride of (in − 1)·s − 2p + k; a negative output"),
    "upsample": ("both or neither of size and scale_factor",
                 "align_corners with 'nearest', 'nearest-exact' or 'area'",
                 "an input rank the mode does not take (linear 3-d, bilinear/bicubic 4-d, trilinear 5-d)",
                 "size or scale_factor with another count than the spatial dims; an output below 1"),
    "linear": ("an input whose last size differs from in_features", "negative features"),
    "norm": ("an input of the wrong rank, or whose channels differ from num_features "
             "(InstanceNorm only when affine=True)",
             "BatchNorm in training with one value per channel (eval is fine: convcalc notes it)",
             "LayerNorm: a normalized_shape that is not the input's trailing sizes",
             "GroupNorm: num_channels not divisible by num_groups; one value per group"),
    "padding": ("padding that is not one integer or two per spatial dim",
                "ReflectionPad: padding ≥ the input; CircularPad: padding > the input",
                "negative padding that crops the input below 0 (reflect/replicate: below 1)"),
    "dropout": ("p outside [0, 1]",),
    "flatten": ("a dim out of range; start_dim after end_dim",),
    "unflatten": ("unflattened_size whose product is not the dim's size; more than one −1",),
    "pixel_shuffle": ("channels not divisible by upscale_factor²",),
    "pixel_unshuffle": ("height or width not divisible by downscale_factor",),
    "channel_shuffle": ("channels not divisible by groups",),
    "activation": ("a dim out of range (Softmax, LogSoftmax, GLU)", "GLU: an odd size along dim",
                   "PReLU: num_parameters neither 1 nor the channels"),
}

# (pattern over the name, formula kind, refusal kind): the first match wins
KINDS = (
    (r"Conv[123]d", "conv", "conv"),
    (r"ConvTranspose[123]d", "tconv", "tconv"),
    (r"MaxPool[123]d|max_pool[123]d", "maxpool", "maxpool"),
    (r"AvgPool[123]d|avg_pool[123]d", "avgpool", "avgpool"),
    (r"LPPool[123]d", "lppool", "lppool"),
    (r"Adaptive(Avg|Max)Pool[123]d|adaptive_(avg|max)_pool[123]d", "adaptive", "adaptive"),
    (r"MaxUnpool[123]d", "unpool", "unpool"),
    (r"Upsample|UpsamplingNearest2d|UpsamplingBilinear2d|interpolate", "upsample", "upsample"),
    (r"Unfold", "unfold", None),
    (r"Fold", "fold", None),
    (r"Linear|linear", "linear", "linear"),
    (r"(Batch|Instance)Norm[123]d|LayerNorm|GroupNorm|layer_norm", None, "norm"),
    (r"(Zero|Constant|Reflection|Replication|Circular)Pad[123]d|pad", None, "padding"),
    (r"(Alpha|FeatureAlpha)?Dropout([123]d)?|dropout", None, "dropout"),
    (r"Flatten|flatten", "flatten", "flatten"),
    (r"Unflatten|unflatten", None, "unflatten"),
    (r"PixelShuffle|pixel_shuffle", "pixel_shuffle", "pixel_shuffle"),
    (r"PixelUnshuffle|pixel_unshuffle", "pixel_unshuffle", "pixel_unshuffle"),
    (r"ChannelShuffle", None, "channel_shuffle"),
    (r"Softmax|Softmin|LogSoftmax|GLU|PReLU", None, "activation"),
)


def entries() -> list[dict]:
    """Every layer, then every function, in the registry's (the docs') order: name, kind,
    family, signature and doc."""
    return [_brief(n, "layer", e) for n, e in REGISTRY.items()] + \
        [_brief(n, "function", e) for n, e in FUNCTIONS.items()]


def _brief(name: str, kind: str, entry) -> dict:
    signature = layer_signature(entry) if kind == "layer" else function_signature(entry)
    return {"name": name, "kind": kind, "family": entry.family, "signature": signature,
            "doc": entry.doc}


def find(name: str) -> dict:
    """One layer or function by name (``nn.``/``F.``/``torch.`` prefixes dropped); an unknown
    name gets the closest one as a suggestion."""
    bare = strip_prefix(name.strip())
    if bare in REGISTRY:
        return _entry(bare, "layer", REGISTRY[bare])
    if bare in FUNCTIONS:
        return _entry(bare, "function", FUNCTIONS[bare])
    known = [*REGISTRY, *FUNCTIONS]
    # Conv2D means the layer Conv2d, conv2D the function conv2d: the same case first wins
    folded = {k.lower(): k for k in sorted(known, key=lambda k: k[:1].isupper() == bare[:1].isupper())}
    hint = folded.get(bare.lower()) or next(iter(difflib.get_close_matches(bare, known, n=1, cutoff=0.6)), None)
    raise SpecError(f"unknown layer or function {name!r}",
                    fix=f"did you mean {hint}?" if hint else "convcalc layers lists them")


def _entry(name: str, kind: str, entry) -> dict:
    formula, refusals = kinds_of(name)
    out = {
        **_brief(name, kind, entry),
        "formula": list(FORMULAS.get(formula, ())),
        "refusals": list(REFUSALS.get(refusals, ())),
    }
    if kind == "layer":
        out["inferred"] = [i.arg for i in entry.infer]
        out["example"] = {"call": entry.example, "input": list(entry.example_input)}
        out["try"] = None if entry.forward else _try(entry.example, entry.example_input)
    else:
        out["method"] = entry.method
        examples = [{"call": c, "inputs": [list(s) for s in shapes]} for c, shapes in entry.examples]
        out["examples"] = examples
        # the examples include refusals (tested against torch): try one the engine accepts
        single = next((e for e in examples if len(e["inputs"]) == 1 and _runs(e["call"], e["inputs"][0])),
                      None)
        out["try"] = single and _try(single["call"], single["inputs"][0])
    return out


def _runs(call: str, shape) -> bool:
    from convcalc.cli.layerrun import one_item_spec
    from convcalc.errors import ConvcalcError
    from convcalc.graph.run import analyse

    try:
        analyse(one_item_spec(call)[0], tuple(shape))
    except ConvcalcError:
        return False
    return True


def _try(call: str, shape) -> str:
    """The ``convcalc layer`` command that runs an example, quoted for a shell."""
    import shlex

    quoted = f'"{call}"' if not set(call) & set('"$`\\!') else shlex.quote(call)
    shape = ",".join(map(str, shape))
    if call.startswith("-"):  # -x: not an option
        return f"convcalc layer --input {shape} -- {quoted}"
    return f"convcalc layer {quoted} --input {shape}"


def kinds_of(name: str) -> tuple:
    for pattern, formula, refusals in KINDS:
        if re.fullmatch(pattern, name):
            return formula, refusals
    return None, None


def layer_signature(layer) -> str:
    if layer.varargs:
        return f"{layer.name}(*args, **kwargs)"
    parts = []
    for n, (name, default) in enumerate(layer.signature):
        if n == layer.positional:
            parts.append("*")
        parts.append(name if default is REQUIRED else f"{name}={default!r}")
    return f"{layer.name}({', '.join(parts)})"


def function_signature(function) -> str:
    parts, starred = [], False
    for param in function.signature:
        if param.kind == VARARGS:
            parts.append(f"*{param.name}")
            starred = True
            continue
        if param.keyword_only and not starred:
            parts.append("*")
            starred = True
        parts.append(param.name if param.default is REQUIRED else f"{param.name}={param.default!r}")
    return f"{function.name}({', '.join(parts)})"


def detail_lines(entry: dict) -> list[str]:
    """``convcalc layers NAME``: the signature, what it does, formula, refusals, a try."""
    what = "a torch.nn layer" if entry["kind"] == "layer" else "a torch function"
    if entry["kind"] == "function" and entry["method"]:
        what += f" (also a tensor method, x.{entry['name']}(...))"
    if entry["family"] == "torchvision":
        what = f"a torchvision {entry['kind']}"
    lines = [entry["signature"], f"{what}; family: {entry['family']}", "", entry["doc"]]
    if entry.get("inferred"):
        lines.append(f"Inferred from the input when omitted: {', '.join(entry['inferred'])}.")
    if entry["formula"]:
        lines += ["", "Output size, per spatial dimension (docs/formulas.md):" if entry["formula"][0].startswith("out")
                  else "Shape (docs/formulas.md):"]
        lines += [f"  {f}" for f in entry["formula"]]
    if entry["refusals"]:
        lines += ["", "PyTorch refuses (and so does convcalc):"]
        lines += [f"  - {r}" for r in entry["refusals"]]
    if entry["try"]:
        lines += ["", f"Try: {entry['try']}"]
    return lines
