"""Argument types as PyTorch checks them, for every registered function: in a valid example
of each function (the registry's own, run by tests/test_functions_torch.py), each
non-tensor argument is replaced by wrong-typed values (a string, a bool, a float, None, a
list; an argument the example leaves out is added as a keyword), and torch, running the
call, is the oracle. Where torch refuses, convcalc refuses; where both accept, the output
shapes agree; where torch accepts only by coercion (``if inplace:`` takes the string
'false' as true, True as 1), convcalc refuses on purpose: the deliberate differences
listed below and in docs/formulas.md. A function added later is held to the same."""

import ast
import warnings

import pytest

from conftest import requires_torch
from convcalc.errors import ConvcalcError
from convcalc.ops import FUNCTIONS
from convcalc.ops.function import VALUE, VARARGS
from helpers import report_of

pytestmark = requires_torch
torch = pytest.importorskip("torch")

from test_functions_torch import spec_text, torch_shapes  # noqa: E402

PROBES = ("2", "fast", "false", None, True, 2.5, 1, [1])  # strings are str values, not expressions
REFUSED = "refused"
MODULES = {"torch", "F", "torchvision"}


def target(call: str):
    """The example's outer call: (its ast, whether it is a method of a value), or None for
    an operator (``x + y``) or an index (``x[:, 0]``)."""
    node = ast.parse(call, mode="eval").body
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    while isinstance(func, ast.Attribute):
        func = func.value
    method = isinstance(node.func, ast.Attribute) and not (isinstance(func, ast.Name) and func.id in MODULES)
    return node, method


def given_nodes(ftype, node, method) -> dict:
    """The example's argument nodes by parameter name (a varargs parameter: a list)."""
    sig = list(ftype.signature)[1 if method else 0:]
    found, args = {}, list(node.args)
    for param in sig:
        if not args or param.keyword_only:
            break
        if param.kind == VARARGS:
            found[param.name], args = args, []
        else:
            found[param.name] = args.pop(0)
    found.update({k.arg: k.value for k in node.keywords})
    return found


def with_probe(node, name, given, probe) -> str:
    """The call with argument ``name`` set to ``probe`` (in place, or as a keyword)."""
    new = ast.parse(ast.unparse(node), mode="eval").body
    value = ast.parse(repr(probe), mode="eval").body
    if name not in given:
        new.keywords.append(ast.keyword(arg=name, value=value))
        return ast.unparse(new)
    old = given[name]
    if isinstance(old, list):  # varargs: the probe stands for all of them
        first = node.args.index(old[0]) if old else len(node.args)
        new.args[first:first + len(old)] = [value]
    elif any(k.value is old for k in node.keywords):
        next(k for k in new.keywords if k.arg == name).value = value
    else:
        new.args[node.args.index(old)] = value
    return ast.unparse(new)


