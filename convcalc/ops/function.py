"""Functions: torch functions and tensor methods (``cat``, ``x.permute(0, 2, 3, 1)``,
``x + y``), registered like the layers.

A ``FunctionType`` has torch's signature (parameter names, order, defaults), says which
parameters are tensors, and one rule: the bound arguments, with every tensor replaced by
its shape, in; a ``Step`` out (its ``out`` and ``more`` are the output shapes). A spec
calls a function by name (``permute(0, 2, 3, 1)``: the running value is ``input``), as a
method of a value (``x.permute(...)``), or through an operator (``x + y`` is ``add``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from convcalc.errors import SpecError
from convcalc.ops.base import NUMBER, REQUIRED, Kind, Step, kind_of

TENSOR = "tensor"  # one tensor
TENSORS = "tensors"  # a list (or tuple) of tensors, like torch.cat's
VARARGS = "varargs"  # the remaining positional arguments, or one sequence: permute(0, 2, 1) or permute((0, 2, 1))
OPERAND = "operand"  # a tensor or a Python number (add's other)
INDEX = "index"  # getitem's index: Python values that may hold tensors (x[:, idx])
VALUE = "value"

# Argument kinds that neither a default nor base.KINDS tells, by name, for every function
# (a function's own ``kinds`` come first): add's and addmm's scalars default to the int 1.
FUNCTION_KINDS = {"alpha": NUMBER, "beta": NUMBER, "scale": Kind("number", optional=True)}


@dataclass(frozen=True)
class Param:
    name: str
    default: object = REQUIRED
    kind: str = VALUE
    keyword_only: bool = False


def params(*items) -> tuple[Param, ...]:
    """``params("input:tensor", ("dim", None), "*dims")``: ``name:kind``, ``(name, default)``,
    ``*name`` for varargs, a leading ``|`` for keyword-only."""
    out = []
    for item in items:
        default = REQUIRED
        if isinstance(item, tuple):
            item, default = item
        keyword_only = item.startswith("|")
        item = item.lstrip("|")
        if item.startswith("*"):
            out.append(Param(item[1:], default if default is not REQUIRED else (), VARARGS))
            continue
        name, _, kind = item.partition(":")
        out.append(Param(name, default, kind or VALUE, keyword_only))
    return tuple(out)


class Tensor:
    """What a function's binding needs of a tensor argument: anything with a ``shape``."""

    shape: tuple


@dataclass(frozen=True)
class IndexTensor:
    """A tensor inside an index, as the rule sees it: its shape, and its dtype where the
    spec tells it (None: unknown)."""

    shape: tuple
    dtype: str | None = None


