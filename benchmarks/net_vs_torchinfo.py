"""`convcalc net zoo:tv-NAME` against torchinfo's `summary` of the same torchvision model.

Whole processes, measured side by side (interleaved runs, medians):

- convcalc at the spec's input, and (ResNet-50) at 2048x2048: the engine's cost must not
  grow with the input;
- torchinfo's summary at the same input of torchvision's own model (where torchvision is
  installed; else of the zoo spec built as torch.nn modules), which needs torch imported,
  the model built and one forward pass run.

Targets: torchinfo / convcalc >= 15x for resnet50 and >= 20x for vit_b_16 and swin_t;
convcalc 2048 / convcalc 224 <= 1.1x.
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
    model = getattr(torchvision.models, {model!r})(weights=None)
else:
    from convcalc.graph.run import analyse
    from convcalc import spec
    from convcalc.backend.build import build
    text, source = spec.read_text("zoo:tv-{model}")
    (doc,) = spec.load_documents(text, source)
    model = build(analyse(spec.parse_spec(doc, source)))
torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0)
"""

MODELS = (("resnet50", 15), ("vit_b_16", 20), ("swin_t", 20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--torchinfo-runs", type=int, default=5)
    args = parser.parse_args()
    try:
        import torchinfo  # noqa: F401
    except ImportError as e:
        sys.exit(f"torchinfo cannot be imported ({e}): pip install torchinfo numpy (make bench does it)")
    from convcalc import zoo

    for model, target in MODELS:
        if f"tv-{model}" not in zoo.names():
            print(f"(zoo:tv-{model} is not bundled: skipped)")
            continue
        ours = {f"convcalc net zoo:tv-{model} (224)": [*convcalc_command(), "net", f"zoo:tv-{model}"]}
        if model == "resnet50":
            ours[f"convcalc net zoo:tv-{model} (2048)"] = [
                *convcalc_command(), "net", f"zoo:tv-{model}", "--input", "1,3,2048,2048"]
        ours = compare(ours, args.runs)
        theirs = compare({f"torchinfo summary, {model} (224)": [
            sys.executable, "-c", TORCHINFO.format(model=model)]}, args.torchinfo_runs)
        report(ours, args.runs)
        report(theirs, args.torchinfo_runs)
        small, *big = ours.values()
        (ti,) = theirs.values()
        print(f"ratio torchinfo / convcalc for {model}: {ti / small:.1f}x (target >= {target}x)")
        if big:
            print(f"ratio convcalc 2048 / convcalc 224: {big[0] / small:.2f}x (target <= 1.10x)")
        print()


if __name__ == "__main__":
    main()
