"""Progress bars for long work (batches of documents, input scans, the torch check), on
standard error.

A bar appears only on a terminal, only once the work has run for ``DELAY`` seconds (short
work never imports rich), and it is transient: nothing of it stays on the screen.
"""

from __future__ import annotations

import contextlib
import sys
import time

DELAY = 0.5  # seconds of work before a bar appears


@contextlib.contextmanager
def progress(total: int, label: str, stdout_too: bool = True):
    """Yield ``advance(n=1)``. ``stdout_too=False``: no bar while standard output is the
    terminal as well (the results printed there show the progress, and would break the bar)."""
    wanted = total > 1 and sys.stderr.isatty() and (stdout_too or not sys.stdout.isatty())
    if not wanted:
        yield lambda n=1: None
        return
    start = time.perf_counter()
    state = {"done": 0, "bar": None, "task": None}

    def advance(n: int = 1) -> None:
        state["done"] += n
        bar = state["bar"]
        if bar is None:
            if time.perf_counter() - start < DELAY:
                return
            bar = state["bar"] = _bar()
            bar.start()
            state["task"] = bar.add_task(label, total=total, completed=state["done"])
        else:
            bar.update(state["task"], completed=state["done"])

    try:
        yield advance
    finally:
        if state["bar"] is not None:
            state["bar"].stop()


def _bar():
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=Console(stderr=True), transient=True,
                    redirect_stdout=False, redirect_stderr=False)
