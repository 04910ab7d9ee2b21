"""Every complete spec shown in docs/ (a YAML block with layers:) runs as printed."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from convcalc.cli import cli

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCKS = [(path.name, i, text) for path in sorted(DOCS.glob("*.md"))
          for i, text in enumerate(re.findall(r"```yaml\n(.*?)```", path.read_text(), re.S))
          if re.search(r"^layers:", text, re.M) and re.search(r"^inputs?:", text, re.M)]


def test_the_docs_show_specs():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("doc, index, text", BLOCKS, ids=[f"{d}-{i}" for d, i, _ in BLOCKS])
def test_documented_spec_runs(doc, index, text):
    result = CliRunner().invoke(cli, ["net", "-", "--format", "json"], input=text)
    assert result.exit_code == 0, result.stderr
