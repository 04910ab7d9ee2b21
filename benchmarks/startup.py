"""Start-up: `convcalc conv --in 28 --k 5 --p 2` against `python -c "import click, rich.console"`.

The target: convcalc's whole-process time within 1.3x of the bare import of its two CLI
libraries. Run: `make bench` or `.venv/bin/python benchmarks/startup.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import sys

from _timing import compare, convcalc_command, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    medians = compare(
        {
            "python -c 'import click, rich.console'": [
                sys.executable, "-c", "import click, rich.console",
            ],
            "convcalc conv --in 28 --k 5 --p 2": [
                *convcalc_command(), "conv", "--in", "28", "--k", "5", "--p", "2",
            ],
        },
        args.runs,
    )
    report(medians, args.runs)
    base, ours = medians.values()
    print(f"ratio convcalc / baseline: {ours / base:.2f}x (target <= 1.30x)")


if __name__ == "__main__":
    main()
