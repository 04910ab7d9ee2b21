"""`convcalc import torchvision.models:NAME` against the least any verified import needs.

Whole processes, measured side by side (interleaved runs, medians):

- convcalc: import the model, trace it with torch.fx, translate every node, verify the spec
  (one forward pass counting FLOPs per node, lowering the spec) and print it;
- the floor: a script that imports torchvision, builds the same model, runs
  ``torch.fx.symbolic_trace`` and one forward pass with a hook on every module.

Target (issue 11): convcalc / floor <= 1.5x for resnet50.
Run: `.venv/bin/python benchmarks/import_speed.py` (needs torch and torchvision).
"""

from __future__ import annotations

import argparse
import sys

from _timing import compare, convcalc_command, report

FLOOR = """
import torch, torch.fx
from convcalc.backend.tvcompat import import_torchvision
tv = import_torchvision()
model = getattr(tv.models, {model!r})(weights=None).eval()
graph = torch.fx.symbolic_trace(model)
shapes = []
for m in model.modules():
    m.register_forward_hook(lambda m, i, o: shapes.append(getattr(o, "shape", None)))
with torch.no_grad():
    model(torch.randn({shape}))
"""

MODELS = (("resnet50", "1,3,224,224", 1.5), ("mobilenet_v3_large", "1,3,224,224", 1.5),
          ("vit_b_16", "1,3,224,224", 1.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    failed = False
    for model, shape, target in MODELS:
        if args.only and model not in args.only.split(","):
            continue
        medians = compare({
            f"convcalc import {model}": [*convcalc_command(), "import", f"torchvision.models:{model}",
                                         "--input", shape],
            f"fx trace + hooked forward of {model}": [sys.executable, "-c",
                                                      FLOOR.format(model=model, shape=f"({shape})")],
        }, args.runs)
        report(medians, args.runs)
        convcalc, floor = medians.values()
        ratio = convcalc / floor
        failed |= ratio > target
        print(f"  ratio {ratio:.2f}x (target <= {target}x)\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
