"""Side-by-side timing of whole processes: interleaved runs, medians, ratios."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def convcalc_command() -> list[str]:
    """The installed ``convcalc`` script beside this interpreter, else ``python -m convcalc``."""
    script = Path(sys.executable).with_name("convcalc")
    if script.exists():
        return [str(script)]
    found = shutil.which("convcalc")
    return [found] if found else [sys.executable, "-m", "convcalc"]


# Measure what an installed program costs: Python caches compiled modules (.pyc), unless
# PYTHONDONTWRITEBYTECODE is set (as on some CI machines), which makes every run recompile
# every module of an editable install. The warm-up run writes the caches.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_once(argv: list[str]) -> float:
    """One run's wall time, its standard output to a pipe (read and thrown away), as
    ``convcalc ... | less`` runs: not a terminal, so no colour and no rich."""
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.PIPE, env=ENV)
    return time.perf_counter() - start


def compare(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median wall time of each command over ``runs`` interleaved rounds (after one warm-up)."""
    for argv in commands.values():
        run_once(argv)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(run_once(argv))
    return {name: statistics.median(values) for name, values in samples.items()}


def report(medians: dict[str, float], runs: int) -> None:
    width = max(map(len, medians))
    for name, value in medians.items():
        print(f"  {name:<{width}}  {value * 1000:8.1f} ms  (median of {runs})")
