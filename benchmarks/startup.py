"""Start-up: `convcalc conv --in 28 --k 5 --p 2` against `python -c "import click"`.

The target: convcalc's whole-process time, its output to a pipe, within 1.1x of the bare
import of click, the one library its command line needs (and within 1.3x of
`python -c "import click, rich.console"`, the earlier baseline, where rich is installed).

Measured as users run it, from a normal (non-editable) install: an editable install adds
its own import hook to every process (setuptools' finder imports pathlib and
importlib.util at start-up), which would hide what convcalc itself costs. So the script
builds a wheel of this checkout, installs it with pip into a temporary virtual
environment (no network: ``--no-deps --no-index``; click is copied in from this
environment) and times that environment's ``convcalc`` script against its own
``python -c "import click"``. The temporary directory is removed afterwards.

Where the difference went: importing convcalc's own modules costs about 3 ms (`-X importtime`),
and freeing every module at interpreter exit about 6 ms for click's alone; the console
script (`convcalc.cli.app.main`) flushes its output and leaves with ``os._exit`` when
nothing is left to do at exit (no torch, logging, worker threads or temporary files), so
a quick command pays neither teardown. `python -c "import click"` is measured as Python
runs it, teardown included: that is what a user's shell waits for.

Run: `make bench` or `.venv/bin/python benchmarks/startup.py [--runs N] [--keep]`.
Where the time goes: `python -X importtime <venv>/bin/convcalc conv --in 28 --k 5 --p 2`
(`--keep` prints the environment's path and leaves it for that).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import compare, report

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.10
COMMAND = ["conv", "--in", "28", "--k", "5", "--p", "2"]
NO_TEARDOWN = "python -c 'import click, os; os._exit(0)'"


def install(where: Path) -> Path:
    """A virtual environment under ``where`` with convcalc (not editable) and click: its bin."""
    import click

    source = where / "src"
    shutil.copytree(ROOT / "convcalc", source / "convcalc",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(where / "wheels"),
                    str(source)], check=True, cwd=where)
    python = venv / "bin" / "python"
    wheels = sorted((where / "wheels").glob("convcalc-*.whl"))
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index",
                    str(wheels[-1])], check=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    shutil.copytree(Path(click.__file__).parent, Path(site) / "click",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return venv / "bin"


def _has_rich() -> bool:
    return subprocess.run([sys.executable, "-c", "import rich.console"], capture_output=True).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the temporary environment")
    args = parser.parse_args()
    where = Path(tempfile.mkdtemp(prefix="convcalc-startup-"))
    try:
        bin_dir = install(where)
        python = str(bin_dir / "python")
        commands = {
            "python -c 'import click'": [python, "-c", "import click"],
            "convcalc " + " ".join(COMMAND): [str(bin_dir / "convcalc"), *COMMAND],
            # what convcalc's own imports and work cost, teardown left out on both sides
            NO_TEARDOWN: [python, "-c", "import click, os; os._exit(0)"],
        }
        rich_key = "python -c 'import click, rich.console'"
        if _has_rich():  # the earlier baseline: rich from this environment, click from that one
            site = subprocess.run([sys.executable, "-c", "import rich, os; print(os.path.dirname("
                                   "os.path.dirname(rich.__file__)))"],
                                  check=True, capture_output=True, text=True).stdout.strip()
            commands[rich_key] = [python, "-c", f"import sys; sys.path.append({site!r}); "
                                  "import click, rich.console"]
        medians = compare(commands, args.runs)
        report(medians, args.runs)
        base, ours = list(medians.values())[:2]
        print(f"ratio convcalc / import click: {ours / base:.2f}x (target <= {TARGET:.2f}x)")
        print(f"ratio convcalc / import click without its teardown: {ours / medians[NO_TEARDOWN]:.2f}x "
              "(convcalc's imports and work alone)")
        if rich_key in medians:
            print(f"ratio convcalc / import click, rich.console: {ours / medians[rich_key]:.2f}x "
                  "(target <= 1.30x)")
    finally:
        if args.keep:
            print(f"kept: {where}")
        else:
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
