"""Import torchvision where its compiled operators cannot load.

A torchvision wheel built for CUDA, installed beside a CPU build of torch, fails at import
with "operator torchvision::nms does not exist": its Python code registers fake kernels
for operators that its missing C++ library would have defined. The models use none of
them, so defining those operators' schemas first (with no kernel) lets torchvision import;
calling one of them still fails, loudly.
"""

from __future__ import annotations

# the operators torchvision's Python code refers to at import time, with their schemas
SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)

_library = None  # kept alive: dropping a torch.library.Library removes its definitions


def import_torchvision():
    """``torchvision``, imported; None when it is not installed."""
    import importlib.util

    if importlib.util.find_spec("torchvision") is None:
        return None
    import torch

    try:
        import torchvision
    except RuntimeError as e:
        if "does not exist" not in str(e):
            raise
        _define_missing(torch)
        import torchvision
    return torchvision


def _define_missing(torch) -> None:
    global _library
    import sys

    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]  # the failed import left half-initialised modules behind
    _library = torch.library.Library("torchvision", "FRAGMENT")
    for schema in SCHEMAS:
        name = schema.split("(", 1)[0]
        if not hasattr(torch.ops.torchvision, name):
            _library.define(schema)
