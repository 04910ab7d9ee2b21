"""``convcalc draw``: a network's shape flow as Graphviz DOT, mermaid, or a picture that
Graphviz's ``dot`` renders (run as a subprocess: no shell, the DOT text on its stdin, a
timeout). Only click and the standard library are imported until the command runs."""

from __future__ import annotations

import os
import sys

import click

from convcalc.cli.options import Command, max_spec_bytes_option
from convcalc.cli.types import parse_shape
from convcalc.errors import ConvcalcError

TEXT_FORMATS = ("dot", "mermaid")
RENDERED = ("svg", "png", "pdf")  # made by Graphviz's dot
EXTENSIONS = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid",
              ".svg": "svg", ".png": "png", ".pdf": "pdf"}
DOT_TIMEOUT_S = 120
MISSING_DOT = ("Graphviz's dot is not installed: apt-get install graphviz, brew install graphviz, "
               "or conda install graphviz (pip's graphviz package has no dot binary); "
               "--format dot or mermaid need no Graphviz")
# mermaid's maxEdges and maxTextSize defaults: larger diagrams are refused (on GitHub too)
MERMAID_MAX_EDGES = 500
MERMAID_MAX_CHARS = 50_000


@click.command(cls=Command)
@click.argument("spec", metavar="SPEC")
@click.option("--input", "input_shape", default=None, metavar="SHAPE",
              help="Override the spec's input shape, e.g. 1,3,224,224.")
@click.option("--depth", type=click.IntRange(min=0), default=None, metavar="N",
              help="Fold every group N deep into one box (its shapes, summed params and MACs).")
@click.option("--expand", is_flag=True,
              help="Draw every block of a run of identical blocks, not one box 'x N'.")
@click.option("--format", "fmt", type=click.Choice([*TEXT_FORMATS, *RENDERED]), default=None,
              help="What to write; svg, png and pdf run Graphviz's dot.  [default: from "
              "-o's extension, else dot]")
@click.option("--rankdir", type=click.Choice(["TB", "LR"]), default="TB",
              show_default=True, help="Top to bottom or left to right.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, writable=True),
              default=None, help="Write to this file.  [default: standard output]")
@max_spec_bytes_option
def draw(spec, input_shape, depth, expand, fmt, rankdir, output, max_bytes):
    """The shape flow of a network: one box per operation, shapes on the edges.

    Boxes show each operation with its parameters and MACs; each edge is labelled with the
    shape of the tensor it carries; branches and merges are drawn as they are, blocks as
    clusters, and a run of identical blocks as one box 'x N'. DOT and mermaid (for
    GitHub markdown) are text; SVG, PNG and PDF need Graphviz's dot on PATH.

    \b
    convcalc draw zoo:tv-resnet50 -o resnet50.svg
    convcalc draw zoo:tv-resnet18 --depth 1 --format mermaid
    convcalc draw model.yaml --rankdir LR | dot -Tpng -o model.png
    """
    from convcalc import spec as specs
    from convcalc.graph.run import evaluate
    from convcalc.render import draw as render

    shape = parse_shape(input_shape)
    fmt = _format(fmt, output)
    if fmt in ("png", "pdf") and output is None and sys.stdout.isatty():
        raise click.UsageError(f"{fmt} is binary: write it to a file with -o FILE.{fmt}")
    if fmt in RENDERED:
        dot_executable()  # before the work: say now that it is missing
    text, source = specs.read_text(spec, max_bytes)
    docs = specs.load_documents(text, source)
    if len(docs) != 1:
        raise ConvcalcError(f"{source}: draw takes a spec of one document, got {len(docs)}")
    pic = render.picture(evaluate(docs[0], source, shape), depth, expand)
    if fmt == "mermaid":
        data = render.to_mermaid(pic, rankdir)
        if len(pic.edges) > MERMAID_MAX_EDGES or len(data) > MERMAID_MAX_CHARS:
            click.echo(f"Warning: {len(pic.edges)} edges and {len(data):,} characters: mermaid "
                       f"(GitHub's too) draws at most {MERMAID_MAX_EDGES} edges and "
                       f"{MERMAID_MAX_CHARS:,} characters by default; fold with --depth N",
                       err=True)
    else:
        data = render.to_dot(pic, rankdir)
        if fmt in RENDERED:
            data = run_dot(data, fmt)
            if fmt == "svg":
                data = data.decode("utf-8")
    _write(data, output)


def _format(fmt, output) -> str:
    if output is None:
        return fmt or "dot"
    ext = os.path.splitext(output)[1].lower()
    implied = EXTENSIONS.get(ext)
    if fmt is None:
        if implied is None:
            known = ", ".join(EXTENSIONS)
            raise click.UsageError(f"cannot tell the format from -o {output}: give --format, "
                                   f"or a file name ending in {known}")
        return implied
    if implied is not None and implied != fmt:
        raise click.UsageError(f"--format {fmt}, but -o {output} ends in {ext}")
    return fmt


def dot_executable() -> str:
    """The path of Graphviz's ``dot`` on PATH, or the error that says how to install it."""
    import shutil

    exe = shutil.which("dot")
    if exe is None:
        raise ConvcalcError(MISSING_DOT)
    return exe


def run_dot(source: str, fmt: str, timeout: float = DOT_TIMEOUT_S) -> bytes:
    """Graphviz's rendering of the DOT text ``source`` as ``fmt`` (svg, png, pdf)."""
    import subprocess

    exe = dot_executable()
    try:
        done = subprocess.run([exe, f"-T{fmt}"], input=source.encode("utf-8"),
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ConvcalcError(f"Graphviz's dot did not finish within {timeout:g} s",
                            fix="draw fewer boxes with --depth N") from None
    except OSError as e:
        raise ConvcalcError(f"cannot run {exe}: {e.strerror}") from None
    notes = [line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines()
             if line.strip()]
    if done.returncode != 0 or not done.stdout:
        why = notes[0] if notes else f"exit status {done.returncode}"
        raise ConvcalcError(f"Graphviz's dot failed: {why}")
    for note in dict.fromkeys(notes):
        click.echo(f"Warning: Graphviz: {note.removeprefix('Warning: ')}", err=True)
    return done.stdout


def _write(data, output) -> None:
    if output is None:
        if isinstance(data, str):
            click.echo(data, nl=False)
        else:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        return
    try:
        if isinstance(data, str):
            with open(output, "w", encoding="utf-8") as f:
                f.write(data)
        else:
            with open(output, "wb") as f:
                f.write(data)
    except OSError as e:
        raise ConvcalcError(f"cannot write {output}: {e.strerror}") from None
