"""`convcalc net zoo:tv-resnet50` on a terminal (a pseudo-terminal 80 and 200 columns wide:
rich's console, colour, the table fitted) against the same command writing to a pipe
(plain text, rich not imported). Whole processes, interleaved runs, medians.

Target: terminal / pipe <= 1.5x.
Run: `.venv/bin/python benchmarks/terminal.py [--runs 15] [--spec zoo:tv-resnet50]`.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import statistics
import struct
import subprocess
import termios
import time

from _timing import ENV, convcalc_command


def on_terminal(argv: list[str], columns: int) -> float:
    """Wall time of ``argv`` with its standard output on a pseudo-terminal ``columns``
    wide, the output read (and dropped) as a terminal would."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in ENV.items() if k not in ("COLUMNS", "NO_COLOR", "FORCE_COLOR")}
    env["TERM"] = "xterm-256color"
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    while True:
        try:
            if not os.read(master, 1 << 16):
                break
        except OSError:  # the child closed the terminal
            break
    process.wait()
    elapsed = time.perf_counter() - start
    os.close(master)
    if process.returncode:
        raise SystemExit(f"{' '.join(argv)} failed on a terminal ({process.returncode})")
    return elapsed


def to_pipe(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.PIPE, env=ENV)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--spec", default="zoo:tv-resnet50")
    args = parser.parse_args()
    argv = [*convcalc_command(), "net", args.spec]
    ways = {"pipe": lambda: to_pipe(argv),
            "terminal, 80 columns": lambda: on_terminal(argv, 80),
            "terminal, 200 columns": lambda: on_terminal(argv, 200)}
    for run in ways.values():  # warm-up: compiled-module caches
        run()
    samples: dict = {name: [] for name in ways}
    for _ in range(args.runs):
        for name, run in ways.items():
            samples[name].append(run())
    medians = {name: statistics.median(values) for name, values in samples.items()}
    width = max(map(len, medians))
    print(f"convcalc net {args.spec}")
    for name, value in medians.items():
        print(f"  {name:<{width}}  {value * 1000:8.1f} ms  (median of {args.runs})")
    worst = max(v for name, v in medians.items() if name != "pipe") / medians["pipe"]
    print(f"ratio terminal / pipe: {worst:.2f}x (target <= 1.50x)")


if __name__ == "__main__":
    main()
