"""Docs that cannot rot: every command's --help in docs/cli.md is the real one, and every
``$ convcalc ...`` example in docs/ and README.md prints what the docs say it prints.

Regenerate the help blocks after changing a command: ``python tests/test_docs.py --update``.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convcalc.cli import cli  # noqa: E402

CLI_DOC = ROOT / "docs" / "cli.md"
LAYERS_DOC = ROOT / "docs" / "layers.md"
LAYERS_BLOCK = re.compile(r"(<!-- layers -->\n)(?P<body>.*?)(<!-- /layers -->)", re.S)
HELP_BLOCK = re.compile(r"(<!-- help: (?P<cmd>[\w -]*) -->\n```text\n)(?P<body>.*?)(```)", re.S)
CONSOLE_BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def commands() -> list[str]:
    """Every command, and every subcommand of a group (``zoo show``)."""
    names = [""]
    for name in sorted(cli.commands):
        names.append(name)
        names += [f"{name} {sub}" for sub in sorted(getattr(cli.commands[name], "commands", {}))]
    return names


def help_text(command: str) -> str:
    args = (command.split() if command else []) + ["--help"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_is_documented_with_its_real_help():
    text = CLI_DOC.read_text()
    found = {m["cmd"].strip(): m["body"] for m in HELP_BLOCK.finditer(text)}
    assert sorted(found) == sorted(commands()), "docs/cli.md must have one help block per command"
    for command, body in found.items():
        assert body == help_text(command), (
            f"docs/cli.md help for '{command or 'convcalc'}' is stale: "
            "run python tests/test_docs.py --update"
        )


def layers_markdown() -> str:
    """The generated part of docs/layers.md: one table row per registered layer."""
    from convcalc.ops import REGISTRY, REQUIRED

    families: dict[str, list] = {}
    for layer in REGISTRY.values():
        families.setdefault(layer.family, []).append(layer)
    out = []
    for family in sorted(families):
        out += [f"## {family.capitalize()}", "", "| layer | arguments | notes | example |",
                "|---|---|---|---|"]
        for layer in families[family]:
            inferred = {i.arg for i in layer.infer}
            args = []
            for n, (name, default) in enumerate(layer.signature):
                if n == layer.positional:
                    args.append("*")
                shown = name if default is REQUIRED else f"{name}={default!r}"
                args.append(f"{shown} (inferred)" if name in inferred else shown)
            if layer.varargs:
                args = ["*args", "**kwargs"]
            out.append(f"| `{layer.name}` | {', '.join(args)} | {layer.doc} | "
                       f"`{layer.example}` on {list(layer.example_input)} |")
        out.append("")
    return "\n".join(out)


def test_every_layer_is_documented():
    from convcalc.ops import REGISTRY

    text = LAYERS_DOC.read_text()
    body = LAYERS_BLOCK.search(text)["body"]
    assert body == layers_markdown(), "docs/layers.md is stale: run python tests/test_docs.py --update"
    for name in REGISTRY:
        assert f"| `{name}` |" in body


def examples():
    for page in sorted([*(ROOT / "docs").glob("*.md"), ROOT / "README.md"]):
        for block in CONSOLE_BLOCK.findall(page.read_text()):
            for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
                line, _, expected = chunk.partition("\n")
                yield pytest.param(line, expected, id=f"{page.name}: {line}")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """The repository as the examples see it (they read its files by relative path), in a
    directory of its own, so that a file an example writes (import -o) stays out of it."""
    where = tmp_path_factory.mktemp("docs")
    for entry in ROOT.iterdir():
        if entry.name not in (".git", ".venv"):
            (where / entry.name).symlink_to(entry)
    return where


@pytest.mark.parametrize("line, expected", list(examples()))
def test_documented_examples_print_what_the_docs_say(line, expected, monkeypatch, workdir):
    monkeypatch.chdir(workdir)
    argv = shlex.split(line)
    assert argv[0] == "convcalc"
    result = CliRunner().invoke(cli, argv[1:])
    assert result.stdout + result.stderr == expected


@pytest.mark.parametrize("page", ["README.md", "docs/formulas.md", "docs/specs.md"])
def test_python_examples_in_docs(page):
    import doctest

    failures, _ = doctest.testfile(str(ROOT / page), module_relative=False)
    assert failures == 0


def update() -> None:
    text = CLI_DOC.read_text()
    text = HELP_BLOCK.sub(lambda m: m.group(1) + help_text(m["cmd"].strip()) + m.group(4), text)
    CLI_DOC.write_text(text)
    text = LAYERS_DOC.read_text()
    text = LAYERS_BLOCK.sub(lambda m: m.group(1) + layers_markdown() + m.group(3), text)
    LAYERS_DOC.write_text(text)


if __name__ == "__main__":
    if sys.argv[1:] == ["--update"]:
        update()
    else:
        sys.exit("usage: python tests/test_docs.py --update")
