"""The ``convcalc`` command line.

``app`` holds the group and its error handling; the command modules define plain click
commands, registered on the group here (none of them imports ``app``).
"""

from convcalc.cli.app import cli, main
from convcalc.cli.layer import conv, pool, tconv
from convcalc.cli.network import net, zoo
from convcalc.cli.solvers import solve, solve_padding
from convcalc.cli.backend import check, export, import_

for _command in (conv, tconv, pool, net, zoo, solve_padding, solve, check, export, import_):
    cli.add_command(_command)

__all__ = ["cli", "main"]
