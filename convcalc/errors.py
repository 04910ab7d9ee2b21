"""Typed errors. Every refusal convcalc makes is a ConvcalcError (a ValueError).

Messages follow one template: what, the constraint, the value, and a fix where one exists:
``stride must be >= 1, got 0``.
"""

from __future__ import annotations


class ConvcalcError(ValueError):
    """Base class: a domain error the CLI reports in one line with exit code 1."""

    def __init__(self, message: str, *, layer: str | None = None, fix: str | None = None):
        self.message = message
        self.layer = layer
        self.fix = fix
        super().__init__(self.__str__())

    @property
    def kind(self) -> str:
        return type(self).__name__

    def __str__(self) -> str:
        text = f"{self.layer}: {self.message}" if self.layer else self.message
        return f"{text}: {self.fix}" if self.fix else text

    def with_layer(self, layer: str) -> "ConvcalcError":
        """The same error, attributed to a layer (used by whole-network propagation)."""
        clone = type(self)(self.message, layer=layer, fix=self.fix)
        return clone


class ParamError(ConvcalcError):
    """A parameter value PyTorch would refuse whatever the input (stride 0, bad padding mode)."""


class ShapeError(ConvcalcError):
    """The layer is valid but cannot run on this input (input too small, empty output)."""


class SpecError(ConvcalcError):
    """A model spec that cannot be read (YAML, unknown layer, bad argument)."""
