"""A clean install gets what the chapters import.

On Colab the first cell of a chapter installs ``ptm-lib`` from the repository into an
environment that has torch and little else we can rely on; whatever a chapter or the
library imports must therefore be a declared dependency of the package (pyproject.toml's
``[project] dependencies``), never only a test extra.
"""

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import nbformat
import pytest
import tomllib
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
# Modules a notebook kernel always has (the kernel itself), and the package's own name.
PROVIDED = {"ptm_lib", "IPython", "ipykernel"}


def top_level_imports(source: str) -> set[str]:
    """The top-level module names that ``source`` imports, nested imports included."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def notebook_imports(path: Path) -> set[str]:
    transform = TransformerManager().transform_cell  # turns %pip and !cmd into Python
    notebook = nbformat.read(path, as_version=4)
    return set().union(*(top_level_imports(transform(cell.source))
                         for cell in notebook.cells if cell.cell_type == "code"))


def declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {canonical(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])
            for requirement in project["dependencies"]}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def undeclared(modules: set[str]) -> dict[str, list[str]]:
    """The third-party modules among ``modules`` that no declared dependency provides."""
    providers = importlib.metadata.packages_distributions()
    declared = declared_distributions()
    missing = {}
    for module in sorted(modules - PROVIDED - set(sys.stdlib_module_names)):
        distributions = providers.get(module, [module])
        if not declared & {canonical(d) for d in distributions}:
            missing[module] = distributions
    return missing


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_module_a_chapter_imports_is_a_declared_dependency(path):
    missing = undeclared(notebook_imports(path))
    assert not missing, (f"{path.name} imports {missing}, which a pip install of ptm-lib does not bring: "
                         "add them to [project] dependencies in pyproject.toml")


def test_every_module_the_library_imports_is_a_declared_dependency():
    modules = set().union(*(top_level_imports(file.read_text()) for file in (ROOT / "ptm_lib").rglob("*.py")))
    missing = undeclared(modules)
    assert not missing, (f"ptm_lib imports {missing}, which a pip install of ptm-lib does not bring: "
                         "add them to [project] dependencies in pyproject.toml")


def test_the_check_finds_an_undeclared_module():
    assert undeclared({"nbformat", "torch", "json"}) == {"nbformat": ["nbformat"]}
