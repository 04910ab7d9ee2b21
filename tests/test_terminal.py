"""`convcalc net` as a person sees it: run on a pseudo-terminal (and in tmux, where it is
installed) 80 and 200 columns wide, with and without NO_COLOR; and to a pipe, where the
output stays plain text and rich is never imported."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
import time
import uuid

import pytest
from click.testing import CliRunner

from convcalc import zoo
from convcalc.cli import cli

ESCAPE = re.compile(r"\x1b\[([0-9;]*)m")
COLOUR = re.compile(r"(?:^|;)(3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;|$)")  # SGR colour parameters


def plain(text: str) -> str:
    return ESCAPE.sub("", text)


def colours(text: str) -> list:
    return [m.group(1) for m in ESCAPE.finditer(text) if COLOUR.search(m.group(1))]


def on_terminal(args, columns=80, **env) -> tuple[int, str]:
    """Run ``convcalc ARGS`` with standard output and error on a pseudo-terminal ``columns``
    wide; (exit code, everything it wrote, \\r\\n made \\n)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items()
               if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TERM", "TTY_COMPATIBLE")}
    environ.update(TERM="xterm-256color", **env)
    process = subprocess.Popen([sys.executable, "-m", "convcalc", *args], stdin=subprocess.DEVNULL,
                               stdout=slave, stderr=slave, env=environ)
    os.close(slave)
    out = bytearray()
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return process.wait(timeout=60), out.decode().replace("\r\n", "\n")


def widest(text: str) -> int:
    return max(len(line) for line in plain(text).splitlines())


@pytest.mark.parametrize("name", zoo.names())
def test_every_zoo_table_fits_80_columns_in_colour(name):
    code, out = on_terminal(["net", f"zoo:{name}"], 80)
    assert code == 0, out
    assert widest(out) <= 80
    assert colours(out), "a terminal shows colour"
    text = plain(out)
    assert re.match(r"\S+: inputs? ", text.splitlines()[0])  # the title first
    assert "Columns: Layer = module path; Type = " in " ".join(text.split())  # headers explained
    assert "Total params: " in text and "Total MACs: " in text


def test_a_wide_terminal_shows_every_column_and_the_tree():
    code, out = on_terminal(["net", "zoo:tv-resnet18"], 200)
    text = plain(out)
    assert code == 0 and widest(out) <= 200
    header = next(line for line in text.splitlines() if line.startswith("┃"))
    assert [c.strip() for c in header.strip("┃").split("┃")] == [
        "Layer", "Type", "Output shape", "Params", "MACs", "RF", "Jump"]
    assert "│ ├─ 0 " in text and "│ │  ├─ conv1 " in text  # blocks as a tree
    assert "│ layer1 " in text and "Hidden to fit" not in text
    assert "│ 9.408K │" in text and "│ [1, 64, 112, 112] │" in text


def test_a_narrow_terminal_drops_columns_and_says_how_to_get_them_back():
    code, out = on_terminal(["net", "zoo:tv-resnet50"], 80)
    text = " ".join(plain(out).split())
    assert code == 0
    assert "Hidden to fit 80 columns: Jump. A wider window shows it, as do --columns " \
           "(e.g. --columns -type,+jump) and a pipe (| less -S)." in text
    assert "RF = receptive field" in text and "Jump =" not in text  # only the shown headers
    code, out = on_terminal(["net", "zoo:tv-resnet50", "--columns", "layer,output,rf,jump"], 80)
    assert "Hidden" not in out and "Jump = input pixels between" in " ".join(plain(out).split())


def test_no_color_and_color_never():
    code, out = on_terminal(["net", "zoo:tv-resnet18"], 80, NO_COLOR="1")
    assert code == 0 and colours(out) == [] and widest(out) <= 80
    assert "\x1b[" in out  # bold and dim are not colour: NO_COLOR keeps them
    code, never = on_terminal(["net", "zoo:tv-resnet18", "--color", "never"], 80)
    assert "\x1b" not in never and plain(out) == never  # the same fitted table, no escape at all


