"""`convcalc net zoo:tv-resnet50` against torchinfo's `summary` of the same ResNet-50.

Whole processes, measured side by side (interleaved runs, medians):

- convcalc at 224x224, and at 2048x2048 (the engine's cost must not grow with the input);
- torchinfo's summary at 224x224 of torchvision's own resnet50 (where torchvision is
  installed; else of the zoo spec built as torch.nn modules, the same architecture and
  25,557,032 parameters), which needs torch imported, the model built and one forward pass.

Targets: torchinfo / convcalc >= 15x; convcalc 2048 / convcalc 224 <= 1.1x.
Run: `make bench` (installs torchinfo) or `.venv/bin/python benchmarks/net_vs_torchinfo.py`.
"""

from __future__ import annotations

import argparse
import sys

from _timing import compare, convcalc_command, report

TORCHINFO = """
import torchinfo
from convcalc.backend.tvcompat import import_torchvision
torchvision = import_torchvision()
if torchvision is not None:
    model = torchvision.models.resnet50(weights=None)
else:
    from convcalc.graph.run import analyse
    from convcalc import spec
    from convcalc.backend.build import build
    text, source = spec.read_text("zoo:tv-resnet50")
    (doc,) = spec.load_documents(text, source)
    model = build(analyse(spec.parse_spec(doc, source)))
torchinfo.summary(model, input_size=(1, 3, {size}, {size}), verbose=0)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--torchinfo-runs", type=int, default=5)
    args = parser.parse_args()
    try:
        import torchinfo  # noqa: F401
    except ImportError as e:
        sys.exit(f"torchinfo cannot be imported ({e}): pip install torchinfo numpy (make bench does it)")
    ours = compare(
        {
            "convcalc net zoo:tv-resnet50 (224)": [*convcalc_command(), "net", "zoo:tv-resnet50"],
            "convcalc net zoo:tv-resnet50 (2048)": [
                *convcalc_command(), "net", "zoo:tv-resnet50", "--input", "1,3,2048,2048",
            ],
        },
        args.runs,
    )
    theirs = compare(
        {"torchinfo summary, resnet50 (224)": [sys.executable, "-c", TORCHINFO.format(size=224)]},
        args.torchinfo_runs,
    )
    report(ours, args.runs)
    report(theirs, args.torchinfo_runs)
    small, big = ours.values()
    (ti,) = theirs.values()
    print(f"ratio torchinfo / convcalc at 224: {ti / small:.1f}x (target >= 15x)")
    print(f"ratio convcalc 2048 / convcalc 224: {big / small:.2f}x (target <= 1.10x)")


if __name__ == "__main__":
    main()
