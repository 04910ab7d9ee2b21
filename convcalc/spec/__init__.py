"""Model specs: ``load`` reads the text and the YAML, ``parse`` builds the item tree,
``expr`` evaluates the expressions in it."""

from convcalc.spec.load import load_documents, read_text
from convcalc.spec.parse import REQUIRED, Block, Expr, Item, Spec, parse_spec

__all__ = ["REQUIRED", "Block", "Expr", "Item", "Spec", "load_documents", "parse_spec", "read_text"]
