"""Bundled specs: ``convcalc net zoo:NAME``. Each is a YAML file beside this module."""

from __future__ import annotations

import difflib
from pathlib import Path

from convcalc.errors import SpecError

HERE = Path(__file__).resolve().parent


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.yaml"))


def path(name: str) -> Path:
    p = HERE / f"{name}.yaml"
    if name not in names():
        close = difflib.get_close_matches(name, names(), n=1)
        raise SpecError(
            f"no zoo spec named {name!r}",
            fix=f"did you mean zoo:{close[0]}?" if close else "convcalc zoo lists them",
        )
    return p


def read(name: str) -> str:
    return path(name).read_text(encoding="utf-8")


def describe(name: str) -> str:
    """The first comment line of a spec: what it is and where it comes from."""
    for line in read(name).splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""
