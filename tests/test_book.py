"""The book's structure: every chapter is in the table of contents, starts with the Colab
cell, ends with a check cell, and was saved from a clean CPU-preset run."""

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from scripts import sync_repository_url as sync

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


def toc_files(node) -> list[str]:
    """Every ``file:`` entry of ``_toc.yml``, depth first."""
    if isinstance(node, dict):
        found = [node["file"]] if "file" in node else []
        return found + [f for v in node.values() for f in toc_files(v)]
    if isinstance(node, list):
        return [f for v in node for f in toc_files(v)]
    return []


def test_toc_lists_every_chapter_and_only_existing_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = [toc["root"], *toc_files(toc["parts"])]
    for entry in listed:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), f"{entry} in _toc.yml has no file"
    for nb in NOTEBOOKS:
        assert f"chapters/{nb.stem}" in listed, f"{nb.name} is not in _toc.yml"


def test_config_has_colab_button_and_repository():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert config["repository"]["url"].startswith("https://github.com/")
    assert config["execute"]["execute_notebooks"] == "off"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_conventions(path):
    notebook = nbformat.read(path, as_version=4)
    cell = sync.colab_cell(notebook)
    assert f'"ptm-lib @ git+{sync.repository_url()}"' in cell.source, (
        "The Colab cell and _config.yml name different repositories: run scripts/sync_repository_url.py")
    checks = [c for c in notebook.cells if "remove-cell" in c.metadata.get("tags", [])]
    assert checks and "assert" in checks[-1].source, "The chapter must end with a hidden check cell of asserts"
    assert notebook.cells.index(checks[-1]) >= len(notebook.cells) - 2
    assert any(c.cell_type == "markdown" and "## Exercises" in c.source for c in notebook.cells)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.source.rstrip().endswith(";"), (
                "the notebook tests run cells without history, so a trailing ';' does not hide the value there "
                f"and the outputs differ; end the cell with plt.show() instead:\n{cell.source}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_saved_outputs_come_from_a_clean_cpu_run(path):
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code if c.source.strip()]
    assert counts == list(range(1, len(counts) + 1)), "Re-execute the whole chapter: make execute NB=" + str(path)
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"], "a saved error output"
    assert not [o for o in outputs if o.get("name") == "stderr"], "saved stderr (warnings?) shows in the HTML"
    text = json.dumps([o.get("data", {}) for o in outputs])
    assert "application/vnd.jupyter.widget" not in text, "widget outputs need a kernel; show a static figure"
    assert "widgets" not in notebook.metadata, "saved widget state would make the HTML load a widget manager"
    assert re.search(r"scale=cpu threads=1", json.dumps([o.get("text", "") for o in outputs])), \
        "the saved run must use the CPU preset with one thread (make execute)"


def test_sync_rewrites_the_colab_url(tmp_path):
    copy = tmp_path / "chapter.ipynb"
    shutil.copy(NOTEBOOKS[0], copy)
    assert sync.sync(copy, "https://github.com/someone/fork")
    assert '"ptm-lib @ git+https://github.com/someone/fork"' in sync.colab_cell(nbformat.read(copy, 4)).source
    assert not sync.sync(copy, "https://github.com/someone/fork")