def torch_verdict(call, shapes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            want = torch_shapes(call, shapes)
        except Exception as e:  # noqa: BLE001 - any exception is torch's refusal
            want = e
    return REFUSED if isinstance(want, Exception) else want


def convcalc_verdict(name, call, shapes, want):
    values = getattr(want, "values", ()) if want != REFUSED else ()
    try:
        report = report_of(spec_text(call, shapes, values))
    except ConvcalcError as e:
        assert "\n" not in str(e), call
        return REFUSED
    ops = [op for op in report.graph.ops if op.type == name] if values else report.graph.ops[-1:]
    return [report.graph.shapes[v] for op in ops for v in op.outputs]


def form(call: str) -> int:
    """F's functions first (the signatures the registry mirrors: F.softmax picks a dim that
    torch.softmax and Tensor.softmax require), then torch's, then methods."""
    return 0 if call.startswith("F.") else 1 if call.startswith(("torch.", "torchvision.")) else 2


def cases():
    """(function, parameter, call with a probe, input shapes, probe): one valid example
    per parameter, where it is given (else added as a keyword), each probe in turn."""
    for name, ftype in FUNCTIONS.items():
        valid = []
        for call, shapes in sorted(ftype.examples, key=lambda e: form(e[0])):
            found = target(call)
            if found is not None and torch_verdict(call, shapes) != REFUSED:
                valid.append((call, shapes, *found, given_nodes(ftype, *found)))
        for param in ftype.signature:
            if param.kind not in (VALUE, VARARGS) or param.name.startswith("_"):
                continue  # tensors, operands and indices are checked elsewhere; _stacklevel
            chosen = [v for v in valid if param.name in v[4]]
            if not chosen and param.kind == VALUE:
                chosen = [v for v in valid if not v[3]] or valid  # added as a keyword
            if not chosen:
                continue
            call, shapes, node, _, given = chosen[0]
            old = given.get(param.name)
            old = ast.literal_eval(old) if isinstance(old, ast.Constant) else object()
            for probe in PROBES:
                if not (probe == old and type(probe) is type(old)):
                    yield ftype, param, with_probe(node, param.name, given, probe), shapes, probe


# Arguments torch reads by truthiness whose default is not True or False.
TRUTHINESS_EXTRA = {"residual_with_cls_embed", "recompute_scale_factor"}
OPTIONAL_BOOLEANS = {"align_corners", "recompute_scale_factor"}
# torchvision's private helpers annotate these ``int`` and only compare them (or pass them
# on to squeeze): convcalc holds them to the annotation.
ANNOTATED = {("_squeeze", "target_dim"), ("_squeeze", "tensor_dim"), ("_squeeze", "expand_dim")}


def is_boolean(param) -> bool:
    return isinstance(param.default, bool) or param.name in TRUTHINESS_EXTRA | OPTIONAL_BOOLEANS


def deliberate(ftype, param, probe) -> str | None:
    """Why convcalc refuses ``probe`` for ``param`` although torch may accept it, or None."""
    if (isinstance(param.default, bool) or param.name in TRUTHINESS_EXTRA) and not isinstance(probe, bool) \
            and not (probe is None and param.default is None):
        return "truthiness"
    if probe is True and not is_boolean(param):
        return "a boolean is not a number"
    if (ftype.name, param.name) in ANNOTATED and not (isinstance(probe, int) and not isinstance(probe, bool)):
        return "torchvision's annotation"
    if (ftype.name, param.name) == ("to", "dtype") and probe is not None:
        return "to takes a dtype, not a device"
    if param.name == "out" and probe is not None:
        return "out= is not modelled"
    return None


def test_every_argument_of_every_function_is_typed_as_torch_types_it():
    wrong, reasons_used, count = [], set(), 0
    for ftype, param, call, shapes, probe in cases():
        count += 1
        theirs = torch_verdict(call, shapes)
        ours = convcalc_verdict(ftype.name, call, shapes, theirs)
        reason = deliberate(ftype, param, probe)
        if reason is not None:
            reasons_used.add(reason)
            if ours != REFUSED:
                wrong.append(f"{call}: accepted; convcalc refuses it ({reason})")
        elif ours != theirs:
            wrong.append(f"{call}: torch {theirs}, convcalc {ours}")
    assert wrong == []
    assert count > 1000  # every function, every argument
    # every deliberate difference is still needed (and stays documented)
    assert reasons_used == {"truthiness", "a boolean is not a number", "torchvision's annotation",
                            "to takes a dtype, not a device", "out= is not modelled"}


@pytest.mark.parametrize("call, shapes, message", [
    ("F.relu(x, inplace='false')", [(2, 3)], "relu: inplace must be true or false, got 'false': write false "
     "without quotes (PyTorch would read any non-empty string as true)"),
    ("F.leaky_relu(x, '0.1')", [(2, 3)], "leaky_relu: negative_slope must be a number, got '0.1': write 0.1 "
     "without quotes"),
    ("x.add(y, alpha=None)", [(2, 3), (2, 3)], "add: alpha must be a number, got None"),
    ("F.gelu(x, approximate='fast')", [(2, 3)], "gelu: approximate must be one of 'none', 'tanh', got 'fast'"),
    ("F.interpolate(x, size=4, mode=['a'])", [(1, 3, 8)], "interpolate: mode must be one of 'nearest', "
     "'linear', 'bilinear', 'bicubic', 'trilinear', 'lanczos', 'area', 'nearest-exact', got ['a']"),
    ("F.pad(x, (1, 1), mode='mirror')", [(2, 3)], "pad: mode must be one of 'constant', 'reflect', "
     "'replicate', 'circular', got 'mirror'"),
    ("F.batch_norm(x, y, z, momentum=None)", [(2, 3), (3,), (3,)], "batch_norm: momentum must be a number, got None"),
    ("x.squeeze(None)", [(2, 1)], "squeeze: dim must be an integer or a list of integers, got None"),
    ("F.scaled_dot_product_attention(x, x, x, scale='2')", [(2, 3)], "scaled_dot_product_attention: scale "
     "must be a number or None, got '2': write 2 without quotes"),
])
def test_wrong_types_are_refused_in_one_line(call, shapes, message):
    with pytest.raises(ConvcalcError) as caught:
        report_of(spec_text(call, shapes))
    assert str(caught.value).endswith(message)


def test_deliberate_differences_are_documented():
    from pathlib import Path

    text = Path(__file__).parent.parent.joinpath("docs", "formulas.md").read_text(encoding="utf-8")
    for example in ("F.relu(x, inplace='false')", "F.leaky_relu(x, True)", "_squeeze", "x.to(2.5)", "F.normalize(x, out=y)"):
        assert example in text
