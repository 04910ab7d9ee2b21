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
from pathlib import Path
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


def on_terminal(args, columns=80, program=("-m", "convcalc"), **env) -> tuple[int, str]:
    """Run ``convcalc ARGS`` with standard output and error on a pseudo-terminal ``columns``
    wide; (exit code, everything it wrote, \\r\\n made \\n). ``program``: what Python runs
    (``("-c", CODE)`` for a probe that reads ``sys.argv[1:]``)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items()
               if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TERM", "TTY_COMPATIBLE")}
    environ.update(TERM="xterm-256color", **env)
    process = subprocess.Popen([sys.executable, *program, *args], stdin=subprocess.DEVNULL,
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
import os, sys
os._exit = sys.exit  # main() leaves without teardown: here, let it return to the probe
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


# One layer, errors, progress -----------------------------------------------------------

CONV1 = "nn.Conv2d(3, 64, 7, 2, 3)"


@pytest.mark.parametrize("columns", [60, 80, 200])
def test_the_layer_table_fits_the_terminal_in_colour(columns):
    code, out = on_terminal(["layer", CONV1, "--input", "1,3,224,224"], columns)
    text = plain(out)
    assert code == 0 and colours(out) and widest(out) <= columns
    assert text.splitlines()[0] == "input [1, 3, 224, 224] -> [1, 64, 112, 112]"
    assert "│ 9.472K │ 118M │" in text  # human units, as net's table
    assert "Params: 9,472 (9.472K); MACs: 118,013,952 (118M)" in text  # and the exact counts
    joined = " ".join(text.split())
    assert "RF = receptive field" in joined and "Jump = input pixels between" in joined
    if columns == 200:
        assert "│ Conv2d(3, 64, k=7, s=2, p=3) │ [1, 64, 112, 112] │" in text
    else:  # 81 columns wide in full: shapes compacted first, then the type cut
        assert "│ 1x64x112x112 │" in text and "Hidden" not in text
        assert ("│ Conv2d(3, 64, k=7, s=2, p=3) │" in text) == (columns == 80)
        assert ("│ Conv2d(3, 6… │" in text) == (columns == 60)
    code, never = on_terminal(["layer", CONV1, "--input", "1,3,224,224", "--color", "never"], columns)
    assert code == 0 and "\x1b" not in never and plain(out) == never
    code, out = on_terminal(["layer", CONV1, "--input", "1,3,224,224"], columns, NO_COLOR="1")
    assert code == 0 and colours(out) == [] and plain(out) == never


def test_the_layer_table_in_a_pipe_is_plain_and_imports_no_rich():
    args = ["layer", CONV1, "--input", "1,3,224,224"]
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True,
                          text=True, env=env)
    assert done.stderr.splitlines()[-1] == "[]"
    assert "\x1b" not in done.stdout and "│ 9.472K │ 118M │" in done.stdout


def test_an_error_on_a_terminal_has_a_red_prefix_and_no_rich():
    args = ["conv", "--in", "28", "--k", "0"]
    code, out = on_terminal([], 80, program=("-c", PROBE.format(args=args)))
    assert code == 0  # the probe itself; its last line lists the rich modules imported
    assert out.startswith("\x1b[1;31mError:\x1b[0m Conv1d: kernel_size must be >= 1, got 0\n")
    assert out.splitlines()[-1] == "[]"
    code, out = on_terminal(["conv", "--in", "28", "--bogus"], 80)
    assert code == 2 and out.startswith("\x1b[1;31mError:\x1b[0m No such option '--bogus'")
    code, out = on_terminal(args, 80, NO_COLOR="1")
    assert code == 1 and out == "Error: Conv1d: kernel_size must be >= 1, got 0\n"
    done = subprocess.run([sys.executable, "-m", "convcalc", *args], capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr == "Error: Conv1d: kernel_size must be >= 1, got 0\n"


CHECK_PROBE = """
import os, sys
os._exit = sys.exit  # main() leaves without teardown: here, let it return to the probe
from convcalc.cli import main, progress
progress.DELAY = 0.0  # a bar from the first operation: the network is small
main()
"""


def test_check_shows_a_progress_bar_on_a_terminal_only():
    pytest.importorskip("torch")
    args = ["check", "zoo:lenet", "--device", "meta"]
    code, out = on_terminal(args, 100, program=("-c", CHECK_PROBE))
    assert code == 0, out
    assert "LeNet: running torch on meta" in plain(out)  # the bar (transient: then erased)
    assert "LeNet on meta (torch " in plain(out) and "12 of 12 operations agree" in plain(out)
    done = subprocess.run([sys.executable, "-c", CHECK_PROBE, *args], capture_output=True, text=True)
    assert done.returncode == 0 and "running torch" not in done.stderr + done.stdout


def test_import_shows_a_progress_bar_on_a_terminal_only(tmp_path):
    pytest.importorskip("torch")
    models = Path(__file__).parent / "import_models.py"
    args = ["import", f"{models}:small_cnn", "--input", "1,1,28,28", "-o", str(tmp_path / "s.yaml")]
    code, out = on_terminal(args, 100, program=("-c", CHECK_PROBE))
    assert code == 0, out
    assert f"importing {models}:small_cnn" in plain(out).replace("\n", "")  # the bar, then erased
    done = subprocess.run([sys.executable, "-c", CHECK_PROBE, *args], capture_output=True, text=True)
    assert done.returncode == 0 and "importing" not in done.stderr + done.stdout
