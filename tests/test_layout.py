"""The package's shape: imports point down the stages, no cycle, no module importing
another's private names, no module much over 400 lines."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "convcalc"

# Each stage may import the stages below it (lower numbers), never above.
STAGES = {
    "errors": 0, "engine": 1, "zoo": 1, "spec": 2, "ops": 2, "graph": 3,
    "solve": 4, "render": 4, "backend": 4, "diagnose": 4, "api": 4, "cli": 5,
}
MAX_LINES = 420


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path, ast.parse(path.read_text(encoding="utf-8"))


def imports(tree, everywhere=True):
    """(module, imported names) for each ``import``/``from`` of convcalc in ``tree``."""
    nodes = ast.walk(tree) if everywhere else tree.body
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("convcalc"):
            yield node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("convcalc"):
                    yield alias.name, []


def stage(module: str):
    parts = module.split(".")
    return STAGES.get(parts[1]) if len(parts) > 1 else None


def test_no_module_is_much_over_400_lines():
    long = {str(p.relative_to(PACKAGE)): n for _, p, _ in modules()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long


def test_no_private_names_are_imported_across_modules():
    found = [(name, module, n) for name, _, tree in modules()
             for module, names in imports(tree) for n in names if n.startswith("_") and n != "__version__"]
    assert not found


def test_imports_point_down_the_stages():
    upward = []
    for name, _, tree in modules():
        here = stage(name)
        if here is None:
            continue
        for module, names in imports(tree):
            targets = [f"{module}.{n}" for n in names] if module == "convcalc" else [module]
            for target in targets:
                there = stage(target)
                if there is not None and there > here:
                    upward.append((name, target))
    assert not upward


def test_no_import_cycle_at_module_level():
    graph = {}
    known = {name for name, _, _ in modules()}
    for name, _, tree in modules():
        edges = set()
        for module, names in imports(tree, everywhere=False):
            candidates = [f"{module}.{n}" for n in names] + [module]
            edges |= {c for c in candidates if c in known and c != name}
        graph[name] = edges
    done, active = set(), []

    def visit(node):
        if node in active:
            raise AssertionError("import cycle: " + " -> ".join(active[active.index(node):] + [node]))
        if node in done:
            return
        active.append(node)
        for nxt in graph[node]:
            if nxt.startswith(node + "."):
                continue  # a package importing its own submodules
            visit(nxt)
        active.pop()
        done.add(node)

    for node in graph:
        visit(node)