@dataclass(frozen=True)
class FunctionType:
    name: str
    signature: tuple[Param, ...]
    apply: Callable[[dict], Step]
    family: str
    doc: str
    examples: tuple = ()  # ((call, input shapes), ...), checked against torch by the tests
    method: bool = True  # also a tensor method: x.name(...)
    summary: tuple = ()  # the arguments shown in a table's type column (default: all non-tensors)
    # a function that is not torch's (torchvision.ops.stochastic_depth): its self-contained
    # definition, run with torch, nn and F in scope, written into exported files
    source: str = ""
    # a function of torchvision's, as ``module.name`` (it may have a name of its own here:
    # _get_relative_position_bias_3d): the importer maps that function, and only it, to
    # this entry, and a spec may call it by that full name
    origin: str = ""
    values: int = 0  # Python values it returns after its one tensor (Step.values)
    # argument kinds that differ from FUNCTION_KINDS and base.KINDS (pad's value may be None,
    # F.batch_norm's momentum not); None: the rule checks that argument itself
    kinds: dict = field(default_factory=dict)
    arg_names: frozenset = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "arg_names", frozenset(p.name for p in self.signature))

    def bind(self, args: Sequence, kwargs: dict, receiver=None) -> dict:
        """Python's binding of ``args`` and ``kwargs`` to torch's signature; a method call's
        (or the running value's) ``receiver`` is the first parameter."""
        sig = list(self.signature)
        bound = {}
        if receiver is not None:
            bound[sig[0].name] = receiver
            sig = sig[1:]
        positional = list(args)
        for param in sig:
            if param.kind == VARARGS:
                rest, positional = positional, []
                if len(rest) == 1 and isinstance(rest[0], (list, tuple)):
                    bound[param.name] = tuple(rest[0])  # one sequence, () too: zeros(())
                elif rest:
                    bound[param.name] = tuple(rest)
                continue
            if not positional or param.keyword_only:
                break
            bound[param.name] = positional.pop(0)
        if positional:
            raise SpecError(f"{self.name}() takes at most {len(args) - len(positional)} positional "
                            f"arguments here, got {len(args)}")
        names = [p.name for p in self.signature]
        for key, value in kwargs.items():
            if key not in self.arg_names:
                close = difflib.get_close_matches(key, names, n=1)
                raise SpecError(f"{self.name}(): unknown argument {key!r}",
                                fix=f"did you mean {close[0]}?" if close else f"arguments are: {', '.join(names)}")
            if key in bound:
                raise SpecError(f"{self.name}(): got multiple values for argument {key!r}")
            bound[key] = tuple(value) if self.kind(key) == VARARGS and isinstance(value, list) else value
        self._check_kinds(bound)
        for param in self.signature:
            if param.name not in bound:
                if param.default is REQUIRED:
                    raise SpecError(f"{self.name}(): missing required argument {param.name!r}")
                bound[param.name] = param.default
        for param in self.signature:
            self._check_tensors(param, bound[param.name])
        return bound

    def _check_kinds(self, given: dict) -> None:
        """The types of the values given (defaults are torch's own), as torch checks them,
        before any rule reads them: each value argument's kind (``kind_of``: a bool default
        makes a boolean, a float default a number; names in ``FUNCTION_KINDS`` and
        ``base.KINDS``); sizes, counts and dims are left to the function's rule."""
        for param in self.signature:
            if param.kind != VALUE or param.name not in given:
                continue
            if param.name in self.kinds:
                kind = self.kinds[param.name]
            else:
                kind = FUNCTION_KINDS.get(param.name) or kind_of(param.name, param.default)
            if kind is not None:
                kind.check(param.name, given[param.name], op=self.name)

    def kind(self, name: str) -> str:
        return next(p.kind for p in self.signature if p.name == name)

    def _check_tensors(self, param: Param, value) -> None:
        if param.kind == INDEX:
            return  # the rule reads what it holds
        if param.kind == TENSOR and not isinstance(value, Tensor) and value is not None:
            raise SpecError(f"{self.name}(): {param.name} must be a tensor, got {value!r}")
        if param.kind == OPERAND:
            if value is None and param.default is None:
                return  # an optional operand left out (clamp's max)
            if not isinstance(value, Tensor) and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise SpecError(f"{self.name}(): {param.name} must be a tensor or a number, got {value!r}")
            return
        if param.kind == TENSORS:
            if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, Tensor) for v in value):
                raise SpecError(f"{self.name}(): {param.name} must be a non-empty list of tensors, got {value!r}")
        elif param.kind != TENSOR and _has_tensor(value):
            raise SpecError(f"{self.name}(): {param.name} cannot be a tensor")

    def tensors(self, bound: dict) -> list:
        """The tensor arguments, in signature order: the operation's inputs."""
        found = []
        for param in self.signature:
            value = bound[param.name]
            if param.kind in (TENSOR, OPERAND) and isinstance(value, Tensor):
                found.append(value)
            elif param.kind == TENSORS:
                found.extend(value)
            elif param.kind == INDEX:
                found.extend(_index_parts(value, lambda t: t))
        return found

    def shapes(self, bound: dict, dtype_of=None) -> dict:
        """``bound`` with every tensor replaced by its shape: what the rule takes. A tensor
        in an index becomes an ``IndexTensor`` (``dtype_of(name)``: its dtype, or None)."""
        out = {}
        for param in self.signature:
            value = bound[param.name]
            if param.kind in (TENSOR, OPERAND) and isinstance(value, Tensor):
                value = tuple(value.shape)
            elif param.kind == TENSORS:
                value = [tuple(v.shape) for v in value]
            elif param.kind == INDEX:
                value = _index_map(value, lambda t: IndexTensor(
                    tuple(t.shape), dtype_of(t.name) if dtype_of and hasattr(t, "name") else None))
            out[param.name] = value
        return out

    def describe(self, bound: dict) -> str:
        """``permute(0, 2, 3, 1)``-style text for tables: the non-tensor arguments that
        differ from the defaults."""
        parts = []
        for param in self.signature:
            if param.kind in (TENSOR, TENSORS) or (self.summary and param.name not in self.summary):
                continue
            if param.kind == OPERAND and isinstance(bound.get(param.name), Tensor):
                continue
            value = bound.get(param.name)
            if param.default is not REQUIRED and value == param.default:
                continue
            if param.kind == VARARGS:
                parts.extend(map(repr, value))
            else:
                parts.append(f"{param.name}={value!r}")
        return f"{self.name}({', '.join(parts)})" if parts else self.name


def _index_map(index, fn):
    """``index`` with each tensor ``t`` of it replaced by ``fn(t)``: in the index itself, or
    as a part of its tuple (or of a list torch reads as one)."""
    if isinstance(index, Tensor):
        return fn(index)
    if isinstance(index, (tuple, list)):
        return type(index)(fn(p) if isinstance(p, Tensor) else p for p in index)
    return index


def _index_parts(index, fn) -> list:
    found = []
    _index_map(index, lambda t: found.append(fn(t)))
    return found


def _has_tensor(value) -> bool:
    if isinstance(value, Tensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_tensor(v) for v in value)
    return False


def function_lookup(registry: dict, name: str) -> FunctionType:
    try:
        return registry[name]
    except KeyError:
        pass
    close = difflib.get_close_matches(name, list(registry), n=1, cutoff=0.7)
    raise SpecError(f"unknown function {name!r}",
                    fix=f"did you mean {close[0]}?" if close else "see docs/layers.md for the supported functions")
