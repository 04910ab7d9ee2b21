"""The ``convcalc`` command line: parse, one library call, render.

Errors are translated in one place (``ConvcalcGroup.main``): a domain error exits 1, flag
misuse exits 2, each as one line on standard error; nothing ever prints a traceback.
Start-up matters: only click, the standard library and the shared options are imported
here; each command imports what it needs when it runs.
"""

from __future__ import annotations

import sys

import click

from convcalc import __version__
from convcalc.cli.options import Group, on_stderr
from convcalc.errors import ConvcalcError


class LazyCommands(dict):
    """The group's commands by name; a ``"module:name"`` entry is imported when the command
    is first looked up, so that a command's start-up pays for its own module only."""

    def __getitem__(self, name):
        command = super().__getitem__(name)
        if isinstance(command, str):
            module, _, attr = command.partition(":")
            command = getattr(__import__(module, fromlist=[attr]), attr)
            super().__setitem__(name, command)
        return command

    def get(self, name, default=None):
        return self[name] if name in self else default

    def values(self):
        return [self[name] for name in self]

    def items(self):
        return [(name, self[name]) for name in self]


class ConvcalcGroup(Group):
    """A click group whose ``main`` turns every failure into one line and an exit code."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(self.commands)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(
                args=args, prog_name=prog_name or "convcalc", complete_var=complete_var,
                standalone_mode=False, **extra,
            )
        except click.exceptions.NoArgsIsHelpError as e:  # bare `convcalc`: the help, exit 0
            click.echo(e.ctx.get_help())
            code = 0
        except click.UsageError as e:
            hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
            code = _fail(f"Error: {e.format_message()}{hint}", 2)
        except click.ClickException as e:
            code = _fail(f"Error: {e.format_message()}", e.exit_code)
        except ConvcalcError as e:
            code = _fail(f"Error: {e}", 1)
        except click.Abort:
            code = _fail("Aborted.", 1)
        except BrokenPipeError:
            code = 1
        except KeyboardInterrupt:
            code = _fail("Interrupted.", 130)
        except RecursionError:
            code = _fail("Error: input is nested too deeply", 1)
        except Exception as e:  # last resort: a bug must still not print a traceback
            code = _fail(f"Error: internal error ({type(e).__name__}: {e}); please report it", 1)
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> int:
    click.echo(on_stderr(message), err=True)
    return code


# modules whose presence means the process may have exit work to do (atexit handlers,
# worker threads or processes, temporary files): then the interpreter exits as usual
EXIT_WORK = ("torch", "logging", "multiprocessing", "concurrent.futures", "tempfile", "asyncio")


def main() -> None:
    """The console script: run the command, then leave without tearing the interpreter
    down when nothing needs it (a sixth of a quick command's time is spent freeing modules
    at exit; ``benchmarks/startup.py``)."""
    code = cli.main(prog_name="convcalc", standalone_mode=False)
    code = code if isinstance(code, int) else 0
    if any(name in sys.modules for name in EXIT_WORK) or _threads() > 1:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # the reader went away: as sys.exit would report it
        code = code or 1
    import os

    os._exit(code)


def _threads() -> int:
    threading = sys.modules.get("threading")
    return threading.active_count() if threading is not None else 1


def _show_version(ctx, param, value) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"convcalc {__version__}")
        ctx.exit()


@click.group(
    name="convcalc",
    cls=ConvcalcGroup,
    context_settings={"help_option_names": ["-h", "--help"], "terminal_width": 88,
                      "max_content_width": 88},
)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
              help="Show the version and exit.")  # click's version_option: see PlainHelp
def cli():
    """Shape arithmetic for convolutional networks, exactly as PyTorch computes it.

    \b
    convcalc conv --in 28x28 --k 5 --p 2          Conv output size
    convcalc tconv --in 512 --k 3 --s 2           transposed conv
    convcalc pool --in 7 --k 3 --s 2 --ceil       max/avg pooling
    convcalc layer "nn.Conv2d(3, 64, 7, 2, 3)" --input 1,3,224,224
                                                  one layer pasted from PyTorch
    convcalc layers Conv2d                        a layer's formula and refusals
    convcalc net zoo:lenet                        every layer of a network
    convcalc solve-padding --in 224 --k 3 --s 2   the padding for 'same'
    convcalc conv --in H --k 3 --s 2 --p 1        sizes as formulas
    convcalc check zoo:tv-resnet50                the engine against real torch
    """