def test_force_color_and_color_always_colour_a_pipe():
    done = subprocess.run([sys.executable, "-m", "convcalc", "net", "zoo:lenet", "--color", "always"],
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "80"})
    assert colours(done.stdout) and widest(done.stdout) <= 80
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run([sys.executable, "-m", "convcalc", "net", "zoo:lenet"],
                          capture_output=True, text=True, env={**env, "FORCE_COLOR": "1"})
    assert colours(done.stdout)


def test_a_comparison_on_a_terminal_fits_too():
    args = ["net", "zoo:tv-resnet18", "--depth", "1", "--input", "1,3,224,224", "--input", "1,3,512,512"]
    code, out = on_terminal(args, 80)
    text = plain(out)
    assert code == 0 and widest(out) <= 80 and colours(out)
    assert "│ conv1   │" in text and "1x64x112x112" in text and "9.408K" in text
    assert "Ratios (x) are to @224, the first --input." in " ".join(text.split())
    code, _, err = (lambda r: (r.exit_code, r.stdout, r.stderr))(
        CliRunner().invoke(cli, [*args, "--columns", "+input"]))
    assert code == 2 and "--columns applies to one input" in err


PROBE = """
import sys
from convcalc.cli import main
sys.argv = ["convcalc", *{args!r}]
try:
    main()
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m.split(".")[0] == "rich"), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["net", "zoo:tv-resnet50"], ["net", "zoo:lenet", "--format", "markdown"],
                                  ["net", "zoo:tv-resnet18", "--columns", "all", "--dtype", "int8"]])
def test_a_pipe_gets_plain_text_and_rich_is_never_imported(args):
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True,
                          text=True, env=env)
    assert done.stderr.splitlines()[-1] == "[]"
    assert "\x1b" not in done.stdout
    assert done.stdout == CliRunner().invoke(cli, args).stdout  # the goldens' text


def test_the_terminal_shows_the_same_numbers_as_the_pipe():
    args = ["net", "zoo:tv-mobilenet_v2", "--columns", "layer,params,macs"]
    _, out = on_terminal(args, 200, NO_COLOR="1")
    piped = CliRunner().invoke(cli, args).stdout

    def numbers(text):  # (params, macs) of each row; a block adds a row of its sums on a terminal
        return [tuple(c.strip() for c in line.rstrip("│").split("│")[-2:])
                for line in plain(text).splitlines() if line.startswith("│")]

    terminal, rows = numbers(out), numbers(piped)
    assert len(rows) == 153 and len(terminal) > len(rows)  # 143 layers, 10 merges
    for row in rows:
        terminal.remove(row)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.parametrize("columns", [80, 200])
def test_in_tmux_as_a_person_sees_it(columns, tmp_path):
    socket = f"convcalc-test-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    signal = f"done-{socket}"
    command = (f"{sys.executable} -m convcalc net zoo:tv-resnet18 --depth 2; "
               f"tmux -L {socket} wait-for -S {signal}; sleep 30")
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "TMUX")}
    env["TERM"] = "xterm-256color"
    subprocess.run([*tmux, "new-session", "-d", "-x", str(columns), "-y", "60", command],
                   check=True, env=env, cwd=os.getcwd())
    try:
        subprocess.run([*tmux, "wait-for", signal], check=True, timeout=60)
        time.sleep(0.2)
        shown = subprocess.run([*tmux, "capture-pane", "-p", "-e", "-S", "-200"], check=True,
                               capture_output=True, text=True).stdout
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    text = plain(shown)
    assert "tv-resnet18: input [1, 3, 224, 224] -> [1, 1000]" in text
    assert widest(shown) <= columns
    assert colours(shown)
    assert "├─ 0 " in text and "Total params: 11,689,512" in text
