"""The ``convcalc`` command line."""

from convcalc.cli.app import cli, main

__all__ = ["cli", "main"]
