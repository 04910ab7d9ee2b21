"""The ``convcalc`` command line.

``app`` holds the group and its error handling; the command modules define plain click
commands, registered on the group here by name (none of them imports ``app``). A command's
module is imported when the command is looked up: ``convcalc conv`` loads the single-layer
commands only (start-up: benchmarks/startup.py).
"""

from convcalc.cli.app import cli, main

cli.commands.update({
    "conv": "convcalc.cli.layer:conv",
    "tconv": "convcalc.cli.layer:tconv",
    "pool": "convcalc.cli.layer:pool",
    "net": "convcalc.cli.network:net",
    "zoo": "convcalc.cli.network:zoo",
    "solve-padding": "convcalc.cli.solvers:solve_padding",
    "solve": "convcalc.cli.solvers:solve",
    "check": "convcalc.cli.backend:check",
    "export": "convcalc.cli.backend:export",
    "import": "convcalc.cli.backend:import_",
    "draw": "convcalc.cli.draw:draw",
    "layers": "convcalc.cli.inspect:layers",
    "layer": "convcalc.cli.inspect:layer",
})

__all__ = ["cli", "main"]
