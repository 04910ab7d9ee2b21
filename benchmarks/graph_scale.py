"""The graph core at scale, whole-process, side by side with an earlier convcalc.

- `convcalc net` on generated specs of 1,000 and 10,000 layers (one `repeat`): wall time,
  time per layer, and how the cost grows (10x the layers should cost about 10x the work);
- `convcalc net zoo:tv-resnet50`, plain and symbolic (`--input 1,3,H,W`);
- the symbolic mode's formatting: distinct expressions against the times they are shown.

The earlier version is a git worktree of --before (default: the last commit before the
graph core), run from its source tree with the same interpreter. Usage:

    python benchmarks/graph_scale.py [--runs 7] [--before REV]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import compare, convcalc_command, report

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "7e26b31"  # the recursive interpreter, before the dataflow graph
BODIES = {
    "conv": ["Conv2d(8, 8, 3, padding=1)"],
    "mixed": ["Conv2d(8, 8, 3, padding=1, bias=False)", "BatchNorm2d(8)", "ReLU(inplace=True)",
              "MaxPool2d(3, stride=1, padding=1)"],
}


def spec(body: list[str], layers: int) -> str:
    items = "\n".join(f"      - {item}" for item in body)
    return (f"name: generated\ninput: [1, 8, 32, 32]\nlayers:\n"
            f"  - repeat: {layers // len(body)}\n    layers:\n{items}\n")


def earlier(rev: str, where: Path) -> list[str] | None:
    """A command running convcalc at ``rev`` from a worktree, or None without git."""
    done = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(where), rev],
                          capture_output=True, text=True)
    if done.returncode != 0:
        print(f"(no side-by-side: git worktree failed: {done.stderr.strip()})")
        return None
    return [sys.executable, "-c",
            f"import sys; sys.path.insert(0, {str(where)!r}); from convcalc.cli import main; "
            "sys.argv[0] = 'convcalc'; main()"]


def symbolic_formatting() -> str:
    probe = ("import io, contextlib; from convcalc.cli import cli\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    cli.main(['net', 'zoo:tv-resnet50', '--input', '1,3,H,W'], standalone_mode=False)\n"
             "from convcalc.engine.symbolic import _tidy\n"
             "i = _tidy.cache_info(); print(f'{i.misses} distinct expressions, shown {i.hits + i.misses} times, each tidied once')")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    return done.stdout.strip() or done.stderr.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", default=BEFORE)
    args = parser.parse_args()
    now = convcalc_command()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        before = earlier(args.before, tmp / "before")
        try:
            for kind, body in BODIES.items():
                per_layer = {}
                for layers in (1_000, 10_000):
                    path = tmp / f"{kind}-{layers}.yaml"
                    path.write_text(spec(body, layers))
                    commands = {"now": [*now, "net", str(path)]}
                    if before:
                        commands[f"at {args.before}"] = [*before, "net", str(path)]
                    print(f"convcalc net: {layers:,} layers ({kind}: {', '.join(body)})")
                    medians = compare(commands, args.runs)
                    report(medians, args.runs)
                    if before:
                        print(f"  ratio now / before: {medians['now'] / medians[f'at {args.before}']:.2f}x")
                    per_layer[layers] = medians["now"]
                growth = per_layer[10_000] / per_layer[1_000]
                print(f"  10,000 layers cost {growth:.1f}x 1,000 layers, whole-process "
                      f"(start-up included; {(per_layer[10_000] - per_layer[1_000]) / 9_000 * 1e6:.0f} us "
                      "per added layer)\n")
            for extra in ([], ["--input", "1,3,H,W"]):
                commands = {"now": [*now, "net", "zoo:tv-resnet50", *extra]}
                if before:
                    commands[f"at {args.before}"] = [*before, "net", "zoo:tv-resnet50", *extra]
                print(f"convcalc net zoo:tv-resnet50 {' '.join(extra)}")
                medians = compare(commands, args.runs)
                report(medians, args.runs)
                if before:
                    print(f"  ratio now / before: {medians['now'] / medians[f'at {args.before}']:.2f}x\n")
            print("symbolic tv-resnet50:", symbolic_formatting())
        finally:
            if before:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "before")],
                               capture_output=True)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
