"""The first five minutes: the README's quick start and every command of its "Use" section,
run in a shell exactly as printed, with the venv's bin on PATH (as ``make demo`` says).

(The README's Python example is a doctest: tests/test_docs.py runs it.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent  # the venv's bin: not resolved, a venv's python is a link
PATH_LINE = 'export PATH="$PWD/.venv/bin:$PATH"'


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def use_examples():
    for block in re.findall(r"```console\n(.*?)```", section("Use"), re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            line, _, expected = chunk.partition("\n")
            yield pytest.param(line, expected, id=line)


def shell_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def test_the_venv_has_the_convcalc_script():
    assert (BIN / "convcalc").exists(), f"no convcalc in {BIN}: pip install -e . in this venv"


def test_the_use_section_has_examples():
    lines = [p.values[0] for p in use_examples()]
    assert len(lines) >= 8
    assert any(line.startswith("convcalc layer ") for line in lines)


@pytest.mark.parametrize("line, expected", list(use_examples()))
def test_every_use_command_prints_what_the_readme_says(line, expected):
    done = subprocess.run(line, shell=True, cwd=ROOT, env=shell_env(), capture_output=True,
                          timeout=120)
    out, err = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    assert out + err == expected
    assert (done.returncode != 0) == expected.startswith("Error:")


def test_quick_start_is_two_commands_and_says_how_to_run_convcalc():
    quick = section("Quick start")
    (block,) = re.findall(r"```sh\n(.*?)```", quick, re.S)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    assert PATH_LINE in quick
    assert "pipx install ." in quick and "pip install ." in quick


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_ends_by_saying_how_to_run_convcalc_from_the_shell():
    # this venv's bin stands in for .venv/bin, taken as built (-o: never reinstalled here)
    done = subprocess.run(["make", "-s", "demo", f"BIN={BIN}", "-o", f"{BIN}/convcalc"],
                          cwd=ROOT, env=shell_env(), capture_output=True, timeout=300)
    out = done.stdout.decode("utf-8")
    assert done.returncode == 0, done.stderr.decode("utf-8")
    assert "LeNet: input [1, 1, 28, 28] -> [1, 10]" in out
    tail = out.rstrip("\n").splitlines()[-4:]
    assert tail[1].strip() == PATH_LINE
    assert "pipx install ." in tail[2] and "pip install ." in tail[2]


def test_bare_convcalc_shows_the_help_and_exits_0():
    done = subprocess.run(["convcalc"], env=shell_env(), capture_output=True, timeout=60)
    out = done.stdout.decode("utf-8")
    assert (done.returncode, done.stderr) == (0, b"")
    assert out.startswith("Usage: convcalc [OPTIONS] COMMAND [ARGS]...")
    assert "  layer " in out and "  layers " in out
