"""Execute chapters in place with the settings CI checks them under, saving their outputs.

    python scripts/execute_notebooks.py chapters/01_image_pretraining.ipynb [...]

The book is built from these saved outputs, and CI re-runs every notebook under nbval
and compares, so run this after changing a chapter or the library code it uses.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from conftest import BOOK_ENV  # noqa: E402  (the one definition of the book's settings)


def execute(path: Path) -> float:
    """Run ``path`` top to bottom in its own folder, save it, and return the seconds taken."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=1800, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    nbformat.write(notebook, path)
    return time.perf_counter() - start


def main(paths: list[str]) -> None:
    if not paths:
        sys.exit(__doc__)
    os.environ.update(BOOK_ENV)
    for name in paths:
        seconds = execute(Path(name))
        print(f"{name}: executed in {seconds:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
