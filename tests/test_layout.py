"""The library's layout follows the book: README.md's table "The library, chapter by chapter"
names every module once, in the row of the chapter that introduces it; every module a
chapter's notebook imports is in that chapter's row (or the shared one); ptm_lib/__init__.py
lists every module; and no module imports a later chapter's."""

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ptm_lib"
COLUMNS = ("models.", "data.", "")  # how the model, data and training columns name modules
FORWARD_IMPORTS = {
    ("models.sequence", "models.gpt"):
        "chapter 5's size_matched builds the GPT stack its LSTM and CNN are compared with (imported when asked for)",
}
"""Module imports that point to a later chapter, each with its reason."""


def modules() -> set[str]:
    """Every module of ptm_lib as a dotted name relative to the package (``data.text``)."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] in ("__init__", "__main__"):
            parts = parts[:-1]
        if parts and parts not in (["data"], ["models"]):
            names.add(".".join(parts))
    return names


def table() -> list[dict]:
    """The README table's rows: ``{"chapter", "home": {module}, "also": {module}}``."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## The library, chapter by chapter", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("chapter", "---"):
            continue
        home = {prefix + name for prefix, cell in zip(COLUMNS, cells[1:4]) for name in re.findall(r"`([\w.]+)`", cell)}
        rows.append({"chapter": cells[0], "home": home, "also": set(re.findall(r"`([\w.]+)`", cells[4]))})
    return rows


def home_chapter() -> dict[str, int]:
    """Each module's row index (0 = shared, then chapter 1, 2, ...)."""
    return {name: i for i, row in enumerate(table()) for name in row["home"]}


def notebook_imports(path: Path) -> set[str]:
    """The ptm_lib modules a notebook's code cells import."""
    known, found = modules(), set()
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse(_python_only("".join(cell["source"])))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ptm_lib"):
                base = node.module[len("ptm_lib"):].lstrip(".")
                for alias in node.names:
                    candidate = f"{base}.{alias.name}".lstrip(".")
                    found.add(candidate if candidate in known else base)
    return found


def _python_only(source: str) -> str:
    """A notebook cell's source with IPython's ``%magic`` and ``!shell`` lines made ``pass``."""
    return re.sub(r"^(\s*)[%!].*$", r"\1pass", source, flags=re.M)


def module_imports(name: str) -> set[str]:
    """The ptm_lib modules that module ``name`` imports at run time (not under TYPE_CHECKING)."""
    path = PACKAGE.joinpath(*name.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    return imports_in(path.read_text(), package)


def imports_in(source: str, package: list[str]) -> set[str]:
    """The ptm_lib modules that ``source``, a module of ``package`` (e.g. ``["models"]``), imports."""
    known, found = modules(), set()
    tree = ast.parse(source)
    skipped = {id(n) for node in ast.walk(tree)
               if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or id(node) in skipped:
            continue
        if node.level:
            base = package[:len(package) - node.level + 1] + (node.module.split(".") if node.module else [])
        elif (node.module or "").startswith("ptm_lib"):
            base = node.module.split(".")[1:]
        else:
            continue
        for alias in node.names:
            candidate = ".".join(base + [alias.name])
            found.add(candidate if candidate in known else ".".join(base))
    return found - {""}


def test_the_table_names_every_module_once_and_only_modules_that_exist():
    homes = [name for row in table() for name in row["home"]]
    assert sorted(set(homes)) == sorted(homes), "a module is in two rows"
    assert set(homes) == modules(), (f"not in README's table: {sorted(modules() - set(homes))}; "
                                     f"in the table but not in ptm_lib: {sorted(set(homes) - modules())}")


def test_the_package_docstring_lists_every_module():
    import ptm_lib

    missing = [name for name in sorted(modules()) if f"``{name}``" not in ptm_lib.__doc__
               and f"``{name.split('.')[-1]}``" not in ptm_lib.__doc__]
    assert not missing, f"ptm_lib/__init__.py's docstring does not mention {missing}"


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("0*.ipynb")), ids=lambda p: p.stem)
def test_every_module_a_chapter_imports_is_in_its_row(path):
    rows = table()
    row = next(r for r in rows if r["chapter"].split()[0] == str(int(path.name[:2])))
    shared = rows[0]["home"]
    imported = notebook_imports(path)
    assert imported - row["home"] - row["also"] - shared == set(), "add these to the chapter's row in README.md"
    assert row["also"] - imported == set(), "the row's last column lists modules the chapter does not import"
    assert row["also"] & row["home"] == set()


def test_modules_import_only_their_own_and_earlier_chapters():
    home = home_chapter()
    later = [(name, target) for name in sorted(modules()) for target in sorted(module_imports(name))
             if home[target] > home[name] and (name, target) not in FORWARD_IMPORTS]
    assert not later, f"modules importing a later chapter's module: {later}"
    assert all(home[t] > home[n] for n, t in FORWARD_IMPORTS), "an allowed forward import is no longer one"


def test_the_import_checker_sees_forward_imports_but_not_type_checking_ones():
    """The check above can fail: chapter 2's NNLM importing chapter 7's BERT would be found."""
    nnlm = (PACKAGE / "models" / "nnlm.py").read_text()
    assert "models.bert" not in imports_in(nnlm, ["models"])
    assert "models.bert" in imports_in(nnlm + "\nfrom .bert import BERT\n", ["models"])
    assert "models.bert" in imports_in(nnlm + "\nfrom ptm_lib.models import bert\n", ["models"])
    guarded = nnlm + "\nif TYPE_CHECKING:\n    from .bert import BERT\n"
    assert "models.bert" not in imports_in(guarded, ["models"])


def public_definitions(source: str) -> set[str]:
    """The functions and classes a module's source defines at top level without a leading underscore."""
    return {node.name for node in ast.parse(source).body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")}


def test_every_module_with_a_public_api_lists_all_of_it_in_its_all():
    import importlib

    incomplete = {}
    for name in sorted(modules()):
        path = PACKAGE.joinpath(*name.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        defined = public_definitions(path.read_text())
        if not defined:
            continue
        listed = set(getattr(importlib.import_module(f"ptm_lib.{name}"), "__all__", ()))
        if defined - listed:
            incomplete[name] = sorted(defined - listed)
    assert not incomplete, f"public functions or classes missing from __all__: {incomplete}"


def test_the_all_check_sees_a_function_left_out():
    assert public_definitions("def shown():\n    pass\n\ndef _hidden():\n    pass\n") == {"shown"}
