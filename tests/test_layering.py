"""The package is layered: a module imports only from its own layer and the layers before it in LAYERS.

LAYERS runs from the foundation (base) to the command line (cli). Nothing imports ``symscale.cli``
but the CLI itself and ``python -m symscale``. Written by the restructure script (its LAYERS and
KNOWN_UPWARD tables).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import symscale

ROOT = Path(symscale.__file__).parent
LAYERS = ['base', 'laws', 'problems', 'kernels', 'solvers', 'verify', 'scenarios', 'report', 'cli']
# the package's front door and its shims: they may import any layer
FACADES = ['symscale', 'symscale.__main__', 'symscale.codegen', 'symscale.costs']
KNOWN_UPWARD = {   # (importer, imported): debt to fix by hand
}


def module_name(path: Path) -> str:
    """Dotted name of a module file under the package."""
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every symscale module ``path`` imports, at module level or inside functions."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if _is_module(f"{base}.{a.name}"))
    return {m for m in found if m == "symscale" or m.startswith("symscale.")}


def _is_module(dotted: str) -> bool:
    path = ROOT.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def layer(dotted: str) -> str | None:
    """The layer of a module: the package right under symscale (None for the package itself)."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


MODULES = sorted(p for p in ROOT.rglob("*.py") if "data" not in p.relative_to(ROOT).parts[:1])


def test_every_module_belongs_to_a_layer():
    loose = [module_name(p) for p in MODULES if module_name(p) not in FACADES and layer(module_name(p)) is None]
    assert loose == [], f"modules outside every layer (move them into one): {loose}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_module_imports_a_later_layer(path):
    name = module_name(path)
    if name in FACADES:
        return
    rank = LAYERS.index(layer(name))
    upward = sorted(m for m in imports(path) if layer(m) is not None and LAYERS.index(layer(m)) > rank
                    and (name, m) not in KNOWN_UPWARD)
    assert upward == [], f"{name} ({layer(name)}) imports from a later layer: {upward}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_nothing_imports_the_cli(path):
    name = module_name(path)
    if name.startswith("symscale.cli") or name == "symscale.__main__":
        return
    assert not any(m == "symscale.cli" or m.startswith("symscale.cli.") for m in imports(path)), name


def test_known_upward_imports_still_exist():
    """Each allowed exception is still needed (delete it from the list once fixed)."""
    for importer, imported in KNOWN_UPWARD:
        path = ROOT.parent.joinpath(*importer.split(".")).with_suffix(".py")
        assert path.is_file() and imported in imports(path), (importer, imported)


def test_public_api_and_shims():
    from symscale import costs
    from symscale.solvers import costs as home

    assert costs.solve_cost_optimal is home.solve_cost_optimal
    assert costs.CostSettings is home.CostSettings
    assert callable(symscale.solve_compute_optimal)
