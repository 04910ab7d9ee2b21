"""Typed errors. Every refusal convcalc makes is a ConvcalcError (a ValueError).

Messages follow one template: what, the constraint, the value, and a fix where one exists:
``stride must be >= 1, got 0``.
"""

from __future__ import annotations


class ConvcalcError(ValueError):
    """Base class: a domain error the CLI reports in one line with exit code 1.

    Errors raised inside a network carry the layer's ``path`` and ``layer_type``.
    """

    path: str | None = None
    layer_type: str | None = None

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
        text = f"{text}: {self.fix}" if self.fix else text
        # one line, always: a name or a file name may hold a line break
        return text.replace("\r", "\\r").replace("\n", "\\n")

    def with_layer(self, layer: str) -> "ConvcalcError":
        """The same error, attributed to a layer (used by whole-network propagation)."""
        return type(self)(self.message, layer=layer, fix=self.fix)


class ParamError(ConvcalcError):
    """A parameter value PyTorch would refuse whatever the input (stride 0, bad padding mode)."""


class ShapeError(ConvcalcError):
    """The layer is valid but cannot run on this input (input too small, empty output)."""


class InputTooSmall(ShapeError):
    """The input is smaller than a window needs: a larger input would help."""


class SpecError(ConvcalcError):
    """A model spec that cannot be read (YAML, unknown layer, bad argument)."""
