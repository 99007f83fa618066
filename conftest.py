"""Settings for every test run, and the collector of the notebook tests.

The kernels the notebook tests start inherit this environment, so the chapters run with
the CPU preset, one thread, no progress bars and no live widgets (PTM_STATIC=1): the same
settings that produced the outputs committed with the notebooks
(scripts/execute_notebooks.py). How a fresh run is compared with the saved outputs is in
tests/notebook_outputs.py.
"""

import os
import sys
from pathlib import Path

BOOK_ENV = {"PTM_SCALE": "cpu", "PTM_THREADS": "1", "PTM_PROGRESS": "0", "PTM_DEVICE": "cpu", "PTM_STATIC": "1"}
for key, value in BOOK_ENV.items():
    os.environ.setdefault(key, value)

ROOT = Path(__file__).resolve().parent


def pytest_collect_file(file_path, parent):
    """Each chapter notebook (chapters/*.ipynb) is one test: run it, compare its outputs."""
    if file_path.suffix == ".ipynb" and file_path.parent == ROOT / "chapters":
        sys.path.insert(0, str(ROOT / "tests"))
        from notebook_outputs import NotebookFile

        return NotebookFile.from_parent(parent, path=file_path)
    return None
