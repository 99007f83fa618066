"""Copy ``repository.url`` from ``_config.yml`` into every chapter's Colab install cell.

The Colab cell installs ``ptm_lib`` with ``pip install "ptm-lib @ git+<url>"``; this script
rewrites that URL in each notebook under ``chapters/`` so a fork changes the URL in one
place. ``tests/test_book.py`` fails if a notebook and ``_config.yml`` disagree.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
INSTALL = re.compile(r'"ptm-lib @ git\+(?P<url>[^"]+)"')


def repository_url(root: Path = ROOT) -> str:
    """The book's repository URL, as ``_config.yml`` gives it."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


def colab_cell(notebook) -> nbformat.NotebookNode:
    """The code cell that installs ptm_lib on Colab (the first code cell)."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            if INSTALL.search(cell.source) and "google.colab" in cell.source:
                return cell
            break
    raise ValueError("The first code cell must install ptm_lib on Colab only; see chapters/01_image_pretraining.ipynb.")


def sync(path: Path, url: str) -> bool:
    """Point ``path``'s Colab cell at ``url``; return True if the file changed."""
    notebook = nbformat.read(path, as_version=4)
    cell = colab_cell(notebook)
    new = INSTALL.sub(f'"ptm-lib @ git+{url}"', cell.source)
    if new == cell.source:
        return False
    cell.source = new
    nbformat.write(notebook, path)
    return True


def main() -> None:
    url = repository_url()
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        print(f"{path.relative_to(ROOT)}: {'updated' if sync(path, url) else 'already'} -> {url}")


if __name__ == "__main__":
    main()
